"""The explorer of the chapter on other global methods: four Krusell–Smith policies side by side.

A pure function (decision rules, an aggregate state → figure), shown statically in the book
and driven by sliders in Jupyter or Colab.
"""

import matplotlib.pyplot as plt
import numpy as np

from srlteach.economies.krusell_smith import cash_on_hand, prices
from srlteach.economies.krusell_smith.comparison import capital


def global_methods_explorer(decisions: dict, economy, g, log_z: float = 0.0, y_index: int = 1, b_max: float = 15.0):
    """Consumption c(b, y; g, z) of several methods at one aggregate state (g, z).

    decisions : name → decision rule (g, log_z) -> b′ on the grid (`srlteach.economies.
    krusell_smith.comparison`); the first is the reference. g : (n_b, n_y) cross-section,
    log_z : productivity. Left: c(b, y) of every method for income state y_index; right:
    each method minus the reference, for that income state, over the wealth density of g.
    Returns the matplotlib Figure.
    """
    if not decisions:
        raise ValueError("decisions must name at least one method")
    if y_index not in range(economy.y_grid.size):
        raise ValueError(f"y_index must be one of 0, …, {economy.y_grid.size - 1}, got {y_index}")
    if not np.isfinite(log_z):
        raise ValueError(f"log_z must be finite, got log_z = {log_z}")
    if not 0 < b_max:
        raise ValueError(f"b_max must be > 0, got b_max = {b_max}")
    g = np.asarray(g, float)
    K = float(capital(economy, g))
    r, w = (float(p) for p in prices(economy, K, np.exp(log_z)))
    x = np.asarray(cash_on_hand(economy, r, w), float)
    c = {name: x - np.asarray(decide(g, log_z), float) for name, decide in decisions.items()}
    b = np.asarray(economy.b_grid)
    shown = b <= b_max
    reference = next(iter(c))

    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for k, (name, c_m) in enumerate(c.items()):
        style = dict(color="k", lw=2.5, alpha=0.4) if name == reference else dict(color=f"C{k - 1}", ls="--")
        ax_c.plot(b[shown], c_m[shown, y_index], label=name, **style)
        if name != reference:
            ax_d.plot(b[shown], (c_m - c[reference])[shown, y_index], label=name, **style)
    ax_c.set(xlabel="capital b", ylabel="consumption c(b, y)")
    ax_c.set_title(f"income node {y_index} (y = {float(economy.y_grid[y_index]):.2f}), K = {K:.2f},"
                   f" log z = {log_z:+.3f}", fontsize=9)
    ax_c.legend(fontsize=8)
    ax_d.axhline(0, color="k", lw=0.8)
    density = ax_d.twinx()
    density.fill_between(b[shown], g.sum(axis=1)[shown], step="mid", color="0.85", zorder=0)
    density.set(ylabel="mass on the node", ylim=(0, None))
    ax_d.set_zorder(density.get_zorder() + 1)
    ax_d.patch.set_visible(False)
    ax_d.set(xlabel="capital b", ylabel=f"c - c of {reference}")
    ax_d.set_title(f"each method minus {reference}, over the wealth distribution", fontsize=9)
    ax_d.legend(fontsize=8)
    return fig
