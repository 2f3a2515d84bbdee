"""The rational-expectations benchmark for Krusell–Smith: the Krusell and Smith (1998) algorithm.

Households in the Krusell–Smith economy (models.md, model 3) need tomorrow's prices, which
depend on tomorrow's capital K′ and hence on today's whole distribution. Krusell and Smith
(1998) replace the distribution by its mean: households *perceive* the log-linear law of motion

    log K′ = a_0 + a_1 log K + a_2 log z,

so that (K, z) is their aggregate state and (r, w) = (α z (K/L)^(α-1) - δ, (1-α) z (K/L)^α)
are known functions of it. The algorithm is a fixed point in the coefficients a:

1. **Household problem** given a. log z is discretised by Tauchen on n_z nodes and K lives
   on a grid of n_K nodes around the stationary K. The perceived K′(K, z) falls between
   nodes; Young's lottery splits it between its two neighbours, which turns e = (y, K, z)
   into a Markov chain with transition Π_y ⊗ Q_a,

       Q_a[(K, z), (K′_k, z′)] = ω_k(K, z) Π_z[z, z′],

   (ω_k the lottery weight of node K′_k), so `srlteach.solvers.household.egm` solves the problem
   unchanged. In the Euler equation the expected marginal value at K′ is then the linear
   interpolation, in K, of its values at the neighbouring nodes: the usual approximation,
   written as a Markov chain. (`tests/test_ks1998.py` checks the coefficients against a
   finer K grid.)
2. **Simulation**: a continuum of households on the (b, y) grid, pushed forward by Young's
   lottery, K_t = Σ b g_t, along one long path of log z drawn *continuously*,
   log z_{t+1} = ρ_z log z_t + ν_z sqrt(1-ρ_z²) ε_{t+1}, the process SRL simulates. The
   policy is interpolated linearly in K and in log z between grid nodes; where log z
   leaves the Tauchen nodes (beyond ±3 ν_z, a few periods in a thousand) households act
   as at the end node, and `KS1998Solution.z_outside` reports how often that happened.
   Prices always use the actual (K_t, z_t).
3. **Regression** of log K_{t+1} on (1, log K_t, log z_t) after a burn-in, giving a_new
   and R².
4. **Update** a ← (1-λ) a + λ a_new and repeat until max |a_new - a| < tol. The shock path
   is the same in every iteration, so the map a ↦ a_new is deterministic and has an exact
   fixed point.

This is the traditional global method the book compares structural RL with (Yang, Wang,
Schaab and Moll 2025, arXiv 2512.18892).
"""

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.discretisation import tauchen
from srlteach.foundations.distributions import lottery, push_forward
from srlteach.foundations.validation import whole_number
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.solvers.household import HouseholdPolicy, egm
from srlteach.economies.krusell_smith import AggregatePath, KrusellSmith, cash_on_hand, log_z_path, prices


class KS1998Config(NamedTuple):
    """Numerics of the Krusell–Smith (1998) algorithm (no economics)."""

    n_K: int = 9  # nodes of the aggregate-capital grid
    K_width: float = 0.25  # the K grid spans K_ss·exp(±K_width), K_ss the stationary capital
    n_z: int = 7  # Tauchen nodes for log z in the household problem
    T: int = 2000  # simulated periods
    burn_in: int = 200  # periods dropped before the regression
    damping: float = 0.5  # λ in a ← (1-λ) a + λ a_new
    tol: float = 1e-6  # stop when max |a_new - a| < tol
    max_iter: int = 200  # upper bound on the outer iterations
    egm_tol: float = 1e-10  # sup-norm tolerance on c in the household problem
    seed: int = 0  # key of the simulated log z path


class AggregateGrid(NamedTuple):
    """The households' aggregate state (K, z) on a grid."""

    K: jax.Array  # (n_K,) capital nodes
    log_z: jax.Array  # (n_z,) Tauchen nodes of log z
    Π_z: jax.Array  # (n_z, n_z) Tauchen transitions of log z


class LawOfMotionFit(NamedTuple):
    """OLS fit of log K_{t+1} = a_0 + a_1 log K_t + a_2 log z_t."""

    a: np.ndarray  # (3,) coefficients (a_0, a_1, a_2)
    r_squared: float  # R² of the regression
    residual_sd: float  # standard deviation of the residuals (log points)


class KS1998Solution(NamedTuple):
    """The fixed point of the Krusell–Smith (1998) algorithm and its simulation."""

    a: np.ndarray  # (3,) coefficients of the perceived law at the fixed point
    r_squared: float  # R² of the last regression
    residual_sd: float  # s.d. of its residuals
    den_haan: float  # max_t |log K_t - log K̂_t|, K̂ the law iterated on its own (Den Haan 2010)
    iterations: int  # outer iterations run
    converged: bool  # max |a_new - a| < tol reached
    history: np.ndarray  # (iterations + 1, 3): the coefficients entering each iteration, then the last
    policy: HouseholdPolicy  # c and b′ on the (b, y, K, z) grid, each (n_b, n_y, n_K, n_z)
    grid: AggregateGrid
    path: AggregatePath  # the simulation at the fixed point (burn-in included)
    K_ss: float  # stationary capital (z ≡ 1), the centre of the K grid
    z_outside: float  # share of periods with log z outside the Tauchen nodes
    seconds: float  # wall time of the solve


def check_config(config: KS1998Config) -> KS1998Config:
    """Raise ValueError naming the setting unless `config` is usable; return it with sizes as ints
    (n_K = 5.0 → 5). Every test is written so that NaN fails it."""
    sizes = {name: whole_number(getattr(config, name), name, least, symbol=name) for name, least in (("n_K", 2), ("n_z", 2), ("max_iter", 1), ("burn_in", 0), ("T", 1))}
    config = config._replace(**sizes)
    if not 0 < config.K_width <= 1:
        raise ValueError(f"K_width (log half-width of the K grid) must lie in (0, 1], got K_width = {config.K_width}")
    if not config.T >= config.burn_in + 10:
        raise ValueError(f"T must be an integer ≥ burn_in + 10 = {config.burn_in + 10} (enough periods to regress on), got T = {config.T}")
    if not 0 < config.damping <= 1:
        raise ValueError(f"damping λ must lie in (0, 1], got damping = {config.damping}")
    for name in ("tol", "egm_tol"):
        value = getattr(config, name)
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {name} = {value}")
        if not value < np.inf:
            raise ValueError(f"{name} must be finite, got {name} = {value}")
    return config


def aggregate_grid(economy: KrusellSmith, K_ss: float, config: KS1998Config = KS1998Config()) -> AggregateGrid:
    """K nodes K_ss·exp(linspace(-K_width, K_width, n_K)) and n_z Tauchen nodes for log z."""
    if not economy.ν_z > 0:
        raise ValueError(f"the Krusell–Smith (1998) algorithm needs aggregate risk: ν_z must be > 0, got ν_z = {economy.ν_z}")
    log_z, Π_z = tauchen(config.n_z, economy.ρ_z, economy.ν_z)
    K = K_ss * jnp.exp(jnp.linspace(-config.K_width, config.K_width, config.n_K))
    return AggregateGrid(K, log_z, Π_z)


def perceived_capital(a, K, log_z):
    """K̂′ = exp(a_0 + a_1 log K + a_2 log z): next period's capital under the perceived law."""
    return jnp.exp(a[0] + a[1] * jnp.log(K) + a[2] * log_z)


def perceived_transition(a, grid: AggregateGrid):
    """Q_a[(K, z), (K′, z′)]: the perceived law made a Markov chain on the (K, z) grid.

    K̂′(K, z) is split between its neighbouring K nodes by Young's lottery (mean-preserving;
    beyond the grid it goes to the end node) and z′ follows Π_z. Rows and columns are
    (K, z) flattened in C order; returns an (n_K·n_z, n_K·n_z) matrix.
    """
    n_K, n_z = grid.K.size, grid.log_z.size
    lot = lottery(grid.K, perceived_capital(a, grid.K[:, None], grid.log_z[None, :]))  # (n_K, n_z)
    ω = lot.weight[..., None]
    to_K = ω * jax.nn.one_hot(lot.index, n_K) + (1 - ω) * jax.nn.one_hot(lot.index + 1, n_K)  # (K, z, K′)
    return (to_K[:, :, :, None] * grid.Π_z[None, :, None, :]).reshape(n_K * n_z, n_K * n_z)


def exogenous_states(economy: KrusellSmith, grid: AggregateGrid):
    """R = 1 + r(K, z) and income w(K, z) y on the flattened state e = (y, K, z) (C order)."""
    r, w = prices(economy, grid.K[:, None], jnp.exp(grid.log_z)[None, :])  # (n_K, n_z)
    shape = (economy.y_grid.size,) + r.shape
    R = jnp.broadcast_to(1 + r, shape).ravel()
    income = (economy.y_grid[:, None, None] * w[None]).ravel()
    return R, income


def household_policy(economy: KrusellSmith, grid: AggregateGrid, a, c_init=None, tol: float = 1e-10) -> HouseholdPolicy:
    """The household's optimal policy given the perceived law a, by EGM on (b, y, K, z).

    c_init : optional (n_b, n_y, n_K, n_z) first guess (the previous iteration's policy).
    Returns HouseholdPolicy(c, b_next), each (n_b, n_y, n_K, n_z).
    """
    shape = (economy.b_grid.size, economy.y_grid.size, grid.K.size, grid.log_z.size)
    R, income = exogenous_states(economy, grid)
    Π = (economy.Π_y, perceived_transition(jnp.asarray(a, dtype=float), grid))
    c_init = None if c_init is None else jnp.reshape(c_init, (shape[0], -1))
    policy = egm(economy.b_grid, R, income, Π, economy.β, economy.σ, tol=tol, c_init=c_init)
    return HouseholdPolicy(policy.c.reshape(shape), policy.b_next.reshape(shape))


def policy_at(table, grid: AggregateGrid, K, log_z):
    """A policy table (n_b, n_y, n_K, n_z) at (K, log z): bilinear interpolation → (n_b, n_y).

    Interpolation weights are Young's lottery weights (linear interpolation); outside the
    grid the end node is used.
    """
    k, z = lottery(grid.K, K), lottery(grid.log_z, log_z)
    corners = (
        (k.index, z.index, k.weight * z.weight),
        (k.index, z.index + 1, k.weight * (1 - z.weight)),
        (k.index + 1, z.index, (1 - k.weight) * z.weight),
        (k.index + 1, z.index + 1, (1 - k.weight) * (1 - z.weight)),
    )
    return sum(share * table[:, :, i, j] for i, j, share in corners)


@jax.jit
def simulate(economy: KrusellSmith, grid: AggregateGrid, policy: HouseholdPolicy, g0, log_z) -> tuple[AggregatePath, jax.Array]:
    """A continuum of households under the KS-1998 policy along the shock path log_z (T,).

    g0 : (n_b, n_y) distribution at t = 0. Each period: K_t = Σ b g_t, savings b′ at
    (K_t, z_t) interpolated from the policy table, consumption from the budget at the
    actual prices, c = (1 + r_t) b + w_t y - b′ (so C_t + K_{t+1} = (1 + r_t) K_t + w_t L
    holds exactly), and g_{t+1} by Young's lottery. Returns (AggregatePath, g_T).
    """
    b_grid, Π_y = economy.b_grid, economy.Π_y

    def period(g, log_z_t):
        K = jnp.sum(g * b_grid[:, None])
        r, w = prices(economy, K, jnp.exp(log_z_t))
        b_next = policy_at(policy.b_next, grid, K, log_z_t)
        c = cash_on_hand(economy, r, w) - b_next
        return push_forward(g, lottery(b_grid, b_next), Π_y), AggregatePath(log_z_t, K, jnp.sum(c * g), r, w)

    g_T, path = jax.lax.scan(period, g0, log_z)
    return path, g_T


def fit_law_of_motion(K, log_z, burn_in: int = 0) -> LawOfMotionFit:
    """OLS of log K_{t+1} on (1, log K_t, log z_t) for t ≥ burn_in."""
    log_K, log_z = np.log(np.asarray(K)), np.asarray(log_z)
    X = np.column_stack([np.ones(log_K.size - burn_in - 1), log_K[burn_in:-1], log_z[burn_in:-1]])
    Y = log_K[burn_in + 1 :]
    a, *_ = np.linalg.lstsq(X, Y, rcond=None)
    residual = Y - X @ a
    return LawOfMotionFit(a, float(1 - residual.var() / Y.var()), float(residual.std()))


def den_haan_error(a, K, log_z, burn_in: int = 0) -> float:
    """max_t |log K_t - log K̂_t| for t ≥ burn_in, K̂ iterated on the perceived law alone.

    K̂_{burn_in} = K_{burn_in}, then K̂_{t+1} = K̂′(K̂_t, z_t): the dynamic forecast of
    Den Haan (2010), which accumulates the law's errors instead of resetting them each period.
    """
    log_K, log_z = np.log(np.asarray(K)), np.asarray(log_z)
    forecast = np.empty(log_K.size - burn_in)
    forecast[0] = log_K[burn_in]
    for t in range(1, forecast.size):
        forecast[t] = a[0] + a[1] * forecast[t - 1] + a[2] * log_z[burn_in + t - 1]
    return float(np.abs(forecast - log_K[burn_in:]).max())


def solve_ks1998(economy: KrusellSmith, config: KS1998Config = KS1998Config(), log_z=None, a0=None) -> KS1998Solution:
    """The Krusell–Smith (1998) fixed point of the perceived law of motion (module docstring).

    Parameters
    ----------
    economy : a Krusell–Smith economy (`create_krusell_smith`), with ν_z > 0.
    config : numerics (`KS1998Config`).
    log_z : optional (T,) shock path to simulate on (default: `log_z_path` from
        PRNGKey(config.seed), starting at log z_0 = 0); config.T is then ignored.
    a0 : optional initial coefficients (default: K′ = K, i.e. a = (0, 1, 0)).

    The simulation starts from the stationary distribution (z ≡ 1) and the K grid is
    centred on the stationary capital. Raises ValueError if the simulated K leaves the K
    grid (widen `K_width`).
    """
    config = check_config(config)
    start = time.perf_counter()
    steady = stationary_equilibrium(economy)
    grid = aggregate_grid(economy, steady.K, config)
    if log_z is None:
        log_z = log_z_path(economy, jax.random.PRNGKey(config.seed), config.T)
    log_z = jnp.asarray(log_z, dtype=float)
    if log_z.ndim != 1 or log_z.size < config.burn_in + 10:
        raise ValueError(f"log_z must be a 1-d path of at least burn_in + 10 = {config.burn_in + 10} periods, got shape {log_z.shape}")

    a = np.array([0.0, 1.0, 0.0]) if a0 is None else np.asarray(a0, dtype=float)
    history, c, converged = [a], None, False
    for iteration in range(1, config.max_iter + 1):
        policy = household_policy(economy, grid, a, c, config.egm_tol)
        c = policy.c
        path, _ = simulate(economy, grid, policy, steady.g, log_z)
        check_capital_on_grid(path.K, grid, config)
        fit = fit_law_of_motion(path.K, log_z, config.burn_in)
        step = np.abs(fit.a - a).max()
        if step < config.tol:
            a, converged = fit.a, True
            history.append(a)
            break
        a = (1 - config.damping) * a + config.damping * fit.a
        history.append(a)
    if not converged:  # leave the policy and simulation consistent with the reported a
        policy = household_policy(economy, grid, a, c, config.egm_tol)
        path, _ = simulate(economy, grid, policy, steady.g, log_z)
        fit = fit_law_of_motion(path.K, log_z, config.burn_in)
    z_nodes = np.asarray(grid.log_z)
    z_outside = float(np.mean((np.asarray(log_z) < z_nodes[0]) | (np.asarray(log_z) > z_nodes[-1])))
    return KS1998Solution(
        a=np.asarray(a),
        r_squared=fit.r_squared,
        residual_sd=fit.residual_sd,
        den_haan=den_haan_error(a, path.K, log_z, config.burn_in),
        iterations=iteration,
        converged=converged,
        history=np.array(history),
        policy=policy,
        grid=grid,
        path=path,
        K_ss=steady.K,
        z_outside=z_outside,
        seconds=time.perf_counter() - start,
    )


def check_capital_on_grid(K, grid: AggregateGrid, config: KS1998Config):
    """Raise ValueError if the simulated K leaves the K grid (the policy would be extrapolated)."""
    K = np.asarray(K)
    lo, hi = float(grid.K[0]), float(grid.K[-1])
    outside = int(np.sum((K < lo) | (K > hi)))
    if outside:
        raise ValueError(
            f"simulated K left the K grid [{lo:.4g}, {hi:.4g}] in {outside} of {K.size} periods "
            f"(range {K.min():.4g} … {K.max():.4g}): K_width = {config.K_width} is too narrow"
        )
