"""Markov chains and asset grids (srlteach.foundations.discretisation)."""

import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.discretisation import (
    asset_grid,
    check_chain_settings,
    check_grid,
    check_transition_matrix,
    rouwenhorst,
    stationary_markov,
    tauchen,
)


def test_income_chain_matches_the_spec():
    """models.md: y = exp({-0.6, 0, 0.6}), stationary distribution ≈ (0.0733, 0.8534, 0.0733)."""
    x, Π = tauchen(3, 0.6, 0.2)
    np.testing.assert_allclose(np.exp(np.asarray(x)), [0.5488, 1.0, 1.8221], atol=5e-5)
    np.testing.assert_allclose(stationary_markov(Π), [0.0733, 0.8534, 0.0733], atol=5e-5)


@pytest.mark.parametrize("method", [tauchen, rouwenhorst])
@pytest.mark.parametrize("n", [2, 3, 7, 30])
def test_chains_are_stochastic_matrices(method, n):
    x, Π = method(n, 0.9, 0.02)
    Π = np.asarray(Π)
    assert x.shape == (n,) and Π.shape == (n, n)
    assert (Π >= 0).all()
    np.testing.assert_allclose(Π.sum(axis=1), 1.0, atol=1e-14)
    assert (np.diff(np.asarray(x)) > 0).all()


def test_rouwenhorst_matches_the_ar1_moments_exactly():
    """Rouwenhorst: E[x′|x] = ρ x and an unconditional s.d. of exactly ν."""
    ρ, ν = 0.9, 0.02
    x, Π = (np.asarray(a) for a in rouwenhorst(11, ρ, ν))
    np.testing.assert_allclose(Π @ x, ρ * x, atol=1e-15)
    ψ = np.asarray(stationary_markov(Π))
    np.testing.assert_allclose(np.sqrt(ψ @ x**2 - (ψ @ x) ** 2), ν, rtol=1e-10)


def test_tauchen_approximates_the_ar1_on_a_fine_chain():
    """With many nodes, Tauchen's chain has the AR(1)'s persistence and s.d. (to ~2%)."""
    ρ, ν = 0.9, 0.02
    x, Π = (np.asarray(a) for a in tauchen(51, ρ, ν))
    ψ = np.asarray(stationary_markov(Π))
    sd = np.sqrt(ψ @ x**2)
    autocorrelation = ψ @ (x * (Π @ x)) / sd**2
    assert abs(sd / ν - 1) < 0.02
    assert abs(autocorrelation - ρ) < 0.005


def test_one_state_chain_is_degenerate():
    for method in (tauchen, rouwenhorst):
        x, Π = method(1, 0.9, 0.0)
        np.testing.assert_array_equal(x, [0.0])
        np.testing.assert_array_equal(Π, [[1.0]])


def test_stationary_markov_is_invariant():
    _, Π = tauchen(7, 0.9, 0.1)
    ψ = np.asarray(stationary_markov(Π))
    np.testing.assert_allclose(ψ @ np.asarray(Π), ψ, atol=1e-13)
    assert abs(ψ.sum() - 1) < 1e-13


def test_asset_grid_is_denser_near_the_borrowing_limit():
    b = np.asarray(asset_grid(-1.0, 50.0, 200))
    assert b[0] == -1.0 and b[-1] == 50.0
    assert (np.diff(b) > 0).all() and (np.diff(b, 2) > 0).all()
    np.testing.assert_allclose(asset_grid(0.0, 1.0, 5, curvature=1.0), np.linspace(0, 1, 5))


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 0.5, 0.1), "number of states n must be a positive integer, got 0"),
        ((2.5, 0.5, 0.1), "number of states n must be a positive integer, got 2.5"),
        ((3, 1.0, 0.1), r"persistence ρ must satisfy \|ρ\| < 1, got ρ = 1.0"),
        ((3, -1.2, 0.1), r"persistence ρ must satisfy \|ρ\| < 1, got ρ = -1.2"),
        ((3, 0.5, -0.1), "standard deviation ν must be ≥ 0, got ν = -0.1"),
    ],
)
def test_chain_settings_errors(args, message):
    with pytest.raises(ValueError, match=message):
        check_chain_settings(*args)
    with pytest.raises(ValueError, match=message):
        tauchen(*args)
    with pytest.raises(ValueError, match=message):
        rouwenhorst(*args)


@pytest.mark.parametrize(
    "Π, message",
    [
        (np.ones((2, 3)) / 3, r"Π must be a square matrix, got shape \(2, 3\)"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), "Π has negative entries"),
        (np.array([[0.5, 0.4], [0.5, 0.5]]), "rows of Π must sum to one; the worst row sums to 0.9"),
    ],
)
def test_transition_matrix_errors(Π, message):
    with pytest.raises(ValueError, match=message):
        check_transition_matrix(Π)
    with pytest.raises(ValueError, match=message):
        stationary_markov(Π)


@pytest.mark.parametrize(
    "args, message",
    [
        ((-1.0, 10.0, 1), "asset grid size n_b must be an integer ≥ 2, got 1"),
        ((-1.0, -1.0, 10), "b_max must exceed the borrowing limit b_min, got b_max = -1.0 ≤ -1.0"),
        ((-1.0, 10.0, 10, 0.5), "grid curvature must be ≥ 1"),
    ],
)
def test_asset_grid_errors(args, message):
    with pytest.raises(ValueError, match=message):
        asset_grid(*args)


@pytest.mark.parametrize(
    "grid, message",
    [
        (np.array([]), r"b_grid must be a non-empty 1-d grid, got shape \(0,\)"),
        (np.zeros((2, 2)), r"b_grid must be a non-empty 1-d grid, got shape \(2, 2\)"),
        (np.array([0.0, 2.0, 1.0]), "b_grid must be strictly increasing"),
        (np.array([0.0, 1.0, 1.0]), "b_grid must be strictly increasing"),
    ],
)
def test_grid_errors(grid, message):
    with pytest.raises(ValueError, match=message):
        check_grid(grid, "b_grid")
