"""Structural RL in the Huggett economy: the claims of the two SRL chapters.

Partial equilibrium: SPG reproduces dynamic programming on the same grid. General
equilibrium: markets clear along simulated paths, Euler errors are small on the visited
states, and without aggregate risk the interest rate converges to the stationary
equilibrium. The chapters use the book-scale economies; the trained tests here use the
chapters' numerics (`SPG_BOOK`, `SPG_BOOK_PE`) on smaller grids where that keeps the suite
fast, and say so.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.solvers.household import vfi
from srlteach.economies.huggett import (
    SPG_BOOK,
    SPG_BOOK_PE,
    consumption_gap,
    create_huggett,
    create_huggett_pe,
    euler_errors_along_paths,
    exogenous_states,
    huggett_pe_spg,
    huggett_spg,
    pe_ergodic_distribution,
    pe_reference_policy,
    spg_policy,
)

# ---------------------------------------------------------------------------------------
# Partial equilibrium: SPG against EGM and VFI on the same grid
# ---------------------------------------------------------------------------------------

PE_GRID = dict(n_b=30, n_z=3, n_r=5)  # the chapter's calibration on a smaller grid


@pytest.fixture(scope="module")
def pe():
    economy = create_huggett_pe("book", **PE_GRID)
    result = spg.solve(huggett_pe_spg(economy), SPG_BOOK_PE._replace(N=16))
    egm = pe_reference_policy(economy)
    R, income = exogenous_states(economy)
    shape = egm.c.shape
    c_vfi = vfi(economy.b_grid, R, income, (economy.Π_y, economy.Π_z, economy.Π_r), economy.β, economy.σ).policy.c.reshape(shape)
    g = pe_ergodic_distribution(economy, egm)
    return result, spg_policy(result.model, result.θ).c, egm.c, c_vfi, g


def test_pe_spg_converges(pe):
    result = pe[0]
    assert result.converged and result.epochs < SPG_BOOK_PE.max_epochs


def test_pe_spg_reproduces_value_function_iteration(pe):
    """VFI solves exactly the problem SPG solves (continuation values linear between nodes,
    i.e. Young's lottery): on the states carrying 99% of the ergodic mass SPG's consumption
    is within 0.04 of it everywhere and within 0.004 on average (measured: 0.016, 0.0020)."""
    _, c_spg, _, c_vfi, g = pe
    sup, mean = consumption_gap(c_spg, c_vfi, g, 0.99)
    assert float(sup) < 0.04 and float(mean) < 0.004


def test_pe_spg_is_as_close_to_egm_as_vfi_is(pe):
    """EGM interpolates consumption rather than values, a different discretisation: SPG's
    distance to it is no larger than VFI's (measured: mean 0.0071 against VFI's 0.0082)."""
    _, c_spg, c_egm, c_vfi, g = pe
    _, mean_spg = consumption_gap(c_spg, c_egm, g, 0.99)
    _, mean_vfi = consumption_gap(c_vfi, c_egm, g, 0.99)
    assert float(mean_spg) < 1.1 * float(mean_vfi)


def test_consumption_gap_on_the_ergodic_region():
    g = jnp.array([0.5, 0.3, 0.15, 0.05])
    c, c_ref = jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([1.1, 2.0, 3.5, 0.0])
    sup, mean = consumption_gap(c, c_ref, g, coverage=0.9)  # the first three states carry 95%
    assert float(sup) == pytest.approx(0.5) and float(mean) == pytest.approx(0.05 + 0.075 + 0.2)


# ---------------------------------------------------------------------------------------
# General equilibrium with aggregate risk
# ---------------------------------------------------------------------------------------

GE_GRID = dict(n_b=40, n_z=5)  # the chapter's calibration (n_r = 11, r on [0.01, 0.06]) on a smaller grid


@pytest.fixture(scope="module")
def ge():
    result = spg.solve(huggett_spg(create_huggett("book", **GE_GRID)), SPG_BOOK._replace(N=16))
    path = spg.simulate(result.model, result.θ, jax.random.PRNGKey(11), 8, 200, start=result.state, keep_distributions=True)
    return result, path


def test_ge_markets_clear_along_simulated_paths(ge):
    """8 paths × 200 periods from the trained policy's ergodic set: r stays inside its grid,
    the clearing residual is below 1e-6 (bonds per household; measured 6e-9), and
    tomorrow's aggregate bonds Σ b g_{t+1} = Σ b′ g_t vanish."""
    result, path = ge
    assert result.converged
    assert int(path.prices.out_of_grid.sum()) == 0
    assert float(jnp.abs(path.prices.residual).max()) < 1e-6
    assert float(jnp.abs(path.aggregates["B"]).max()) < 1e-6
    b_grid = result.model.economy.b_grid
    assert float(jnp.abs((path.g * b_grid[:, None]).sum(axis=(2, 3))).max()) < 1e-6
    r = path.prices.values[..., 0]
    assert 0.01 < float(r.min()) and float(r.max()) < 0.06
    assert float(r.std()) > 1e-3  # aggregate risk moves the rate


def test_ge_euler_errors_are_small_on_visited_states(ge):
    """Against the rational-expectations right-hand side (tomorrow's market cleared for
    every z′): the mass-weighted mean of log10 |1 - c̃/c| is below -2.5 (measured -3.34) and
    90% of the visited mass has errors below 10^-2 (measured 10^-2.6)."""
    result, path = ge
    errors = euler_errors_along_paths(result.model, result.θ, path)
    w, e = np.asarray(errors.weight).ravel(), np.asarray(errors.log10_error).ravel()
    assert w.sum() > 0.9 * w.size / (np.prod(errors.weight.shape[2:]))  # most mass is interior
    assert (w * e).sum() / w.sum() < -2.5
    order = np.argsort(e)
    assert e[order][np.searchsorted(np.cumsum(w[order]) / w.sum(), 0.9)] < -2.0


def test_walras_law_consumption_equals_income(ge):
    """With bonds in zero net supply, C_t = z_t Σ_s y g_t(s) on every path and date."""
    result, path = ge
    e = result.model.economy
    income = e.z_grid[path.aggregate] * (path.g * e.y_grid).sum(axis=(2, 3))
    np.testing.assert_allclose(path.aggregates["C"], income, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# The limit without aggregate risk
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_risk(huggett_stationary_book):
    """The book-scale economy with z ≡ 1: every path is the same, so N = 2 suffices."""
    result = spg.solve(huggett_spg(huggett_stationary_book), SPG_BOOK._replace(N=2))
    path = spg.simulate(result.model, result.θ, jax.random.PRNGKey(0), 1, 300, start=result.state)
    return result, path.prices.values[:, 0, 0]


def test_no_aggregate_risk_rate_converges_to_the_stationary_equilibrium(no_risk, huggett_stationary_book, huggett_equilibrium_book):
    """SPG's rate settles (last 100 periods constant to 1e-6) within 1e-4 of the stationary
    equilibrium computed with VFI (the same lottery discretisation; measured 5e-5) and within
    5e-4 of the EGM one (measured 3.5e-4: EGM's discretisation differs)."""
    result, r = no_risk
    assert result.converged
    assert float(jnp.abs(r[-100:] - r[-1]).max()) < 1e-6
    r_vfi = stationary_equilibrium(huggett_stationary_book, method="vfi").r
    assert abs(float(r[-1]) - r_vfi) < 1e-4
    assert abs(float(r[-1]) - huggett_equilibrium_book.r) < 5e-4


# ---------------------------------------------------------------------------------------
# The chapters' explorers
# ---------------------------------------------------------------------------------------


def test_pe_policy_explorer_overlays_the_policies(pe):
    import matplotlib.pyplot as plt

    from srlteach.presentation.explorers import pe_policy_explorer

    result, c_spg, c_egm, c_vfi, g = pe
    economy = result.model.economy
    fig = pe_policy_explorer(economy, {"VFI": c_vfi, "EGM": c_egm, "SPG": c_spg}, g, y_index=2, z_index=0, r_index=4)
    ax_c = fig.axes[0]
    assert len(ax_c.lines) == 3
    shown = np.asarray(economy.b_grid) <= 6.0
    np.testing.assert_allclose(ax_c.lines[2].get_ydata(), np.asarray(c_spg)[shown, 2, 0, 4])
    plt.close(fig)
    with pytest.raises(ValueError, match="node indices"):
        pe_policy_explorer(economy, {"VFI": c_vfi}, g, y_index=3)


def test_srl_clearing_explorer_marks_the_clearing_rate(ge):
    import matplotlib.pyplot as plt

    from srlteach.presentation.explorers import srl_clearing_explorer

    result, path = ge
    fig = srl_clearing_explorer(result, path, date=50, path_index=3)
    ax_S = fig.axes[0]
    n_z = result.model.economy.z_grid.size
    assert len(ax_S.lines) == n_z + 2  # one schedule per z, the clearing point, the zero line
    r_t = float(path.prices.values[50, 3, 0])
    clearing = [line for line in ax_S.lines if line.get_marker() == "o"][0]
    assert float(clearing.get_xdata()[0]) == pytest.approx(r_t)
    plt.close(fig)
    with pytest.raises(ValueError, match="date must lie"):
        srl_clearing_explorer(result, path, date=200)
