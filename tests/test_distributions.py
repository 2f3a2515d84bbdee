"""Young's lottery, the push-forward and the stationary distribution (srlteach.foundations.distributions)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.discretisation import asset_grid, tauchen
from srlteach.foundations.distributions import (
    TwoAssetLottery,
    asset_locator,
    expectation,
    expectation_two_assets,
    fast_lottery,
    inverse_cdf,
    linear_interpolation,
    lottery,
    push_forward,
    push_forward_two_assets,
    stationary_distribution,
    transition_matrix,
    two_asset_lottery,
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


# ---------------------------------------------------------------------------------------
# Two endogenous assets (b, k): the bilinear lottery
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_assets():
    """A tiny (b, k, y) grid, choices (b′, k′) strictly inside both grids, a distribution."""
    b_grid, k_grid = asset_grid(-1.0, 4.0, 5), asset_grid(0.0, 3.0, 4)
    x, Π_y = tauchen(2, 0.6, 0.2)
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    shape = (5, 4, 2)
    b_next = jax.random.uniform(keys[0], shape, minval=-1.0, maxval=4.0)
    k_next = jax.random.uniform(keys[1], shape, minval=0.0, maxval=3.0)
    g = jax.random.dirichlet(keys[2], jnp.ones(40)).reshape(shape)
    return b_grid, k_grid, Π_y, b_next, k_next, g


def dense_two_asset_matrix(b_grid, k_grid, b_next, k_next, Π_y):
    """A_π (J×J, j = (i_b·n_k + i_k)·n_y + i_y) written out entry by entry from the definition:
    from (b, k, y) the mass goes to (b_i, k_j, y′) with ω_b ω_k Π_y[y, y′], and so on."""
    b_grid, k_grid, b_next, k_next, Π_y = (np.asarray(a) for a in (b_grid, k_grid, b_next, k_next, Π_y))
    n_b, n_k, n_y = b_next.shape
    A = np.zeros((n_b * n_k * n_y,) * 2)
    for ib, ik, iy in np.ndindex(n_b, n_k, n_y):
        i = int(np.clip(np.searchsorted(b_grid, b_next[ib, ik, iy], side="right") - 1, 0, n_b - 2))
        j = int(np.clip(np.searchsorted(k_grid, k_next[ib, ik, iy], side="right") - 1, 0, n_k - 2))
        ω_b = (b_grid[i + 1] - b_next[ib, ik, iy]) / (b_grid[i + 1] - b_grid[i])
        ω_k = (k_grid[j + 1] - k_next[ib, ik, iy]) / (k_grid[j + 1] - k_grid[j])
        row = (ib * n_k + ik) * n_y + iy
        for node_b, share_b in ((i, ω_b), (i + 1, 1 - ω_b)):
            for node_k, share_k in ((j, ω_k), (j + 1, 1 - ω_k)):
                for iy_next in range(n_y):
                    A[row, (node_b * n_k + node_k) * n_y + iy_next] += share_b * share_k * Π_y[iy, iy_next]
    return A


def test_two_asset_push_forward_and_expectation_are_the_dense_products(two_assets):
    """g′ = A_πᵀ g and A_π v on a tiny grid; rows of A_π sum to one; adjointness."""
    b_grid, k_grid, Π_y, b_next, k_next, g = two_assets
    lot = two_asset_lottery(b_grid, k_grid, b_next, k_next)
    A = dense_two_asset_matrix(b_grid, k_grid, b_next, k_next, Π_y)
    assert (A >= 0).all() and ((A > 0).sum(axis=1) <= 4 * 2).all()  # four (b′, k′) nodes times n_y
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-14)
    v = jnp.sin(jnp.arange(40.0)).reshape(5, 4, 2)
    pushed, expected = push_forward_two_assets(g, lot, Π_y), expectation_two_assets(v, lot, Π_y)
    np.testing.assert_allclose(np.asarray(pushed).ravel(), A.T @ np.asarray(g).ravel(), atol=1e-15)
    np.testing.assert_allclose(np.asarray(expected).ravel(), A @ np.asarray(v).ravel(), atol=1e-14)
    assert abs(float(jnp.sum(pushed * v) - jnp.sum(g * expected))) < 1e-14  # ⟨A_πᵀ g, v⟩ = ⟨g, A_π v⟩
    # the rows of A_π are the expectation of a constant: E[1 | s] = 1 at every s
    np.testing.assert_allclose(expectation_two_assets(jnp.ones_like(v), lot, Π_y), 1.0, atol=1e-15)


def test_two_asset_lottery_preserves_mass_and_both_means(two_assets):
    b_grid, k_grid, Π_y, b_next, k_next, g = two_assets
    g_next = push_forward_two_assets(g, two_asset_lottery(b_grid, k_grid, b_next, k_next), Π_y)
    assert (g_next >= 0).all()
    assert abs(float(g_next.sum()) - 1) < 1e-15
    assert abs(float(jnp.sum(b_grid[:, None, None] * g_next) - jnp.sum(b_next * g))) < 1e-14  # Σ b g′ = Σ b′ g
    assert abs(float(jnp.sum(k_grid[None, :, None] * g_next) - jnp.sum(k_next * g))) < 1e-14  # Σ k g′ = Σ k′ g
    # income is untouched by the lottery: the y-marginal moves by Π_y alone
    np.testing.assert_allclose(g_next.sum(axis=(0, 1)), g.sum(axis=(0, 1)) @ Π_y, atol=1e-15)


def test_two_asset_lottery_is_the_product_of_one_asset_lotteries(two_assets):
    """With k′ on a node the split is the one-asset lottery of b′ (and the other way round)."""
    b_grid, k_grid, Π_y, b_next, _, g = two_assets
    k_on_node = jnp.broadcast_to(k_grid[None, :, None], b_next.shape)  # everyone keeps k
    pushed = push_forward_two_assets(g, two_asset_lottery(b_grid, k_grid, b_next, k_on_node), Π_y)
    for ik in range(4):
        np.testing.assert_allclose(pushed[:, ik], push_forward(g[:, ik], lottery(b_grid, b_next[:, ik]), Π_y), atol=1e-16)


def test_two_asset_lottery_acts_on_batches(two_assets):
    """A batch (paths, n_b, n_k, n_y) is pushed forward path by path, each by its own lottery."""
    b_grid, k_grid, Π_y, _, _, _ = two_assets
    keys = jax.random.split(jax.random.PRNGKey(4), 4)
    g = jax.random.dirichlet(keys[0], jnp.ones(40), (2, 3)).reshape(2, 3, 5, 4, 2)
    v = jax.random.normal(keys[1], g.shape)
    b_next = jax.random.uniform(keys[2], g.shape, minval=-1.0, maxval=4.0)
    k_next = jax.random.uniform(keys[3], g.shape, minval=0.0, maxval=3.0)
    lot = two_asset_lottery(b_grid, k_grid, b_next, k_next)
    pushed, expected = push_forward_two_assets(g, lot, Π_y), expectation_two_assets(v, lot, Π_y)
    for n, m in np.ndindex(2, 3):
        A = dense_two_asset_matrix(b_grid, k_grid, b_next[n, m], k_next[n, m], Π_y)
        np.testing.assert_allclose(np.asarray(pushed[n, m]).ravel(), A.T @ np.asarray(g[n, m]).ravel(), atol=1e-15)
        np.testing.assert_allclose(np.asarray(expected[n, m]).ravel(), A @ np.asarray(v[n, m]).ravel(), atol=1e-14)


def test_two_asset_lottery_is_differentiable_in_the_choices(two_assets):
    """d/d(b′, k′) of Σ v·push_forward agrees with a central finite difference."""
    b_grid, k_grid, Π_y, b_next, k_next, g = two_assets
    v = jnp.log(2.0 + jnp.arange(40.0)).reshape(5, 4, 2)

    def objective(b_next, k_next):
        return jnp.sum(v * push_forward_two_assets(g, two_asset_lottery(b_grid, k_grid, b_next, k_next), Π_y))

    def away_from_nodes(x, grid):  # the weights are kinked at the nodes: keep the step inside an interval
        return jnp.min(jnp.abs(x[..., None] - grid), axis=-1) > 1e-3

    d_b = jnp.where(away_from_nodes(b_next, b_grid), jnp.cos(jnp.arange(40.0)).reshape(5, 4, 2), 0.0)
    d_k = jnp.where(away_from_nodes(k_next, k_grid), jnp.sin(jnp.arange(40.0)).reshape(5, 4, 2), 0.0)
    h = 1e-6
    fd = (objective(b_next + h * d_b, k_next + h * d_k) - objective(b_next - h * d_b, k_next - h * d_k)) / (2 * h)
    grad_b, grad_k = jax.grad(objective, argnums=(0, 1))(b_next, k_next)
    ad = jnp.sum(grad_b * d_b) + jnp.sum(grad_k * d_k)
    assert abs(float(fd - ad)) < 1e-7 * max(1.0, abs(float(ad)))
    assert float(jnp.abs(grad_b).max()) > 0 and float(jnp.abs(grad_k).max()) > 0


def test_two_asset_lottery_takes_search_free_lotteries(two_assets):
    """`TwoAssetLottery(fast_lottery(…), fast_lottery(…))` is the same lottery, bit for bit."""
    b_grid, k_grid, _, b_next, k_next, _ = two_assets
    fast = TwoAssetLottery(fast_lottery(asset_locator(b_grid), b_next), fast_lottery(asset_locator(k_grid), k_next))
    for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(two_asset_lottery(b_grid, k_grid, b_next, k_next))):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------
# The lottery as linear interpolation, and inverse-CDF draws
# ---------------------------------------------------------------------------------------


def test_linear_interpolation_reads_values_at_the_lottery():
    """ω v_i + (1-ω) v_{i+1} is jnp.interp inside the grid (end values held outside), exact on
    linear functions, and keeps the trailing axes of the values."""
    b_grid = asset_grid(-1.0, 10.0, 15)
    values = jnp.stack([jnp.sin(b_grid), 2.0 + 3.0 * b_grid], axis=1)  # (n_b, 2)
    b = jnp.linspace(-2.0, 11.0, 301).reshape(7, 43)
    out = linear_interpolation(values, lottery(b_grid, b))
    assert out.shape == (7, 43, 2)
    np.testing.assert_allclose(out[..., 0], jnp.interp(b, b_grid, values[:, 0]), atol=1e-15)
    inside = (b >= -1.0) & (b <= 10.0)
    np.testing.assert_allclose(jnp.where(inside, out[..., 1], 0.0), jnp.where(inside, 2.0 + 3.0 * b, 0.0), atol=1e-13)
    scalar = linear_interpolation(values, lottery(b_grid, jnp.asarray(0.37)))  # one point: (2,)
    np.testing.assert_allclose(scalar, jnp.interp(0.37, b_grid, values[:, 0]) * jnp.array([1.0, 0.0]) + jnp.array([0.0, 2 + 3 * 0.37]), atol=1e-14)


def test_inverse_cdf_draws_each_index_with_its_probability():
    p = jnp.array([0.1, 0.0, 0.45, 0.3, 0.15])
    cdf = jnp.cumsum(p)
    u = jax.random.uniform(jax.random.PRNGKey(5), (200_000,))
    draws = inverse_cdf(jnp.broadcast_to(cdf, (u.size, 5)), u)
    frequency = np.bincount(np.asarray(draws), minlength=5) / u.size
    np.testing.assert_allclose(frequency, p, atol=4e-3)
    assert frequency[1] == 0  # a zero-probability node is never drawn
    # u exactly on a cumulative probability belongs to the interval above it; the cap holds
    # when rounding leaves the last cumulative probability below one
    np.testing.assert_array_equal(inverse_cdf(cdf, jnp.array([0.0, 0.1, 0.0999, 0.99999])), [0, 0, 0, 4])
    assert int(inverse_cdf(jnp.array([0.5, 1 - 1e-16]), jnp.asarray(1 - 1e-17))) == 1
    # rows of a Markov chain: one CDF per draw
    Π = jnp.array([[0.9, 0.1], [0.2, 0.8]])
    np.testing.assert_array_equal(inverse_cdf(jnp.cumsum(Π, axis=1)[jnp.array([0, 0, 1, 1])], jnp.array([0.85, 0.95, 0.15, 0.25])), [0, 1, 0, 1])
