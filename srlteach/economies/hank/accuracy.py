"""Accuracy of a trained HANK policy, and impulse responses by simulation.

Every check is made in the economy the policies generate, not in a perceived one: from a
state (g_t, a_t) on a simulated path, today's prices clear the bond market, the households'
cross-section moves to g_{t+1} (known today: their transitions do not depend on tomorrow's
shocks), and tomorrow's prices are cleared again at every quadrature node of the two
innovations (ε_z, ε_e) (`continuations`). The expectations in the Phillips curve and the
Euler equation are the quadrature averages over those continuations.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.hank.economy import phillips_curve_residual
from srlteach.economies.hank.srl import HANKSPG, HANKState, household_choices
from srlteach.foundations.distributions import linear_interpolation, lottery
from srlteach.foundations.utility import euler_consumption, marginal_utility
from srlteach.foundations.validation import whole_number
from srlteach.learning.spg import Path, SPGState, policy, simulate


class Continuations(NamedTuple):
    """Today's prices at (g_t, a_t) and tomorrow's at each quadrature node of (ε_z, ε_e)."""

    today: object  # Prices at t
    tomorrow: object  # Prices at t + 1, arrays with a leading axis of quadrature nodes
    weight: jax.Array  # (n_q,) quadrature weights, summing to one
    b_next: jax.Array  # (n_b, n_y) the households' savings at t
    c: jax.Array  # (n_b, n_y) consumption at t
    n: jax.Array  # (n_b, n_y) hours at t
    a_next: HANKState  # tomorrow's aggregate state at each node


def continuations(model: HANKSPG, table, g, a: HANKState, n_quadrature: int = 5) -> Continuations:
    """Clear today's market at (g, a), move g, and clear tomorrow's at every node of a
    Gauss–Hermite product rule with `n_quadrature` nodes per innovation."""
    households = model.households
    today = model.prices(table, a, {"households": g})
    action = policy(model, table, a, today)["households"]
    step = households.individual(action, a, today)
    g_next = households.push_forward(g[None], jax.tree.map(lambda x: x[None], step.transition))[0]
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quadrature)
    ε = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), axis=-1).reshape(-1, 2)
    weight = np.outer(weights, weights).ravel()
    a_next = jax.vmap(lambda ε: model.next_aggregate(a, ε, today))(jnp.asarray(ε, g.dtype))
    tomorrow = jax.vmap(lambda a_next: model.prices(table, a_next, {"households": g_next}))(a_next)
    choice = household_choices(model.economy, action, today.outcomes["r"], today.values[1], today.outcomes["τ"])
    return Continuations(today, tomorrow, jnp.asarray(weight / weight.sum(), g.dtype), choice.b_next, choice.c, choice.n, a_next)


def phillips_curve_residual_at(model: HANKSPG, table, g, a: HANKState, n_quadrature: int = 5):
    """The Phillips-curve residual at one state, E_t by quadrature over tomorrow's innovations:

        Π_t(1 + Π_t) - (ε/θ)(w_t/z_t - (ε-1)/ε) - E_t[(1 + r_{t+1})^(-1) (Y_{t+1}/Y_t) Π_{t+1}(1 + Π_{t+1})].
    """
    k = continuations(model, table, g, a, n_quadrature)
    now, next_ = k.today.outcomes, k.tomorrow.outcomes
    residuals = phillips_curve_residual(
        model.economy, now["Π"], k.today.values[1], jnp.exp(a.log_z), k.tomorrow.values[:, 0], next_["Y"] / now["Y"], next_["Π"]
    )
    return jnp.sum(k.weight * residuals)


class HouseholdErrors(NamedTuple):
    """log10 errors of the households' two optimality conditions on the (b, y) grid."""

    euler: jax.Array  # log10 of the Euler equation's complementarity residual
    labour: jax.Array  # log10 |1 - n^η / (w y u′(c))|: the intratemporal condition
    interior: jax.Array  # bool: savings below the cap b_max


def household_errors_at(model: HANKSPG, table, g, a: HANKState, n_quadrature: int = 5) -> HouseholdErrors:
    """Euler and labour errors of the households' policy at one state (g, a).

    c̃ = (u′)⁻¹(β E[(1 + r′) u′(c(b′, y′; p′, τ′))]) with tomorrow's consumption linear in b′
    between nodes (the policy's own interpolation); error log10 |1 - c̃/c| where the household
    would rather save more, and min(c̃/c - 1, b′/c) where it would rather consume more (it can
    only up to its savings: the borrowing limit b′ ≥ 0). The labour condition n^η = w y u′(c)
    holds at every node of an optimal policy, constrained or not.
    """
    e = model.economy
    k = continuations(model, table, g, a, n_quadrature)
    lot = lottery(e.b_grid, k.b_next)

    def marginal_value(prices_next, a_next):
        action = policy(model, table, a_next, prices_next)["households"]
        r = prices_next.outcomes["r"]
        c_next = household_choices(e, action, r, prices_next.values[1], prices_next.outcomes["τ"]).c
        return (1 + r) * marginal_utility(linear_interpolation(c_next, lot), e.σ)  # (n_b, n_y, n_y′)

    values = jax.vmap(marginal_value)(k.tomorrow, k.a_next)
    expected = jnp.einsum("q,qbyk,yk->by", k.weight, values, e.Π_y)
    c_tilde = euler_consumption(expected, e.β, e.σ)
    gap = c_tilde / k.c - 1
    euler = jnp.log10(jnp.where(gap < 0, -gap, jnp.minimum(gap, k.b_next / k.c)))
    w = k.today.values[1]
    labour = jnp.log10(jnp.abs(1 - k.n**e.η / (w * e.y_grid * marginal_utility(k.c, e.σ))))
    interior = k.b_next < e.b_grid[-1] * (1 - 1e-9)
    return HouseholdErrors(euler, labour, interior)


def visited_states(path: Path, dates, paths) -> tuple:
    """(g, a) at the given dates and paths of a Path simulated with `keep_distributions`."""
    g = path.g["households"][dates, paths]
    a = jax.tree.map(lambda x: x[dates, paths], path.aggregate)
    return g, a


SHOCK_NAMES = {"z": "TFP", "e": "monetary"}


def impulse_responses(model, θ, start: SPGState, key, T: int, shock: str, size: float = 1.0, repeats: int = 1) -> dict:
    """Generalised impulse responses: mean over paired paths of shocked minus baseline, (T,) each.

    Both paths of a pair start from the same state of `start`, see the same innovations, and
    the shocked one gets an extra innovation of `size` s.d. to log z (shock="z") or e
    (shock="e") at date 0 (common random numbers: the responses are not sampling noise of
    two independent simulations). The nominal rate i_t is predetermined, so a monetary
    shock moves i_{t+1} (and through Π_t the ex-post r_t) at date 0, and i_t from date 1. Each state of `start` starts
    `repeats` pairs, with independent innovations drawn from `key`. Keys: "Π", "i" (i_t),
    "i_next" (i_{t+1}), "r" (the ex-post real return r_t), "w", "Y" and "C" (relative:
    shocked/baseline - 1), "log_z", "e", and "shock" (the shocked process). Raises
    ValueError for an unknown shock or repeats < 1.
    """
    if shock not in SHOCK_NAMES:
        raise ValueError(f"shock must be 'z' (TFP) or 'e' (monetary), got shock = {shock!r}")
    repeats = whole_number(repeats, "pairs of paths per state", symbol="repeats")
    e = model.economy
    ρ, ν = (e.ρ_z, e.ν_z) if shock == "z" else (e.ρ_e, e.ν_e)
    field = "log_z" if shock == "z" else "e"
    innovation = size * ν * np.sqrt(1 - ρ**2)
    shocked_start = start._replace(a=start.a._replace(**{field: getattr(start.a, field) + innovation}))
    N = jax.tree.leaves(start.a)[0].shape[0]
    pairs = [[simulate(model, θ, k, N, T, start=s) for s in (start, shocked_start)] for k in jax.random.split(key, repeats)]
    series = {
        "Π": lambda p: p.prices.outcomes["Π"],
        "i": lambda p: p.prices.outcomes["i"],
        "i_next": lambda p: p.prices.values[..., 0],
        "r": lambda p: p.prices.outcomes["r"],
        "w": lambda p: p.prices.values[..., 1],
        "Y": lambda p: p.prices.outcomes["Y"],
        "C": lambda p: p.aggregates["C"],
        "log_z": lambda p: p.aggregate.log_z,
        "e": lambda p: p.aggregate.e,
    }
    out = {}
    for name, f in series.items():
        x, y = (np.concatenate([np.asarray(f(pair[j]), np.float64) for pair in pairs], axis=1) for j in (0, 1))
        out[name] = ((y / x - 1) if name in ("Y", "C") else (y - x)).mean(axis=1)
    out["shock"] = out[field]
    return out
