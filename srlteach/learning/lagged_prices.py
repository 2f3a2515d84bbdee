"""Policies that also condition on last period's prices: any SPG economy, one more grid axis.

The structural policy gradient of Yang, Wang, Schaab and Moll (2025, arXiv 2512.18892)
trains a policy π(s, a, p) on today's prices p. Equilibrium prices are not Markov, so
yesterday's prices carry information about the distribution that today's do not; a policy
π(s, a, p_{t-1}, p) can use it. `LaggedPrices` adds that state to any plug-in of
`srlteach.learning.spg` without touching the economy or the engine's training loop:

- the aggregate state becomes (a, p_{t-1}) (`LaggedState`): the economy's own state plus
  the remembered prices, updated each period from the prices that cleared the markets;
- the policy table gets one axis per remembered price, on a grid of `lag_grids` nodes,
  placed after the economy's aggregate axes and before its price axes, so that the
  engine's multilinear `interpolate` (and the adjoint that scatters the gradient back)
  treats p_{t-1} exactly like a price: linear between nodes;
- the economy's `prices` and `individual` see the table interpolated at p_{t-1}, i.e. the
  current-price policy that the lagged state selects.

If the table does not vary along the lag axes, the lagged policy *is* the current-price
policy: `collapse` and `expand` go back and forth, and a rollout of `expand(θ)` is a
rollout of θ (tests/test_lagged_prices.py). `consumption_gaps` measures how far a trained
lagged policy moved from current-price ones, on the states its own economy visits.

The engine hands today's prices to `next_aggregate`, which is how the wrapper carries the
remembered price from one period to the next; see `LaggedPrices.next_aggregate`.
"""

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from srlteach.learning.spg import PriceLocation, Prices, corners, locate_prices, policy, simulate

_static = dict(metadata=dict(static=True))


class LaggedState(NamedTuple):
    """The aggregate state of a lagged-price policy."""

    a: Any  # the economy's own aggregate state (e.g. log z, or the index of z)
    p_lag: jax.Array  # (n_lag,) the remembered prices p_{t-1}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LaggedPrices:
    """An SPG economy whose households also condition on last period's prices.

    Wraps `inner` (any `srlteach.learning.spg.SPGEconomy`); build it with `lagged_prices`.
    """

    inner: Any  # the economy's plug-in
    lag_grids: tuple  # one increasing grid per remembered price
    p0: jax.Array  # (n_lag,) p_{-1}: the remembered prices at the start of a path
    lagged: tuple = dataclasses.field(**_static)  # which prices are remembered (indices into p)
    n_aggregate_axes: int = dataclasses.field(**_static)  # leading table axes indexed by the aggregate state

    # --- delegated unchanged --------------------------------------------------------------

    @property
    def β(self):
        return self.inner.β

    @property
    def price_names(self):
        return self.inner.price_names

    def initial_distribution(self):
        return self.inner.initial_distribution()

    def aggregate_shocks(self, key, shape):
        return self.inner.aggregate_shocks(key, shape)

    def push_forward(self, g, transition):
        return self.inner.push_forward(g, transition)

    def expectation(self, v, transition):
        return self.inner.expectation(v, transition)

    # --- the lag axes of θ and the table --------------------------------------------------

    @property
    def lag_shape(self):
        return tuple(grid.size for grid in self.lag_grids)

    def expand(self, θ):
        """The lagged parameters that ignore p_{t-1}: θ repeated on every lag node."""
        return jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, self.lag_shape + leaf.shape), θ)

    def collapse(self, θ):
        """The current-price parameters at the first lag node (exact if θ ignores the lag)."""
        return jax.tree.map(lambda leaf: leaf[(0,) * len(self.lag_grids)], θ)

    def initial_parameters(self):
        """The economy's initial policy, the same at every lagged price."""
        return self.expand(self.inner.initial_parameters())

    def actions(self, θ):
        """The economy's table at every lag node, lag axes moved after the aggregate axes."""
        k, m = len(self.lag_grids), self.n_aggregate_axes
        table_of = self.inner.actions
        for _ in range(k):
            table_of = jax.vmap(table_of)
        return jax.tree.map(lambda leaf: jnp.moveaxis(leaf, tuple(range(k)), tuple(range(m, m + k))), table_of(θ))

    def _at_lag(self, table, p_lag):
        """The current-price table selected by p_{t-1}: linear interpolation over the lag axes.

        Written as a weighted sum of whole-table slices, which XLA fuses into whatever the
        economy's `prices` reads of it (one z slab, say); `interpolate`'s single gather of
        the corner rows would build the whole blended table for every path (measured on a
        lagged Huggett epoch at book scale: 254 against 40 ms).
        """
        nodes, shares = corners(locate_prices(self.lag_grids, p_lag)[0])
        k, m = len(self.lag_grids), self.n_aggregate_axes
        move = lambda leaf: jnp.moveaxis(leaf, tuple(range(m, m + k)), tuple(range(k)))
        blend = lambda leaf: sum(shares[c] * leaf[tuple(n[c] for n in nodes)] for c in range(shares.size))
        return jax.tree.map(lambda leaf: blend(move(leaf)), table)

    # --- the aggregate state --------------------------------------------------------------

    def initial_aggregate(self, key):
        return LaggedState(self.inner.initial_aggregate(key), self.p0)

    def next_aggregate(self, a: LaggedState, ε, prices: Prices):
        """(a_{t+1}, p_t): the economy's next state and today's prices, remembered."""
        return LaggedState(self.inner.next_aggregate(a.a, ε, prices), prices.values[jnp.asarray(self.lagged)])

    def policy_index(self, a: LaggedState):
        return self.inner.policy_index(a.a)

    # --- prices and households ------------------------------------------------------------

    def prices(self, table, a: LaggedState, g) -> Prices:
        """The economy's prices under the policy that p_{t-1} selects, located on the lag
        grids and the price grids together (`with_lag`)."""
        return self.with_lag(a, self.inner.prices(self._at_lag(table, a.p_lag), a.a, g))

    def with_lag(self, a: LaggedState, prices: Prices) -> Prices:
        """The economy's prices, located at (p_{t-1}, p) on the lag and price grids (lag axes
        first, as in the table): what `srlteach.learning.spg.policy` needs to read the lagged table."""
        lag, lag_outside = locate_prices(self.lag_grids, a.p_lag)
        location = PriceLocation(
            jnp.concatenate([lag.index, prices.location.index]), jnp.concatenate([lag.weight, prices.location.weight])
        )
        return prices._replace(location=location, out_of_grid=prices.out_of_grid | lag_outside)

    def _own(self, prices: Prices) -> Prices:
        """The prices located on the economy's own price grids only (lag axes dropped)."""
        k = len(self.lag_grids)
        return prices._replace(location=PriceLocation(prices.location.index[k:], prices.location.weight[k:]))

    def individual(self, action, a: LaggedState, prices: Prices):
        return self.inner.individual(action, a.a, self._own(prices))

    @property
    def terminal(self):
        """The economy's terminal values (None if it has none): v_T does not depend on p_{T-1}."""
        return getattr(self.inner, "terminal", None)

    def terminal_value(self, a: LaggedState, prices: Prices):
        return self.inner.terminal_value(a.a, self._own(prices))

    def check_policy(self, table):
        """The economy's check, for the policy selected by the initial lagged prices p0."""
        self.inner.check_policy(self._at_lag(table, self.p0))


def lagged_prices(inner, lag_grids, p0, lagged=None) -> LaggedPrices:
    """`inner` with policies that also condition on last period's prices.

    Parameters
    ----------
    inner : an SPG plug-in (`huggett_spg`, `krusell_smith_spg`, ...).
    lag_grids : one increasing grid (≥ 2 nodes) per remembered price.
    p0 : the remembered prices at the start of every path (e.g. stationary prices);
        must lie on the lag grids.
    lagged : indices of the remembered prices in the price vector (default: the first
        len(lag_grids) prices, e.g. (0,) for r in Krusell–Smith's p = (r, w)).
    """
    # the wrapper passes one agent's individual problem through, discounted by its constant β
    unsupported = [hook for hook in ("agents", "discount", "observe", "uses_next_aggregate") if hasattr(inner, hook)]
    if unsupported:
        raise ValueError(f"lagged_prices wraps an economy with one learning agent and a constant β; this one has {unsupported}")
    lag_grids = tuple(jnp.asarray(grid, dtype=inner.initial_distribution().dtype) for grid in lag_grids)
    lagged = tuple(range(len(lag_grids))) if lagged is None else tuple(int(k) for k in lagged)
    n_p = len(inner.price_names)
    if not lag_grids:
        raise ValueError("lag_grids must hold at least one grid (one per remembered price)")
    if len(lagged) != len(lag_grids):
        raise ValueError(f"lagged must name one price per lag grid: {len(lag_grids)} grids, lagged = {lagged}")
    if len(set(lagged)) != len(lagged) or not all(0 <= k < n_p for k in lagged):
        raise ValueError(f"lagged must hold distinct indices of the {n_p} prices {inner.price_names}, got {lagged}")
    for k, grid in zip(lagged, lag_grids):
        name = inner.price_names[k]
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError(f"the lag grid of {name} must be a 1-d grid of at least 2 nodes, got shape {grid.shape}")
        if not bool(jnp.all(jnp.diff(grid) > 0)):
            raise ValueError(f"the lag grid of {name} must be strictly increasing")
    p0 = jnp.asarray(p0, dtype=lag_grids[0].dtype).reshape(-1)
    if p0.shape != (len(lag_grids),):
        raise ValueError(f"p0 must hold one remembered price per lag grid, got shape {p0.shape}")
    for k, grid, p in zip(lagged, lag_grids, p0):
        if not grid[0] <= p <= grid[-1]:
            raise ValueError(
                f"p0 = {float(p):.4g} for {inner.price_names[k]} must lie on its lag grid [{float(grid[0]):.4g}, {float(grid[-1]):.4g}]"
            )
    n_aggregate_axes = len(inner.policy_index(inner.initial_aggregate(jax.random.PRNGKey(0))))
    return LaggedPrices(inner, lag_grids, p0, lagged, n_aggregate_axes)


def consumption_gaps(lagged, reference, others=(), key=None, N: int = 16, T: int = 200, burn_in: int = 50, start=None):
    """How much consumption differs between policies, on the states a lagged economy visits.

    lagged : the trained lagged-price policy (an object with `.model`, a `LaggedPrices`,
    and `.θ`, e.g. an `SPGResult`); reference and each of others : current-price policies
    of the same economy (`.model` is `lagged.model.inner`'s kind, `.θ`). The lagged economy
    is simulated for N paths of T periods from `start` (None: the warm-up distribution);
    at every date t ≥ burn_in, each policy's consumption c(s) is evaluated in the same
    state (s, a_t, p_t), the current-price ones ignoring p_{t-1}, and compared with the
    reference's:

        gap_t = Σ_s g_t(s) |c(s) - c_ref(s)| / Σ_s g_t(s) c_ref(s).

    Only visited states count: much of a lagged table (lag and price nodes far apart) is
    never read. Returns the mean of gap_t over dates and paths, one float for the lagged
    policy and then one per policy in `others`.
    """
    if not isinstance(lagged.model, LaggedPrices):
        raise ValueError(f"lagged.model must be a LaggedPrices plug-in, got {type(lagged.model).__name__}")
    for res in (reference, *others):
        if isinstance(res.model, LaggedPrices):
            raise ValueError("reference and others must be current-price policies (their model is not a LaggedPrices)")
    if not 0 <= burn_in < T:
        raise ValueError(f"burn_in must lie in [0, T) = [0, {T}), got burn_in = {burn_in}")
    key = jax.random.PRNGKey(0) if key is None else key
    path = simulate(lagged.model, lagged.θ, key, N, T, start=start, keep_distributions=True)
    current = (reference, *others)
    tables = [res.model.actions(res.θ) for res in current]
    lag_table = lagged.model.actions(lagged.θ)

    def consumption(model, table, a, prices):
        return model.individual(policy(model, table, a, prices), a, prices).outputs["C"]

    def gaps(a, prices, g):
        own = lagged.model._own(prices)  # today's prices on the economy's own grids
        c_lag = consumption(lagged.model, lag_table, a, prices)
        c_ref, *c_others = (consumption(res.model, table, a.a, own) for res, table in zip(current, tables))
        C = jnp.sum(g * c_ref)
        return jnp.stack([jnp.sum(g * jnp.abs(c - c_ref)) / C for c in (c_lag, *c_others)])

    visited = lambda x: jax.tree.map(lambda leaf: leaf[burn_in:].reshape((-1,) + leaf.shape[2:]), x)
    return [float(x) for x in jax.vmap(gaps)(visited(path.aggregate), visited(path.prices), visited(path.g)).mean(axis=0)]
