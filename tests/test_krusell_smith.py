"""The Krusell–Smith economy (srlteach.economies.krusell_smith) and its stationary equilibrium.

The stationary (r, w, K) of the spec's calibration is checked at book and paper scale against
VFI on the same grid (book scale) and EGM on a grid five times finer than paper scale.
"""

import jax
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.economies.krusell_smith import KrusellSmith, capital_demand, cash_on_hand, create_krusell_smith, prices


@pytest.mark.parametrize("scale, shape", [("book", (60, 3, 11, 13)), ("paper", (200, 3, 30, 50))])
def test_factory_builds_the_spec_grids(scale, shape):
    e = create_krusell_smith(scale)
    assert (e.b_grid.size, e.y_grid.size, e.r_grid.size, e.w_grid.size) == shape
    assert (e.β, e.σ, e.α, e.δ, e.ρ_z, e.ν_z) == (0.95, 3.0, 0.36, 0.08, 0.9, 0.03)
    assert float(e.b_grid[0]) == 0.0 and float(e.b_grid[-1]) == {"book": 50.0, "paper": 100.0}[scale]
    np.testing.assert_allclose(np.asarray(e.r_grid)[[0, -1]], [0.02, 0.07])
    np.testing.assert_allclose(np.asarray(e.w_grid)[[0, -1]], [0.9, 1.5])
    assert abs(e.L - 1.0272) < 1e-4  # models.md: L = E[y] ≈ 1.0272
    leaves, treedef = jax.tree_util.tree_flatten(e)
    assert len(leaves) == 5  # the arrays; the parameters are static
    assert isinstance(jax.tree_util.tree_unflatten(treedef, leaves), KrusellSmith)


def test_prices_are_the_marginal_products(ks_book):
    """r + δ = ∂Y/∂K and w = ∂Y/∂L for Y = z K^α L^(1-α), by central finite differences."""
    e, K, z, h = ks_book, 5.0, 1.03, 1e-6
    Y = lambda K, L: z * K**e.α * L ** (1 - e.α)
    r, w = prices(e, K, z)
    assert abs(float(r) + e.δ - (Y(K + h, e.L) - Y(K - h, e.L)) / (2 * h)) < 1e-8
    assert abs(float(w) - (Y(K, e.L + h) - Y(K, e.L - h)) / (2 * h)) < 1e-8
    # the firm's capital demand inverts r(K)
    assert abs(float(prices(e, capital_demand(e, 0.04, z), z)[0]) - 0.04) < 1e-14


def test_cash_on_hand(ks_book):
    np.testing.assert_allclose(cash_on_hand(ks_book, 0.04, 1.1), 1.04 * ks_book.b_grid[:, None] + 1.1 * ks_book.y_grid)


def test_equilibrium_clears_the_capital_market(ks_equilibrium_book, ks_book):
    eq, e = ks_equilibrium_book, ks_book
    assert abs(eq.residual) < 1e-6 * eq.K  # household capital = firm demand
    r, w = prices(e, eq.K)  # prices at the households' capital are the equilibrium prices
    assert abs(float(r) - eq.r) < 1e-8 and abs(float(w) - eq.w) < 1e-8
    Y = eq.K**e.α * eq.L ** (1 - e.α)
    assert abs(eq.C + e.δ * eq.K - Y) < 1e-8  # goods market: C + δK = Y
    assert abs(eq.L - e.L) < 1e-12


def test_ks_book_scale_against_vfi_and_a_fine_grid(ks_book, ks_equilibrium_book, ks_equilibrium_fine):
    """Book scale (n_b = 60): r within 1.5e-3 of VFI on the same grid and 5e-4 of the fine grid."""
    eq = ks_equilibrium_book
    vfi = stationary_equilibrium(ks_book, method="vfi")
    assert abs(eq.r - vfi.r) < 1.5e-3
    assert abs(eq.r - ks_equilibrium_fine.r) < 5e-4
    assert abs(eq.K / ks_equilibrium_fine.K - 1) < 5e-3
    assert abs(eq.w / ks_equilibrium_fine.w - 1) < 2e-3


def test_ks_paper_scale_against_a_fine_grid(ks_equilibrium_paper, ks_equilibrium_fine):
    """Paper scale (n_b = 200): r within 1.5e-4 of the fine-grid value (n_b = 1000)."""
    eq = ks_equilibrium_paper
    assert abs(eq.r - ks_equilibrium_fine.r) < 1.5e-4
    assert abs(eq.K / ks_equilibrium_fine.K - 1) < 1.5e-3
    assert abs(eq.residual) < 1e-6 * eq.K


def test_stationary_distribution_stays_inside_the_grid(ks_book, ks_equilibrium_book):
    b_grid = np.asarray(ks_book.b_grid)
    mass_by_b = np.asarray(ks_equilibrium_book.g.sum(axis=1))
    assert mass_by_b[b_grid > 40.0].sum() < 1e-4
    assert mass_by_b[-1] < 1e-6 and mass_by_b[-1] < mass_by_b[-2]  # a thin tail, no pile-up at the cap


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scale="tiny"), r"scale must be one of \['book', 'paper'\], got 'tiny'"),
        (dict(n_k=3), r"unknown Krusell–Smith parameter\(s\) \['n_k'\]"),
        (dict(β=1.02), "discount factor β must satisfy 0 < β < 1, got β = 1.02"),
        (dict(σ=0.0), "CRRA coefficient σ must be > 0, got σ = 0.0"),
        (dict(α=1.0), "capital share α must satisfy 0 < α < 1, got α = 1.0"),
        (dict(δ=-0.1), "depreciation rate δ must satisfy 0 ≤ δ ≤ 1, got δ = -0.1"),
        (dict(b_min=-1.0), "households cannot borrow in Krusell–Smith: b_min must be ≥ 0, got b_min = -1.0"),
        (dict(ρ_y=1.0), r"persistence ρ must satisfy \|ρ\| < 1, got ρ = 1.0"),
        (dict(ν_z=-0.03), "standard deviation ν must be ≥ 0, got ν = -0.03"),
        (dict(n_w=1), "price grid size n_w must be an integer ≥ 2, got n_w = 1"),
        (dict(r_min=0.08), "the r grid needs r_min < r_max, got 0.08 ≥ 0.07"),
        (dict(r_min=-1.5), "gross return 1 \\+ r must be > 0 on the grid: r_min must be > -1, got r_min = -1.5"),
        (dict(w_min=-0.5), "wages must be > 0 on the grid: w_min must be > 0, got w_min = -0.5"),
        (dict(n_b=1), "asset grid size n_b must be an integer ≥ 2, got 1"),
    ],
)
def test_factory_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_krusell_smith(**kwargs)


def test_equilibrium_bracket_errors(ks_book):
    with pytest.raises(ValueError, match=r"r = -0.1 must be > -δ \(the firm's capital demand is finite only for r > -δ\) = -0.08"):
        stationary_equilibrium(ks_book, r_bracket=(-0.1, 0.04))
    with pytest.raises(ValueError, match=r"β\(1\+r\) must be < 1 in a stationary equilibrium: r = 0.06 must be < 1/β - 1 = 0.0526316"):
        stationary_equilibrium(ks_book, r_bracket=(0.0, 0.06))
