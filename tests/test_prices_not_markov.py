"""Equilibrium prices are not Markov: the statistics and the chapter's claims."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.analysis.forecasting import (
    added_variable_bins,
    cross_section_moments,
    forecast_design,
    forecast_rmse_by_lags,
    ols,
    usable_dates,
)
from srlteach.economies.huggett.price_lab import (
    create_price_lab,
    matched_starting_points,
    rate_paths_from,
    simulate_lab,
)
from srlteach.learning.monte_carlo import create_rentier, discounted_sum, mean_and_se, rentier_utility

# ---------------------------------------------------------------------------------------
# The statistics, on processes whose answer is known
# ---------------------------------------------------------------------------------------


def test_ols_recovers_coefficients_and_clustered_se_reduce_to_white():
    """With one observation per cluster, the clustered covariance is White's HC1."""
    rng = np.random.default_rng(0)
    n = 4000
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    e = rng.normal(size=n) * (1 + np.abs(X[:, 1]))  # heteroskedastic
    y = X @ np.array([1.0, -2.0, 0.5]) + e
    fit = ols(y, X, ("c", "x1", "x2"), np.arange(n))
    np.testing.assert_allclose(fit.coef, [1.0, -2.0, 0.5], atol=5 * fit.se.max())
    XtX_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ fit.coef
    hc1 = XtX_inv @ (X.T * resid**2) @ X @ XtX_inv * n / (n - 3)
    np.testing.assert_allclose(fit.se, np.sqrt(np.diag(hc1)), rtol=1e-10)
    np.testing.assert_allclose(fit.t, fit.coef / fit.se)


def test_clustered_se_account_for_dependence_within_paths():
    """A regressor constant within clusters with a cluster-level error: naive s.e. are far too
    small, clustered s.e. are not (their t-statistics look standard normal across draws)."""
    rng = np.random.default_rng(1)
    t_stats = []
    for _ in range(200):
        G, m = 40, 50
        clusters = np.repeat(np.arange(G), m)
        x = np.repeat(rng.normal(size=G), m)
        y = np.repeat(rng.normal(size=G), m) + 0.1 * rng.normal(size=G * m)  # true slope 0
        X = np.column_stack([np.ones(G * m), x])
        t_stats.append(ols(y, X, ("c", "x"), clusters).t[1])
    assert 0.6 < np.std(t_stats) < 1.4  # naive s.e. would give a spread of about sqrt(m) = 7


def simulate_ar(ρ_x=0.5, T=400, N=40, seed=0):
    """x: an AR(1) (a Markov price); h: a slow hidden AR(1) that x + h also carries."""
    rng = np.random.default_rng(seed)
    x, h = np.zeros((T, N)), np.zeros((T, N))
    for t in range(1, T):
        x[t] = ρ_x * x[t - 1] + rng.normal(size=N)
        h[t] = 0.95 * h[t - 1] + 0.5 * rng.normal(size=N)
    return x, h


def test_lags_do_not_help_a_markov_price_but_help_a_hidden_state():
    x, h = simulate_ar()
    z = np.zeros(x.shape, int)
    markov = forecast_rmse_by_lags(x, z, 4)
    assert np.all(np.abs(markov / markov[0] - 1) < 0.01), markov
    noise, h = simulate_ar(ρ_x=0.0)
    hidden = forecast_rmse_by_lags(noise + h, z, 4)  # a persistent signal in noise: not Markov
    assert hidden[4] < hidden[2] < 0.95 * hidden[0], hidden


def test_forecast_design_detects_a_hidden_state():
    x, h = simulate_ar()
    z = np.zeros(x.shape, int)
    y, X, names, path = forecast_design(x + h, z, extra={"h": h})
    fit = ols(y, X, names, path)
    assert names[-1] == "h" and abs(fit.t[-1]) > 10
    y, X, names, path = forecast_design(x, z, extra={"h": h})  # h is irrelevant for x
    assert abs(ols(y, X, names, path).t[-1]) < 4


def test_added_variable_bins_reproduce_the_coefficient():
    x, h = simulate_ar()
    y, X, names, path = forecast_design(x + h, np.zeros(x.shape, int), extra={"h": h})
    x_bins, y_bins = added_variable_bins(y, X)
    slope = np.polyfit(x_bins, y_bins, 1)[0]
    assert slope == pytest.approx(ols(y, X, names, path).coef[-1], rel=0.05)


def test_usable_dates_skip_clipped_dates_and_their_aftermath():
    clipped = np.zeros((10, 2), bool)
    clipped[3, 0] = True
    valid = usable_dates(clipped, recovery=2)
    assert valid[:, 1].all() and list(np.flatnonzero(~valid[:, 0])) == [3, 4, 5]


def test_cross_section_moments():
    b_grid = jnp.array([-1.0, 0.0, 2.0])
    g = jnp.array([[0.25, 0.25], [0.0, 0.25], [0.25, 0.0]])
    m = cross_section_moments(g, b_grid)
    assert m["mean_b"] == pytest.approx(0.0) and m["at_limit"] == pytest.approx(0.5)
    assert m["sd_b"] == pytest.approx(np.sqrt(1.5)) and m["debt"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ols(np.ones(5), np.ones((5, 2)), ("a", "b"), np.arange(5)), "collinear"),
        (lambda: ols(np.ones(5), np.eye(5)[:, :2], ("a",), np.arange(5)), "names"),
        (lambda: ols(np.arange(5.0), np.eye(5)[:, :2], ("a", "b"), np.zeros(5)), "2 clusters"),
        (lambda: forecast_design(np.ones((5, 2)), np.zeros((5, 2), int), lags=5), "no observation"),
        (lambda: forecast_rmse_by_lags(np.ones((9, 2)), np.zeros((9, 2), int), 1, train_share=1.0), "train_share"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------
# The Huggett economy under the chapter's fixed policy
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab():
    return create_price_lab("book")


@pytest.fixture(scope="module")
def lab_paths(lab):
    """16 paths of 500 years after a 300-year burn-in (the chapter uses 64 × 1000)."""
    path = simulate_lab(lab, jax.random.PRNGKey(0), 16, 500, burn_in=300, keep_distributions=True)
    r = np.asarray(path.prices.values[..., 0])
    moments = cross_section_moments(np.asarray(path.g), lab.economy.b_grid)
    return path, r, np.asarray(path.aggregate), usable_dates(path.prices.out_of_grid), moments


def test_markets_clear_along_the_simulated_paths(lab_paths):
    path, r, _, valid, moments = lab_paths
    cleared = ~np.asarray(path.prices.out_of_grid)
    assert valid.mean() > 0.99  # the rate rarely leaves the grid, and such dates are flagged
    assert np.abs(np.asarray(path.prices.residual))[cleared].max() < 1e-12
    after_clear = np.ones_like(cleared)
    after_clear[1:] = cleared[:-1]
    assert np.abs(moments["mean_b"][after_clear]).max() < 1e-12  # zero net supply
    assert 0.015 < r.mean() < 0.035 and r.std() > 1e-3  # r moves around r*


def test_next_rate_depends_on_the_cross_section(lab_paths):
    """The non-Markov statistic: given (r_t, z_t, z_{t+1}), a moment of g_t still matters."""
    _, r, z, valid, moments = lab_paths
    for name in ("sd_b", "debt"):
        y, X, names, path = forecast_design(r, z, extra={name: moments[name]}, valid=valid)
        fit = ols(y, X, names, path)
        assert abs(fit.t[-1]) > 10, (name, fit.t[-1])


def test_lagged_rates_improve_out_of_sample_forecasts(lab_paths):
    _, r, z, valid, _ = lab_paths
    rmse = forecast_rmse_by_lags(r, z, 3, valid=valid)
    assert rmse[1] < 0.9 * rmse[0] and rmse[2] < 0.6 * rmse[0], rmse


def test_same_price_different_values(lab, lab_paths):
    """Two states with the same (r_0, z_0) and different g_0 have different rentier values:
    the paired (common random numbers) Monte Carlo difference is significant."""
    path = lab_paths[0]
    start_a, start_b = matched_starting_points(lab, path, tol=2e-5)
    assert int(start_a.a) == int(start_b.a) and abs(start_a.r - start_b.r) < 2e-5
    rentier = create_rentier()
    values = [
        discounted_sum(rentier_utility(rate_paths_from(lab, s, jax.random.PRNGKey(4), 200, 170).T, rentier), rentier.β)
        for s in (start_a, start_b)
    ]
    difference = mean_and_se(values[0] - values[1])
    assert abs(float(difference.mean / difference.se)) > 10
    first_period = abs(float(rentier_utility(start_a.r, rentier) - rentier_utility(start_b.r, rentier)))
    assert first_period < 0.05 * abs(float(difference.mean))
