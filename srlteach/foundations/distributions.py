"""Distributions over the discretised individual state s = (b, y).

A distribution g is stored as an (n_b, n_y) array of masses (the book's J-vector is
`g.ravel()`, J = n_b·n_y). A savings policy b′(b, y) moves mass by Young's (2010)
lottery: savings between nodes b_i ≤ b′ ≤ b_{i+1} send a share ω to b_i and 1-ω to
b_{i+1}, with ω chosen so the lottery preserves the mean of b′ exactly. Together with
the income chain Π_y this defines the transition matrix A_π, which is never formed
densely: `push_forward` applies A_πᵀ and `expectation` applies A_π using only the
lottery (index, weight) pair. All functions are pure and work under jit, vmap and grad
(the weights are differentiable in b′).

With two endogenous assets, s = (b, k, y) and g is (n_b, n_k, n_y): a choice (b′, k′) is
split over the four surrounding nodes by the bilinear lottery (`two_asset_lottery`), which
preserves mass and both means; `push_forward_two_assets` and `expectation_two_assets` are
the matching A_πᵀ and A_π.
"""

import dataclasses
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Lottery(NamedTuple):
    """Young's lottery for savings b′: mass ω goes to node `index`, 1-ω to `index+1`."""

    index: jax.Array  # int array, left neighbour of b′ on the asset grid
    weight: jax.Array  # ω ∈ [0, 1], share of mass sent to the left neighbour


def lottery(b_grid, b_next):
    """Young's lottery of savings `b_next` (any shape) on the increasing `b_grid`.

    Savings at or beyond the grid's ends go wholly to the end node; srlteach's
    policies keep b′ inside [b_1, b_{n_b}] by construction.
    """
    index = jnp.clip(jnp.searchsorted(b_grid, b_next, side="right") - 1, 0, b_grid.size - 2)
    return _lottery_at(b_grid, index, b_next)


def _lottery_at(b_grid, index, b_next):
    left, right = b_grid[index], b_grid[index + 1]
    return Lottery(index, jnp.clip((right - b_next) / (right - left), 0.0, 1.0))


def linear_interpolation(values, lot: Lottery):
    """v(b′) = ω v_i + (1-ω) v_{i+1}: values on the grid read at the lottery's points.

    The lottery's weights are linear-interpolation weights, so this is v linearly
    interpolated at b′ (held at the end value beyond the grid). values : (n_b, ...) on the
    grid along the first axis; lot : lottery of b′ of any shape S. Returns (*S, ...).
    """
    ω = lot.weight[(...,) + (None,) * (values.ndim - 1)]
    return ω * values[lot.index] + (1 - ω) * values[lot.index + 1]


def inverse_cdf(cdf, u):
    """The index k drawn with probability cdf_k - cdf_{k-1}: the number of nodes whose
    cumulative probability lies below the uniform draw u, by inverting the CDF.

    cdf : (..., n) cumulative probabilities along the last axis; u : (...) uniforms on [0, 1).
    Capped at n - 1, which guards against a last cumulative probability of 1 - 1e-16.
    """
    return jnp.minimum(jnp.sum(u[..., None] > cdf, axis=-1), cdf.shape[-1] - 1)


# ---------------------------------------------------------------------------------------
# The lottery without a search, for the inner loop of the SPG engine
# ---------------------------------------------------------------------------------------


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class AssetLocator:
    """Finds the interval of a power grid that holds any b′ without a search.

    On b_i = b_1 + (b_n - b_1) x_i^κ with x_i equally spaced on [0, 1]
    (`srlteach.foundations.discretisation.asset_grid`), the node at or below b′ is within one of
    ⌊(n-1) ((b′ - b_1)/(b_n - b_1))^(1/κ)⌋, and comparing b′ with the two nodes around that
    guess finds it exactly: four reads of a small table instead of a binary search's
    log2(n) dependent ones. A grid of any other shape is searched (`curvature` None).
    """

    grid: jax.Array  # (n_b,) asset grid
    curvature: float | None = dataclasses.field(metadata=dict(static=True))  # κ, or None


def asset_locator(b_grid) -> AssetLocator:
    """The `AssetLocator` of an increasing asset grid (host-side, once per economy)."""
    grid = np.asarray(b_grid, dtype=np.float64)
    n, span = grid.size, grid[-1] - grid[0]
    curvature = None
    if n > 2:
        κ = np.log((grid[1] - grid[0]) / span) / np.log(1 / (n - 1))
        κ = float(np.round(κ)) if abs(κ - np.round(κ)) < 1e-6 else float(κ)
        guess = (n - 1) * (np.maximum(grid - grid[0], 0) / span) ** (1 / κ)
        # the guess may be off by one node and no more
        curvature = κ if κ >= 1 and np.abs(guess - np.arange(n)).max() < 0.5 else None
    return AssetLocator(jnp.asarray(b_grid), curvature)


def fast_lottery(locator: AssetLocator, b_next) -> Lottery:
    """Young's lottery of savings b′ (any shape): the same result as `lottery`, bit for bit."""
    grid, κ = locator.grid, locator.curvature
    if κ is None:
        return lottery(grid, b_next)
    n = grid.size
    # the guess only picks an index: no gradient flows through it (a root's infinite slope at
    # b′ = b_1 would turn its zero cotangent into NaN)
    share = jax.lax.stop_gradient(jnp.maximum(b_next - grid[0], 0) / (grid[-1] - grid[0]))
    x = share if κ == 1 else jnp.sqrt(share) if κ == 2 else share ** (1 / κ)
    guess = jnp.clip(((n - 1) * x).astype(jnp.int32), 0, n - 2)
    index = guess - (b_next < grid[guess]) + (b_next >= grid[guess + 1])
    return _lottery_at(grid, jnp.clip(index, 0, n - 2), b_next)


# ---------------------------------------------------------------------------------------
# The transition A_π: push-forward and conditional expectation
# ---------------------------------------------------------------------------------------
#
# Both act on a whole batch of arrays (..., n_b, n_y) at once, by one flat scatter (or
# gather) over the batch: on a CPU that is several times faster than a vmapped one.


def _flat_nodes(index, n_y: int):
    """Flat positions of (batch, index, y) in a batch of (n_b, n_y) arrays stored in C order."""
    *batch, n_b, _ = index.shape
    offsets = jnp.arange(math.prod(batch), dtype=index.dtype).reshape(tuple(batch) + (1, 1)) * (n_b * n_y)
    return offsets + index * n_y + jnp.arange(n_y, dtype=index.dtype)


def _times(x, Π):
    """x @ Π over the last axis. For a few income states it is written out, which XLA fuses
    with its neighbours; a (J, 3) @ (3, 3) matrix product costs 30 times as much on a CPU.
    The written-out form has n² terms, so larger chains (none in the book) use the product."""
    n = Π.shape[0]
    if n > 8:
        return x @ Π
    return sum(x[..., k, None] * Π[k] for k in range(n))


def push_forward(g, lot: Lottery, Π_y):
    """One step of the Chapman–Kolmogorov equation g′ = A_πᵀ g.

    g : (..., n_b, n_y) masses today (any leading batch axes); lot : lottery of b′(b, y),
    same shape; Π_y : (n_y, n_y). Returns the masses tomorrow; mass is preserved exactly.
    """
    n_y = g.shape[-1]
    flat = _flat_nodes(lot.index, n_y).ravel()
    on_nodes = jnp.zeros(g.size, g.dtype)  # mass on (b′, y) before the income draw
    on_nodes = on_nodes.at[flat].add((lot.weight * g).ravel()).at[flat + n_y].add(((1 - lot.weight) * g).ravel())
    return _times(on_nodes.reshape(g.shape), Π_y)


def expectation(v_next, lot: Lottery, Π_y):
    """(A_π v)(b, y) = E[v(b′, y′) | b, y]: the conditional expectation of tomorrow's v.

    v_next : (..., n_b, n_y) values tomorrow. The adjoint of `push_forward`:
    Σ g · expectation(v) = Σ push_forward(g) · v.
    """
    n_y = v_next.shape[-1]
    w = _times(v_next, Π_y.T).ravel()  # w[b′, y] = E[v(b′, y′) | y]
    flat = _flat_nodes(lot.index, n_y)
    return lot.weight * w[flat] + (1 - lot.weight) * w[flat + n_y]


def transition_matrix(lot: Lottery, Π_y):
    """Dense J×J matrix A_π with rows indexed by j = i_b·n_y + i_y.

    For teaching on small grids only: the library itself never forms it.
    """
    n_b, n_y = lot.index.shape
    eye = jnp.eye(n_b * n_y).reshape(n_b * n_y, n_b, n_y)
    return jax.vmap(lambda e: expectation(e, lot, Π_y).ravel())(eye).T


@partial(jax.jit, static_argnames="max_iter")
def stationary_distribution(lot: Lottery, Π_y, tol: float = 1e-13, max_iter: int = 100_000):
    """The distribution g with g = A_πᵀ g for a time-invariant policy (power iteration).

    Starts from the uniform distribution and iterates until the sup-norm change is
    below `tol` (or `max_iter` steps). Returns an (n_b, n_y) array summing to one.
    """
    g0 = jnp.full(lot.index.shape, 1.0 / lot.index.size)

    def not_converged(state):
        g, g_prev, it = state
        return (jnp.max(jnp.abs(g - g_prev)) > tol) & (it < max_iter)

    def step(state):
        g, _, it = state
        return push_forward(g, lot, Π_y), g, it + 1

    g, _, _ = jax.lax.while_loop(not_converged, step, (push_forward(g0, lot, Π_y), g0, 1))
    return g


# ---------------------------------------------------------------------------------------
# Two endogenous assets: the bilinear lottery over (b, k)
# ---------------------------------------------------------------------------------------
#
# A distribution over s = (b, k, y) is an (..., n_b, n_k, n_y) array. A choice (b′, k′)
# between the nodes b_i ≤ b′ ≤ b_{i+1} and k_j ≤ k′ ≤ k_{j+1} is split over the four
# surrounding nodes with the product of the two one-asset lotteries' weights,
#
#     (b_i, k_j): ω_b ω_k,   (b_i, k_{j+1}): ω_b (1-ω_k),
#     (b_{i+1}, k_j): (1-ω_b) ω_k,   (b_{i+1}, k_{j+1}): (1-ω_b)(1-ω_k),
#
# which sum to one and preserve both means: the b-marginal of the split is the one-asset
# lottery of b′ whatever ω_k, and likewise for k′.


class TwoAssetLottery(NamedTuple):
    """The bilinear lottery of a choice (b′, k′): one one-asset `Lottery` per asset."""

    b: Lottery  # lottery of b′ on the b grid (index, weight ω_b of the lower node)
    k: Lottery  # lottery of k′ on the k grid (index, weight ω_k of the lower node)


def two_asset_lottery(b_grid, k_grid, b_next, k_next) -> TwoAssetLottery:
    """The bilinear lottery of (b′, k′) (same shape, any) on the increasing grids b_grid, k_grid.

    As in `lottery`, a choice at or beyond a grid's end goes wholly to the end node. For the
    search-free version build `TwoAssetLottery(fast_lottery(…), fast_lottery(…))`.
    """
    return TwoAssetLottery(lottery(b_grid, b_next), lottery(k_grid, k_next))


def _corners(lot: TwoAssetLottery, n_k: int, n_y: int):
    """The four (flat position, weight) pairs of every (batch, b, k, y) in a batch of
    (n_b, n_k, n_y) arrays stored in C order: the nodes (b_i, k_j), (b_i, k_{j+1}),
    (b_{i+1}, k_j), (b_{i+1}, k_{j+1}) at the same y."""
    i, j = lot.b.index, lot.k.index
    *batch, n_b, _, _ = i.shape
    offsets = jnp.arange(math.prod(batch), dtype=i.dtype).reshape(tuple(batch) + (1, 1, 1)) * (n_b * n_k * n_y)
    flat = offsets + (i * n_k + j) * n_y + jnp.arange(n_y, dtype=i.dtype)
    ω_b, ω_k = lot.b.weight, lot.k.weight
    return (
        (flat, ω_b * ω_k),
        (flat + n_y, ω_b * (1 - ω_k)),
        (flat + n_k * n_y, (1 - ω_b) * ω_k),
        (flat + n_k * n_y + n_y, (1 - ω_b) * (1 - ω_k)),
    )


def push_forward_two_assets(g, lot: TwoAssetLottery, Π_y):
    """g′ = A_πᵀ g for two assets: the bilinear lottery of (b′, k′), then the income chain.

    g : (..., n_b, n_k, n_y) masses today (any leading batch axes); lot : lottery of
    (b′, k′)(b, k, y), same shape; Π_y : (n_y, n_y). Returns the masses tomorrow; mass and
    the means of b and k are preserved (up to rounding) when (b′, k′) lies inside the grids.
    """
    n_k, n_y = g.shape[-2:]
    on_nodes = jnp.zeros(g.size, g.dtype)  # mass on (b′, k′, y) before the income draw
    for flat, weight in _corners(lot, n_k, n_y):
        on_nodes = on_nodes.at[flat.ravel()].add((weight * g).ravel())
    return _times(on_nodes.reshape(g.shape), Π_y)


def expectation_two_assets(v_next, lot: TwoAssetLottery, Π_y):
    """(A_π v)(b, k, y) = E[v(b′, k′, y′) | b, k, y]: the adjoint of `push_forward_two_assets`.

    v_next : (..., n_b, n_k, n_y) values tomorrow: v is read at (b′, k′) by bilinear
    interpolation (the lottery's weights) after the expectation over y′.
    """
    n_k, n_y = v_next.shape[-2:]
    w = _times(v_next, Π_y.T).ravel()  # w[b′, k′, y] = E[v(b′, k′, y′) | y]
    (f00, w00), (f01, w01), (f10, w10), (f11, w11) = _corners(lot, n_k, n_y)
    return w00 * w[f00] + w01 * w[f01] + w10 * w[f10] + w11 * w[f11]
