"""Krusell–Smith by two neural global methods: DeepHAM-style and deep equilibrium nets.

Both represent the household's savings by a neural network (the book's `mlp`) of its own
state (b, y) and an aggregate summary, and save the share sigmoid(ℓ) of cash on hand below
the cap, b′ = b̲ + sigmoid(ℓ) (min(x, b_max) - b̲), as SRL's tables do, so b′ ≥ b̲ and
c > 0 hold for every network. They differ in the summary and in what training minimises.

- **DeepHAM-style** (Han, Yang and E 2021, arXiv:2112.14377): the aggregate inputs are
  log z and J *generalised moments* m = (1/N) Σ_i Q(b_i, y_i) of the cross-section, Q a
  second network. A finite panel of N agents is simulated for T periods with idiosyncratic
  and aggregate shocks, and both networks ascend the simulated lifetime utility
  (1/N) Σ_i Σ_t β^t u(c_it). Each household takes prices and the moments as given: they are
  computed from the panel with a stop-gradient, so the gradient runs only through a
  household's own savings (the competitive equilibrium, not a planner's problem). The
  paper's fictitious play updates one player's policy with the others' held fixed; here
  every gradient step is such an update, with the others at the current parameters.
  DeepHAM also learns a value network for the utility beyond T; this version, like the
  published SRL, truncates at T (β^T < 1e-2).
- **DEQN-style** (Azinovic, Gaegauf and Scheidegger 2022, IER 63(4)): the aggregate inputs
  are (log K, log z). The network minimises the squared Fischer–Burmeister residual of the
  Euler equation at the states a simulated panel visits. Tomorrow's capital
  K′ = (1/N) Σ_i b′_i is known today, so the expectation runs over z′ (Gauss–Hermite
  quadrature) and y′ (Π_y) only, with no law of motion to postulate.

The comparison tools (`srlteach.economies.krusell_smith.comparison`) run either network
on the continuum of households on the (b, y) grid, like SRL's and KS-1998's policies.
"""

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srlteach.economies.krusell_smith.economy import KrusellSmith, next_log_z, prices
from srlteach.foundations.budget import savings_from_share
from srlteach.foundations.distributions import inverse_cdf
from srlteach.foundations.utility import crra_utility, euler_consumption, marginal_utility
from srlteach.foundations.validation import finite, whole_number
from srlteach.learning.global_methods import draw_panel, fischer_burmeister, generalised_moments, residual_objective
from srlteach.learning.policy_gradient import mlp, mlp_init
from srlteach.learning.training import TrainConfig, TrainResult, train, warmup_exponential_decay


class NeuralConfig(NamedTuple):
    """Numerics of a neural solution (no economics)."""

    hidden: tuple = (16, 16)  # hidden-layer widths of the policy network
    moments: int = 1  # J generalised moments (DeepHAM only)
    moment_hidden: tuple = (8,)  # hidden-layer widths of the basis network Q (DeepHAM only)
    N: int = 128  # agents in each simulated economy
    E: int = 4  # economies per epoch, each with its own aggregate shocks
    T: int = 90  # periods simulated per epoch (β^T < 1e-2 for Krusell–Smith)
    η0: float = 1e-2  # Adam's initial step, constant for `warmup` epochs, then halving every `decay_steps`
    warmup: int = 50
    decay_steps: int = 150
    epochs: int = 600  # gradient steps (a fixed budget: no stopping rule)
    chunk: int = 25  # epochs per compiled call of the trainer
    n_quadrature: int = 3  # Gauss–Hermite nodes for E over z′ in the Euler residual (DEQN only)
    seed: int = 0  # network initialisation, initial panel and every epoch's shocks


# Book scale: about a minute or less per run on a shared 2-core CPU. Measured on the
# chapter's economy (seed 0; mean gap of K to KS-1998 on its shocks, periods 200-1999):
# DeepHAM-style with these settings -0.9%; with 1000 epochs of N = 256 at η0 = 3e-3, -0.6%
# at about twice the cost. DEQN-style with these settings +1.1%; with 800 epochs +3.0%;
# with 1500 epochs +1.3% at η0 = 3e-3 and -2.7% at η0 = 1e-2. A DEQN epoch evaluates the
# network 1 + n_quadrature·n_y times per visited state, hence its shorter epochs (T = 20)
# and smaller panel.
DEEPHAM_BOOK = NeuralConfig()
DEQN_BOOK = NeuralConfig(N=64, T=20, epochs=1000, decay_steps=200)


def check_config(config: NeuralConfig) -> NeuralConfig:
    """`config` with sizes as ints; ValueError naming the setting if it is unusable."""
    sizes = {name: whole_number(getattr(config, name), name, least, symbol=name) for name, least in
             (("moments", 1), ("N", 1), ("E", 1), ("T", 1), ("warmup", 0), ("decay_steps", 1), ("epochs", 1),
              ("chunk", 1), ("n_quadrature", 1), ("seed", 0))}
    for name in ("hidden", "moment_hidden"):
        widths = getattr(config, name)
        if not (isinstance(widths, tuple) and len(widths) >= 1):
            raise ValueError(f"{name} must be a non-empty tuple of layer widths, got {name} = {widths!r}")
        sizes[name] = tuple(whole_number(n, f"each width in {name}", symbol=name) for n in widths)
    if not 0 < finite(config.η0, "η0") < 1:
        raise ValueError(f"learning rate η0 must lie in (0, 1), got η0 = {config.η0}")
    return config._replace(**sizes)


class InputScales(NamedTuple):
    """How states become network inputs of order one (set once from the economy)."""

    b_scale: float  # log(1 + b_max - b̲): b ↦ 2 log(1 + b - b̲)/b_scale - 1 ∈ [-1, 1]
    y_scale: float  # max |log y| (1 if income is constant): log y ↦ log y / y_scale
    z_scale: float  # ν_z (1 without aggregate risk): log z ↦ log z / ν_z
    K_ref: float  # capital around which log(K/K_ref) is measured (the stationary K)
    K_scale: float  # log K ↦ log(K/K_ref)/K_scale


def input_scales(economy: KrusellSmith, K_ref: float, K_scale: float = 0.25) -> InputScales:
    """The input scaling of both networks; K_ref is usually the stationary capital."""
    if not finite(K_ref, "K_ref") > 0:
        raise ValueError(f"reference capital K_ref must be > 0, got K_ref = {K_ref}")
    if not finite(K_scale, "K_scale") > 0:
        raise ValueError(f"K_scale must be > 0, got K_scale = {K_scale}")
    b_grid = np.asarray(economy.b_grid)
    y_scale = float(np.abs(np.log(np.asarray(economy.y_grid))).max())
    return InputScales(float(np.log1p(b_grid[-1] - b_grid[0])), y_scale if y_scale > 0 else 1.0,
                       economy.ν_z if economy.ν_z > 0 else 1.0, float(K_ref), float(K_scale))


def own_inputs(economy: KrusellSmith, scales: InputScales, b, i_y):
    """(..., 2) network inputs of a household's own state (b, y_{i_y})."""
    b_min = economy.b_grid[0]
    u_b = 2 * jnp.log1p(b - b_min) / scales.b_scale - 1
    u_y = jnp.log(economy.y_grid)[i_y] / scales.y_scale
    return jnp.stack(jnp.broadcast_arrays(u_b, u_y.astype(u_b.dtype)), axis=-1)


def _savings(economy: KrusellSmith, logit, b, i_y, K, log_z):
    """(x, b′): cash on hand at the prices of (K, z) and the savings of a logit ℓ."""
    r, w = prices(economy, K, jnp.exp(log_z))
    x = (1 + r) * b + w * economy.y_grid[i_y]
    return x, savings_from_share(logit, x, economy.b_grid[0], economy.b_grid[-1])


def _initial_state(economy: KrusellSmith, g0, config: NeuralConfig, dtype):
    """The panel that the first epoch starts from: E economies of N agents drawn from g0,
    log z_0 = 0."""
    b, i_y = draw_panel(jax.random.fold_in(jax.random.PRNGKey(config.seed), 1), g0, economy.b_grid, (config.E, config.N))
    return b.astype(dtype), i_y, jnp.zeros(config.E, dtype)


def _policy_init(key, n_inputs: int, config: NeuralConfig, share0: float, dtype):
    """Policy-network parameters whose output bias is the logit of the savings share share0."""
    layers = mlp_init(key, (n_inputs, *config.hidden, 1))
    W, b = layers[-1]
    layers[-1] = (W, b + math.log(share0 / (1 - share0)))
    return jax.tree.map(lambda x: x.astype(dtype), layers)


def stationary_share(economy: KrusellSmith, K: float) -> float:
    """K / ((1 + r) K + w L): the aggregate savings share of cash on hand at a stationary K,
    the networks' starting share."""
    r, w = prices(economy, K)
    return float(K / ((1 + r) * K + w * economy.L))


# ---------------------------------------------------------------------------------------
# DeepHAM-style: generalised moments, simulated lifetime utility
# ---------------------------------------------------------------------------------------


def deepham_init(economy: KrusellSmith, scales: InputScales, config: NeuralConfig = DEEPHAM_BOOK, dtype=jnp.float32):
    """Initial parameters {"policy", "moments"}: the policy network of (b, y, m_1…m_J, log z)
    and the basis network Q of (b, y) with J outputs. The policy starts at the stationary
    aggregate savings share."""
    config = check_config(config)
    key_policy, key_Q = jax.random.split(jax.random.PRNGKey(config.seed))
    Q = mlp_init(key_Q, (2, *config.moment_hidden, config.moments))
    return {"policy": _policy_init(key_policy, 3 + config.moments, config, stationary_share(economy, scales.K_ref), dtype),
            "moments": jax.tree.map(lambda x: x.astype(dtype), Q)}


def deepham_moments(params, economy: KrusellSmith, scales: InputScales, b, i_y, weights):
    """(J,) generalised moments m = Σ_i ω_i Q(b_i, y_i) of one cross-section.

    b, i_y : (n,) states; weights : (n,) their masses (1/N in a panel, g on a grid).
    """
    return generalised_moments(params["moments"], own_inputs(economy, scales, b, i_y), weights)


def deepham_logits(params, economy: KrusellSmith, scales: InputScales, b, i_y, m, log_z):
    """Savings logits ℓ(b, y; m, z) of households at states (b, i_y) (any shape S) given the
    moments m (J,) and log z (scalar). Returns shape S."""
    own = own_inputs(economy, scales, b, i_y)
    aggregate = jnp.concatenate([m, jnp.atleast_1d(log_z / scales.z_scale).astype(m.dtype)])
    inputs = jnp.concatenate([own, jnp.broadcast_to(aggregate, own.shape[:-1] + aggregate.shape)], axis=-1)
    return mlp(params["policy"], inputs)[..., 0]


def deepham_utility(params, others, economy: KrusellSmith, scales: InputScales, config: NeuralConfig, state, key):
    """Mean lifetime utility (1/EN) Σ_{e,i} Σ_{t<T} β^t u(c_it) of households following
    `params` in economies whose aggregates come from everybody else following `others`.

    Two copies of the panel start from `state` = (b (E, N), i_y (E, N), log z (E,)) and
    meet the same income and productivity draws: "others" set capital K_t and the states
    from which the moments are computed (with the households' own basis Q); "own"
    households face those prices and moments. This is one round of DeepHAM's fictitious
    play: the others' policy is held fixed while one's own is improved. At params = others
    the two copies coincide. Returns (utility, the others' panel at T).
    """
    β, σ, T, E, N = economy.β, economy.σ, config.T, config.E, config.N
    cdf_y = jnp.cumsum(economy.Π_y, axis=1)
    weights = jnp.full(N, 1 / N, state[0].dtype)
    moments = jax.vmap(deepham_moments, (None, None, None, 0, 0, None))
    logits = jax.vmap(deepham_logits, (None, None, None, 0, 0, 0, 0))

    def period(carry, inputs):
        b, b_others, i_y, log_z = carry
        t, uniform, ε = inputs
        K = jnp.mean(b_others, axis=1)[:, None]
        m_others = moments(others, economy, scales, b_others, i_y, weights)
        m_own = moments(params, economy, scales, b_others, i_y, weights)
        _, b_others_next = _savings(economy, logits(others, economy, scales, b_others, i_y, m_others, log_z), b_others, i_y, K, log_z[:, None])
        x, b_next = _savings(economy, logits(params, economy, scales, b, i_y, m_own, log_z), b, i_y, K, log_z[:, None])
        reward = β**t * jnp.mean(crra_utility(x - b_next, σ))
        return (b_next, b_others_next, inverse_cdf(cdf_y[i_y], uniform), next_log_z(economy, log_z, ε)), reward

    key_y, key_z = jax.random.split(key)
    b0, i_y0, log_z0 = state
    inputs = (jnp.arange(T), jax.random.uniform(key_y, (T, E, N), b0.dtype), jax.random.normal(key_z, (T, E), b0.dtype))
    (_, b_T, i_y_T, log_z_T), rewards = jax.lax.scan(period, (b0, b0, i_y0, log_z0), inputs)
    return jnp.sum(rewards), (b_T, i_y_T, log_z_T)


def deepham_objective(economy: KrusellSmith, scales: InputScales, config: NeuralConfig = DEEPHAM_BOOK):
    """Trainer objective: `deepham_utility` with the others at the current parameters (held
    fixed by a stop-gradient), so that households take prices and moments as given.

    state : the panel where the previous epoch's ended (the first drawn from g0 by
    `solve_neural`). Diagnostics: mean K at the end.
    """
    config = check_config(config)

    def objective(params, state, key, epoch):
        U, end = deepham_utility(params, jax.lax.stop_gradient(params), economy, scales, config, state, key)
        return U, ({"K": jnp.mean(end[0])}, jax.lax.stop_gradient(end))

    return objective


# ---------------------------------------------------------------------------------------
# DEQN-style: (K, z) as the aggregate state, squared Euler residuals
# ---------------------------------------------------------------------------------------


def deqn_init(economy: KrusellSmith, scales: InputScales, config: NeuralConfig = DEQN_BOOK, dtype=jnp.float32):
    """Initial parameters of the policy network of (b, y, log K, log z), starting at the
    stationary aggregate savings share."""
    config = check_config(config)
    return _policy_init(jax.random.PRNGKey(config.seed), 4, config, stationary_share(economy, scales.K_ref), dtype)


def deqn_logits(params, economy: KrusellSmith, scales: InputScales, b, i_y, K, log_z):
    """Savings logits ℓ(b, y; K, z) of households at states (b, i_y) (any shape S) at the
    aggregate state (K, log z) (scalars). Returns shape S."""
    own = own_inputs(economy, scales, b, i_y)
    aggregate = jnp.stack([jnp.log(K / scales.K_ref) / scales.K_scale, log_z / scales.z_scale]).astype(own.dtype)
    inputs = jnp.concatenate([own, jnp.broadcast_to(aggregate, own.shape[:-1] + (2,))], axis=-1)
    return mlp(params, inputs)[..., 0]


def euler_residual(logit_fn, economy: KrusellSmith, b, i_y, log_z, n_quadrature: int = 5):
    """Fischer–Burmeister residuals of the Euler equation for a panel at one date.

    logit_fn(b, i_y, K, log_z) -> savings logits of households at (b, i_y) (any shape);
    b, i_y : (N,) the panel, K = mean b; log_z : scalar. With K′ = (1/N) Σ b′ (known today),

        c̃ = (u′)⁻¹( β E[(1 + r′) u′(c(b′, y′; K′, z′))] ),   ψ = FB(c̃/c - 1, (b′ - b̲)/c),

    E over y′ by Π_y and over z′ by Gauss–Hermite quadrature. ψ = 0 exactly when either the
    Euler equation holds (c̃ = c) or the household is at the limit (b′ = b̲) and would rather
    consume more (c̃ > c). Returns (ψ (N,), b′ (N,)).
    """
    β, σ, b_min = economy.β, economy.σ, economy.b_grid[0]
    K = jnp.mean(b)
    x, b_next = _savings(economy, logit_fn(b, i_y, K, log_z), b, i_y, K, log_z)
    c = x - b_next
    K_next = jnp.mean(b_next)
    ε, weight = np.polynomial.hermite_e.hermegauss(n_quadrature)
    n_y = economy.y_grid.size
    y_next = jnp.arange(n_y)

    def marginal_value(ε_q):
        """(1 + r′) u′(c′) for every household and y′ at one quadrature node: (N, n_y)."""
        log_z_next = next_log_z(economy, log_z, jnp.asarray(ε_q, b.dtype))
        r_next, _ = prices(economy, K_next, jnp.exp(log_z_next))
        b_nn = jnp.broadcast_to(b_next[:, None], b_next.shape + (n_y,))
        x_next, b_next_next = _savings(economy, logit_fn(b_nn, y_next, K_next, log_z_next), b_nn, y_next, K_next, log_z_next)
        return (1 + r_next) * marginal_utility(x_next - b_next_next, σ)

    values = jnp.stack([marginal_value(e) for e in ε])  # (n_q, N, n_y)
    expected = jnp.einsum("q,qny,ny->n", jnp.asarray(weight / weight.sum(), b.dtype), values, economy.Π_y[i_y])
    c_tilde = euler_consumption(expected, β, σ)
    return fischer_burmeister(c_tilde / c - 1, (b_next - b_min) / c), b_next


def deqn_objective(economy: KrusellSmith, scales: InputScales, config: NeuralConfig = DEQN_BOOK):
    """Trainer objective: minus the mean squared Euler residual at the states the panel visits.

    Each epoch simulates E economies of N agents for T periods from where the previous
    epoch's ended (`state`, as in `deepham_objective`); the states are data (no gradient),
    the residual at each is a function of the network today and tomorrow.
    """
    config = check_config(config)
    T, E, N, n_q = config.T, config.E, config.N, config.n_quadrature
    cdf_y = jnp.cumsum(economy.Π_y, axis=1)

    def residuals(params, state, key, epoch):
        logit_fn = lambda b, i_y, K, log_z: deqn_logits(params, economy, scales, b, i_y, K, log_z)
        one_economy = jax.vmap(lambda b, i_y, log_z: euler_residual(logit_fn, economy, b, i_y, log_z, n_q))

        def period(carry, inputs):
            b, i_y, log_z = carry
            uniform, ε = inputs
            ψ, b_next = one_economy(b, i_y, log_z)
            carry_next = (jax.lax.stop_gradient(b_next), inverse_cdf(cdf_y[i_y], uniform), next_log_z(economy, log_z, ε))
            return carry_next, ψ

        key_y, key_z = jax.random.split(key)
        dtype = state[0].dtype
        end, ψ = jax.lax.scan(period, state, (jax.random.uniform(key_y, (T, E, N), dtype), jax.random.normal(key_z, (T, E), dtype)))
        return ψ, {"K": jnp.mean(end[0])}, end

    return residual_objective(residuals)


# ---------------------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------------------


class NeuralSolution(NamedTuple):
    """A trained network and how long it took."""

    method: str  # "deepham" or "deqn"
    params: object  # network parameters
    scales: InputScales
    config: NeuralConfig
    history: dict  # per epoch: "objective", "Δθ", "K" (and "loss" for DEQN)
    compile_seconds: float  # tracing and compiling the training chunk
    run_seconds: float  # training


def in_dtype(economy: KrusellSmith, dtype) -> KrusellSmith:
    """The economy with its grids and chains in `dtype` (the networks train in float32)."""
    return dataclasses.replace(economy, **{name: getattr(economy, name).astype(dtype)
                                           for name in ("b_grid", "y_grid", "Π_y", "r_grid", "w_grid")})


def solve_neural(method: str, economy: KrusellSmith, g0, K_ref: float, config: NeuralConfig | None = None,
                 dtype=jnp.float32, progress=None) -> NeuralSolution:
    """Train the DeepHAM-style ("deepham") or DEQN-style ("deqn") network on `economy`.

    g0 : (n_b, n_y) distribution the first panel is drawn from (the stationary one);
    K_ref : the capital the inputs are centred on (the stationary K); config : numerics
    (default `DEEPHAM_BOOK` or `DEQN_BOOK`); progress : a `train` callback such as
    `progress_bar(config.epochs, ...)`. Adam with the book's warm-up-then-decay schedule.
    """
    builders = {"deepham": (deepham_init, deepham_objective, DEEPHAM_BOOK), "deqn": (deqn_init, deqn_objective, DEQN_BOOK)}
    if method not in builders:
        raise ValueError(f"method must be one of {sorted(builders)}, got {method!r}")
    init, objective, default = builders[method]
    config = check_config(default if config is None else config)
    g0 = np.asarray(g0)
    shape = (economy.b_grid.size, economy.y_grid.size)
    if g0.shape != shape or not (np.isfinite(g0).all() and (g0 >= 0).all() and abs(g0.sum() - 1) < 1e-8):
        raise ValueError(f"g0 must be a distribution of shape (n_b, n_y) = {shape} (finite, ≥ 0, summing to one)")
    scales = input_scales(economy, K_ref)
    low = in_dtype(economy, dtype)
    optimizer = optax.adam(warmup_exponential_decay(config.η0, config.warmup, 0.5, config.decay_steps))
    result: TrainResult = train(objective(low, scales, config), init(economy, scales, config, dtype), optimizer,
                                TrainConfig(max_epochs=config.epochs, chunk=config.chunk, tol=0.0, seed=config.seed),
                                state0=_initial_state(low, g0, config, dtype), progress=progress)
    return NeuralSolution(method, result.θ, scales, config, result.history, result.compile_seconds, result.run_seconds)
