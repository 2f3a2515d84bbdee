"""Krusell–Smith by structural reinforcement learning: the SPG plug-in and its diagnostics."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.krusell_smith.economy import AggregatePath, KrusellSmith, cash_on_hand, next_log_z, prices
from srlteach.foundations.distributions import AssetLocator, asset_locator, fast_lottery, lottery
from srlteach.foundations.utility import crra_utility, inverse_marginal_utility, marginal_utility
from srlteach.learning.lagged_prices import LaggedPrices, LaggedState
from srlteach.learning.spg import BondIncomeDynamics, Prices, SPGConfig, Step, locate_prices, policy
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
        b_min, b_max = e.b_grid[0], e.b_grid[-1]
        x = cash_on_hand(e, e.r_grid[:, None, None, None], e.w_grid[None, :, None, None])
        return b_min + jax.nn.sigmoid(θ) * (jnp.minimum(x, b_max) - b_min)

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

    def check_policy(self, table):
        """Raise ValueError unless the stationary prices (z = 1) lie inside the price grids."""
        e = self.economy
        r, w = prices(e, jnp.sum(self.g0 * e.b_grid[:, None]))
        for name, p, grid in (("r", r, e.r_grid), ("w", w, e.w_grid)):
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
    if (g0 < 0).any() or abs(float(g0.sum()) - 1) > 1e-10:
        raise ValueError(f"g0 must be a distribution (non-negative, summing to one), got sum {float(g0.sum()):.6g}, min {float(g0.min()):.3g}")
    return KrusellSmithSPG(economy, g0, asset_locator(economy.b_grid))


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
        c_at_b_next = lot.weight[..., None] * c_next[lot.index] + (1 - lot.weight[..., None]) * c_next[lot.index + 1]
        return (1 + r_next) * marginal_utility(c_at_b_next, σ)  # (n_b, n_y, n_y′)

    expected = jnp.tensordot(weight, jax.vmap(marginal_value)(jnp.asarray(ε, c.dtype)), axes=1)
    c_tilde = inverse_marginal_utility(e.β * jnp.einsum("byk,yk->by", expected, e.Π_y), σ)
    gap = c_tilde / c - 1
    residual = jnp.where(gap < 0, -gap, jnp.minimum(gap, (b_next - b_grid[0]) / c))
    below_cap = b_next < b_grid[-1] - 1e-9 * (b_grid[-1] - b_grid[0])
    return EulerErrors(jnp.log10(residual), below_cap)

