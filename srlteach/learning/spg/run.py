"""Training an SPG policy (`solve`), and simulating economies under it."""

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srlteach.foundations.validation import whole_number
from srlteach.learning.spg.config import SPGConfig, check_config, check_parameters, in_dtype
from srlteach.learning.spg.devices import path_sharding, shard_paths
from srlteach.learning.spg.engine import (
    Path,
    SPGEconomy,
    SPGState,
    clearing_diagnostics,
    initial_state,
    rollout,
    spg_objective,
    objective_distribution,
)
from srlteach.learning.training import TrainConfig, check_finite_parameters, train, warmup_exponential_decay

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
    converged: bool  # max |Δθ| fell below tol AND prices stayed inside their grids (see `solve`)
    interrupted: bool
    compile_seconds: float
    run_seconds: float
    message: str = ""  # the verdict in words: why converged is True or False, and what to change


# A converged run must clear its markets: see `solve`.
RECENT_EPOCHS = 50
CLIPPED_SHARE_LIMIT = 0.01


def solve(model: SPGEconomy, config: SPGConfig = SPGConfig(), θ0=None, optimizer=optax.adam, progress=None) -> SPGResult:
    """Train the policy of `model` by the structural policy gradient.

    Parameters
    ----------
    model : an economy's SPG plug-in (see `SPGEconomy`).
    config : numerics (`SPGConfig`).
    θ0 : initial parameters (default: `model.initial_parameters()`, the economy's initial
        policy); must match that structure and those shapes.
    optimizer : a function of the learning-rate schedule that returns an optax
        transformation (default `optax.adam`; e.g. `optax.sgd`). The schedule is always the
        config's, `warmup_exponential_decay(η0, plateau, decay_rate, decay_steps)`, so that
        no learning-rate setting of `config` is silently ignored.
    progress : optional callback for interactive use (`srlteach.learning.training.print_progress`).

    Runs `config.chunk` epochs per compiled call; Ctrl-C returns the policy at the end of
    the last completed chunk with `interrupted=True`.

    `converged` is True only if max |Δθ| fell below `config.tol` AND the prices stayed
    inside the policy's price grids: if more than CLIPPED_SHARE_LIMIT = 1% of the prices
    simulated in the last RECENT_EPOCHS = 50 epochs (history["out_of_grid"] / (N T)) were
    clipped to a grid edge, the run is not converged. At a clipped date the market did not
    clear (Huggett's bond market is left with the imbalance S at the edge) and the policy
    was read at the edge, not at the price households face, so the policy was learned for
    another economy. The book's converged runs clip 0 (Huggett) and 2e-5 (Krusell–Smith)
    of their prices; calibrations whose grids cannot hold the prices clip 5% to 100%
    (issue 11): 1% lies well between. `message` says which price left its grid at which
    edge (from a short simulation of the trained policy, `clearing_report`) and what to widen.

    Raises ValueError for an unusable config or θ0 (wrong shape, NaN or inf), and
    FloatingPointError if training makes the objective or θ non-finite (`train`).
    """
    config = check_config(config)
    model = in_dtype(model, config.dtype)
    θ_ref = model.initial_parameters()
    θ0 = θ_ref if θ0 is None else θ0
    check_parameters(θ0, θ_ref)
    check_finite_parameters(θ0)
    θ0 = jax.tree.map(lambda x: jnp.asarray(x, config.dtype), θ0)  # integer θ0 too: θ is a float
    model.check_policy(model.actions(θ0))
    if not callable(optimizer):
        raise ValueError(
            f"optimizer must be a function of the learning-rate schedule, such as optax.adam or optax.sgd, "
            f"got {type(optimizer).__name__}: the schedule comes from config (η0, plateau, decay_rate, decay_steps)"
        )
    optimizer = optimizer(warmup_exponential_decay(config.η0, config.plateau, config.decay_rate, config.decay_steps))
    # the paths split over the devices present (one device: unchanged), see `spg.devices`
    state0 = shard_paths(initial_state(model, config.N, jax.random.PRNGKey(config.seed)), path_sharding(config.N))
    trained = train(
        spg_objective(model, config),
        θ0,
        optimizer,
        TrainConfig(config.max_epochs, config.chunk, config.tol, config.seed),
        state0=state0,
        progress=progress,
    )
    trained = trained._replace(state=SPGState(*trained.state))
    converged, message = _verdict(model, config, trained)
    return SPGResult(
        model, config, trained.θ, trained.state, trained.history, trained.epochs,
        converged, trained.interrupted, trained.compile_seconds, trained.run_seconds, message,
    )


def _verdict(model, config: SPGConfig, trained) -> tuple[bool, str]:
    """(converged, message): the step criterion of `train`, then the prices' grid edges (see `solve`)."""
    if trained.interrupted:
        step = f"interrupted (Ctrl-C) after {trained.epochs} epochs"
    elif trained.converged:
        step = f"max |Δθ| < tol = {config.tol} after {trained.epochs} epochs"
    else:
        step = f"max |Δθ| stayed ≥ tol = {config.tol} for max_epochs = {trained.epochs} epochs"
    clipped = np.asarray(trained.history.get("out_of_grid", np.zeros(0)))[-RECENT_EPOCHS:]
    share = float(clipped.sum()) / max(clipped.size * config.N * config.T, 1)
    if share <= CLIPPED_SHARE_LIMIT:
        return trained.converged and not trained.interrupted, ("converged: " if trained.converged else "not converged: ") + step
    path = simulate(model, trained.θ, jax.random.PRNGKey(config.seed), config.N, config.T, start=trained.state)
    report = clearing_report(model, path)
    return False, (
        f"not converged: {share:.1%} of the prices of the last {clipped.size} epochs were clipped to an edge of "
        f"their grid (more than {CLIPPED_SHARE_LIMIT:.0%}): there households read their policy at the edge, not "
        f"at the prices they faced, and a market cleared on the grid did not clear ({step}). {report.advice()}"
    )


def simulate(model: SPGEconomy, θ, key, N: int, T: int, start: SPGState | None = None, keep_distributions=False) -> Path:
    """N paths of T periods under the policy θ (diagnostics: prices, aggregates, residuals).

    start : where the paths begin (default: the warm-up distribution with aggregate states
    drawn from `key`); pass `SPGResult.state` to continue from the trained policy's ergodic
    set (its first N paths). It is cast to the model's float types (a start computed in
    float64 runs a float32 model).

    `clearing_report(model, path)` says how often the prices left their grids.
    """
    θ_ref = model.initial_parameters()
    check_parameters(θ, θ_ref, name="θ")
    θ = jax.tree.map(lambda x, ref: jnp.asarray(x, ref.dtype), θ, θ_ref)
    N, T = whole_number(N, "N", symbol="N"), whole_number(T, "T", symbol="T")
    key_start, key_paths = jax.random.split(key)
    if start is None:
        start = initial_state(model, N, key_start)
    available = jax.tree.leaves(start.a)[0].shape[0]
    if not 1 <= N <= available:
        raise ValueError(f"N must lie in [1, {available}] (the paths in `start`), got N = {N}")
    # the carry of the rollout's scan must keep its types: the start takes the model's
    a_types = jax.eval_shape(model.initial_aggregate, key_start)
    start = SPGState(
        jax.tree.map(lambda x, ref: jnp.asarray(x[:N], ref.dtype), start.g, model.initial_distribution()),
        jax.tree.map(lambda x, ref: jnp.asarray(x[:N], ref.dtype), start.a, a_types),
    )
    return _simulate(model, θ, start, key_paths, T, keep_distributions)


@partial(jax.jit, static_argnames=("T", "keep_distributions"))
def _simulate(model, θ, start, key, T, keep_distributions):
    _, path = rollout(model, model.actions(θ), start.g, start.a, key, T, objective_distribution(model), keep_distributions)
    return path


class ClearingReport(NamedTuple):
    """How often simulated prices left the policy's price grids (`clearing_report`)."""

    clipped_share: float  # share of the simulated dates (t, n) with a price clipped to a grid edge
    largest_residual: float  # max |market-clearing residual| over the simulated dates
    at_edge: dict  # (price name, "low" or "high") -> share of dates clipped at that edge
    extreme: dict  # (price name, "low" or "high") -> the most extreme price at those dates

    def advice(self) -> str:
        """Which price left its grid at which edge, and what to widen, in words."""
        if not self.at_edge:
            return (
                f"In a simulation of the trained policy no price sat at an edge of its own grid, though dates "
                f"were flagged ({self.clipped_share:.0%}): a remembered (lagged) price outside its lag grid, or a "
                f"NaN price (largest |clearing residual| {self.largest_residual:.3g}); widen the lag grids."
            )
        (name, edge), share = max(self.at_edge.items(), key=lambda item: item[1])
        bound, move = (f"{name}_min", "lower") if edge == "low" else (f"{name}_max", "raise")
        where = "below the lowest" if edge == "low" else "above the highest"
        return (
            f"In a simulation of the trained policy {name} sat at or {where} node of its grid at {share:.0%} of "
            f"the dates ({name} reached {self.extreme[name, edge]:.4g}; largest |clearing residual| "
            f"{self.largest_residual:.3g}): {move} {bound}."
        )


def clearing_report(model: SPGEconomy, path: Path) -> ClearingReport:
    """The share of clipped prices and the largest |clearing residual| of a simulated Path,
    and at which edge of which price grid the clipped prices sat.

    A price at or beyond the low edge of its grid sits on the first interval with all the
    weight on the first node; beyond the high edge the weight on the node below is 0
    (`locate_prices`). The price axes are the last ones of the location (a policy with
    lagged prices puts its lag axes first).
    """
    clipped = np.asarray(path.prices.out_of_grid)
    values = np.asarray(path.prices.values)
    index, weight = (np.asarray(x)[..., -len(model.price_names):] for x in path.prices.location)
    at_edge, extreme = {}, {}
    for k, name in enumerate(model.price_names):
        for edge, mask, pick in (("low", (index[..., k] == 0) & (weight[..., k] >= 1), np.min), ("high", weight[..., k] <= 0, np.max)):
            mask = mask & clipped
            if mask.any():
                at_edge[name, edge] = float(mask.mean())
                extreme[name, edge] = float(pick(values[..., k][mask]))
    largest = float(clearing_diagnostics(path.prices)["residual"])  # over every named market; NaN counts as inf
    return ClearingReport(float(clipped.mean()), largest, at_edge, extreme)


def seed_spread(model: SPGEconomy, config: SPGConfig, seeds, statistic) -> np.ndarray:
    """`statistic(result)` of independent SPG runs that differ only in `config.seed`.

    The sampling noise of the method: each seed draws different aggregate shocks in every
    epoch. Returns an array with one row per seed.
    """
    return np.stack([np.asarray(statistic(solve(model, config._replace(seed=int(seed))))) for seed in seeds])


