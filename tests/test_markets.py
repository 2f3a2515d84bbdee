"""Clearing a market on a price grid (srlteach.foundations.markets)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.markets import MarketClearing, clear_market, refine_price

GRID = jnp.linspace(0.01, 0.06, 11)


@pytest.mark.parametrize("slope", [40.0, -40.0])
@pytest.mark.parametrize("root", [0.0123, 0.03, 0.0537, 0.05])  # 0.03 and 0.05 are nodes
def test_linear_schedules_clear_exactly(slope, root):
    """Z(p) = slope (p - p*) is linear, so the interpolation finds p* (decreasing or increasing Z)."""
    market = clear_market(GRID, slope * (GRID - root))
    assert isinstance(market, MarketClearing)
    assert not market.out_of_grid and int(market.edge) == 0
    assert abs(float(market.price) - root) < 1e-15
    assert abs(float(market.residual)) < 1e-15


def test_the_first_sign_change_is_bracketed():
    """With several sign changes the lowest bracketing interval wins; a zero at a node counts."""
    Z = jnp.array([2.0, 1.0, -1.0, -2.0, 1.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    assert float(clear_market(GRID, Z).price) == pytest.approx(float(GRID[1] + 0.5 * (GRID[2] - GRID[1])), abs=1e-16)
    Z = jnp.array([3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0])
    market = clear_market(GRID, Z)
    assert float(market.price) == float(GRID[3]) and float(market.residual) == 0.0


def test_a_piecewise_linear_schedule_clears_at_its_kink_free_root():
    """Z linear between nodes with different slopes: exact on the bracketing interval."""
    Z = jnp.interp(GRID, jnp.array([0.01, 0.035, 0.06]), jnp.array([-3.0, -0.5, 4.0]))
    p_star = 0.035 + 0.5 / 4.5 * 0.025
    market = clear_market(GRID, Z)
    assert abs(float(market.price) - p_star) < 1e-15 and not market.out_of_grid


@pytest.mark.parametrize("Z", [1.0 + 10 * GRID, 1.0 - 10 * GRID, -1.0 - 10 * GRID, -3.0 + 10 * GRID])
def test_no_sign_change_clips_to_the_nearer_edge(Z):
    """Z > 0 (or < 0) everywhere, increasing or decreasing: the price is the end of the grid
    where |Z| is smaller, and the residual is Z there."""
    market = clear_market(GRID, Z)
    end = 0 if abs(float(Z[0])) <= abs(float(Z[-1])) else -1
    assert bool(market.out_of_grid)
    assert float(market.price) == float(GRID[end]) and float(market.residual) == float(Z[end])
    assert int(market.edge) == (-1 if end == 0 else 1)


def test_edges_are_named():
    high = clear_market(GRID, 1.0 - 10 * GRID)  # excess demand still positive at the top: p* above the grid
    low = clear_market(GRID, -1.0 - 10 * GRID)  # negative everywhere, smallest |Z| at the bottom
    assert (bool(high.out_of_grid), int(high.edge), float(high.price)) == (True, 1, float(GRID[-1]))
    assert (bool(low.out_of_grid), int(low.edge), float(low.price)) == (True, -1, float(GRID[0]))


def test_a_nan_in_the_schedule_never_clears_inside():
    """A NaN node makes the answer NaN and flagged, even where a clean sign change exists."""
    Z = 40.0 * (GRID - 0.03)
    for node in (0, 4, 5, 10):  # next to the crossing, and far from it
        market = clear_market(GRID, Z.at[node].set(jnp.nan))
        assert bool(market.out_of_grid) and int(market.edge) == 0
        assert np.isnan(float(market.price)) and np.isnan(float(market.residual))


def test_clear_market_under_jit_and_vmap():
    """A batch of schedules at once gives each schedule's own answer."""
    roots = jnp.array([0.012, 0.031, 0.0599, 0.0, 0.08])
    slopes = jnp.array([5.0, -7.0, 1.0, 3.0, -2.0])
    Z = slopes[:, None] * (GRID - roots[:, None])
    batch = jax.jit(jax.vmap(clear_market, in_axes=(None, 0)))(GRID, Z)
    for n in range(roots.size):
        one = clear_market(GRID, Z[n])
        np.testing.assert_allclose(batch.price[n], one.price, rtol=1e-15)
        np.testing.assert_allclose(batch.residual[n], one.residual, atol=1e-15)
        assert (bool(batch.out_of_grid[n]), int(batch.edge[n])) == (bool(one.out_of_grid), int(one.edge))
    np.testing.assert_array_equal(batch.out_of_grid, [False, False, False, True, True])
    np.testing.assert_array_equal(batch.edge, [0, 0, 0, -1, 1])
    np.testing.assert_allclose(batch.price[:3], roots[:3], atol=1e-15)


def test_float32_schedules_stay_float32():
    market = clear_market(GRID.astype(jnp.float32), (GRID - 0.03).astype(jnp.float32))
    assert market.price.dtype == jnp.float32 and market.residual.dtype == jnp.float32


@pytest.mark.parametrize("Z", [lambda p: p**3 - 0.3, lambda p: 0.2 - jnp.exp(2 * p) + 1, lambda p: jnp.tanh(5 * (p - 0.41))])
def test_refining_a_nonlinear_schedule_converges_to_its_root(Z):
    """Illinois steps on the bracket shrink |Z| far below the interpolated price's, and stay
    inside the bracketing interval."""
    grid = jnp.linspace(0.0, 1.0, 6)
    nodes = jax.vmap(Z)(grid)
    market = clear_market(grid, nodes)
    first = abs(float(Z(market.price)))
    assert first > 1e-4  # a curved schedule: the interpolated price does not clear it
    refined = [abs(float(Z(refine_price(Z, market, grid, nodes, steps)))) for steps in (1, 3, 8)]
    assert refined[0] == pytest.approx(first)  # one step is the interpolation itself
    assert refined[1] < first / 5 and refined[2] < 1e-10
    k = int(jnp.argmax((nodes[:-1] <= 0) != (nodes[1:] <= 0)))
    price = float(refine_price(Z, market, grid, nodes, 8))
    assert float(grid[k]) <= price <= float(grid[k + 1])


def test_refining_keeps_a_clipped_price():
    grid = jnp.linspace(0.0, 1.0, 5)
    Z = lambda p: p + 1.0  # positive everywhere: no clearing price on the grid
    market = clear_market(grid, jax.vmap(Z)(grid))
    assert bool(market.out_of_grid)
    assert float(refine_price(Z, market, grid, jax.vmap(Z)(grid), 4)) == float(market.price)
