"""Young's lottery, the push-forward and the stationary distribution (srlteach.foundations.distributions)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.discretisation import asset_grid, tauchen
from srlteach.foundations.distributions import (
    asset_locator,
    expectation,
    fast_lottery,
    lottery,
    push_forward,
    stationary_distribution,
    transition_matrix,
)


@pytest.fixture(scope="module")
def setting():
    """A small grid, the income chain of the spec, and a smooth savings policy inside the grid."""
    b_grid = asset_grid(-1.0, 10.0, 15)
    x, Π_y = tauchen(3, 0.6, 0.2)
    y = jnp.exp(x)
    b_next = jnp.clip(0.9 * b_grid[:, None] + 0.3 * (y - 1) + 0.05, -1.0, 10.0)
    g = jax.random.dirichlet(jax.random.PRNGKey(0), jnp.ones(15 * 3)).reshape(15, 3)
    return b_grid, Π_y, b_next, g


def test_lottery_preserves_the_mean():
    b_grid = asset_grid(-1.0, 50.0, 200)
    b_next = jax.random.uniform(jax.random.PRNGKey(1), (1000,), minval=-1.0, maxval=50.0)
    lot = lottery(b_grid, b_next)
    assert ((lot.weight >= 0) & (lot.weight <= 1)).all()
    mean = lot.weight * b_grid[lot.index] + (1 - lot.weight) * b_grid[lot.index + 1]
    np.testing.assert_allclose(mean, b_next, rtol=0, atol=1e-13)
    # savings on a node go to that node only
    on_nodes = lottery(b_grid, b_grid)
    np.testing.assert_allclose(on_nodes.weight * b_grid[on_nodes.index] + (1 - on_nodes.weight) * b_grid[on_nodes.index + 1], b_grid, atol=1e-14)


def test_push_forward_conserves_mass_and_the_mean_of_savings(setting):
    b_grid, Π_y, b_next, g = setting
    g_next = push_forward(g, lottery(b_grid, b_next), Π_y)
    assert (g_next >= 0).all()
    assert abs(float(g_next.sum()) - 1) < 1e-14
    # Σ b g′ = Σ b′ g: the lottery moves mass without changing aggregate savings
    assert abs(float(jnp.sum(b_grid[:, None] * g_next) - jnp.sum(b_next * g))) < 1e-13


def test_transition_matrix_rows_sum_to_one(setting):
    b_grid, Π_y, b_next, _ = setting
    A = np.asarray(transition_matrix(lottery(b_grid, b_next), Π_y))
    assert A.shape == (45, 45)
    assert (A >= 0).all()
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-14)
    # at most two b′ nodes times n_y income states per row: A_π is sparse
    assert ((A > 0).sum(axis=1) <= 2 * 3).all()


def test_push_forward_and_expectation_are_the_dense_products(setting):
    """g′ = A_πᵀ g and A_π v agree with the dense J×J matrix (J-vector = g.ravel())."""
    b_grid, Π_y, b_next, g = setting
    lot = lottery(b_grid, b_next)
    A = np.asarray(transition_matrix(lot, Π_y))
    v = jnp.sin(jnp.arange(45.0)).reshape(15, 3)
    np.testing.assert_allclose(np.asarray(push_forward(g, lot, Π_y)).ravel(), A.T @ np.asarray(g).ravel(), atol=1e-15)
    np.testing.assert_allclose(np.asarray(expectation(v, lot, Π_y)).ravel(), A @ np.asarray(v).ravel(), atol=1e-14)


def test_expectation_is_the_adjoint_of_push_forward(setting):
    b_grid, Π_y, b_next, g = setting
    lot = lottery(b_grid, b_next)
    v = jnp.cos(jnp.arange(45.0)).reshape(15, 3)
    lhs = jnp.sum(g * expectation(v, lot, Π_y))
    rhs = jnp.sum(push_forward(g, lot, Π_y) * v)
    assert abs(float(lhs - rhs)) < 1e-14


def test_stationary_distribution_is_invariant_and_matches_the_eigenvector(setting):
    b_grid, Π_y, b_next, _ = setting
    lot = lottery(b_grid, b_next)
    g = stationary_distribution(lot, Π_y)
    assert abs(float(g.sum()) - 1) < 1e-12 and (g >= 0).all()
    np.testing.assert_allclose(push_forward(g, lot, Π_y), g, atol=1e-12)
    # independent method: the unit eigenvector of A_πᵀ (dense, small grid)
    A = np.asarray(transition_matrix(lot, Π_y))
    eigenvalues, eigenvectors = np.linalg.eig(A.T)
    ψ = np.real(eigenvectors[:, np.argmin(np.abs(eigenvalues - 1))])
    np.testing.assert_allclose(np.asarray(g).ravel(), ψ / ψ.sum(), atol=1e-10)


def test_lottery_weights_are_differentiable_in_savings(setting):
    """d/db′ of Σ v·push_forward agrees with a central finite difference (pathwise gradient)."""
    b_grid, Π_y, b_next, g = setting
    v = jnp.log(2.0 + jnp.arange(45.0)).reshape(15, 3)

    def objective(b_next):
        return jnp.sum(v * push_forward(g, lottery(b_grid, b_next), Π_y))

    direction = jnp.cos(jnp.arange(45.0)).reshape(15, 3) * 1e-2
    inside = (b_next > -1.0 + 0.02) & (b_next < 10.0 - 0.02)  # keep away from the grid's ends
    direction = jnp.where(inside, direction, 0.0)
    h = 1e-6
    fd = (objective(b_next + h * direction) - objective(b_next - h * direction)) / (2 * h)
    ad = jnp.sum(jax.grad(objective)(b_next) * direction)
    assert abs(float(fd - ad)) < 1e-7 * max(1.0, abs(float(ad)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("lo, hi, n, curvature", [(-1, 25, 60, 2), (0, 100, 200, 2), (0, 10, 7, 1), (0, 100, 200, 3), (0, 5, 40, 1.5)])
def test_fast_lottery_is_the_lottery(dtype, lo, hi, n, curvature):
    grid = asset_grid(lo, hi, n, curvature).astype(dtype)
    assert asset_locator(grid).curvature == pytest.approx(curvature)  # a power grid: no search
    draws = jax.random.uniform(jax.random.PRNGKey(0), (20_000,), dtype=dtype, minval=lo - 1, maxval=hi + 1)
    # the hard cases: the nodes themselves and their floating-point neighbours
    b_next = jnp.concatenate([draws, grid, jnp.nextafter(grid, grid + 1), jnp.nextafter(grid, grid - 1)])
    fast, reference = jax.jit(fast_lottery)(asset_locator(grid), b_next), jax.jit(lottery)(grid, b_next)
    np.testing.assert_array_equal(fast.index, reference.index)
    np.testing.assert_array_equal(fast.weight, reference.weight)


def test_fast_lottery_searches_grids_of_other_shapes():
    grid = jnp.array([0.0, 0.1, 0.15, 1.0, 4.0, 4.5, 10.0])
    assert asset_locator(grid).curvature is None
    b_next = jnp.linspace(-1.0, 11.0, 1001)
    fast, reference = fast_lottery(asset_locator(grid), b_next), lottery(grid, b_next)
    np.testing.assert_array_equal(fast.index, reference.index)
    np.testing.assert_array_equal(fast.weight, reference.weight)


def test_push_forward_and_expectation_act_on_batches(setting):
    """A batch (paths, n_b, n_y) is pushed forward path by path, each by its own lottery."""
    b_grid, Π_y, _, _ = setting
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    g = jax.random.dirichlet(keys[0], jnp.ones(45), (4,)).reshape(4, 15, 3)
    v = jax.random.normal(keys[1], (4, 15, 3))
    lot = lottery(b_grid, jax.random.uniform(keys[2], (4, 15, 3), minval=-1.0, maxval=10.0))
    pushed, expected = push_forward(g, lot, Π_y), expectation(v, lot, Π_y)
    for n in range(4):
        one = jax.tree.map(lambda x: x[n], lot)
        A = np.asarray(transition_matrix(one, Π_y))
        np.testing.assert_allclose(np.asarray(pushed[n]).ravel(), A.T @ np.asarray(g[n]).ravel(), atol=1e-15)
        np.testing.assert_allclose(np.asarray(expected[n]).ravel(), A @ np.asarray(v[n]).ravel(), atol=1e-14)
    np.testing.assert_allclose(pushed.sum(axis=(1, 2)), 1.0, atol=1e-14)  # mass is conserved path by path
