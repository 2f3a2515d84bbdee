"""The structural policy gradient (SPG) engine: one training loop for every economy.

Yang, Wang, Schaab and Moll (2025, arXiv 2512.18892) replace the cross-sectional
distribution in the household's state by the low-dimensional prices p it observes. A policy
π(s, a, p) is a table over the individual state s (on a grid), the aggregate shock a and a
grid of price nodes, linear in p between nodes. Given a policy, one *rollout* simulates

    p_t = P*(g_t, a_t; π)            market clearing (or closed-form prices)
    g_{t+1} = A_π(a_t, p_t)ᵀ g_t      Young's lottery over b and the income chain
    a_{t+1} ~ T_a(· | a_t)            the aggregate shock

and the value of the policy along that one price path is the backward recursion

    v_t = u(c(a_t, p_t)) + β A_π(a_t, p_t) v_{t+1},   v_T = 0,

or, the same number, the forward sum Σ_t β^t d_tᵀ u_t with d_{t+1} = A_πᵀ d_t from a
uniform d_0. The objective L(θ) = (1/N) Σ_n d_0ᵀ v_0^n is maximised by gradient ascent
(`srlteach.policy_gradient.train`). Its gradient is *pathwise*: it differentiates u(c) and
the lottery weights with respect to the policy table along the simulated paths, with the
prices held as data (households take them as given). `value_and_gradient` computes it in
one forward sweep (the rollout) and one backward sweep; `backward_value` is the recursion
itself, whose `jax.grad` is the same gradient.

An economy plugs in by providing an object with the methods of `SPGEconomy`: its policy
parameterisation (`actions`, `policy_index`), individual dynamics and reward
(`individual`, `push_forward`, `expectation`), aggregate shock process and price
determination (`prices`). Nothing in this module knows which economy it runs: Huggett
clears a bond market inside `prices` (`srlteach.huggett`), Krusell–Smith computes two prices
in closed form from K and z. The policy may be a pytree of tables (several actions, or
several agents), each interpolated at the same prices; an economy whose prices depend on
another learning agent's policy (HANK's price-setting firms) clears them with that policy
inside `prices`, and will add that agent's rewards as a second stream of the objective.

Conventions. Rollouts run N paths side by side inside one `lax.scan` over t (the paths are
the vectorised axis); arrays in a `Path` are (T, N, ...). The engine computes in the float
type of `SPGConfig.dtype` (float32 by default: it is about twice as fast on a CPU, and the
book's printed numbers agree with float64 to the digits shown).
"""

import dataclasses
import importlib
import itertools
import json
from functools import partial
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srlteach.distributions import expectation, push_forward
from srlteach.policy_gradient import TrainConfig, train, warmup_exponential_decay

# ---------------------------------------------------------------------------------------
# Prices on the policy's price grid
# ---------------------------------------------------------------------------------------


class PriceLocation(NamedTuple):
    """Where a price vector p sits on the policy's price grid, one entry per price."""

    index: jax.Array  # (n_p,) int: the node at or below p_k on price axis k
    weight: jax.Array  # (n_p,) weight of that node; 1 - weight goes to the node above


class Prices(NamedTuple):
    """Prices at one date of one path, as the households observe them."""

    values: jax.Array  # (n_p,) the price vector p_t
    location: PriceLocation  # p_t on the price grid of the policy table
    residual: jax.Array  # market-clearing residual at p_t (0 for closed-form prices)
    out_of_grid: jax.Array  # bool: the price left the grid and was clipped to its edge


def locate_prices(grids, p) -> tuple[PriceLocation, jax.Array]:
    """Linear-interpolation location of the price vector p on one grid per price.

    grids : sequence of n_p increasing 1-d arrays; p : (n_p,). A price outside its grid is
    clipped to the edge (weight 1 on the end node); the second output flags that.
    """
    index, weight, outside = [], [], []
    for grid, p_k in zip(grids, p):
        # a price grid has tens of nodes: counting them beats a binary search's loop
        i = jnp.clip(jnp.sum(p_k >= grid) - 1, 0, grid.size - 2)
        index.append(i)
        weight.append(jnp.clip((grid[i + 1] - p_k) / (grid[i + 1] - grid[i]), 0.0, 1.0))
        outside.append((p_k < grid[0]) | (p_k > grid[-1]))
    return PriceLocation(jnp.stack(index), jnp.stack(weight)), jnp.any(jnp.stack(outside))


def corners(location: PriceLocation):
    """The 2^k price nodes around p and their interpolation weights.

    location : PriceLocation of k prices, arrays with any leading batch shape (...);
    returns (nodes, shares): a tuple of k index arrays (..., 2^k) and shares (..., 2^k).
    """
    n_p = location.index.shape[-1]
    offsets = np.array(list(itertools.product((0, 1), repeat=n_p)))  # (2^k, k): 0 below p, 1 above
    nodes = tuple(location.index[..., k, None] + offsets[:, k] for k in range(n_p))
    w = location.weight[..., None, :]  # (..., 1, k)
    shares = jnp.prod(jnp.where(offsets == 0, w, 1 - w), axis=-1)
    return nodes, shares


def interpolate(table, location: PriceLocation, *leading):
    """The policy at prices p: multilinear interpolation over the price axes of `table`.

    table : (*leading axes, J_{p_1}, ..., J_{p_k}, *individual) values at the price nodes;
    `leading` indexes the axes before the price axes (e.g. the node of the aggregate
    shock z). The 2^k rows around p are read by one gather of whole rows, and combined by
    a small matrix product: on a CPU this is five times faster than one gather per
    corner, whose reads XLA fuses element by element into the weighted sum.
    """
    nodes, shares = corners(location)
    rows = table[tuple(leading) + nodes]  # (2^k, *individual)
    return jnp.tensordot(shares, rows, axes=1)


# ---------------------------------------------------------------------------------------
# The plug-in protocol
# ---------------------------------------------------------------------------------------


class Step(NamedTuple):
    """The individual problem at one date: what the engine needs from an economy."""

    reward: jax.Array  # u(c) on the individual grid, shape of g
    transition: Any  # what `push_forward`/`expectation` apply (a `Lottery` for (b, y) models)
    outputs: dict  # per-state quantities whose cross-sectional sums are recorded ("C": c, ...)


class BondIncomeDynamics:
    """`push_forward` and `expectation` for economies whose individual state is (b, y):
    Young's lottery over b and the income chain `self.economy.Π_y` (Huggett, Krusell–Smith)."""

    def push_forward(self, g, transition):
        return push_forward(g, transition, self.economy.Π_y)

    def expectation(self, v, transition):
        return expectation(v, transition, self.economy.Π_y)


class SPGEconomy(Protocol):
    """What an economy provides to the SPG engine.

    The policy is a table (or a pytree of tables) with axes (aggregate nodes, price nodes,
    individual grid); the engine reads it at (a, p) with `interpolate` and hands the
    resulting action (e.g. savings b′ on the individual grid) to `individual`.

    Methods act on ONE path (the engine vmaps them over paths), except `push_forward` and
    `expectation`, which act on a batch (a leading path axis): on a CPU one scatter over
    the whole batch is several times faster than a vmapped one.
    """

    β: float  # discount factor of the households
    price_names: tuple  # names of the prices, e.g. ("r",) or ("r", "w"), for diagnostics

    def initial_parameters(self):
        """θ_0, the policy parameters of the first epoch (any pytree)."""

    def actions(self, θ):
        """The policy table on the (aggregate, price, individual) nodes implied by θ.

        Computed once per epoch; everything else reads (gathers) from it. Constraints must
        hold at every node and survive linear interpolation in prices.
        """

    def policy_index(self, a):
        """Indices of the table's aggregate axes at aggregate state a (a tuple; () if none)."""

    def initial_distribution(self):
        """g_0 of the warm-up epochs: a distribution on the individual grid."""

    def initial_aggregate(self, key):
        """A draw of the aggregate state a_0 of one path."""

    def aggregate_shocks(self, key, shape):
        """Innovations of the aggregate shock process, an array of `shape` (T, N)."""

    def next_aggregate(self, a, ε, prices: Prices):
        """a_{t+1} given a_t, the innovation ε and today's prices p_t (an aggregate state that
        remembers prices, `srlteach.lagged_prices`, stores them; exogenous shocks ignore them)."""

    def prices(self, table, a, g) -> Prices:
        """p_t = P*(g_t, a_t): market clearing given the cross-section g and the policy."""

    def individual(self, action, a, prices: Prices) -> Step:
        """Rewards, transition and recorded outputs of the action at (a, p)."""

    def push_forward(self, g, transition):
        """g′ = A_πᵀ g, for a batch of distributions g (N, ...)."""

    def expectation(self, v, transition):
        """(A_π v)(s) = E[v(s′) | s], for a batch of functions v (N, ...)."""

    def check_policy(self, table):
        """Raise ValueError if the economy cannot be simulated under this policy table
        (e.g. a price grid that does not bracket market clearing)."""


def policy(model: SPGEconomy, table, a, prices: Prices):
    """The action of one path at (a, p): every table of the policy interpolated at p."""
    leading = model.policy_index(a)
    return jax.tree.map(lambda leaf: interpolate(leaf, prices.location, *leading), table)


def _add_interpolated(G, location: PriceLocation, leading, cotangent):
    """The adjoint of `interpolate` for a batch of paths, added to the table G.

    location : (N, n_p) batched; leading : tuple of (N,) indices; cotangent : (N, *individual).
    Each path adds share × cotangent to the 2^k rows it read: one scatter of N·2^k rows
    into G (in place inside the backward sweep).
    """
    nodes, shares = corners(location)  # (N, 2^k)
    rows = tuple(i[:, None] for i in leading) + nodes
    update = shares.reshape(shares.shape + (1,) * (cotangent.ndim - 1)) * cotangent[:, None]
    return G.at[rows].add(update)


# ---------------------------------------------------------------------------------------
# Numerics
# ---------------------------------------------------------------------------------------


class SPGConfig(NamedTuple):
    """Numerics of an SPG run (no economics). Defaults: the paper's settings for Huggett
    (the paper does not report how fast its learning rate decays: here by half every 250 epochs)."""

    N: int = 512  # simulated paths per epoch
    T: int = 170  # horizon of each path (β^T below the truncation error)
    η0: float = 1e-3  # initial learning rate of Adam
    warmup: int = 50  # epochs at η0, starting every path from the fixed initial distribution
    decay_rate: float = 0.5  # after warm-up the rate falls by this factor ...
    decay_steps: int = 250  # ... every decay_steps epochs
    max_epochs: int = 1000
    chunk: int = 25  # epochs per compiled call
    tol: float = 3e-4  # stop when max |θ_{k+1} - θ_k| < tol (0: run max_epochs)
    seed: int = 0
    dtype: str = "float32"  # float type of the engine's arrays: "float32" or "float64"


def check_config(config: SPGConfig):
    """Raise ValueError naming the setting unless `config` is usable."""
    for name in ("N", "T", "max_epochs", "chunk", "decay_steps"):
        value = getattr(config, name)
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {name} = {value}")
    if int(config.warmup) != config.warmup or config.warmup < 0:
        raise ValueError(f"warmup must be an integer ≥ 0, got warmup = {config.warmup}")
    if not 0 < config.η0 <= 1:
        raise ValueError(f"learning rate η0 must lie in (0, 1], got η0 = {config.η0}")
    if not 0 < config.decay_rate <= 1:
        raise ValueError(f"decay_rate must lie in (0, 1], got decay_rate = {config.decay_rate}")
    if not 0 <= config.tol < 1:
        raise ValueError(f"tolerance tol must lie in [0, 1), got tol = {config.tol}")
    if config.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got dtype = {config.dtype!r}")


def in_dtype(tree, dtype: str):
    """`tree` with every floating-point array cast to `dtype` (integer arrays untouched)."""
    dtype = jnp.dtype(dtype)

    def cast(x):
        x = jnp.asarray(x)
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, tree)


def check_parameters(θ, θ_ref, name: str = "θ0"):
    """Raise ValueError unless θ has the pytree structure and shapes of θ_ref."""
    if jax.tree.structure(θ) != jax.tree.structure(θ_ref):
        raise ValueError(f"{name} must have the structure {jax.tree.structure(θ_ref)}, got {jax.tree.structure(θ)}")
    for leaf, ref in zip(jax.tree.leaves(θ), jax.tree.leaves(θ_ref)):
        if np.shape(leaf) != np.shape(ref):
            raise ValueError(f"{name} must have shape {np.shape(ref)} (the economy's policy grid), got {np.shape(leaf)}")


def uniform_distribution(model: SPGEconomy):
    """d_0: equal mass on every node of the individual grid."""
    g = model.initial_distribution()
    return jnp.full_like(g, 1.0 / g.size)


# ---------------------------------------------------------------------------------------
# Rollouts and the objective
# ---------------------------------------------------------------------------------------


class Path(NamedTuple):
    """N simulated paths of T periods under one policy. Arrays are (T, N, ...)."""

    aggregate: Any  # a_t
    prices: Prices  # p_t, where it sits on the price grid, clearing residual, clips
    aggregates: dict  # Σ_s g_t(s) x_t(s) for each output x of the economy ("C", "B", ...)
    g: Any  # g_t (T, N, ...) if requested, else None
    g_final: Any  # g_T (N, ...): where the next batch restarts after warm-up
    a_final: Any  # a_T (N,)


def _forward_sweep(model: SPGEconomy, table, g0, a0, key, T: int, d0, keep_distributions: bool, keep_for_gradient: bool):
    """The rollout: N paths side by side in one `lax.scan` over t (see `rollout`).

    Also returns, if asked, what the backward sweep needs: d_t and the actions, (T, N, ...).
    """
    β = model.β
    prices_of = jax.vmap(model.prices, in_axes=(None, 0, 0))
    policy_of = jax.vmap(policy, in_axes=(None, None, 0, 0))
    individual = jax.vmap(model.individual)
    next_aggregate = jax.vmap(model.next_aggregate)
    per_path = lambda x: tuple(range(1, x.ndim))

    def period(carry, ε):
        a, g, d, discount, value = carry
        prices = prices_of(table, a, g)  # market clearing: part of the environment
        action = policy_of(model, table, a, prices)
        step = individual(action, a, prices)
        aggregates = {name: jnp.sum(g * x, axis=per_path(x)) for name, x in step.outputs.items()}
        value = value + discount * jnp.mean(jnp.sum(d * step.reward, axis=per_path(d)))
        g_next = model.push_forward(g, step.transition)
        d_next = model.push_forward(d, step.transition)
        record = (a, prices, aggregates, g if keep_distributions else None, (d, action) if keep_for_gradient else None)
        return (next_aggregate(a, ε, prices), g_next, d_next, discount * β, value), record

    N = jax.tree.leaves(a0)[0].shape[0]
    one = jnp.ones((), g0.dtype)
    carry = (a0, g0, jnp.broadcast_to(d0, g0.shape), one, 0 * one)
    (a_T, g_T, _, _, value), (a, prices, aggregates, g, for_gradient) = jax.lax.scan(
        period, carry, model.aggregate_shocks(key, (T, N))
    )
    return value, Path(a, prices, aggregates, g, g_T, a_T), for_gradient


@partial(jax.jit, static_argnames=("T", "keep_distributions"))
def rollout(model: SPGEconomy, table, g0, a0, key, T: int, d0, keep_distributions: bool = False):
    """Simulate N paths of (a_t, g_t, p_t) and the forward objective along them.

    g0 : (N, ...) initial distributions; a0 : (N,) initial aggregate states; d0 : the
    objective's initial distribution (one, shared by all paths). At each date the prices
    clear the markets given g_t (`model.prices`), the households act on them, and both the
    cross-section and the objective's distribution move by the same transition:

        value = (1/N) Σ_n Σ_{t<T} β^t d_tⁿᵀ u(c(a_tⁿ, p_tⁿ)),   d_{t+1}ⁿ = A_π(a_tⁿ, p_tⁿ)ᵀ d_tⁿ.

    Returns (value, Path); the Path holds every g_t if `keep_distributions`.
    """
    value, path, _ = _forward_sweep(model, table, g0, a0, key, T, d0, keep_distributions, False)
    return value, path


@jax.jit
def backward_value(model: SPGEconomy, table, path: Path, d0):
    """The objective by the backward recursion along the simulated price paths.

    v_t = u(c(a_t, p_t)) + β A_π(a_t, p_t) v_{t+1} with v_T = 0, then (1/N) Σ_n d_0ᵀ v_0ⁿ.
    Equal to the forward value of `rollout`; its `jax.grad` with respect to the table is
    the structural policy gradient (the prices in `path` are data: they carry no gradient).
    """
    β = model.β
    policy_of = jax.vmap(policy, in_axes=(None, None, 0, 0))
    individual = jax.vmap(model.individual)

    def period(v_next, record):
        a, prices = record
        step = individual(policy_of(model, table, a, prices), a, prices)
        return step.reward + β * model.expectation(v_next, step.transition), None

    v_T = jnp.zeros(path.g_final.shape, path.g_final.dtype)
    v_0, _ = jax.lax.scan(period, v_T, (path.aggregate, path.prices), reverse=True)
    return jnp.mean(jnp.sum(d0 * v_0, axis=tuple(range(1, v_0.ndim))))


@partial(jax.jit, static_argnames=("T",))
def value_and_gradient(model: SPGEconomy, table, g0, a0, key, T: int, d0):
    """The objective, its structural policy gradient with respect to the table, and the Path.

    One forward sweep (the rollout, which keeps d_t and the actions) and one backward sweep
    along the simulated prices:

        v_t = u_t + β A_t v_{t+1},    ∂L/∂action_t = (β^t/N) ∂/∂action_t [d_tᵀ (u_t + β A_t v_{t+1})],

    the second by `jax.grad` of that one-period expression (through u(c) and the lottery
    weights), then scattered back onto the 2^k table rows each path read. This is reverse-mode
    differentiation of the forward objective, organised by hand so that only d_t and the
    actions are stored and the table's gradient is accumulated in place: the same gradient
    as `jax.grad` of `backward_value` (tests check it), at a fraction of the memory and time.
    The objective is (1/N) Σ_n d_0ᵀ v_0ⁿ from the backward sweep, equal to the rollout's
    forward sum, which is discarded here and so dropped from the compiled forward scan.
    """
    _, path, (d, action) = _forward_sweep(model, table, g0, a0, key, T, d0, False, True)
    β = model.β
    N = d.shape[1]
    individual = jax.vmap(model.individual)
    leading_of = jax.vmap(model.policy_index)
    weights = β ** jnp.arange(T, dtype=d.dtype) / N  # ∂L/∂v_t = (β^t/N) d_t

    def period(carry, record):
        v_next, G = carry
        a, prices, d_t, action_t, weight = record

        def one_period_value(action_t):
            step = individual(action_t, a, prices)
            v_t = step.reward + β * model.expectation(v_next, step.transition)
            return weight * jnp.sum(d_t * v_t), v_t

        (_, v_t), grad = jax.value_and_grad(one_period_value, has_aux=True)(action_t)
        leading = leading_of(a)
        G = jax.tree.map(lambda G_leaf, grad_leaf: _add_interpolated(G_leaf, prices.location, leading, grad_leaf), G, grad)
        return (v_t, G), None

    carry = (jnp.zeros_like(g0), jax.tree.map(jnp.zeros_like, table))
    (v_0, gradient), _ = jax.lax.scan(period, carry, (path.aggregate, path.prices, d, action, weights), reverse=True)
    value = jnp.mean(jnp.sum(d0 * v_0, axis=tuple(range(1, v_0.ndim))))
    return value, gradient, path


class SPGState(NamedTuple):
    """Carried from epoch to epoch: where the next batch of paths starts after warm-up."""

    g: Any  # (N, ...) distributions
    a: Any  # (N,) aggregate states


def initial_state(model: SPGEconomy, N: int, key) -> SPGState:
    """N copies of the warm-up distribution, with aggregate states drawn from `key`."""
    g0 = model.initial_distribution()
    return SPGState(jnp.broadcast_to(g0, (N,) + g0.shape), jax.vmap(model.initial_aggregate)(jax.random.split(key, N)))


def spg_objective(model: SPGEconomy, config: SPGConfig):
    """The objective `train` maximises: (θ, state, key, epoch) -> (L, (diagnostics, state′)).

    Epochs before `config.warmup` start every path from the fixed initial distribution
    with fresh aggregate draws; later epochs restart from the distributions and shocks
    where the previous batch ended, i.e. from the ergodic set of the current policy.
    L has the value of the objective and, with respect to θ, the gradient of
    `value_and_gradient` chained through `model.actions`. Diagnostics: the largest
    |clearing residual| and the number of clipped prices in the batch, the mean of each price.
    """
    d0 = uniform_distribution(model)
    N, T, warmup = config.N, config.T, config.warmup

    def objective(θ, state: SPGState, key, epoch):
        key_start, key_paths = jax.random.split(key)
        fresh = initial_state(model, N, key_start)
        start = jax.tree.map(lambda x, y: jnp.where(epoch < warmup, x, y), fresh, state)
        table = model.actions(θ)
        frozen = jax.lax.stop_gradient(table)
        value, gradient, path = value_and_gradient(model, frozen, start.g, start.a, key_paths, T, d0)
        # value in the forward pass, Σ ∂L/∂table · table in the backward pass
        attach = sum(jnp.vdot(t - f, gr) for t, f, gr in zip(*(jax.tree.leaves(x) for x in (table, frozen, gradient))))
        diagnostics = {
            "residual": jnp.max(jnp.abs(path.prices.residual)),
            "out_of_grid": jnp.sum(path.prices.out_of_grid).astype(value.dtype),
            **{f"{name}_mean": jnp.mean(path.prices.values[..., k]) for k, name in enumerate(model.price_names)},
        }
        return value + attach, (diagnostics, SPGState(path.g_final, path.a_final))

    return objective


# ---------------------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------------------


class SPGResult(NamedTuple):
    """A trained policy with everything needed to reproduce its simulations."""

    model: Any  # the economy's plug-in, in the engine's float type
    config: SPGConfig
    θ: Any  # trained policy parameters
    state: SPGState  # where the last batch ended (the ergodic set of the trained policy)
    history: dict  # per-epoch "objective", "Δθ" and diagnostics (np arrays)
    epochs: int
    converged: bool
    interrupted: bool
    compile_seconds: float
    run_seconds: float


def solve(model: SPGEconomy, config: SPGConfig = SPGConfig(), θ0=None, optimizer=None, progress=None) -> SPGResult:
    """Train the policy of `model` by the structural policy gradient.

    Parameters
    ----------
    model : an economy's SPG plug-in (see `SPGEconomy`).
    config : numerics (`SPGConfig`).
    θ0 : initial parameters (default: `model.initial_parameters()`, the economy's initial
        policy); must match that structure and those shapes.
    optimizer : an optax transformation (default: Adam with the paper's schedule,
        `warmup_exponential_decay(η0, warmup, decay_rate, decay_steps)`).
    progress : optional callback for interactive use (`srlteach.policy_gradient.print_progress`).

    Runs `config.chunk` epochs per compiled call; Ctrl-C returns the policy at the end of
    the last completed chunk with `interrupted=True`.
    """
    check_config(config)
    model = in_dtype(model, config.dtype)
    θ_ref = model.initial_parameters()
    θ0 = θ_ref if θ0 is None else θ0
    check_parameters(θ0, θ_ref)
    θ0 = in_dtype(θ0, config.dtype)
    model.check_policy(model.actions(θ0))
    if optimizer is None:
        schedule = warmup_exponential_decay(config.η0, config.warmup, config.decay_rate, config.decay_steps)
        optimizer = optax.adam(schedule)
    state0 = initial_state(model, config.N, jax.random.PRNGKey(config.seed))
    trained = train(
        spg_objective(model, config),
        θ0,
        optimizer,
        TrainConfig(config.max_epochs, config.chunk, config.tol, config.seed),
        state0=state0,
        progress=progress,
    )
    return SPGResult(
        model, config, trained.θ, SPGState(*trained.state), trained.history, trained.epochs,
        trained.converged, trained.interrupted, trained.compile_seconds, trained.run_seconds,
    )


def simulate(model: SPGEconomy, θ, key, N: int, T: int, start: SPGState | None = None, keep_distributions=False) -> Path:
    """N paths of T periods under the policy θ (diagnostics: prices, aggregates, residuals).

    start : where the paths begin (default: the warm-up distribution with aggregate states
    drawn from `key`); pass `SPGResult.state` to continue from the trained policy's ergodic
    set (its first N paths).
    """
    key_start, key_paths = jax.random.split(key)
    if start is None:
        start = initial_state(model, N, key_start)
    available = jax.tree.leaves(start.a)[0].shape[0]
    if not 1 <= N <= available:
        raise ValueError(f"N must lie in [1, {available}] (the paths in `start`), got N = {N}")
    if int(T) != T or T < 1:
        raise ValueError(f"T must be a positive integer, got T = {T}")
    start = jax.tree.map(lambda x: x[:N], start)
    return _simulate(model, θ, start, key_paths, T, keep_distributions)


@partial(jax.jit, static_argnames=("T", "keep_distributions"))
def _simulate(model, θ, start, key, T, keep_distributions):
    _, path = rollout(model, model.actions(θ), start.g, start.a, key, T, uniform_distribution(model), keep_distributions)
    return path


def seed_spread(model: SPGEconomy, config: SPGConfig, seeds, statistic) -> np.ndarray:
    """`statistic(result)` of independent SPG runs that differ only in `config.seed`.

    The sampling noise of the method: each seed draws different aggregate shocks in every
    epoch. Returns an array with one row per seed.
    """
    return np.stack([np.asarray(statistic(solve(model, config._replace(seed=int(seed))))) for seed in seeds])


# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------
#
# A result is stored as one .npz file: every array under its own name, and a JSON
# description of the containers (dataclasses, named tuples, dicts) and scalars around them,
# so that loading rebuilds the same objects, bit for bit, without pickle.


def _describe(obj, name: str, arrays: dict):
    if isinstance(obj, (jax.Array, np.ndarray, np.generic)):
        arrays[name] = np.asarray(obj)
        return {"array": name}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    kind = type(obj)
    path = f"{kind.__module__}:{kind.__qualname__}"
    if dataclasses.is_dataclass(obj):
        fields = {f.name: _describe(getattr(obj, f.name), f"{name}.{f.name}", arrays) for f in dataclasses.fields(obj)}
        return {"dataclass": path, "fields": fields}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {"namedtuple": path, "fields": {k: _describe(v, f"{name}.{k}", arrays) for k, v in obj._asdict().items()}}
    if isinstance(obj, dict):
        return {"dict": {k: _describe(v, f"{name}.{k}", arrays) for k, v in obj.items()}}
    if isinstance(obj, (tuple, list)):
        return {"tuple": [_describe(v, f"{name}.{i}", arrays) for i, v in enumerate(obj)]}
    raise ValueError(f"cannot save {name} of type {path}")


def _class(path: str):
    module, qualname = path.split(":")
    if not module.startswith("srlteach"):
        raise ValueError(f"refusing to load class {path}: only srlteach classes are rebuilt")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls


def _rebuild(description: dict, arrays):
    if "array" in description:
        return jnp.asarray(arrays[description["array"]])
    if "value" in description:
        return description["value"]
    if "dict" in description:
        return {k: _rebuild(v, arrays) for k, v in description["dict"].items()}
    if "tuple" in description:
        return tuple(_rebuild(v, arrays) for v in description["tuple"])
    kind = "dataclass" if "dataclass" in description else "namedtuple"
    fields = {k: _rebuild(v, arrays) for k, v in description["fields"].items()}
    return _class(description[kind])(**fields)


def save_result(path, result: SPGResult):
    """Write `result` (policy, settings, model, history) to the .npz file `path`."""
    arrays = {}
    description = _describe(result, "result", arrays)
    np.savez(path, __description__=np.asarray(json.dumps(description)), **arrays)


def load_result(path) -> SPGResult:
    """Read a result written by `save_result`: simulations with it repeat the original's."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    description = json.loads(str(arrays.pop("__description__")))
    result = _rebuild(description, arrays)
    # the history holds NumPy arrays, as `train` returns it
    return result._replace(history={name: np.asarray(value) for name, value in result.history.items()})
