"""Benchmark of the sequence-space household Jacobians (`srlteach.solvers.sequence_space`).

Usage, from the repository root::

    python benchmarks/jacobian_benchmark.py           # book and paper scale, T = 300
    python benchmarks/jacobian_benchmark.py --no-save # print only

For the Krusell–Smith household at book scale (60×3 grid) and paper scale (200×3), at the
horizon T = 300 the chapter uses, it reports the time of the first call of
`household_jacobians` (tracing and XLA compilation included: what a reader waits for) and
the median of three later calls, and, at book scale, the same four T×T Jacobians by plain
forward-mode autodiff of the whole transition path (`jax.jacfwd` of `household_path`), the
method the fake-news algorithm replaces. The stationary equilibrium is solved first and not
timed. Targets on a 2-core CPU: under 10 s at book scale, under a minute at paper scale
(issue 15). Appends a dated block to benchmarks/results.md.
"""

import datetime
import os
import pathlib
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp

import srlteach  # noqa: F401  (float64)
from srlteach.economies.krusell_smith import create_krusell_smith
from srlteach.solvers import sequence_space as ss
from srlteach.solvers.equilibrium import stationary_equilibrium

T = 300


def timed(f):
    start = time.perf_counter()
    jax.block_until_ready(f())
    return time.perf_counter() - start


def case(scale: str, direct: bool) -> dict:
    economy = create_krusell_smith(scale)
    steady = stationary_equilibrium(economy)
    household = ss.household_of(economy)
    load = os.getloadavg()[0]
    first = timed(lambda: ss.household_jacobians(household, steady, T))
    later = statistics.median(timed(lambda: ss.household_jacobians(household, steady, T)) for _ in range(3))
    row = {"scale": scale, "n_b": economy.b_grid.size, "first": first, "later": later, "load": load}
    if direct:
        path = jax.jit(jax.jacfwd(lambda r, w: ss.household_path(household, steady, r, w), argnums=(0, 1)))
        prices = (jnp.full(T, steady.r), jnp.full(T, steady.w))
        row["direct_first"] = timed(lambda: path(*prices))
        row["direct_later"] = timed(lambda: path(*prices))
    return row


def main(save: bool = True):
    rows = [case("book", direct=True), case("paper", direct=False)]
    lines = [
        f"## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: sequence-space Jacobians (issue 15)",
        "",
        (
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; jax {jax.__version__} on "
            f"{jax.default_backend()}; Python {platform.python_version()}. The CPU is shared: each row gives the 1-minute "
            "load average when its case started."
        ),
        "",
        (
            f"Krusell–Smith household, the four {T}×{T} Jacobians ∂(C, A)_t/∂(r, w)_s at the stationary equilibrium "
            "(`household_jacobians`, fake-news algorithm with forward-mode autodiff)."
        ),
        "",
        "| scale | individual grid | first call, with compilation (s) | later calls, median of 3 (s) | plain `jax.jacfwd` of the path: first / later (s) | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        direct = f"{r['direct_first']:.1f} / {r['direct_later']:.2f}" if "direct_first" in r else "not run"
        lines.append(f"| {r['scale']} | {r['n_b']}×3 | {r['first']:.2f} | {r['later']:.3f} | {direct} | {r['load']:.2f} |")
    lines += ["", "Targets (2-core CPU): book scale under 10 s, paper scale under 60 s, compilation included.", ""]
    text = "\n".join(lines)
    print(text)
    if save:
        with open(pathlib.Path(__file__).with_name("results.md"), "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main(save="--no-save" not in sys.argv)
