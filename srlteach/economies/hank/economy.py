"""The one-asset HANK economy with a forward-looking Phillips curve: calibration and blocks.

models.md, model 5. Households save in government bonds and supply labour,

    max E Σ β^t [u(c) - n^(1+η)/(1+η)],    c + b′ = (1 + r_t) b + w_t y n + τ_t y / L̄,    b′ ≥ 0,

with the income chain of every model and L̄ = E[y]; τ_t = d_t - T_t (dividends minus taxes)
is paid in proportion to y. Firms produce Y = z L and set prices subject to the Rotemberg
cost (θ/2) Π² Y; in the symmetric equilibrium

    Π_t (1 + Π_t) = (ε/θ)(w_t/z_t - (ε-1)/ε) + E_t[(1 + r_{t+1})^(-1) (Y_{t+1}/Y_t) Π_{t+1}(1 + Π_{t+1})],
    d_t = Y_t - w_t L_t - (θ/2) Π_t² Y_t.

Monetary policy sets 1 + i_{t+1} = R̄ (1 + Π_t)^φ e^(e_t); the ex-post real return is
1 + r_t = (1 + i_t)/(1 + Π_t). The government keeps its debt at B and taxes T_t = r_t B.

Households observe the nominal rate i_{t+1} on the bonds they buy (the bond price
q_t = 1/(1 + i_{t+1}) of the paper's slides) and the wage w; the firm observes (z, i_t, w).
Both policies are tables on the same nominal-rate nodes `i_grid` and wage nodes `w_grid`
(`srl` explains why households observe i_{t+1} rather than the ex-post r_t). z and e are
continuous AR(1)s. This module holds the parameters, the grids and the per-period blocks
(Taylor rule, Fisher equation, dividends, transfers, income, Phillips curve);
`steady_state` solves the economy without aggregate risk.
"""

import dataclasses

import jax
import jax.numpy as jnp

from srlteach.foundations.discretisation import asset_grid, check_chain_settings, stationary_markov, tauchen
from srlteach.foundations.validation import economy_settings, increasing_bounds

_static = dict(metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HANK:
    """A one-asset HANK economy: parameters (static) and grids and chains (arrays)."""

    β: float = dataclasses.field(**_static)  # discount factor
    σ: float = dataclasses.field(**_static)  # CRRA coefficient (1: log utility)
    η: float = dataclasses.field(**_static)  # inverse Frisch elasticity of labour supply
    θ: float = dataclasses.field(**_static)  # Rotemberg price-adjustment cost
    ε: float = dataclasses.field(**_static)  # elasticity of substitution between varieties
    R_bar: float = dataclasses.field(**_static)  # R̄: gross nominal rate of the Taylor rule at Π = 0, e = 0
    φ: float = dataclasses.field(**_static)  # Taylor-rule coefficient on inflation
    B: float = dataclasses.field(**_static)  # government debt (the bonds households hold)
    ρ_z: float = dataclasses.field(**_static)  # persistence of log z (TFP)
    ν_z: float = dataclasses.field(**_static)  # unconditional s.d. of log z
    ρ_e: float = dataclasses.field(**_static)  # persistence of the monetary shock e
    ν_e: float = dataclasses.field(**_static)  # unconditional s.d. of e
    L_bar: float = dataclasses.field(**_static)  # L̄ = E[y] under the stationary income distribution
    b_grid: jax.Array  # (n_b,) bond holdings, 0 … b_max, denser near 0
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels y
    Π_y: jax.Array  # (n_y, n_y) income transitions
    i_grid: jax.Array  # (n_i,) nominal-rate nodes: the households' policy at i_{t+1}, the firm's at i_t
    w_grid: jax.Array  # (n_w,) wage nodes of both policies
    log_z_grid: jax.Array  # (n_z,) log TFP nodes of the firm's policy, ±3 ν_z (z itself is a continuous AR(1))


CALIBRATION = dict(
    β=0.975, σ=1.0, η=1.0, θ=100.0, ε=10.0, R_bar=1.025, φ=1.5, B=5.0,
    n_y=3, ρ_y=0.6, ν_y=0.2, ρ_z=0.9, ν_z=0.07, ρ_e=0.9, ν_e=0.002,
    w_min=0.7, w_max=1.3, i_min=-0.02, i_max=0.06, curvature=2.0,
)
# The price grids are the spec's at both scales; they hold the steady state (r = 2.34%,
# w = 0.899 at book scale, `steady_state`). The i grid is the steady-state nominal rate
# (2.0–2.1%) ± 4 percentage points. b_max = 100 at both scales: the steady-state mass above
# b = 50 is 6e-6 at book scale, but the r grid reaches above 1/β - 1, where households
# accumulate, so the cap stays high.
SCALES = dict(
    paper=dict(n_b=200, b_max=100.0, n_i=30, n_w=30, n_z=50),
    book=dict(n_b=50, b_max=100.0, n_i=9, n_w=9, n_z=7),
)


def create_hank(scale: str = "book", **overrides) -> HANK:
    """The one-asset HANK economy (models.md, model 5) at "book" or "paper" scale.

    overrides : any key of `CALIBRATION` or `SCALES[scale]`. Raises ValueError naming the
    parameter and the bound it breaks when the problem is not well posed. Whether the price
    grids contain the steady state is checked by `check_grids` once it is known.
    """
    sizes = {
        "n_b": ("asset grid size n_b", 2, "n_b"),
        "n_w": ("price grid size n_w", 2, "n_w"),
        "n_i": ("nominal-rate grid size n_i", 2, "n_i"),
        "n_y": ("number of income states n_y", 1, "n_y"),
        "n_z": ("TFP grid size n_z", 2, "n_z"),
    }
    p = economy_settings("HANK", scale, overrides, CALIBRATION, SCALES, sizes)
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    if not p["η"] > 0:
        raise ValueError(f"inverse Frisch elasticity η must be > 0, got η = {p['η']}")
    if not p["θ"] >= 0:
        raise ValueError(f"Rotemberg cost θ must be ≥ 0, got θ = {p['θ']}")
    if not p["ε"] > 1:
        raise ValueError(f"elasticity of substitution ε must be > 1 (a finite markup ε/(ε-1)), got ε = {p['ε']}")
    if not p["R_bar"] > 0:
        raise ValueError(f"gross nominal rate R_bar must be > 0, got R_bar = {p['R_bar']}")
    if not p["φ"] > 1:
        raise ValueError(
            f"Taylor coefficient φ must be > 1 (the Taylor principle; φ ≤ 1 leaves inflation indeterminate), got φ = {p['φ']}"
        )
    if not p["B"] >= 0:
        raise ValueError(f"government debt B must be ≥ 0 (households cannot borrow), got B = {p['B']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(1, p["ρ_z"], p["ν_z"])  # z and e are simulated continuously: only (ρ, ν) matter
    check_chain_settings(1, p["ρ_e"], p["ν_e"])
    increasing_bounds(p, ("w", "i"))
    if not p["i_min"] > -1:
        raise ValueError(f"gross nominal rate 1 + i must be > 0 on the grid: i_min must be > -1, got i_min = {p['i_min']}")
    if not p["w_min"] > 0:
        raise ValueError(f"wages must be > 0 on the grid: w_min must be > 0, got w_min = {p['w_min']}")

    log_y, Π_y = tauchen(p["n_y"], p["ρ_y"], p["ν_y"])
    y_grid = jnp.exp(log_y)
    # ±3 unconditional s.d., and at least ±0.03 so that it is a grid with the shocks switched off
    z_span = 3 * max(p["ν_z"], 0.01)
    return HANK(
        β=float(p["β"]),
        σ=float(p["σ"]),
        η=float(p["η"]),
        θ=float(p["θ"]),
        ε=float(p["ε"]),
        R_bar=float(p["R_bar"]),
        φ=float(p["φ"]),
        B=float(p["B"]),
        ρ_z=float(p["ρ_z"]),
        ν_z=float(p["ν_z"]),
        ρ_e=float(p["ρ_e"]),
        ν_e=float(p["ν_e"]),
        L_bar=float(stationary_markov(Π_y) @ y_grid),
        b_grid=asset_grid(0.0, p["b_max"], p["n_b"], p["curvature"]),
        y_grid=y_grid,
        Π_y=Π_y,
        i_grid=jnp.linspace(p["i_min"], p["i_max"], p["n_i"]),
        w_grid=jnp.linspace(p["w_min"], p["w_max"], p["n_w"]),
        log_z_grid=jnp.linspace(-z_span, z_span, p["n_z"]),
    )


# ---------------------------------------------------------------------------------------
# The per-period blocks
# ---------------------------------------------------------------------------------------


def nominal_rate(economy: HANK, Π, e=0.0):
    """i_{t+1} = R̄ (1 + Π_t)^φ e^(e_t) - 1: the Taylor rule (set at t, paid at t+1)."""
    R_bar, φ = economy.R_bar, economy.φ
    return R_bar * (1 + Π) ** φ * jnp.exp(e) - 1


def real_rate(i, Π):
    """r_t = (1 + i_t)/(1 + Π_t) - 1: the Fisher equation, ex post (i_t was set at t-1)."""
    return (1 + i) / (1 + Π) - 1


def dividends(economy: HANK, Y, w, z, Π):
    """d = Y - w L - (θ/2) Π² Y with L = Y/z: the firms' profits net of price-adjustment costs."""
    θ = economy.θ
    return Y - w * Y / z - θ / 2 * Π**2 * Y


def transfers(economy: HANK, d, r):
    """τ = d - r B: dividends minus the taxes T = r B that service the debt."""
    return d - r * economy.B


def household_income(economy: HANK, w, y, n, τ):
    """w y n + τ y / L̄: labour income plus the household's share of the transfers."""
    return w * y * n + τ * y / economy.L_bar


def phillips_curve_wage(economy: HANK, Π, r):
    """The w at which the Phillips curve holds in a steady state (z = 1, Y′ = Y, Π′ = Π, r′ = r):

        Π (1 + Π) (1 - 1/(1 + r)) = (ε/θ)(w - (ε-1)/ε)
        ⇔  w = (ε-1)/ε + (θ/ε) Π (1 + Π) r/(1 + r).
    """
    θ, ε = economy.θ, economy.ε
    return (ε - 1) / ε + θ / ε * Π * (1 + Π) * r / (1 + r)


def phillips_curve_residual(economy: HANK, Π, w, z, r_p, Y_ratio, Π_p):
    """Π (1 + Π) - (ε/θ)(w/z - (ε-1)/ε) - (1 + r′)^(-1) (Y′/Y) Π′ (1 + Π′) along one continuation.

    r_p, Y_ratio = Y′/Y and Π_p are tomorrow's values on one continuation; the residual is
    linear in the continuation's term, so its average over continuations drawn from the
    same state is the Phillips-curve residual with E_t. Needs θ > 0.
    """
    θ, ε = economy.θ, economy.ε
    return Π * (1 + Π) - ε / θ * (w / z - (ε - 1) / ε) - Y_ratio * Π_p * (1 + Π_p) / (1 + r_p)


def check_grids(economy: HANK, steady):
    """Raise ValueError unless the steady state's w and i lie inside their grids.

    steady : anything with attributes w, i (e.g. `steady_state(economy)`). A price grid
    that does not contain the steady state cannot bracket clearing near it.
    """
    for name, grid, bound in (("w", economy.w_grid, "w"), ("i", economy.i_grid, "i")):
        value, lo, hi = float(getattr(steady, name)), float(grid[0]), float(grid[-1])
        if not value >= lo:
            raise ValueError(
                f"the {name} grid [{lo:.6g}, {hi:.6g}] cannot bracket clearing: the steady-state "
                f"{name} = {value:.6g} lies below it; lower {bound}_min"
            )
        if not value <= hi:
            raise ValueError(
                f"the {name} grid [{lo:.6g}, {hi:.6g}] cannot bracket clearing: the steady-state "
                f"{name} = {value:.6g} lies above it; raise {bound}_max"
            )
