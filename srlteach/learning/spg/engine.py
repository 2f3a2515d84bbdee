"""The SPG engine: the plug-in protocol, rollouts with prices determined inside, and the
objective with its structural policy gradient (see the package docstring)."""

from functools import partial
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from srlteach.foundations.distributions import expectation, push_forward
from srlteach.learning.spg.config import SPGConfig
from srlteach.learning.spg.prices import PriceLocation, Prices, corners, interpolate

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
        remembers prices, `srlteach.learning.lagged_prices`, stores them; exogenous shocks ignore them)."""

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


