"""Benchmark of the structural policy gradient engine (`srlteach.learning.spg`).

Usage, from the repository root::

    python benchmarks/spg_benchmark.py            # everything (about 10 minutes on 2 cores, plus the memory
                                                  # cases: 25 compiles of an epoch and a chunk)
    python benchmarks/spg_benchmark.py --quick    # book scale and the design choices only
    python benchmarks/spg_benchmark.py --memory   # peak memory of every model's compiled programs
    python benchmarks/spg_benchmark.py --devices  # the paths sharded over 2 CPU host devices vs 1
    python benchmarks/spg_benchmark.py --only book-ks paper-ks   # just these cases

Each case runs in its own Python process, so compile caches and peak memory are its own.
Reports, per case: compile time (tracing + XLA, once per training run), time per epoch,
epochs and wall time to convergence where a case trains to convergence, and the process's
peak resident memory. Appends a dated block with the machine's description to
benchmarks/results.md.

Cases
-----
book-huggett   GE Huggett at book scale (`SPG_BOOK`), trained to convergence.
paper-huggett  GE Huggett at paper scale (`SPG_PAPER`: 200×3 individual grid, 30 z nodes,
               20 r nodes, N = 512, T = 170), a few epochs: time per epoch, and the time a
               run of the slides' average length (573 epochs) would take.
paper-ks       Krusell–Smith at paper scale (`SPG_PAPER`: 200×3 individual grid, 30×50 (r, w)
               grid, N = 512, T = 90): time per epoch (target: under 0.5 s on a 2-core CPU),
               and the time a run of the slides' average length (462 epochs) would take.
book-ks        Krusell–Smith at book scale (`SPG_BOOK`), trained to convergence (target: 60 s).
book-portfolio Portfolio choice (bonds and capital, q cleared in every rollout) at book scale
               (`srlteach.economies.portfolio.SPG_BOOK`), trained to convergence (target: 90 s).
paper-portfolio Portfolio choice at paper scale (200×3 wealth-income grid, 20×30×50 (q, R, w)
               grid, N = 512, T = 90), a few epochs: time per epoch, and the time a run of the
               slides' average length (637.5 epochs) would take.
paper-pe       Partial-equilibrium Huggett (the r process exogenous) at paper scale
               (`srlteach.economies.huggett.SPG_PAPER`), a few epochs: time per epoch, and the
               time a run of the slides' average length (355.8 epochs) would take.
book-hank      HANK with a Phillips curve (households and the price-setting firm learning
               together) at book scale (`srlteach.economies.hank.SPG_BOOK`, float64), trained
               to convergence.
paper-hank     HANK at paper scale (200×3, 30×30 (i′, w) households' grid, firm 50×30×30,
               N = 512, T = 182, float64), 2 epochs: time per epoch (target: under 2.5 s on a
               2-core CPU) and the time a run of the slides' average length (707.5 epochs,
               246.5 s on an A100) would take.
ks1998-*       The rational-expectations benchmark (`srlteach.economies.krusell_smith.ks1998`), book and paper scale,
               solved to its fixed point.
design-*       The engine's implementation choices against alternatives, on one epoch's
               value and gradient: single vs double precision, the engine's backward sweep
               vs reverse-mode autodiff of the backward recursion, and the N paths batched
               inside the scan over t vs one path after another.
memory-*       XLA's accounting (`memory_analysis()`) of one compiled epoch (value and gradient)
               and one compiled training chunk, for GE Huggett, PE Huggett, Krusell–Smith,
               the lagged-price variants of GE Huggett and Krusell–Smith, and HANK, at book and paper
               scale; `-paper-checkpoint`: the same at paper scale with `SPGConfig.checkpoint`
               set to the divisor of T nearest √(T/2). Compiles only (nothing is run).
devices{1,2}-* Time per epoch of `solve` with the N paths sharded over 1 or 2 CPU host devices
               (`--xla_force_host_platform_device_count`, set for that case's process only):
               book-scale Krusell–Smith and GE Huggett, paper-scale Krusell–Smith.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.md"
SLIDES_EPOCHS = 573  # average epochs to convergence of Huggett with aggregate shocks in the slides
HANK_SLIDES_EPOCHS = 707.5  # average epochs to convergence of HANK in the slides (246.5 s on an A100)
KS_SLIDES_EPOCHS = 462  # average epochs to convergence of Krusell–Smith in the slides (36.8 s on an A100)
PE_SLIDES_EPOCHS = 355.8  # average epochs to convergence of partial-equilibrium Huggett in the slides (24.5 s on an A100)
PORTFOLIO_SLIDES_EPOCHS = 637.5  # average epochs to convergence of portfolio choice in the slides (84.3 s on an A100)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def timed(f, *args, repeat: int = 3):
    """(seconds of the first call, best seconds of `repeat` further calls) of a jitted f."""
    import jax

    start = time.perf_counter()
    jax.block_until_ready(f(*args))
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(f(*args))
        best = min(best, time.perf_counter() - start)
    return first, best


# ---------------------------------------------------------------------------------------
# Cases (each runs in a fresh process: `python spg_benchmark.py --case NAME`)
# ---------------------------------------------------------------------------------------


def _to_convergence(case: str, model, config):
    """Train `model` with `config` to its stopping rule: compile time, time per epoch, epochs, wall time."""
    from srlteach.learning import spg

    start = time.perf_counter()
    result = spg.solve(model, config)
    wall = time.perf_counter() - start
    return dict(
        case=case,
        compile_s=result.compile_seconds,
        epoch_ms=1000 * result.run_seconds / result.epochs,
        epochs=result.epochs,
        converged=result.converged,
        wall_s=wall,
    )


def case_book_huggett():
    from srlteach.economies.huggett import SPG_BOOK, create_huggett, huggett_spg

    return _to_convergence("GE Huggett, book scale (70×3, n_z 9, n_r 11, N 32, T 170), to convergence",
                           huggett_spg(create_huggett("book")), SPG_BOOK)


def _epochs(model, config, epochs: int):
    """Train `epochs` epochs without a stopping rule: compile time and time per epoch."""
    from srlteach.learning import spg

    config = config._replace(max_epochs=epochs, chunk=epochs, tol=0.0)
    result = spg.solve(model, config)  # one chunk: compile, then one compiled call
    again = spg.solve(model, config)  # the same program again, for a second timing
    return result.compile_seconds, 1000 * min(result.run_seconds, again.run_seconds) / epochs


def _per_epoch(case: str, model, config, epochs: int, slides_epochs=None):
    """Compile time and time per epoch of `epochs` epochs, and, given the slides' average
    number of epochs to convergence, the wall time a run of that length would take."""
    compile_s, epoch_ms = _epochs(model, config, epochs)
    return dict(
        case=case,
        compile_s=compile_s,
        epoch_ms=epoch_ms,
        epochs=f"({slides_epochs} in the slides)" if slides_epochs else "",
        wall_s=f"≈ {slides_epochs * epoch_ms / 1000:.0f} (estimated)" if slides_epochs else "",
    )


def case_paper_huggett():
    from srlteach.economies.huggett import SPG_PAPER, create_huggett, huggett_spg

    return _per_epoch("GE Huggett, paper scale (200×3, n_z 30, n_r 20, N 512, T 170), 3 epochs",
                      huggett_spg(create_huggett("paper")), SPG_PAPER, 3, SLIDES_EPOCHS)


def case_paper_ks():
    from srlteach.economies.krusell_smith import SPG_PAPER, create_krusell_smith, krusell_smith_spg

    return _per_epoch("Krusell–Smith, paper scale (200×3, 30×50 (r, w), N 512, T 90), 3 epochs",
                      krusell_smith_spg(create_krusell_smith("paper")), SPG_PAPER, 3, KS_SLIDES_EPOCHS)


def case_book_ks():
    from srlteach.economies.krusell_smith import SPG_BOOK, create_krusell_smith, krusell_smith_spg

    model = krusell_smith_spg(create_krusell_smith("book"))  # its stationary g0 is not timed
    return _to_convergence("Krusell–Smith, book scale (60×3, 11×13 (r, w), N 32, T 90), to convergence", model, SPG_BOOK)


def case_book_portfolio():
    from srlteach.economies.portfolio import SPG_BOOK, create_portfolio, portfolio_spg

    model = portfolio_spg(create_portfolio("book"))  # its stationary reference is not timed
    return _to_convergence("Portfolio choice, book scale (60×3, 7×11×13 (q, R, w), N 32, T 90), to convergence", model, SPG_BOOK)


def case_paper_portfolio():
    from srlteach.economies.portfolio import SPG_PAPER, create_portfolio, portfolio_spg

    return _per_epoch("Portfolio choice, paper scale (200×3, 20×30×50 (q, R, w), N 512, T 90), 3 epochs",
                      portfolio_spg(create_portfolio("paper")), SPG_PAPER, 3, PORTFOLIO_SLIDES_EPOCHS)


def case_paper_pe():
    from srlteach.economies.huggett import SPG_PAPER, create_huggett_pe, huggett_pe_spg

    return _per_epoch("PE Huggett, paper scale (200×3, n_z 30, n_r 20, N 512, T 170), 3 epochs",
                      huggett_pe_spg(create_huggett_pe("paper")), SPG_PAPER, 3, PE_SLIDES_EPOCHS)


def _hank(scale: str):
    """HANK's SPG plug-in at `scale` (started at its EGM steady state, not timed) and its config."""
    from srlteach.economies import hank

    economy = hank.create_hank(scale)
    return hank.hank_spg(economy, hank.steady_state(economy)), hank.SPG_BOOK if scale == "book" else hank.SPG_PAPER


def case_book_hank():
    model, config = _hank("book")
    return _to_convergence("HANK, book scale (50×3, 9×9 (i′, w), firm 7×9×9, N 32, T 182, float64), to convergence",
                           model, config)


def case_paper_hank():
    model, config = _hank("paper")
    return _per_epoch("HANK, paper scale (200×3, 30×30 (i′, w), firm 50×30×30, N 512, T 182, float64), 2 epochs",
                      model, config, 2, HANK_SLIDES_EPOCHS)


def case_ks1998(scale: str):
    """The rational-expectations benchmark: the Krusell–Smith (1998) algorithm, to its fixed point."""
    from srlteach.economies.krusell_smith import create_krusell_smith
    from srlteach.economies.krusell_smith.ks1998 import KS1998Config, solve_ks1998

    config = KS1998Config()
    economy = create_krusell_smith(scale)
    solution = solve_ks1998(economy, config)
    return dict(
        case=f"Krusell–Smith (1998) algorithm, {scale} scale ({economy.b_grid.size}×3, K grid {config.n_K}, "
             f"z grid {config.n_z}, T {config.T}), to its fixed point (R² {solution.r_squared:.6f})",
        compile_s="",
        epoch_ms="",
        epochs=f"{solution.iterations} iterations",
        converged=solution.converged,
        wall_s=solution.seconds,
    )


def checkpoint_for(T: int) -> int:
    """The divisor of T nearest √(T/2): about the least memory, and exactly the same gradient."""
    return min((k for k in range(1, T + 1) if T % k == 0), key=lambda k: abs(k - (T / 2) ** 0.5))


def _design_setup(scale: str, dtype: str):
    import jax

    from srlteach.learning import spg

    if scale == "ks":
        from srlteach.economies.krusell_smith import create_krusell_smith, krusell_smith_spg

        model, N, T = krusell_smith_spg(create_krusell_smith("paper")), 512, 90
    else:
        from srlteach.economies.huggett import create_huggett, huggett_spg

        model, N, T = huggett_spg(create_huggett("book")), 32, 170
    model = spg.in_dtype(model, dtype)
    table = model.actions(spg.in_dtype(model.initial_parameters(), dtype))
    start = spg.initial_state(model, N, jax.random.PRNGKey(0))
    return model, table, start, spg.uniform_distribution(model), N, T


def case_design(scale: str, variant: str):
    """One epoch's value and gradient with respect to the policy table, by `variant`."""
    import jax
    import jax.numpy as jnp

    from srlteach.learning import spg

    dtype = "float64" if variant == "float64" else "float32"
    model, table, start, d0, N, T = _design_setup(scale, dtype)
    key = jax.random.PRNGKey(1)

    if variant in ("engine", "float64"):
        f = jax.jit(lambda t: spg.value_and_gradient(model, t, start.g, start.a, key, T, d0)[:2])
        label = f"engine (backward sweep), {dtype}"
    elif variant == "checkpoint":
        k = checkpoint_for(T)
        f = jax.jit(lambda t: spg.value_and_gradient(model, t, start.g, start.a, key, T, d0, checkpoint=k)[:2])
        label = f"engine, d_t stored every {k} periods and the rest recomputed (checkpoint={k}), float32"
    elif variant == "autodiff":
        def value(t):
            _, path = spg.rollout(model, jax.lax.stop_gradient(t), start.g, start.a, key, T, d0)
            return spg.backward_value(model, t, path, d0)

        f = jax.jit(jax.value_and_grad(value))
        label = "reverse-mode autodiff of the backward recursion, float32"
    elif variant == "sequential":
        # The other way round: one path at a time (a scan over paths, each a scan over t),
        # summing the gradients; the same numbers as the batched engine.
        def f_seq(t):
            def one(carry, n):
                value, grad = carry
                g0, a0 = jax.tree.map(lambda x: jax.lax.dynamic_slice_in_dim(x, n, 1), (start.g, start.a))
                v, gr, _ = spg.value_and_gradient(model, t, g0, a0, jax.random.fold_in(key, n), T, d0)
                return (value + v / N, jax.tree.map(lambda G, x: G + x / N, grad, gr)), None

            zero = (jnp.zeros((), table.dtype), jax.tree.map(jnp.zeros_like, t))
            return jax.lax.scan(one, zero, jnp.arange(N))[0]

        f = jax.jit(f_seq)
        label = "paths one after another (scan over paths), float32"
    first, best = timed(f, table)
    shape = "KS paper scale (N 512, T 90)" if scale == "ks" else "GE Huggett book scale (N 32, T 170)"
    return dict(case=f"{shape}: {label}", compile_s=first - best, epoch_ms=1000 * best)


# ---------------------------------------------------------------------------------------
# Memory: XLA's own accounting of the compiled programs
# ---------------------------------------------------------------------------------------

CHECKPOINT = "√(T/2)"  # the memory cases with checkpointing store d_t every ≈ √(T/2) periods
MEMORY_MODELS = ("huggett", "huggett-pe", "ks", "huggett-lagged", "ks-lagged", "hank")
MEMORY_LABELS = {
    "huggett": "GE Huggett",
    "huggett-pe": "PE Huggett",
    "ks": "Krusell–Smith",
    "huggett-lagged": "GE Huggett, lagged r (6 nodes)",
    "ks-lagged": "Krusell–Smith, lagged r (6 nodes)",
    "hank": "HANK (households and firm)",
}


def _model(name: str, scale: str):
    """(SPG plug-in, its SPGConfig at `scale`) for the memory cases; the lagged variants wrap
    the plug-in as the lagged-prices chapter does (6 nodes of r_{t-1} over the r grid)."""
    import jax.numpy as jnp

    from srlteach.learning.lagged_prices import lagged_prices

    if name == "hank":
        return _hank(scale)
    if name.startswith("huggett"):
        from srlteach.economies import huggett as h

        if name == "huggett-pe":
            return h.huggett_pe_spg(h.create_huggett_pe(scale)), h.SPG_BOOK_PE if scale == "book" else h.SPG_PAPER
        model, config = h.huggett_spg(h.create_huggett(scale)), h.SPG_BOOK if scale == "book" else h.SPG_PAPER
    else:
        from srlteach.economies import krusell_smith as ks

        model, config = ks.krusell_smith_spg(ks.create_krusell_smith(scale)), ks.SPG_BOOK if scale == "book" else ks.SPG_PAPER
    if name.endswith("lagged"):
        grid = model.economy.r_grid
        model = lagged_prices(model, [jnp.linspace(grid[0], grid[-1], 6)], p0=[(grid[0] + grid[-1]) / 2])
    return model, config


def memory_mb(compiled) -> dict:
    """XLA's accounting of a compiled program, in MB (2^20 bytes): argument, output and
    temporary buffers, and their total less the outputs aliased to arguments. The CPU
    backend's own `peak_memory_in_bytes` counts only arguments and outputs, not the
    temporaries (checked on this jax), so the total here is the figure to read."""
    m = compiled.memory_analysis()
    mb = lambda b: b / 2**20
    total = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes
    return dict(argument=mb(m.argument_size_in_bytes), output=mb(m.output_size_in_bytes),
                temp=mb(m.temp_size_in_bytes), total=mb(total), xla_peak=mb(m.peak_memory_in_bytes))


def compiled_programs(model, config):
    """One epoch (value and gradient of the SPG objective, as `solve` differentiates it) and
    one chunk of `config.chunk` epochs (what `solve` runs: `training.compile_chunk`), compiled
    for `model` and `config` as `solve` sets them up; returns (epoch, chunk, compile seconds)."""
    import jax
    import jax.numpy as jnp
    import optax

    from srlteach.learning import spg
    from srlteach.learning.training import TrainConfig, compile_chunk, warmup_exponential_decay

    model = spg.in_dtype(model, config.dtype)
    θ0 = model.initial_parameters()
    objective = spg.spg_objective(model, config)
    state0 = spg.initial_state(model, config.N, jax.random.PRNGKey(config.seed))
    start = time.perf_counter()
    epoch = jax.jit(jax.value_and_grad(objective, has_aux=True)).lower(
        θ0, state0, jax.random.PRNGKey(1), jnp.asarray(0, jnp.int32)).compile()
    optimizer = optax.adam(warmup_exponential_decay(config.η0, config.warmup, config.decay_rate, config.decay_steps))
    chunk = compile_chunk(objective, θ0, optimizer, TrainConfig(config.max_epochs, config.chunk, config.tol, config.seed), state0)
    return epoch, chunk, time.perf_counter() - start


def case_memory(name: str, scale: str, checkpoint: int | None = None):
    """Peak memory of one compiled epoch and one compiled chunk of `name` at `scale`."""
    model, config = _model(name, scale)
    if checkpoint == CHECKPOINT:
        checkpoint = checkpoint_for(config.T)
    if checkpoint is not None:
        config = config._replace(checkpoint=checkpoint)
    epoch, chunk, seconds = compiled_programs(model, config)
    shape = f"N {config.N}, T {config.T}" + (f", checkpoint every {checkpoint}" if checkpoint else "")
    return dict(case=f"{MEMORY_LABELS[name]}, {scale} scale ({shape})", memory=True,
                epoch=memory_mb(epoch), chunk=memory_mb(chunk), chunk_epochs=config.chunk, compile_s=seconds)


# ---------------------------------------------------------------------------------------
# Many devices: the paths of an epoch sharded over CPU host devices
# ---------------------------------------------------------------------------------------

DEVICE_CASES = {  # name: (economy, scale, epochs timed)
    "book-ks": ("ks", "book", 40),
    "book-huggett": ("huggett", "book", 20),
    "paper-ks": ("ks", "paper", 3),
}


def case_devices(name: str, devices: int):
    """Time per epoch of `solve` with the paths sharded over `devices` CPU host devices
    (run_case starts the process with --xla_force_host_platform_device_count)."""
    import jax

    from srlteach.learning.spg.devices import path_devices

    economy, scale, epochs = DEVICE_CASES[name]
    model, config = _model(economy, scale)
    assert len(jax.devices()) == devices, jax.devices()
    compile_s, epoch_ms = _epochs(model, config, epochs)
    used = len(path_devices(config.N))
    return dict(case=f"{MEMORY_LABELS[economy]}, {scale} scale (N {config.N}, T {config.T}): paths on "
                     f"{used} CPU host device{'s' if used > 1 else ''}, {epochs} epochs",
                compile_s=compile_s, epoch_ms=epoch_ms)


CASES = {
    "book-huggett": case_book_huggett,
    "paper-huggett": case_paper_huggett,
    "paper-ks": case_paper_ks,
    "book-ks": case_book_ks,
    "book-portfolio": case_book_portfolio,
    "paper-portfolio": case_paper_portfolio,
    "paper-pe": case_paper_pe,
    "book-hank": case_book_hank,
    "paper-hank": case_paper_hank,
    "ks1998-book": lambda: case_ks1998("book"),
    "ks1998-paper": lambda: case_ks1998("paper"),
    **{f"design-{scale}-{variant}": (lambda s=scale, v=variant: case_design(s, v))
       for scale in ("book", "ks") for variant in ("engine", "float64", "autodiff", "sequential", "checkpoint")},
    **{f"memory-{name}-{scale}": (lambda n=name, s=scale: case_memory(n, s))
       for scale in ("book", "paper") for name in MEMORY_MODELS},
    **{f"memory-{name}-paper-checkpoint": (lambda n=name: case_memory(n, "paper", CHECKPOINT))
       for name in MEMORY_MODELS},
    **{f"devices{k}-{name}": (lambda n=name, k=k: case_devices(n, k)) for name in DEVICE_CASES for k in (1, 2)},
}
MEMORY = [name for name in CASES if name.startswith("memory-")]
DEVICES = [name for name in CASES if name.startswith("devices")]
QUICK = ["book-huggett"] + [f"design-book-{v}" for v in ("engine", "float64", "autodiff", "sequential")]


def run_case(name: str) -> dict:
    """Run one case in a fresh process; its last stdout line is the JSON result."""
    env = dict(os.environ)
    if name.startswith("devices"):  # CPU host devices: the flag must be set before JAX starts
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={name[7]}".strip()
    out = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        return dict(case=name, error=out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------


def machine() -> dict:
    import jax

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(
        cpu=model,
        cores=os.cpu_count(),
        memory_gb=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        jax=jax.__version__,
        backend=jax.default_backend(),
        devices=", ".join(d.device_kind for d in jax.devices()),
        python=platform.python_version(),
    )


def fmt(value, digits: int):
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def report(rows: list, info: dict, load_before, load_after) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {stamp}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; jax {info['jax']} on "
        f"{info['backend']} ({info['devices']}); Python {info['python']}.",
        f"Load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        "(other processes on the machine slow every figure down in proportion; each row gives the "
        "load when its case started).",
        "No GPU was available to this run: there are no GPU rows.",
        "",
    ]
    timing = [row for row in rows if not row.get("memory")]
    memory = [row for row in rows if row.get("memory")]
    if timing:
        lines += [
            "| case | compile (s) | per epoch (ms) | epochs | wall to convergence (s) | peak memory (MB) | load |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in timing:
            if "error" in row:
                lines.append(f"| {row['case']} | failed: {row['error']} | | | | | |")
                continue
            lines.append(
                f"| {row['case']} | {fmt(row['compile_s'], 1)} | {fmt(row['epoch_ms'], 0)} | {row.get('epochs', '')} "
                f"| {fmt(row.get('wall_s', ''), 1)} | {fmt(row['peak_mb'], 0)} | {fmt(row.get('load', ''), 2)} |"
            )
        lines += ["", "Targets on a 2-core CPU: book-scale GE Huggett and Krusell–Smith converge in under 60 s; a "
                  "paper-scale Krusell–Smith epoch takes under 0.5 s. The slides report 45.9 s for Huggett with "
                  "aggregate shocks and 36.8 s for Krusell–Smith on an A100 GPU.", ""]
    if memory:
        lines += [
            "Memory by XLA's own accounting of the compiled program (`compiled.memory_analysis()`, MB = 2^20 "
            "bytes): argument + output + temporary buffers (less outputs aliased to arguments: none here). "
            "Epoch: the value and gradient of the SPG objective; chunk: the training chunk `solve` runs "
            "(epochs, optimiser included). The last column is the case process's peak resident memory, "
            "which includes the Python process and XLA's compiler (about 500 MB at book scale).",
            "",
            "| case | epoch: argument / output / temporary | epoch total | chunk total (epochs) | compile both (s) "
            "| process peak (MB) | load |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in memory:
            if "error" in row:
                lines.append(f"| {row['case']} | failed: {row['error']} | | | | | |")
                continue
            e, c = row["epoch"], row["chunk"]
            lines.append(
                f"| {row['case']} | {e['argument']:.2f} / {e['output']:.2f} / {e['temp']:.1f} | {e['total']:.1f} "
                f"| {c['total']:.1f} ({row['chunk_epochs']}) | {row['compile_s']:.1f} | {row['peak_mb']:.0f} "
                f"| {fmt(row.get('load', ''), 2)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="book scale and design choices only")
    parser.add_argument("--memory", action="store_true", help="the memory cases only (compiles, does not run)")
    parser.add_argument("--devices", action="store_true", help="the sharded-paths cases only (CPU host devices)")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), metavar="CASE", help="run only these cases")
    args = parser.parse_args()
    if args.case:  # inside a case's own process
        import srlteach  # noqa: F401  (float64 for the reference solvers)

        load = os.getloadavg()[0]
        row = CASES[args.case]()
        row["load"] = load
        row["peak_mb"] = peak_memory_mb()
        print(json.dumps(row))
        return
    names = args.only or (QUICK if args.quick else MEMORY if args.memory else DEVICES if args.devices else list(CASES))
    load_before = os.getloadavg()
    rows = []
    for name in names:
        print(f"running {name} ...", flush=True)
        rows.append(run_case(name))
        print("  ", rows[-1], flush=True)
    block = report(rows, machine(), load_before, os.getloadavg())
    header = "" if RESULTS.exists() else "# SPG engine benchmarks\n\nAppended by `benchmarks/spg_benchmark.py`, newest last.\n\n"
    with open(RESULTS, "a") as f:
        f.write(header + block + "\n")
    print(block)


if __name__ == "__main__":
    main()
