"""Clearing a market on a price grid: bracket the sign change of an excess-demand schedule.

An economy whose policy is stored on a price grid p_1 < … < p_n knows its excess demand
Z(p_k) = demand - supply at every node in one product (Huggett: Z(r_k) = S(r_k) = Σ_s b′(s;
r_k) g(s), bonds in zero net supply). `clear_market` finds the first interval [p_k, p_{k+1}]
on which Z changes sign and interpolates linearly,

    p* = p_k + Z_k / (Z_k - Z_{k+1}) (p_{k+1} - p_k),

which is exact when the policy, and so Z, is linear in p between nodes. Without a sign change
the price is the end of the grid where |Z| is smaller, `out_of_grid` is set and `edge` says
which end (-1 the low end, +1 the high end): callers count and report these clips. A schedule
with a NaN at any node clears nowhere: price and residual are NaN, `out_of_grid` is set and
`edge` is 0, so a NaN never passes for a price inside the grid. Pure jnp: works under jit and
vmap (one schedule of shape (n,); vmap over a batch of schedules).

**Prices that follow from the one being cleared.** HANK clears the bond market on the wage
grid: at every wage node w_k the firm's inflation Π_k follows from its policy, the Taylor
rule gives the nominal rate i_{t+1,k} the households observe, and Fisher the real return;
the households' bond demand at those prices gives Z_k. `clear_market(w_grid, Z)` brackets
the wage, and everything else follows from it. Z is then not linear between nodes (every
price moves with w), so the interpolated wage leaves a residual; `refine_price` takes a
few Illinois steps on the bracketing interval with Z recomputed at each trial wage
(`srlteach.economies.hank.srl`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp


class MarketClearing(NamedTuple):
    """The outcome of clearing one market on a price grid."""

    price: jax.Array  # p* (an end of the grid if out_of_grid; NaN if the schedule has a NaN)
    residual: jax.Array  # Z(p*): zero up to rounding inside the grid, Z at the edge otherwise
    out_of_grid: jax.Array  # bool: no sign change of Z on the grid (or a NaN in Z)
    edge: jax.Array  # int: -1 clipped to the low end, +1 to the high end, 0 otherwise


def _first_bracket(Z):
    """Which intervals of the grid see Z change sign, and the first of them (0 if none)."""
    crosses = (Z[:-1] <= 0) != (Z[1:] <= 0)
    return crosses, jnp.argmax(crosses)


def clear_market(price_grid, excess_demand) -> MarketClearing:
    """Solve Z(p) = 0 on an increasing price grid from Z at every node (both of shape (n,)).

    Brackets the first sign change of Z (a node with Z ≤ 0 next to one with Z > 0, in
    either order: Z may decrease or increase in p) and interpolates linearly; without one,
    returns the end of the grid where |Z| is smaller with `out_of_grid` and `edge` set.
    A NaN anywhere in Z gives a NaN price with `out_of_grid` set (module docstring).
    """
    p, Z = price_grid, excess_demand
    crosses, k = _first_bracket(Z)
    Z_k, Z_k1 = Z[k], Z[k + 1]
    share = jnp.where(Z_k1 != Z_k, Z_k / (Z_k - Z_k1), 0.0)  # Z_k + share (Z_k1 - Z_k) = 0
    p_inside = p[k] + share * (p[k + 1] - p[k])
    Z_inside = Z_k + share * (Z_k1 - Z_k)
    at_low_end = jnp.abs(Z[0]) <= jnp.abs(Z[-1])
    p_edge = jnp.where(at_low_end, p[0], p[-1])
    Z_edge = jnp.where(at_low_end, Z[0], Z[-1])
    inside = crosses.any()
    price, residual = jnp.where(inside, p_inside, p_edge), jnp.where(inside, Z_inside, Z_edge)
    undefined = jnp.isnan(Z).any()
    edge = jnp.where(inside | undefined, 0, jnp.where(at_low_end, -1, 1))
    return MarketClearing(
        jnp.where(undefined, jnp.nan, price), jnp.where(undefined, jnp.nan, residual), ~inside | undefined, edge
    )


def refine_price(excess_at, market: MarketClearing, price_grid, excess_demand, steps: int):
    """The clearing price refined by `steps` Illinois (modified regula falsi) steps.

    excess_at : p -> Z(p) computed at p itself (not interpolated between nodes). Starting
    from the bracketing interval of `clear_market`, each step evaluates Z at the secant's
    root and keeps the half-interval that still brackets the sign change (halving the kept
    end's Z when the same end is kept twice, Illinois' guard against one-sided convergence).
    Where Z is not linear between nodes (HANK: the firm's inflation and the households'
    policy both move with the wage) the residual of `clear_market`'s price shrinks with every
    step. A clipped price (`out_of_grid`) is returned as it is.
    """
    p, Z = price_grid, excess_demand
    _, k = _first_bracket(Z)

    def step(_, carry):
        lo, Z_lo, hi, Z_hi, kept, _ = carry  # kept: +1 if the last step kept lo, -1 if hi
        new = jnp.where(Z_hi != Z_lo, hi - Z_hi * (hi - lo) / (Z_hi - Z_lo), lo)
        Z_new = excess_at(new)
        keep_lo = (Z_new <= 0) == (Z_hi <= 0)  # the new point replaces hi
        Z_lo = jnp.where(keep_lo & (kept == 1), Z_lo / 2, Z_lo)
        Z_hi = jnp.where(~keep_lo & (kept == -1), Z_hi / 2, Z_hi)
        return (jnp.where(keep_lo, lo, new), jnp.where(keep_lo, Z_lo, Z_new), jnp.where(keep_lo, new, hi),
                jnp.where(keep_lo, Z_new, Z_hi), jnp.where(keep_lo, 1, -1), new)

    start = (p[k], Z[k], p[k + 1], Z[k + 1], 0, market.price)
    *_, last = jax.lax.fori_loop(0, steps, step, start)
    return jnp.where(market.out_of_grid, market.price, last)
