"""Reference solvers for the household problem at given prices: EGM, VFI and policy evaluation.

The household holds bonds b on the grid `b_grid` (b_1 = b̲ is the borrowing limit, b_{n_b}
the top of the grid) and faces an exogenous Markov state e with transition matrix Π. In state
e it earns the gross return R(e) on the bonds it brings into the period and the income
income(e), so that

    c + b′ = R(e) b + income(e),        b̲ ≤ b′ ≤ b_{n_b},

and it maximises E Σ β^t u(c_t) with CRRA utility. The state e is whatever the model needs:
income y alone (a stationary economy), or (y, z, r) flattened in C order (the Huggett
household with aggregate risk). Its Euler equation is

    u′(c_t) ≥ β E_t[R(e_{t+1}) u′(c_{t+1})],  with equality when b̲ < b′ < b_{n_b}.

Tomorrow's return appears inside the expectation because R(e_{t+1}) is paid on b′.

The top of the grid is a savings cap: b′ never exceeds b_{n_b}. With β max R < 1 and a high
enough b_{n_b} the cap never binds on the ergodic set; where β R ≥ 1 (parts of a price grid
that includes rates above 1/β - 1) it keeps the problem well posed, and households simply
save up to the cap. The condition β(1+r) < 1 that the infinite-horizon problem *without* a
cap needs is checked where the theory needs it, in `srlteach.solvers.equilibrium`.

Π may be given as one (n_e, n_e) matrix or as a tuple of factors (Π_1, ..., Π_k) of
independent chains, with Π = Π_1 ⊗ ... ⊗ Π_k and e flattened in C order. The factored form
applies the conditional expectation axis by axis and never forms the n_e × n_e matrix.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.budget import cash_on_hand
from srlteach.foundations.discretisation import check_grid, check_transition_matrix
from srlteach.foundations.distributions import expectation, lottery
from srlteach.foundations.validation import check_finite_array, whole_number
from srlteach.foundations.utility import C_MIN, crra_utility, euler_consumption, euler_error, inverse_marginal_utility, marginal_utility


class HouseholdPolicy(NamedTuple):
    """A household policy on the (b, e) grid: consumption and savings, both (n_b, n_e)."""

    c: jax.Array  # c(b, e)
    b_next: jax.Array  # b′(b, e) = R(e) b + income(e) - c(b, e)


class ValueAndPolicy(NamedTuple):
    """The value function v(b, e) and the policy that attains it."""

    v: jax.Array  # (n_b, n_e)
    policy: HouseholdPolicy


# ---------------------------------------------------------------------------------------
# Conditional expectations over e′
# ---------------------------------------------------------------------------------------


def conditional_expectation(f, Π):
    """(Π f)(b, e) = Σ_e′ Π[e, e′] f(b, e′) for f of shape (n_b, n_e).

    Π is an (n_e, n_e) matrix or a tuple of Kronecker factors (see the module docstring).
    """
    if not isinstance(Π, tuple):
        return f @ Π.T
    n_b = f.shape[0]
    f = f.reshape((n_b,) + tuple(P.shape[0] for P in Π))
    for axis, P in enumerate(Π, start=1):
        # contract e′ along this axis, then put the resulting e axis back where it was
        f = jnp.moveaxis(jnp.tensordot(f, P, axes=([axis], [1])), -1, axis)
    return f.reshape(n_b, -1)


def _expected_value(v_next, lot, Π):
    """(A_π v)(b, e) = E[v(b′, e′) | b, e] under Young's lottery, for either form of Π."""
    if not isinstance(Π, tuple):
        return expectation(v_next, lot, Π)
    # The lottery only moves b; apply Π first, then the lottery with an identity chain.
    w = conditional_expectation(v_next, Π)
    return expectation(w, lot, jnp.eye(w.shape[1]))


# ---------------------------------------------------------------------------------------
# Endogenous grid method
# ---------------------------------------------------------------------------------------


def consumption(b_grid, R, income, b_next):
    """c(b, e) = R(e) b + income(e) - b′(b, e): the budget constraint solved for c."""
    return cash_on_hand(b_grid[:, None], R, income) - b_next


def egm_step(c_next, b_grid, R, income, Π, β, σ):
    """One application of the Coleman (time-iteration) operator by the endogenous grid method.

    Given tomorrow's consumption c_next(b′, e′) on the grid, for every node b′_i:

        c̃(b′_i, e) = (u′)⁻¹( β Σ_e′ Π[e, e′] R(e′) u′(c_next(b′_i, e′)) ),
        b̃(b′_i, e) = (c̃ + b′_i - income(e)) / R(e)     (the endogenous grid),

    and b′(b, e) is the linear interpolant of b′_i against b̃. Below b̃_1 the borrowing
    constraint binds (b′ = b̲); above b̃_{n_b} the savings cap binds (b′ = b_{n_b}):
    `jnp.interp` holds the end values, which is exactly these two constraints.
    """
    c_tilde = euler_consumption(conditional_expectation(marginal_utility(c_next, σ) * R, Π), β, σ)
    b_tilde = (c_tilde + b_grid[:, None] - income) / R
    b_next = jax.vmap(jnp.interp, in_axes=(None, 1, None), out_axes=1)(b_grid, b_tilde, b_grid)
    return HouseholdPolicy(consumption(b_grid, R, income, b_next), b_next)


def consume_above_limit(b_grid, R, income):
    """The policy b′ = b̲ (consume everything above the borrowing limit): EGM's first guess."""
    b_next = jnp.full((b_grid.size, R.size), b_grid[0])
    return HouseholdPolicy(consumption(b_grid, R, income, b_next), b_next)


@jax.jit
def egm_fixed_point(c_init, b_grid, R, income, Π, β, σ, tol=1e-10, max_iter=10_000):
    """Iterate `egm_step` from c_init until sup|c_new - c| < tol (or max_iter steps).

    The jit- and vmap-friendly core of `egm`: no input checks, no convergence
    check. Returns (policy, distance, iterations); callers must check `distance < tol`.
    """

    def not_converged(state):
        _, distance, it = state
        return (distance >= tol) & (it < max_iter)

    def step(state):
        policy, _, it = state
        new = egm_step(policy.c, b_grid, R, income, Π, β, σ)
        return new, jnp.max(jnp.abs(new.c - policy.c)), it + 1

    start = HouseholdPolicy(c_init, c_init)  # b_next is overwritten by the first step
    policy, distance, it = jax.lax.while_loop(not_converged, step, (start, jnp.inf, 0))
    return policy, distance, it


def egm(b_grid, R, income, Π, β, σ, tol=1e-10, max_iter=10_000, c_init=None):
    """Solve the household problem at given prices by the endogenous grid method.

    Parameters
    ----------
    b_grid : (n_b,) increasing asset grid; b_grid[0] = b̲ is the borrowing limit and
        b_grid[-1] caps savings.
    R : (n_e,) gross return R(e) = 1 + r(e) earned on today's bonds in state e.
    income : (n_e,) income in state e.
    Π : (n_e, n_e) transition matrix of e, or a tuple of Kronecker factors.
    β, σ : discount factor and CRRA coefficient.
    tol, max_iter : stop when sup|c_new - c| < tol; RuntimeError after max_iter steps.
    c_init : optional (n_b, n_e) starting guess (e.g. the solution at nearby prices).

    Returns
    -------
    HouseholdPolicy(c, b_next), both (n_b, n_e) float64 arrays.
    """
    b_grid, R, income = (jnp.asarray(a, dtype=float) for a in (b_grid, R, income))
    Π = tuple(jnp.asarray(P, dtype=float) for P in Π) if isinstance(Π, tuple) else jnp.asarray(Π, dtype=float)
    check_household_inputs(b_grid, R, income, Π, β, σ)
    max_iter = check_iteration(tol, max_iter)
    if c_init is None:
        c_init = consume_above_limit(b_grid, R, income).c
    elif np.shape(c_init) != (b_grid.size, R.size) or not (np.asarray(c_init) > 0).all():
        raise ValueError(f"c_init must be a positive (n_b, n_e) = {(b_grid.size, R.size)} array, got shape {np.shape(c_init)}")
    policy, distance, it = egm_fixed_point(c_init, b_grid, R, income, Π, β, σ, tol, max_iter)
    if not distance < tol:
        raise RuntimeError(f"egm did not converge in {int(it)} iterations (sup change {float(distance):.3g} ≥ tol = {tol})")
    return policy


# ---------------------------------------------------------------------------------------
# Policy evaluation and value function iteration
# ---------------------------------------------------------------------------------------


@partial(jax.jit, static_argnames=("σ",))
def policy_value(b_next, b_grid, R, income, Π, β, σ, tol=1e-10, max_iter=100_000):
    """The value of a given savings policy: the fixed point of v = u(c_π) + β A_π v.

    b_next : (n_b, n_e) savings b′(b, e); off-grid savings move by Young's lottery, so
    A_π v is v linearly interpolated at b′ and averaged over e′. Iterates until the
    sup-norm change is below tol. σ must be a Python number (static).
    """
    u = crra_utility(consumption(b_grid, R, income, b_next), σ)
    return value_of_rewards(u, lottery(b_grid, b_next), Π, β, tol, max_iter)[0]


def value_of_rewards(u, lot, Π, β, tol=1e-10, max_iter=100_000):
    """The fixed point of v = u + β A v, with A the lottery `lot` over b and the chain Π:
    the value of a policy whose period rewards on the grid are u. Returns (v, the last sup change)."""

    def not_converged(state):
        _, distance, it = state
        return (distance >= tol) & (it < max_iter)

    def step(state):
        v, _, it = state
        v_new = u + β * _expected_value(v, lot, Π)
        return v_new, jnp.max(jnp.abs(v_new - v)), it + 1

    v, distance, _ = jax.lax.while_loop(not_converged, step, (u / (1 - β), jnp.inf, 0))
    return v, distance


_GOLDEN = (np.sqrt(5.0) - 1) / 2


def golden_section_max(f, lo, hi, n_iter):
    """argmax of a concave scalar function f on [lo, hi] by golden-section search."""

    def step(_, bounds):
        a, b = bounds
        x1 = b - _GOLDEN * (b - a)
        x2 = a + _GOLDEN * (b - a)
        keep_left = f(x1) >= f(x2)
        return jnp.where(keep_left, a, x1), jnp.where(keep_left, x2, b)

    a, b = jax.lax.fori_loop(0, n_iter, step, (lo, hi))
    return (a + b) / 2


@partial(jax.jit, static_argnames=("σ", "n_golden", "n_howard"))
def _vfi(b_grid, R, income, Π, β, σ, tol, max_iter, n_golden, n_howard):
    cash = cash_on_hand(b_grid[:, None], R, income)  # (n_b, n_e)
    b_cap = jnp.minimum(b_grid[-1], cash - C_MIN)  # highest feasible b′ (c ≥ c_min)

    def improve(v):
        w = conditional_expectation(v, Π)  # w(b′, e) = E[v(b′, e′) | e], linear in b′

        def best_b_next(cash_be, cap_be, w_e):
            objective = lambda b_next: crra_utility(cash_be - b_next, σ) + β * jnp.interp(b_next, b_grid, w_e)
            return golden_section_max(objective, b_grid[0], cap_be, n_golden)

        per_b = jax.vmap(best_b_next, in_axes=(0, 0, None))
        return jax.vmap(per_b, in_axes=(1, 1, 1), out_axes=1)(cash, b_cap, w)

    def howard(v, b_next):
        u = crra_utility(cash - b_next, σ)
        lot = lottery(b_grid, b_next)
        return jax.lax.fori_loop(0, n_howard, lambda _, v: u + β * _expected_value(v, lot, Π), v)

    v0 = crra_utility(cash - b_grid[0], σ) / (1 - β)
    return iterate_values(improve, howard, v0, tol, max_iter)


def iterate_values(improve, evaluate, v0, tol, max_iter):
    """Value function iteration with policy-evaluation steps, inside one `while_loop`:
    b′ = improve(v), then v = evaluate(v, b′) (Howard's steps), until sup |Δv| < tol or
    max_iter iterations. Returns (v, b′, the last sup change, iterations)."""

    def not_converged(state):
        _, _, distance, it = state
        return (distance >= tol) & (it < max_iter)

    def step(state):
        v, _, _, it = state
        b_next = improve(v)
        v_new = evaluate(v, b_next)
        return v_new, b_next, jnp.max(jnp.abs(v_new - v)), it + 1

    return jax.lax.while_loop(not_converged, step, (v0, jnp.zeros_like(v0), jnp.inf, 0))


def vfi(b_grid, R, income, Π, β, σ, tol=1e-9, max_iter=5_000, n_golden=80, n_howard=20):
    """Solve the household problem by value function iteration with a continuous choice.

    The same grid, budget and constraints as `egm`. Continuation values are linear in b′
    between nodes (exactly Young's lottery), so this is the Bellman equation

        v(b, e) = max_{b̲ ≤ b′ ≤ min(b_{n_b}, R b + income - c_min)} u(R b + income - b′) + β (A v)(b′, e),

    solved by alternating a policy improvement (golden-section search for b′ at every
    (b, e): the objective is concave, so the search finds the maximum to ~1e-15 after
    `n_golden` = 80 steps) with `n_howard` policy-evaluation steps (Howard's improvement,
    which speeds up convergence without changing the fixed point). Stops when the sup-norm
    change in v between improvements is below tol; RuntimeError after max_iter.

    Returns
    -------
    ValueAndPolicy(v, HouseholdPolicy(c, b_next)), all (n_b, n_e).
    """
    b_grid, R, income = (jnp.asarray(a, dtype=float) for a in (b_grid, R, income))
    Π = tuple(jnp.asarray(P, dtype=float) for P in Π) if isinstance(Π, tuple) else jnp.asarray(Π, dtype=float)
    check_household_inputs(b_grid, R, income, Π, β, σ)
    max_iter = check_iteration(tol, max_iter)
    n_golden = whole_number(n_golden, "n_golden")
    n_howard = whole_number(n_howard, "n_howard", least=0)
    v, b_next, distance, it = _vfi(b_grid, R, income, Π, β, float(σ), tol, max_iter, n_golden, n_howard)
    if not distance < tol:
        raise RuntimeError(f"vfi did not converge in {int(it)} iterations (sup change {float(distance):.3g} ≥ tol = {tol})")
    return ValueAndPolicy(v, HouseholdPolicy(consumption(b_grid, R, income, b_next), b_next))


# ---------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------


class EulerErrors(NamedTuple):
    """log10 |1 - c̃/c| on the grid, and where the Euler equation must hold with equality."""

    log10_error: jax.Array  # (n_b, n_e); meaningful only where `interior`
    interior: jax.Array  # (n_b, n_e) bool: b̲ < b′ < b_{n_b}


@partial(jax.jit, static_argnames=("σ",))
def euler_errors(policy: HouseholdPolicy, b_grid, R, income, Π, β, σ):
    """Euler-equation errors of a policy on the grid.

    c̃(b, e) = (u′)⁻¹(β E[R(e′) u′(c(b′, e′))]), with c(·, e′) interpolated linearly at
    b′(b, e), against the policy's own c(b, e); reported in log10 of the relative error.
    Only interior points (neither the borrowing limit nor the cap binds) must satisfy it.
    """
    c, b_next = policy

    def rhs_in_state(b_next_e, Π_e):
        # c(b′(b, e), e′) for every e′, by linear interpolation of each e′ column of c
        c_next = jax.vmap(jnp.interp, in_axes=(None, None, 1), out_axes=1)(b_next_e, b_grid, c)
        return β * (marginal_utility(c_next, σ) * R) @ Π_e

    rhs = jax.lax.map(lambda args: rhs_in_state(*args), (b_next.T, _dense(Π))).T
    c_tilde = inverse_marginal_utility(rhs, σ)
    gap = (b_grid[-1] - b_grid[0]) * 1e-10
    interior = (b_next > b_grid[0] + gap) & (b_next < b_grid[-1] - gap)
    return EulerErrors(euler_error(c, c_tilde), interior)


def _dense(Π):
    """The (n_e, n_e) matrix of Π (the Kronecker product if Π is given by factors)."""
    if not isinstance(Π, tuple):
        return Π
    dense = jnp.ones((1, 1))
    for P in Π:
        dense = jnp.kron(dense, P)
    return dense


# ---------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------


def check_tolerance(tol):
    """Raise ValueError unless the stopping tolerance tol is finite and > 0."""
    if not 0 < tol < np.inf:
        raise ValueError(f"tolerance tol must be finite and > 0, got tol = {tol}")


def check_iteration(tol, max_iter) -> int:
    """Raise ValueError unless tol is finite and > 0 and max_iter a whole number ≥ 1; return max_iter as an int."""
    check_tolerance(tol)
    return whole_number(max_iter, "max_iter")


def check_household_inputs(b_grid, R, income, Π, β, σ):
    """Raise ValueError (naming the parameter and the bound) unless the problem is well posed.

    Checks (every number finite): an increasing asset grid; R and income of shape (n_e,) with R > 0 and income > 0;
    Π a transition matrix (or Kronecker factors) matching n_e; 0 < β < 1; σ > 0; and a
    borrowing limit at or above the natural borrowing limit, i.e. R(e) b̲ + income(e) - b̲ > 0
    in every state, so that c > 0 is feasible at b = b̲ (for r > 0 this is b̲ > -income/r).
    """
    check_grid(b_grid, "b_grid")
    R, income = np.asarray(R), np.asarray(income)
    if R.ndim != 1:
        raise ValueError(f"R must be a 1-d array over the exogenous states e, got shape {R.shape}")
    if income.shape != R.shape:
        raise ValueError(f"income must have the shape of R {R.shape}, got {income.shape}")
    factors = Π if isinstance(Π, tuple) else (Π,)
    for k, P in enumerate(factors):
        check_transition_matrix(P, "Π" if len(factors) == 1 else f"Π[{k}]")
    n_e = int(np.prod([np.shape(P)[0] for P in factors]))
    if n_e != R.size:
        raise ValueError(f"Π has {n_e} states but R and income have {R.size}")
    if not 0 < β < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {β}")
    if not σ > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {σ}")
    if not σ < np.inf:
        raise ValueError(f"CRRA coefficient σ must be finite, got σ = {σ}")
    check_finite_array(R, "R")
    check_finite_array(income, "income")
    if not (R > 0).all():
        raise ValueError(f"gross return R = 1 + r must be > 0, got min R = {R.min():.6g}")
    if not (income > 0).all():
        raise ValueError(f"income must be > 0 in every state, got min income = {income.min():.6g}")
    b_min = float(np.asarray(b_grid)[0])
    cash_at_limit = (R - 1) * b_min + income  # resources left after repaying at b = b′ = b̲
    worst = cash_at_limit.argmin()
    if not cash_at_limit[worst] > 0:
        natural = -income[worst] / (R[worst] - 1)
        raise ValueError(
            f"borrowing limit b_grid[0] = {b_min:.6g} violates the natural borrowing limit "
            f"-income/r = {natural:.6g} (state {worst}: r = {R[worst] - 1:.6g}, income = "
            f"{income[worst]:.6g}); b̲ must be > {natural:.6g}"
        )
