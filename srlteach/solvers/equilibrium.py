"""Stationary equilibria without aggregate risk (z = 1), by bracketing the interest rate.

At a candidate rate r the household problem is solved (by EGM, or by VFI as an independent
check), its stationary distribution g = A_πᵀ g is computed, and the market-clearing
residual is evaluated:

- Huggett (bonds in zero net supply): excess bond demand  Σ_s b′(s) g(s);
- Krusell–Smith (capital): household capital supply minus firm demand,
  Σ_s b′(s) g(s) - K(r) with K(r) = L (α/(r + δ))^(1/(1-α)) and the wage w(r) that goes
  with it.

The residual rises with r (households save more when saving pays more, and firms demand
less capital), so one bracketing routine, `bracket_root`, finds its zero for both economies. The
bracket must lie below 1/β - 1: at β(1 + r) ≥ 1 households would accumulate without bound,
and no stationary distribution exists without an arbitrary cap on savings.
"""

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from srlteach.foundations.distributions import lottery, stationary_distribution
from srlteach.foundations.validation import check_finite_array, finite
from srlteach.solvers.household import (
    HouseholdPolicy,
    check_household_inputs,
    check_tolerance,
    consume_above_limit,
    egm,
    egm_fixed_point,
    vfi,
)



class StationaryEquilibrium(NamedTuple):
    """Prices, policies, distribution and aggregates of a stationary equilibrium."""

    r: float  # interest rate
    w: float  # wage (1 in Huggett, where income is y z with z = 1)
    K: float  # Σ b g: aggregate bonds (Huggett: 0 in equilibrium) or capital (Krusell–Smith)
    L: float  # Σ y g: effective labour
    C: float  # Σ c g: aggregate consumption
    residual: float  # market-clearing residual at r (excess demand; see the module docstring)
    policy: HouseholdPolicy  # c(b, y), b′(b, y), each (n_b, n_y)
    g: jax.Array  # (n_b, n_y) stationary distribution, sums to one
    evaluations: int  # household problems solved to find r


class Root(NamedTuple):
    """The result of `bracket_root`: the root, the evaluation there, the evaluations used."""

    x: float
    value: tuple  # what f returned at x; its first element is the residual
    evaluations: int


def bracket_root(f: Callable, lo: float, hi: float, tol: float = 1e-10, max_iter: int = 200) -> Root:
    """Zero of an increasing residual on the bracket [lo, hi] by the Illinois method.

    Regula falsi (the zero of the secant through the bracket's ends) keeps the root
    bracketed like bisection but converges superlinearly; the Illinois modification halves
    the residual at an end that has been kept twice in a row, so neither end gets stuck.
    f(x) returns a tuple whose first element is the residual (the rest, e.g. the policy,
    is passed through so the last evaluation is not repeated). Stops when two successive
    candidates are closer than tol. Raises ValueError if f(lo) < 0 < f(hi) fails.
    """
    (f_lo, *_), (f_hi, *_) = f(lo), f(hi)
    for x, f_x in ((lo, f_lo), (hi, f_hi)):
        if not math.isfinite(f_x):
            raise ValueError(f"the excess demand is not finite at r = {x:.6g} (got {f_x}): check the economy's parameters")
    if not f_lo < 0 < f_hi:
        raise ValueError(
            f"the excess demand must be < 0 at the bracket's low end and > 0 at its high end; "
            f"got {f_lo:.6g} at r = {lo:.6g} and {f_hi:.6g} at r = {hi:.6g}"
        )
    x, kept = hi, None
    for evaluations in range(3, max_iter + 3):
        x_prev, x = x, (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        value = f(x)
        if value[0] > 0:
            hi, f_hi = x, value[0]
            f_lo = f_lo / 2 if kept == "lo" else f_lo
            kept = "lo"
        else:
            lo, f_lo = x, value[0]
            f_hi = f_hi / 2 if kept == "hi" else f_hi
            kept = "hi"
        if abs(x - x_prev) < tol or value[0] == 0:
            return Root(x, value, evaluations)
    raise RuntimeError(f"bracket_root did not converge in {max_iter} steps (bracket [{lo}, {hi}])")


def stationary_household(b_grid, y_grid, Π_y, β, σ, r, w=1.0, method="egm", c_init=None):
    """The household's policy at constant prices (r, w) and its stationary distribution.

    Income is w y with y following Π_y. method : "egm" (default) or "vfi" (the independent
    check). c_init warm-starts EGM (ignored by VFI). Returns (policy, g).
    """
    R = jnp.full(y_grid.shape, 1 + r)
    income = w * y_grid
    if method == "egm":
        policy = egm(b_grid, R, income, Π_y, β, σ, c_init=c_init)
    elif method == "vfi":
        policy = vfi(b_grid, R, income, Π_y, β, σ).policy
    else:
        raise ValueError(f"method must be 'egm' or 'vfi', got {method!r}")
    return policy, stationary_distribution(lottery(b_grid, policy.b_next), Π_y)


def check_rates(r_lo: float, r_hi: float, β: float, r_floor: float, floor_name: str):
    """Raise ValueError unless r_floor < r_lo ≤ r_hi < 1/β - 1 (a stationary distribution exists)."""
    if not r_hi < 1 / β - 1:
        raise ValueError(
            f"β(1+r) must be < 1 in a stationary equilibrium: r = {r_hi} must be < 1/β - 1 = {1 / β - 1:.6g}"
        )
    if not r_lo > r_floor:
        raise ValueError(f"r = {r_lo} must be > {floor_name} = {r_floor:.6g}")


class Market(NamedTuple):
    """How an economy's asset market closes at a stationary rate r (z = 1)."""

    wage: Callable  # w(r)
    demand: Callable  # D(r): net asset supply to households (0 bonds; the firm's capital K(r))
    r_floor: float  # rates must exceed this ...
    floor_name: str  # ... for this reason
    bracket: tuple  # default (r_lo, r_hi) for the root search


def market(economy) -> Market:
    """The stationary asset market of an economy: what its `stationary_market()` describes."""
    if not hasattr(economy, "stationary_market"):
        raise ValueError(f"economy must describe its stationary market (a Huggett or KrusellSmith economy), got {type(economy).__name__}")
    return economy.stationary_market()


def stationary_equilibrium(economy, r_bracket=None, tol: float = 1e-10, method: str = "egm") -> StationaryEquilibrium:
    """The stationary equilibrium (z = 1) of an economy with one asset market (Huggett, Krusell–Smith).

    `bracket_root` on r over `r_bracket` (default: from well below the answer to just below
    1/β - 1) until successive candidates are closer than `tol`. method : "egm" or "vfi"
    solves the household problem at each candidate r (VFI is the independent check).
    Raises ValueError if the bracket reaches 1/β - 1 or does not contain a sign change.
    """
    wage, demand, r_floor, floor_name, default = market(economy)
    β, σ, b_grid, y_grid, Π_y = economy.β, economy.σ, economy.b_grid, economy.y_grid, economy.Π_y
    r_lo, r_hi = default if r_bracket is None else (finite(r, "r_bracket") for r in r_bracket)
    check_tolerance(tol)
    if not r_lo < r_hi:
        raise ValueError(f"the r bracket needs r_lo < r_hi, got ({r_lo}, {r_hi})")
    check_rates(r_lo, r_hi, β, r_floor, floor_name)

    warm = {}  # EGM's last consumption policy, a good first guess at the next candidate r

    def excess_demand(r):
        policy, g = stationary_household(b_grid, y_grid, Π_y, β, σ, r, wage(r), method, warm.get("c"))
        warm["c"] = policy.c
        return float(jnp.sum(policy.b_next * g) - demand(r)), policy, g

    r, (residual, policy, g), evaluations = bracket_root(excess_demand, r_lo, r_hi, tol=tol)
    return StationaryEquilibrium(
        r=r,
        w=float(wage(r)),
        K=float(jnp.sum(b_grid[:, None] * g)),
        L=float(jnp.sum(y_grid * g)),
        C=float(jnp.sum(policy.c * g)),
        residual=residual,
        policy=policy,
        g=g,
        evaluations=evaluations,
    )


# ---------------------------------------------------------------------------------------
# The aggregate savings curve
# ---------------------------------------------------------------------------------------


@jax.jit
def _savings_curve(b_grid, y_grid, Π_y, β, σ, r_nodes, w_nodes, tol, max_iter=10_000):
    def at_rate(r, w):
        R, income = jnp.full(y_grid.shape, 1 + r), w * y_grid
        c_init = consume_above_limit(b_grid, R, income).c
        policy, distance, _ = egm_fixed_point(c_init, b_grid, R, income, Π_y, β, σ, tol, max_iter)
        g = stationary_distribution(lottery(b_grid, policy.b_next), Π_y)
        return jnp.sum(policy.b_next * g), distance

    return jax.vmap(at_rate)(r_nodes, w_nodes)


def aggregate_savings(economy, r_nodes, tol: float = 1e-10):
    """S(r) = Σ_s b′(s; r) g_r(s) at each rate in r_nodes: households' stationary asset demand.

    At every r the household problem is solved by EGM (z = 1, wage w(r): 1 in Huggett,
    the firm's marginal product in Krusell–Smith) and g_r is its stationary distribution.
    In Huggett, S(r) is the aggregate bond demand whose zero is r*; in Krusell–Smith, r*
    solves S(r) = K(r). All rates are solved side by side in one compiled call (vmap).
    Every rate must lie below 1/β - 1.
    """
    wage, _, r_floor, floor_name, _ = market(economy)
    β, σ, b_grid, y_grid, Π_y = economy.β, economy.σ, economy.b_grid, economy.y_grid, economy.Π_y
    r_nodes = jnp.asarray(r_nodes, dtype=float)
    check_finite_array(r_nodes, "r_nodes")
    check_tolerance(tol)
    r_lo, r_hi = float(r_nodes.min()), float(r_nodes.max())
    check_rates(r_lo, r_hi, β, r_floor, floor_name)
    w_nodes = wage(r_nodes)
    for r in (r_lo, r_hi):  # the natural borrowing limit is monotone in r: check both ends
        check_household_inputs(b_grid, jnp.full(y_grid.shape, 1 + r), wage(r) * y_grid, Π_y, β, σ)
    S, distance = _savings_curve(b_grid, y_grid, Π_y, β, σ, r_nodes, w_nodes, tol)
    if not bool((distance < tol).all()):
        raise RuntimeError(f"EGM did not converge at r = {r_nodes[distance >= tol]}")
    return S
