"""The Krusell–Smith (1998) algorithm: the rational-expectations benchmark of the book.

The chapter's calibration (book scale, default `KS1998Config`) is solved once per session.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.krusell_smith import create_krusell_smith, log_z_path
from srlteach.economies.krusell_smith.ks1998 import (
    KS1998Config,
    aggregate_grid,
    den_haan_error,
    fit_law_of_motion,
    household_policy,
    perceived_capital,
    perceived_transition,
    simulate,
    solve_ks1998,
)


@pytest.fixture(scope="session")
def economy(ks_book):
    return ks_book


@pytest.fixture(scope="session")
def solution(ks1998_book):
    return ks1998_book


def test_fixed_point_reached_with_high_r_squared(solution):
    assert solution.converged
    assert solution.r_squared > 0.99
    assert solution.r_squared > 0.9999  # what the book reports
    assert 2 < solution.iterations < KS1998Config().max_iter


def test_coefficients_are_those_of_a_stable_law_near_the_stationary_capital(solution):
    a0, a1, a2 = solution.a
    assert 0.85 < a1 < 0.99  # persistent but stable
    assert a2 > 0  # a good shock raises tomorrow's capital
    K_star = np.exp(a0 / (1 - a1))  # fixed point of the law at log z = 0
    assert abs(K_star / solution.K_ss - 1) < 0.01
    burnt = np.asarray(solution.path.K)[KS1998Config().burn_in :]
    assert abs(burnt.mean() / solution.K_ss - 1) < 0.01


def test_regressing_the_fixed_point_simulation_returns_the_law(economy, solution, ks_equilibrium_book):
    """One more iteration at the reported coefficients moves them by less than tol."""
    config = KS1998Config()
    policy = household_policy(economy, solution.grid, solution.a, solution.policy.c)
    path, _ = simulate(economy, solution.grid, policy, ks_equilibrium_book.g, solution.path.log_z)
    fit = fit_law_of_motion(path.K, solution.path.log_z, config.burn_in)
    assert np.abs(fit.a - solution.a).max() < config.tol


def test_dynamic_forecast_error_is_small(solution):
    assert solution.den_haan < 0.01  # 1 % of K along 1800 periods
    assert solution.z_outside < 0.01


def test_prices_equal_the_closed_forms_along_the_path(economy, solution):
    K, z = np.asarray(solution.path.K), np.exp(np.asarray(solution.path.log_z))
    eigenvalues, eigenvectors = np.linalg.eig(np.asarray(economy.Π_y).T)
    ψ = np.real(eigenvectors[:, np.argmin(np.abs(eigenvalues - 1))])
    α, δ, L = 0.36, 0.08, float(ψ @ np.asarray(economy.y_grid) / ψ.sum())  # models.md, model 3
    np.testing.assert_allclose(solution.path.r, α * z * (K / L) ** (α - 1) - δ, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(solution.path.w, (1 - α) * z * (K / L) ** α, rtol=1e-12)


def test_resources_add_up_along_the_path(economy, solution):
    """C_t + K_{t+1} = (1 + r_t) K_t + w_t L: the lottery preserves mean savings exactly."""
    p = solution.path
    income = (1 + p.r) * p.K + p.w * economy.L
    np.testing.assert_allclose(p.C[:-1] + p.K[1:], income[:-1], rtol=1e-10)


def test_policy_respects_the_constraints(economy, solution):
    c, b_next = solution.policy
    assert float(c.min()) > 0
    assert float(b_next.min()) >= 0
    assert float(b_next.max()) <= float(economy.b_grid[-1])


def test_perceived_transition_is_a_mean_preserving_markov_chain(solution):
    grid = solution.grid
    Q = perceived_transition(solution.a, grid)
    n_K, n_z = grid.K.size, grid.log_z.size
    np.testing.assert_allclose(Q.sum(axis=1), 1.0, atol=1e-14)
    assert float(Q.min()) >= 0
    # E[K′ | K, z] = K̂′(K, z) wherever K̂′ lies inside the K grid.
    mean_K = (Q.reshape(n_K, n_z, n_K, n_z).sum(axis=3) * grid.K).sum(axis=2)
    target = perceived_capital(solution.a, grid.K[:, None], grid.log_z[None, :])
    inside = (target >= grid.K[0]) & (target <= grid.K[-1])
    assert bool(inside.mean() > 0.5)
    np.testing.assert_allclose(mean_K[inside], target[inside], rtol=1e-13)


def test_coefficients_are_insensitive_to_the_K_grid(economy, solution):
    """Twice as many K nodes (17 instead of 9) move the coefficients by less than 5e-4."""
    finer = solve_ks1998(economy, KS1998Config(n_K=17), a0=solution.a)
    assert finer.converged
    assert np.abs(finer.a - solution.a).max() < 5e-4


def test_fit_recovers_a_known_law():
    rng = np.random.default_rng(0)
    a = np.array([0.1, 0.9, 0.2])
    log_z = rng.normal(0, 0.03, 400)
    log_K = np.empty(400)
    log_K[0] = 1.0
    for t in range(399):
        log_K[t + 1] = a[0] + a[1] * log_K[t] + a[2] * log_z[t]
    fit = fit_law_of_motion(np.exp(log_K), log_z, burn_in=10)
    np.testing.assert_allclose(fit.a, a, atol=1e-10)
    assert fit.r_squared > 1 - 1e-12
    assert den_haan_error(a, np.exp(log_K), log_z, 10) < 1e-10


def test_same_seed_same_numbers(economy):
    config = KS1998Config(n_K=5, n_z=3, T=300, burn_in=50, tol=1e-4)
    first, second = solve_ks1998(economy, config), solve_ks1998(economy, config)
    np.testing.assert_array_equal(first.a, second.a)
    np.testing.assert_array_equal(first.path.K, second.path.K)
    other = solve_ks1998(economy, config._replace(seed=1))
    assert np.abs(other.a - first.a).max() > 0


@pytest.mark.parametrize(
    "override, match",
    [
        (dict(n_K=1), "n_K must be an integer ≥ 2"),
        (dict(n_z=1), "n_z must be an integer ≥ 2"),
        (dict(K_width=0.0), "K_width"),
        (dict(damping=0.0), "damping"),
        (dict(damping=1.5), "damping"),
        (dict(T=100, burn_in=200), "T must be an integer ≥ burn_in"),
        (dict(tol=0.0), "tol must be > 0"),
    ],
)
def test_bad_config_raises(economy, override, match):
    with pytest.raises(ValueError, match=match):
        solve_ks1998(economy, KS1998Config(**override))


def test_too_narrow_K_grid_raises(economy):
    with pytest.raises(ValueError, match="K_width = 0.01 is too narrow"):
        solve_ks1998(economy, KS1998Config(K_width=0.01, T=400, burn_in=50))


def test_no_aggregate_risk_raises():
    with pytest.raises(ValueError, match="ν_z must be > 0"):
        aggregate_grid(create_krusell_smith("book", ν_z=0.0), 5.0)


def test_short_shock_path_raises(economy):
    with pytest.raises(ValueError, match="log_z must be a 1-d path"):
        solve_ks1998(economy, log_z=jnp.zeros(50))


def test_log_z_path_has_the_calibrated_moments(economy):
    log_z = np.asarray(log_z_path(economy, jax.random.PRNGKey(3), 200_000))
    ρ, ν = economy.ρ_z, economy.ν_z
    assert abs(log_z.std() / ν - 1) < 0.03
    assert abs(np.corrcoef(log_z[1:], log_z[:-1])[0, 1] - ρ) < 0.01
