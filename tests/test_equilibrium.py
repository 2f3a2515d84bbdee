"""Stationary equilibria (srlteach.solvers.equilibrium): Huggett here, Krusell–Smith in test_krusell_smith.py.

The stationary r* of the spec's Huggett calibration is checked at book and paper scale
against two independent computations: VFI instead of EGM on the same grid, and EGM on a
grid five times finer than paper scale (conftest.FINE_GRID).
"""

import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.distributions import lottery, push_forward
from srlteach.solvers.equilibrium import aggregate_savings, bracket_root, check_rates, stationary_equilibrium
from srlteach.economies.huggett import create_huggett_stationary


def test_huggett_equilibrium_clears_the_bond_market(huggett_equilibrium_book, huggett_stationary_book):
    eq, e = huggett_equilibrium_book, huggett_stationary_book
    assert abs(eq.residual) < 1e-8  # Σ b′ g = 0: bonds in zero net supply
    assert abs(eq.K) < 1e-8  # Σ b g = Σ b′ g in the stationary distribution
    assert abs(eq.C - eq.L) < 1e-8  # goods market (Walras): C = Σ y g when bonds net to zero
    assert eq.w == 1.0 and 0 < eq.r < 1 / e.β - 1
    np.testing.assert_allclose(push_forward(eq.g, lottery(e.b_grid, eq.policy.b_next), e.Π_y), eq.g, atol=1e-12)


def test_huggett_r_star_book_scale_against_vfi_and_a_fine_grid(huggett_equilibrium_book, huggett_stationary_book, huggett_equilibrium_fine):
    """Book scale (n_b = 70): within 5e-4 of VFI on the same grid and of the fine-grid r*."""
    r_vfi = stationary_equilibrium(huggett_stationary_book, method="vfi").r
    r_egm = huggett_equilibrium_book.r
    assert abs(r_egm - r_vfi) < 5e-4
    assert abs(r_egm - huggett_equilibrium_fine.r) < 5e-4
    assert 0.0238 < r_egm < 0.0246


def test_huggett_r_star_paper_scale_against_a_fine_grid(huggett_equilibrium_paper, huggett_equilibrium_fine):
    """Paper scale (n_b = 200): within 1e-4 of the fine-grid r* (n_b = 1000)."""
    assert abs(huggett_equilibrium_paper.r - huggett_equilibrium_fine.r) < 1e-4
    assert abs(huggett_equilibrium_paper.residual) < 1e-8


def test_aggregate_savings_curve_crosses_zero_at_r_star(huggett_stationary_book, huggett_equilibrium_book):
    e, r_star = huggett_stationary_book, huggett_equilibrium_book.r
    r_nodes = np.array([r_star - 0.01, r_star, r_star + 0.01])
    S = np.asarray(aggregate_savings(e, r_nodes))
    assert S[0] < 0 < S[2]
    assert abs(S[1]) < 1e-8  # the vmapped curve and the root search agree


def test_stationary_equilibrium_is_deterministic(huggett_stationary_book, huggett_equilibrium_book):
    again = stationary_equilibrium(huggett_stationary_book)
    assert again.r == huggett_equilibrium_book.r
    np.testing.assert_array_equal(again.g, huggett_equilibrium_book.g)


def test_bracket_root_on_a_known_function():
    root = bracket_root(lambda x: (x**3 - 2.0, "payload"), 0.0, 3.0, tol=1e-13)
    assert abs(root.x - 2 ** (1 / 3)) < 1e-12
    assert root.value[1] == "payload" and root.evaluations < 40


def test_bracket_root_needs_a_sign_change():
    with pytest.raises(ValueError, match="the excess demand must be < 0 at the bracket's low end and > 0 at its high end"):
        bracket_root(lambda x: (x**2 + 1.0,), -1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(r_bracket=(0.0, 0.05)), r"β\(1\+r\) must be < 1 in a stationary equilibrium: r = 0.05 must be < 1/β - 1 = 0.0416667"),
        (dict(r_bracket=(0.03, 0.02)), r"the r bracket needs r_lo < r_hi, got \(0.03, 0.02\)"),
        (dict(r_bracket=(-1.5, 0.03)), r"r = -1.5 must be > -1 \(the gross return 1 \+ r must be > 0\)"),
        (dict(r_bracket=(0.03, 0.04)), "the excess demand must be < 0 at the bracket's low end"),
        (dict(method="newton"), "method must be 'egm' or 'vfi', got 'newton'"),
    ],
)
def test_stationary_equilibrium_errors(huggett_stationary_book, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stationary_equilibrium(huggett_stationary_book, **kwargs)


def test_other_errors(huggett_stationary_book):
    with pytest.raises(ValueError, match="economy must describe its stationary market .*got dict"):
        stationary_equilibrium({})
    with pytest.raises(ValueError, match=r"β\(1\+r\) must be < 1 in a stationary equilibrium: r = 0.05"):
        aggregate_savings(huggett_stationary_book, [0.0, 0.05])
    with pytest.raises(ValueError, match="natural borrowing limit"):
        aggregate_savings(create_huggett_stationary("book", b_min=-20.0, r_max=0.02), [0.0, 0.04])
    with pytest.raises(ValueError, match=r"r = -0.2 must be > -0.1 \(why\)"):
        check_rates(-0.2, 0.0, 0.96, -0.1, "-0.1 (why)")
