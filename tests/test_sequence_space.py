"""The sequence-space solution: household Jacobians, the linear and the nonlinear general
equilibrium responses (srlteach.solvers.sequence_space)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlteach.economies.huggett import create_huggett, create_huggett_stationary
from srlteach.economies.krusell_smith import create_krusell_smith
from srlteach.solvers import sequence_space as ss
from srlteach.solvers.equilibrium import stationary_equilibrium

T = 40  # short horizons keep the tests fast; the structure does not depend on T


@pytest.fixture(scope="module")
def ks():
    economy = create_krusell_smith("book", n_b=30)
    steady = stationary_equilibrium(economy)
    household = ss.household_of(economy)
    return economy, steady, household, ss.household_jacobians(household, steady, T)


@pytest.fixture(scope="module")
def huggett():
    economy = create_huggett("book", n_b=30)
    steady = stationary_equilibrium(create_huggett_stationary("book", n_b=30))
    household = ss.household_of(economy)
    return economy, steady, household, ss.household_jacobians(household, steady, T)


def constant(value):
    return jnp.full(T, value)


@pytest.mark.parametrize("name", ["ks", "huggett"])
def test_stationary_equilibrium_is_the_fixed_point_of_the_transition_path(name, request):
    economy, steady, household, _ = request.getfixturevalue(name)
    path = ss.household_path(household, steady, constant(steady.r), constant(steady.w))
    assert np.abs(np.asarray(path.C) - steady.C).max() < 1e-8
    assert np.abs(np.asarray(path.K) - steady.K).max() < 1e-7
    assert np.abs(np.asarray(path.A) - steady.K).max() < 1e-7  # stationary: assets chosen = assets brought in
    model = (ss.krusell_smith_model if name == "ks" else ss.huggett_model)(economy, steady, T)
    r, w = model.prices(model.U_ss, model.Z_ss)
    assert np.allclose(r, steady.r, atol=1e-12) and np.allclose(w, steady.w, atol=1e-12)
    assert np.abs(np.asarray(model.residual(path.C, path.A, model.U_ss, model.Z_ss))).max() < 1e-7


@pytest.mark.parametrize("name", ["ks", "huggett"])
@pytest.mark.parametrize("x", ss.INPUTS)
def test_jacobians_match_finite_differences(name, x, request):
    _, steady, household, J = request.getfixturevalue(name)
    h = 1e-5
    base = {"r": constant(steady.r), "w": constant(steady.w)}
    for s in (0, 1, 7, T - 1):  # impact, the R_next channel, an interior date, the last date
        e = jnp.zeros(T).at[s].set(h)
        up = ss.household_path(household, steady, **{**base, x: base[x] + e})
        down = ss.household_path(household, steady, **{**base, x: base[x] - e})
        for Y in ss.OUTPUTS:
            fd = (np.asarray(getattr(up, Y)) - np.asarray(getattr(down, Y))) / (2 * h)
            column = np.asarray(J[Y, x][:, s])
            assert np.abs(fd - column).max() < 1e-5 * max(1.0, np.abs(column).max()), (Y, x, s)
            assert np.abs(column).max() > 1e-3  # the shock moves the aggregate: the check has teeth


def test_fake_news_equals_direct_forward_mode(ks):
    _, steady, household, J = ks
    direct = jax.jacfwd(lambda r, w: ss.household_path(household, steady, r, w), argnums=(0, 1))(constant(steady.r), constant(steady.w))
    for i, x in enumerate(ss.INPUTS):
        for Y in ss.OUTPUTS:
            assert np.abs(np.asarray(getattr(direct, Y)[i] - J[Y, x])).max() < 1e-8 * np.abs(np.asarray(J[Y, x])).max()


def test_capital_brought_in_is_the_lagged_choice(ks):
    _, steady, household, J = ks
    path = ss.household_path(household, steady, constant(steady.r).at[3].add(0.01), constant(steady.w))
    assert np.allclose(path.K[1:], path.A[:-1], atol=1e-12) and abs(float(path.K[0]) - steady.K) < 1e-12
    assert np.allclose(ss.lagged(J["A", "r"])[1:], J["A", "r"][:-1]) and not ss.lagged(J["A", "r"])[0].any()


@pytest.mark.parametrize("name", ["ks", "huggett"])
def test_linear_response_is_the_first_order_of_the_perfect_foresight_response(name, request):
    economy, steady, household, J = request.getfixturevalue(name)
    model = (ss.krusell_smith_model if name == "ks" else ss.huggett_model)(economy, steady, T)
    errors = []
    for size in (1e-3, 5e-4):
        dZ = ss.ar1_path(size, economy.ρ_z, T)
        linear = ss.linear_impulse_responses(model, J, steady, dZ)
        exact = ss.perfect_foresight(model, J, steady, dZ, household, tol=1e-13)
        assert exact.residual < 1e-13
        gaps = [np.abs(np.asarray(getattr(exact.responses, k) - getattr(linear, k))).max() / np.abs(np.asarray(getattr(linear, k))).max()
                for k in ("U", "r", "C")]
        errors.append(max(gaps))
    # relative to the response, the gap is 1e-3 and halves with the shock: the absolute gap
    # is of second order (a first-order error would leave the relative gap unchanged)
    assert errors[0] < 2e-3
    assert 1.7 < errors[0] / errors[1] < 2.3


def test_newton_needs_several_steps_for_a_large_shock(ks):
    economy, steady, household, J = ks
    model = ss.krusell_smith_model(economy, steady, T)
    dZ = ss.ar1_path(0.1, economy.ρ_z, T)
    exact = ss.perfect_foresight(model, J, steady, dZ, household)
    linear = ss.linear_impulse_responses(model, J, steady, dZ)
    assert exact.iterations >= 2 and exact.residual < 1e-10
    assert np.abs(np.asarray(exact.responses.U - linear.U)).max() > 1e-3 * np.abs(np.asarray(linear.U)).max()


def test_bad_inputs(ks):
    economy, steady, household, J = ks
    model = ss.krusell_smith_model(economy, steady, T)
    with pytest.raises(ValueError, match="horizon T"):
        ss.household_jacobians(household, steady, 1)
    with pytest.raises(ValueError, match="dZ must be a path"):
        ss.linear_impulse_responses(model, J, steady, jnp.zeros(T + 1))
    with pytest.raises(ValueError, match="dZ must be finite"):
        ss.linear_impulse_responses(model, J, steady, jnp.zeros(T).at[2].set(np.nan))
    with pytest.raises(ValueError, match="tol"):
        ss.perfect_foresight(model, J, steady, jnp.zeros(T), household, tol=np.nan)
    with pytest.raises(ValueError, match="persistence ρ"):
        ss.ar1_path(0.01, 1.0, T)
    with pytest.raises(ValueError, match="size"):
        ss.ar1_path(np.inf, 0.9, T)
