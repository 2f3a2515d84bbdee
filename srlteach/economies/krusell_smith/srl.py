"""Krusell–Smith by structural reinforcement learning: the SPG plug-in and its diagnostics."""

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.krusell_smith.economy import AggregatePath, KrusellSmith, cash_on_hand, next_log_z, prices
from srlteach.foundations.budget import savings_from_share
from srlteach.foundations.distributions import AssetLocator, asset_locator, fast_lottery, linear_interpolation, lottery
from srlteach.foundations.utility import crra_utility, euler_consumption, marginal_utility
from srlteach.learning.lagged_prices import LaggedPrices, LaggedState
from srlteach.learning.spg import BondIncomeDynamics, Prices, SPGConfig, Step, interpolate, locate_prices, policy
from srlteach.solvers.household import EulerErrors

# Numerics of the SPG runs (models.md, model 3): T = 90 (β^T < 1e-2), N = 512 paths at paper
# scale, 32 in the book. Adam's first step is η0 = 0.05 in the logit θ of the savings share,
# not the spec's 5e-4: from the consume-half start, capital collapses in the first periods
# and prices leave the grid, and at 5e-4 per epoch the policy has not brought them back
# after 200 epochs (measured). The rate halves every 100 epochs after warm-up, so Adam's
# steps fall below `tol` after about 600 (book) and 850 (paper) epochs.
SPG_PAPER = SPGConfig(N=512, T=90, η0=0.05, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1500, tol=2e-4)
SPG_BOOK = SPGConfig(N=32, T=90, η0=0.05, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1000, tol=1e-3)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KrusellSmithSPG(BondIncomeDynamics):
    """Krusell–Smith plugged into the SPG engine (the `srlteach.learning.spg.SPGEconomy` protocol).

    Aggregate state a = log z, a continuous AR(1) (`next_log_z`). Prices p = (r, w) are
    the closed forms of (K, z) with K = Σ b g: no market to clear, so the residual is 0.

    Policy: θ has one entry per node (r_k, w_l, b, y); the household saves the share
    s = 1/(1 + e^(-θ)) of its resources up to the cap,

        b′ = b̲ + s (min(x, b_max) - b̲),    x = (1 + r) b + w y  (cash on hand),

    so b̲ ≤ b′ ≤ min(x, b_max) and c = x - b′ > 0 at every node. Between price nodes b′ is
    interpolated linearly and c = x(r, w) - b′; x is bilinear in (r, w), so c is the same
    interpolation of the nodes' (positive) consumption: the constraints survive. θ = 0 is
    the initial policy of models.md: consume half of cash on hand.
    """

    economy: KrusellSmith
    g0: jax.Array  # (n_b, n_y) distribution of the warm-up epochs: the stationary one (z ≡ 1)
    locator: AssetLocator  # finds b′ on the asset grid for Young's lottery
    # (n_r, n_w, n_b, n_y) terminal values v_T on the price nodes, or None: v_T = 0, the
    # paper's truncation (`with_terminal_value`)
    terminal: Any = dataclasses.field(default=None, kw_only=True)

    price_names = ("r", "w")

    @property
    def β(self):
        return self.economy.β

    def initial_parameters(self):
        e = self.economy
        return jnp.zeros((e.r_grid.size, e.w_grid.size, e.b_grid.size, e.y_grid.size), dtype=self.g0.dtype)

    def actions(self, θ):
        """b′ on the (r, w, b, y) nodes: the savings share of resources below the cap."""
        e = self.economy
        x = cash_on_hand(e, e.r_grid[:, None, None, None], e.w_grid[None, :, None, None])
        return savings_from_share(θ, x, e.b_grid[0], e.b_grid[-1])

    def initial_distribution(self):
        return self.g0

    def initial_aggregate(self, key):
        """log z_0 from the AR(1)'s stationary distribution N(0, ν_z²)."""
        return self.economy.ν_z * jax.random.normal(key, dtype=self.g0.dtype)

    def aggregate_shocks(self, key, shape):
        return jax.random.normal(key, shape, dtype=self.g0.dtype)

    def next_aggregate(self, a, ε, prices):
        return next_log_z(self.economy, a, ε)

    def prices(self, table, a, g):
        """(r, w) at K = Σ b g and z = e^a; the table is not needed (closed forms)."""
        return self.prices_at(jnp.sum(g * self.economy.b_grid[:, None]), a)

    def prices_at(self, K, a):
        """(r, w) at capital K and log z = a, located on the policy's price grid."""
        e = self.economy
        p = jnp.stack(prices(e, K, jnp.exp(a)))
        location, outside = locate_prices((e.r_grid, e.w_grid), p)
        return Prices(p, location, jnp.zeros((), p.dtype), outside)

    def policy_index(self, a):
        return ()  # z is not an axis of the table: (r, w) reveal it

    def individual(self, b_next, a, prices):
        """u(c) and Young's lottery of the savings b′ (n_b, n_y) chosen at prices (r, w)."""
        e = self.economy
        r, w = prices.values
        c = cash_on_hand(e, r, w) - b_next
        K = jnp.broadcast_to(e.b_grid[:, None], c.shape)
        return Step(crra_utility(c, e.σ), fast_lottery(self.locator, b_next), {"C": c, "K": K})

    def terminal_value(self, a, prices):
        """v_T on the (b, y) grid at the prices of date T, read on the price nodes of
        `self.terminal` like the policy (the engine asks only when `self.terminal` is not None)."""
        return interpolate(self.terminal, prices.location)

    def check_policy(self, table):
        """Raise ValueError unless the stationary prices (z = 1) lie inside the price grids."""
        e = self.economy
        r, w = prices(e, jnp.sum(self.g0 * e.b_grid[:, None]))
        for name, p, grid in (("r", r, e.r_grid), ("w", w, e.w_grid)):
            if not jnp.isfinite(p):
                raise ValueError(f"the price {name} at the initial distribution is not finite ({name} = {float(p)}): check the economy's parameters and g0")
            if not grid[0] <= p <= grid[-1]:
                raise ValueError(
                    f"the {name} grid [{float(grid[0]):.4g}, {float(grid[-1]):.4g}] must contain the price "
                    f"{name} = {float(p):.4g} at the initial distribution: widen {name}_min/{name}_max"
                )


def krusell_smith_spg(economy: KrusellSmith, g0=None) -> KrusellSmithSPG:
    """The SPG plug-in of `economy`.

    g0 : (n_b, n_y) warm-up distribution; default: the stationary distribution at z ≡ 1
    (`srlteach.solvers.equilibrium.stationary_equilibrium`).
    """
    if g0 is None:
        from srlteach.solvers.equilibrium import stationary_equilibrium  # a local import: equilibrium imports this module

        g0 = stationary_equilibrium(economy).g
    g0 = jnp.asarray(g0, dtype=float)
    shape = (economy.b_grid.size, economy.y_grid.size)
    if g0.shape != shape:
        raise ValueError(f"g0 must have the shape (n_b, n_y) = {shape}, got {g0.shape}")
    if not (bool(jnp.isfinite(g0).all()) and bool((g0 >= 0).all()) and abs(float(g0.sum()) - 1) <= 1e-10):
        raise ValueError(f"g0 must be a distribution (finite, non-negative, summing to one), got sum {float(g0.sum()):.6g}, min {float(g0.min()):.3g}")
    return KrusellSmithSPG(economy, g0, asset_locator(economy.b_grid))


def with_terminal_value(model: KrusellSmithSPG, at: str = "prices") -> KrusellSmithSPG:
    """`model` with a terminal value v_T: each path's objective becomes
    Σ_{t<T} β^t d_tᵀ u_t + β^T d_Tᵀ v_T, and the backward sweep starts from v_T.

    v_T is the value of a household whose prices stay constant forever: its optimal policy
    at those prices (EGM, `srlteach.solvers.household.egm`), valued by
    `srlteach.solvers.household.policy_value` (continuation values by Young's lottery, as in
    the engine).

    at : "prices" (default): at the prices of date T. One value function on every (r, w)
        node of the policy's price grid, read at (r_T, w_T) by the same linear
        interpolation as the policy.
        "stationary": at the stationary equilibrium's prices (r*, w*) (z ≡ 1,
        `srlteach.solvers.equilibrium.stationary_equilibrium`), whatever the prices at T.

    Without it (the default of `krusell_smith_spg`, and the paper's choice) v_T = 0.

    Measured (book scale, `SPG_BOOK`, seed 0; the Krusell–Smith chapter): without aggregate
    risk (ν_z = 0, N = 1) at T = 90, capital after 300 periods is 2.7% below the stationary
    equilibrium of the same lottery problem (VFI) with v_T = 0, +0.02% from it with
    at="prices" and +0.05% with at="stationary" (v_T = 0 needs T = 250 for +0.01%). With
    aggregate risk, the mean K of periods 200–1999 on the KS-1998 shocks is 2.8% below that
    stationary K with v_T = 0 and 0.1% below it with either terminal value. The time per
    epoch did not differ beyond timing noise (N = 32, T = 90, interleaved on a 2-core CPU
    shared at load ~13: medians 21.6 and 24.1 ms, minima 19.6 and 18.5 ms). The default stays
    v_T = 0 so that the book's other numbers are those of the method as published.
    """
    from srlteach.solvers.equilibrium import stationary_equilibrium
    from srlteach.solvers.household import egm, policy_value

    e = model.economy
    b_grid, y_grid = (jnp.asarray(x, dtype=float) for x in (e.b_grid, e.y_grid))
    Π_y = jnp.asarray(e.Π_y, dtype=float)
    n_b, n_y, n_r, n_w = b_grid.size, y_grid.size, e.r_grid.size, e.w_grid.size
    if at == "prices":
        # the exogenous state (y, r, w), flattened in C order: y follows Π_y, r and w stay put
        r = jnp.asarray(e.r_grid, dtype=float)[None, :, None]
        w = jnp.asarray(e.w_grid, dtype=float)[None, None, :]
        shape = (n_y, n_r, n_w)
        R = jnp.broadcast_to(1 + r, shape).ravel()
        income = jnp.broadcast_to(w * y_grid[:, None, None], shape).ravel()
        Π = (Π_y, jnp.eye(n_r), jnp.eye(n_w))
        v = policy_value(egm(b_grid, R, income, Π, e.β, e.σ).b_next, b_grid, R, income, Π, e.β, e.σ)
        table = jnp.transpose(v.reshape(n_b, n_y, n_r, n_w), (2, 3, 0, 1))
    elif at == "stationary":
        steady = stationary_equilibrium(e)
        R, income = jnp.full(n_y, 1 + steady.r), steady.w * y_grid
        v = policy_value(steady.policy.b_next, b_grid, R, income, Π_y, e.β, e.σ)
        table = jnp.broadcast_to(v, (n_r, n_w, n_b, n_y))
    else:
        raise ValueError(f"at must be 'prices' or 'stationary', got {at!r}")
    return dataclasses.replace(model, terminal=table.astype(model.g0.dtype))


@jax.jit
def simulate_aggregates(model, θ, log_z, g0=None) -> tuple[AggregatePath, jax.Array]:
    """One economy under the SRL policy θ along a given shock path log_z (T,).

    The engine's own steps (`prices`, the policy, `individual`, `push_forward`) on a single
    path, so that a trained policy can be run on the same shocks as another method.
    model : a `KrusellSmithSPG`, or one wrapped by `srlteach.learning.lagged_prices.lagged_prices`
    (its remembered prices start at `model.p0` and then follow the simulated prices).
    g0 : (n_b, n_y) distribution at t = 0 (default: the warm-up distribution).
    Returns (AggregatePath, g_T).
    """
    table = model.actions(θ)
    g0 = model.initial_distribution() if g0 is None else jnp.asarray(g0, model.initial_distribution().dtype)
    lagged = isinstance(model, LaggedPrices)

    def period(carry, log_z_t):
        g, p_lag = carry
        a = LaggedState(log_z_t, p_lag) if lagged else log_z_t
        p = model.prices(table, a, g)
        step = model.individual(policy(model, table, a, p), a, p)
        g_next = model.push_forward(g, step.transition)
        p_lag_next = p.values[jnp.asarray(model.lagged)] if lagged else p_lag
        r, w = p.values
        return (g_next, p_lag_next), AggregatePath(log_z_t, jnp.vdot(g, step.outputs["K"]), jnp.vdot(g, step.outputs["C"]), r, w)

    p_lag0 = model.p0 if lagged else jnp.zeros(0, g0.dtype)
    (g_T, _), path = jax.lax.scan(period, (g0, p_lag0), jnp.asarray(log_z, g0.dtype))
    return path, g_T


def euler_errors(model: KrusellSmithSPG, θ, g, log_z, n_quadrature: int = 9) -> EulerErrors:
    """Euler-equation errors of the SRL policy θ at one date with cross-section g and shock log z.

    Today's prices p = (r, w) follow from (K, z), K = Σ b g; savings b′(b, y; p) from the
    policy. Tomorrow's capital K′ = Σ b′ g is known today, so the only uncertainty about
    tomorrow's prices is z′: log z′ = ρ_z log z + ν_z sqrt(1-ρ_z²) ε, integrated over ε by
    Gauss–Hermite quadrature with `n_quadrature` nodes, and over y′ by Π_y:

        c̃ = (u′)⁻¹( β E[(1 + r′) u′(c(b′, y′; p′))] ),   error = log10 |1 - c̃/c|,

    with c(·, y′; p′) linear in b′ between grid nodes (the policy's own interpolation).
    These are the true equilibrium dynamics of (K, z), not a perceived law: the error
    measures how far the policy is from optimal in the economy it generates.

    Near the borrowing limit the Euler equation is an inequality, u′(c) ≥ β E[…], i.e.
    c ≤ c̃ with equality unless b′ = b̲. The share parameterisation never reaches b̲
    exactly, so the error is the complementarity residual: |1 - c̃/c| where the household
    would rather save more (c̃ < c), and min(c̃/c - 1, (b′ - b̲)/c) where it would rather
    consume more, which it can do only up to its savings above the limit. `interior`
    marks savings below the cap b_max (at the cap the equation need not hold).
    """
    e = model.economy
    table = model.actions(θ)
    b_grid, σ = e.b_grid, e.σ

    def consumption_and_savings(K, log_z):
        p = model.prices_at(K, log_z)
        b_next = policy(model, table, log_z, p)
        r, w = p.values
        return cash_on_hand(e, r, w) - b_next, b_next

    c, b_next = consumption_and_savings(jnp.sum(g * b_grid[:, None]), log_z)
    K_next = jnp.sum(b_next * g)
    ε, weight = np.polynomial.hermite_e.hermegauss(n_quadrature)
    weight = jnp.asarray(weight / weight.sum(), c.dtype)
    lot = lottery(b_grid, b_next)

    def marginal_value(ε_q):
        """(1 + r′) u′(c(b′, y′; p′)) for every (b, y) and y′, with c linear in b′ between nodes."""
        log_z_next = next_log_z(e, log_z, ε_q)
        r_next, _ = prices(e, K_next, jnp.exp(log_z_next))
        c_next, _ = consumption_and_savings(K_next, log_z_next)  # on the grid, at tomorrow's prices
        return (1 + r_next) * marginal_utility(linear_interpolation(c_next, lot), σ)  # (n_b, n_y, n_y′)

    expected = jnp.tensordot(weight, jax.vmap(marginal_value)(jnp.asarray(ε, c.dtype)), axes=1)
    c_tilde = euler_consumption(jnp.einsum("byk,yk->by", expected, e.Π_y), e.β, σ)
    gap = c_tilde / c - 1
    residual = jnp.where(gap < 0, -gap, jnp.minimum(gap, (b_next - b_grid[0]) / c))
    below_cap = b_next < b_grid[-1] - 1e-9 * (b_grid[-1] - b_grid[0])
    return EulerErrors(jnp.log10(residual), below_cap)



class EulerErrorSummary(NamedTuple):
    """Euler-equation errors (log10) of a policy at selected dates of one simulated economy."""

    dates: np.ndarray  # (n,) dates t at which the errors were measured
    mean: np.ndarray  # (n,) mean log10 error over interior nodes, weighted by g_t
    worst: dict  # {mass threshold m: (n,) largest log10 error on interior nodes with g_t > m}


def euler_errors_along(model: KrusellSmithSPG, θ, log_z, g0, dates, thresholds=(1e-4, 1e-6), n_quadrature: int = 9) -> EulerErrorSummary:
    """`euler_errors` at the dates t of the economy simulated under θ along log_z from g0.

    The cross-section g_t is carried from one date to the next by `simulate_aggregates`
    (the engine's own steps), so the errors are measured at distributions the policy itself
    generates, each weighted by that g_t. A household's error counts only where the Euler
    equation must hold with equality (`EulerErrors.interior`). `worst` looks at nodes
    holding more than each mass threshold: the largest error among households that
    actually exist, rather than at nodes the economy never reaches.

    log_z : (T,) the shock path; g0 : (n_b, n_y) the distribution at t = 0; dates :
    increasing dates in [0, T).
    """
    dtype = model.initial_distribution().dtype
    log_z = jnp.asarray(log_z, dtype)
    dates = np.asarray(dates)
    if dates.ndim != 1 or dates.size == 0 or not np.issubdtype(dates.dtype, np.integer):
        raise ValueError(f"dates must be a non-empty 1-d array of integers, got {dates!r}")
    if not (0 <= dates[0] and dates[-1] < log_z.shape[0] and np.all(np.diff(dates) > 0)):
        raise ValueError(f"dates must increase strictly and lie in [0, T) = [0, {log_z.shape[0]}), got {dates.tolist()}")
    if not all(0 <= m < 1 for m in thresholds):
        raise ValueError(f"mass thresholds must lie in [0, 1), got {tuple(thresholds)}")
    g = jnp.asarray(g0, dtype)
    mean, worst = [], {m: [] for m in thresholds}
    previous = 0
    for t in dates:
        _, g = simulate_aggregates(model, θ, log_z[previous:t], g)
        previous = t
        errors = euler_errors(model, θ, g, log_z[t], n_quadrature)
        error, valid, mass = np.asarray(errors.log10_error), np.asarray(errors.interior), np.asarray(g)
        mean.append((error * mass)[valid].sum() / mass[valid].sum())
        for m in thresholds:
            worst[m].append(error[valid & (mass > m)].max())
    return EulerErrorSummary(dates, np.array(mean), {m: np.array(w) for m, w in worst.items()})
