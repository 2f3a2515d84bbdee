"""The HANK steady state (srlteach.economies.hank.steady_state): EGM against VFI, and every
equilibrium condition checked on the book-scale solution.

Measured (book scale, n_b = 50): EGM Π = -0.32021%, r = 2.33576%, w = 0.899271; VFI on the same
grid Π = -0.32258%, r = 2.33455%, w = 0.899266, so |ΔΠ| = 2.4e-5, |Δr| = 1.2e-5 and L, C differ
by 2.4e-4 in relative terms. EGM on a grid twenty times finer (n_b = 1000) gives Π = -0.27545%,
r = 2.35873%: the book grid's own error in r is 2.3e-4, far larger than the EGM-VFI gap.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.hank import (
    check_grids,
    consumption_and_labour,
    create_hank,
    dividends,
    labour_supply,
    nominal_rate,
    phillips_curve_residual,
    real_rate,
    steady_state,
    steady_state_prices,
    transfers,
)
from srlteach.foundations.utility import marginal_utility
from srlteach.solvers.household import HouseholdPolicy, euler_errors


@pytest.fixture(scope="module")
def hank():
    return create_hank("book")


@pytest.fixture(scope="module")
def steady(hank):
    return steady_state(hank)


@pytest.fixture(scope="module")
def steady_vfi(hank):
    return steady_state(hank, method="vfi")


# ---------------------------------------------------------------------------------------
# The household's static choice
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("σ, η", [(1.0, 1.0), (2.0, 1.0), (1.0, 2.0), (3.0, 0.5)])
def test_consumption_and_labour_solve_the_budget_and_the_intratemporal_condition(σ, η):
    a = jnp.array([-60.0, -3.0, -0.5, 0.0, 1e-9, 0.3, 2.0, 80.0])
    for wy in (0.05, 0.49, 1.6):
        c, n = consumption_and_labour(a, wy, σ, η)
        assert bool(jnp.all(c > 0))
        np.testing.assert_allclose(np.asarray(c), np.asarray(a + wy * n), rtol=1e-13, atol=1e-12)  # budget (a + w y n cancels for a ≪ 0)
        np.testing.assert_allclose(np.asarray(n**η), np.asarray(wy * c ** (-σ)), rtol=1e-12)  # n^η = w y u′(c)


def test_closed_form_and_newton_agree_at_the_boundary_of_the_branches():
    """σ = η uses the closed form; σ = η(1 + 1e-9) runs Newton: the two must meet."""
    a, wy = jnp.array([-20.0, -0.4, 0.0, 0.7, 15.0]), 0.9
    closed, _ = consumption_and_labour(a, wy, 1.0, 1.0)
    newton, _ = consumption_and_labour(a, wy, 1.0 + 1e-9, 1.0)
    np.testing.assert_allclose(np.asarray(newton), np.asarray(closed), rtol=1e-8)


# ---------------------------------------------------------------------------------------
# The steady state by EGM, book scale
# ---------------------------------------------------------------------------------------


def test_bond_market_clears_at_B(hank, steady):
    assert abs(float(jnp.sum(steady.b_next * steady.g)) - hank.B) < 1e-8 * hank.B
    assert abs(steady.residual) < 1e-8 * hank.B
    assert abs(float(jnp.sum(steady.g)) - 1) < 1e-11 and bool(jnp.all(steady.g >= 0))


def test_prices_follow_taylor_fisher_and_the_phillips_curve(hank, steady):
    s = steady
    assert abs(s.i - float(nominal_rate(hank, s.Π))) < 1e-15
    assert abs(s.r - float(real_rate(s.i, s.Π))) < 1e-15
    assert abs((1 + s.r) - hank.R_bar * (1 + s.Π) ** (hank.φ - 1)) < 1e-14
    assert abs(float(phillips_curve_residual(hank, s.Π, s.w, 1.0, s.r, 1.0, s.Π))) < 1e-15
    assert hank.β * (1 + s.r) < 1  # a stationary distribution exists
    check_grids(hank, s)  # r, w and i inside their grids


def test_aggregates_dividends_and_transfers_are_consistent(hank, steady):
    s, y = steady, hank.y_grid
    assert abs(s.L - float(jnp.sum(y * s.n * s.g))) < 1e-14
    assert s.Y == s.L
    assert abs(s.C - float(jnp.sum(s.c * s.g))) < 1e-14
    assert abs(s.d - float(dividends(hank, s.Y, s.w, 1.0, s.Π))) < 1e-14
    assert abs(s.d - s.Y * (1 - s.w - hank.θ / 2 * s.Π**2)) < 1e-14
    # τ is at its fixed point: the households solved at this τ produce the L that pays it
    assert abs(s.τ - float(transfers(hank, s.d, s.r))) < 1e-14


def test_walras_law_goods_market_clears(hank, steady):
    """C = Y - (θ/2) Π² Y: the goods market clears because the bond market does."""
    s = steady
    assert abs(s.C - (s.Y - hank.θ / 2 * s.Π**2 * s.Y)) < 1e-8


def test_budget_and_intratemporal_condition_hold_at_every_node(hank, steady):
    s, b, y = steady, hank.b_grid[:, None], hank.y_grid
    resources = (1 + s.r) * b + s.w * y * s.n + s.τ * y / hank.L_bar
    # the households solved at τ up to the fixed point's tolerance (1e-9)
    np.testing.assert_allclose(np.asarray(s.c + s.b_next), np.asarray(resources), atol=1e-8)
    np.testing.assert_allclose(np.asarray(s.n**hank.η), np.asarray(s.w * y * marginal_utility(s.c, hank.σ)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(s.n), np.asarray(labour_supply(s.c, s.w * y, hank.σ, hank.η)), rtol=1e-12)
    assert bool(jnp.all(s.b_next >= 0)) and bool(jnp.all(s.b_next <= hank.b_grid[-1]))


def test_euler_equation_holds_where_unconstrained(hank, steady):
    """u′(c) = β(1 + r) E[u′(c(b′, y′))] with c(·, y′) interpolated at b′: max log10 error
    -2.9 on the book grid (-4.7 weighted by g); u′(c) ≥ β(1 + r) E[…] where b′ = 0."""
    s = steady
    R = jnp.full(hank.y_grid.shape, 1 + s.r)
    errors = euler_errors(HouseholdPolicy(s.c, s.b_next), hank.b_grid, R, R, hank.Π_y, hank.β, hank.σ)
    interior, log10_error = np.asarray(errors.interior), np.asarray(errors.log10_error)
    g = np.asarray(s.g)
    assert interior.sum() > 0.9 * interior.size
    assert log10_error[interior].max() < -2.5
    assert (log10_error[interior] * g[interior]).sum() / g[interior].sum() < -4.0
    # at the borrowing limit the household would like to borrow: u′(c) ≥ β(1 + r) E[u′(c′)]
    constrained = ~interior & (np.asarray(s.b_next) == 0.0)
    assert constrained.any()
    c_next = np.stack([np.interp(np.asarray(s.b_next)[:, k], np.asarray(hank.b_grid), np.asarray(s.c)[:, k]) for k in range(3)]).T
    expected = hank.β * (1 + s.r) * (c_next**-hank.σ) @ np.asarray(hank.Π_y).T
    assert (np.asarray(s.c)[constrained] ** -hank.σ >= expected[constrained] * (1 - 1e-12)).all()


def test_the_distribution_stays_far_below_the_top_of_the_grid(hank, steady):
    b, mass_by_b = np.asarray(hank.b_grid), np.asarray(steady.g.sum(axis=1))
    assert mass_by_b[b > 50].sum() < 1e-4  # measured 6.3e-6
    assert mass_by_b[-1] < 1e-12  # no pile-up at the cap b_max = 100


# ---------------------------------------------------------------------------------------
# EGM against VFI
# ---------------------------------------------------------------------------------------


def test_egm_and_vfi_agree(hank, steady, steady_vfi):
    """Same grid, independent household solvers: measured |ΔΠ| = 2.4e-5, |Δr| = 1.2e-5,
    |Δw| = 5e-6, relative ΔL and ΔC 2.4e-4."""
    s, v = steady, steady_vfi
    assert abs(v.residual) < 1e-6 * hank.B
    assert abs(s.Π - v.Π) < 5e-5
    assert abs(s.r - v.r) < 2.5e-5
    assert abs(s.i - v.i) < 5e-5
    assert abs(s.w - v.w) < 1e-5
    for name in ("L", "Y", "C"):
        assert abs(getattr(s, name) / getattr(v, name) - 1) < 5e-4, name
    assert abs(v.C - (v.Y - hank.θ / 2 * v.Π**2 * v.Y)) < 1e-7  # Walras holds for VFI too


# ---------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------


def test_steady_state_refuses_bad_requests(hank, steady):
    with pytest.raises(ValueError, match="method must be 'egm' or 'vfi'"):
        steady_state(hank, method="pfi")
    with pytest.raises(ValueError, match="Π bracket needs -1 < Π_lo < Π_hi"):
        steady_state(hank, Π_bracket=(0.0, -0.01))
    with pytest.raises(ValueError, match="Π_bracket must be a finite number"):
        steady_state(hank, Π_bracket=(math.nan, 0.0))
    with pytest.raises(ValueError, match=r"β\(1 \+ r\) must be < 1"):
        steady_state(hank, Π_bracket=(-0.01, 0.01))
    # a bracket entirely below the steady state: the residual never changes sign
    with pytest.raises(ValueError, match="bonds do not clear inside the Π bracket .* widen Π_bracket"):
        steady_state(hank, Π_bracket=(steady.Π - 0.002, steady.Π - 0.001))


def test_steady_state_prices_match_the_blocks(hank):
    i, r, w = steady_state_prices(hank, -0.004)
    assert abs(float(i) - float(nominal_rate(hank, -0.004))) < 1e-16
    assert abs(float(r) - float(real_rate(i, -0.004))) < 1e-16
    assert abs(float(phillips_curve_residual(hank, -0.004, w, 1.0, r, 1.0, -0.004))) < 1e-16


def test_the_steady_state_value_is_the_bellman_fixed_point_of_its_policy(hank, steady):
    """v = u(c) - n^(1+η)/(1+η) + β E[v(b′, y′)] on the grid (Young's lottery for b′), and v
    rises with bonds."""
    from srlteach.economies.hank.steady_state import period_utility, steady_state_value
    from srlteach.foundations.distributions import expectation, lottery

    v = steady_state_value(hank, steady)
    reward = period_utility(steady.c, steady.n, hank.σ, hank.η)
    Ev = expectation(v, lottery(hank.b_grid, steady.b_next), hank.Π_y)
    np.testing.assert_allclose(v, reward + hank.β * Ev, atol=1e-9 * float(jnp.abs(v).max()))
    assert bool(jnp.all(jnp.diff(v, axis=0) > 0))  # more bonds, more value
