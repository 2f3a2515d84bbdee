"""Discretised stochastic processes and asset grids.

Log shocks are AR(1): x' = ρ x + sqrt(1-ρ²) ν ε, so ν is the *unconditional*
standard deviation of x (the models' "volatility" parameter).
"""

import math

import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from srlteach.foundations.validation import check_finite_array, finite, whole_number


def tauchen(n: int, ρ: float, ν: float, m: float = 3.0):
    """Tauchen (1986) discretisation of an AR(1) with unconditional s.d. ν.

    Nodes are equally spaced on [-m ν, m ν]; the innovation s.d. is ν sqrt(1-ρ²).

    Returns
    -------
    x : (n,) array of log-levels
    Π : (n, n) transition matrix, Π[i, j] = Pr(x' = x_j | x = x_i)
    """
    n = check_chain_settings(n, ρ, ν)
    if not 0 < m < math.inf:
        raise ValueError(f"the grid's half-width m (in standard deviations) must be finite and > 0, got m = {m}")
    if n == 1:
        return jnp.zeros(1), jnp.ones((1, 1))
    x = jnp.linspace(-m * ν, m * ν, n)
    step = x[1] - x[0]
    σ_ε = ν * math.sqrt(1 - ρ**2)
    mean = ρ * x[:, None]
    upper = norm.cdf((x[None, :] + step / 2 - mean) / σ_ε)
    lower = norm.cdf((x[None, :] - step / 2 - mean) / σ_ε)
    Π = upper - lower
    Π = Π.at[:, 0].set(upper[:, 0])
    Π = Π.at[:, -1].set(1 - lower[:, -1])
    return x, Π


def rouwenhorst(n: int, ρ: float, ν: float):
    """Rouwenhorst discretisation of an AR(1) with unconditional s.d. ν.

    Exact in the first two conditional moments; preferred for very persistent
    processes. Nodes span ± ν sqrt(n-1).
    """
    n = check_chain_settings(n, ρ, ν)
    if n == 1:
        return jnp.zeros(1), jnp.ones((1, 1))
    p = (1 + ρ) / 2
    Π = np.array([[p, 1 - p], [1 - p, p]])
    for k in range(3, n + 1):
        padded = np.zeros((k, k))
        padded[:-1, :-1] += p * Π
        padded[:-1, 1:] += (1 - p) * Π
        padded[1:, :-1] += (1 - p) * Π
        padded[1:, 1:] += p * Π
        padded[1:-1] /= 2
        Π = padded
    half_width = ν * math.sqrt(n - 1)
    return jnp.linspace(-half_width, half_width, n), jnp.asarray(Π)


def check_chain_settings(n: int, ρ: float, ν: float) -> int:
    """Raise ValueError if (n, ρ, ν) do not define a stationary AR(1) chain; return n as an int."""
    n = whole_number(n, "number of states n")
    if not -1 < ρ < 1:
        raise ValueError(f"persistence ρ must satisfy |ρ| < 1, got ρ = {ρ}")
    if not math.isfinite(ν):
        raise ValueError(f"standard deviation ν must be a finite number, got ν = {ν}")
    if not ν >= 0:
        raise ValueError(f"standard deviation ν must be ≥ 0, got ν = {ν}")
    return n


def check_transition_matrix(Π, name: str = "Π", atol: float = 1e-10):
    """Raise ValueError unless Π is square, non-negative, with rows summing to one."""
    Π = np.asarray(Π)
    if Π.ndim != 2 or Π.shape[0] != Π.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {Π.shape}")
    check_finite_array(Π, name)
    if not (Π >= 0).all():
        raise ValueError(f"{name} has negative entries (min {Π.min():.3g})")
    row_sums = Π.sum(axis=1)
    worst = np.abs(row_sums - 1).max()
    if not worst <= atol:
        raise ValueError(
            f"rows of {name} must sum to one; the worst row sums to "
            f"{row_sums[np.abs(row_sums - 1).argmax()]:.6g}"
        )


def stationary_markov(Π, tol: float = 1e-14, max_iter: int = 100_000):
    """Stationary distribution ψ of a Markov chain: ψ = Πᵀ ψ, Σ ψ = 1 (power iteration)."""
    check_transition_matrix(Π)
    Π = np.asarray(Π, dtype=float)
    ψ = np.full(Π.shape[0], 1 / Π.shape[0])
    for _ in range(max_iter):
        ψ_next = ψ @ Π
        if np.abs(ψ_next - ψ).max() < tol:
            return jnp.asarray(ψ_next)
        ψ = ψ_next
    raise RuntimeError(f"stationary_markov did not converge in {max_iter} iterations")


def asset_grid(b_min: float, b_max: float, n: int, curvature: float = 2.0):
    """n asset nodes on [b_min, b_max], denser near the borrowing limit b_min.

    b_i = b_min + (b_max - b_min) x_i^curvature with x_i equally spaced on [0, 1].
    """
    n = whole_number(n, "asset grid size n_b", least=2)
    b_min, b_max = finite(b_min, "borrowing limit b_min"), finite(b_max, "top of the asset grid b_max")
    if not b_max > b_min:
        raise ValueError(f"b_max must exceed the borrowing limit b_min, got b_max = {b_max} ≤ {b_min}")
    curvature = finite(curvature, "grid curvature")
    if not curvature >= 1:
        raise ValueError(f"grid curvature must be ≥ 1 (denser near b_min), got {curvature}")
    return b_min + (b_max - b_min) * jnp.linspace(0.0, 1.0, n) ** curvature


def check_grid(grid, name: str):
    """Raise ValueError unless grid is a non-empty, strictly increasing 1-d array."""
    grid = np.asarray(grid)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d grid, got shape {grid.shape}")
    check_finite_array(grid, name)
    if grid.size > 1 and not (np.diff(grid) > 0).all():
        raise ValueError(f"{name} must be strictly increasing")


def ar1_step(x, ρ: float, ν: float, ε):
    """x′ = ρ x + ν sqrt(1-ρ²) ε: one step of an AR(1) whose unconditional s.d. is ν, driven
    by a standard normal ε (the aggregate shocks z and e of models.md)."""
    return ρ * x + ν * math.sqrt(1 - ρ**2) * ε
