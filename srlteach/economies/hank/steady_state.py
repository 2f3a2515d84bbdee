"""The HANK steady state without aggregate risk (z = 1, e = 0), independently of SPG.

In a steady state the Taylor rule and the Fisher equation tie the real rate to inflation,

    1 + i = R̄ (1 + Π)^φ,        1 + r = (1 + i)/(1 + Π) = R̄ (1 + Π)^(φ-1),

and the Phillips curve with Π′ = Π, Y′ = Y, r′ = r gives the wage (`phillips_curve_wage`).
Given Π, hence (r, w), the households solve

    max E Σ β^t [u(c) - n^(1+η)/(1+η)],   c + b′ = (1 + r) b + w y n + τ y / L̄,   b′ ≥ 0,

and with labour L = Σ y n g, output Y = L, dividends d = Y (1 - w - (θ/2) Π²), taxes T = r B
and transfers τ = d - T. τ depends on L, which depends on τ: a fixed point, solved by
iteration (a contraction: one more unit of τ changes d by a few hundredths of a unit),
accelerated by a secant estimate of its slope. Π is then
found by bracketing (`bracket_root`) so that the bond market clears, Σ b′ g = B: a higher Π
means a higher r (φ > 1), so households save more and the residual rises with Π.

Two household solvers, independent of each other except for the static choice of (c, n)
given b′ (`consumption_and_labour`, tested against both equations on its own):

- `method="egm"`: the endogenous grid method with endogenous labour. The Euler equation gives
  c̃ at every b′ node, the intratemporal condition n^η = w y u′(c) gives ñ, and the budget the
  endogenous grid b̃. Where the borrowing limit binds (b′ = 0) c and n are solved jointly
  (`consumption_and_labour`).
- `method="vfi"`: value function iteration, golden-section search over b′ at every (b, y),
  with (c, n) given b′ from the intratemporal condition (the exact static optimum), and
  Howard policy-evaluation steps.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from srlteach.economies.hank.economy import HANK, dividends, nominal_rate, phillips_curve_wage, real_rate, transfers
from srlteach.foundations.distributions import expectation, lottery, stationary_distribution
from srlteach.foundations.utility import crra_utility, euler_consumption, marginal_utility
from srlteach.foundations.validation import finite
from srlteach.solvers.equilibrium import bracket_root
from srlteach.solvers.household import check_iteration, golden_section_max, iterate_values, value_of_rewards


class SteadyState(NamedTuple):
    """Prices, aggregates, household policies and distribution of the HANK steady state."""

    Π: float  # inflation
    r: float  # real rate, 1 + r = R̄ (1 + Π)^(φ-1)
    i: float  # nominal rate, 1 + i = R̄ (1 + Π)^φ
    w: float  # wage on the steady-state Phillips curve
    L: float  # labour Σ y n g
    Y: float  # output Y = L (z = 1)
    C: float  # consumption Σ c g
    d: float  # dividends Y - w L - (θ/2) Π² Y
    τ: float  # transfers d - r B
    residual: float  # bond-market residual Σ b′ g - B
    c: jax.Array  # (n_b, n_y) consumption c(b, y)
    n: jax.Array  # (n_b, n_y) hours n(b, y)
    b_next: jax.Array  # (n_b, n_y) savings b′(b, y)
    g: jax.Array  # (n_b, n_y) stationary distribution, sums to one
    evaluations: int  # household problems solved to find Π (all τ iterations counted)


# ---------------------------------------------------------------------------------------
# The household's static choice: labour from the intratemporal condition
# ---------------------------------------------------------------------------------------


def labour_supply(c, wy, σ, η):
    """n = (w y u′(c))^(1/η) = (w y c^(-σ))^(1/η): the intratemporal condition n^η = w y u′(c)."""
    return (wy * c ** (-σ)) ** (1 / η)


def consumption_and_labour(a, wy, σ, η, n_newton: int = 40):
    """(c, n) solving c = a + w y n and n^η = w y c^(-σ) jointly, for any a (arrays broadcast).

    a = (1 + r) b + τ y / L̄ - b′ is what the household has for consumption before it works.
    Substituting n gives f(c) = c - a - k c^(-s) = 0 with k = (w y)^(1 + 1/η), s = σ/η.

    - s = 1 (σ = η, the calibration): c² - a c - k = 0, so c = (a + sqrt(a² + 4k))/2, written
      as 2k/(sqrt(a² + 4k) - a) for a < 0 to avoid cancellation.
    - otherwise f is increasing and concave, so Newton's method from a point where f ≤ 0
      rises monotonically to the unique root. That point is
      c_L = max(a, (k/(k^(1/(1+s)) + max(-a, 0)))^(1/s)) (the root exceeds a, and
      k c^(-s) = c - a ≤ k^(1/(1+s)) + max(-a, 0) at the root). σ and η must be Python
      numbers: the branch is chosen at trace time.
    """
    s = σ / η
    k = wy ** (1 + 1 / η)
    if s == 1:
        root = jnp.sqrt(a**2 + 4 * k)
        c = jnp.where(a >= 0, (a + root) / 2, 2 * k / (root - a))
    else:
        c_L = jnp.maximum(a, (k / (k ** (1 / (1 + s)) + jnp.maximum(-a, 0.0))) ** (1 / s))

        def newton(_, c):
            f = c - a - k * c ** (-s)
            return c - f / (1 + s * k * c ** (-s - 1))

        c = jax.lax.fori_loop(0, n_newton, newton, c_L)
    return c, labour_supply(c, wy, σ, η)


def period_utility(c, n, σ, η):
    """u(c) - n^(1+η)/(1+η)."""
    return crra_utility(c, σ) - n ** (1 + η) / (1 + η)


def _resources(economy: HANK, r, τ):
    """(1 + r) b + τ y / L̄ on the (b, y) grid: what a household has before it works and saves."""
    return (1 + r) * economy.b_grid[:, None] + τ * economy.y_grid / economy.L_bar


# ---------------------------------------------------------------------------------------
# Endogenous grid method with endogenous labour
# ---------------------------------------------------------------------------------------


def egm_step(c_next, economy: HANK, r, w, τ):
    """One application of the Coleman operator with endogenous labour.

    For every node b′_i and income y:

        c̃ = (u′)⁻¹(β (1 + r) E[u′(c_next(b′_i, y′)) | y]),   ñ = (w y u′(c̃))^(1/η),
        b̃ = (c̃ + b′_i - w y ñ - τ y / L̄)/(1 + r)              (the endogenous grid);

    b′(b, y) is the linear interpolant of b′_i against b̃ (held at 0 below b̃_1, where the
    borrowing limit binds, and at b_max above b̃_{n_b}), and (c, n) at b′ solve the budget
    and the intratemporal condition jointly. Returns (c, n, b′), each (n_b, n_y).
    """
    β, σ, η, L_bar = economy.β, economy.σ, economy.η, economy.L_bar
    b_grid, y_grid, Π_y = economy.b_grid, economy.y_grid, economy.Π_y
    c_tilde = euler_consumption((1 + r) * marginal_utility(c_next, σ) @ Π_y.T, β, σ)
    n_tilde = labour_supply(c_tilde, w * y_grid, σ, η)
    b_tilde = (c_tilde + b_grid[:, None] - w * y_grid * n_tilde - τ * y_grid / L_bar) / (1 + r)
    b_next = jax.vmap(jnp.interp, in_axes=(None, 1, None), out_axes=1)(b_grid, b_tilde, b_grid)
    c, n = consumption_and_labour(_resources(economy, r, τ) - b_next, w * y_grid, σ, η)
    return c, n, b_next


@jax.jit
def egm_iteration(economy: HANK, r, w, τ, c_init, tol, max_iter):
    """EGM iterated from c_init until the sup change of c is below tol (jitted; vmaps over (r, w, τ)):
    returns (c, n, b′, the last sup change, iterations). `household_egm` checks convergence."""
    def not_converged(state):
        *_, distance, it = state
        return (distance >= tol) & (it < max_iter)

    def step(state):
        c, *_, it = state
        c_new, n, b_next = egm_step(c, economy, r, w, τ)
        return c_new, n, b_next, jnp.max(jnp.abs(c_new - c)), it + 1

    return jax.lax.while_loop(not_converged, step, (c_init, c_init, c_init, jnp.inf, 0))


def household_egm(economy: HANK, r, w, τ, tol: float = 1e-11, max_iter: int = 20_000, c_init=None):
    """The household's policies (c, n, b′) at constant (r, w, τ) by EGM (RuntimeError if not converged)."""
    max_iter = check_iteration(tol, max_iter)
    if c_init is None:  # consume what is there at b′ = 0
        c_init = consumption_and_labour(_resources(economy, r, τ), w * economy.y_grid, economy.σ, economy.η)[0]
    c, n, b_next, distance, it = egm_iteration(economy, r, w, τ, c_init, tol, max_iter)
    if not distance < tol:
        raise RuntimeError(f"HANK EGM did not converge in {int(it)} iterations (sup change {float(distance):.3g} ≥ tol = {tol})")
    return c, n, b_next


# ---------------------------------------------------------------------------------------
# Value function iteration with endogenous labour
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("n_golden", "n_howard"))
def _vfi(economy: HANK, r, w, τ, tol, max_iter, n_golden, n_howard):
    β, σ, η = economy.β, economy.σ, economy.η
    b_grid, y_grid, Π_y = economy.b_grid, economy.y_grid, economy.Π_y
    resources, wy = _resources(economy, r, τ), w * y_grid

    def reward(b_next):
        c, n = consumption_and_labour(resources - b_next, wy, σ, η)
        return period_utility(c, n, σ, η)

    def improve(v):
        Ev = v @ Π_y.T  # Ev(b′, y) = E[v(b′, y′) | y], linear in b′ between nodes

        def best_b_next(resources_by, wy_y, Ev_y):
            def objective(b_next):
                c, n = consumption_and_labour(resources_by - b_next, wy_y, σ, η)
                return period_utility(c, n, σ, η) + β * jnp.interp(b_next, b_grid, Ev_y)

            return golden_section_max(objective, b_grid[0], b_grid[-1], n_golden)

        per_b = jax.vmap(best_b_next, in_axes=(0, None, None))
        return jax.vmap(per_b, in_axes=(1, 0, 1), out_axes=1)(resources, wy, Ev)

    def howard(v, b_next):
        u, lot = reward(b_next), lottery(b_grid, b_next)
        return jax.lax.fori_loop(0, n_howard, lambda _, v: u + β * expectation(v, lot, Π_y), v)

    v0 = reward(jnp.zeros_like(resources)) / (1 - β)
    _, b_next, distance, it = iterate_values(improve, howard, v0, tol, max_iter)
    c, n = consumption_and_labour(resources - b_next, wy, σ, η)
    return c, n, b_next, distance, it


def household_vfi(economy: HANK, r, w, τ, tol: float = 1e-10, max_iter: int = 5_000, n_golden: int = 80, n_howard: int = 50):
    """The household's policies (c, n, b′) at constant (r, w, τ) by value function iteration.

    v(b, y) = max_{0 ≤ b′ ≤ b_max} u(c) - n^(1+η)/(1+η) + β E[v(b′, y′) | y], with (c, n) at b′
    from `consumption_and_labour` and v linear in b′ between nodes (Young's lottery). The
    objective is concave in b′, so golden-section search finds the maximum; `n_howard`
    policy-evaluation steps follow each improvement. RuntimeError if not converged.
    """
    max_iter = check_iteration(tol, max_iter)
    c, n, b_next, distance, it = _vfi(economy, r, w, τ, tol, max_iter, n_golden, n_howard)
    if not distance < tol:
        raise RuntimeError(f"HANK VFI did not converge in {int(it)} iterations (sup change {float(distance):.3g} ≥ tol = {tol})")
    return c, n, b_next


# ---------------------------------------------------------------------------------------
# Aggregation and the steady state
# ---------------------------------------------------------------------------------------


def steady_state_prices(economy: HANK, Π):
    """(i, r, w) at steady-state inflation Π: Taylor rule, Fisher equation, Phillips curve."""
    i = nominal_rate(economy, Π)
    r = real_rate(i, Π)
    return i, r, phillips_curve_wage(economy, Π, r)


def _at_inflation(economy: HANK, Π, method: str, warm: dict, tol_τ: float, max_iter_τ: int = 200):
    """Households and aggregates at steady-state inflation Π, with τ at its fixed point.

    Returns (Σ b′ g - B, SteadyState fields) and counts household solves in warm["evaluations"].
    """
    i, r, w = steady_state_prices(economy, Π)
    B, b_grid, y_grid, Π_y = economy.B, economy.b_grid, economy.y_grid, economy.Π_y
    # τ = T(τ) = d(L(τ)) - r B is a contraction with a small slope s = T′; the secant
    # estimate of s turns the iteration into Newton's method on τ - T(τ) after two solves.
    τ = warm.get("τ", float(transfers(economy, dividends(economy, economy.L_bar, w, 1.0, Π), r)))
    previous = None  # (τ, T(τ)) of the last iteration
    for _ in range(max_iter_τ):
        if method == "egm":
            c, n, b_next = household_egm(economy, r, w, τ, c_init=warm.get("c"))
            warm["c"] = c
        else:
            c, n, b_next = household_vfi(economy, r, w, τ)
        warm["evaluations"] = warm.get("evaluations", 0) + 1
        g = stationary_distribution(lottery(b_grid, b_next), Π_y)
        L = float(jnp.sum(y_grid * n * g))
        d = float(dividends(economy, L, w, 1.0, Π))
        T_τ = float(transfers(economy, d, r))
        if abs(T_τ - τ) < tol_τ:
            break
        slope = 0.0 if previous is None or previous[0] == τ else (T_τ - previous[1]) / (τ - previous[0])
        previous = (τ, T_τ)
        τ = τ + (T_τ - τ) / (1 - min(slope, 0.5))
    else:
        raise RuntimeError(f"the transfers τ did not reach their fixed point in {max_iter_τ} iterations at Π = {Π:.6g}")
    τ = T_τ
    warm["τ"] = τ
    residual = float(jnp.sum(b_next * g)) - B
    fields = dict(Π=float(Π), r=float(r), i=float(i), w=float(w), L=L, Y=L, C=float(jnp.sum(c * g)), d=d, τ=τ,
                  residual=residual, c=c, n=n, b_next=b_next, g=g)
    return residual, fields


def steady_state(economy: HANK, method: str = "egm", Π_bracket=None, tol: float = 1e-10, tol_τ: float = 1e-9) -> SteadyState:
    """The steady state (z = 1, e = 0): Π such that Σ b′ g = B, by `bracket_root`.

    method : "egm" (the reference) or "vfi" (the independent check). Π_bracket : (Π_lo, Π_hi);
    by default from the Π at which r = -0.03 to the Π at which β (1 + r) = 1 - 1e-3 (a
    stationary distribution needs β (1 + r) < 1). tol : on Π; tol_τ : on the transfers'
    fixed point. Raises ValueError if bonds do not clear inside the bracket (Σ b′ g - B must
    change sign), naming the residuals at its ends.
    """
    if method not in ("egm", "vfi"):
        raise ValueError(f"method must be 'egm' or 'vfi', got {method!r}")
    β, R_bar, φ = economy.β, economy.R_bar, economy.φ
    inflation_at = lambda r: ((1 + r) / R_bar) ** (1 / (φ - 1)) - 1  # inverts 1 + r = R̄ (1 + Π)^(φ-1)
    if Π_bracket is None:
        Π_bracket = (inflation_at(-0.03), inflation_at((1 - 1e-3) / β - 1))
    Π_lo, Π_hi = (finite(Π, "Π_bracket") for Π in Π_bracket)
    if not -1 < Π_lo < Π_hi:
        raise ValueError(f"the Π bracket needs -1 < Π_lo < Π_hi, got ({Π_lo}, {Π_hi})")
    if not β * (1 + float(steady_state_prices(economy, Π_hi)[1])) < 1:
        raise ValueError(f"β(1 + r) must be < 1 in a steady state: Π_hi = {Π_hi} gives r ≥ 1/β - 1 = {1 / β - 1:.6g}")
    warm = {}
    ends = {Π: _at_inflation(economy, Π, method, warm, tol_τ) for Π in (Π_lo, Π_hi)}
    (f_lo, _), (f_hi, _) = ends[Π_lo], ends[Π_hi]
    if not f_lo < 0 < f_hi:
        r_lo, r_hi = (float(steady_state_prices(economy, Π)[1]) for Π in (Π_lo, Π_hi))
        raise ValueError(
            f"bonds do not clear inside the Π bracket [{Π_lo:.6g}, {Π_hi:.6g}] (r from {r_lo:.6g} to {r_hi:.6g}): "
            f"Σ b′ g - B must be < 0 at Π_lo and > 0 at Π_hi, got {f_lo:.6g} and {f_hi:.6g}; widen Π_bracket "
            f"(households save more as β(1 + r) approaches 1) or check B and b_max"
        )
    at_inflation = lambda Π: ends[Π] if Π in ends else _at_inflation(economy, Π, method, warm, tol_τ)
    root = bracket_root(at_inflation, Π_lo, Π_hi, tol=tol)
    return SteadyState(**root.value[1], evaluations=warm["evaluations"])


def steady_state_value(economy: HANK, steady: SteadyState, tol: float = 1e-10, max_iter: int = 20_000):
    """The value of the steady-state policy on the (b, y) grid: the fixed point of
    v = u(c) - n^(1+η)/(1+η) + β E[v(b′, y′)], with b′ read by Young's lottery as in the engine."""
    max_iter = check_iteration(tol, max_iter)
    reward = period_utility(steady.c, steady.n, economy.σ, economy.η)
    v, distance = value_of_rewards(reward, lottery(economy.b_grid, steady.b_next), economy.Π_y, economy.β, tol, max_iter)
    if not distance < tol:
        raise RuntimeError(f"the steady-state value did not converge in {max_iter} iterations (sup change {float(distance):.3g})")
    return v
