"""The chapter "SRL and the linear solution": impulse responses in the book's units, the
table of impact and peak responses, and the explorer over shock size and sign.

Units: K, C and w in percent of their stationary values, r in percentage points. Impulse
responses arrive in two forms: the sequence-space solution's level deviations
(`srlteach.solvers.sequence_space.Responses`) and simulated generalised impulse responses
(`srlteach.analysis.impulse_responses.ImpulseResponses`, with K, C and w relative).
"""

import matplotlib.pyplot as plt
import numpy as np

from srlteach.analysis.impulse_responses import ImpulseResponses
from srlteach.foundations.validation import finite, whole_number

# name, panel title, unit
PANELS = (("K", "capital K_t", "%"), ("C", "consumption C_t", "%"), ("r", "interest rate r_t", "pp"), ("w", "wage w_t", "%"))


def percent_deviations(responses, steady) -> dict:
    """A `Responses` (level deviations from `steady`) in the book's units: name -> (T,)."""
    return {
        "K": 100 * np.asarray(responses.K) / steady.K,
        "C": 100 * np.asarray(responses.C) / steady.C,
        "r": 100 * np.asarray(responses.r),
        "w": 100 * np.asarray(responses.w) / steady.w,
    }


def percent_girf(girf: ImpulseResponses) -> tuple[dict, dict]:
    """(mean, s.e.) of a generalised impulse response whose K, C, w are relative and r a level
    deviation, in the book's units; only the names of `PANELS` that it has."""
    names = [name for name, _, _ in PANELS if name in girf.mean]
    return {n: 100 * girf.mean[n] for n in names}, {n: 100 * girf.se[n] for n in names}


def impact_and_peak(paths: dict, sign: float = 1.0) -> dict:
    """Impact responses of C, w, r (entry 0) and the peak response of K with its year
    (years counted from the impact year 0); the peak is the largest of sign·K."""
    K = np.asarray(paths["K"])
    year = int(np.argmax(sign * K))
    return {"C": float(paths["C"][0]), "w": float(paths["w"][0]), "r": float(paths["r"][0]), "K": float(K[year]), "year": year}


def response_table(rows: dict, sign: float = 1.0) -> str:
    """The table the chapter prints: one row per method (name -> paths in the book's units)."""
    lines = [f"{'':24s}{'C on impact':>12s}{'w on impact':>13s}{'r on impact':>13s}{'peak K':>9s}{'year':>6s}",
             f"{'':24s}{'(%)':>12s}{'(%)':>13s}{'(pp)':>13s}{'(%)':>9s}{'':>6s}"]
    for name, paths in rows.items():
        x = impact_and_peak(paths, sign)
        lines.append(f"{name:24s}{x['C']:12.3f}{x['w']:13.3f}{x['r']:13.3f}{x['K']:9.3f}{x['year']:6d}")
    return "\n".join(lines)


def impulse_response_explorer(curves: dict, size: float = 1.0, T: int = 60):
    """Figure: the responses of K, C, r and w to a `size`-s.d. innovation in log z, per
    method, each divided by `size` (so that a linear solution draws the same curve for every
    size and sign).

    curves : size -> {method: (mean, se)} with mean and se dicts of paths in the book's units
        (se None for a deterministic solution); `size` must be one of its keys (the chapter
        precomputes a coarse grid of sizes). T : years shown.
    """
    size = finite(size, "size")
    T = whole_number(T, "years shown T", symbol="T")
    if size not in curves:
        raise ValueError(f"size must be one of the precomputed sizes {sorted(curves)}, got size = {size}")
    fig, axes = plt.subplots(1, len(PANELS), figsize=(14, 3.3), constrained_layout=True)
    years = np.arange(T)
    for (name, title, unit), ax in zip(PANELS, axes):
        for k, (method, (mean, se)) in enumerate(curves[size].items()):
            if name not in mean:
                continue
            line = np.asarray(mean[name])[:T] / size
            ax.plot(years[: line.size], line, color=f"C{k}", lw=1.8 if se is None else 1.2, label=method)
            if se is not None:
                band = 2 * np.asarray(se[name])[:T] / abs(size)
                ax.fill_between(years[: line.size], line - band, line + band, color=f"C{k}", alpha=0.2, lw=0)
        ax.axhline(0, color="k", lw=0.5)
        ax.set(xlabel="years after the shock", ylabel=f"{unit} per s.d.")
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"responses to a {size:+g} s.d. innovation in log z, divided by {size:+g}")
    return fig
