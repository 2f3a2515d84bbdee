"""The portfolio-choice economy: a safe bond and risky capital (models.md, model 4).

Households hold bonds b and capital k, with the income chain of every model:

    c + q_t b′ + k′ = b + R_t k + w_t y,    b′ ≥ -1,  k′ ≥ 0,

a bond bought at t for q_t pays 1 at t+1 (safe), capital bought at t earns
R_{t+1} = α z_{t+1} K_{t+1}^(α-1) L^(1-α) + 1 - δ (risky when bought). The firm pays its marginal
products, so (R_t, w_t) are closed forms of (K_t, z_t) with K_t = Σ k g_t, as in Krusell–Smith;
bonds are in zero net supply and q_t has no closed form: it clears Σ b′ g_t = 0 each period.

Start-of-period wealth x = b + R k is, with y, a sufficient individual state: the household's
budget is c + q b′ + k′ = x + w y and next period's wealth is x′ = b′ + R′ k′. The individual
grid is over (x, y), x from the borrowing limit -1 upwards (x′ ≥ -1 whatever R′ > 0, since
b′ ≥ -1 and k′ ≥ 0).

**Without aggregate risk** bonds and capital are perfect substitutes, 1/q = R, portfolios are
indeterminate and wealth is determinate: the economy is a Krusell–Smith economy whose
households may borrow up to one unit of next period's wealth (x′ ≥ -1). `stationary_reference`
computes its stationary equilibrium with the library's reference solver.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from srlteach.foundations.production import marginal_products
from srlteach.foundations.discretisation import ar1_step, asset_grid, check_chain_settings, stationary_markov, tauchen
from srlteach.foundations.validation import economy_settings, increasing_bounds
from srlteach.solvers.equilibrium import Market, stationary_equilibrium

_static = dict(metadata=dict(static=True))

# A bound on the gross returns 1/q and R′ of one period. Savings are capped so that next
# period's wealth stays on the grid when both returns are below it (`srl.portfolio_choice`);
# the factory checks that the price grids lie below it.
RETURN_BOUND = 1.2


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Portfolio:
    """A portfolio-choice economy: parameters (static) and grids and chains (arrays)."""

    β: float = dataclasses.field(**_static)  # discount factor
    σ: float = dataclasses.field(**_static)  # CRRA coefficient
    α: float = dataclasses.field(**_static)  # capital share
    δ: float = dataclasses.field(**_static)  # depreciation rate
    ρ_z: float = dataclasses.field(**_static)  # persistence of log z
    ν_z: float = dataclasses.field(**_static)  # unconditional s.d. of log z
    L: float = dataclasses.field(**_static)  # effective labour E[y] under the stationary income distribution
    x_grid: jax.Array  # (n_x,) start-of-period wealth x = b + R k, -1 … x_max, denser near -1
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels y
    Π_y: jax.Array  # (n_y, n_y) income transitions
    q_grid: jax.Array  # (n_q,) bond-price nodes of the policy
    R_grid: jax.Array  # (n_R,) nodes of the gross return on capital
    w_grid: jax.Array  # (n_w,) wage nodes of the policy


CALIBRATION = dict(
    β=0.95, σ=3.0, α=0.36, δ=0.08, n_y=3, ρ_y=0.6, ν_y=0.2, ρ_z=0.9, ν_z=0.03,
    R_min=1.02, R_max=1.07, w_min=0.9, w_max=1.5, q_min=0.935, q_max=0.985, curvature=2.0,
)
SCALES = dict(
    # models.md: as model 3 for (x, y) and (R, w), 20 q nodes
    paper=dict(n_x=200, x_max=100.0, n_q=20, n_R=30, n_w=50),
    # Book scale: the (R, w) grid of the book's Krusell–Smith, 7 q nodes (chapter: the
    # clearing price never leaves [q_min, q_max] and is read between nodes 0.0083 apart)
    book=dict(n_x=60, x_max=50.0, n_q=7, n_R=11, n_w=13),
)


def create_portfolio(scale: str = "book", **overrides) -> Portfolio:
    """The portfolio-choice economy (models.md, model 4) at "book" or "paper" scale.

    The calibration of model 3 (β, σ, α, δ, the z and y processes); R = 1 + r on the
    Krusell–Smith r grid, the Krusell–Smith w grid, and q on [q_min, q_max] around
    1/(1 + r*) of the stationary equilibrium (about 0.958).

    overrides : any key of `CALIBRATION` or `SCALES[scale]`. Raises ValueError naming the
    parameter and the bound it breaks when the problem is not well posed, including a q grid
    that cannot bracket the bond market's clearing price (q_max ≤ β: the stationary price
    1/(1 + r*) exceeds β because r* < 1/β - 1).
    """
    sizes = {"n_x": ("wealth grid size n_x", 2, "n_x"), "n_q": ("price grid size n_q", 2, "n_q"),
             "n_R": ("price grid size n_R", 2, "n_R"), "n_w": ("price grid size n_w", 2, "n_w"),
             "n_y": ("number of states n_y", 1, None)}
    p = economy_settings("portfolio", scale, overrides, CALIBRATION, SCALES, sizes)
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    if not 0 < p["α"] < 1:
        raise ValueError(f"capital share α must satisfy 0 < α < 1, got α = {p['α']}")
    if not 0 <= p["δ"] <= 1:
        raise ValueError(f"depreciation rate δ must satisfy 0 ≤ δ ≤ 1, got δ = {p['δ']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(1, p["ρ_z"], p["ν_z"])  # z is simulated continuously: only (ρ_z, ν_z) matter
    if not p["x_max"] > 0:
        raise ValueError(f"the top of the wealth grid x_max must be > 0, got x_max = {p['x_max']}")
    increasing_bounds(p, ("q", "R", "w"))
    if not p["w_min"] > 0:
        raise ValueError(f"wages must be > 0 on the grid: w_min must be > 0, got w_min = {p['w_min']}")
    if not p["R_min"] > 0:
        raise ValueError(f"the gross return on capital must be > 0: R_min must be > 0, got R_min = {p['R_min']}")
    if not p["R_max"] <= RETURN_BOUND:
        raise ValueError(f"R_max must be ≤ {RETURN_BOUND} (the return bound of the savings cap), got R_max = {p['R_max']}")
    if not p["q_min"] >= 1 / RETURN_BOUND:
        raise ValueError(
            f"q_min must be ≥ 1/{RETURN_BOUND} = {1 / RETURN_BOUND:.4g} (the return bound of the savings cap), got q_min = {p['q_min']}"
        )
    if not p["q_max"] > p["β"]:
        raise ValueError(
            f"the q grid cannot bracket bond-market clearing: q_max must be > β = {p['β']} (at 1/q ≥ 1/β households "
            f"save without bound), got q_max = {p['q_max']}"
        )

    log_y, Π_y = tauchen(p["n_y"], p["ρ_y"], p["ν_y"])
    y_grid = jnp.exp(log_y)
    # The poorest household (x = -1, lowest income, lowest wage on the grid) must afford positive
    # consumption while repaying its debt: c = -1 + w y + q (1 - s) > 0 needs w y + q > 1.
    if not p["w_min"] * float(y_grid[0]) + p["q_min"] > 1:
        raise ValueError(
            f"the borrowing limit b′ ≥ -1 is not feasible on the price grids: w_min y_min + q_min must be > 1, got "
            f"w_min = {p['w_min']}, y_min = {float(y_grid[0]):.4g}, q_min = {p['q_min']}"
        )
    return Portfolio(
        β=float(p["β"]),
        σ=float(p["σ"]),
        α=float(p["α"]),
        δ=float(p["δ"]),
        ρ_z=float(p["ρ_z"]),
        ν_z=float(p["ν_z"]),
        L=float(stationary_markov(Π_y) @ y_grid),
        x_grid=asset_grid(-1.0, p["x_max"], p["n_x"], p["curvature"]),
        y_grid=y_grid,
        Π_y=Π_y,
        q_grid=jnp.linspace(p["q_min"], p["q_max"], p["n_q"]),
        R_grid=jnp.linspace(p["R_min"], p["R_max"], p["n_R"]),
        w_grid=jnp.linspace(p["w_min"], p["w_max"], p["n_w"]),
    )


def prices(economy: Portfolio, K, z=1.0):
    """(R, w) = (α z (K/L)^(α-1) + 1 - δ, (1-α) z (K/L)^α): the firm's marginal products."""
    mpk, w = marginal_products(economy.α, K, economy.L, z)
    return mpk + 1 - economy.δ, w


def capital_from_wealth(economy: Portfolio, X, z=1.0, iterations: int = 30):
    """K with R(K, z) K = X: the capital stock whose gross return is the wealth X (bonds net to zero).

    R(K, z) K = α z K^α L^(1-α) + (1-δ) K is increasing and concave in K, so Newton's method
    from K = X/(1-δ+α), above the root, converges monotonically.
    """
    α, δ, L = economy.α, economy.δ, economy.L

    def newton(K, _):
        f = α * z * K**α * L ** (1 - α) + (1 - δ) * K - X
        slope = α**2 * z * K ** (α - 1) * L ** (1 - α) + 1 - δ
        return K - f / slope, None

    K, _ = jax.lax.scan(newton, X / (1 - δ + α), None, length=iterations)
    return K


def next_log_z(economy: Portfolio, log_z, ε):
    """log z′ = ρ_z log z + ν_z sqrt(1-ρ_z²) ε: ν_z is the unconditional s.d. of log z."""
    return ar1_step(log_z, economy.ρ_z, economy.ν_z, ε)


# ---------------------------------------------------------------------------------------
# The reference without aggregate risk
# ---------------------------------------------------------------------------------------


class StationaryPortfolio(NamedTuple):
    """The household problem without aggregate risk, in the form of `stationary_equilibrium`.

    With 1/q = R = 1 + r the budget c + x′/R = x + w y, x′ ≥ -1, times R reads
    c̃ + x′ = R x + R w y with c̃ = R c; u(c̃/R) = R^(σ-1) u(c̃) ranks plans as u(c̃) does, so the
    household's policy x′(x, y) is that of a one-asset household with grid x, return R and
    income R w y. Its aggregate demand Σ x′ g equals R K (bonds net to zero).
    """

    β: float
    σ: float
    b_grid: jax.Array  # the wealth grid x
    y_grid: jax.Array
    Π_y: jax.Array
    economy: Portfolio

    def stationary_market(self) -> Market:
        e = self.economy
        r_ceiling = 1 / self.β - 1

        def capital(r):
            return e.L * (e.α / (r + e.δ)) ** (1 / (1 - e.α))

        return Market(
            wage=lambda r: (1 + r) * prices(e, capital(r))[1],
            demand=lambda r: (1 + r) * capital(r),
            r_floor=-e.δ,
            floor_name="-δ (the firm's capital demand is finite only for r > -δ)",
            bracket=(0.5 * (r_ceiling - e.δ), r_ceiling - 1e-6),
        )


class Reference(NamedTuple):
    """The stationary equilibrium without aggregate risk, in the portfolio economy's units."""

    r: float  # r* = R - 1 = 1/q - 1
    q: float  # 1/(1 + r*)
    K: float  # K*
    w: float  # w*
    C: float  # C*
    x_next: jax.Array  # (n_x, n_y) wealth policy x′(x, y)
    c: jax.Array  # (n_x, n_y) consumption c(x, y)
    g: jax.Array  # (n_x, n_y) stationary distribution over (x, y)


def stationary_reference(economy: Portfolio, tol: float = 1e-10, method: str = "egm") -> Reference:
    """The stationary equilibrium of the economy without aggregate risk (z ≡ 1), by bracketing
    the rate (`srlteach.solvers.equilibrium.stationary_equilibrium`, see `StationaryPortfolio`).

    method : "egm" (default), or "vfi": the household problem on the wealth grid with
    continuation values linear between nodes, the discretised problem SPG solves.
    """
    e = economy
    problem = StationaryPortfolio(e.β, e.σ, e.x_grid, e.y_grid, e.Π_y, e)
    eq = stationary_equilibrium(problem, tol=tol, method=method)
    R = 1 + eq.r
    return Reference(
        r=eq.r, q=1 / R, K=eq.K / R, w=eq.w / R, C=eq.C / R,
        x_next=eq.policy.b_next, c=eq.policy.c / R, g=eq.g,
    )
