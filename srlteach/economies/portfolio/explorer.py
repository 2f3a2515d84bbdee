"""The portfolio chapter's explorer: a trained policy's portfolio at prices the reader picks."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from srlteach.economies.portfolio.economy import prices
from srlteach.economies.portfolio.srl import PortfolioSPG, portfolio_choice
from srlteach.foundations.validation import finite
from srlteach.learning.spg import interpolate, locate_prices


def portfolio_explorer(model: PortfolioSPG, θ, q: float | None = None, K: float | None = None, log_z: float = 0.0,
                       x_max: float = 15.0):
    """Figure: the portfolio share ω(x, y) and the holdings b′(x, y), k′(x, y) of the policy θ
    at the bond price q and the (R, w) of capital K and shock log z.

    q defaults to 1/(1 + r*), K to K* (no aggregate risk). Raises ValueError for a q outside
    the policy's q grid, a K whose (R, w) leave their grids, or x_max ≤ -1.
    """
    e = model.economy
    q = model.q_star if q is None else finite(q, "q")
    K = model.K_star if K is None else finite(K, "K")
    log_z, x_max = finite(log_z, "log_z"), finite(x_max, "x_max")
    if not float(e.q_grid[0]) <= q <= float(e.q_grid[-1]):
        raise ValueError(f"q must lie on the policy's q grid [{float(e.q_grid[0]):.4g}, {float(e.q_grid[-1]):.4g}], got q = {q}")
    if not K > 0:
        raise ValueError(f"capital K must be > 0, got K = {K}")
    if not x_max > -1:
        raise ValueError(f"x_max must be > -1 (the borrowing limit), got x_max = {x_max}")
    R, w = (float(p) for p in prices(e, K, np.exp(log_z)))
    for name, p, grid in (("R", R, e.R_grid), ("w", w, e.w_grid)):
        if not float(grid[0]) <= p <= float(grid[-1]):
            raise ValueError(
                f"at K = {K}, log z = {log_z} the price {name} = {p:.4g} leaves its grid "
                f"[{float(grid[0]):.4g}, {float(grid[-1]):.4g}]: choose K or log z closer to the stationary state"
            )
    dtype = model.g0.dtype
    p = jnp.asarray([q, R, w], dtype)
    location, _ = locate_prices((e.q_grid, e.R_grid, e.w_grid), p)
    shares = jax.tree.map(lambda leaf: interpolate(leaf, location), model.actions(θ))
    choice = portfolio_choice(e, shares["s"], shares["ω"], p[0], p[2])
    x = np.asarray(e.x_grid)
    shown = x <= x_max
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for j, label in enumerate(("low", "middle", "high")):
        left.plot(x[shown], np.asarray(shares["ω"])[shown, j], label=f"{label} income")
        right.plot(x[shown], np.asarray(choice.b_next)[shown, j], color=f"C{j}", label=f"bonds b′, {label}")
        right.plot(x[shown], np.asarray(choice.k_next)[shown, j], color=f"C{j}", ls="--", label=f"capital k′, {label}")
    right.axhline(-1, color="grey", lw=0.8, ls=":")
    left.set(xlabel="wealth x = b + R k", ylabel="share of savings in capital ω", ylim=(0, 1))
    right.set(xlabel="wealth x = b + R k", ylabel="holdings next period")
    left.legend(fontsize=8)
    right.legend(fontsize=7, ncol=2)
    fig.suptitle(f"q = {q:.4f} (1/q = {1 / q:.4f}), R = {R:.4f}, w = {w:.3f}")
    fig.tight_layout()
    return fig
