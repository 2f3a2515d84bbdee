"""The Epstein–Zin chapter's explorer: how risk aversion γ moves bond demand, r* and the
consumption policy at a fixed intertemporal elasticity 1/ρ (a pure function, parameters →
figure; see `srlteach.presentation.explorers`)."""

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from srlteach.economies.huggett import CALIBRATION
from srlteach.economies.huggett.epstein_zin import (
    create_huggett_ez,
    ez_stationary_equilibrium,
)
from srlteach.foundations.validation import finite
from srlteach.presentation.explorers import EXPLORER_GRID
from srlteach.solvers.epstein_zin import check_preferences, epstein_zin_household

R_NODES = np.linspace(-0.01, 0.04, 11)  # rates of the plotted bond demand, below 1/β - 1 ≈ 0.0417
R_COMMON = 0.02  # the rate at which the consumption policies are compared


@lru_cache(maxsize=32)
def ez_bond_demand(γ: float, ν_y: float):
    """Stationary bond demand S(r) on `R_NODES`, r*, and c(b, y) at r = `R_COMMON`, for
    Epstein–Zin households (ρ = σ of the calibration) on the explorer's coarse grid. Memoised."""
    e = create_huggett_ez("book", n_z=1, ν_z=0.0, ν_y=ν_y, **EXPLORER_GRID)
    solved = [epstein_zin_household(e.b_grid, e.y_grid, e.Π_y, e.β, e.σ, γ, r) for r in R_NODES]
    S = np.array([float(np.sum(policy.b_next * g)) for _, policy, g in solved])
    c = np.asarray(solved[int(np.argmin(np.abs(R_NODES - R_COMMON)))][1].c)
    return S, ez_stationary_equilibrium(e, γ).r, np.asarray(e.b_grid), c


def epstein_zin_explorer(γ: float = 5.0, ν_y: float = 0.2, y_index: int = 0):
    """Bond demand S(r) and r* (left), and consumption c(b, y) at the common rate r = 0.02
    (right), for risk aversion γ (solid) against γ = ρ, the CRRA household (dashed), at the
    idiosyncratic income risk ν_y (the unconditional s.d. of log y) and the income state
    `y_index`. Raises ValueError for a γ the recursion does not admit (`check_preferences`),
    a ν_y outside (0, 0.5] or a y_index outside 0, 1, 2. Returns the matplotlib Figure.
    """
    ρ = CALIBRATION["σ"]
    check_preferences(ρ, γ)
    ν_y = finite(ν_y, "ν_y")
    if not 0 < ν_y <= 0.5:
        raise ValueError(f"income risk ν_y must lie in (0, 0.5], got ν_y = {ν_y}")
    if y_index not in (0, 1, 2):
        raise ValueError(f"y_index must be 0, 1 or 2 (the income states), got y_index = {y_index}")
    fig, (ax_S, ax_c) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for g_, style, label in ((ρ, dict(color="0.5", ls="--"), f"γ = ρ = {ρ:g} (CRRA)"), (float(γ), dict(color="C0"), f"γ = {γ:g}")):
        S, r_star, b_grid, c = ez_bond_demand(g_, ν_y)
        ax_S.plot(R_NODES, S, **style, label=f"{label}: r* = {r_star:.4f}")
        ax_S.plot([r_star], [0.0], "o", color=style["color"])
        ax_c.plot(b_grid, c[:, y_index], **style, label=label)
    ax_S.axhline(0.0, color="k", lw=0.8)
    ax_S.set(xlabel="interest rate r", ylabel="bond demand S(r)", ylim=(-1.0, 3.0), title=f"Stationary bond demand (1/ρ = {1 / ρ:g}, ν_y = {ν_y:g})")
    ax_S.legend(loc="upper left", fontsize=8)
    ax_c.set(xlabel="bonds b", ylabel="consumption c", xlim=(b_grid[0], 8.0), title=f"Consumption at r = {R_COMMON}, income state {y_index}")
    ax_c.legend(loc="lower right", fontsize=8)
    return fig
