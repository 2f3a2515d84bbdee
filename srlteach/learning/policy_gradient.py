"""Policy gradients: the gradient estimators and the chapter's two examples.

The score-function (REINFORCE) and pathwise estimators of the gradient of a policy's value,
on a cake-eating problem with a known optimum and on the income-fluctuation problem (the
Huggett household at a constant rate). Training uses the one loop of
`srlteach.learning.training`.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.budget import cash_on_hand
from srlteach.foundations.distributions import inverse_cdf, lottery
from srlteach.foundations.utility import crra_utility

# ---------------------------------------------------------------------------------------
# Gradient estimators
# ---------------------------------------------------------------------------------------


def score_function_objective(rewards, log_probs, β: float):
    """REINFORCE: a scalar whose VALUE is the Monte Carlo return and whose GRADIENT is the
    score-function estimate of ∇_θ E[Σ_t β^t r_t].

    rewards, log_probs : (N, T) rewards r_t^n and log-densities log π_θ(a_t^n | s_t^n) of
    the actions taken along N paths. An action can only affect later rewards, so each score
    ∇ log π_θ(a_t) is weighted by the reward-to-go G_t = Σ_{s≥t} β^s r_s, minus a baseline
    b_t, the mean of G_t over the *other* N-1 paths (which keeps the estimate unbiased):

        ĝ = (1/N) Σ_n Σ_t ∇ log π_θ(a_t^n | s_t^n) (G_t^n - b_t^n).

    Only log_probs should depend on θ: rewards enter with a stop-gradient (the score
    function estimator never differentiates through the dynamics).
    """
    N, T = rewards.shape
    if N < 2:
        raise ValueError(f"the leave-one-out baseline needs N ≥ 2 paths, got N = {N}")
    rewards = jax.lax.stop_gradient(rewards)
    discounted = rewards * β ** jnp.arange(T)
    to_go = jnp.cumsum(discounted[:, ::-1], axis=1)[:, ::-1]  # G_t^n
    baseline = (to_go.sum(axis=0) - to_go) / (N - 1)  # leave-one-out mean of G_t
    surrogate = jnp.mean(jnp.sum(log_probs * (to_go - baseline), axis=1))
    value = jnp.mean(discounted.sum(axis=1))
    return value + surrogate - jax.lax.stop_gradient(surrogate)


def gradient_draws(objective, θ, key, n_draws: int, epoch: int = 0):
    """n_draws independent Monte Carlo gradients ∇_θ L(θ; key_k) of an objective in the
    trainer's format (state None), one per key fold_in(key, k): to measure their spread.

    Returns a pytree shaped like θ with a leading axis of length n_draws.
    """
    grad = jax.grad(lambda θ, key: objective(θ, None, key, epoch)[0])
    keys = jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(n_draws))
    return jax.lax.map(lambda k: grad(θ, k), keys)


# ---------------------------------------------------------------------------------------
# Example 1: cake eating with random returns (an analytical policy)
# ---------------------------------------------------------------------------------------


class CakeEating(NamedTuple):
    """Eat c_t = κ_t W_t of a cake W_t; the rest earns a random gross return:
    W_{t+1} = R_{t+1} (W_t - c_t), log R ~ N(μ_R, s_R²) iid. Utility log c, discount β.

    With log utility the optimal share is κ* = 1 - β whatever the return distribution.
    The policy's share is κ_t = sigmoid(θ + τ ε_t), ε_t ~ N(0, 1): τ > 0 makes the policy
    stochastic (the exploration REINFORCE needs), τ = 0 deterministic.
    """

    β: float  # discount factor
    μ_R: float  # mean of log R
    s_R: float  # s.d. of log R
    τ: float  # exploration noise on the logit of the consumption share
    W0: float  # initial cake


def create_cake_eating(β: float = 0.96, μ_R: float = 0.03, s_R: float = 0.15, τ: float = 0.3, W0: float = 1.0):
    """The cake-eating problem of the policy-gradient chapter (see `CakeEating`)."""
    if not 0 < β < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {β}")
    if not s_R >= 0:
        raise ValueError(f"return volatility s_R must be ≥ 0, got s_R = {s_R}")
    if not τ >= 0:
        raise ValueError(f"exploration noise τ must be ≥ 0, got τ = {τ}")
    if not W0 > 0:
        raise ValueError(f"initial cake W0 must be > 0, got W0 = {W0}")
    return CakeEating(float(β), float(μ_R), float(s_R), float(τ), float(W0))


def cake_rewards(θ, cake: CakeEating, ε, log_R):
    """Rewards log c_t along one path, given exploration draws ε (T,) and log returns (T,).

    log W_{t+1} = log R_{t+1} + log(1 - κ_t) + log W_t, c_t = κ_t W_t (in logs: no
    underflow over long horizons). Returns (log c_t (T,), logits x_t = θ + τ ε_t (T,)).
    """
    x = θ + cake.τ * ε
    log_κ, log_1mκ = jax.nn.log_sigmoid(x), jax.nn.log_sigmoid(-x)
    log_W = jnp.log(cake.W0) + jnp.concatenate([jnp.zeros(1), jnp.cumsum(log_1mκ + log_R)[:-1]])
    return log_κ + log_W, x


def cake_eating_objective(cake: CakeEating, N: int, T: int, estimator: str = "pathwise"):
    """Trainer objective L(θ) = (1/N) Σ_n Σ_{t<T} β^t log c_t^n for the share logit θ (scalar).

    estimator "pathwise": differentiate the simulated return through the known dynamics
    (the draws ε, R are held fixed); "reinforce": the score-function estimator of the same
    gradient (`score_function_objective`; requires τ > 0). Diagnostics: the share sigmoid(θ).
    """
    if estimator not in ("pathwise", "reinforce"):
        raise ValueError(f"estimator must be 'pathwise' or 'reinforce', got {estimator!r}")
    if estimator == "reinforce" and not cake.τ > 0:
        raise ValueError("the score-function estimator needs a stochastic policy: τ must be > 0")

    def objective(θ, state, key, epoch):
        key_ε, key_R = jax.random.split(key)
        ε = jax.random.normal(key_ε, (N, T))
        log_R = cake.μ_R + cake.s_R * jax.random.normal(key_R, (N, T))
        log_c, x = jax.vmap(cake_rewards, in_axes=(None, None, 0, 0))(θ, cake, ε, log_R)
        if estimator == "pathwise":
            L = jnp.mean(log_c @ cake.β ** jnp.arange(T))
        else:
            a = jax.lax.stop_gradient(x)  # the logit actually drawn: an action, not a function of θ
            log_probs = -0.5 * ((a - θ) / cake.τ) ** 2  # log N(a; θ, τ²) up to a constant
            L = score_function_objective(log_c, log_probs, cake.β)
        return L, ({"share": jax.nn.sigmoid(θ)}, state)

    return objective


def cake_expected_return(θ, cake: CakeEating, T: int, n_nodes: int = 40):
    """E[Σ_{t<T} β^t log c_t] exactly, by Gauss–Hermite quadrature over the logit noise.

    log c_t = log κ_t + log W0 + Σ_{s<t} (log(1-κ_s) + log R_{s+1}) is a sum of iid
    terms, so only E log κ and E log(1-κ) under x ~ N(θ, τ²) are needed.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-x²/2)
    weights = weights / weights.sum()
    x = θ + cake.τ * nodes
    E_log_κ = jnp.sum(weights * jax.nn.log_sigmoid(x))
    E_log_1mκ = jnp.sum(weights * jax.nn.log_sigmoid(-x))
    t = jnp.arange(T)
    return jnp.sum(cake.β**t * (E_log_κ + jnp.log(cake.W0) + t * (E_log_1mκ + cake.μ_R)))


def cake_optimal_logit(cake: CakeEating, T: int, tol: float = 1e-12):
    """The maximiser θ* of `cake_expected_return` (Newton's method on its exact gradient).

    With τ = 0 and T → ∞, sigmoid(θ*) → 1 - β; τ > 0 and a finite T move it slightly.
    """
    dL = jax.grad(cake_expected_return)
    d2L = jax.grad(dL)
    θ = jnp.log((1 - cake.β) / cake.β)  # logit of the analytical share
    for _ in range(50):
        step = dL(θ, cake, T) / d2L(θ, cake, T)
        θ = θ - step
        if abs(float(step)) < tol:
            return θ
    raise RuntimeError("Newton's method for the optimal cake-eating logit did not converge")


# ---------------------------------------------------------------------------------------
# Example 2: the income-fluctuation problem (the Huggett household at a constant rate)
# ---------------------------------------------------------------------------------------
#
# c + b′ = (1 + r) b + y, b′ ≥ b̲, log y a Markov chain. A policy maps (b, y) to a logit ℓ;
# the household saves the share sigmoid(ℓ) of its cash on hand above the borrowing limit,
#
#     b′ = b̲ + sigmoid(ℓ) ((1 + r) b + y - b̲),    c = (1 - sigmoid(ℓ)) ((1 + r) b + y - b̲),
#
# so b′ ≥ b̲ and c > 0 hold by construction for every θ. A policy is a function
# policy(θ, b, i_y) -> ℓ for one household (b a scalar, i_y the income node).


def grid_policy(b_grid):
    """A policy stored on the asset grid: θ is an (n_b, n_y) table of logits, linearly
    interpolated in b (and held constant beyond the grid's ends).

    The interpolation weights are those of Young's lottery, which are linear in b.
    """

    def policy(θ, b, i_y):
        if θ.shape[0] != b_grid.size:
            raise ValueError(f"θ must have one row per asset node ({b_grid.size}), got shape {θ.shape}")
        lot = lottery(b_grid, b)
        return lot.weight * θ[lot.index, i_y] + (1 - lot.weight) * θ[lot.index + 1, i_y]

    return policy


def mlp_init(key, sizes):
    """Parameters of a multilayer perceptron with layer sizes `sizes` (inputs first): a list
    of (W, b) pairs, W scaled by 1/sqrt(fan-in), biases zero."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (n_in, n_out)) / np.sqrt(n_in), jnp.zeros(n_out))
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp(params, x):
    """x ↦ W_L (... tanh(W_1 x + b_1) ...) + b_L: tanh hidden layers, a linear output."""
    for W, b in params[:-1]:
        x = jnp.tanh(x @ W + b)
    W, b = params[-1]
    return x @ W + b


def mlp_policy(b_min: float, b_max: float):
    """A neural-network policy: an MLP of wealth with one output logit per income node.

    θ is the list of (W, b) pairs of `mlp_init` (input size 1, output size n_y). The input
    is log(1 + b - b̲) rescaled from [b̲, b_max] to [-1, 1]: like the asset grid, it
    resolves the region near the borrowing limit, where the policy bends most.
    """
    scale = np.log1p(b_max - b_min)
    return lambda θ, b, i_y: mlp(θ, jnp.atleast_1d(2 * jnp.log1p(b - b_min) / scale - 1))[i_y]


def consumption_on_grid(policy, θ, b_grid, y_grid, r):
    """c(b, y) = (1 - sigmoid(ℓ)) ((1 + r) b + y - b̲) of a policy on the (n_b, n_y) grid."""
    b_min = b_grid[0]
    ℓ = jax.vmap(jax.vmap(policy, (None, None, 0)), (None, 0, None))(θ, b_grid, jnp.arange(y_grid.size))
    return (1 - jax.nn.sigmoid(ℓ)) * (cash_on_hand(b_grid[:, None], 1 + r, y_grid) - b_min)


def income_fluctuation_objective(economy, r: float, policy, copies: int, T: int):
    """Trainer objective: the pathwise Monte Carlo value of a policy for simulated households.

    `copies` households start from every node (b_j, y_k) of the grid, so that every node of
    the policy learns from the first period on (the paper's uniform d_0), and live T
    periods; L(θ) = (1/N) Σ_n Σ_{t<T} β^t u(c_t^n). Income draws are fixed
    inputs, so ∇_θ L differentiates through the budget constraint b_{t+1}(θ): the pathwise
    gradient. `economy` supplies b_grid (b̲ = b_grid[0]), y_grid, Π_y, β, σ (e.g.
    `srlteach.economies.huggett.create_huggett_stationary()`). Diagnostics: mean b_T.
    """
    b_grid, y_grid, Π_y, β, σ = economy.b_grid, economy.y_grid, economy.Π_y, economy.β, economy.σ
    b_min = float(b_grid[0])
    if int(copies) != copies or copies < 1:
        raise ValueError(f"copies must be an integer ≥ 1, got {copies}")
    if not (1 + r) * b_min + float(y_grid.min()) - b_min > 0:
        raise ValueError(f"r = {r} makes the borrowing limit b̲ = {b_min} infeasible (c ≤ 0 at b = b̲)")
    b0 = jnp.tile(jnp.repeat(b_grid, y_grid.size), copies)
    i_y0 = jnp.tile(jnp.arange(y_grid.size), b_grid.size * copies)
    cdf_y = jnp.cumsum(Π_y, axis=1)
    household_policy = jax.vmap(policy, in_axes=(None, 0, 0))

    def objective(θ, state, key, epoch):
        def period(carry, t_uniform):
            b, i_y = carry
            t, uniform = t_uniform
            above_limit = cash_on_hand(b, 1 + r, y_grid[i_y]) - b_min
            share = jax.nn.sigmoid(household_policy(θ, b, i_y))
            c = (1 - share) * above_limit
            b_next = b_min + share * above_limit
            return (b_next, inverse_cdf(cdf_y[i_y], uniform)), β**t * crra_utility(c, σ)

        uniforms = jax.random.uniform(key, (T, b0.size))
        (b_T, _), utility = jax.lax.scan(period, (b0, i_y0), (jnp.arange(T), uniforms))
        return jnp.mean(jnp.sum(utility, axis=0)), ({"mean_b_T": jnp.mean(b_T)}, state)

    return objective
