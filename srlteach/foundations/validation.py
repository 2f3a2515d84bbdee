"""Checks of what a user passes in, shared by every layer.

Every check is written so that NaN fails it: `not (x > 0)` rather than `x <= 0`, because
every comparison with NaN is false. A bad value raises ValueError naming the parameter and
the bound it breaks.
"""

import math

import numpy as np


def whole_number(value, name: str, least: int = 1, symbol: str | None = None) -> int:
    """`value` as an int if it is a whole number ≥ least (32.0 → 32), else ValueError.

    Sizes (grid points, paths, periods, epochs) reach JAX as shapes, which must be ints.
    name : what the message calls the value ("asset grid size n_b"); symbol, if given, is
    repeated with the value ("..., got n_r = 1.5").
    """
    try:
        whole = float(value).is_integer()  # False for NaN and ±inf
    except (TypeError, ValueError):
        whole = False
    if not (whole and value >= least):
        rule = "a positive integer" if least == 1 else f"an integer ≥ {least}"
        raise ValueError(f"{name} must be {rule}, got {symbol + ' = ' if symbol else ''}{value}")
    return int(value)


def finite(value, name: str) -> float:
    """`value` as a float if it is a finite number, else ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {name} = {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {name} = {value!r}")
    return number


def check_finite_array(x, name: str):
    """Raise ValueError unless every entry of the array `x` is finite (no NaN, no ±inf)."""
    x = np.asarray(x)
    finite_entries = np.isfinite(x)
    if not finite_entries.all():
        raise ValueError(
            f"{name} must be finite everywhere; {int((~finite_entries).sum())} of its {x.size} entries are NaN or inf"
        )


def economy_settings(economy: str, scale: str, overrides: dict, calibration: dict, scales: dict, sizes: dict) -> dict:
    """The settings of an economy's factory: its calibration, the grid sizes of `scale` and
    the user's `overrides`, each checked to be a finite number, and the sizes whole numbers.

    sizes : name → (what messages call it, least value, symbol) for `whole_number`.
    Raises ValueError for an unknown scale or setting, naming the known ones.
    """
    if scale not in scales:
        raise ValueError(f"scale must be one of {sorted(scales)}, got {scale!r}")
    unknown = set(overrides) - set(calibration) - set(scales[scale])
    if unknown:
        raise ValueError(f"unknown {economy} parameter(s) {sorted(unknown)}; known: {sorted(calibration) + sorted(scales[scale])}")
    settings = {**calibration, **scales[scale], **overrides}
    return {name: whole_number(value, *sizes[name]) if name in sizes else finite(value, name) for name, value in settings.items()}


def increasing_bounds(settings: dict, names) -> None:
    """Raise ValueError unless `settings[name + "_min"] < settings[name + "_max"]` for every
    grid name (NaN fails), naming the grid and both bounds."""
    for name in names:
        lo, hi = settings[f"{name}_min"], settings[f"{name}_max"]
        if not lo < hi:
            raise ValueError(f"the {name} grid needs {name}_min < {name}_max, got {lo} ≥ {hi}")
