"""The analysis helpers of the Krusell–Smith and lagged-prices chapters.

- `euler_errors_along` (Krusell–Smith): errors at dates of one simulation, against the
  same computation written out date by date;
- `forecast_rmse_by_lags_continuous` (lagged prices): forecasts of p_{t+1} with a
  continuous shock, on processes whose answer is known;
- `consumption_gaps` (lagged prices): policies compared on the visited states, against a
  direct evaluation of the budget constraint.

Tiny economies in float64, untrained (perturbed) policies: fast, and exact comparisons.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.analysis.continuous_shocks import continuous_shock_regressors, forecast_rmse_by_lags_continuous
from srlteach.learning import spg
from srlteach.learning.lagged_prices import consumption_gaps, lagged_prices
from srlteach.economies.krusell_smith import (
    cash_on_hand,
    create_krusell_smith,
    euler_errors,
    euler_errors_along,
    krusell_smith_spg,
    log_z_path,
    simulate_aggregates,
)

TINY_KS = dict(n_b=12, n_r=4, n_w=5)


class Policy(NamedTuple):
    """What the helpers read of an `SPGResult`."""

    model: Any
    θ: Any


@pytest.fixture(scope="module")
def tiny():
    model = krusell_smith_spg(create_krusell_smith("book", **TINY_KS))
    θ = model.initial_parameters()
    θ = θ + 0.3 * jax.random.normal(jax.random.PRNGKey(1), θ.shape)  # savings off the nodes
    return model, θ


# ---------------------------------------------------------------------------------------
# Euler errors along a simulated path
# ---------------------------------------------------------------------------------------


def test_euler_errors_along_a_path_are_those_of_each_date(tiny):
    """Each date's numbers equal `euler_errors` at the g_t of one uninterrupted simulation."""
    model, θ = tiny
    log_z = log_z_path(model.economy, jax.random.PRNGKey(2), 40)
    g0 = model.initial_distribution()
    dates = np.array([3, 17, 30])
    summary = euler_errors_along(model, θ, log_z, g0, dates, thresholds=(1e-3, 0.0))
    for k, t in enumerate(dates):
        _, g = simulate_aggregates(model, θ, log_z[:t], g0)
        errors = euler_errors(model, θ, g, log_z[t])
        error, interior, mass = np.asarray(errors.log10_error), np.asarray(errors.interior), np.asarray(g)
        np.testing.assert_allclose(summary.mean[k], np.average(error[interior], weights=mass[interior]), rtol=1e-10)
        assert summary.worst[0.0][k] == pytest.approx(error[interior & (mass > 0)].max(), rel=1e-12)
        assert summary.worst[1e-3][k] == pytest.approx(error[interior & (mass > 1e-3)].max(), rel=1e-12)
    assert np.all(summary.worst[0.0] >= summary.worst[1e-3])  # more nodes, a larger worst
    np.testing.assert_array_equal(summary.dates, dates)


@pytest.mark.parametrize(
    "dates, thresholds, match",
    [
        ([5, 5], (1e-4,), "increase strictly"),
        ([5, 40], (1e-4,), r"\[0, T\) = \[0, 40\)"),
        ([], (1e-4,), "non-empty"),
        ([1.5, 3.0], (1e-4,), "integers"),
        ([5], (float("nan"),), "mass thresholds"),
    ],
)
def test_euler_errors_along_rejects_bad_dates(tiny, dates, thresholds, match):
    model, θ = tiny
    log_z = jnp.zeros(40)
    with pytest.raises(ValueError, match=match):
        euler_errors_along(model, θ, log_z, model.initial_distribution(), np.array(dates), thresholds)


# ---------------------------------------------------------------------------------------
# Forecasts with a continuous shock
# ---------------------------------------------------------------------------------------


def simulated_prices(coefficients, noise, T=300, N=32, seed=0):
    """p_{t+1} = Σ_j c_j p_{t-j} + 0.5 log z_{t+1} + noise e_{t+1}, log z an AR(1)."""
    rng = np.random.default_rng(seed)
    log_z = np.zeros((T, N))
    for t in range(1, T):
        log_z[t] = 0.9 * log_z[t - 1] + 0.013 * rng.standard_normal(N)
    p = np.zeros((T, N))
    for t in range(len(coefficients), T):
        p[t] = sum(c * p[t - 1 - j] for j, c in enumerate(coefficients)) + 0.5 * log_z[t] + noise * rng.standard_normal(N)
    return p[50:], log_z[50:]


def test_an_exact_law_in_the_regressors_is_forecast_exactly():
    """p_{t+1} linear in (p_t, log z_{t+1}): the regressors must be dated right for a zero error."""
    p, log_z = simulated_prices([0.8], noise=0.0)
    rmse = forecast_rmse_by_lags_continuous(p, log_z, 2)
    assert rmse.max() < 1e-10 * p.std()


def test_lags_help_an_ar2_price_and_not_a_markov_one():
    p, log_z = simulated_prices([1.2, -0.5], noise=0.005)
    with_lags = forecast_rmse_by_lags_continuous(p, log_z, 2)
    assert with_lags[1] < 0.8 * with_lags[0]  # p_t-1 is in the law
    assert with_lags[1] == pytest.approx(0.005, rel=0.1)  # and then only the noise is left
    assert abs(with_lags[2] / with_lags[1] - 1) < 0.02  # a third is not
    p, log_z = simulated_prices([0.8], noise=0.005)
    markov = forecast_rmse_by_lags_continuous(p, log_z, 2)
    assert np.all(np.abs(markov / markov[0] - 1) < 0.02)
    # and the noise level is what is left
    assert markov[0] == pytest.approx(0.005, rel=0.1)


def test_continuous_shock_regressors_are_dated_t_and_t_plus_1():
    p, log_z = simulated_prices([0.8], noise=0.001, T=80, N=3)
    extra = continuous_shock_regressors(p, log_z)
    np.testing.assert_array_equal(extra["log z_t"], log_z)
    np.testing.assert_array_equal(extra["log z_t+1"][:-1], log_z[1:])
    np.testing.assert_allclose(extra["p_t*log z_t+1"][:-1], (p[:-1] - p.mean()) * log_z[1:])


@pytest.mark.parametrize("max_lags, shape, match", [(-1, (60, 4), "max_lags"), (float("nan"), (60, 4), "max_lags"), (1, (60, 3), "same shape")])
def test_continuous_forecasts_reject_bad_input(max_lags, shape, match):
    p = np.zeros((60, 4))
    with pytest.raises(ValueError, match=match):
        forecast_rmse_by_lags_continuous(p, np.zeros(shape), max_lags)


# ---------------------------------------------------------------------------------------
# Consumption gaps between a lagged policy and current-price ones
# ---------------------------------------------------------------------------------------


def test_consumption_gaps(tiny):
    """Zero for the same policy (with and without the lag axis); otherwise the g-weighted
    relative gap of consumption computed from the budget constraint at the visited states."""
    model, θ = tiny
    lagged_model = lagged_prices(model, [jnp.linspace(0.02, 0.07, 3)], p0=[0.045])
    θ_other = θ + 0.2
    lagged, reference, other = Policy(lagged_model, lagged_model.expand(θ)), Policy(model, θ), Policy(model, θ_other)
    key, N, T, burn_in = jax.random.PRNGKey(3), 2, 12, 4
    lag_gap, same, shifted = consumption_gaps(lagged, reference, (reference, other), key, N, T, burn_in)
    assert lag_gap < 1e-13 and same == 0.0

    path = spg.simulate(lagged_model, lagged.θ, key, N, T, keep_distributions=True)
    e, b = model.economy, np.asarray(model.economy.b_grid)
    gaps = []
    for t in range(burn_in, T):
        for n in range(N):
            g, log_z = path.g[t, n], path.aggregate.a[t, n]
            p = model.prices_at(jnp.sum(g * b[:, None]), log_z)
            x = cash_on_hand(e, *p.values)
            c_ref, c_other = (x - spg.policy(model, model.actions(th), log_z, p) for th in (θ, θ_other))
            gaps.append(float(jnp.sum(g * jnp.abs(c_other - c_ref)) / jnp.sum(g * c_ref)))
    assert shifted > 0
    assert shifted == pytest.approx(np.mean(gaps), rel=1e-10)


def test_consumption_gaps_rejects_the_wrong_policies(tiny):
    model, θ = tiny
    lagged_model = lagged_prices(model, [jnp.linspace(0.02, 0.07, 3)], p0=[0.045])
    lagged, current = Policy(lagged_model, lagged_model.expand(θ)), Policy(model, θ)
    with pytest.raises(ValueError, match="LaggedPrices plug-in"):
        consumption_gaps(current, current)
    with pytest.raises(ValueError, match="current-price policies"):
        consumption_gaps(lagged, lagged)
    with pytest.raises(ValueError, match="burn_in"):
        consumption_gaps(lagged, current, T=10, burn_in=10)
