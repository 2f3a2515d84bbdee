"""Figures for the book's interactive explorers: parameters in, a matplotlib figure out.

Each explorer is a pure function (the same parameters always give the same figure), so the
book shows it at default parameters as a static figure and a live `ipywidgets.interact`
cell in Jupyter or Colab calls it as the sliders move. Explorers solve on coarse grids so
that one slider move takes about a second on a CPU.
"""

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from srlteach.equilibrium import aggregate_savings, stationary_equilibrium
from srlteach.huggett import CALIBRATION, create_huggett_stationary

# ---------------------------------------------------------------------------------------
# Chapter 1: the Huggett economy
# ---------------------------------------------------------------------------------------

EXPLORER_GRID = dict(n_b=40, b_max=20.0)  # coarse asset grid: a slider move costs ~1 s
R_LOW = -0.03  # left end of the plotted r range, unless r* lies further left
R_BRACKET_LOW = -0.5  # at this rate every household borrows: S < 0 for any slider setting


@lru_cache(maxsize=64)
def huggett_supply_curve(β: float, σ: float, b_min: float, n_r: int = 25):
    """S(r) on n_r rates from R_LOW (or r* - 0.01) to just below 1/β - 1, and r*.

    Solved for the stationary Huggett economy on the explorer's coarse grid. Returns
    (r_nodes, S, r_star, b_grid, cdf) with cdf the distribution function of bonds at r*.
    Memoised: moving one slider back and forth does not recompute.
    """
    economy = create_huggett_stationary("book", β=β, σ=σ, b_min=b_min, **EXPLORER_GRID)
    r_ceiling = 1 / β - 1
    eq = stationary_equilibrium(economy, r_bracket=(R_BRACKET_LOW, r_ceiling - 1e-6))
    r_nodes = np.linspace(min(R_LOW, eq.r - 0.01), r_ceiling - 0.002, n_r)
    S = np.asarray(aggregate_savings(economy, r_nodes))
    cdf = np.cumsum(np.asarray(eq.g.sum(axis=1)))
    return r_nodes, S, eq.r, np.asarray(economy.b_grid), cdf


def huggett_supply_explorer(β: float = CALIBRATION["β"], σ: float = CALIBRATION["σ"], b_min: float = CALIBRATION["b_min"]):
    """How the bond demand schedule S(r) and the stationary rate r* move with β, σ and b̲.

    Left: S(r) = Σ_s b′(s; r) g_r(s), the households' aggregate bond demand in the
    stationary distribution at rate r, for the chosen parameters (solid) and the book's
    calibration (dashed); r* is where S crosses zero. Right: the distribution of bonds at
    r*. Returns the matplotlib Figure.
    """
    default = huggett_supply_curve(CALIBRATION["β"], CALIBRATION["σ"], CALIBRATION["b_min"])
    chosen = huggett_supply_curve(float(β), float(σ), float(b_min))
    fig, (ax_S, ax_g) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for (r_nodes, S, r_star, b_grid, cdf), style, label in (
        (default, dict(color="0.6", ls="--"), "calibration"),
        (chosen, dict(color="C0"), f"β = {β:.3f}, σ = {σ:.2f}, b̲ = {b_min:.2f}"),
    ):
        ax_S.plot(r_nodes, S, **style, label=f"{label}: r* = {r_star:.4f}")
        ax_S.plot([r_star], [0.0], "o", color=style["color"])
        ax_g.plot(b_grid, cdf, **style, label=label)
    ax_S.axhline(0.0, color="k", lw=0.8)
    ax_S.axvline(1 / β - 1, color="C0", ls=":", lw=1, label="1/β - 1")
    ax_S.set(xlabel="interest rate r", ylabel="bond demand S(r)", ylim=(min(default[1].min(), chosen[1].min()) - 0.1, 3.0))
    ax_S.set_title("Stationary bond demand and r*")
    ax_S.legend(loc="upper left", fontsize=8)
    ax_g.set(xlabel="bonds b", ylabel="share of households with bonds ≤ b", xlim=(min(b_min, CALIBRATION["b_min"]), 10.0))
    ax_g.set_title("Distribution of bonds at r*")
    ax_g.legend(loc="lower right", fontsize=8)
    return fig
