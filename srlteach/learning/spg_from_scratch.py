"""The structural policy gradient from scratch: about a page of plain JAX, written to be read.

The chapter "Structural RL in partial equilibrium" reads this module line by line before it
calls the engine (`srlteach.learning.spg.solve`); tests/test_spg_from_scratch.py checks that
both compute the same objective and gradient on the same paths and learn the same policy.

The household is the partial-equilibrium Huggett household (models.md, model 1): income y z,
an exogenous interest rate r, and savings b′ on an asset grid. Its policy is a table θ over
the nodes (z, r, b, y); it saves the share 1/(1 + e^(-θ)) of its resources above b̲. Each
epoch of SPG

1. simulates N paths of the aggregate states (z_t, r_t), t < T (`draw_paths`): in partial
   equilibrium they do not depend on the policy, so they are data for the gradient;
2. evaluates the policy along each path by the backward recursion
   v_t = u(c_t) + β A_π,t v_{t+1}, v_T = 0, and averages d_0ᵀ v_0 with d_0 uniform (`objective`);
3. differentiates that number with `jax.grad` (pathwise, through u(c) and the lottery weights);
4. takes one Adam step uphill (`solve_from_scratch`).

The `economy` argument is a `srlteach.economies.huggett.Huggett` built by `create_huggett_pe`
(duck-typed: this layer does not import the economies).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from srlteach.foundations.budget import cash_on_hand, savings_from_share
from srlteach.foundations.discretisation import stationary_markov
from srlteach.foundations.distributions import lottery
from srlteach.foundations.utility import crra_utility
from srlteach.learning.spg.config import SPGConfig, check_config
from srlteach.learning.training import sup_norm, warmup_exponential_decay


def cash_and_savings(economy, θ):
    """Cash on hand x = (1 + r) b + y z and savings b′ on the (z, r, b, y) nodes of θ."""
    b, y = economy.b_grid[:, None], economy.y_grid
    z, r = economy.z_grid[:, None, None, None], economy.r_grid[None, :, None, None]
    x = cash_on_hand(b, 1 + r, y * z)
    return x, savings_from_share(θ, x, economy.b_min, economy.b_grid[-1])


def stationary_laws(economy):
    """(ψ_z, ψ_r), the stationary distributions of the z and r chains, in float64 (rows of a
    float32 chain, renormalised, sum to one to the precision `stationary_markov` checks)."""
    chains = (jnp.asarray(Π, jnp.float64) for Π in (economy.Π_z, economy.Π_r))
    return tuple(stationary_markov(Π / Π.sum(axis=1, keepdims=True)) for Π in chains)


def draw_paths(economy, laws, key, N: int, T: int):
    """Node indices (z_t, r_t) of N paths of T periods, each (T, N), started from the
    stationary laws `laws` = (ψ_z, ψ_r) of the two chains."""
    key_z, key_r, key_paths = jax.random.split(key, 3)
    log_Π_z, log_Π_r = jnp.log(economy.Π_z), jnp.log(economy.Π_r)
    ψ_z, ψ_r = laws
    z0 = jax.random.categorical(key_z, jnp.log(ψ_z), shape=(N,))
    r0 = jax.random.categorical(key_r, jnp.log(ψ_r), shape=(N,))

    def period(zr, key):
        z, r = zr
        key_z, key_r = jax.random.split(key)
        zr_next = jax.random.categorical(key_z, log_Π_z[z]), jax.random.categorical(key_r, log_Π_r[r])
        return zr_next, zr

    _, (z, r) = jax.lax.scan(period, (z0, r0), jax.random.split(key_paths, T))
    return z, r


def objective(θ, economy, z, r):
    """L(θ) = (1/N) Σ_n d_0ᵀ v_0ⁿ along the paths (z, r), each (T, N), with d_0 uniform and

        v_t = u(c(z_t, r_t)) + β A_π(z_t, r_t) v_{t+1},   v_T = 0,

    where (A_π v)(b, y) = Σ_y′ Π_y[y, y′] (ω v(b_i, y′) + (1 - ω) v(b_{i+1}, y′)) is the
    expectation under Young's lottery: b′ goes to node b_i with weight ω and to b_{i+1}."""
    x, b_next = cash_and_savings(economy, θ)
    β, σ = economy.β, economy.σ

    def period(v_next, zr):  # v_next: (N, n_b, n_y), one value function per path
        z_t, r_t = zr
        b_t = b_next[z_t, r_t]  # (N, n_b, n_y): each path reads the table at its own (z, r)
        c_t = x[z_t, r_t] - b_t
        i, ω = lottery(economy.b_grid, b_t)  # ω = (b_{i+1} - b′)/(b_{i+1} - b_i): differentiable in b′
        w = v_next @ economy.Π_y.T  # w(b′, y) = E[v(b′, y′) | y]
        w_i = jnp.take_along_axis(w, i, axis=1)
        w_i1 = jnp.take_along_axis(w, i + 1, axis=1)
        return crra_utility(c_t, σ) + β * (ω * w_i + (1 - ω) * w_i1), None

    N = z.shape[1]
    v_T = jnp.zeros((N,) + economy.b_grid.shape + economy.y_grid.shape, θ.dtype)
    v_0, _ = jax.lax.scan(period, v_T, (z, r), reverse=True)
    return jnp.mean(v_0)  # mean over paths and over the uniform d_0 on (b, y)


class ScratchResult(NamedTuple):
    θ: jax.Array  # trained parameters, (n_z, n_r, n_b, n_y)
    objective: jax.Array  # L(θ_k) of each epoch run
    epochs: int
    converged: bool  # max |θ_{k+1} - θ_k| fell below config.tol


def solve_from_scratch(economy, θ0, config: SPGConfig) -> ScratchResult:
    """Gradient ascent with Adam on θ ↦ L(θ), a fresh batch of N paths every epoch.

    Uses config's N, T, seed, learning-rate schedule (η0 for `plateau` epochs, then decaying
    by `decay_rate` every `decay_steps`), `max_epochs` and `tol`; ValueError if it is unusable.
    One jitted call per epoch and a Python loop around it: the host reads max |Δθ| after
    every epoch (the engine runs `chunk` epochs per call instead).
    """
    config = check_config(config)
    laws = stationary_laws(economy)
    optimizer = optax.adam(warmup_exponential_decay(config.η0, config.plateau, config.decay_rate, config.decay_steps))

    @jax.jit
    def epoch(θ, opt_state, key):
        z, r = draw_paths(economy, laws, key, config.N, config.T)
        L, gradient = jax.value_and_grad(objective)(θ, economy, z, r)
        updates, opt_state = optimizer.update(-gradient, opt_state, θ)  # Adam descends: -∇L climbs L
        θ_next = optax.apply_updates(θ, updates)
        return θ_next, opt_state, L, sup_norm(θ_next - θ)

    θ, opt_state, key = θ0, optimizer.init(θ0), jax.random.PRNGKey(config.seed)
    history = []
    for k in range(config.max_epochs):
        θ, opt_state, L, step = epoch(θ, opt_state, jax.random.fold_in(key, k))
        history.append(L)
        if step < config.tol:
            return ScratchResult(θ, jnp.stack(history), k + 1, True)
    return ScratchResult(θ, jnp.stack(history), config.max_epochs, False)
