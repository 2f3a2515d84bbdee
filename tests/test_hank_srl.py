"""HANK's SPG plug-in: the firm's gradient is the Phillips curve, the households' gradient
sees the firm only through prices, and markets clear inside the rollout."""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlteach.economies.hank.economy import create_hank, dividends, transfers
from srlteach.economies.hank.accuracy import phillips_curve_residual_at
from srlteach.economies.hank.srl import INFLATION_BOUND, SPG_BOOK, Firm, hank_spg, household_choices, with_terminal_value
from srlteach.economies.hank.steady_state import steady_state
from srlteach.learning import spg

T = 6  # dates of the known path; the firm's table has one z node per date (and one at T)


class Dated(NamedTuple):
    """The aggregate state of the known-path economy: the date, and what the firm observes."""

    t: jax.Array
    log_z: jax.Array
    e: jax.Array
    i: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KnownPath(spg.MultiAgentEconomy):
    """HANK's firm alone on a given path of aggregates (Π_t, Y_t, r_t, w, z_t), t = 0, …, T.

    At date t the firm observes log z_t = the t-th node of its z grid, i and w at the first
    nodes of theirs, so its table entry [t, 0, 0] is its inflation at date t.
    """

    firm: Firm
    Π: jax.Array  # (T + 1,) aggregate inflation (data for the firm)
    Y: jax.Array
    r: jax.Array

    price_names = ("i_next", "w")

    @property
    def agents(self):
        return {"firm": self.firm}

    def initial_aggregate(self, key):
        e = self.firm.economy
        return Dated(jnp.asarray(0), e.log_z_grid[0], jnp.asarray(0.0), e.i_grid[0])

    def aggregate_shocks(self, key, shape):
        return jnp.zeros(shape)

    def next_aggregate(self, a, ε, prices):
        e = self.firm.economy
        return Dated(a.t + 1, e.log_z_grid[a.t + 1], a.e, a.i)

    def prices(self, table, a, g):
        e = self.firm.economy
        p = jnp.stack([e.i_grid[0], e.w_grid[0]])
        location, outside = spg.locate_prices((e.i_grid, e.w_grid), p)
        return spg.Prices(p, location, jnp.zeros(()), outside, {"Π": self.Π[a.t], "Y": self.Y[a.t], "r": self.r[a.t]})

    def check_policy(self, table):
        pass


def _economy():
    jax.config.update("jax_enable_x64", True)
    return create_hank("book", n_z=T + 1)


def _known_path(economy, Π, Y, r):
    model = KnownPath(Firm(economy, jnp.zeros(())), jnp.asarray(Π), jnp.asarray(Y), jnp.asarray(r))
    table = jnp.zeros((economy.log_z_grid.size, economy.i_grid.size, economy.w_grid.size)).at[:, 0, 0].set(jnp.asarray(Π))
    return model, {"firm": table}


def _gradient(model, table):
    g0 = model.initial_distribution()
    start = spg.initial_state(model, 1, jax.random.PRNGKey(0))
    value, gradient, _ = spg.value_and_gradient(model, table, start.g, start.a, jax.random.PRNGKey(1), T, spg.objective_distribution(model))
    assert g0["firm"].tolist() == [1.0, 0.0]
    return value, np.asarray(gradient["firm"][:T, 0, 0])


def _phillips_residuals(economy, Π, Y, r):
    """NKPC residual at t = 0..T-1 on the path (deterministic: E_t is the path's value)."""
    z, w, θ, ε = np.exp(np.asarray(economy.log_z_grid)), float(economy.w_grid[0]), economy.θ, economy.ε
    t = np.arange(T)
    return Π[t] * (1 + Π[t]) - ε / θ * (w / z[t] - (ε - 1) / ε) - Y[t + 1] / Y[t] * Π[t + 1] * (1 + Π[t + 1]) / (1 + r[t + 1])


def _path_satisfying_phillips_curve(economy):
    """Π_t = 2%, r_t from 1% to 3%, and Y_{t+1} chosen so that the Phillips curve holds at every t < T."""
    z, w, θ, ε = np.exp(np.asarray(economy.log_z_grid)), float(economy.w_grid[0]), economy.θ, economy.ε
    Π, r, Y = np.full(T + 1, 0.02), np.linspace(0.01, 0.03, T + 1), np.ones(T + 1)
    for t in range(T):
        today = Π[t] * (1 + Π[t]) - ε / θ * (w / z[t] - (ε - 1) / ε)
        Y[t + 1] = Y[t] * today * (1 + r[t + 1]) / (Π[t + 1] * (1 + Π[t + 1]))
    return Π, Y, r


def test_firm_gradient_vanishes_where_the_phillips_curve_holds():
    economy = _economy()
    Π, Y, r = _path_satisfying_phillips_curve(economy)
    assert np.abs(_phillips_residuals(economy, Π, Y, r)).max() < 1e-15
    _, gradient = _gradient(*_known_path(economy, Π, Y, r))
    scale = economy.θ * Y[:T]  # the gradient's terms are of this size
    assert np.abs(gradient / scale).max() < 1e-12


def test_firm_gradient_is_the_discounted_sum_of_phillips_curve_residuals():
    """On any path, with the firm at the symmetric point (Π_j = Π), the gradient with respect to
    Π_j,t is -Σ_{s≥t} Λ_{0→s} θ Y_s res_s / (1 + Π_t): zero iff the residuals vanish."""
    economy = _economy()
    rng = np.random.default_rng(0)
    Π, Y, r = rng.uniform(-0.02, 0.03, T + 1), rng.uniform(0.8, 1.2, T + 1), rng.uniform(0.01, 0.04, T + 1)
    residual = _phillips_residuals(economy, Π, Y, r)
    Λ_0 = np.concatenate([[1.0], np.cumprod(1 / (1 + r[1:T]))])  # Λ_{0→s}, s = 0..T-1
    terms = Λ_0 * economy.θ * Y[:T] * residual
    expected = -np.cumsum(terms[::-1])[::-1] / (1 + Π[:T])
    _, gradient = _gradient(*_known_path(economy, Π, Y, r))
    np.testing.assert_allclose(gradient, expected, rtol=1e-10, atol=1e-12 * economy.θ)


def _exact_firm_objective(economy, Π_j, Π, Y, r):
    """The firm's own objective along the path, written out: φ_t = φ_{t-1}(1 + Π_j,t)/(1 + Π_t),
    profits (φ^(1-ε) - (w/z) φ^(-ε)) Y - (θ/2) Π_j² Y discounted by Λ_{0→t}, plus the terminal
    value's first-order term Λ_{0→T} θ Π_T (1 + Π_T) Y_T log φ_{T-1}."""
    z, w, θ, ε = jnp.exp(economy.log_z_grid), economy.w_grid[0], economy.θ, economy.ε
    log_φ = jnp.cumsum(jnp.log1p(Π_j) - jnp.log1p(Π[:T]))
    φ = jnp.exp(log_φ)
    Λ_0 = jnp.concatenate([jnp.ones(1), jnp.cumprod(1 / (1 + r[1:]))])  # Λ_{0→s}, s = 0..T
    profits = (φ ** (1 - ε) - w / z[:T] * φ ** (-ε) - θ / 2 * Π_j**2) * Y[:T]
    return jnp.sum(Λ_0[:T] * profits) + Λ_0[T] * θ * Π[T] * (1 + Π[T]) * Y[T] * log_φ[-1]


def test_firm_gradient_equals_the_derivative_of_its_own_objective():
    """Against jax.grad of the objective written out independently, and against central
    finite differences of the engine's own objective."""
    economy = _economy()
    rng = np.random.default_rng(1)
    Π, Y, r = rng.uniform(-0.02, 0.03, T + 1), rng.uniform(0.8, 1.2, T + 1), rng.uniform(0.01, 0.04, T + 1)
    model, table = _known_path(economy, Π, Y, r)
    value, gradient = _gradient(model, table)
    exact = jax.grad(_exact_firm_objective, argnums=1)(economy, jnp.asarray(Π[:T]), jnp.asarray(Π), jnp.asarray(Y), jnp.asarray(r))
    np.testing.assert_allclose(gradient, exact, rtol=1e-10)
    assert value == pytest.approx(float(_exact_firm_objective(economy, jnp.asarray(Π[:T]), *map(jnp.asarray, (Π, Y, r)))), rel=1e-12)
    h = 1e-6
    for t in (0, T // 2, T - 1):
        up, down = (_gradient(model, {"firm": table["firm"].at[t, 0, 0].add(s)})[0] for s in (h, -h))
        assert (up - down) / (2 * h) == pytest.approx(gradient[t], rel=1e-6)


def test_firm_policy_is_bounded():
    economy = _economy()
    firm = Firm(economy, jnp.zeros(()))
    θ = jnp.array([-1e3, -1.0, 0.0, 1.0, 1e3])
    Π = firm.actions(θ)
    assert float(Π.min()) >= -INFLATION_BOUND and float(Π.max()) <= INFLATION_BOUND
    assert float(firm.actions(jnp.zeros(()))) == 0.0


# ---------------------------------------------------------------------------------------
# The whole economy
# ---------------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def small():
    """A small HANK economy in float64 and its steady state."""
    jax.config.update("jax_enable_x64", True)
    economy = create_hank("book", n_b=30, n_i=5, n_w=5, n_z=3)
    steady = steady_state(economy)
    return economy, steady, hank_spg(economy, steady)


def test_households_see_the_firm_only_through_prices(small):
    """Along a fixed path the households' gradient does not depend on the firm's table; the
    engine's gradient is `jax.grad` of the backward recursion for both agents."""
    _, _, model = small
    table = model.actions(model.initial_parameters())
    start = spg.initial_state(model, 4, jax.random.PRNGKey(0))
    d0 = spg.objective_distribution(model)
    _, gradient, path = spg.value_and_gradient(model, table, start.g, start.a, jax.random.PRNGKey(1), 40, d0)
    reference = jax.grad(spg.backward_value, argnums=1)(model, table, path, d0)
    for engine, by_grad in zip(jax.tree.leaves(gradient), jax.tree.leaves(reference)):
        np.testing.assert_allclose(engine, by_grad, rtol=1e-9, atol=1e-13)
    other = {**table, "firm": table["firm"] + 0.01}
    moved = jax.grad(spg.backward_value, argnums=1)(model, other, path, d0)
    for a, b in zip(jax.tree.leaves(reference["households"]), jax.tree.leaves(moved["households"])):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(reference["firm"], moved["firm"])


def test_bond_market_clears_inside_the_rollout(small):
    """At the initial policy, from the steady state with shocks: the bond residual stays small
    relative to B, no price leaves its grid, nothing is NaN."""
    economy, _, model = small
    path = spg.simulate(model, model.initial_parameters(), jax.random.PRNGKey(2), 8, 60)
    residual = np.abs(np.asarray(path.prices.residual["bonds"]))
    assert np.isfinite(residual).all() and np.isfinite(np.asarray(path.prices.values)).all()
    assert residual.mean() < 5e-3 and residual.max() < 0.05
    assert not np.asarray(path.prices.out_of_grid).any()
    # the recorded outcomes obey the model's blocks: Fisher, the Taylor rule one period on
    Π, i, r = (np.asarray(path.prices.outcomes[k]) for k in ("Π", "i", "r"))
    np.testing.assert_allclose(1 + r, (1 + i) / (1 + Π), rtol=1e-12)
    e_t = np.asarray(path.aggregate.e)
    np.testing.assert_allclose(1 + i[1:], economy.R_bar * (1 + Π[:-1]) ** economy.φ * np.exp(e_t[:-1]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(path.prices.values[..., 0]), (economy.R_bar * (1 + Π) ** economy.φ * np.exp(e_t)) - 1, rtol=1e-12)


def test_the_spec_initial_policy_cannot_clear_the_bond_market(small):
    """models.md's "save half, work 1.5": at the steady-state distribution its bond demand is
    flat in the wage and far below B (the reason for `steady_policy`, see its docstring)."""
    economy, steady, _ = small

    g, y = steady.g, economy.y_grid
    action = {"save": jnp.full(g.shape, 0.5), "hours": jnp.full(g.shape, 1.5)}
    demand = []
    for w in np.asarray(economy.w_grid):
        L = float(jnp.sum(g * y * 1.5))
        τ = transfers(economy, dividends(economy, L, w, 1.0, steady.Π), steady.r)
        demand.append(float(jnp.sum(g * household_choices(economy, action, steady.r, w, τ).b_next)) / economy.B)
    demand = np.array(demand)
    assert 0.5 < demand.min() and demand.max() < 0.75
    assert demand.max() - demand.min() < 0.01


def test_same_seed_same_numbers(small):
    _, _, model = small
    config = spg.SPGConfig(N=4, T=30, η0=5e-3, warmup=2, max_epochs=6, chunk=3, tol=0.0, dtype="float64")
    first, second = (spg.solve(model, config) for _ in range(2))
    for a, b in zip(jax.tree.leaves(first.θ), jax.tree.leaves(second.θ)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.history["objective"], second.history["objective"])


def test_grids_that_miss_the_steady_state_are_refused():
    jax.config.update("jax_enable_x64", True)
    economy = create_hank("book", n_b=30, n_i=5, n_w=5, n_z=3)
    steady = steady_state(economy)
    with pytest.raises(ValueError, match="the w grid .* raise w_max"):
        hank_spg(create_hank("book", n_b=30, n_i=5, n_w=5, n_z=3, w_min=0.5, w_max=0.85), steady)
    with pytest.raises(ValueError, match="the i grid .* lower i_min"):
        hank_spg(create_hank("book", n_b=30, n_i=5, n_w=5, n_z=3, i_min=0.03, i_max=0.06), steady)


def _settled(model, config):
    """Train `model` and simulate 100 more periods from where training ended: the Path."""
    result = spg.solve(model, config)
    assert result.converged
    return result, spg.simulate(result.model, result.θ, jax.random.PRNGKey(7), 2, 100, start=result.state, keep_distributions=True)


def test_without_aggregate_risk_the_trained_economy_sits_near_the_steady_state():
    """Shocks off: the trained economy settles at a point (no cycles) where the Phillips curve
    holds and (Π, r, w) are close to the EGM steady state. The rest of the gap (8 bp in r,
    0.16 pp in Π, measured) is the households' truncation at T = 182: without a terminal value
    they save a little less than the infinitely lived EGM household, and r rises to clear the
    bonds; with the steady state's value as v_T (`with_terminal_value`) it shrinks tenfold."""
    jax.config.update("jax_enable_x64", True)
    economy = create_hank("book", n_b=30, n_i=5, n_w=5, n_z=3, ν_z=0.0, ν_e=0.0)
    steady = steady_state(economy)
    config = SPG_BOOK._replace(N=2)
    gaps = {}
    for terminal in (False, True):
        model = hank_spg(economy, steady)
        result, path = _settled(with_terminal_value(model, steady) if terminal else model, config)
        Π, r, w = (np.asarray(x)[-50:] for x in (path.prices.outcomes["Π"], path.prices.outcomes["r"], path.prices.values[..., 1]))
        assert max(np.std(Π), np.std(r), np.std(w)) < 1e-5  # a stationary point, not a cycle
        assert np.abs(np.asarray(path.prices.residual["bonds"])[-50:]).max() < 1e-3
        g, a = jax.tree.map(lambda x: x[-1, 0], path.g["households"]), jax.tree.map(lambda x: x[-1, 0], path.aggregate)
        assert abs(float(phillips_curve_residual_at(result.model, result.model.actions(result.θ), g, a))) < 1e-4
        gaps[terminal] = (abs(Π.mean() - steady.Π), abs(r.mean() - steady.r), abs(w.mean() / steady.w - 1))
    assert gaps[False][0] < 0.003 and gaps[False][1] < 0.0015 and gaps[False][2] < 0.005
    assert gaps[True][0] < 0.0005 and gaps[True][1] < 0.0003 and gaps[True][2] < 0.001
    assert gaps[True][0] < gaps[False][0] / 4 and gaps[True][1] < gaps[False][1] / 4
