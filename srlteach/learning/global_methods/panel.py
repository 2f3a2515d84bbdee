"""A finite population: N agents drawn from a distribution on the individual (b, y) grid."""

import jax
import jax.numpy as jnp

from srlteach.foundations.distributions import inverse_cdf


def draw_panel(key, g, b_grid, shape):
    """Agents' (b, income index) drawn independently from the masses g (n_b, n_y).

    Each agent sits at a node (b_i, y_k) with probability g[i, k], drawn by inverting the
    cumulative distribution of g flattened in C order. shape : the panel's shape, e.g.
    (E, N) for E economies of N agents. Returns (b, i_y), each of that shape.
    """
    g = jnp.asarray(g)
    cdf = jnp.cumsum(g.ravel()) / jnp.sum(g)
    node = inverse_cdf(cdf, jax.random.uniform(key, shape, dtype=cdf.dtype))
    n_y = g.shape[1]
    return jnp.asarray(b_grid)[node // n_y], node % n_y
