"""Prices on the policy's price grid: where p sits, and the policy interpolated there."""

import itertools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# ---------------------------------------------------------------------------------------
# Prices on the policy's price grid
# ---------------------------------------------------------------------------------------


class PriceLocation(NamedTuple):
    """Where a price vector p sits on the policy's price grid, one entry per price."""

    index: jax.Array  # (n_p,) int: the node at or below p_k on price axis k
    weight: jax.Array  # (n_p,) weight of that node; 1 - weight goes to the node above


class Prices(NamedTuple):
    """Prices at one date of one path, as the households observe them."""

    values: jax.Array  # (n_p,) the price vector p_t
    location: PriceLocation  # p_t on the price grid of the policy table
    residual: Any  # market-clearing residual at p_t (0 for closed-form prices), or a dict of
    # named residuals, one per market ({"bonds": ..., "labour": ...})
    out_of_grid: jax.Array  # bool: the price left the grid and was clipped to its edge
    outcomes: Any = None  # a dict of named outcomes of price determination (K′, Π_t, dividends)
    # that the rollout records and `next_aggregate` sees; None if there are none


def locate_prices(grids, p) -> tuple[PriceLocation, jax.Array]:
    """Linear-interpolation location of the price vector p on one grid per price.

    grids : sequence of n_p increasing 1-d arrays; p : (n_p,). A price outside its grid is
    clipped to the edge (weight 1 on the end node); the second output flags that, and flags a
    NaN price as well.
    """
    index, weight, outside = [], [], []
    for grid, p_k in zip(grids, p):
        # a price grid has tens of nodes: counting them beats a binary search's loop
        i = jnp.clip(jnp.sum(p_k >= grid) - 1, 0, grid.size - 2)
        index.append(i)
        weight.append(jnp.clip((grid[i + 1] - p_k) / (grid[i + 1] - grid[i]), 0.0, 1.0))
        outside.append(~((p_k >= grid[0]) & (p_k <= grid[-1])))  # a NaN price is off the grid too
    return PriceLocation(jnp.stack(index), jnp.stack(weight)), jnp.any(jnp.stack(outside))


def corners(location: PriceLocation):
    """The 2^k price nodes around p and their interpolation weights.

    location : PriceLocation of k prices, arrays with any leading batch shape (...);
    returns (nodes, shares): a tuple of k index arrays (..., 2^k) and shares (..., 2^k).
    """
    n_p = location.index.shape[-1]
    offsets = np.array(list(itertools.product((0, 1), repeat=n_p)))  # (2^k, k): 0 below p, 1 above
    nodes = tuple(location.index[..., k, None] + offsets[:, k] for k in range(n_p))
    w = location.weight[..., None, :]  # (..., 1, k)
    shares = jnp.prod(jnp.where(offsets == 0, w, 1 - w), axis=-1)
    return nodes, shares


def interpolate(table, location: PriceLocation, *leading):
    """The policy at prices p: multilinear interpolation over the price axes of `table`.

    table : (*leading axes, J_{p_1}, ..., J_{p_k}, *individual) values at the price nodes;
    `leading` indexes the axes before the price axes (e.g. the node of the aggregate
    shock z). The 2^k rows around p are read by one gather of whole rows, and combined by
    a small matrix product: on a CPU this is five times faster than one gather per
    corner, whose reads XLA fuses element by element into the weighted sum.
    """
    if location.index.shape[-1] == 0:  # a table without price axes (an agent that observes none)
        return table[tuple(leading)]
    nodes, shares = corners(location)
    rows = table[tuple(leading) + nodes]  # (2^k, *individual)
    return jnp.tensordot(shares, rows, axes=1)


