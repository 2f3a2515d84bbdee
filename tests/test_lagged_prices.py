"""Policies that also condition on last period's prices (`srlteach.learning.lagged_prices`).

The key property: a lagged policy whose table does not vary along the lag axis is the
current-price policy, in every rollout, objective, gradient and simulation. Checked in
float64 on tiny Huggett and Krusell–Smith economies.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.economies.huggett import create_huggett, huggett_spg
from srlteach.economies.krusell_smith import SPG_BOOK, create_krusell_smith, krusell_smith_spg, log_z_path, simulate_aggregates
from srlteach.learning.lagged_prices import LaggedState, lagged_prices

TINY_KS = dict(n_b=12, n_r=4, n_w=5)
TINY_HUGGETT = dict(n_b=12, n_z=3, n_r=5)


@pytest.fixture(scope="module")
def tiny_ks():
    model = krusell_smith_spg(create_krusell_smith("book", **TINY_KS))
    return model, lagged_prices(model, [jnp.linspace(0.02, 0.07, 3)], p0=[0.045])


@pytest.fixture(scope="module")
def tiny_huggett():
    model = huggett_spg(create_huggett("book", **TINY_HUGGETT))
    return model, lagged_prices(model, [jnp.linspace(0.0, 0.06, 4)], p0=[0.02])


def perturbed(model, seed=1):
    """A policy with savings off the nodes (so that lottery weights are interior)."""
    θ = model.initial_parameters()
    return θ + 0.3 * jax.random.normal(jax.random.PRNGKey(seed), θ.shape)


@pytest.fixture(params=["krusell_smith", "huggett"])
def pair(request, tiny_ks, tiny_huggett):
    return {"krusell_smith": tiny_ks, "huggett": tiny_huggett}[request.param]


def test_expand_and_collapse_are_inverse_and_lay_out_the_table(pair):
    model, lagged = pair
    θ = perturbed(model)
    Θ = lagged.expand(θ)
    np.testing.assert_array_equal(lagged.collapse(Θ), θ)
    table, lagged_table = model.actions(θ), lagged.actions(Θ)
    m = lagged.n_aggregate_axes
    assert lagged_table.shape == table.shape[:m] + lagged.lag_shape + table.shape[m:]
    for k in range(lagged.lag_shape[0]):
        np.testing.assert_array_equal(jnp.take(lagged_table, k, axis=m), table)


def test_a_table_that_ignores_the_lag_is_the_current_price_policy(pair):
    """Same shocks, same start: the lagged rollout of expand(θ) is the rollout of θ."""
    model, lagged = pair
    θ = perturbed(model)
    start, start_lagged = (spg.initial_state(m, 3, jax.random.PRNGKey(2)) for m in (model, lagged))
    d0 = spg.uniform_distribution(model)
    rollout = jax.jit(spg.rollout, static_argnums=5)
    value, path = rollout(model, model.actions(θ), start.g, start.a, jax.random.PRNGKey(3), 15, d0)
    value_l, path_l = rollout(lagged, lagged.actions(lagged.expand(θ)), start_lagged.g, start_lagged.a, jax.random.PRNGKey(3), 15, d0)
    np.testing.assert_allclose(value_l, value, rtol=1e-13)
    np.testing.assert_allclose(path_l.prices.values, path.prices.values, rtol=1e-12, atol=1e-15)
    for name in path.aggregates:
        np.testing.assert_allclose(path_l.aggregates[name], path.aggregates[name], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(path_l.aggregate.a, path.aggregate)  # the same shock paths


def test_the_gradient_of_a_collapsed_table_sums_to_the_current_price_gradient(pair):
    """∂L/∂(lag slice k) adds up, over k, to ∂L/∂table of the current-price policy."""
    model, lagged = pair
    θ = perturbed(model)
    start, start_lagged = (spg.initial_state(m, 2, jax.random.PRNGKey(4)) for m in (model, lagged))
    d0 = spg.uniform_distribution(model)
    value_and_gradient = jax.jit(spg.value_and_gradient, static_argnums=5)
    _, G, _ = value_and_gradient(model, model.actions(θ), start.g, start.a, jax.random.PRNGKey(5), 10, d0)
    _, G_l, _ = value_and_gradient(lagged, lagged.actions(lagged.expand(θ)), start_lagged.g, start_lagged.a, jax.random.PRNGKey(5), 10, d0)
    m = lagged.n_aggregate_axes
    assert float(jnp.abs(G).max()) > 0
    np.testing.assert_allclose(G_l.sum(axis=m), G, rtol=1e-10, atol=1e-14 * float(jnp.abs(G).max()))


def test_the_remembered_price_is_last_periods_price(tiny_huggett):
    model, lagged = tiny_huggett
    path = spg.simulate(lagged, lagged.expand(perturbed(model)), jax.random.PRNGKey(6), N=3, T=12)
    np.testing.assert_array_equal(path.aggregate.p_lag[1:, :, 0], path.prices.values[:-1, :, 0])
    np.testing.assert_array_equal(path.aggregate.p_lag[0, :, 0], jnp.full(3, 0.02))  # p0


def test_the_lag_selects_a_slice_of_the_table(tiny_ks):
    """At p_{t-1} on lag node k, the lagged policy is the current-price policy of slice k;
    halfway between two nodes it is their average."""
    model, lagged = tiny_ks
    Θ = jnp.stack([perturbed(model, seed) for seed in range(3)])
    table = lagged.actions(Θ)
    p = model.prices_at(jnp.asarray(5.0), jnp.asarray(0.01))
    grid = lagged.lag_grids[0]
    actions = []
    for r_lag in (grid[0], grid[1], (grid[1] + grid[2]) / 2):
        a = LaggedState(jnp.asarray(0.01), jnp.asarray([r_lag]))
        actions.append(spg.policy(lagged, table, a, lagged.with_lag(a, p)))
    slice_1 = spg.policy(model, model.actions(Θ[1]), 0.01, p)
    np.testing.assert_allclose(actions[0], spg.policy(model, model.actions(Θ[0]), 0.01, p), rtol=1e-13)
    np.testing.assert_allclose(actions[1], slice_1, rtol=1e-13)
    slice_2 = spg.policy(model, model.actions(Θ[2]), 0.01, p)
    np.testing.assert_allclose(actions[2], (slice_1 + slice_2) / 2, rtol=1e-12)


def test_krusell_smith_simulation_with_a_collapsed_lag(tiny_ks):
    model, lagged = tiny_ks
    θ = perturbed(model)
    log_z = log_z_path(model.economy, jax.random.PRNGKey(7), 40)
    plain, _ = simulate_aggregates(model, θ, log_z)
    with_lag, _ = simulate_aggregates(lagged, lagged.expand(θ), log_z)
    for name in ("K", "C", "r", "w"):
        np.testing.assert_allclose(getattr(with_lag, name), getattr(plain, name), rtol=1e-12)


def test_same_seed_same_numbers(tiny_ks):
    _, lagged = tiny_ks
    config = SPG_BOOK._replace(N=4, T=30, max_epochs=20, chunk=10, dtype="float64")
    first, second = spg.solve(lagged, config), spg.solve(lagged, config)
    np.testing.assert_array_equal(first.θ, second.θ)
    np.testing.assert_array_equal(first.history["objective"], second.history["objective"])
    # training moved the lag slices apart: the lag is a real state
    assert float(jnp.abs(first.θ[0] - first.θ[-1]).max()) > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lag_grids=[jnp.array([0.04])], p0=[0.04]), "at least 2 nodes"),
        (dict(lag_grids=[jnp.array([0.05, 0.04, 0.06])], p0=[0.05]), "strictly increasing"),
        (dict(lag_grids=[jnp.linspace(0.02, 0.07, 3)], p0=[0.08]), "must lie on its lag grid"),
        (dict(lag_grids=[jnp.linspace(0.02, 0.07, 3)], p0=[0.04], lagged=(2,)), "distinct indices of the 2 prices"),
        (dict(lag_grids=[jnp.linspace(0.02, 0.07, 3)] * 2, p0=[0.04, 0.04], lagged=(0, 0)), "distinct indices"),
        (dict(lag_grids=[jnp.linspace(0.02, 0.07, 3)], p0=[0.04], lagged=(0, 1)), "one price per lag grid"),
        (dict(lag_grids=[jnp.linspace(0.02, 0.07, 3)], p0=[0.04, 1.2]), "p0 must hold one remembered price"),
        (dict(lag_grids=[], p0=[]), "at least one grid"),
    ],
)
def test_bad_settings_raise(tiny_ks, kwargs, match):
    model, _ = tiny_ks
    with pytest.raises(ValueError, match=match):
        lagged_prices(model, **kwargs)


def test_lagged_policy_explorer(tiny_ks):
    """With a lagged table that ignores the lag, the explorer's differences are zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from srlteach.presentation.explorers import lagged_policy_explorer

    model, lagged = tiny_ks
    θ = perturbed(model)
    fig = lagged_policy_explorer(lagged, lagged.expand(θ), model, θ, K=5.0, log_z=0.01, Δr=0.004, y_index=1)
    differences = [line.get_ydata() for line in fig.axes[1].lines[:3]]  # the zero line comes last
    assert len(differences) == 3
    np.testing.assert_allclose(np.concatenate(differences), 0.0, atol=1e-12)
    plt.close(fig)
    with pytest.raises(ValueError, match="Δr must be ≥ 0"):
        lagged_policy_explorer(lagged, lagged.expand(θ), model, θ, Δr=-0.01)
