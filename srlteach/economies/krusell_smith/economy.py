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

from srlteach.foundations import budget
from srlteach.foundations.production import marginal_products
from srlteach.foundations.discretisation import ar1_step, asset_grid, check_chain_settings, stationary_markov, tauchen
from srlteach.foundations.validation import economy_settings, increasing_bounds
from srlteach.solvers.equilibrium import Market

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

    def stationary_market(self) -> Market:
        """The capital market without aggregate risk, for `srlteach.solvers.equilibrium`."""
        r_ceiling = 1 / self.β - 1
        return Market(
            wage=lambda r: prices(self, capital_demand(self, r))[1],
            demand=lambda r: capital_demand(self, r),
            r_floor=-self.δ,
            floor_name="-δ (the firm's capital demand is finite only for r > -δ)",
            bracket=(0.5 * (r_ceiling - self.δ), r_ceiling - 1e-6),
        )


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
    # Every setting is a finite number, and grid sizes whole numbers (n_b = 60.0 → 60).
    sizes = {"n_b": ("asset grid size n_b", 2, None), "n_r": ("price grid size n_r", 2, "n_r"),
             "n_w": ("price grid size n_w", 2, "n_w"), "n_y": ("number of states n_y", 1, None)}
    p = economy_settings("Krusell–Smith", scale, overrides, CALIBRATION, SCALES, sizes)
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    if not 0 < p["α"] < 1:
        raise ValueError(f"capital share α must satisfy 0 < α < 1, got α = {p['α']}")
    if not 0 <= p["δ"] <= 1:
        raise ValueError(f"depreciation rate δ must satisfy 0 ≤ δ ≤ 1, got δ = {p['δ']}")
    if not p["b_min"] >= 0:
        raise ValueError(f"households cannot borrow in Krusell–Smith: b_min must be ≥ 0, got b_min = {p['b_min']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(1, p["ρ_z"], p["ν_z"])  # z is simulated continuously: only (ρ_z, ν_z) matter
    increasing_bounds(p, ("r", "w"))
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
    mpk, w = marginal_products(economy.α, K, economy.L, z)
    return mpk - economy.δ, w


def capital_demand(economy: KrusellSmith, r, z=1.0):
    """K(r) = L (α z / (r + δ))^(1/(1-α)): the capital the firm demands at rate r (r > -δ)."""
    α, δ, L = economy.α, economy.δ, economy.L
    return L * (α * z / (r + δ)) ** (1 / (1 - α))


def cash_on_hand(economy: KrusellSmith, r, w):
    """(1 + r) b + w y on the (b, y) grid."""
    return budget.cash_on_hand(economy.b_grid[:, None], 1 + r, w * economy.y_grid)


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
    return ar1_step(log_z, economy.ρ_z, economy.ν_z, ε)


def log_z_path(economy: KrusellSmith, key, T: int, log_z0=0.0):
    """A path (log z_0, …, log z_{T-1}) of the AR(1) from log z_0, innovations drawn from `key`."""

    def period(log_z, ε):
        return next_log_z(economy, log_z, ε), log_z

    _, path = jax.lax.scan(period, jnp.asarray(log_z0, dtype=float), jax.random.normal(key, (T,)))
    return path


