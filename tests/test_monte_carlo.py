"""Monte Carlo value estimation against dynamic programming (the Monte Carlo chapter's claims)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.discretisation import stationary_markov
from srlteach.learning.monte_carlo import (
    create_rate_chain,
    create_rentier,
    discounted_sum,
    markov_chain_returns,
    markov_chain_value_mc,
    markov_value,
    mean_and_se,
    monte_carlo_error_by_n,
    rentier_utility,
    simulate_markov_chain,
    stochastic_approximation,
    truncation_horizon,
)


@pytest.fixture(scope="module")
def rentier_problem():
    """The chapter's calibration: AR(1) rate on 7 Tauchen nodes, β = 0.96, σ = 2, b̄ = 5."""
    chain, rentier = create_rate_chain(), create_rentier()
    return chain, rentier, rentier_utility(chain.r, rentier)


def test_markov_value_solves_the_bellman_equation(rentier_problem):
    chain, rentier, u = rentier_problem
    v = markov_value(u, chain.Π, rentier.β)
    np.testing.assert_allclose(v, u + rentier.β * chain.Π @ v, rtol=1e-13)
    # and equals the truncated series Σ_t β^t Π^t u summed far out
    series, term = jnp.zeros_like(u), u
    for _ in range(2000):
        series, term = series + term, rentier.β * chain.Π @ term
    np.testing.assert_allclose(v, series, rtol=1e-12)


def test_monte_carlo_agrees_with_dp_within_standard_errors(rentier_problem):
    """At every starting node: |MC - DP| < 4 s.e., and the z-scores look standard normal."""
    chain, rentier, u = rentier_problem
    v = markov_value(u, chain.Π, rentier.β)
    T = truncation_horizon(rentier.β, 1e-6)
    z = []
    for i0 in range(chain.r.size):
        estimate = markov_chain_value_mc(jax.random.PRNGKey(10 + i0), u, chain.Π, rentier.β, i0, 10_000, T)
        assert 0.002 < float(estimate.se) < 0.005  # the precision the chapter reports
        z.append(float((estimate.mean - v[i0]) / estimate.se))
    assert np.all(np.abs(z) < 4), z
    assert np.mean(np.square(z)) < 3  # a biased estimator would blow this up


def test_truncation_bias_is_detected_and_exact(rentier_problem):
    """With β^T < 1e-3 Monte Carlo is biased against the infinite-horizon value (a test that
    can fail), and unbiased against the finite-horizon DP value v^(T)."""
    chain, rentier, u = rentier_problem
    T = truncation_horizon(rentier.β, 1e-3)
    estimate = markov_chain_value_mc(jax.random.PRNGKey(6), u, chain.Π, rentier.β, 3, 10_000, T)
    v = markov_value(u, chain.Π, rentier.β)
    v_T = jnp.zeros_like(u)
    for _ in range(T):
        v_T = u + rentier.β * chain.Π @ v_T
    assert abs(float((estimate.mean - v[3]) / estimate.se)) > 4
    assert abs(float((estimate.mean - v_T[3]) / estimate.se)) < 4


def test_error_falls_like_one_over_sqrt_n(rentier_problem):
    chain, rentier, u = rentier_problem
    T = truncation_horizon(rentier.β, 1e-6)
    ns = np.array([10, 40, 160, 640])
    rmse, se = monte_carlo_error_by_n(jax.random.PRNGKey(2), u, chain.Π, rentier.β, 3, T, ns, replications=60)
    slope = np.polyfit(np.log(ns), np.log(rmse), 1)[0]
    assert -0.65 < slope < -0.35, slope
    np.testing.assert_allclose(rmse, se, rtol=0.35)  # the standard error measures the error


def test_simulated_chain_has_the_transition_frequencies(rentier_problem):
    chain, _, _ = rentier_problem
    paths = np.asarray(simulate_markov_chain(jax.random.PRNGKey(0), chain.Π, 3, 2000, 50))
    assert paths.shape == (2000, 50) and (paths[:, 0] == 3).all()
    counts = np.zeros((7, 7))
    np.add.at(counts, (paths[:, :-1].ravel(), paths[:, 1:].ravel()), 1)
    visited = counts.sum(axis=1) > 2000
    freq = counts[visited] / counts[visited].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(freq, np.asarray(chain.Π)[visited], atol=0.02)


def test_returns_accumulate_the_simulated_paths(rentier_problem):
    """markov_chain_returns uses the same draws as simulate_markov_chain."""
    chain, rentier, u = rentier_problem
    key = jax.random.PRNGKey(7)
    paths = simulate_markov_chain(key, chain.Π, 2, 5, 30)
    np.testing.assert_allclose(
        markov_chain_returns(key, u, chain.Π, rentier.β, 2, 5, 30), discounted_sum(u[paths], rentier.β), rtol=1e-13
    )


def test_stochastic_approximation():
    x = jax.random.normal(jax.random.PRNGKey(0), (500,)) + 2.0
    k = jnp.arange(1, 501)
    np.testing.assert_allclose(stochastic_approximation(x), jnp.cumsum(x) / k, rtol=1e-12)
    # constant rate: exponentially weighted average with weights α(1-α)^(K-j)
    α = 0.1
    weights = α * (1 - α) ** jnp.arange(499, -1, -1)
    np.testing.assert_allclose(stochastic_approximation(x, α)[-1], weights @ x, rtol=1e-12)
    # a schedule and a batch of sequences along axis 1
    X = jnp.stack([x, 2 * x], axis=1)
    np.testing.assert_allclose(stochastic_approximation(X, lambda k: 1.0 / k)[-1], X.mean(axis=0), rtol=1e-12)


def test_constant_learning_rate_variance():
    """Var(x̄_k) → α/(2-α) Var(x) for a constant learning rate (the chapter's exercise 1)."""
    draws = jax.random.normal(jax.random.PRNGKey(5), (400, 4000))
    final = stochastic_approximation(draws, 0.05)[-1]
    assert float(final.var()) == pytest.approx(0.05 / 1.95, rel=0.1)


def test_mean_and_se():
    estimate = mean_and_se(jnp.array([1.0, 2.0, 3.0, 4.0]))
    assert float(estimate.mean) == 2.5 and estimate.n == 4
    assert float(estimate.se) == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)


def test_exact_expectation_against_sample_mean(rentier_problem):
    chain, _, u = rentier_problem
    ψ = stationary_markov(chain.Π)
    draws = u[jax.random.choice(jax.random.PRNGKey(1), 7, (100_000,), p=ψ)]
    estimate = mean_and_se(draws)
    assert abs(float((estimate.mean - ψ @ u) / estimate.se)) < 4


def test_truncation_horizon():
    assert truncation_horizon(0.96, 1e-3) == 170  # the paper's T for the Huggett economy
    assert 0.96**170 < 1e-3 <= 0.96**169


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: create_rentier(β=1.0), "β"),
        (lambda: create_rentier(σ=0.0), "σ"),
        (lambda: create_rentier(b̄=-1.0), "b̄"),
        (lambda: create_rate_chain(ρ=1.0), "ρ"),
        (lambda: create_rate_chain(ν=-0.01), "ν"),
        (lambda: create_rate_chain(r̄=-0.99, ν=0.1), "r̄"),
        (lambda: truncation_horizon(0.96, 2.0), "tolerance"),
        (lambda: mean_and_se(jnp.ones(1)), "N"),
        (lambda: stochastic_approximation(jnp.ones(3), 1.5), "α"),
        (lambda: markov_value(jnp.ones(2), jnp.array([[0.5, 0.6], [0.5, 0.5]]), 0.9), "rows of Π"),
    ],
)
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()
