"""The HANK economy (srlteach.economies.hank.economy): factory, checks and per-period blocks."""

import math
from types import SimpleNamespace

import jax
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.hank import (
    HANK,
    check_grids,
    create_hank,
    dividends,
    household_income,
    nominal_rate,
    phillips_curve_residual,
    phillips_curve_wage,
    real_rate,
    transfers,
)


@pytest.fixture(scope="module")
def hank():
    return create_hank("book")


@pytest.mark.parametrize(
    "scale, shape",
    [("book", (50, 3, 9, 9, 7)), ("paper", (200, 3, 30, 30, 50))],
)
def test_factory_builds_the_spec_grids(scale, shape):
    e = create_hank(scale)
    sizes = (e.b_grid, e.y_grid, e.i_grid, e.w_grid, e.log_z_grid)
    assert tuple(a.size for a in sizes) == shape
    assert (e.β, e.σ, e.η, e.θ, e.ε, e.R_bar, e.φ, e.B) == (0.975, 1.0, 1.0, 100.0, 10.0, 1.025, 1.5, 5.0)
    assert (e.ρ_z, e.ν_z, e.ρ_e, e.ν_e) == (0.9, 0.07, 0.9, 0.002)
    assert float(e.b_grid[0]) == 0.0 and float(e.b_grid[-1]) == 100.0
    assert np.all(np.diff(np.asarray(e.b_grid), 2) > 0)  # denser near the borrowing limit
    np.testing.assert_allclose(np.asarray(e.w_grid)[[0, -1]], [0.7, 1.3])
    np.testing.assert_allclose(np.asarray(e.i_grid)[[0, -1]], [-0.02, 0.06])
    # the firm's z nodes span ± 3 unconditional standard deviations
    np.testing.assert_allclose(np.asarray(e.log_z_grid)[[0, -1]], [-0.21, 0.21], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(e.Π_y).sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(e.y_grid), np.exp([-0.6, 0.0, 0.6]), rtol=1e-12)
    assert abs(e.L_bar - 1.0272) < 1e-4  # models.md: E[y] ≈ 1.0272
    leaves, treedef = jax.tree_util.tree_flatten(e)
    assert len(leaves) == 6  # the arrays; the parameters are static
    assert isinstance(jax.tree_util.tree_unflatten(treedef, leaves), HANK)


def test_overrides_and_whole_number_sizes():
    e = create_hank("book", n_b=20.0, b_max=60.0, i_min=-0.01, i_max=0.05, n_i=4, θ=0.0)
    assert e.b_grid.size == 20 and float(e.b_grid[-1]) == 60.0 and e.θ == 0.0
    np.testing.assert_allclose(np.asarray(e.i_grid), [-0.01, 0.01, 0.03, 0.05], atol=1e-15)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(φ=1.0), "Taylor coefficient φ must be > 1"),
        (dict(φ=0.5), "Taylor principle"),
        (dict(ε=1.0), "elasticity of substitution ε must be > 1"),
        (dict(θ=-1.0), "Rotemberg cost θ must be ≥ 0"),
        (dict(B=-0.1), "government debt B must be ≥ 0"),
        (dict(β=1.0), "0 < β < 1"),
        (dict(β=0.0), "0 < β < 1"),
        (dict(σ=0.0), "CRRA coefficient σ must be > 0"),
        (dict(η=0.0), "inverse Frisch elasticity η must be > 0"),
        (dict(R_bar=0.0), "R_bar must be > 0"),
        (dict(w_min=1.3), "w_min < w_max"),
        (dict(i_min=0.06), "i_min < i_max"),
        (dict(w_min=0.0), "w_min must be > 0"),
        (dict(i_min=-1.0), "i_min must be > -1"),
        (dict(b_max=0.0), "b_max must exceed"),
        (dict(curvature=0.5), "curvature must be ≥ 1"),
        (dict(ρ_z=1.0), "persistence ρ must satisfy |ρ| < 1"),
        (dict(ν_e=-0.1), "standard deviation ν must be ≥ 0"),
        (dict(n_b=10.5), "asset grid size n_b must be an integer ≥ 2, got n_b = 10.5"),
        (dict(n_i=1), "nominal-rate grid size n_i must be an integer ≥ 2"),
        (dict(n_z=1), "TFP grid size n_z must be an integer ≥ 2"),
        (dict(n_e=5), "unknown HANK parameter(s) ['n_e']"),
        (dict(β=math.nan), "β must be a finite number"),
        (dict(B=math.inf), "B must be a finite number"),
        (dict(φ="1.5x"), "φ must be a finite number"),
        (dict(α=0.3), "unknown HANK parameter(s) ['α']"),
    ],
)
def test_ill_posed_economies_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        create_hank("book", **overrides)


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale must be one of"):
        create_hank("huge")


def test_taylor_rule_and_fisher_equation(hank):
    Π, e = 0.013, 0.004
    i = nominal_rate(hank, Π, e)
    assert abs(float(i) - (1.025 * 1.013**1.5 * math.exp(0.004) - 1)) < 1e-15
    assert abs(float(real_rate(0.03, 0.01)) - (1.03 / 1.01 - 1)) < 1e-15
    # in a steady state (e = 0), 1 + r = R̄ (1 + Π)^(φ-1)
    assert abs(float(real_rate(nominal_rate(hank, Π), Π)) - (1.025 * 1.013**0.5 - 1)) < 1e-15


def test_dividends_transfers_and_income(hank):
    Y, w, z, Π, r = 1.1, 0.88, 1.05, 0.02, 0.03
    d = float(dividends(hank, Y, w, z, Π))
    assert abs(d - (Y - w * Y / z - 50 * Π**2 * Y)) < 1e-15
    assert abs(float(transfers(hank, d, r)) - (d - r * 5.0)) < 1e-15
    y, n, τ = np.asarray(hank.y_grid), 1.2, -0.03
    income = np.asarray(household_income(hank, w, y, n, τ))
    np.testing.assert_allclose(income, w * y * n + τ * y / hank.L_bar, rtol=1e-15)
    # transfers are paid in proportion to y: they sum to τ under the stationary income distribution
    from srlteach.foundations.discretisation import stationary_markov

    ψ = np.asarray(stationary_markov(hank.Π_y))
    assert abs(ψ @ (income - w * y * n) - τ) < 1e-14


def test_phillips_curve_wage_solves_the_steady_state_phillips_curve(hank):
    for Π, r in ((0.0, 0.02), (-0.01, 0.023), (0.03, 0.035)):
        w = phillips_curve_wage(hank, Π, r)
        assert abs(float(phillips_curve_residual(hank, Π, w, 1.0, r, 1.0, Π))) < 1e-15
    assert float(phillips_curve_wage(hank, 0.0, 0.02)) == pytest.approx(0.9, abs=1e-15)  # (ε-1)/ε
    # flexible prices (θ = 0): the wage is the inverse markup whatever Π
    flexible = create_hank("book", θ=0.0)
    assert float(phillips_curve_wage(flexible, 0.05, 0.02)) == pytest.approx(0.9, abs=1e-15)


def test_phillips_curve_residual_along_a_continuation(hank):
    Π, w, z, r_p, Y_ratio, Π_p = 0.01, 0.93, 1.02, 0.025, 1.01, 0.008
    expected = Π * (1 + Π) - 0.1 * (w / z - 0.9) - Y_ratio * Π_p * (1 + Π_p) / (1 + r_p)
    assert abs(float(phillips_curve_residual(hank, Π, w, z, r_p, Y_ratio, Π_p)) - expected) < 1e-16


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("w", 0.65, "the w grid .* lower w_min"),
        ("w", 1.35, "raise w_max"),
        ("i", -0.03, "the i grid .* lower i_min"),
        ("i", 0.07, "raise i_max"),
        ("i", math.nan, "the i grid .* cannot bracket clearing"),
    ],
)
def test_check_grids_names_the_grid_and_the_bound(hank, name, value, message):
    steady = dict(w=0.9, i=0.02)
    check_grids(hank, SimpleNamespace(**steady))  # inside every grid: no error
    steady[name] = value
    with pytest.raises(ValueError, match=message):
        check_grids(hank, SimpleNamespace(**steady))
