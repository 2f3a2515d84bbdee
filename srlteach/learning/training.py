"""The training loop: improve a parameterised policy by stochastic gradient ascent.

This module holds the ONE training loop of the book. The policy-gradient chapter uses it
for the cake-eating and income-fluctuation problems (`srlteach.learning.policy_gradient`), and the structural policy gradient
engine (`srlteach.learning.spg`) uses it for every economy: an application supplies only an
objective, initial parameters θ0 and an optax optimiser.

An objective has the signature ::

    objective(θ, state, key, epoch) -> (L, (diagnostics, state_next))

where L is a scalar to MAXIMISE (a Monte Carlo estimate of the value of the policy with
parameters θ), `diagnostics` a dict of scalars recorded every epoch, and `state` any pytree
carried from one epoch to the next (the structural engine keeps there the distributions
to restart from; `None` otherwise). The trainer differentiates L with respect to θ only.

Epochs run in chunks: `TrainConfig.chunk` epochs are one `lax.scan` inside one compiled
call, with no host synchronisation inside; convergence is checked between chunks, but the
scan freezes θ at the first epoch whose step is below the tolerance, so the result is the
same as stopping exactly there.
"""

import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srlteach.foundations.validation import whole_number


class TrainConfig(NamedTuple):
    """Numerics of a training run (no economics)."""

    max_epochs: int = 1000  # upper bound on the number of gradient steps
    chunk: int = 25  # epochs per compiled call (a lax.scan over epochs)
    tol: float = 3e-4  # stop when max |θ_{k+1} - θ_k| < tol (the paper's criterion); 0 never stops
    seed: int = 0  # epoch k draws its randomness from fold_in(PRNGKey(seed), k)


class TrainResult(NamedTuple):
    """Outcome of `train`.

    `history` maps "objective" (L at the start of each epoch), "Δθ" (sup-norm change of θ
    in that epoch) and every diagnostic name to an np.ndarray with one entry per epoch run.
    """

    θ: Any  # final parameters (see `train` for the rule after an interruption)
    state: Any  # carried state after the last epoch run
    history: dict
    epochs: int  # number of epochs run
    converged: bool  # an epoch's sup-norm step fell below TrainConfig.tol
    interrupted: bool  # stopped by KeyboardInterrupt
    compile_seconds: float  # tracing and compiling the chunk function (once per call)
    run_seconds: float  # running the compiled chunks


def warmup_exponential_decay(
    η0: float, warmup: int = 50, decay_rate: float = 0.5, decay_steps: int = 250
) -> optax.Schedule:
    """Learning rate η_k = η0 for k < warmup, then η0 · decay_rate^((k - warmup)/decay_steps).

    The paper's schedule: a constant step while the policy leaves its initial guess, then a
    smooth exponential decay (by `decay_rate` every `decay_steps` epochs).
    """
    if not 0 < η0 < np.inf:
        raise ValueError(f"initial learning rate η0 must be finite and > 0, got {η0}")
    warmup = whole_number(warmup, "warmup (epochs)", least=0)
    if not 0 < decay_rate <= 1:
        raise ValueError(f"decay_rate must lie in (0, 1], got {decay_rate}")
    decay_steps = whole_number(decay_steps, "decay_steps")
    return optax.join_schedules(
        [optax.constant_schedule(η0), optax.exponential_decay(η0, decay_steps, decay_rate)],
        boundaries=[warmup],
    )


def sup_norm(tree) -> jax.Array:
    """max |x| over all entries of all leaves of a pytree."""
    return jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in jax.tree.leaves(tree)]))


def _strong(tree):
    """Arrays with fixed (non-weak) dtypes, so the compiled chunk accepts its own outputs."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.result_type(x)), tree)


def _check_config(config: TrainConfig) -> TrainConfig:
    """`config` with whole-number settings as ints (max_epochs = 100.0 → 100); ValueError if unusable."""
    if not 0 <= config.tol < np.inf:
        raise ValueError(f"tol must be finite and ≥ 0, got tol = {config.tol}")
    return config._replace(
        max_epochs=whole_number(config.max_epochs, "max_epochs", symbol="max_epochs"),
        chunk=whole_number(config.chunk, "chunk", symbol="chunk"),
        seed=whole_number(config.seed, "seed", least=0, symbol="seed"),
    )


def all_finite(tree) -> jax.Array:
    """True if every entry of every leaf is finite, tested entry by entry: a NaN can hide
    from a max (on the CPU backend a max over a large array may skip it)."""
    return jnp.stack([jnp.isfinite(leaf).all() for leaf in jax.tree.leaves(tree)]).all()


def check_finite_parameters(θ, name: str = "θ0"):
    """Raise ValueError unless every entry of every leaf of θ is finite."""
    for k, leaf in enumerate(jax.tree.leaves(θ)):
        bad = int((~np.isfinite(np.asarray(leaf))).sum())
        if bad:
            raise ValueError(f"{name} must be finite: leaf {k} has {bad} NaN or inf entries of {leaf.size}")


def compile_chunk(objective: Callable, θ0, optimizer: optax.GradientTransformation,
                  config: TrainConfig = TrainConfig(), state0=None):
    """The compiled chunk of `config.chunk` epochs that `train` runs for these arguments.

    A `jax.stages.Compiled`, for inspecting the program without training, e.g. its
    `memory_analysis()` (XLA's own accounting of argument, output and temporary buffers).
    """
    config = _check_config(config)
    return _compile_chunk(objective, _strong(_as_float(θ0)), optimizer, config, _strong(state0))[0]


def _compile_chunk(objective, θ0, optimizer, config: TrainConfig, state0):
    """(compiled chunk, shapes of one epoch's record) for strong-typed θ0 and state0."""
    max_epochs, chunk, tol, seed = config
    base_key = jax.random.PRNGKey(seed)
    value_and_grad = jax.value_and_grad(objective, has_aux=True)

    def _epoch(θ, opt_state, state, key, epoch):
        (L, (diagnostics, state_next)), grad = value_and_grad(θ, state, key, epoch)
        updates, opt_state = optimizer.update(jax.tree.map(jnp.negative, grad), opt_state, θ)
        θ_next = optax.apply_updates(θ, updates)
        Δθ = sup_norm(jax.tree.map(jnp.subtract, θ_next, θ))
        record = {"objective": L, "Δθ": Δθ, **diagnostics}
        return θ_next, opt_state, state_next, record

    # Shapes of one epoch's record, so that frozen epochs can emit a record of zeros.
    record_shape = jax.eval_shape(
        lambda θ, state: _epoch(θ, optimizer.init(θ), state, base_key, jnp.asarray(0))[3],
        θ0,
        state0,
    )

    def step(carry, epoch):
        θ, opt_state, state, done = carry
        active = ~done & (epoch < max_epochs)

        def run(_):
            key = jax.random.fold_in(base_key, epoch)
            θ_next, opt_next, state_next, record = _epoch(θ, opt_state, state, key, epoch)
            # (L finite, θ finite), entry by entry; a non-finite epoch ends the chunk like tol
            finite = jnp.stack([jnp.isfinite(record["objective"]).all(), all_finite(θ_next)])
            done_next = (record["Δθ"] < tol) | ~finite.all()
            return (θ_next, opt_next, state_next, done_next), (record, finite)

        def freeze(_):
            zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), record_shape)
            return (θ, opt_state, state, done), (zeros, jnp.ones(2, bool))

        carry_next, (record, finite) = jax.lax.cond(active, run, freeze, None)
        return carry_next, (record, active, finite)

    @jax.jit
    def run_chunk(θ, opt_state, state, epoch0):
        carry = (θ, opt_state, state, jnp.asarray(False))
        (θ, opt_state, state, done), (records, active, finite) = jax.lax.scan(
            step, carry, epoch0 + jnp.arange(chunk)
        )
        return θ, opt_state, state, done, records, active, finite

    opt_state0 = _strong(optimizer.init(θ0))
    compiled = run_chunk.lower(θ0, opt_state0, state0, jnp.asarray(0, dtype=jnp.int32)).compile()
    return compiled, record_shape


def train(
    objective: Callable,
    θ0,
    optimizer: optax.GradientTransformation,
    config: TrainConfig = TrainConfig(),
    state0=None,
    progress: Callable | None = None,
) -> TrainResult:
    """Gradient ascent on θ ↦ L(θ): θ_{k+1} = θ_k + optimizer step along ∇_θ L(θ_k).

    Parameters
    ----------
    objective : (θ, state, key, epoch) -> (L, (diagnostics, state_next)), see the module
        docstring. `epoch` is a traced integer (use it with `jnp.where`/`lax.cond`).
    θ0 : initial parameters, any pytree of float arrays.
    optimizer : an optax transformation; it receives -∇L, so its descent is our ascent.
    config : `TrainConfig`; epoch k uses key `fold_in(PRNGKey(config.seed), k)`.
    state0 : initial carried state (any pytree, default None).
    progress : optional callback, called between chunks with a dict summary (epoch,
        objective, Δθ, the diagnostics of the last epoch, elapsed seconds, and whether
        training has finished). `print_progress(every)` and `progress_bar(max_epochs)` make one.

    Returns
    -------
    TrainResult. Training stops after the first epoch with sup-norm step Δθ < tol
    (converged), after `max_epochs` epochs, or on KeyboardInterrupt: then the result holds
    θ and the history at the end of the last completed chunk, with interrupted=True (an
    interrupt during compilation returns θ0 after 0 epochs).

    Raises
    ------
    ValueError if θ0 has a NaN or inf entry (an integer θ0 is cast to float).
    FloatingPointError if the objective L or θ becomes NaN or inf. Every epoch tests each
    entry (`all_finite`, not a max, which can miss a NaN) inside the compiled chunk; the
    chunk stops at the first non-finite epoch and the error names the epoch and the
    quantity. A non-finite θ is no answer, so no result is returned.
    """
    config = _check_config(config)
    max_epochs, chunk, tol, seed = config
    θ0 = _as_float(θ0)
    check_finite_parameters(θ0)
    θ0, state0 = _strong(θ0), _strong(state0)
    start = time.perf_counter()
    try:
        compiled, record_shape = _compile_chunk(objective, θ0, optimizer, config, state0)
    except KeyboardInterrupt:  # nothing has run: the interrupted result is the starting point
        return TrainResult(θ0, state0, {}, 0, False, True, time.perf_counter() - start, 0.0)
    compile_seconds = time.perf_counter() - start

    opt_state0 = _strong(optimizer.init(θ0))
    θ, opt_state, state = θ0, opt_state0, state0
    chunks, epochs, converged, interrupted = [], 0, False, False
    start = time.perf_counter()
    try:  # Ctrl-C keeps the last completed chunk: an interrupted run is still a result
        while epochs < max_epochs and not converged:
            θ_c, opt_c, state_c, done, records, active, finite = compiled(
                θ, opt_state, state, jnp.asarray(epochs, dtype=jnp.int32)
            )
            done, records, active, finite = jax.device_get((done, records, active, finite))
            if not finite.all():
                _raise_non_finite(epochs, finite, records)
            n_run = int(np.sum(active))
            chunks.append({name: np.asarray(r)[:n_run] for name, r in records.items()})
            θ, opt_state, state, epochs, converged = θ_c, opt_c, state_c, epochs + n_run, bool(done)
            if progress is not None:
                last = {name: float(r[-1]) for name, r in chunks[-1].items()}
                progress({**last, "epoch": epochs, "elapsed": time.perf_counter() - start,
                          "finished": converged or epochs >= max_epochs})
    except KeyboardInterrupt:
        interrupted = True
    run_seconds = time.perf_counter() - start

    names = record_shape.keys()
    history = {
        name: np.concatenate([c[name] for c in chunks]) if chunks else np.zeros(0)
        for name in names
    }
    return TrainResult(θ, state, history, epochs, converged, interrupted, compile_seconds, run_seconds)


def _as_float(θ):
    """θ with integer (and boolean) leaves cast to the default float type: gradients need floats."""
    return jax.tree.map(lambda x: x if jnp.issubdtype(jnp.result_type(x), jnp.floating) else jnp.asarray(x, dtype=float), θ)


def _raise_non_finite(epochs_before: int, finite, records):
    """FloatingPointError naming the first epoch of the chunk whose objective or θ is not finite."""
    k = int(np.argmin(finite.all(axis=1)))
    L_finite, θ_finite = finite[k]
    what = " and ".join(name for name, ok in (("the objective L", L_finite), ("the parameters θ", θ_finite)) if not ok)
    raise FloatingPointError(
        f"training stopped at epoch {epochs_before + k}: {what} became NaN or inf "
        f"(L = {float(records['objective'][k]):.6g} in that epoch); lower the learning rate, "
        f"or check the economy's parameters and θ0"
    )


def print_progress(every: int = 100, digits: int = 5) -> Callable:
    """A `progress` callback for interactive runs: prints a line about every `every` epochs.

    The line shows the epoch, the objective, the sup-norm step Δθ and the diagnostics,
    rounded to `digits` significant digits.
    """
    last_printed = [-1]

    def progress(summary: dict):
        epoch = summary["epoch"]
        if epoch // every == last_printed[0] // every:
            return
        last_printed[0] = epoch
        fields = [f"epoch {epoch:5d}"] + [
            f"{name} {value:.{digits}g}" for name, value in summary.items()
            if name not in ("epoch", "elapsed", "finished")
        ]
        print("  ".join(fields) + f"  ({summary['elapsed']:.1f} s)", flush=True)

    return progress


def progress_bar(max_epochs: int, description: str = "training", digits: int = 4) -> Callable:
    """A `progress` callback that draws a progress bar over epochs (`tqdm.auto`).

    The bar is a widget in Jupyter and Colab and a text line in a terminal; after each chunk
    it shows the objective and the step Δθ, rounded to `digits` significant digits. Pass the
    run's `max_epochs` (the bar's length); a run that converges earlier closes it there.
    """
    from tqdm.auto import tqdm  # imported here: only interactive runs need it

    bar = tqdm(total=max_epochs, desc=description, unit="epoch")

    def progress(summary: dict):
        bar.update(summary["epoch"] - bar.n)
        bar.set_postfix(
            {name: f"{summary[name]:.{digits}g}" for name in ("objective", "Δθ") if name in summary},
            refresh=False,
        )
        if summary["finished"]:
            bar.close()

    return progress
