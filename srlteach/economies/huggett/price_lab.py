"""A laboratory for the non-Markov chapter: the Huggett economy with aggregate risk under a
fixed household policy, simulated by the SPG engine's rollout with market clearing every period."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.huggett.economy import (
    Huggett,
    create_huggett,
    create_huggett_pe,
    create_huggett_stationary,
    pe_reference_policy,
)
from srlteach.economies.huggett.srl import HuggettSPG, huggett_spg, savings_parameters
from srlteach.analysis.forecasting import cross_section_moments, usable_dates
from srlteach.learning.spg import SPGState, simulate
from srlteach.solvers.equilibrium import stationary_equilibrium
LAB_GRID = dict(r_min=0.002, n_r=13)  # r nodes 0.002 … 0.06: clearing rates stay inside


class PriceLab(NamedTuple):
    """The Huggett economy (model 2) under a fixed, reasonable household policy."""

    economy: Huggett  # model 2 on the lab's r grid (`LAB_GRID`)
    model: HuggettSPG  # its SPG plug-in: the bond market clears inside every rollout
    θ: jax.Array  # the fixed policy in the plug-in's parameterisation
    r_star: float  # the stationary equilibrium rate without aggregate risk


def create_price_lab(scale: str = "book", **overrides) -> PriceLab:
    """The economy of the non-Markov chapter and the policy its households follow.

    Households believe that r follows model 1's process around the stationary equilibrium
    rate r*, r′ = (1-ρ_r) r* + ρ_r r + ν_r sqrt(r) ε (ρ_r = 0.8, ν_r = 0.02), and save
    optimally given that belief (`pe_reference_policy`). Any fixed policy would do for the
    chapter's point; this one saves sensibly and makes S(r) cross zero inside the r grid.
    The policy enters the SPG plug-in through `savings_parameters`, which clips savings
    shares to [SHARE_BOUND, 1 - SHARE_BOUND] = [0.05, 0.95] (`srlteach.economies.huggett.srl`),
    so that the logits are finite where the believed policy sits at the borrowing limit.
    """
    settings = {**LAB_GRID, **overrides}
    economy = create_huggett(scale, **settings)
    stationary = {k: v for k, v in settings.items() if k not in ("n_z", "ν_z", "ρ_z")}
    r_star = float(stationary_equilibrium(create_huggett_stationary(scale, **stationary)).r)
    believed = pe_reference_policy(create_huggett_pe(scale, r̄=r_star, **settings))
    θ = savings_parameters(economy, jnp.transpose(believed.b_next, (2, 3, 0, 1)))
    return PriceLab(economy, huggett_spg(economy), θ, r_star)


def simulate_lab(lab: PriceLab, key, N: int, T: int, burn_in: int = 500, keep_distributions: bool = False):
    """N paths of T periods of (z_t, g_t, r_t) under the lab's policy, after `burn_in` periods.

    Every path starts from the plug-in's warm-up distribution (zero bonds for everyone)
    and a stationary draw of z, runs `burn_in` periods to forget that start, and is then
    recorded by `srlteach.learning.spg.simulate` (the SPG engine's rollout, market clearing each
    period). Returns its `Path` (arrays (T, N, ...)).
    """
    key_burn, key_paths = jax.random.split(key)
    burn = simulate(lab.model, lab.θ, key_burn, N, burn_in)
    return simulate(lab.model, lab.θ, key_paths, N, T, start=SPGState(burn.g_final, burn.a_final),
                    keep_distributions=keep_distributions)


class StartingPoint(NamedTuple):
    """A state (g_0, z_0) of the economy and the rate that clears its bond market."""

    g: jax.Array  # (n_b, n_y) cross-section
    a: jax.Array  # index of z_0 on z_grid
    r: float  # r_0
    z: float  # z_0


def matched_starting_points(lab: PriceLab, path, tol: float = 1e-4):
    """Two usable dates (`usable_dates`) of a simulated `path` (with distributions) with the
    same z node and rates within `tol` of each other, chosen to differ as much as possible
    in the cross-sectional standard deviation of wealth. Returns (StartingPoint, StartingPoint)."""
    if path.g is None:
        raise ValueError("path has no distributions: simulate with keep_distributions=True")
    r = np.asarray(path.prices.values[..., 0]).ravel()
    a = np.asarray(path.aggregate).ravel()
    sd = cross_section_moments(np.asarray(path.g), lab.economy.b_grid)["sd_b"].ravel()
    clipped = ~usable_dates(path.prices.out_of_grid).ravel()
    best, pair = -1.0, None
    for node in np.unique(a):
        idx = np.flatnonzero((a == node) & ~clipped)
        idx = idx[np.argsort(r[idx])]
        for i, j in zip(idx[:-1], idx[1:]):  # neighbours in r: close rates
            if abs(r[i] - r[j]) < tol and abs(sd[i] - sd[j]) > best:
                best, pair = abs(sd[i] - sd[j]), (i, j)
    if pair is None:
        raise ValueError(f"no two dates with the same z and rates within tol = {tol}: simulate longer")
    g = np.asarray(path.g).reshape((-1,) + path.g.shape[2:])
    z_grid = np.asarray(lab.economy.z_grid)
    return tuple(StartingPoint(jnp.asarray(g[k]), jnp.asarray(a[k]), float(r[k]), float(z_grid[a[k]])) for k in pair)


def rate_paths_from(lab: PriceLab, start: StartingPoint, key, N: int, T: int):
    """N paths (T, N) of r_t from the same state (g_0, z_0) under the lab's policy.

    Paths started from different states with the same key see the same aggregate shocks
    (common random numbers), so differences between them come from the states alone.
    """
    g0 = jnp.broadcast_to(start.g, (N,) + start.g.shape)
    a0 = jnp.broadcast_to(start.a, (N,))
    path = simulate(lab.model, lab.θ, key, N, T, start=SPGState(g0, a0))
    return path.prices.values[..., 0]
