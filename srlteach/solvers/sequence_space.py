"""The first-order rational-expectations solution in sequence space (Auclert, Bardóczy,
Rognlie and Straub 2021, "Using the sequence-space Jacobian to solve and estimate
heterogeneous-agent models", Econometrica 89(5)).

**The household block.** Given paths of the prices it faces over a horizon of T periods,
r_t (the return paid at t on the assets brought into t) and w_t (income per unit of the
idiosyncratic y: the wage in Krusell–Smith, z_t in Huggett), with the prices back at their
stationary values from T on, the household

    c_t + b′_t = (1 + r_t) b + w_t y,        b′_t ≥ b̲,

is solved backward from the stationary policy by the endogenous grid method, with the Euler
equation u′(c_t) = β (1 + r_{t+1}) E_t[u′(c_{t+1})] (tomorrow's return inside), and its
cross-section is pushed forward from the stationary distribution by Young's lottery
(`household_path`). Its aggregates are paths C_t = Σ c_t g_t, A_t = Σ b′_t g_t (assets
chosen at t) and K_t = Σ b g_t = A_{t-1} (assets brought into t).

**Jacobians.** J^{Y,x}[t, s] = ∂Y_t/∂x_s at the stationary equilibrium, for Y ∈ {C, A} and
x ∈ {r, w}: a T×T matrix per pair. `household_jacobians` computes them by the fake-news
algorithm, with the derivatives taken by JAX's forward-mode autodiff through the same EGM
step and lottery: one backward sweep differentiates the policy at every distance u = s - t
before a shock at s, which by time invariance gives every column. `jax.jacfwd` of
`household_path` gives the same matrices at T times the cost (tests/test_sequence_space.py).

**General equilibrium.** A `SequenceModel` states the rest of the economy in sequence
space: the prices the households face as functions of a path of unknowns U (capital, or
the interest rate) and of the exogenous path Z (log z), and the residuals H(U, Z) that are
zero in equilibrium (market clearing). To first order, H_U dU = -H_Z dZ
(`linear_impulse_responses`); the nonlinear perfect-foresight path after a one-time
unexpected shock (an "MIT shock") solves H(U, Z) = 0 by Newton's method with the same H_U
(`perfect_foresight`).
"""

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.distributions import expectation, lottery, push_forward
from srlteach.foundations.production import marginal_products
from srlteach.foundations.utility import euler_consumption, marginal_utility
from srlteach.foundations.validation import check_finite_array, whole_number
from srlteach.solvers.equilibrium import StationaryEquilibrium
from srlteach.solvers.household import (
    HouseholdPolicy,
    conditional_expectation,
    consumption,
)

OUTPUTS = ("C", "A")  # the household block's aggregates: consumption, assets chosen at t
INPUTS = ("r", "w")  # the prices it faces


class Household(NamedTuple):
    """What the household block needs from an economy (Huggett or Krusell–Smith)."""

    b_grid: jax.Array  # (n_b,) asset grid; b_grid[0] is the borrowing limit
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels
    Π_y: jax.Array  # (n_y, n_y) income transitions
    β: float  # discount factor
    σ: float  # CRRA coefficient


def household_of(economy) -> Household:
    """The household block of an economy with fields b_grid, y_grid, Π_y, β, σ (float64)."""
    as64 = lambda x: jnp.asarray(x, dtype=jnp.float64)
    return Household(as64(economy.b_grid), as64(economy.y_grid), as64(economy.Π_y), float(economy.β), float(economy.σ))


# ---------------------------------------------------------------------------------------
# The household block along a path of prices
# ---------------------------------------------------------------------------------------


def backward_step(household: Household, c_next, R, R_next, w) -> HouseholdPolicy:
    """Today's policy from tomorrow's consumption c_next(b′, y′) by EGM, at today's return R,
    tomorrow's R_next and today's income scale w:

        c̃(b′_i, y) = (β R_next E[u′(c_next(b′_i, y′)) | y])^(-1/σ),   b̃ = (c̃ + b′_i - w y) / R,

    and b′(b, y) is the linear interpolant of b′_i against b̃ (held at the ends: the
    borrowing limit and the savings cap). `srlteach.solvers.household.egm_step` is the
    special case R = R_next.
    """
    b_grid, y_grid, Π_y, β, σ = household
    income = w * y_grid
    c_tilde = euler_consumption(R_next * conditional_expectation(marginal_utility(c_next, σ), Π_y), β, σ)
    b_tilde = (c_tilde + b_grid[:, None] - income) / R
    b_next = jax.vmap(jnp.interp, in_axes=(None, 1, None), out_axes=1)(b_grid, b_tilde, b_grid)
    return HouseholdPolicy(consumption(b_grid, R, income, b_next), b_next)


class HouseholdPath(NamedTuple):
    """Aggregates of the household block along a price path, (T,) each."""

    C: jax.Array  # Σ c_t g_t
    A: jax.Array  # Σ b′_t g_t: assets chosen at t (= K_{t+1})
    K: jax.Array  # Σ b g_t: assets brought into t


@jax.jit
def household_path(household: Household, steady: StationaryEquilibrium, r, w) -> HouseholdPath:
    """The household block's aggregates along the price paths r, w (T,), which return to
    the stationary (steady.r, steady.w) at T: EGM backward from the stationary policy,
    then Young's lottery forward from the stationary distribution."""
    b_grid, Π_y = household.b_grid, household.Π_y
    R = 1 + r
    R_next = jnp.concatenate([R[1:], jnp.full((1,), 1 + steady.r)])

    def backward(c_next, prices):
        policy = backward_step(household, c_next, *prices)
        return policy.c, policy

    _, policies = jax.lax.scan(backward, steady.policy.c, (R, R_next, w), reverse=True)

    def forward(g, policy):
        aggregates = (jnp.sum(policy.c * g), jnp.sum(policy.b_next * g), jnp.sum(b_grid[:, None] * g))
        return push_forward(g, lottery(b_grid, policy.b_next), Π_y), aggregates

    _, (C, A, K) = jax.lax.scan(forward, steady.g, policies)
    return HouseholdPath(C, A, K)


# ---------------------------------------------------------------------------------------
# Jacobians by the fake-news algorithm, derivatives by forward-mode autodiff
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames="T")
def _fake_news_jacobians(household: Household, steady: StationaryEquilibrium, T: int):
    b_grid, Π_y = household.b_grid, household.Π_y
    c_ss, b_ss, g_ss = steady.policy.c, steady.policy.b_next, steady.g
    R_ss, w_ss = 1 + steady.r, steady.w

    def policies_before_shock(dx):
        """The policies u = 0, …, T-1 periods before a date-s shock dx = (dr_s, dw_s).

        At u = 0 the shock is today's (R and w in the budget); at u ≥ 1 it reaches the
        household only through tomorrow's consumption, and at u = 1 also through R_next.
        """
        first = backward_step(household, c_ss, R_ss + dx[0], R_ss, w_ss + dx[1])
        second = backward_step(household, first.c, R_ss, R_ss + dx[0], w_ss)

        def earlier(c_next, _):
            policy = backward_step(household, c_next, R_ss, R_ss, w_ss)
            return policy.c, policy

        _, rest = jax.lax.scan(earlier, second.c, None, length=T - 2)
        return jax.tree.map(lambda a, b, rest: jnp.concatenate([a[None], b[None], rest]), first, second, rest)

    # d policy_u / d x for x = r, w: (n_inputs, T, n_b, n_y) each
    _, dpolicy = jax.vmap(lambda e: jax.jvp(policies_before_shock, (jnp.zeros(2),), (e,)))(jnp.eye(2))
    lot_ss = lottery(b_grid, b_ss)
    # D_u: the change in tomorrow's distribution from the change in today's savings at distance u
    dD = jax.vmap(jax.vmap(lambda db: jax.jvp(lambda b: push_forward(g_ss, lottery(b_grid, b), Π_y), (b_ss,), (db,))[1]))(dpolicy.b_next)

    def expectation_vectors(y_ss):
        """E_k = A_ss^k y_ss, k = 0, …, T-2: tomorrow's expected y after k periods."""

        def step(E, _):
            return expectation(E, lot_ss, Π_y), E

        return jax.lax.scan(step, y_ss, None, length=T - 1)[1]

    def jacobian(y_ss, dy, dD_x):
        """J[t, s] from the fake-news matrix F[0, s] = Σ dy_s g_ss, F[t, s] = E_{t-1} · D_s."""
        impact = jnp.einsum("uby,by->u", dy, g_ss)
        news = jnp.einsum("kby,uby->ku", expectation_vectors(y_ss), dD_x)
        F = jnp.concatenate([impact[None], news])

        def accumulate(row, F_t):  # J[t, s] = F[t, s] + J[t-1, s-1]
            row = F_t + jnp.concatenate([jnp.zeros(1), row[:-1]])
            return row, row

        return jax.lax.scan(accumulate, jnp.zeros(T), F)[1]

    out = {}
    for i, x in enumerate(INPUTS):
        out["C", x] = jacobian(c_ss, dpolicy.c[i], dD[i])
        out["A", x] = jacobian(b_ss, dpolicy.b_next[i], dD[i])
    return out


def household_jacobians(household: Household, steady: StationaryEquilibrium, T: int) -> dict:
    """The household block's Jacobians at the stationary equilibrium `steady`.

    Returns a dict (Y, x) → (T, T) array J[t, s] = ∂Y_t/∂x_s for Y ∈ OUTPUTS = ("C", "A")
    and x ∈ INPUTS = ("r", "w"). The assets brought into t, K_t = A_{t-1}, have the Jacobian
    of A shifted down one row (`lagged`). T ≥ 2.
    """
    T = whole_number(T, "horizon T", least=2, symbol="T")
    return _fake_news_jacobians(household, steady, T)


def lagged(J, first=0.0):
    """The Jacobian (or path) of Y_{t-1}: rows shifted down by one, the first row `first`."""
    J = jnp.asarray(J)
    return jnp.concatenate([jnp.full((1,) + J.shape[1:], first, J.dtype), J[:-1]])


# ---------------------------------------------------------------------------------------
# General equilibrium in sequence space
# ---------------------------------------------------------------------------------------


class SequenceModel(NamedTuple):
    """An economy around its household block, in sequence space over T periods.

    prices(U, Z) -> (r, w): the price paths the households face, given the unknowns U and
    the exogenous path Z (each (T,)); residual(C, A, U, Z) -> (T,): zero in equilibrium.
    Both are jax-traceable. U_ss and Z_ss are the stationary paths.
    """

    prices: Callable
    residual: Callable
    U_ss: jax.Array  # (T,)
    Z_ss: jax.Array  # (T,)


def krusell_smith_model(economy, steady: StationaryEquilibrium, T: int) -> SequenceModel:
    """Krusell–Smith: U_t = K_{t+1} (capital chosen at t), Z_t = log z_t; the firm pays
    r_t = α z_t (K_t/L)^(α-1) - δ and w_t = (1-α) z_t (K_t/L)^α with K_0 = K_ss, and the
    capital market clears, H_t = A_t - U_t = 0."""
    α, δ, L = economy.α, economy.δ, economy.L
    T = whole_number(T, "horizon T", least=2, symbol="T")

    def prices(U, Z):
        K = jnp.concatenate([jnp.full(1, steady.K), U[:-1]])
        mpk, w = marginal_products(α, K, L, jnp.exp(Z))
        return mpk - δ, w

    return SequenceModel(prices, lambda C, A, U, Z: A - U, jnp.full(T, steady.K), jnp.zeros(T))


def huggett_model(economy, steady: StationaryEquilibrium, T: int) -> SequenceModel:
    """Huggett with the book's timing (r_t clears the market at t and is paid at t on the
    bonds bought at t-1): U_t = r_t, Z_t = log z_t, income y z_t (w_t = z_t), and bonds are
    in zero net supply, A_t = 0.

    Under perfect foresight r_{t+1} is the known return on the bonds bought at t, and A_t = 0
    pins it down; r_0, paid on the bonds outstanding when the unexpected shock hits, only
    redistributes between lenders and borrowers, and every such redistribution is followed
    by a path back to the stationary equilibrium: market clearing leaves r_0 indeterminate
    (H_U is singular up to rounding). The model selects r_0 = r*, the return those bonds were
    bought at (H_0 = U_0 - r*), and clears the markets of dates 0, …, T-2 (A_{T-1} = 0 would
    need r_T, which the horizon fixes at r*).
    """
    T = whole_number(T, "horizon T", least=2, symbol="T")
    residual = lambda C, A, U, Z: jnp.concatenate([U[:1] - steady.r, A[:-1]])
    return SequenceModel(lambda U, Z: (U, jnp.exp(Z)), residual, jnp.full(T, steady.r), jnp.zeros(T))


class Responses(NamedTuple):
    """Paths of the aggregates in deviation from the stationary equilibrium, (T,) each."""

    U: jax.Array  # the unknowns
    r: jax.Array  # interest rate (level deviation)
    w: jax.Array  # income per unit of y (level deviation)
    C: jax.Array  # consumption
    A: jax.Array  # assets chosen at t
    K: jax.Array  # assets brought into t


def _linearised(model: SequenceModel, jacobians: dict, steady: StationaryEquilibrium):
    """H(U, Z) with the household block replaced by its Jacobians (exact to first order)."""

    def H(U, Z):
        r, w = model.prices(U, Z)
        dr, dw = r - steady.r, w - steady.w
        dY = {Y: jacobians[Y, "r"] @ dr + jacobians[Y, "w"] @ dw for Y in OUTPUTS}
        A_ss = jnp.sum(steady.policy.b_next * steady.g)
        return model.residual(steady.C + dY["C"], A_ss + dY["A"], U, Z)

    return H


def ge_jacobians(model: SequenceModel, jacobians: dict, steady: StationaryEquilibrium):
    """(H_U, H_Z): the Jacobians of the equilibrium residuals, (T, T) each, by the chain rule
    through the price blocks (autodiff) and the household Jacobians."""
    H = _linearised(model, jacobians, steady)
    return jax.jacfwd(H, argnums=(0, 1))(model.U_ss, model.Z_ss)


def _responses(model: SequenceModel, jacobians: dict, dU, dZ) -> Responses:
    """The first-order paths of the prices and household aggregates that go with (dU, dZ)."""
    dr, dw = jax.jvp(model.prices, (model.U_ss, model.Z_ss), (dU, dZ))[1]
    dY = {Y: jacobians[Y, "r"] @ dr + jacobians[Y, "w"] @ dw for Y in OUTPUTS}
    return Responses(dU, dr, dw, dY["C"], dY["A"], lagged(dY["A"]))


def _exogenous_path(model: SequenceModel, dZ):
    """dZ as a float64 path of the model's horizon; ValueError if it has another shape or is not finite."""
    dZ = jnp.asarray(dZ, dtype=jnp.float64)
    if dZ.shape != model.Z_ss.shape:
        raise ValueError(f"dZ must be a path of shape (T,) = {model.Z_ss.shape}, got {dZ.shape}")
    check_finite_array(dZ, "dZ")
    return dZ


def linear_impulse_responses(model: SequenceModel, jacobians: dict, steady: StationaryEquilibrium, dZ) -> Responses:
    """The first-order responses to the exogenous path dZ (T,): dU = -H_U⁻¹ H_Z dZ, and the
    prices and household aggregates that go with it (all to first order)."""
    dZ = _exogenous_path(model, dZ)
    H_U, H_Z = ge_jacobians(model, jacobians, steady)
    dU = -jnp.linalg.solve(H_U, H_Z @ dZ)
    return _responses(model, jacobians, dU, dZ)


class PerfectForesight(NamedTuple):
    """The nonlinear perfect-foresight path after an MIT shock, in deviations (`Responses`),
    and how Newton's method got there."""

    responses: Responses
    residual: float  # max |H(U, Z)| at the solution
    iterations: int


def perfect_foresight(model: SequenceModel, jacobians: dict, steady: StationaryEquilibrium, dZ, household: Household,
                      tol: float = 1e-10, max_iter: int = 50) -> PerfectForesight:
    """The nonlinear response to the exogenous path dZ (T,), unexpected at date 0 and known
    from then on: H(U, Z_ss + dZ) = 0 solved by Newton's method, U ← U - H_U⁻¹ H(U, Z), with
    the stationary H_U (one LU factorisation) and the household block evaluated exactly
    (`household_path`). Stops when max |H| < tol; RuntimeError after max_iter steps."""
    dZ = _exogenous_path(model, dZ)
    if not 0 < tol < np.inf:
        raise ValueError(f"tolerance tol must be finite and > 0, got tol = {tol}")
    max_iter = whole_number(max_iter, "max_iter")
    H_U, _ = ge_jacobians(model, jacobians, steady)
    lu = jax.scipy.linalg.lu_factor(H_U)
    Z = model.Z_ss + dZ

    def outcome(U):  # the price blocks op by op; the household block is compiled once per shape
        r, w = model.prices(U, Z)
        path = household_path(household, steady, r, w)
        return model.residual(path.C, path.A, U, Z), r, w, path

    U = model.U_ss
    for iteration in range(1, max_iter + 1):
        H, r, w, path = outcome(U)
        residual = float(jnp.max(jnp.abs(H)))
        if not np.isfinite(residual):
            raise RuntimeError(f"perfect_foresight: the residual became {residual} after {iteration - 1} Newton steps; try a smaller shock")
        if residual < tol:
            r_ss, w_ss = model.prices(model.U_ss, model.Z_ss)
            A_ss = jnp.sum(steady.policy.b_next * steady.g)
            responses = Responses(U - model.U_ss, r - r_ss, w - w_ss, path.C - steady.C, path.A - A_ss, path.K - steady.K)
            return PerfectForesight(responses, residual, iteration - 1)
        U = U - jax.scipy.linalg.lu_solve(lu, H)
    raise RuntimeError(f"perfect_foresight did not converge in {max_iter} Newton steps (max |H| = {residual:.3g} ≥ tol = {tol})")


def ar1_path(size: float, ρ: float, T: int):
    """dZ_t = size · ρ^t, t = 0, …, T-1: an innovation of `size` at date 0 to an AR(1) with persistence ρ."""
    T = whole_number(T, "horizon T", symbol="T")
    if not -1 < ρ < 1:
        raise ValueError(f"persistence ρ must satisfy |ρ| < 1, got ρ = {ρ}")
    if not np.isfinite(size):
        raise ValueError(f"shock size must be finite, got size = {size}")
    return size * ρ ** jnp.arange(T, dtype=jnp.float64)
