"""EGM, VFI and policy evaluation (srlteach.solvers.household), at the chapters' calibration."""

import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.distributions import lottery, stationary_distribution, transition_matrix
from srlteach.solvers.household import HouseholdPolicy, conditional_expectation, egm, euler_errors, policy_value, vfi
from srlteach.foundations.utility import crra_utility

R_TEST = 1.03  # a rate below 1/β - 1 = 0.0417 (β = 0.96)


@pytest.fixture(scope="module")
def problem(huggett_stationary_book):
    """The stationary Huggett household (book scale) at r = 3%."""
    e = huggett_stationary_book
    return dict(b_grid=e.b_grid, R=jnp.full(3, R_TEST), income=e.y_grid, Π=e.Π_y, β=e.β, σ=e.σ)


@pytest.fixture(scope="module")
def egm_solution(problem):
    return egm(**problem)


@pytest.fixture(scope="module")
def vfi_solution(problem):
    return vfi(**problem)


def test_egm_policy_is_feasible_and_monotone(problem, egm_solution):
    b_grid, R, income = problem["b_grid"], problem["R"], problem["income"]
    c, b_next = egm_solution
    assert c.shape == b_next.shape == (b_grid.size, 3) and c.dtype == jnp.float64
    np.testing.assert_allclose(c + b_next, R * b_grid[:, None] + income, atol=1e-12)  # budget
    assert (c > 0).all()
    assert (b_next >= b_grid[0]).all() and (b_next <= b_grid[-1]).all()
    assert (jnp.diff(b_next, axis=0) >= 0).all() and (jnp.diff(c, axis=0) > 0).all()
    assert (b_next[0] == b_grid[0]).any()  # the borrowing limit binds for the poorest


def test_egm_satisfies_the_euler_equation(problem, egm_solution):
    errors = euler_errors(egm_solution, **problem)
    interior = np.asarray(errors.interior)
    log10 = np.asarray(errors.log10_error)[interior]
    assert interior.mean() > 0.8
    assert log10.max() < -2.5  # worst point: the kink next to the borrowing limit
    assert np.median(log10) < -5


def test_egm_agrees_with_vfi_on_the_same_grid(problem, egm_solution, vfi_solution):
    """Savings agree to a fraction of the local grid spacing; values to 5e-5 (relative)."""
    b_grid = np.asarray(problem["b_grid"])
    b_egm, b_vfi = np.asarray(egm_solution.b_next), np.asarray(vfi_solution.policy.b_next)
    cell = np.diff(b_grid)[np.clip(np.searchsorted(b_grid, b_egm) - 1, 0, b_grid.size - 2)]
    assert (np.abs(b_egm - b_vfi) <= 0.3 * cell).all()
    # VFI is optimal on the grid: no policy does better there, EGM's only slightly worse
    v_egm = policy_value(egm_solution.b_next, **problem)
    gap = np.asarray(vfi_solution.v - v_egm)
    assert gap.min() > -1e-8
    assert gap.max() < 5e-5 * np.abs(np.asarray(vfi_solution.v)).max()


def test_vfi_value_is_the_value_of_its_policy(problem, vfi_solution):
    v = policy_value(vfi_solution.policy.b_next, **problem)
    np.testing.assert_allclose(v, vfi_solution.v, atol=1e-7)


def test_policy_value_solves_the_linear_system(problem):
    """v = (I - β A_π)⁻¹ u_π with the dense J×J matrix A_π (an independent method)."""
    b_grid, R, income, Π, β, σ = problem.values()
    b_next = jnp.clip(0.8 * b_grid[:, None] + 0.2 * income - 0.1, b_grid[0], b_grid[-1])
    u = np.asarray(crra_utility(R * b_grid[:, None] + income - b_next, σ)).ravel()
    A = np.asarray(transition_matrix(lottery(b_grid, b_next), Π))
    exact = np.linalg.solve(np.eye(A.shape[0]) - β * A, u).reshape(b_next.shape)
    np.testing.assert_allclose(policy_value(b_next, **problem), exact, rtol=1e-10)


def test_log_utility_branch(problem):
    """σ = 1 (log utility, chosen at trace time): EGM and VFI still agree."""
    p = dict(problem, σ=1.0)
    policy, solution = egm(**p), vfi(**p)
    assert np.isfinite(np.asarray(solution.v)).all()
    b_grid = np.asarray(p["b_grid"])
    b_egm = np.asarray(policy.b_next)
    cell = np.diff(b_grid)[np.clip(np.searchsorted(b_grid, b_egm) - 1, 0, b_grid.size - 2)]
    assert (np.abs(b_egm - np.asarray(solution.policy.b_next)) <= 0.3 * cell).all()


def test_factored_and_dense_transitions_agree(huggett_book):
    """Π given as Kronecker factors (y, z) gives the same policy as the dense Π_y ⊗ Π_z."""
    e = huggett_book
    n = e.y_grid.size * e.z_grid.size
    R = jnp.full(n, 1.03)
    income = (e.y_grid[:, None] * e.z_grid[None, :]).ravel()
    dense = egm(e.b_grid, R, income, jnp.kron(e.Π_y, e.Π_z), e.β, e.σ)
    factored = egm(e.b_grid, R, income, (e.Π_y, e.Π_z), e.β, e.σ)
    np.testing.assert_allclose(factored.c, dense.c, atol=1e-12)
    f = jnp.sin(jnp.arange(e.b_grid.size * n, dtype=float)).reshape(e.b_grid.size, n)
    np.testing.assert_allclose(conditional_expectation(f, (e.Π_y, e.Π_z)), f @ jnp.kron(e.Π_y, e.Π_z).T, atol=1e-14)


def test_savings_cap_makes_beta_r_above_one_well_defined(problem):
    """With β(1+r) > 1 households save up to the top of the grid, and EGM still converges."""
    p = dict(problem, R=jnp.full(3, 1.06))
    c, b_next = egm(**p)
    assert p["β"] * 1.06 > 1
    assert (b_next <= p["b_grid"][-1]).all()
    assert (b_next[-1] == p["b_grid"][-1]).any()  # the cap binds at the top
    # households accumulate until the cap: the stationary distribution piles up there
    g = stationary_distribution(lottery(p["b_grid"], b_next), p["Π"])
    assert float(g[-1].sum()) > 0.5
    np.testing.assert_allclose(c + b_next, 1.06 * p["b_grid"][:, None] + p["income"], atol=1e-12)


def test_tomorrows_return_enters_the_euler_equation(problem):
    """With R varying over e, the Euler equation weights u′(c′) by R(e′), not by R(e)."""
    b_grid, β, σ = problem["b_grid"], problem["β"], problem["σ"]
    Π = jnp.full((3, 3), 1 / 3)  # e i.i.d.
    R, income = jnp.array([1.0, 1.02, 1.04]), jnp.ones(3)
    policy = egm(b_grid, R, income, Π, β, σ)
    errors = euler_errors(policy, b_grid, R, income, Π, β, σ)
    assert np.median(np.asarray(errors.log10_error)[np.asarray(errors.interior)]) < -5
    # e is i.i.d.: savings depend on e only through cash on hand R(e) b + income(e)
    cash = R * b_grid[:, None] + income
    inside = (cash[:, 2] <= cash[-1, 0]) & (policy.b_next[:, 2] > b_grid[0])  # no extrapolation, no kink
    np.testing.assert_allclose(policy.b_next[inside, 2], jnp.interp(cash[inside, 2], cash[:, 0], policy.b_next[:, 0]), atol=2e-3)


def test_egm_is_deterministic(problem, egm_solution):
    again = egm(**problem)
    np.testing.assert_array_equal(again.c, egm_solution.c)
    np.testing.assert_array_equal(again.b_next, egm_solution.b_next)


def test_warm_start_gives_the_same_policy(problem, egm_solution):
    warm = egm(**problem, c_init=egm_solution.c * 1.01)
    np.testing.assert_allclose(warm.c, egm_solution.c, atol=1e-8)


def test_non_convergence_raises(problem):
    with pytest.raises(RuntimeError, match="egm did not converge in 3 iterations"):
        egm(**problem, max_iter=3)
    with pytest.raises(RuntimeError, match="vfi did not converge in 2 iterations"):
        vfi(**problem, max_iter=2)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(β=1.0), "discount factor β must satisfy 0 < β < 1, got β = 1.0"),
        (dict(β=0.0), "discount factor β must satisfy 0 < β < 1, got β = 0.0"),
        (dict(σ=0.0), "CRRA coefficient σ must be > 0, got σ = 0.0"),
        (dict(R=jnp.array([1.03, 0.0, 1.03])), r"gross return R = 1 \+ r must be > 0, got min R = 0"),
        (dict(income=jnp.array([0.5, 0.0, 1.8])), "income must be > 0 in every state, got min income = 0"),
        (dict(R=jnp.full((3, 1), 1.03)), r"R must be a 1-d array over the exogenous states e, got shape \(3, 1\)"),
        (dict(income=jnp.ones(2)), r"income must have the shape of R \(3,\), got \(2,\)"),
        (dict(Π=jnp.eye(2)), "Π has 2 states but R and income have 3"),
        (dict(Π=jnp.full((3, 3), 0.3)), "rows of Π must sum to one"),
        (dict(Π=(jnp.eye(3), jnp.full((2, 2), 0.6))), r"rows of Π\[1\] must sum to one"),
        (dict(b_grid=jnp.array([-1.0, 2.0, 1.0])), "b_grid must be strictly increasing"),
        (dict(b_grid=jnp.array([])), "b_grid must be a non-empty 1-d grid"),
        (
            dict(b_grid=jnp.linspace(-20.0, 10.0, 30)),
            r"borrowing limit b_grid\[0\] = -20 violates the natural borrowing limit -income/r = -18.29",
        ),
    ],
)
def test_household_input_errors(problem, change, message):
    for solver in (egm, vfi):
        with pytest.raises(ValueError, match=message):
            solver(**dict(problem, **change))


def test_policy_container_unpacks():
    policy = HouseholdPolicy(jnp.ones(2), jnp.zeros(2))
    c, b_next = policy
    assert (c == 1).all() and (b_next == 0).all()
