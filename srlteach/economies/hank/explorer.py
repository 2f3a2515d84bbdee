"""The HANK chapter's explorer: impulse responses of a trained policy to a shock the reader picks.

`impulse_response_explorer` draws the generalised impulse responses to a TFP (shock="z") or
monetary (shock="e") innovation of `size` standard deviations, divided by `size`, next to
those of a +1 s.d. innovation. Where the economy responds linearly the two curves coincide;
where they part, the nonlinearity that a global solution keeps is on the page.

The responses are `srlteach.economies.hank.accuracy.impulse_responses`: paired paths from
the same states with the same future innovations and an extra innovation at date 0.
"""

import jax
import matplotlib.pyplot as plt
import numpy as np

from srlteach.economies.hank.accuracy import SHOCK_NAMES, impulse_responses
from srlteach.foundations.validation import finite, whole_number
from srlteach.learning.spg import SPGState

# (key of `responses`, panel title, factor to the plotted unit, unit)
PANELS = (
    ("shock", "the shock", 100.0, "pp"),
    ("Π", "inflation Π_t", 100.0, "pp"),
    ("i_next", "nominal rate i_{t+1}", 100.0, "pp"),
    ("r", "real return r_t", 100.0, "pp"),
    ("w", "wage w_t", 100.0, "×100"),
    ("Y", "output Y_t", 100.0, "%"),
    ("C", "consumption C_t", 100.0, "%"),
)


def impulse_response_explorer(model, θ, start: SPGState, shock: str = "z", size: float = 1.0, T: int = 24, seed: int = 0,
                              repeats: int = 1):
    """Figure: responses per standard deviation to a `size`-s.d. `shock` ("z" or "e"), and to +1 s.d.

    model, θ : a HANK plug-in (`hank_spg`) and its policy parameters (e.g. `SPGResult.model`,
    `SPGResult.θ`). start : the states the paired paths start from (e.g. `SPGResult.state`,
    the trained policy's ergodic set). T : periods shown. seed : the common random numbers.
    repeats : pairs of paths per state of `start` (`impulse_responses`).

    Each panel shows (shocked - baseline)/size, averaged over the paths of `start`: inflation,
    the nominal rate i_{t+1} set at t, the ex-post real return r_t, the wage (in levels ×100),
    output and consumption (in % of the baseline). Raises ValueError for an unknown shock,
    a size that is zero or not finite, or T < 2.
    """
    if shock not in SHOCK_NAMES:  # before any simulation
        raise ValueError(f"shock must be 'z' (TFP) or 'e' (monetary), got shock = {shock!r}")
    size = finite(size, "size")
    if size == 0:
        raise ValueError("size must be non-zero (a shock of 0 s.d. has no response to divide by)")
    T = whole_number(T, "number of periods T", least=2, symbol="T")
    repeats = whole_number(repeats, "pairs of paths per state", symbol="repeats")
    key = jax.random.PRNGKey(seed)
    per_unit = lambda s: {name: x / s for name, x in impulse_responses(model, θ, start, key, T, shock, s, repeats).items()}
    chosen = per_unit(size)
    one = chosen if size == 1 else per_unit(1.0)

    t = np.arange(T)
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.2), constrained_layout=True)
    for ax, (name, title, factor, unit) in zip(axes.flat, PANELS):
        ax.axhline(0, color="grey", lw=0.6)
        ax.plot(t, factor * one[name], color="k", lw=2.5, alpha=0.35, label="+1 s.d.")
        ax.plot(t, factor * chosen[name], color="C0" if size > 0 else "C3", ls="--", label=f"{size:+g} s.d., ÷ {size:g}")
        ax.set_title(f"{title} ({unit})", fontsize=10)
        ax.set_xlabel("periods after the shock")
    axes.flat[0].set_title(f"{'log z' if shock == 'z' else 'e'} ({PANELS[0][3]})", fontsize=10)
    axes.flat[0].legend(fontsize=8)
    axes.flat[-1].axis("off")
    axes.flat[-1].text(
        0.0, 0.5,
        f"{SHOCK_NAMES[shock]} shock of {size:+g} s.d.\nresponses per s.d.,\n"
        f"mean over {repeats * jax.tree.leaves(start.a)[0].shape[0]} paired paths",
        fontsize=10, va="center",
    )
    fig.suptitle(f"Generalised impulse responses to a {SHOCK_NAMES[shock]} shock")
    return fig
