"""The neural global methods on Krusell–Smith: DeepHAM-style and DEQN-style, and the common
yardstick (simulation and Euler errors of any decision rule) that compares them with SRL
and KS-1998."""

import math
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.krusell_smith import create_krusell_smith, euler_errors, krusell_smith_spg
from srlteach.economies.krusell_smith.comparison import (
    grid_euler_errors,
    ks1998_decision,
    neural_decision,
    simulate_decisions,
    srl_decision,
)
from srlteach.economies.krusell_smith.ks1998 import KS1998Config, aggregate_grid, household_policy, simulate
from srlteach.economies.krusell_smith.neural import (
    NeuralConfig,
    check_config,
    deepham_init,
    deepham_objective,
    deepham_utility,
    deqn_init,
    deqn_objective,
    euler_residual,
    input_scales,
    solve_neural,
    stationary_share,
    _initial_state,
)
from srlteach.learning.global_methods import draw_panel, fischer_burmeister, generalised_moments

TINY = NeuralConfig(hidden=(3,), moment_hidden=(2,), moments=2, N=4, E=2, T=3, epochs=3, chunk=3, n_quadrature=3)


# ---------------------------------------------------------------------------------------
# Generic pieces
# ---------------------------------------------------------------------------------------


def test_fischer_burmeister_is_zero_exactly_on_the_complementarity_set():
    on = [(0.0, 0.0), (0.0, 2.0), (3.0, 0.0)]
    off = [(1.0, 1.0), (-0.5, 0.0), (0.0, -0.5), (-1.0, 2.0), (0.2, 0.3)]
    assert all(abs(float(fischer_burmeister(a, b))) < 1e-15 for a, b in on)
    assert all(abs(float(fischer_burmeister(a, b))) > 1e-3 for a, b in off)


def test_generalised_moments_with_a_linear_basis_are_ordinary_moments():
    """Q(x) = x W (one linear layer) gives the weighted mean of x W; with W = e_1 and panel
    weights 1/N it is the cross-sectional mean of the first input."""
    x = jax.random.normal(jax.random.PRNGKey(0), (7, 2))
    W = jnp.array([[1.0], [0.0]])
    m = generalised_moments([(W, jnp.zeros(1))], x, jnp.full(7, 1 / 7))
    np.testing.assert_allclose(m, [x[:, 0].mean()], rtol=1e-12)


def test_a_panel_drawn_from_a_distribution_has_its_mean(ks_book, ks_equilibrium_book):
    g = ks_equilibrium_book.g
    b, i_y = draw_panel(jax.random.PRNGKey(3), g, ks_book.b_grid, (200_000,))
    assert abs(float(b.mean()) / ks_equilibrium_book.K - 1) < 0.01
    np.testing.assert_allclose(np.bincount(np.asarray(i_y), minlength=3) / b.size, g.sum(axis=0), atol=0.005)


# ---------------------------------------------------------------------------------------
# The Euler residual at a known solution (Brock–Mirman)
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def brock_mirman():
    """Log utility, full depreciation, no idiosyncratic risk (one income state, L = 1): the
    representative household's budget is c + K′ = z K^α, and K′ = αβ z K^α is optimal."""
    return create_krusell_smith("book", n_y=1, δ=1.0, σ=1.0)


def constant_share(share):
    return lambda b, i_y, K, log_z: jnp.full(jnp.broadcast_shapes(jnp.shape(b), jnp.shape(i_y)), math.log(share / (1 - share)))


@pytest.mark.parametrize("K, log_z", [(0.05, 0.0), (0.2, 0.05), (0.5, -0.08)])
def test_euler_residual_vanishes_at_the_brock_mirman_policy(brock_mirman, K, log_z):
    e = brock_mirman
    ψ, b_next = euler_residual(constant_share(e.α * e.β), e, jnp.array([K]), jnp.array([0]), log_z, n_quadrature=5)
    np.testing.assert_allclose(b_next, e.α * e.β * math.exp(log_z) * K**e.α, rtol=1e-12)
    assert abs(float(ψ[0])) < 1e-12
    # any other constant share breaks the Euler equation, in the direction of its error
    ψ_low, _ = euler_residual(constant_share(0.5 * e.α * e.β), e, jnp.array([K]), jnp.array([0]), log_z)
    ψ_high, _ = euler_residual(constant_share(min(0.95, 2 * e.α * e.β)), e, jnp.array([K]), jnp.array([0]), log_z)
    assert float(ψ_low[0]) < -0.01 and float(ψ_high[0]) > 0.01


def test_euler_residual_is_zero_at_the_borrowing_limit_when_the_household_wants_to_borrow(ks_book):
    """A poor household with low income expects more income later and would borrow if it
    could (c̃ > c). If it saves (almost) nothing, the complementarity condition holds: ψ → 0
    as its savings → 0, while the Euler gap c̃/c - 1 itself stays positive."""
    b, i_y = jnp.array([10.4, 0.0]), jnp.array([1, 0])  # K near the stationary capital
    residuals = []
    for floor in (1e-2, 1e-4, 1e-6):
        # the rich household keeps K′ ≈ K; anyone with b < 1 saves the share `floor`
        share = lambda b, i_y, K, log_z: jnp.where(b < 1, math.log(floor / (1 - floor)), math.log(0.86 / 0.14))
        ψ, b_next = euler_residual(share, ks_book, b, i_y, 0.0)
        residuals.append(abs(float(ψ[1])))
    assert residuals[0] > residuals[1] > residuals[2] and residuals[2] < 1e-5


# ---------------------------------------------------------------------------------------
# Gradients against finite differences on tiny networks
# ---------------------------------------------------------------------------------------


def finite_difference_check(f, grad, params, h=1e-6):
    """Central differences of the scalar f against `grad` (a pytree like params) on two
    entries of every leaf."""
    f = jax.jit(f)
    leaves, tree = jax.tree.flatten(params)
    grad_leaves = jax.tree.leaves(grad)
    for k, leaf in enumerate(leaves):
        leaf = np.asarray(leaf)
        for index in list(np.ndindex(leaf.shape))[:2]:
            bumped = []
            for sign in (1, -1):
                changed = leaf.copy()
                changed[index] += sign * h
                bumped.append(float(f(jax.tree.unflatten(tree, [changed if j == k else leaves[j] for j in range(len(leaves))]))))
            fd = (bumped[0] - bumped[1]) / (2 * h)
            assert abs(float(grad_leaves[k][index]) - fd) <= 1e-6 * max(1.0, abs(fd)), (k, index, float(grad_leaves[k][index]), fd)


@pytest.fixture(scope="module")
def tiny_setup(ks_book, ks_equilibrium_book):
    scales = input_scales(ks_book, ks_equilibrium_book.K)
    state = _initial_state(ks_book, ks_equilibrium_book.g, check_config(TINY), jnp.float64)
    return scales, state


def test_deepham_gradient_matches_finite_differences(ks_book, tiny_setup):
    """The trainer's gradient is that of one's own utility with the others' policy fixed:
    central differences in the own parameters of `deepham_utility`, through T periods."""
    scales, state = tiny_setup
    params = deepham_init(ks_book, scales, TINY, dtype=jnp.float64)
    key = jax.random.PRNGKey(11)
    grad = jax.grad(lambda p: deepham_objective(ks_book, scales, TINY)(p, state, key, 0)[0])(params)
    finite_difference_check(lambda p: deepham_utility(p, params, ks_book, scales, check_config(TINY), state, key)[0], grad, params)
    # the stop-gradient matters: the planner's derivative (others moving too) is another number
    planner = jax.grad(lambda p: deepham_utility(p, p, ks_book, scales, check_config(TINY), state, key)[0])(params)
    assert not np.allclose(planner["policy"][0][0], grad["policy"][0][0], rtol=1e-3)


def test_deepham_moments_receive_a_gradient(ks_book, tiny_setup):
    """The basis network Q learns: the moments enter every household's policy."""
    scales, state = tiny_setup
    params = deepham_init(ks_book, scales, TINY, dtype=jnp.float64)
    grad = jax.grad(lambda p: deepham_objective(ks_book, scales, TINY)(p, state, jax.random.PRNGKey(0), 0)[0])(params)
    assert max(float(jnp.abs(leaf).max()) for leaf in jax.tree.leaves(grad["moments"])) > 1e-8


def test_deqn_gradient_matches_finite_differences(ks_book, tiny_setup):
    """At given states (one period: the simulated states are data, not functions of θ) the
    gradient of the loss runs through today's and tomorrow's decisions."""
    scales, state = tiny_setup
    params = deqn_init(ks_book, scales, TINY, dtype=jnp.float64)
    f = lambda p: deqn_objective(ks_book, scales, TINY._replace(T=1))(p, state, jax.random.PRNGKey(11), 0)[0]
    finite_difference_check(f, jax.grad(f)(params), params)


def test_networks_start_at_the_stationary_savings_share(ks_book, ks_equilibrium_book, tiny_setup):
    """The output bias is the logit of K/x̄ at the stationary K: the aggregate savings of the
    stationary economy (the first-period panel saves about K)."""
    share = stationary_share(ks_book, ks_equilibrium_book.K)
    assert 0.5 < share < 0.95
    scales, _ = tiny_setup
    for params in (deepham_init(ks_book, scales, TINY)["policy"], deqn_init(ks_book, scales, TINY)):
        np.testing.assert_allclose(jax.nn.sigmoid(params[-1][1]), [share], rtol=1e-5)


# ---------------------------------------------------------------------------------------
# Reproducibility and bad input
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_runs(ks_book, ks_equilibrium_book):
    """Each method trained on TINY with seed 0, again with seed 0, and with seed 1."""
    run = lambda method, seed: solve_neural(method, ks_book, ks_equilibrium_book.g, ks_equilibrium_book.K, TINY._replace(seed=seed))
    return {method: (run(method, 0), run(method, 0), run(method, 1)) for method in ("deepham", "deqn")}


@pytest.mark.parametrize("method", ["deepham", "deqn"])
def test_same_seed_same_numbers(tiny_runs, method):
    first, again, other = tiny_runs[method]
    for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(again.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.history["objective"], again.history["objective"])
    assert not np.array_equal(first.history["objective"], other.history["objective"])


@pytest.mark.parametrize("change, message", [
    (dict(N=0), "N must be a positive integer"),
    (dict(T=2.5), "T must be a positive integer"),
    (dict(η0=float("nan")), "η0 must be a finite number"),
    (dict(η0=2.0), "learning rate η0 must lie in"),
    (dict(hidden=()), "hidden must be a non-empty tuple"),
    (dict(moment_hidden=(4, -1)), "moment_hidden"),
    (dict(n_quadrature=0), "n_quadrature"),
])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        check_config(NeuralConfig()._replace(**change))


def test_bad_solver_inputs_are_refused(ks_book, ks_equilibrium_book):
    g, K = ks_equilibrium_book.g, ks_equilibrium_book.K
    with pytest.raises(ValueError, match="method must be one of"):
        solve_neural("dqn", ks_book, g, K, TINY)
    with pytest.raises(ValueError, match="g0 must be a distribution"):
        solve_neural("deqn", ks_book, g[:-1], K, TINY)
    with pytest.raises(ValueError, match="g0 must be a distribution"):
        solve_neural("deqn", ks_book, np.where(g == g.max(), np.nan, g), K, TINY)
    for bad in (0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="K_ref"):
            input_scales(ks_book, bad)


# ---------------------------------------------------------------------------------------
# The common yardstick
# ---------------------------------------------------------------------------------------


def test_grid_euler_errors_agree_with_the_srl_measure(ks_book, ks_equilibrium_book):
    """For an SRL policy, the generic measure (tomorrow's g pushed forward under the rule)
    is the SRL chapter's (tomorrow's K = Σ b′ g): the lottery preserves the mean."""
    model = krusell_smith_spg(ks_book, g0=ks_equilibrium_book.g)
    θ = 0.3 * jax.random.normal(jax.random.PRNGKey(0), model.initial_parameters().shape)
    g = ks_equilibrium_book.g
    for log_z in (0.0, 0.04):
        ours = grid_euler_errors(srl_decision(model, θ), ks_book, g, log_z)
        theirs = euler_errors(model, θ, g, log_z)
        np.testing.assert_array_equal(ours.interior, theirs.interior)
        np.testing.assert_allclose(ours.log10_error, theirs.log10_error, atol=1e-8)


@pytest.fixture(scope="module")
def ks_rule(ks_book, ks_equilibrium_book):
    """A KS-1998 household policy for a given law of motion (no outer fixed point: cheap)."""
    grid = aggregate_grid(ks_book, ks_equilibrium_book.K, KS1998Config())
    return types.SimpleNamespace(policy=household_policy(ks_book, grid, np.array([0.1, 0.94, 0.2])), grid=grid)


def test_simulating_a_decision_rule_reproduces_ks1998(ks_book, ks_equilibrium_book, ks_rule):
    """The generic simulator, given KS-1998's table, is KS-1998's own simulation."""
    log_z = 0.03 * jax.random.normal(jax.random.PRNGKey(2), (60,))
    expected, g_T = simulate(ks_book, ks_rule.grid, ks_rule.policy, ks_equilibrium_book.g, log_z)
    path, distributions = simulate_decisions(ks1998_decision(ks_book, ks_rule), ks_book, ks_equilibrium_book.g, log_z)
    for name in ("K", "C", "r", "w"):
        np.testing.assert_allclose(getattr(path, name), getattr(expected, name), rtol=1e-12)
    np.testing.assert_allclose(distributions[0], ks_equilibrium_book.g)


def test_the_explorer_draws_every_method_and_refuses_bad_input(ks_book, ks_equilibrium_book, ks_rule):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from srlteach.presentation.global_methods_explorer import global_methods_explorer

    decide = ks1998_decision(ks_book, ks_rule)
    shifted = lambda g, log_z: 0.99 * decide(g, log_z)
    fig = global_methods_explorer({"KS-1998": decide, "less saving": shifted}, ks_book, ks_equilibrium_book.g, 0.01, 2)
    left, right = fig.axes[:2]
    assert len(left.lines) == 2 and len(right.lines) == 2  # both policies; the difference and the zero line
    difference = right.lines[0].get_ydata()
    assert (np.asarray(difference) >= 0).all() and np.asarray(difference).max() > 0  # saving less is consuming more
    plt.close(fig)
    for bad in (dict(y_index=3), dict(log_z=float("nan")), dict(b_max=0.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            global_methods_explorer({"KS-1998": decide}, ks_book, ks_equilibrium_book.g, **{"log_z": 0.0, **bad})
    with pytest.raises(ValueError, match="decisions"):
        global_methods_explorer({}, ks_book, ks_equilibrium_book.g)


def test_a_trained_network_runs_on_the_continuum(ks_book, ks_equilibrium_book, tiny_runs):
    """Both networks give savings inside [b̲, b_max], a simulated economy that conserves
    mass, and finite Euler errors on the grid."""
    g = ks_equilibrium_book.g
    for method, (solution, _, _) in tiny_runs.items():
        decide = neural_decision(ks_book, solution)
        b_next = np.asarray(decide(g, 0.0))
        assert b_next.min() >= 0 and b_next.max() <= float(ks_book.b_grid[-1])
        path, distributions = simulate_decisions(decide, ks_book, g, jnp.zeros(5))
        np.testing.assert_allclose(np.asarray(distributions).sum(axis=(1, 2)), 1, atol=1e-10)
        assert np.isfinite(np.asarray(grid_euler_errors(decide, ks_book, g, 0.0).log10_error)).all()
