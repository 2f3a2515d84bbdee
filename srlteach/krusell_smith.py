"""The Krusell–Smith economy: capital, closed-form prices and a two-dimensional price vector.

models.md, model 3. Households save in capital, c + b′ = (1 + r_t) b + w_t y, b′ ≥ 0, with
the income chain of every model. A representative firm with technology Y = z K^α L^(1-α)
pays its marginal products,

    r = α z (K/L)^(α-1) - δ,        w = (1-α) z (K/L)^α,

with K_t = Σ_s b g_t(s) and L = Σ_s y g(s) = E[y] (constant: the income chain is
stationary). Households observe p = (r, w); z is redundant for them because (r, w) reveal
(K, z), so a policy lives on the (b, y, r, w) grid and z is simulated as a continuous AR(1).
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.discretisation import asset_grid, check_chain_settings, stationary_markov, tauchen
from srlteach.distributions import AssetLocator, asset_locator, fast_lottery, lottery
from srlteach.household import EulerErrors
from srlteach.lagged_prices import LaggedPrices, LaggedState
from srlteach.spg import BondIncomeDynamics, Prices, SPGConfig, Step, locate_prices, policy
from srlteach.utility import crra_utility, inverse_marginal_utility, marginal_utility

_static = dict(metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KrusellSmith:
    """A Krusell–Smith economy: parameters (static) and grids and chains (arrays)."""

    β: float = dataclasses.field(**_static)  # discount factor
    σ: float = dataclasses.field(**_static)  # CRRA coefficient
    α: float = dataclasses.field(**_static)  # capital share
    δ: float = dataclasses.field(**_static)  # depreciation rate
    ρ_z: float = dataclasses.field(**_static)  # persistence of log z
    ν_z: float = dataclasses.field(**_static)  # unconditional s.d. of log z
    L: float = dataclasses.field(**_static)  # effective labour E[y] under the stationary income distribution
    b_grid: jax.Array  # (n_b,) capital holdings, 0 … b_max, denser near 0
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels y
    Π_y: jax.Array  # (n_y, n_y) income transitions
    r_grid: jax.Array  # (n_r,) interest-rate nodes of the policy
    w_grid: jax.Array  # (n_w,) wage nodes of the policy


CALIBRATION = dict(
    β=0.95, σ=3.0, α=0.36, δ=0.08, b_min=0.0, n_y=3, ρ_y=0.6, ν_y=0.2, ρ_z=0.9, ν_z=0.03,
    r_min=0.02, r_max=0.07, w_min=0.9, w_max=1.5, curvature=2.0,
)
SCALES = dict(
    paper=dict(n_b=200, b_max=100.0, n_r=30, n_w=50),
    # Book scale: b_max = 50 still leaves the stationary distribution's support far below
    # the cap (tests/test_krusell_smith.py checks).
    book=dict(n_b=60, b_max=50.0, n_r=11, n_w=13),
)


def create_krusell_smith(scale: str = "book", **overrides) -> KrusellSmith:
    """The Krusell–Smith economy (models.md, model 3) at "book" or "paper" scale.

    overrides : any key of `CALIBRATION` or `SCALES[scale]`. Raises ValueError naming the
    parameter and the bound it breaks when the problem is not well posed.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    unknown = set(overrides) - set(CALIBRATION) - set(SCALES[scale])
    if unknown:
        raise ValueError(f"unknown Krusell–Smith parameter(s) {sorted(unknown)}; known: {sorted(CALIBRATION) + sorted(SCALES[scale])}")
    p = {**CALIBRATION, **SCALES[scale], **overrides}
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    if not 0 < p["α"] < 1:
        raise ValueError(f"capital share α must satisfy 0 < α < 1, got α = {p['α']}")
    if not 0 <= p["δ"] <= 1:
        raise ValueError(f"depreciation rate δ must satisfy 0 ≤ δ ≤ 1, got δ = {p['δ']}")
    if p["b_min"] < 0:
        raise ValueError(f"households cannot borrow in Krusell–Smith: b_min must be ≥ 0, got b_min = {p['b_min']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(1, p["ρ_z"], p["ν_z"])  # z is simulated continuously: only (ρ_z, ν_z) matter
    for name in ("r", "w"):
        n, lo, hi = p[f"n_{name}"], p[f"{name}_min"], p[f"{name}_max"]
        if int(n) != n or n < 2:
            raise ValueError(f"price grid size n_{name} must be an integer ≥ 2, got n_{name} = {n}")
        if not lo < hi:
            raise ValueError(f"the {name} grid needs {name}_min < {name}_max, got {lo} ≥ {hi}")
    if not p["r_min"] > -1:
        raise ValueError(f"gross return 1 + r must be > 0 on the grid: r_min must be > -1, got r_min = {p['r_min']}")
    if not p["w_min"] > 0:
        raise ValueError(f"wages must be > 0 on the grid: w_min must be > 0, got w_min = {p['w_min']}")

    log_y, Π_y = tauchen(p["n_y"], p["ρ_y"], p["ν_y"])
    y_grid = jnp.exp(log_y)
    return KrusellSmith(
        β=float(p["β"]),
        σ=float(p["σ"]),
        α=float(p["α"]),
        δ=float(p["δ"]),
        ρ_z=float(p["ρ_z"]),
        ν_z=float(p["ν_z"]),
        L=float(stationary_markov(Π_y) @ y_grid),
        b_grid=asset_grid(p["b_min"], p["b_max"], p["n_b"], p["curvature"]),
        y_grid=y_grid,
        Π_y=Π_y,
        r_grid=jnp.linspace(p["r_min"], p["r_max"], p["n_r"]),
        w_grid=jnp.linspace(p["w_min"], p["w_max"], p["n_w"]),
    )


def prices(economy: KrusellSmith, K, z=1.0):
    """(r, w) = (α z (K/L)^(α-1) - δ, (1-α) z (K/L)^α): the firm's marginal products."""
    α, δ, L = economy.α, economy.δ, economy.L
    r = α * z * (K / L) ** (α - 1) - δ
    w = (1 - α) * z * (K / L) ** α
    return r, w


def capital_demand(economy: KrusellSmith, r, z=1.0):
    """K(r) = L (α z / (r + δ))^(1/(1-α)): the capital the firm demands at rate r (r > -δ)."""
    α, δ, L = economy.α, economy.δ, economy.L
    return L * (α * z / (r + δ)) ** (1 / (1 - α))


def cash_on_hand(economy: KrusellSmith, r, w):
    """(1 + r) b + w y on the (b, y) grid."""
    return (1 + r) * economy.b_grid[:, None] + w * economy.y_grid


# ---------------------------------------------------------------------------------------
# The aggregate shock: log z is simulated as a continuous AR(1)
# ---------------------------------------------------------------------------------------


class AggregatePath(NamedTuple):
    """A simulated path of the aggregates, one entry per period t = 0, …, T-1."""

    log_z: jax.Array  # log z_t
    K: jax.Array  # K_t = Σ b g_t
    C: jax.Array  # C_t = Σ c g_t
    r: jax.Array  # r_t = α z_t (K_t/L)^(α-1) - δ
    w: jax.Array  # w_t = (1-α) z_t (K_t/L)^α


def next_log_z(economy: KrusellSmith, log_z, ε):
    """log z′ = ρ_z log z + ν_z sqrt(1-ρ_z²) ε: ν_z is the unconditional s.d. of log z."""
    ρ, ν = economy.ρ_z, economy.ν_z
    return ρ * log_z + ν * jnp.sqrt(1 - ρ**2) * ε


def log_z_path(economy: KrusellSmith, key, T: int, log_z0=0.0):
    """A path (log z_0, …, log z_{T-1}) of the AR(1) from log z_0, innovations drawn from `key`."""

    def period(log_z, ε):
        return next_log_z(economy, log_z, ε), log_z

    _, path = jax.lax.scan(period, jnp.asarray(log_z0, dtype=float), jax.random.normal(key, (T,)))
    return path


# ---------------------------------------------------------------------------------------
# Structural policy gradient: Krusell–Smith as an `srlteach.spg` economy
# ---------------------------------------------------------------------------------------


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
    """Krusell–Smith plugged into the SPG engine (the `srlteach.spg.SPGEconomy` protocol).

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
    (`srlteach.equilibrium.stationary_equilibrium`).
    """
    if g0 is None:
        from srlteach.equilibrium import stationary_equilibrium  # a local import: equilibrium imports this module

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
    model : a `KrusellSmithSPG`, or one wrapped by `srlteach.lagged_prices.lagged_prices`
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

