"""The structural policy gradient engine (`srlteach.learning.spg`), on small Huggett economies.

The economics of the trained policies (partial equilibrium against dynamic programming,
market clearing, the no-aggregate-risk limit) is in tests/test_srl_huggett.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.economies.huggett import create_huggett, huggett_spg

# ---------------------------------------------------------------------------------------
# Fixtures: a tiny economy, computed in float64 so that finite differences are meaningful
# ---------------------------------------------------------------------------------------

TINY = dict(n_b=12, n_z=3, n_r=5)


@pytest.fixture(scope="module")
def tiny():
    return spg.in_dtype(huggett_spg(create_huggett("book", **TINY)), "float64")


@pytest.fixture(scope="module")
def tiny_rollout(tiny):
    """A perturbed policy (so that no savings sit exactly on a node) and 3 paths of 12 periods."""
    θ = tiny.initial_parameters() + 0.3 * jax.random.normal(jax.random.PRNGKey(1), tiny.initial_parameters().shape)
    table = tiny.actions(θ)
    start = spg.initial_state(tiny, 3, jax.random.PRNGKey(2))
    d0 = spg.uniform_distribution(tiny)
    value, path = spg.rollout(tiny, table, start.g, start.a, jax.random.PRNGKey(3), 12, d0, keep_distributions=True)
    return θ, table, start, d0, value, path


# ---------------------------------------------------------------------------------------
# Interpolation in prices
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_p", [1, 2])
def test_interpolation_gathers_and_its_adjoint_scatters(n_p):
    """⟨interpolate(T), c⟩ = ⟨T, adjoint(c)⟩, and interpolation is exact for multilinear tables."""
    grids = [jnp.linspace(0.0, 1.0, 4), jnp.linspace(1.0, 3.0, 5)][:n_p]
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    table = jax.random.normal(keys[0], (3,) + tuple(g.size for g in grids) + (6, 2))
    N = 7
    p = jnp.stack([jax.random.uniform(k, (N,), minval=g[0], maxval=g[-1]) for k, g in zip(keys[1:], grids)], axis=1)
    z = jnp.arange(N) % 3
    location, outside = jax.jit(jax.vmap(lambda p: spg.locate_prices(grids, p)))(p)
    assert not outside.any()
    interpolate = jax.jit(jax.vmap(spg.interpolate, in_axes=(None, 0, 0)))
    values = interpolate(table, location, z)
    cotangent = jax.random.normal(keys[3], values.shape)
    G = jax.jit(spg._add_interpolated)(jnp.zeros_like(table), location, (z,), cotangent)
    np.testing.assert_allclose(jnp.vdot(values, cotangent), jnp.vdot(table, G), rtol=1e-12)
    # a table linear in each price is reproduced exactly between the nodes
    linear = sum(grid.reshape((1,) * (k + 1) + (-1,) + (1,) * (n_p - k + 1)) for k, grid in enumerate(grids))
    linear = jnp.broadcast_to(linear, table.shape)
    at_p = interpolate(linear, location, z)
    np.testing.assert_allclose(at_p, jnp.broadcast_to(p.sum(axis=1)[:, None, None], at_p.shape), rtol=1e-12)


def test_prices_outside_the_grid_are_clipped_and_flagged():
    grid = jnp.linspace(0.01, 0.06, 6)
    for p, weight, index in [(0.0, 1.0, 0), (0.07, 0.0, 4)]:
        location, outside = spg.locate_prices((grid,), jnp.array([p]))
        assert bool(outside)
        assert int(location.index[0]) == index and float(location.weight[0]) == weight
    location, outside = spg.locate_prices((grid,), jnp.array([0.035]))
    assert not bool(outside)
    assert float(location.weight[0]) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------
# Rollouts, objectives and the gradient
# ---------------------------------------------------------------------------------------


def test_rollouts_conserve_mass_and_the_mean_of_savings(tiny_rollout):
    _, table, _, _, _, path = tiny_rollout
    g = path.g  # (T, N, n_b, n_y)
    np.testing.assert_allclose(g.sum(axis=(2, 3)), 1.0, atol=1e-13)
    assert (g >= 0).all()
    # the lottery preserves the mean: tomorrow's bonds Σ b g_{t+1} are today's savings Σ b′ g_t
    b_grid = path.g.dtype.type(1) * jnp.asarray(create_huggett("book", **TINY).b_grid)
    bonds_next = (g[1:] * b_grid[:, None]).sum(axis=(2, 3))
    np.testing.assert_allclose(bonds_next, path.aggregates["B"][:-1], atol=1e-13)


def test_forward_and_backward_objectives_are_equal(tiny, tiny_rollout):
    _, table, _, d0, value, path = tiny_rollout
    assert float(spg.backward_value(tiny, table, path, d0)) == pytest.approx(float(value), rel=1e-13)


def test_gradient_is_autodiff_of_the_backward_recursion_and_matches_finite_differences(tiny, tiny_rollout):
    """The engine's backward sweep = jax.grad of the backward recursion = central differences,
    all with the simulated prices held fixed (the structural policy gradient)."""
    θ, table, start, d0, value, path = tiny_rollout
    value2, gradient, _ = spg.value_and_gradient(tiny, table, start.g, start.a, jax.random.PRNGKey(3), 12, d0)
    assert float(value2) == pytest.approx(float(value), rel=1e-13)  # by the backward sweep, = forward
    autodiff = jax.jit(jax.grad(lambda t: spg.backward_value(tiny, t, path, d0)))(table)
    np.testing.assert_allclose(gradient, autodiff, rtol=1e-10, atol=1e-15)
    assert float(jnp.abs(gradient).max()) > 1e-4  # the comparison is not between zeros
    h = 1e-6
    for seed in range(3):
        direction = jax.random.normal(jax.random.PRNGKey(10 + seed), table.shape)
        fd = (spg.backward_value(tiny, table + h * direction, path, d0) - spg.backward_value(tiny, table - h * direction, path, d0)) / (2 * h)
        assert float(jnp.vdot(gradient, direction)) == pytest.approx(float(fd), rel=1e-6)


def test_prices_carry_no_gradient(tiny):
    """The trainer's gradient equals the gradient at fixed prices and differs from the
    gradient of the full rollout, in which prices respond to the policy."""
    config = spg.SPGConfig(N=3, T=12, warmup=5)
    objective = spg.spg_objective(tiny, config)
    θ = tiny.initial_parameters() + 0.3 * jax.random.normal(jax.random.PRNGKey(1), tiny.initial_parameters().shape)
    state = spg.initial_state(tiny, 3, jax.random.PRNGKey(2))
    key, epoch = jax.random.PRNGKey(4), jnp.asarray(0)
    trainer_gradient = jax.jit(jax.grad(lambda θ: objective(θ, state, key, epoch)[0]))(θ)

    key_start, key_paths = jax.random.split(key)
    start = spg.initial_state(tiny, 3, key_start)
    d0 = spg.uniform_distribution(tiny)
    _, path = spg.rollout(tiny, tiny.actions(θ), start.g, start.a, key_paths, 12, d0)
    fixed_prices = jax.jit(jax.grad(lambda θ: spg.backward_value(tiny, tiny.actions(θ), path, d0)))(θ)
    np.testing.assert_allclose(trainer_gradient, fixed_prices, rtol=1e-9, atol=1e-14)

    # Contrast: re-simulating at a perturbed policy moves the prices, and with them the value.
    direction = jax.random.normal(jax.random.PRNGKey(5), θ.shape)
    h = 1e-5
    full = [spg.rollout(tiny, tiny.actions(θ + s * h * direction), start.g, start.a, key_paths, 12, d0)[0] for s in (1, -1)]
    with_price_response = (full[0] - full[1]) / (2 * h)
    at_fixed_prices = jnp.vdot(fixed_prices, direction)
    assert abs(float(with_price_response - at_fixed_prices)) > 1e-3 * abs(float(at_fixed_prices))


# ---------------------------------------------------------------------------------------
# Training runs: reproducibility, interruption, saving
# ---------------------------------------------------------------------------------------

SHORT = spg.SPGConfig(N=4, T=20, η0=1e-2, warmup=10, plateau=10, decay_steps=20, max_epochs=30, chunk=10, tol=0.0)


@pytest.fixture(scope="module")
def small():
    return huggett_spg(create_huggett("book", **TINY))


@pytest.fixture(scope="module")
def short_run(small):
    return spg.solve(small, SHORT)


def test_same_seed_same_numbers(small, short_run):
    again = spg.solve(small, SHORT)
    np.testing.assert_array_equal(again.θ, short_run.θ)
    for name in short_run.history:
        np.testing.assert_array_equal(again.history[name], short_run.history[name])
    other = spg.solve(small, SHORT._replace(seed=1))
    assert not np.array_equal(other.θ, short_run.θ)
    assert short_run.epochs == 30 and not short_run.converged and not short_run.interrupted
    assert short_run.θ.dtype == jnp.float32  # the default engine precision


def test_save_and_load_give_identical_simulations(short_run, tmp_path):
    file = tmp_path / "result.npz"
    spg.save_result(file, short_run)
    loaded = spg.load_result(file)
    assert loaded.config == short_run.config and loaded.epochs == short_run.epochs
    np.testing.assert_array_equal(loaded.θ, short_run.θ)
    for name in short_run.history:
        np.testing.assert_array_equal(loaded.history[name], short_run.history[name])
    paths = [spg.simulate(r.model, r.θ, jax.random.PRNGKey(7), 2, 15, start=r.state) for r in (short_run, loaded)]
    np.testing.assert_array_equal(paths[0].prices.values, paths[1].prices.values)
    np.testing.assert_array_equal(paths[0].aggregates["C"], paths[1].aggregates["C"])


def test_interruption_returns_the_policy_of_the_last_completed_chunk(small, short_run):
    def interrupt(summary):
        if summary["epoch"] >= 20:
            raise KeyboardInterrupt

    result = spg.solve(small, SHORT, progress=interrupt)
    assert result.interrupted and result.epochs == 20
    assert np.isfinite(np.asarray(result.θ)).all()
    np.testing.assert_array_equal(result.history["r_mean"], short_run.history["r_mean"][:20])


def test_training_diagnostics(short_run):
    h = short_run.history
    assert set(h) == {"objective", "Δθ", "residual", "out_of_grid", "r_mean"}
    assert (h["out_of_grid"] == 0).all()
    assert (h["residual"] < 1e-6).all()  # bonds, against a per-capita supply of order 1


def test_the_optimizer_follows_the_configs_learning_rate_schedule(small, short_run):
    """`optimizer` is a function of the config's schedule: nothing in the config is ignored."""
    # Adam's steps at the first epoch have the size of the learning rate: η0, then the decay
    slower = spg.solve(small, SHORT._replace(η0=SHORT.η0 / 4, max_epochs=1))
    assert float(slower.history["Δθ"][0]) == pytest.approx(SHORT.η0 / 4, rel=1e-3)
    sgd = spg.solve(small, SHORT._replace(max_epochs=2), optimizer=optax.sgd)
    assert not np.array_equal(sgd.θ, spg.solve(small, SHORT._replace(max_epochs=2)).θ)
    with pytest.raises(ValueError, match="optimizer must be a function of the learning-rate schedule"):
        spg.solve(small, SHORT, optimizer=optax.adam(1e-3))


def test_warmup_restarts_and_the_learning_rate_plateau_are_separate_settings(small):
    """`warmup`: epochs restarted from the fixed initial distribution; `plateau`: epochs at η0."""
    base = SHORT._replace(max_epochs=12, chunk=12)
    schedule_only = spg.solve(small, base._replace(plateau=2))
    restarts_only = spg.solve(small, base._replace(warmup=2))
    reference = spg.solve(small, base)
    # the same restarts: the first 3 epochs (all at η0 in both) agree; a different plateau
    # changes the step afterwards
    np.testing.assert_array_equal(schedule_only.history["objective"][:3], reference.history["objective"][:3])
    assert not np.array_equal(schedule_only.θ, reference.θ)
    # the same schedule, different restarts: epoch 2 starts where epoch 1 ended, not afresh
    np.testing.assert_array_equal(restarts_only.history["objective"][:2], reference.history["objective"][:2])
    assert restarts_only.history["objective"][2] != reference.history["objective"][2]


# ---------------------------------------------------------------------------------------
# Bad settings
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, name",
    [
        (dict(N=0), "N"),
        (dict(T=-3), "T"),
        (dict(T=2.5), "T"),
        (dict(η0=0.0), "η0"),
        (dict(η0=2.0), "η0"),
        (dict(tol=-1e-3), "tol"),
        (dict(tol=1.0), "tol"),
        (dict(warmup=-1), "warmup"),
        (dict(plateau=-1), "plateau"),
        (dict(decay_rate=1.5), "decay_rate"),
        (dict(max_epochs=0), "max_epochs"),
        (dict(chunk=0), "chunk"),
        (dict(dtype="float16"), "dtype"),
    ],
)
def test_bad_settings_raise_naming_the_setting(small, change, name):
    with pytest.raises(ValueError, match=name):
        spg.solve(small, SHORT._replace(**change))


def test_initial_parameters_of_the_wrong_shape_are_rejected(small):
    with pytest.raises(ValueError, match="θ0 must have shape"):
        spg.solve(small, SHORT, θ0=jnp.zeros((3, 5, 12, 2)))


def test_a_price_grid_that_does_not_bracket_clearing_is_rejected():
    # above 1/β - 1 everybody saves at every node: S(r) > 0 on the whole grid
    economy = create_huggett("book", **{**TINY, "r_min": 0.045, "r_max": 0.06})
    with pytest.raises(ValueError, match="does not bracket market clearing"):
        spg.solve(huggett_spg(economy), SHORT)


def test_simulate_checks_its_sizes(short_run):
    with pytest.raises(ValueError, match="N must lie"):
        spg.simulate(short_run.model, short_run.θ, jax.random.PRNGKey(0), 5, 10, start=short_run.state)
    with pytest.raises(ValueError, match="T must be"):
        spg.simulate(short_run.model, short_run.θ, jax.random.PRNGKey(0), 2, 0)


def test_a_nan_price_counts_as_off_the_grid():
    """A NaN price must never pass for a price inside the grid (the verdict counts clips)."""
    _, outside = spg.locate_prices((jnp.linspace(0.01, 0.06, 6),), jnp.array([jnp.nan]))
    assert bool(outside)
