"""The SPG engine: the plug-in protocol, rollouts with prices determined inside, and the
objective with its structural policy gradient (see the package docstring)."""

from functools import partial
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from srlteach.foundations.distributions import expectation, push_forward
from srlteach.foundations.utility import integral_exponent
from srlteach.learning.spg.config import SPGConfig
from srlteach.learning.spg.devices import constrain_paths, path_sharding
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

    An economy with ONE learning agent provides everything below itself (Huggett,
    Krusell–Smith). An economy with several (HANK: households and a price-setting firm) has
    a property `agents`, a dict name → agent, and provides only the aggregate methods
    (`initial_aggregate`, `aggregate_shocks`, `next_aggregate`, `prices`, `check_policy`,
    `price_names`); each agent provides the individual ones (`SPGAgent`), and θ, the table,
    g and d are dicts with one entry per agent. `MultiAgentEconomy` derives the rest.
    """

    β: float  # discount factor of the households (with several agents: each agent's own, see `SPGAgent`)
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
        """a_{t+1} given a_t, the innovation ε and today's prices p_t, with their named
        outcomes (an aggregate state that remembers prices, `srlteach.learning.lagged_prices`,
        stores them; HANK's nominal rate follows today's inflation; exogenous shocks ignore them).
        Drawn before the cross-section moves, so that transitions may depend on it."""

    def prices(self, table, a, g) -> Prices:
        """p_t = P*(g_t, a_t): market clearing given the cross-section g and the policy
        (for several agents, table and g hold every agent's)."""

    def individual(self, action, a, prices: Prices) -> Step:
        """Rewards, transition and recorded outputs of the action at (a, p)."""

    def push_forward(self, g, transition):
        """g′ = A_πᵀ g, for a batch of distributions g (N, ...)."""

    def expectation(self, v, transition):
        """(A_π v)(s) = E[v(s′) | s], for a batch of functions v (N, ...)."""

    def check_policy(self, table):
        """Raise ValueError if the economy cannot be simulated under this policy table
        (e.g. a price grid that does not bracket market clearing)."""


class SPGAgent(Protocol):
    """A learning agent: the individual half of `SPGEconomy` (`initial_parameters`,
    `actions`, `policy_index`, `initial_distribution`, `individual`, `push_forward`,
    `expectation`), with its own discounting, and these optional parts:

    - `β`, a constant discount factor, OR a method `discount(a, prices, a_next,
      prices_next)` returning the stochastic discount factor Λ_{t→t+1} of one path
      (a firm's 1/(1 + r_{t+1})): the engine then clears prices once more at date T;
    - `observe(a, prices)` → (indices of the table's aggregate axes, `PriceLocation`): where
      the agent reads its table, if not at `policy_index(a)` and the households' prices;
    - `uses_next_aggregate = True`: `individual(action, a, prices, a_next)` also sees a_{t+1}
      (a return realised next period);
    - `terminal`, any pytree (e.g. a table of values) or None, with a method
      `terminal_value(a, prices)` → v_T on the agent's grid at date T; v_T = 0 where `terminal`
      is None or missing;
    - `objective_distribution()` → d_0 of its objective, if not uniform on its grid
      (`objective_distribution`);
    - `aggregator`: how its value at t combines today's reward with tomorrow's value,
      v_t = u_t + β 𝒞(v_{t+1}); without it 𝒞 = `expectation`, the time-separable sum
      (`TimeSeparable`). `EpsteinZin` is the recursive alternative (`aggregator_of`).

    A representative agent has a one-point grid: g = d = [1.0].
    """


class MultiAgentEconomy:
    """The per-agent parts of `SPGEconomy` for an economy with a property `agents`: dicts
    with one entry per agent."""

    def initial_parameters(self):
        return {name: agent.initial_parameters() for name, agent in self.agents.items()}

    def actions(self, θ):
        return {name: agent.actions(θ[name]) for name, agent in self.agents.items()}

    def initial_distribution(self):
        return {name: agent.initial_distribution() for name, agent in self.agents.items()}


class TimeSeparable:
    """The default value aggregator: v_t = u_t + β (A_π v_{t+1}), linear in v_{t+1}, so the
    adjoint of v_t is β^t d_t and the backward sweep of `value_and_gradient` applies."""

    time_separable = True

    def continuation(self, expectation, v_next, transition):
        return expectation(v_next, transition)


class EpsteinZin(NamedTuple):
    """Epstein–Zin preferences (Epstein and Zin 1989) with risk aversion γ and intertemporal
    elasticity 1/ρ, in the units of the CRRA value.

    The recursion V_t = ((1 - β) c_t^(1-ρ) + β (E_t[V_{t+1}^(1-γ)])^((1-ρ)/(1-γ)))^(1/(1-ρ)),
    written for U = V^(1-ρ) / ((1 - β)(1 - ρ)) (a monotone transform of V), reads

        U_t = u(c_t) + β 𝒞(U_{t+1}),   𝒞(U) = (E[((1-ρ) U)^α])^(1/α) / (1 - ρ),   α = (1-γ)/(1-ρ),

    with u the CRRA utility of coefficient ρ. At γ = ρ, α = 1 and 𝒞 = E: the CRRA value
    itself. (1 - ρ) U = V^(1-ρ) / (1 - β) is positive (0 at a truncated horizon, where
    v_T = 0), and 𝒞 is homogeneous of degree one in it: each path's (1 - ρ) U is divided
    by its largest value before the power α and multiplied back after, so that α = 9
    (γ = 10, ρ = 2) neither overflows nor underflows in float32.
    """

    ρ: float  # inverse of the intertemporal elasticity of substitution (the utility's σ)
    γ: float  # relative risk aversion

    time_separable = False

    @property
    def α(self):
        return (1 - self.γ) / (1 - self.ρ)

    def continuation(self, expectation, v_next, transition):
        s, α = 1 - self.ρ, integral_exponent(self.α)
        x = s * v_next  # (N, ...) V^(1-ρ) / (1 - β) ≥ 0
        scale = jax.lax.stop_gradient(jnp.max(x, axis=_per_path(x), keepdims=True))
        scale = jnp.where(scale > 0, scale, 1)
        m = expectation((x / scale) ** α, transition)
        positive = m > 0  # m = 0 only from v_T = 0: 𝒞 = 0 there, with a zero (not NaN) gradient
        return jnp.where(positive, jnp.where(positive, m, 1) ** (1 / self.α), 0) * scale / s


def aggregator_of(agent):
    """The agent's value aggregator: its `aggregator`, else `TimeSeparable()`."""
    return getattr(agent, "aggregator", None) or TimeSeparable()


def _continuation(agent, v_next, transition):
    """𝒞(v_{t+1}) of a batch: the expectation A_π v_{t+1} unless the agent brings an aggregator."""
    if getattr(agent, "aggregator", None) is None:
        return agent.expectation(v_next, transition)
    return agent.aggregator.continuation(agent.expectation, v_next, transition)


_SOLE = "agent"  # the name of the one agent of an economy without `agents`


def agents_of(model: SPGEconomy) -> dict:
    """The learning agents of an economy by name: its `agents`, or the economy itself."""
    return dict(model.agents) if hasattr(model, "agents") else {_SOLE: model}


def by_agent(model: SPGEconomy, x) -> dict:
    """A table, distribution or parameter pytree of the economy as a dict by agent."""
    return x if hasattr(model, "agents") else {_SOLE: x}


def _whole(model: SPGEconomy, pieces: dict):
    """The inverse of `by_agent`."""
    return pieces if hasattr(model, "agents") else pieces[_SOLE]


def _observation(agent, a, prices: Prices):
    """Where an agent reads its table at (a, p): aggregate indices and a price location."""
    if hasattr(agent, "observe"):
        return agent.observe(a, prices)
    return agent.policy_index(a), prices.location


def _act(agent, table, a, prices: Prices):
    leading, location = _observation(agent, a, prices)
    return jax.tree.map(lambda leaf: interpolate(leaf, location, *leading), table)


def _step(agent, action, a, prices: Prices, a_next) -> Step:
    if getattr(agent, "uses_next_aggregate", False):
        return agent.individual(action, a, prices, a_next)
    return agent.individual(action, a, prices)


def _has_sdf(agent) -> bool:
    return hasattr(agent, "discount")


def _has_terminal(agent) -> bool:
    return getattr(agent, "terminal", None) is not None


def _needs_final_prices(model) -> bool:
    return any(_has_sdf(agent) or _has_terminal(agent) for agent in agents_of(model).values())


def policy(model: SPGEconomy, table, a, prices: Prices):
    """The action of one path at (a, p): every table of the policy interpolated at p (for
    several agents, a dict of each agent's action where it observes (a, p))."""
    tables = by_agent(model, table)
    return _whole(model, {name: _act(agent, tables[name], a, prices) for name, agent in agents_of(model).items()})


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
    """d_0: equal mass on every node of the individual grid (of each agent)."""
    return jax.tree.map(lambda g: jnp.full_like(g, 1.0 / g.size), model.initial_distribution())


def objective_distribution(model: SPGEconomy):
    """d_0 of the objective: uniform on each agent's grid (`uniform_distribution`), except for
    an agent with its own `objective_distribution()` (HANK's firm, whose "grid" holds the
    value and its slope in the relative price, evaluates the value only)."""
    uniform = by_agent(model, uniform_distribution(model))
    agents = agents_of(model)
    own = lambda name: agents[name].objective_distribution() if hasattr(agents[name], "objective_distribution") else uniform[name]
    return _whole(model, {name: own(name) for name in agents})


# ---------------------------------------------------------------------------------------
# Rollouts and the objective
# ---------------------------------------------------------------------------------------


class Path(NamedTuple):
    """N simulated paths of T periods under one policy. Arrays are (T, N, ...)."""

    aggregate: Any  # a_t
    prices: Prices  # p_t, where it sits on the price grid, clearing residual, clips, outcomes
    aggregates: dict  # Σ_s g_t(s) x_t(s) for each output x of the economy ("C", "B", ...)
    g: Any  # g_t (T, N, ...) if requested, else None
    g_final: Any  # g_T (N, ...): where the next batch restarts after warm-up
    a_final: Any  # a_T (N,)
    prices_final: Any = None  # p_T (N, ...), for stochastic discount factors and terminal values; else None


def _per_path(x):
    return tuple(range(1, x.ndim))


def _next(path_aggregate, a_final):
    """a_{t+1} for t = 0, …, T-1 (any pytree with a leading time axis)."""
    return jax.tree.map(lambda x, last: jnp.concatenate([x[1:], last[None]]), path_aggregate, a_final)


def _discounts(agent, path: Path):
    """Λ_t = Λ(a_t, p_t, a_{t+1}, p_{t+1}) of an agent with a stochastic discount factor,
    and the cumulative discount D_t = Π_{s<t} Λ_s, t = 0, …, T; both (·, N)."""
    Λ = jax.vmap(jax.vmap(agent.discount))(
        path.aggregate, path.prices, _next(path.aggregate, path.a_final), _next(path.prices, path.prices_final)
    )
    cumulative = jnp.concatenate([jnp.ones_like(Λ[:1]), jnp.cumprod(Λ, axis=0)])
    return Λ, cumulative


def _terminal(agent, path: Path, g_final):
    """v_T of each path (N, ...), zeros if the agent has no terminal value."""
    if _has_terminal(agent):
        return jax.vmap(agent.terminal_value)(path.a_final, path.prices_final).astype(g_final.dtype)
    return jnp.zeros(g_final.shape, g_final.dtype)


def _segments(tree, T: int, k: int):
    """The leading T axis of every leaf split into T // k segments of k periods, (T // k, k, ...),
    and the T % k periods left over, (T % k, ...)."""
    F = T // k
    head = jax.tree.map(lambda x: x[: F * k].reshape((F, k) + x.shape[1:]), tree)
    return head, jax.tree.map(lambda x: x[F * k :], tree)


def _forward_sweep(model: SPGEconomy, table, g0, a0, key, T: int, d0, keep_distributions: bool, keep_for_gradient: bool,
                   checkpoint: int = 0):
    """The rollout: N paths side by side in one `lax.scan` over t (see `rollout`).

    Returns the objective of each agent (a dict), the Path and, if asked, what the backward
    sweep needs: each agent's d_t and actions, (T, N, ...); or, with `checkpoint` k > 0,
    only each agent's d_t at the start of every segment of k periods (t = 0, k, 2k, ...):
    (d at the T // k full segments, (T // k, N, ...); d at the start of the last T % k
    periods, (N, ...), or None when k divides T), both dicts by agent.
    """
    agents = agents_of(model)
    tables = by_agent(model, table)
    prices_of = jax.vmap(model.prices, in_axes=(None, 0, 0))
    next_aggregate = jax.vmap(model.next_aggregate)
    act = jax.vmap(_act, in_axes=(None, None, 0, 0))

    def period(carry, ε):
        a, g, d, discount, value = carry  # g, d, discount, value: dicts by agent
        prices = prices_of(table, a, _whole(model, g))  # market clearing: part of the environment
        a_next = next_aggregate(a, ε, prices)
        aggregates, g_next, d_next, discount_next, value_next, flows, kept = {}, {}, {}, {}, {}, {}, {}
        for name, agent in agents.items():
            action = act(agent, tables[name], a, prices)
            step = jax.vmap(partial(_step, agent))(action, a, prices, a_next)
            for output, x in step.outputs.items():
                if output in aggregates:
                    raise ValueError(f"two agents record an output named {output!r}: outputs need distinct names")
                aggregates[output] = jnp.sum(g[name] * x, axis=_per_path(x))
            flow = jnp.sum(d[name] * step.reward, axis=_per_path(d[name]))  # (N,) d_tᵀ u_t
            if _has_sdf(agent):  # discounted after the scan, when p_{t+1} is known
                flows[name], value_next[name], discount_next[name] = flow, value[name], discount[name]
            else:
                value_next[name] = value[name] + discount[name] * jnp.mean(flow)
                discount_next[name] = discount[name] * agent.β
            g_next[name] = agent.push_forward(g[name], step.transition)
            d_next[name] = agent.push_forward(d[name], step.transition)
            kept[name] = (d[name], action)
        kept_g = _whole(model, g) if keep_distributions else None
        record = (a, prices, aggregates, kept_g, flows, kept if keep_for_gradient and not checkpoint else None)
        return (a_next, g_next, d_next, discount_next, value_next), record

    gs, d0s = by_agent(model, g0), by_agent(model, d0)
    N = jax.tree.leaves(a0)[0].shape[0]
    one = jnp.ones((), jax.tree.leaves(g0)[0].dtype)
    carry = (
        a0, gs, {name: jnp.broadcast_to(d0s[name], gs[name].shape) for name in agents},
        {name: one for name in agents}, {name: 0 * one for name in agents},
    )
    shocks = model.aggregate_shocks(key, (T, N))
    if keep_for_gradient and checkpoint:
        # The same periods in segments of k, each recording the d_t it starts from.
        def segment(carry, shocks):
            d_start = carry[2]
            carry, records = jax.lax.scan(period, carry, shocks)
            return carry, (records, d_start)

        head, tail = _segments(shocks, T, checkpoint)
        carry, (records, d_head) = jax.lax.scan(segment, carry, head)
        records = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), records)
        d_tail = None
        if T % checkpoint:
            d_tail = carry[2]
            carry, tail_records = jax.lax.scan(period, carry, tail)
            records = jax.tree.map(lambda x, y: jnp.concatenate([x, y]), records, tail_records)
        (a_T, g_T, d_T, discount, values), (a, prices, aggregates, g, flows, _) = carry, records
        kept = (d_head, d_tail)
    else:
        (a_T, g_T, d_T, discount, values), (a, prices, aggregates, g, flows, kept) = jax.lax.scan(period, carry, shocks)
    prices_T = prices_of(table, a_T, _whole(model, g_T)) if _needs_final_prices(model) else None
    path = Path(a, prices, aggregates, g, _whole(model, g_T), a_T, prices_T)
    for name, agent in agents.items():
        if _has_sdf(agent):
            _, D = _discounts(agent, path)
            values[name] = jnp.mean(jnp.sum(D[:-1] * flows[name], axis=0))
            discount[name] = D[-1]  # (N,)
        if _has_terminal(agent):
            v_T = _terminal(agent, path, g_T[name])
            values[name] = values[name] + jnp.mean(discount[name] * jnp.sum(d_T[name] * v_T, axis=_per_path(v_T)))
    return values, path, kept


@partial(jax.jit, static_argnames=("T", "keep_distributions"))
def rollout(model: SPGEconomy, table, g0, a0, key, T: int, d0, keep_distributions: bool = False):
    """Simulate N paths of (a_t, g_t, p_t) and the forward objective along them.

    g0 : (N, ...) initial distributions; a0 : (N,) initial aggregate states; d0 : the
    objective's initial distribution (one, shared by all paths). At each date the prices
    clear the markets given g_t (`model.prices`), the households act on them, and both the
    cross-section and the objective's distribution move by the same transition:

        value = (1/N) Σ_n Σ_{t<T} β^t d_tⁿᵀ u(c(a_tⁿ, p_tⁿ)),   d_{t+1}ⁿ = A_π(a_tⁿ, p_tⁿ)ᵀ d_tⁿ,

    plus β^T d_Tⁿᵀ v_T for an agent with a terminal value; with several agents, the sum of
    their objectives, each discounted by its own β or stochastic discount factor. An agent
    with a non-linear aggregator (`EpsteinZin`) has no such forward sum: its objective is
    the backward recursion's (`backward_value`) along the simulated prices.
    Returns (value, Path); the Path holds every g_t if `keep_distributions`.
    """
    values, path, _ = _forward_sweep(model, table, g0, a0, key, T, d0, keep_distributions, False)
    tables, d0s, g_finals = by_agent(model, table), by_agent(model, d0), by_agent(model, path.g_final)
    for name, agent in agents_of(model).items():
        if not aggregator_of(agent).time_separable:
            values[name] = _agent_value(agent, tables[name], path, g_finals[name], d0s[name])
    return sum(values.values()), path


def _agent_recursion(agent, path: Path, g_final):
    """What an agent's backward recursion v_t = u_t + Λ_t A_t v_{t+1} needs: the records by
    date (a_t, p_t, a_{t+1} if the agent sees it, Λ_t (T, N) if it has a stochastic discount
    factor, else None for its constant β), v_T, and the cumulative discount Π_{s<t} Λ_s
    (T, N) or None."""
    uses_next = getattr(agent, "uses_next_aggregate", False)
    a_next = _next(path.aggregate, path.a_final) if uses_next else None
    v_T = _terminal(agent, path, g_final)
    if _has_sdf(agent):
        Λ, D = _discounts(agent, path)
        return (path.aggregate, path.prices, a_next, Λ), v_T, D[:-1]
    return (path.aggregate, path.prices, a_next, None), v_T, None


@jax.jit
def backward_value(model: SPGEconomy, table, path: Path, d0):
    """The objective by the backward recursion along the simulated price paths.

    v_t = u(c(a_t, p_t)) + β A_π(a_t, p_t) v_{t+1} with v_T = 0 (or the agent's terminal
    value), then (1/N) Σ_n d_0ᵀ v_0ⁿ; summed over agents, each with its own discounting.
    Equal to the forward value of `rollout`; its `jax.grad` with respect to the table is
    the structural policy gradient (the prices in `path` are data: they carry no gradient),
    and each agent's table receives the gradient of its own objective only.
    """
    tables, d0s, g_finals = by_agent(model, table), by_agent(model, d0), by_agent(model, path.g_final)
    total = 0
    for name, agent in agents_of(model).items():
        total = total + _agent_value(agent, tables[name], path, g_finals[name], d0s[name])
    return total


def _agent_value(agent, table, path: Path, g_final, d0):
    """One agent's objective (1/N) Σ_n d_0ᵀ v_0ⁿ by its backward recursion
    v_t = u_t + β 𝒞(v_{t+1}) (or Λ_t for β), 𝒞 its aggregator (`aggregator_of`)."""
    act = jax.vmap(_act, in_axes=(None, None, 0, 0))
    records, v_T, _ = _agent_recursion(agent, path, g_final)

    def period(v_next, record):
        a, prices, a_next, Λ = record
        step = jax.vmap(partial(_step, agent))(act(agent, table, a, prices), a, prices, a_next)
        E = _continuation(agent, v_next, step.transition)
        if Λ is None:
            return step.reward + agent.β * E, None
        return step.reward + Λ.reshape(Λ.shape + (1,) * (E.ndim - 1)) * E, None

    v_0, _ = jax.lax.scan(period, v_T, records, reverse=True)
    return jnp.mean(jnp.sum(d0 * v_0, axis=_per_path(v_0)))


@partial(jax.jit, static_argnames=("T", "checkpoint"))
def value_and_gradient(model: SPGEconomy, table, g0, a0, key, T: int, d0, checkpoint: int = 0):
    """The objective, its structural policy gradient with respect to the table, and the Path.

    One forward sweep (the rollout, which keeps d_t and the actions) and one backward sweep
    per agent along the simulated prices:

        v_t = u_t + β A_t v_{t+1},    ∂L/∂action_t = (β^t/N) ∂/∂action_t [d_tᵀ (u_t + β A_t v_{t+1})],

    the second by `jax.grad` of that one-period expression (through u(c) and the lottery
    weights), then scattered back onto the 2^k table rows each path read. This is reverse-mode
    differentiation of the forward objective, organised by hand so that only d_t and the
    actions are stored and the table's gradient is accumulated in place: the same gradient
    as `jax.grad` of `backward_value` (tests check it), at a fraction of the memory and time.
    With a stochastic discount factor β^t becomes the path's Π_{s<t} Λ_s and β becomes Λ_t.
    The objective is (1/N) Σ_n d_0ᵀ v_0ⁿ from the backward sweep, equal to the rollout's
    forward sum, which is discarded here and so dropped from the compiled forward scan.
    With several agents the value is the sum of their objectives and the gradient a dict.

    A non-linear aggregator (`EpsteinZin`): v_t depends on v_{t+1} non-linearly, so the
    adjoint of v_t is no longer β^t d_t but λ_{t+1} = (∂v_t/∂v_{t+1})ᵀ λ_t from λ_0 = d_0/N,
    which needs every v_{t+1} before it can run forward in time. For such an agent the
    gradient is `jax.value_and_grad` of its backward recursion (`backward_value`): reverse-mode
    differentiation stores each period's residuals and runs exactly that forward adjoint
    sweep. Its cost against the backward sweep is measured in benchmarks/results.md.
    `checkpoint` does not apply to it (ValueError).

    checkpoint : 0 (default) stores d_t and the actions of every period, (T, N, ...) each.
    k > 0 stores only d_t at t = 0, k, 2k, ... and recomputes each segment's d_t and actions
    in the backward sweep from the stored prices (no market clearing, no g): about T/k + 2k
    arrays of (N, ...) per agent instead of 2T, least near k = √(T/2), for one more reading
    of the policy and push-forward of d per period. The recomputation repeats the forward
    sweep's operations on the same numbers, so the value and gradient are the same bit for
    bit when k divides T (tests/test_checkpoint.py); otherwise the last T mod k periods are
    compiled apart and the gradient may differ in the last bit.
    """
    return _value_and_gradient(model, table, g0, a0, key, T, d0, checkpoint)[:3]


def _value_and_gradient(model, table, g0, a0, key, T, d0, checkpoint: int = 0):
    """`value_and_gradient`, and each agent's objective (a dict)."""
    checkpoint = min(checkpoint, T)
    _, path, kept = _forward_sweep(model, table, g0, a0, key, T, d0, False, True, checkpoint)
    tables, d0s, g_finals = by_agent(model, table), by_agent(model, d0), by_agent(model, path.g_final)
    values, gradients = {}, {}
    for name, agent in agents_of(model).items():
        if not aggregator_of(agent).time_separable:
            if checkpoint:
                raise ValueError(
                    f"checkpoint = {checkpoint} is not available for an agent with a non-linear aggregator "
                    f"({type(agent.aggregator).__name__}): its gradient is reverse-mode autodiff; use checkpoint = 0"
                )
            values[name], gradients[name] = jax.value_and_grad(partial(_agent_value, agent), argnums=0)(
                tables[name], path, g_finals[name], d0s[name]
            )
            continue
        N = jax.tree.leaves(a0)[0].shape[0]
        dtype = g_finals[name].dtype
        records, v_T, D = _agent_recursion(agent, path, g_finals[name])
        observe = jax.vmap(partial(_observation, agent))
        step_of = jax.vmap(partial(_step, agent))
        if D is None:
            weights = agent.β ** jnp.arange(T, dtype=dtype) / N  # ∂L/∂v_t = (β^t/N) d_t
        else:
            weights = D / N  # (T, N): the path's own discounting

        def period(carry, record, agent=agent, observe=observe, step_of=step_of):
            v_next, G = carry
            (a, prices, a_next, Λ), d_t, action_t, weight = record

            def one_period_value(action_t):
                step = step_of(action_t, a, prices, a_next)
                E = agent.expectation(v_next, step.transition)
                if Λ is None:
                    v_t = step.reward + agent.β * E
                    return weight * jnp.sum(d_t * v_t), v_t
                v_t = step.reward + Λ.reshape(Λ.shape + (1,) * (E.ndim - 1)) * E
                return jnp.sum(weight.reshape(Λ.shape + (1,) * (E.ndim - 1)) * d_t * v_t), v_t

            (_, v_t), grad = jax.value_and_grad(one_period_value, has_aux=True)(action_t)
            leading, location = observe(a, prices)
            G = jax.tree.map(lambda G_leaf, grad_leaf: _add_interpolated(G_leaf, location, leading, grad_leaf), G, grad)
            return (v_t, G), None

        carry = (v_T, jax.tree.map(jnp.zeros_like, tables[name]))
        if not checkpoint:
            d, action = kept[name]
            (v_0, gradients[name]), _ = jax.lax.scan(period, carry, (records, d, action, weights), reverse=True)
        else:
            act = jax.vmap(_act, in_axes=(None, None, 0, 0))

            def recompute(d_t, record, agent=agent, table=tables[name], act=act, step_of=step_of):
                a, prices, a_next, _ = record  # the forward sweep's period, at the stored prices
                action_t = act(agent, table, a, prices)
                return agent.push_forward(d_t, step_of(action_t, a, prices, a_next).transition), (d_t, action_t)

            def segment(carry, segment_record, period=period, recompute=recompute):
                d_start, records, weights = segment_record
                _, (d, action) = jax.lax.scan(recompute, d_start, records)
                return jax.lax.scan(period, carry, (records, d, action, weights), reverse=True)[0], None

            d_head, d_tail = kept[0][name], None if kept[1] is None else kept[1][name]
            head, tail = _segments((records, weights), T, checkpoint)
            if d_tail is not None:
                carry, _ = segment(carry, (d_tail, *tail))
            (v_0, gradients[name]), _ = jax.lax.scan(segment, carry, (d_head, *head), reverse=True)
        values[name] = jnp.mean(jnp.sum(d0s[name] * v_0, axis=_per_path(v_0)))
    return sum(values.values()), _whole(model, gradients), path, values


class SPGState(NamedTuple):
    """Carried from epoch to epoch: where the next batch of paths starts after warm-up."""

    g: Any  # (N, ...) distributions
    a: Any  # (N,) aggregate states


def initial_state(model: SPGEconomy, N: int, key) -> SPGState:
    """N copies of the warm-up distribution, with aggregate states drawn from `key`."""
    g0 = jax.tree.map(lambda g: jnp.broadcast_to(g, (N,) + g.shape), model.initial_distribution())
    return SPGState(g0, jax.vmap(model.initial_aggregate)(jax.random.split(key, N)))


def clearing_diagnostics(prices: Prices) -> dict:
    """The largest |clearing residual| (overall, and per named market) and the number of
    clipped prices, over all dates and paths of `prices` (a Path's)."""
    # a NaN residual counts as infinitely large: a max over a large array can skip NaN on a CPU
    size = lambda r: jnp.max(jnp.where(jnp.isnan(r), jnp.inf, jnp.abs(r)))
    residuals = prices.residual if isinstance(prices.residual, dict) else {}
    largest = {f"residual_{market}": size(r) for market, r in residuals.items()}
    overall = jnp.max(jnp.stack(list(largest.values()))) if largest else size(prices.residual)
    return {"residual": overall, **largest, "out_of_grid": jnp.sum(prices.out_of_grid)}


def spg_objective(model: SPGEconomy, config: SPGConfig):
    """The objective `train` maximises: (θ, state, key, epoch) -> (L, (diagnostics, state′)).

    Epochs before `config.warmup` start every path from the fixed initial distribution
    with fresh aggregate draws; later epochs restart from the distributions and shocks
    where the previous batch ended, i.e. from the ergodic set of the current policy.
    L has the value of the objective (the sum of the agents' objectives) and, with respect
    to θ, the gradient of `value_and_gradient` chained through `model.actions`: each agent's
    parameters move along the gradient of its own objective. Diagnostics: the largest
    |clearing residual| (and per named market), the number of clipped prices in the batch,
    the mean of each price, and with several agents each agent's objective ("value_<agent>").
    """
    d0 = objective_distribution(model)
    N, T, warmup = config.N, config.T, config.warmup
    sharding = path_sharding(N)  # None on one device (see `srlteach.learning.spg.devices`)
    several = hasattr(model, "agents")

    def objective(θ, state: SPGState, key, epoch):
        key_start, key_paths = jax.random.split(key)
        fresh = initial_state(model, N, key_start)
        start = jax.tree.map(lambda x, y: jnp.where(epoch < warmup, x, y), fresh, state)
        start = constrain_paths(start, sharding)  # the paths split over the devices, as `solve` placed them
        table = model.actions(θ)
        frozen = jax.lax.stop_gradient(table)
        value, gradient, path, values = _value_and_gradient(model, frozen, start.g, start.a, key_paths, T, d0, config.checkpoint)
        # value in the forward pass, Σ ∂L/∂table · table in the backward pass
        attach = sum(jnp.vdot(t - f, gr) for t, f, gr in zip(*(jax.tree.leaves(x) for x in (table, frozen, gradient))))
        clearing = clearing_diagnostics(path.prices)
        diagnostics = {
            **clearing,
            "out_of_grid": clearing["out_of_grid"].astype(value.dtype),
            **{f"{name}_mean": jnp.mean(path.prices.values[..., k]) for k, name in enumerate(model.price_names)},
            **({f"value_{name}": v for name, v in values.items()} if several else {}),
        }
        return value + attach, (diagnostics, SPGState(path.g_final, path.a_final))

    return objective
