"""Four Krusell–Smith solutions on equal terms: one simulator and one Euler-error measure.

Every method's policy is reduced to a *decision rule* on the individual grid,

    decide(g, log z) -> b′ (n_b, n_y),

the savings of every node (b, y) when the cross-section is g and productivity z. SRL reads
its table at the prices (r, w) of (K, z); KS-1998 reads its table at (K, z); the DEQN-style
network takes (K, z) as inputs; the DeepHAM-style network takes the generalised moments of
g and z. Given decision rules, `simulate_decisions` runs the continuum of households on any
shock path (Young's lottery, exact prices), and `grid_euler_errors` measures the
Euler-equation errors at any (g, z) with the true law of motion of the economy each rule
generates: tomorrow's distribution is pushed forward under the rule itself.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.krusell_smith.economy import AggregatePath, KrusellSmith, cash_on_hand, next_log_z, prices
from srlteach.economies.krusell_smith.ks1998 import KS1998Solution, policy_at
from srlteach.economies.krusell_smith.neural import NeuralSolution, deepham_logits, deepham_moments, deqn_logits, in_dtype, own_inputs
from srlteach.foundations.budget import savings_from_share
from srlteach.foundations.distributions import linear_interpolation, lottery, push_forward
from srlteach.foundations.utility import euler_consumption, marginal_utility
from srlteach.learning.policy_gradient import mlp
from srlteach.learning.spg import policy
from srlteach.solvers.household import EulerErrors

Decision = Callable  # (g (n_b, n_y), log_z) -> b′ (n_b, n_y)


def capital(economy: KrusellSmith, g):
    """K = Σ b g."""
    return jnp.sum(g * economy.b_grid[:, None])


def ks1998_decision(economy: KrusellSmith, solution: KS1998Solution) -> Decision:
    """KS-1998's savings at (K, z), interpolated in both from its (b, y, K, z) table."""
    return lambda g, log_z: policy_at(solution.policy.b_next, solution.grid, capital(economy, g), log_z)


def srl_decision(model, θ) -> Decision:
    """SRL's savings at the prices (r, w) of (K, z), read from its table (in its float type)."""
    table = model.actions(θ)
    dtype = model.initial_distribution().dtype

    def decide(g, log_z):
        g, log_z = jnp.asarray(g, dtype), jnp.asarray(log_z, dtype)
        return policy(model, table, log_z, model.prices(table, log_z, g))

    return decide


def neural_decision(economy: KrusellSmith, solution: NeuralSolution) -> Decision:
    """The savings of a trained DeepHAM-style or DEQN-style network on the grid nodes (in the
    network's float type). DeepHAM's moments are those of g itself, Σ_j g_j Q(b_j, y_j)."""
    params, scales = solution.params, solution.scales
    dtype = jax.tree.leaves(params)[0].dtype
    low = in_dtype(economy, dtype)
    n_b, n_y = economy.b_grid.size, economy.y_grid.size
    b = jnp.broadcast_to(low.b_grid[:, None], (n_b, n_y))
    i_y = jnp.broadcast_to(jnp.arange(n_y), (n_b, n_y))

    def decide(g, log_z):
        g, log_z = jnp.asarray(g, dtype), jnp.asarray(log_z, dtype)
        K = capital(low, g)
        if solution.method == "deepham":
            m = deepham_moments(params, low, scales, b.ravel(), i_y.ravel(), g.ravel())
            logit = deepham_logits(params, low, scales, b, i_y, m, log_z)
        else:
            logit = deqn_logits(params, low, scales, b, i_y, K, log_z)
        r, w = prices(low, K, jnp.exp(log_z))
        return savings_from_share(logit, cash_on_hand(low, r, w), low.b_grid[0], low.b_grid[-1])

    return decide


def simulate_decisions(decide: Decision, economy: KrusellSmith, g0, log_z):
    """The continuum of households under a decision rule along the shock path log_z (T,).

    Each period: K_t = Σ b g_t, prices at (K_t, z_t), savings b′ = decide(g_t, z_t),
    consumption from the budget, g_{t+1} by Young's lottery. Computes in the float type of
    g0. Returns (AggregatePath, distributions (T, n_b, n_y): g_t at the start of each t).
    """
    g0 = jnp.asarray(g0)
    dtype = g0.dtype

    @jax.jit
    def run(g0, log_z):
        def period(g, log_z_t):
            K = capital(economy, g)
            r, w = prices(economy, K, jnp.exp(log_z_t))
            b_next = decide(g, log_z_t).astype(dtype)
            C = jnp.sum((cash_on_hand(economy, r, w) - b_next) * g)
            return push_forward(g, lottery(economy.b_grid, b_next), economy.Π_y), (AggregatePath(log_z_t, K, C, r, w), g)

        _, (path, distributions) = jax.lax.scan(period, g0, log_z)
        return path, distributions

    return run(g0, jnp.asarray(log_z, dtype))


def grid_euler_errors(decide: Decision, economy: KrusellSmith, g, log_z, n_quadrature: int = 9) -> EulerErrors:
    """Euler-equation errors (log10) of a decision rule on the grid at one (g, z).

    Today c = x(r, w) - b′ at the prices of (K, z). Tomorrow's distribution is
    g′ = A_πᵀ g under the rule itself, so K′ = Σ b g′ is known today and only z′ is
    uncertain (Gauss–Hermite quadrature over log z′, Π_y over y′):

        c̃ = (u′)⁻¹( β E[(1 + r′) u′(c(b′, y′; g′, z′))] ),

    c(·, y′; g′, z′) linear in b′ between nodes. As in `srl.euler_errors`, the error is
    |1 - c̃/c| where the household would rather save more, and min(c̃/c - 1, (b′ - b̲)/c)
    where it would rather consume more (possible only down to the borrowing limit);
    `interior` marks savings below the cap. Computes in float64.
    """
    g, log_z = jnp.asarray(g, float), jnp.asarray(log_z, float)
    b_grid, σ = economy.b_grid, economy.σ
    K = capital(economy, g)
    r, w = prices(economy, K, jnp.exp(log_z))
    b_next = jnp.asarray(decide(g, log_z), float)
    c = cash_on_hand(economy, r, w) - b_next
    lot = lottery(b_grid, b_next)
    g_next = push_forward(g, lot, economy.Π_y)
    K_next = capital(economy, g_next)
    ε, weight = np.polynomial.hermite_e.hermegauss(n_quadrature)

    def marginal_value(ε_q):
        log_z_next = next_log_z(economy, log_z, ε_q)
        r_next, w_next = prices(economy, K_next, jnp.exp(log_z_next))
        c_next = cash_on_hand(economy, r_next, w_next) - jnp.asarray(decide(g_next, log_z_next), float)
        return (1 + r_next) * marginal_utility(linear_interpolation(c_next, lot), σ)  # (n_b, n_y, n_y′)

    expected = sum(ω * marginal_value(e) for e, ω in zip(ε, weight / weight.sum()))
    c_tilde = euler_consumption(jnp.einsum("byk,yk->by", expected, economy.Π_y), economy.β, σ)
    gap = c_tilde / c - 1
    residual = jnp.where(gap < 0, -gap, jnp.minimum(gap, (b_next - b_grid[0]) / c))
    below_cap = b_next < b_grid[-1] - 1e-9 * (b_grid[-1] - b_grid[0])
    return EulerErrors(jnp.log10(jnp.maximum(residual, 1e-16)), below_cap)  # 1e-16: exact zeros stay finite


def mean_euler_error(decide: Decision, economy: KrusellSmith, distributions, log_z, dates, n_quadrature: int = 9) -> np.ndarray:
    """At each date t, the mean log10 Euler error over interior nodes weighted by g_t, for
    the states (g_t, z_t) given (e.g. those one economy visits on a common shock path).

    distributions : (T, n_b, n_y); log_z : (T,); dates : indices into both. Returns (n_dates,).
    """
    errors = jax.jit(lambda g, z: grid_euler_errors(decide, economy, g, z, n_quadrature))
    means = []
    for t in np.asarray(dates):
        g = np.asarray(distributions[t], float)
        e = errors(g, float(log_z[t]))
        error, valid = np.asarray(e.log10_error), np.asarray(e.interior)
        means.append((error * g)[valid].sum() / g[valid].sum())
    return np.array(means)


def generalised_moments_along(economy: KrusellSmith, solution: NeuralSolution, distributions) -> np.ndarray:
    """The DeepHAM-style network's moments m_t = Σ_j g_t(j) Q(b_j, y_j) of each distribution
    g_t in `distributions` (T, n_b, n_y). Returns (T, J)."""
    Q = basis_on_grid(economy, solution)  # (n_b, n_y, J)
    return np.einsum("tby,byj->tj", np.asarray(distributions, float), Q)


def basis_on_grid(economy: KrusellSmith, solution: NeuralSolution) -> np.ndarray:
    """The learned basis functions Q_j(b, y) of a DeepHAM-style solution on the grid: (n_b, n_y, J)."""
    if solution.method != "deepham":
        raise ValueError(f"only a DeepHAM-style solution has generalised moments, got method {solution.method!r}")
    dtype = jax.tree.leaves(solution.params)[0].dtype
    low = in_dtype(economy, dtype)
    n_b, n_y = economy.b_grid.size, economy.y_grid.size
    b = jnp.broadcast_to(low.b_grid[:, None], (n_b, n_y))
    i_y = jnp.broadcast_to(jnp.arange(n_y), (n_b, n_y))
    return np.asarray(mlp(solution.params["moments"], own_inputs(low, solution.scales, b, i_y)), float)
