"""The Huggett economy in the bond-price timing (srlteach.economies.huggett.bond_price):
factory, constraints between price nodes, market clearing in q, and SPG against the
stationary equilibrium computed independently by EGM and VFI."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.huggett import SPG_BOOK
from srlteach.economies.huggett.bond_price import (
    clear_bond_price,
    consumption_along_paths,
    create_huggett_bond_price,
    create_huggett_bond_price_stationary,
    huggett_bond_price_spg,
    spending_schedule,
    stationary_equilibrium_bond_price,
)
from srlteach.foundations.utility import marginal_utility
from srlteach.learning import spg


@pytest.fixture(scope="module")
def economy():
    return create_huggett_bond_price("book")


@pytest.fixture(scope="module")
def calm():
    return create_huggett_bond_price_stationary("book")


def test_factory_builds_the_q_grid(economy):
    n = {"book": 11, "paper": 20}
    for scale in ("book", "paper"):
        e = economy if scale == "book" else create_huggett_bond_price(scale)
        np.testing.assert_allclose(e.q_grid, np.linspace(0.94, 0.99, n[scale]), rtol=1e-14)
        assert (e.β, e.σ, e.b_min) == (0.96, 2.0, -1.0)
    assert economy.z_grid.size == 9 and economy.b_grid.size == 70


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(r_min=0.01), r"unknown Huggett \(bond price\) parameter\(s\) \['r_min'\]"),
        (dict(q_min=0.99, q_max=0.94), "the bond-price grid needs 0 < q_min < q_max, got q_min = 0.99, q_max = 0.94"),
        (dict(q_min=0.0), "the bond-price grid needs 0 < q_min < q_max, got q_min = 0.0"),
        (dict(q_max=float("nan")), "q_max must be a finite number, got q_max = nan"),
        (dict(q_min=float("-inf")), "q_min must be a finite number"),
        (dict(n_q=1.5), "bond-price grid size n_q must be an integer ≥ 2, got n_q = 1.5"),
        (dict(ν_z=0.0), r"use n_z = 1 \(create_huggett_bond_price_stationary\), got n_z = 9"),
        (dict(b_min=-10.0), r"borrowing limit b_min = -10.0 violates the natural borrowing limit -min\(y z\)/\(1 - q_min\) = -8.6"),
        (dict(β=float("nan")), "β must be a finite number"),
    ],
)
def test_factory_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_huggett_bond_price(**kwargs)


def test_constraints_hold_between_price_nodes(economy):
    """For any θ, at any q between nodes: c = x - a > 0 and b̲ ≤ b′ = a/q ≤ b_max."""
    model = huggett_bond_price_spg(economy)
    θ = 4.0 * jax.random.normal(jax.random.PRNGKey(0), model.initial_parameters().shape)
    table = model.actions(θ)
    for q in np.linspace(0.94, 0.99, 37):
        location, _ = spg.locate_prices((economy.q_grid,), jnp.array([q]))
        prices = spg.Prices(jnp.array([q]), location, 0.0, False)
        for m in (0, 4, 8):
            step = model.individual(spg.interpolate(table, location, m), m, prices)
            assert float(step.outputs["C"].min()) > 0
            b_next = step.outputs["B"]
            assert float(b_next.min()) >= -1.0 - 1e-12 and float(b_next.max()) <= 20.0 + 1e-12


def test_initial_policy_clears_at_q_equal_beta_from_zero_bonds(economy):
    """Expecting (y, z, q) forever, a household keeps its bonds where q = β: at zero bonds
    the market of the warm-up cross-section clears at q = β for every z."""
    model = huggett_bond_price_spg(economy)
    table = model.actions(model.initial_parameters())
    for m in range(economy.z_grid.size):
        market = clear_bond_price(economy, model.g0, jnp.moveaxis(table[m], 0, -1))
        assert not bool(market.out_of_grid)
        assert abs(float(market.q) - 0.96) < 2e-3  # measured within 1e-3: θ's share clipping and the grid


def test_clearing_is_exact_between_nodes(economy):
    """At the q that `clear_bond_price` returns, the households' own bonds Σ b′ g vanish."""
    model = huggett_bond_price_spg(economy)
    table = model.actions(model.initial_parameters() + 0.5 * jax.random.normal(jax.random.PRNGKey(1), (9, 11, 70, 3)))
    g = model.g0  # zero bonds: the perturbed schedules still cross zero inside the grid
    for m in (0, 8):
        market = clear_bond_price(economy, g, jnp.moveaxis(table[m], 0, -1))
        S = spending_schedule(g, jnp.moveaxis(table[m], 0, -1))
        assert not bool(market.out_of_grid) and float(jnp.abs(S).min()) > 1e-6  # a crossing between nodes
        location, _ = spg.locate_prices((economy.q_grid,), market.q[None])
        prices = spg.Prices(market.q[None], location, 0.0, False)
        bonds = model.individual(spg.interpolate(table, location, m), m, prices).outputs["B"]
        assert abs(float(jnp.sum(bonds * g))) < 1e-12


def test_stationary_solution_satisfies_the_bond_price_euler_equation(calm):
    """The solver's transformed problem (wage 1 + r) gives the policy of c + q b′ = b + y:
    q u′(c) = β E u′(c′) at interior states (relative error below 1e-3 where b′ is well inside
    the grid; the linear interpolation of c′ is what is left)."""
    eq = stationary_equilibrium_bond_price(calm)
    q, β, σ = 1 / (1 + eq.r), calm.β, calm.σ
    b, y = np.asarray(calm.b_grid), np.asarray(calm.y_grid)
    c, b_next = np.asarray(eq.policy.c), np.asarray(eq.policy.b_next)
    np.testing.assert_allclose(c, b[:, None] + y - q * b_next, atol=1e-10)  # the budget
    c_next = np.stack([np.interp(b_next, b, c[:, k]) for k in range(y.size)], axis=-1)  # c(b′, y′)
    rhs = β * np.einsum("byk,yk->by", np.asarray(marginal_utility(c_next, σ)), np.asarray(calm.Π_y))
    c_euler = (rhs / q) ** (-1 / σ)
    interior = (b_next > b[2]) & (b_next < 10.0)
    assert interior.sum() > 100
    assert np.abs(c_euler / c - 1)[interior].max() < 1e-3


def test_check_policy_names_the_q_grid():
    with pytest.raises(ValueError, match=r"the q grid \[0.9, 0.95\] does not bracket market clearing at the initial policy"):
        spg.solve(huggett_bond_price_spg(create_huggett_bond_price(q_min=0.90, q_max=0.95)), SPG_BOOK)
    with pytest.raises(ValueError, match=r"stationary price q\* lies above q_max .*; raise q_max"):
        spg.solve(huggett_bond_price_spg(create_huggett_bond_price(q_min=0.95, q_max=0.97)), SPG_BOOK)


def test_plugin_rejects_the_return_timing_economy():
    from srlteach.economies.huggett import create_huggett

    with pytest.raises(ValueError, match="economy must be a HuggettBondPrice"):
        huggett_bond_price_spg(create_huggett())


# ---------------------------------------------------------------------------------------
# SPG: without aggregate risk against EGM and VFI; with it, clearing and Walras' law
# ---------------------------------------------------------------------------------------


def test_no_aggregate_risk_price_converges_to_the_stationary_equilibrium(calm):
    """SPG's q settles (last 100 periods constant to 1e-6) within 1e-4 of q* = 1/(1 + r*) from
    VFI (the same lottery discretisation; measured 4.6e-5) and within 5e-4 of EGM's
    (measured 3.3e-4: EGM's discretisation differs, as in the return timing)."""
    result = spg.solve(huggett_bond_price_spg(calm), SPG_BOOK._replace(N=2))
    q = spg.simulate(result.model, result.θ, jax.random.PRNGKey(0), 1, 300, start=result.state).prices.values[:, 0, 0]
    assert result.converged
    assert float(jnp.abs(q[-100:] - q[-1]).max()) < 1e-6
    q_vfi = 1 / (1 + stationary_equilibrium_bond_price(calm, method="vfi").r)
    q_egm = 1 / (1 + stationary_equilibrium_bond_price(calm).r)
    assert abs(float(q[-1]) - q_vfi) < 1e-4
    assert abs(float(q[-1]) - q_egm) < 5e-4


@pytest.fixture(scope="module")
def ge():
    result = spg.solve(huggett_bond_price_spg(create_huggett_bond_price("book", n_b=40, n_z=5)), SPG_BOOK._replace(N=16))
    path = spg.simulate(result.model, result.θ, jax.random.PRNGKey(11), 8, 200, start=result.state, keep_distributions=True)
    return result, path


def test_ge_markets_clear_and_walras_law_holds(ge):
    """8 paths × 200 periods: q inside its grid, Σ b′ g_t = 0 up to float32 rounding, aggregate consumption
    equals aggregate income z_t Σ y g_t, and the per-state consumption of
    `consumption_along_paths` adds up to the recorded C_t."""
    result, path = ge
    e = result.model.economy
    assert result.converged and int(path.prices.out_of_grid.sum()) == 0
    # the residual from the interpolated schedule (measured 4e-9); Σ b′ g summed anew in float32
    # over 120 states with b′ up to b_max = 20 (measured 1.3e-6)
    assert float(jnp.abs(path.prices.residual).max()) < 1e-6 and float(jnp.abs(path.aggregates["B"]).max()) < 1e-5
    q = path.prices.values[..., 0]
    assert float(q.std()) > 1e-3 and 0.94 < float(q.min()) and float(q.max()) < 0.99
    income = e.z_grid[path.aggregate] * (path.g * e.y_grid).sum(axis=(2, 3))
    np.testing.assert_allclose(path.aggregates["C"], income, rtol=1e-5)
    c = consumption_along_paths(result.model, result.θ, path)
    np.testing.assert_allclose((c * path.g).sum(axis=(2, 3)), path.aggregates["C"], rtol=1e-5)
    # good times raise income and the demand for bonds: their price rises with z
    assert np.corrcoef(np.ravel(q), np.ravel(e.z_grid[path.aggregate]))[0, 1] > 0.9

