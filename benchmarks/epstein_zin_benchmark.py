"""Cost of the Epstein–Zin objective and gradient against the CRRA one (issue 17).

Usage, from the repository root::

    python benchmarks/epstein_zin_benchmark.py

Times one epoch's value and gradient (`srlteach.learning.spg.spg_objective`, compiled,
including the rollout with market clearing) of GE Huggett at book scale (`SPG_BOOK`, float32)
on the Epstein–Zin r grid, for CRRA households (the engine's backward sweep) and for
Epstein–Zin households with γ = 5 and 10 (reverse-mode autodiff of the non-linear backward
recursion). The cases are interleaved, REPEATS rounds of one call each, so that the load of
a shared machine falls on all of them alike; prints the median and minimum per case and the
peak memory XLA reports for each compiled epoch.
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import srlteach  # noqa: F401
from srlteach.economies.huggett import SPG_BOOK, huggett_spg
from srlteach.economies.huggett.epstein_zin import create_huggett_ez, huggett_ez_spg
from srlteach.learning import spg

REPEATS = 15


def epoch(model, config):
    """The compiled value and gradient of one epoch, and its arguments."""
    objective = spg.spg_objective(model, config)
    θ = model.initial_parameters()
    state = spg.initial_state(model, config.N, jax.random.PRNGKey(0))
    args = (θ, state, jax.random.PRNGKey(1), jnp.asarray(config.warmup + 1))
    compiled = jax.jit(jax.value_and_grad(lambda θ, *rest: objective(θ, *rest)[0])).lower(*args).compile()
    return compiled, args


def main():
    economy = create_huggett_ez("book")
    config = SPG_BOOK
    cases = {"CRRA (γ = ρ = 2)": huggett_spg(economy), "EZ γ = 5": huggett_ez_spg(economy, 5.0), "EZ γ = 10": huggett_ez_spg(economy, 10.0)}
    compiled = {name: epoch(spg.in_dtype(model, config.dtype), config) for name, model in cases.items()}
    times = {name: [] for name in cases}
    for _ in range(REPEATS):
        for name, (f, args) in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - start)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}; N = {config.N}, T = {config.T}, {REPEATS} interleaved rounds")
    for name, (f, _) in compiled.items():
        t = 1000 * np.array(times[name][1:])  # the first call of each warms caches
        memory = f.memory_analysis()
        peak = (memory.temp_size_in_bytes + memory.argument_size_in_bytes + memory.output_size_in_bytes) / 2**20
        print(f"| {name} | {np.median(t):.0f} | {t.min():.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
