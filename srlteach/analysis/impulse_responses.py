"""Generalised impulse responses (Koop, Pesaran and Potter 1996) of simulated economies.

A nonlinear economy has no single impulse response: the effect of a shock depends on the
state it hits and on its size and sign. The generalised impulse response averages it over
the states the economy visits,

    GIRF_h(x) = E[x_{t+h} | shock of size x at t, state at t] - E[x_{t+h} | state at t],

estimated from pairs of simulated paths that start from the same state (drawn from the
ergodic set) and see the same innovations (common random numbers), except that the shocked
path's first innovation is moved by x standard deviations. The difference within a pair is
then the effect of the shock alone, not the noise of two independent simulations.

`paired_responses` is the estimator for any simulator of paths driven by given innovations
(the KS-1998 simulation, say). `generalised_impulse_responses` applies it to every SRL
economy: it runs the SPG engine's own simulation (passed in as `simulate`, because this
layer sits below the engine) with the innovations fixed by `given_innovations`. The
innovations are whatever the economy's `aggregate_shocks` draws: standard normals for a
continuous AR(1) (`normal_impulse`), uniforms for a Tauchen chain drawn by its inverse CDF
(`uniform_impulse`; a Tauchen row's CDF is the normal CDF at the midpoints between nodes,
so moving the normal quantile Φ⁻¹(u) by x moves the underlying AR(1) innovation by x s.d.
before it is rounded to a node).
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from srlteach.foundations.validation import finite, whole_number


class ImpulseResponses(NamedTuple):
    """Mean response over pairs and its standard error, (T,) per series."""

    mean: dict  # name -> (T,) mean of shocked - baseline (or shocked/baseline - 1 if relative)
    se: dict  # name -> (T,) standard error of that mean across pairs
    pairs: int  # number of pairs of paths averaged


def normal_impulse(size: float, component: int | None = None) -> Callable:
    """ε ↦ ε + size at date 0, for standard normal innovations (size in s.d.); `component`
    picks one innovation where the economy draws several (HANK's (ε_z, ε_e))."""
    size = finite(size, "size")

    def impulse(ε):
        return ε + size if component is None else ε.at[..., component].add(size)

    return impulse


def uniform_impulse(size: float) -> Callable:
    """u ↦ Φ(Φ⁻¹(u) + size) at date 0, for uniform innovations that drive a Tauchen chain."""
    size = finite(size, "size")
    return lambda u: norm.cdf(norm.ppf(u) + size).astype(u.dtype)


def paired_responses(simulate: Callable, innovations, impulse: Callable, relative=()) -> ImpulseResponses:
    """The generalised impulse responses from pairs of paths.

    simulate : innovations (T, N, ...) -> dict name -> (T, N) series along N paths, each
        path driven by its column of innovations from its own fixed starting state.
    innovations : (T, N, ...) the baseline innovations; the shocked paths get
        `impulse(innovations[0])` at date 0 and the same innovations afterwards.
    relative : names whose response is shocked/baseline - 1 rather than shocked - baseline.
    """
    innovations = jnp.asarray(innovations)
    shocked = innovations.at[0].set(impulse(innovations[0]))
    base, moved = simulate(innovations), simulate(shocked)
    unknown = set(relative) - set(base)
    if unknown:
        raise ValueError(f"relative names series that simulate does not return: {sorted(unknown)}; it returns {sorted(base)}")
    mean, se = {}, {}
    for name in base:
        x, y = (np.asarray(s[name], np.float64) for s in (base, moved))
        d = y / x - 1 if name in relative else y - x
        mean[name] = d.mean(axis=1)
        se[name] = d.std(axis=1, ddof=1) / np.sqrt(d.shape[1]) if d.shape[1] > 1 else np.full(d.shape[0], np.nan)
    return ImpulseResponses(mean, se, int(innovations.shape[1]))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GivenInnovations:
    """An SPG economy whose aggregate innovations are given rather than drawn: every other
    attribute is the economy's own."""

    model: Any  # the economy's SPG plug-in
    innovations: jax.Array  # (T, N, ...) what `aggregate_shocks` returns

    def aggregate_shocks(self, key, shape):
        if tuple(shape) != self.innovations.shape[: len(shape)]:
            raise ValueError(f"the given innovations have shape {self.innovations.shape}, the simulation asks for {tuple(shape)}")
        return self.innovations

    def __getattr__(self, name):
        if name in ("model", "innovations"):  # not yet set (while copying): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)


def given_innovations(model, innovations) -> GivenInnovations:
    """`model` driven by `innovations` (T, N, ...) instead of its own draws."""
    return GivenInnovations(model, jnp.asarray(innovations))


def generalised_impulse_responses(simulate: Callable, model, θ, start, key, T: int, impulse: Callable, series: dict,
                                  relative=(), repeats: int = 1) -> ImpulseResponses:
    """SRL's generalised impulse responses: paired paths of a trained policy, averaged.

    simulate : the engine's `srlteach.learning.spg.simulate`.
    model, θ : an economy's SPG plug-in and its trained parameters.
    start : an `SPGState` of N paths on the policy's ergodic set (e.g. `SPGResult.state`):
        every pair starts from one of them.
    key : PRNG key of the baseline innovations (`model.aggregate_shocks`); each of the N
        starting states starts `repeats` pairs, each pair with its own innovations.
    T : periods of response; impulse : what the shock does to the date-0 innovations
        (`normal_impulse`, `uniform_impulse`); series : name -> function of the engine's
        `Path` giving a (T, N) array; relative : series reported as shocked/baseline - 1.

    The innovation at date 0 moves the aggregate state of date 1, the first date at which
    prices and choices can respond, so the responses are those of dates 1, …, T of the
    simulation: entry 0 is the impact response.
    """
    T = whole_number(T, "response periods T", symbol="T")
    repeats = whole_number(repeats, "pairs of paths per starting state", symbol="repeats")
    # every starting state `repeats` times: all pairs run side by side in one simulation
    start = jax.tree.map(lambda x: jnp.concatenate([x] * repeats), start)
    N = jax.tree.leaves(start.a)[0].shape[0]

    def run(innovations):
        path = simulate(given_innovations(model, innovations), θ, key, N, T + 1, start=start)
        return {name: f(path)[1:] for name, f in series.items()}

    return paired_responses(run, model.aggregate_shocks(key, (T + 1, N)), impulse, relative)
