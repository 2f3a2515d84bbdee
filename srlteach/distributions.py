"""Distributions over the discretised individual state s = (b, y).

A distribution g is stored as an (n_b, n_y) array of masses (the book's J-vector is
`g.ravel()`, J = n_b·n_y). A savings policy b′(b, y) moves mass by Young's (2010)
lottery: savings between nodes b_i ≤ b′ ≤ b_{i+1} send a share ω to b_i and 1-ω to
b_{i+1}, with ω chosen so the lottery preserves the mean of b′ exactly. Together with
the income chain Π_y this defines the transition matrix A_π, which is never formed
densely: `push_forward` applies A_πᵀ and `expectation` applies A_π using only the
lottery (index, weight) pair. All functions are pure and work under jit, vmap and grad
(the weights are differentiable in b′).
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


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
    left, right = b_grid[index], b_grid[index + 1]
    weight = jnp.clip((right - b_next) / (right - left), 0.0, 1.0)
    return Lottery(index, weight)


def push_forward(g, lot: Lottery, Π_y):
    """One step of the Chapman–Kolmogorov equation g′ = A_πᵀ g.

    g : (n_b, n_y) masses today; lot : lottery of b′(b, y); Π_y : (n_y, n_y).
    Returns the (n_b, n_y) masses tomorrow; total mass is preserved exactly.
    """
    n_b, n_y = g.shape
    y_index = jnp.broadcast_to(jnp.arange(n_y), g.shape)
    on_nodes = jnp.zeros_like(g)  # mass on (b′, y) before the income draw
    on_nodes = on_nodes.at[lot.index, y_index].add(lot.weight * g)
    on_nodes = on_nodes.at[lot.index + 1, y_index].add((1 - lot.weight) * g)
    return on_nodes @ Π_y


def expectation(v_next, lot: Lottery, Π_y):
    """(A_π v)(b, y) = E[v(b′, y′) | b, y]: the conditional expectation of tomorrow's v.

    v_next : (n_b, n_y) values tomorrow. The adjoint of `push_forward`:
    Σ g · expectation(v) = Σ push_forward(g) · v.
    """
    n_b, n_y = v_next.shape
    y_index = jnp.broadcast_to(jnp.arange(n_y), v_next.shape)
    w = v_next @ Π_y.T  # w[b′, y] = E[v(b′, y′) | y]
    return lot.weight * w[lot.index, y_index] + (1 - lot.weight) * w[lot.index + 1, y_index]


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
