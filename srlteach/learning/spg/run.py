"""Training an SPG policy (`solve`), and simulating economies under it."""

from functools import partial
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from srlteach.learning.spg.config import SPGConfig, check_config, check_parameters, in_dtype
from srlteach.learning.spg.engine import (
    Path,
    SPGEconomy,
    SPGState,
    initial_state,
    rollout,
    spg_objective,
    uniform_distribution,
)
from srlteach.learning.training import TrainConfig, train, warmup_exponential_decay

# ---------------------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------------------


class SPGResult(NamedTuple):
    """A trained policy with everything needed to reproduce its simulations."""

    model: Any  # the economy's plug-in, in the engine's float type
    config: SPGConfig
    θ: Any  # trained policy parameters
    state: SPGState  # where the last batch ended (the ergodic set of the trained policy)
    history: dict  # per-epoch "objective", "Δθ" and diagnostics (np arrays)
    epochs: int
    converged: bool
    interrupted: bool
    compile_seconds: float
    run_seconds: float


def solve(model: SPGEconomy, config: SPGConfig = SPGConfig(), θ0=None, optimizer=None, progress=None) -> SPGResult:
    """Train the policy of `model` by the structural policy gradient.

    Parameters
    ----------
    model : an economy's SPG plug-in (see `SPGEconomy`).
    config : numerics (`SPGConfig`).
    θ0 : initial parameters (default: `model.initial_parameters()`, the economy's initial
        policy); must match that structure and those shapes.
    optimizer : an optax transformation (default: Adam with the paper's schedule,
        `warmup_exponential_decay(η0, warmup, decay_rate, decay_steps)`).
    progress : optional callback for interactive use (`srlteach.learning.policy_gradient.print_progress`).

    Runs `config.chunk` epochs per compiled call; Ctrl-C returns the policy at the end of
    the last completed chunk with `interrupted=True`.
    """
    check_config(config)
    model = in_dtype(model, config.dtype)
    θ_ref = model.initial_parameters()
    θ0 = θ_ref if θ0 is None else θ0
    check_parameters(θ0, θ_ref)
    θ0 = in_dtype(θ0, config.dtype)
    model.check_policy(model.actions(θ0))
    if optimizer is None:
        schedule = warmup_exponential_decay(config.η0, config.warmup, config.decay_rate, config.decay_steps)
        optimizer = optax.adam(schedule)
    state0 = initial_state(model, config.N, jax.random.PRNGKey(config.seed))
    trained = train(
        spg_objective(model, config),
        θ0,
        optimizer,
        TrainConfig(config.max_epochs, config.chunk, config.tol, config.seed),
        state0=state0,
        progress=progress,
    )
    return SPGResult(
        model, config, trained.θ, SPGState(*trained.state), trained.history, trained.epochs,
        trained.converged, trained.interrupted, trained.compile_seconds, trained.run_seconds,
    )


def simulate(model: SPGEconomy, θ, key, N: int, T: int, start: SPGState | None = None, keep_distributions=False) -> Path:
    """N paths of T periods under the policy θ (diagnostics: prices, aggregates, residuals).

    start : where the paths begin (default: the warm-up distribution with aggregate states
    drawn from `key`); pass `SPGResult.state` to continue from the trained policy's ergodic
    set (its first N paths).
    """
    key_start, key_paths = jax.random.split(key)
    if start is None:
        start = initial_state(model, N, key_start)
    available = jax.tree.leaves(start.a)[0].shape[0]
    if not 1 <= N <= available:
        raise ValueError(f"N must lie in [1, {available}] (the paths in `start`), got N = {N}")
    if int(T) != T or T < 1:
        raise ValueError(f"T must be a positive integer, got T = {T}")
    start = jax.tree.map(lambda x: x[:N], start)
    return _simulate(model, θ, start, key_paths, T, keep_distributions)


@partial(jax.jit, static_argnames=("T", "keep_distributions"))
def _simulate(model, θ, start, key, T, keep_distributions):
    _, path = rollout(model, model.actions(θ), start.g, start.a, key, T, uniform_distribution(model), keep_distributions)
    return path


def seed_spread(model: SPGEconomy, config: SPGConfig, seeds, statistic) -> np.ndarray:
    """`statistic(result)` of independent SPG runs that differ only in `config.seed`.

    The sampling noise of the method: each seed draws different aggregate shocks in every
    epoch. Returns an array with one row per seed.
    """
    return np.stack([np.asarray(statistic(solve(model, config._replace(seed=int(seed))))) for seed in seeds])


