"""The Huggett economy (srlteach.economies.huggett): factories, budget, constant-prices policy, market clearing."""

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.discretisation import stationary_markov
from srlteach.solvers.household import egm, euler_errors
from srlteach.economies.huggett import (
    Huggett,
    cash_on_hand,
    clear_bond_market,
    constant_prices_policy,
    create_huggett,
    create_huggett_pe,
    create_huggett_stationary,
    exogenous_states,
    interest_rate_chain,
    pe_reference_policy,
    policy_at_rate,
    supply_schedule,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def constant_prices(huggett_book):
    return constant_prices_policy(huggett_book)


@pytest.mark.parametrize(
    "scale, shape",
    [("book", (70, 3, 9, 11)), ("paper", (200, 3, 30, 20))],
)
def test_factory_builds_the_spec_grids(scale, shape):
    e = create_huggett(scale)
    n_b, n_y, n_z, n_r = shape
    assert (e.b_grid.size, e.y_grid.size, e.z_grid.size, e.r_grid.size) == shape
    assert (e.β, e.σ, e.b_min, e.ρ_z, e.ν_z) == (0.96, 2.0, -1.0, 0.9, 0.02)
    assert float(e.b_grid[0]) == -1.0 and float(e.b_grid[-1]) == {"book": 20.0, "paper": 50.0}[scale]
    np.testing.assert_allclose(e.y_grid, np.exp([-0.6, 0.0, 0.6]), rtol=1e-14)
    np.testing.assert_allclose(e.r_grid, np.linspace(0.01, 0.06, n_r), rtol=1e-14)
    np.testing.assert_allclose(jnp.log(e.z_grid), np.linspace(-0.06, 0.06, n_z), atol=1e-15)  # Tauchen, m = 3
    for Π in (e.Π_y, e.Π_z):
        np.testing.assert_allclose(Π.sum(axis=1), 1.0, atol=1e-14)
    assert e.Π_r is None


def test_economy_is_a_pytree_with_static_parameters(huggett_book):
    leaves, treedef = jax.tree_util.tree_flatten(huggett_book)
    assert len(leaves) == 6  # the arrays; β, σ, b_min, ρ_z, ν_z are static
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(rebuilt, Huggett) and rebuilt.σ == 2.0
    # σ is static, so the utility's branch is chosen at trace time inside jit
    total = jax.jit(lambda e: jnp.sum(cash_on_hand(e, 0.02, 1.0)) * e.σ)(huggett_book)
    assert np.isfinite(float(total))


def test_stationary_economy_has_no_aggregate_risk():
    e = create_huggett_stationary("book")
    np.testing.assert_array_equal(e.z_grid, [1.0])
    np.testing.assert_array_equal(e.Π_z, [[1.0]])


def test_budget_helpers(huggett_book):
    e = huggett_book
    x = cash_on_hand(e, 0.03, 1.01)
    np.testing.assert_allclose(x, 1.03 * e.b_grid[:, None] + e.y_grid * 1.01, rtol=1e-15)
    R, income = exogenous_states(e)
    assert R.shape == income.shape == (3 * 9 * 11,)
    np.testing.assert_allclose(R.reshape(3, 9, 11)[1, 4], 1 + e.r_grid)
    np.testing.assert_allclose(income.reshape(3, 9, 11)[2, :, 5], e.y_grid[2] * e.z_grid)


def test_constant_prices_policy_solves_each_deterministic_problem(huggett_book, constant_prices):
    """Each (y, z, r) column equals EGM on that single state with a constant income."""
    e = huggett_book
    assert constant_prices.shape == (70, 3, 9, 11)
    for i_y, i_z, i_r in [(0, 0, 0), (1, 4, 5), (2, 8, 10)]:
        R, income = jnp.array([1 + e.r_grid[i_r]]), jnp.array([e.y_grid[i_y] * e.z_grid[i_z]])
        single = egm(e.b_grid, R, income, jnp.eye(1), e.β, e.σ).b_next[:, 0]
        np.testing.assert_allclose(constant_prices[:, i_y, i_z, i_r], single, atol=1e-9)


def test_constant_prices_policy_makes_supply_slope_upwards(huggett_book, huggett_equilibrium_book, constant_prices):
    e = huggett_book
    assert (jnp.diff(constant_prices, axis=-1) >= 0).all()  # savings never fall with r
    assert (constant_prices >= e.b_grid[0]).all() and (constant_prices <= e.b_grid[-1]).all()
    g = huggett_equilibrium_book.g
    for i_z in range(e.z_grid.size):
        S = supply_schedule(e, g, constant_prices[:, :, i_z, :])
        assert (jnp.diff(S) > 0).all()
    # where β(1+r) > 1 the richest households save up to the cap
    assert (constant_prices[-1, :, :, -1] == e.b_grid[-1]).all()


def test_supply_schedule_is_the_cross_sectional_sum(huggett_book, constant_prices):
    e = huggett_book
    g = jax.random.dirichlet(jax.random.PRNGKey(2), jnp.ones(70 * 3)).reshape(70, 3)
    policy = constant_prices[:, :, 4, :]
    S = supply_schedule(e, g, policy)
    np.testing.assert_allclose(S, [(g * policy[:, :, k]).sum() for k in range(11)], atol=1e-13)


def _linear_schedule(e, slope, intercept):
    """A policy whose supply schedule is S(r) = intercept + slope (r - r_1) under any g."""
    return jnp.broadcast_to(intercept + slope * (e.r_grid - e.r_grid[0]), (70, 3, 11))


def test_market_clearing_interpolates_the_sign_change(huggett_book):
    e = huggett_book
    g = jnp.full((70, 3), 1 / 210)
    cleared = clear_bond_market(e, g, _linear_schedule(e, 10.0, -0.23))
    assert abs(float(cleared.r) - (0.01 + 0.023)) < 1e-14
    assert abs(float(cleared.residual)) < 1e-14 and not bool(cleared.out_of_grid)
    # a decreasing schedule is bracketed as well
    cleared = clear_bond_market(e, g, _linear_schedule(e, -10.0, 0.23))
    assert abs(float(cleared.r) - 0.033) < 1e-14 and not bool(cleared.out_of_grid)


@pytest.mark.parametrize("intercept, r_edge", [(0.1, 0.01), (-1.0, 0.06)])
def test_market_clearing_flags_rates_off_the_grid(huggett_book, intercept, r_edge):
    e = huggett_book
    g = jnp.full((70, 3), 1 / 210)
    cleared = clear_bond_market(e, g, _linear_schedule(e, 10.0, intercept))
    assert bool(cleared.out_of_grid)
    assert float(cleared.r) == r_edge
    assert abs(float(cleared.residual) - (intercept + 10.0 * (r_edge - 0.01))) < 1e-14


def test_market_clearing_under_jit_and_vmap(huggett_book, huggett_equilibrium_book, constant_prices):
    """Clearing on a batch of cross-sections (vmap) inside jit; policy_at_rate returns b′(r*)."""
    e = huggett_book
    g0 = huggett_equilibrium_book.g
    batch = jnp.stack([g0, jnp.roll(g0, 3, axis=0), jnp.full((70, 3), 1 / 210)])
    policy = constant_prices[:, :, 4, :]
    cleared = jax.jit(jax.vmap(clear_bond_market, in_axes=(None, 0, None)))(e, batch, policy)
    assert cleared.r.shape == (3,)
    for g, r, out in zip(batch, cleared.r, cleared.out_of_grid):
        if not out:
            b_next = policy_at_rate(e, policy, r)
            assert abs(float(jnp.sum(b_next * g))) < 1e-12  # interpolated policy clears the market


def test_policy_at_rate_interpolates_linearly(huggett_book, constant_prices):
    e = huggett_book
    policy = constant_prices[:, :, 4, :]
    np.testing.assert_allclose(policy_at_rate(e, policy, e.r_grid[3]), policy[:, :, 3], atol=1e-15)
    midpoint = (e.r_grid[3] + e.r_grid[4]) / 2
    np.testing.assert_allclose(policy_at_rate(e, policy, midpoint), (policy[:, :, 3] + policy[:, :, 4]) / 2, atol=1e-14)


def test_stationary_distribution_stays_well_inside_the_grid(huggett_equilibrium_book, huggett_stationary_book):
    """Book scale's b_max = 20 is well above where households live at r* (a thin, geometric tail)."""
    b_grid = np.asarray(huggett_stationary_book.b_grid)
    mass_by_b = np.asarray(huggett_equilibrium_book.g.sum(axis=1))
    assert mass_by_b[b_grid > 12.0].sum() < 1e-4
    assert mass_by_b[b_grid > 15.0].sum() < 1e-6


# ---------------------------------------------------------------------------------------
# Model 1: the partial-equilibrium interest-rate process
# ---------------------------------------------------------------------------------------


def test_pe_interest_rate_chain():
    e = create_huggett_pe("paper")
    assert (e.r̄, e.ρ_r, e.ν_r) == (0.038, 0.8, 0.02)
    Π_r, r = np.asarray(e.Π_r), np.asarray(e.r_grid)
    assert (Π_r >= 0).all()
    np.testing.assert_allclose(Π_r.sum(axis=1), 1.0, atol=1e-14)
    # conditional moments at nodes away from the grid's ends: mean (1-ρ) r̄ + ρ r, s.d. ν sqrt(r)
    mean = Π_r @ r
    sd = np.sqrt(Π_r @ r**2 - mean**2)
    inner = slice(6, 14)
    np.testing.assert_allclose(mean[inner], 0.2 * 0.038 + 0.8 * r[inner], atol=2e-4)
    np.testing.assert_allclose(sd[inner], 0.02 * np.sqrt(r[inner]), rtol=0.1)
    # the chain's long-run mean is near r̄
    assert abs(float(stationary_markov(Π_r) @ r) - 0.038) < 1e-3


def test_pe_reference_policy_solves_the_euler_equation():
    e = create_huggett_pe("book")
    policy = pe_reference_policy(e)
    assert policy.b_next.shape == (70, 3, 9, 11)
    R, income = exogenous_states(e)
    flat = type(policy)(policy.c.reshape(70, -1), policy.b_next.reshape(70, -1))
    errors = euler_errors(flat, e.b_grid, R, income, (e.Π_y, e.Π_z, e.Π_r), e.β, e.σ)
    log10 = np.asarray(errors.log10_error)[np.asarray(errors.interior)]
    assert np.median(log10) < -4 and log10.max() < -2


def test_pe_needs_the_pe_economy(huggett_book):
    with pytest.raises(ValueError, match="economy.Π_r is None: build the partial-equilibrium economy with create_huggett_pe"):
        pe_reference_policy(huggett_book)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scale="huge"), r"scale must be one of \['book', 'paper'\], got 'huge'"),
        (dict(beta=0.9), r"unknown Huggett parameter\(s\) \['beta'\]"),
        (dict(β=1.0), "discount factor β must satisfy 0 < β < 1, got β = 1.0"),
        (dict(σ=-1.0), "CRRA coefficient σ must be > 0, got σ = -1.0"),
        (dict(ρ_z=1.0), r"persistence ρ must satisfy \|ρ\| < 1, got ρ = 1.0"),
        (dict(ν_y=-0.1), "standard deviation ν must be ≥ 0, got ν = -0.1"),
        (dict(ν_z=0.0), "ν_z = 0 gives a degenerate z grid: use n_z = 1 .create_huggett_stationary., got n_z = 9"),
        (dict(n_r=1), "interest-rate grid size n_r must be an integer ≥ 2, got n_r = 1"),
        (dict(r_min=0.06, r_max=0.01), "the interest-rate grid needs -1 < r_min < r_max, got r_min = 0.06, r_max = 0.01"),
        (dict(b_min=-10.0), r"borrowing limit b_min = -10.0 violates the natural borrowing limit -min\(y z\)/r_max = -8.6"),
        (dict(n_b=1), "asset grid size n_b must be an integer ≥ 2, got 1"),
        (dict(b_max=-2.0), "b_max must exceed the borrowing limit b_min"),
    ],
)
def test_factory_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_huggett(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ρ_r=1.0), r"persistence ρ_r must satisfy \|ρ_r\| < 1, got ρ_r = 1.0"),
        (dict(ν_r=0.0), "volatility ν_r must be > 0, got ν_r = 0.0"),
        (dict(r̄=0.08), r"long-run mean r̄ = 0.08 must lie inside the r grid \[0.01, 0.06\]"),
        (dict(r_min=-0.01), r"the r process needs r > 0 on the grid \(its s.d. is ν_r sqrt\(r\)\), got r_grid\[0\] = -0.01"),
    ],
)
def test_pe_factory_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_huggett_pe(**kwargs)


def test_interest_rate_chain_on_a_custom_grid():
    Π = np.asarray(interest_rate_chain(jnp.linspace(0.02, 0.05, 4), 0.035, 0.5, 0.01))
    np.testing.assert_allclose(Π.sum(axis=1), 1.0, atol=1e-14)


# ---------------------------------------------------------------------------------------
# The chapter's explorer
# ---------------------------------------------------------------------------------------


def test_supply_explorer_draws_the_curve_and_its_zero():
    import matplotlib.pyplot as plt

    from srlteach.solvers.equilibrium import stationary_equilibrium
    from srlteach.presentation.explorers import EXPLORER_GRID, huggett_supply_curve, huggett_supply_explorer

    fig = huggett_supply_explorer(β=0.95, σ=2.0, b_min=-1.5)
    ax_S, ax_g = fig.axes
    r_nodes, S, r_star, b_grid, cdf = huggett_supply_curve(0.95, 2.0, -1.5)
    # r* is where the plotted curve crosses zero, and it is the stationary equilibrium
    assert (np.diff(S) > 0).all() and S[0] < 0 < S[-1]
    assert abs(np.interp(0.0, S, r_nodes) - r_star) < 2e-3
    reference = stationary_equilibrium(create_huggett_stationary("book", β=0.95, b_min=-1.5, **EXPLORER_GRID))
    assert abs(r_star - reference.r) < 1e-9
    assert f"r* = {r_star:.4f}" in " ".join(t.get_text() for t in ax_S.get_legend().get_texts())
    assert abs(cdf[-1] - 1) < 1e-12
    # a looser borrowing limit raises r* (Huggett 1993): more borrowing must be matched by saving
    assert r_star > huggett_supply_curve(0.95, 2.0, -1.0)[2]
    plt.close(fig)


def test_supply_explorer_rejects_bad_parameters():
    from srlteach.presentation.explorers import huggett_supply_explorer

    with pytest.raises(ValueError, match="discount factor β must satisfy 0 < β < 1, got β = 1.0"):
        huggett_supply_explorer(β=1.0)
