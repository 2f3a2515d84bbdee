"""The SPG engine with several learning agents, on the two-agent test economy
(tests/two_agent_economy.py): households and price-setting firms learning at once.

Each agent's gradient is the gradient of its own objective with respect to its own table,
checked against autodiff of the backward recursion and finite differences; another agent's
table reaches it only through the (stop-gradient) aggregates it sees; training reaches the
answers known independently (closed form for the households, Riccati for the firms).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from two_agent_economy import Households, create_two_agent_economy, firm_policy, household_hours

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.learning.spg.engine import _value_and_gradient

T = 15


@pytest.fixture(scope="module")
def economy():
    return create_two_agent_economy(n_p=9)


@pytest.fixture(scope="module")
def perturbed(economy):
    """A table off the optimum (so that no price choice sits on a node) and 3 paths."""
    θ = jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.PRNGKey(1), x.shape), economy.initial_parameters())
    table = economy.actions(θ)
    start = spg.initial_state(economy, 3, jax.random.PRNGKey(2))
    d0 = spg.uniform_distribution(economy)
    value, path = spg.rollout(economy, table, start.g, start.a, jax.random.PRNGKey(3), T, d0)
    return table, start, d0, value, path


def test_forward_and_backward_objectives_are_equal(economy, perturbed):
    table, _, d0, value, path = perturbed
    assert float(spg.backward_value(economy, table, path, d0)) == pytest.approx(float(value), rel=1e-13)


def test_firms_discount_by_the_simulated_interest_rate(economy, perturbed):
    """The firms' objective uses Λ_{t→t+1} = 1/(1 + r_{t+1}) along each path, not a constant β."""
    table, start, d0, _, path = perturbed
    values = _value_and_gradient(economy, table, start.g, start.a, jax.random.PRNGKey(3), T, d0)[3]
    # the households' objective by hand: n is constant at each wage node, the grid has one point
    n = table["households"][:, 0]
    w = path.prices.values[..., 0]  # (T, N)
    hours = jnp.where(w == economy.households.w_grid[0], n[0], n[1])
    u = w * hours - hours ** (1 + economy.households.η) / (1 + economy.households.η)
    by_hand = jnp.mean(jnp.sum(economy.households.β ** jnp.arange(T)[:, None] * u, axis=0))
    assert float(values["households"]) == pytest.approx(float(by_hand), rel=1e-13)
    # the firms' discount factors Π_{s<t} 1/(1 + r_{s+1}) differ across paths with different z
    r = path.prices.outcomes["r"]
    D = jnp.cumprod(1 / (1 + r[1:]), axis=0)
    assert float(jnp.ptp(D[-1])) > 1e-3


def test_each_agent_gets_the_gradient_of_its_own_objective(economy, perturbed):
    """Engine gradient = jax.grad of the backward recursion = central differences, per agent,
    with the simulated prices and outcomes held fixed."""
    table, start, d0, value, path = perturbed
    value2, gradient, _ = spg.value_and_gradient(economy, table, start.g, start.a, jax.random.PRNGKey(3), T, d0)
    assert float(value2) == pytest.approx(float(value), rel=1e-13)
    autodiff = jax.jit(jax.grad(lambda t: spg.backward_value(economy, t, path, d0)))(table)
    for name in ("households", "firms"):
        np.testing.assert_allclose(gradient[name], autodiff[name], rtol=1e-10, atol=1e-15)
        assert float(jnp.abs(gradient[name]).max()) > 1e-3  # not a comparison between zeros
    h = 1e-6
    for name in ("households", "firms"):
        direction = jax.random.normal(jax.random.PRNGKey(10), table[name].shape)
        shifted = lambda s: spg.backward_value(economy, {**table, name: table[name] + s * direction}, path, d0)
        fd = (shifted(h) - shifted(-h)) / (2 * h)
        assert float(jnp.vdot(gradient[name], direction)) == pytest.approx(float(fd), rel=1e-6)


def test_another_agents_table_reaches_an_agent_only_through_the_aggregates(economy, perturbed):
    table, start, d0, _, path = perturbed
    firms_gradient = lambda t, path: jax.grad(lambda f: spg.backward_value(economy, {**t, "firms": f}, path, d0))(t["firms"])
    other_households = {**table, "households": table["households"] * 1.3}
    # along the same path (same prices and outcomes) the households' table does not matter to firms
    np.testing.assert_array_equal(firms_gradient(table, path), firms_gradient(other_households, path))
    # re-simulated, it moves output Y_t (the households' labour) and with it the firms' gradient ...
    _, new_path = spg.rollout(economy, other_households, start.g, start.a, jax.random.PRNGKey(3), T, d0)
    assert not np.allclose(new_path.prices.outcomes["Y"], path.prices.outcomes["Y"])
    moved = firms_gradient(other_households, new_path)
    assert not np.allclose(moved, firms_gradient(table, path))
    # ... and only through Y: the old path with the new output gives the same gradient
    old_with_new_Y = path._replace(prices=path.prices._replace(outcomes={**path.prices.outcomes, "Y": new_path.prices.outcomes["Y"]}))
    np.testing.assert_allclose(firms_gradient(table, old_with_new_Y), moved, rtol=1e-12, atol=1e-15)


def test_named_residuals_and_each_agents_objective_are_recorded(economy):
    config = spg.SPGConfig(N=4, T=10, max_epochs=3, tol=0, dtype="float64")
    history = spg.solve(economy, config).history
    assert {"residual", "residual_labour", "out_of_grid", "w_mean", "value_households", "value_firms"} <= set(history)
    np.testing.assert_allclose(history["objective"], history["value_households"] + history["value_firms"], rtol=1e-12)
    path = spg.simulate(economy, economy.initial_parameters(), jax.random.PRNGKey(0), 4, 10)
    report = spg.clearing_report(economy, path)
    assert report.largest_residual == 0 and report.clipped_share == 0


def test_training_reaches_the_known_answers():
    """Households: n*(w) = w^(1/η) at the wage nodes. Firms: the Riccati policy
    p′ = λ(z) p + k(z), on the prices firms actually hold (Young's lottery on a grid of
    spacing h bends the learned policy between nodes, so the check is against h), and at
    least as good as that policy in the engine's own objective up to 0.5%."""
    economy = create_two_agent_economy(n_p=31)
    config = spg.SPGConfig(N=64, T=60, η0=0.05, warmup=20, plateau=20, decay_rate=0.5, decay_steps=150, max_epochs=1000, tol=1e-6, dtype="float64")
    result = spg.solve(economy, config)
    table = result.model.actions(result.θ)
    np.testing.assert_allclose(table["households"][:, 0], household_hours(economy), rtol=1e-6)

    λ, k = firm_policy(economy)
    p = np.asarray(economy.firms.p_grid)
    riccati = λ[:, None] * p + k[:, None]
    start = spg.initial_state(economy, 64, jax.random.PRNGKey(5))
    d0 = spg.uniform_distribution(economy)
    _, path = spg.rollout(economy, table, start.g, start.a, jax.random.PRNGKey(6), 60, d0, keep_distributions=True)
    held = np.asarray(path.g["firms"][20:]).sum(axis=(0, 1))
    held /= held.sum()  # where firms' prices sit after the first 20 periods
    h = p[1] - p[0]
    for z in range(2):
        assert float(held @ np.abs(np.asarray(table["firms"][z]) - riccati[z])) < 0.1 * h
        slope, intercept = np.polyfit(p, np.asarray(table["firms"][z]), 1)
        assert abs(slope - λ[z]) < 0.03 and abs(intercept - k[z]) < 0.01

    values = lambda t: _value_and_gradient(economy, t, start.g, start.a, jax.random.PRNGKey(6), 60, d0)[3]["firms"]
    learned, known = float(values(table)), float(values({**table, "firms": jnp.asarray(riccati)}))
    assert learned >= known - 0.005 * abs(known)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HouseholdsWithNextPeriodReturn(Households):
    """Households paid a bonus on hours that is only known next period: 0.1 n w(z_{t+1})."""

    uses_next_aggregate = True

    def individual(self, n, a, prices, a_next):
        step = super().individual(n, a, prices)
        bonus = 0.1 * n * self.w_grid[a_next]
        return step._replace(reward=step.reward + bonus, outputs={**step.outputs, "z_next": jnp.full_like(n, a_next)})


def test_a_transition_can_see_next_periods_aggregate_state(economy):
    """a_{t+1} is drawn before the cross-section moves and handed to agents that ask for it;
    the backward sweep hands them the same a_{t+1}, so the gradient is still exact."""
    households = HouseholdsWithNextPeriodReturn(economy.households.w_grid, economy.households.β, economy.households.η)
    model = economy.__class__(households, economy.firms, economy.Π_z, economy.w, economy.r)
    table = model.actions(jax.tree.map(lambda x: x + 0.2, model.initial_parameters()))
    start = spg.initial_state(model, 3, jax.random.PRNGKey(2))
    d0 = spg.uniform_distribution(model)
    value, path = spg.rollout(model, table, start.g, start.a, jax.random.PRNGKey(3), T, d0)
    next_states = jnp.concatenate([path.aggregate[1:], path.a_final[None]])
    np.testing.assert_array_equal(path.aggregates["z_next"], next_states)
    assert float(spg.backward_value(model, table, path, d0)) == pytest.approx(float(value), rel=1e-13)
    _, gradient, _ = spg.value_and_gradient(model, table, start.g, start.a, jax.random.PRNGKey(3), T, d0)
    autodiff = jax.grad(lambda t: spg.backward_value(model, t, path, d0))(table)
    np.testing.assert_allclose(gradient["households"], autodiff["households"], rtol=1e-10)


def test_lagged_prices_refuse_an_economy_with_several_agents(economy):
    from srlteach.learning.lagged_prices import lagged_prices

    with pytest.raises(ValueError, match="lagged_prices wraps an economy with one learning agent"):
        lagged_prices(economy, (economy.households.w_grid,), [0.8])
