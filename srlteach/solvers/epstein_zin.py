"""The stationary household with Epstein–Zin preferences, by value function iteration, and
its stationary equilibrium (the reference for `srlteach.economies.huggett.epstein_zin`).

The household of `srlteach.solvers.household` (c + b′ = R b + income(y), b̲ ≤ b′ ≤ b_{n_b},
y following Π_y) ranks consumption streams by the recursion of Epstein and Zin (1989),

    V(b, y) = max_{b′} ((1 - β) c^(1-ρ) + β (E[V(b′, y′)^(1-γ) | y])^((1-ρ)/(1-γ)))^(1/(1-ρ)),

with γ the relative risk aversion and 1/ρ the elasticity of intertemporal substitution.
V is in units of consumption (a constant stream c has V = c). Off-grid savings move by
Young's lottery, as in the SPG engine: the expectation of V^(1-γ) is linear in b′ between
nodes. At γ = ρ, V^(1-ρ) / ((1 - β)(1 - ρ)) is the CRRA value of `household.vfi`, and the
policy is the CRRA policy.

This solver works in V itself, not in the CRRA units of the engine's `EpsteinZin`
aggregator, and never imports the engine: it is an independent check.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from srlteach.foundations.budget import cash_on_hand
from srlteach.foundations.distributions import (
    expectation,
    lottery,
    stationary_distribution,
)
from srlteach.foundations.utility import C_MIN
from srlteach.solvers.equilibrium import bracket_root, check_rates, market
from srlteach.solvers.household import (
    HouseholdPolicy,
    check_household_inputs,
    check_iteration,
    conditional_expectation,
    consumption,
    golden_section_max,
    iterate_values,
)


class EpsteinZinEquilibrium(NamedTuple):
    """The stationary equilibrium of a bond economy whose households have Epstein–Zin preferences."""

    r: float  # the rate at which Σ b′ g = 0
    residual: float  # Σ b′ g at r
    V: jax.Array  # (n_b, n_y) value in consumption units
    policy: HouseholdPolicy  # c, b′ (n_b, n_y)
    g: jax.Array  # (n_b, n_y) stationary distribution
    evaluations: int  # household problems solved


def _aggregate(c, M, β, ρ, γ):
    """((1 - β) c^(1-ρ) + β M^((1-ρ)/(1-γ)))^(1/(1-ρ)), M = E[V′^(1-γ)], at c ≥ c_min."""
    c = jnp.maximum(c, C_MIN)
    return ((1 - β) * c ** (1 - ρ) + β * M ** ((1 - ρ) / (1 - γ))) ** (1 / (1 - ρ))


@partial(jax.jit, static_argnames=("n_golden", "n_howard"))
def _ez_vfi(b_grid, R, income, Π_y, β, ρ, γ, tol, max_iter, n_golden, n_howard):
    cash = cash_on_hand(b_grid[:, None], R, income)  # (n_b, n_y)
    b_cap = jnp.minimum(b_grid[-1], cash - C_MIN)

    def improve(V):
        M = conditional_expectation(V ** (1 - γ), Π_y)  # M(b′, y) on the nodes, linear in b′ between them

        def best_b_next(cash_by, cap_by, M_y):
            objective = lambda b_next: _aggregate(cash_by - b_next, jnp.interp(b_next, b_grid, M_y), β, ρ, γ)
            return golden_section_max(objective, b_grid[0], cap_by, n_golden)

        per_b = jax.vmap(best_b_next, in_axes=(0, 0, None))
        return jax.vmap(per_b, in_axes=(1, 1, 1), out_axes=1)(cash, b_cap, M)

    def howard(V, b_next):
        c, lot = cash - b_next, lottery(b_grid, b_next)
        return jax.lax.fori_loop(0, n_howard, lambda _, V: _aggregate(c, expectation(V ** (1 - γ), lot, Π_y), β, ρ, γ), V)

    V0 = jnp.maximum(cash - b_grid[0], C_MIN)  # consume everything above b̲ once: a positive first guess
    return iterate_values(improve, howard, V0, tol, max_iter)


def epstein_zin_vfi(b_grid, y_grid, Π_y, β, ρ, γ, r, tol=1e-10, max_iter=5_000, n_golden=80, n_howard=30):
    """V(b, y) and the optimal policy of the Epstein–Zin household at the constant rate r.

    Golden-section search for b′ at every (b, y) (`household.golden_section_max`) alternated
    with `n_howard` evaluation steps (`household.iterate_values`), until sup |ΔV| < tol.
    Raises ValueError for ill-posed inputs (ρ, γ must be > 0, ≠ 1 and on the same side of 1)
    and RuntimeError if VFI does not converge.

    Returns (V, HouseholdPolicy(c, b′)), each (n_b, n_y).
    """
    b_grid, y_grid, Π_y = (jnp.asarray(x, dtype=float) for x in (b_grid, y_grid, Π_y))
    R = jnp.full(y_grid.shape, 1 + r)
    check_household_inputs(b_grid, R, y_grid, Π_y, β, ρ)
    check_preferences(ρ, γ)
    max_iter = check_iteration(tol, max_iter)
    V, b_next, distance, it = _ez_vfi(b_grid, R, y_grid, Π_y, β, float(ρ), float(γ), tol, max_iter, n_golden, n_howard)
    if not distance < tol:
        raise RuntimeError(f"epstein_zin_vfi did not converge in {int(it)} iterations (sup change {float(distance):.3g} ≥ tol = {tol})")
    return V, HouseholdPolicy(consumption(b_grid, R, y_grid, b_next), b_next)


def epstein_zin_household(b_grid, y_grid, Π_y, β, ρ, γ, r):
    """`epstein_zin_vfi` at the rate r and the stationary distribution of its policy: (V, policy, g)."""
    V, policy = epstein_zin_vfi(b_grid, y_grid, Π_y, β, ρ, γ, r)
    return V, policy, stationary_distribution(lottery(jnp.asarray(b_grid, dtype=float), policy.b_next), jnp.asarray(Π_y, dtype=float))


def check_preferences(ρ, γ):
    """Raise ValueError unless ρ and γ are finite, > 0, ≠ 1 and on the same side of 1."""
    for name, value in (("ρ", ρ), ("γ", γ)):
        if not 0 < value < jnp.inf or value == 1:
            raise ValueError(f"Epstein–Zin {name} must be finite, > 0 and ≠ 1, got {name} = {value}")
    if not (1 - γ) / (1 - ρ) > 0:
        raise ValueError(f"Epstein–Zin γ must lie on the same side of 1 as ρ = {ρ}, got γ = {γ}")


def epstein_zin_equilibrium(economy, γ: float, r_bracket, tol: float = 1e-9) -> EpsteinZinEquilibrium:
    """The stationary equilibrium (z = 1) of a bond economy (Huggett) with Epstein–Zin households.

    ρ is the economy's σ. At each candidate r the household problem is solved by
    `epstein_zin_vfi` and its stationary distribution computed; `bracket_root` finds the r
    at which aggregate bonds Σ b′ g are zero, to `tol`. r_bracket : (r_lo, r_hi) below
    1/β - 1 with bond demand < 0 at r_lo and > 0 at r_hi.
    """
    _, demand, r_floor, floor_name, _ = market(economy)
    β, ρ, b_grid, y_grid, Π_y = economy.β, economy.σ, economy.b_grid, economy.y_grid, economy.Π_y
    r_lo, r_hi = (float(r) for r in r_bracket)
    if not r_lo < r_hi:
        raise ValueError(f"the r bracket needs r_lo < r_hi, got ({r_lo}, {r_hi})")
    check_rates(r_lo, r_hi, β, r_floor, floor_name)

    def excess_demand(r):
        V, policy, g = epstein_zin_household(b_grid, y_grid, Π_y, β, ρ, γ, r)
        return float(jnp.sum(policy.b_next * g) - demand(r)), V, policy, g

    r, (residual, V, policy, g), evaluations = bracket_root(excess_demand, r_lo, r_hi, tol=tol)
    return EpsteinZinEquilibrium(r, residual, V, policy, g, evaluations)
