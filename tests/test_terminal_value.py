"""Terminal values v_T for the SPG objective (`with_terminal_value` of each economy).

The paper truncates each path at T with v_T = 0. With a terminal value the objective of a
path is Σ_{t<T} β^t d_tᵀ u_t + β^T d_Tᵀ v_T and the backward sweep starts from v_T. These
tests check the tables against the household solvers, the engine's objective and gradient
with v_T, that a plug-in without a terminal value is unchanged, and that v_T removes most
of the truncation bias of a short horizon.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.solvers.household import egm, policy_value
from srlteach.economies.huggett import create_huggett, huggett_spg
from srlteach.economies.huggett.srl import with_terminal_value as huggett_terminal
from srlteach.economies.krusell_smith import create_krusell_smith, krusell_smith_spg, simulate_aggregates
from srlteach.economies.krusell_smith.srl import with_terminal_value as ks_terminal

TINY_HUGGETT = dict(n_b=12, n_z=3, n_r=5)
TINY_KS = dict(n_b=15, n_r=4, n_w=5)


@pytest.fixture(scope="module")
def huggett_tiny():
    return huggett_spg(create_huggett("book", **TINY_HUGGETT))


@pytest.fixture(scope="module")
def ks_tiny():
    economy = create_krusell_smith("book", **TINY_KS)
    return krusell_smith_spg(economy)


def at_node(grids, values):
    """`Prices` exactly at the node `values` of the price grids."""
    p = jnp.asarray(values, dtype=float)
    location, outside = spg.locate_prices(grids, p)
    assert not bool(outside)
    return spg.Prices(p, location, jnp.zeros(()), outside)


def constant_prices_value(economy, r, income_scale):
    """The reference: EGM and policy evaluation at one pair of constant prices, 1-d chain Π_y."""
    R, income = jnp.full(economy.y_grid.shape, 1 + r), income_scale * economy.y_grid
    policy = egm(economy.b_grid, R, income, economy.Π_y, economy.β, economy.σ)
    return policy_value(policy.b_next, economy.b_grid, R, income, economy.Π_y, economy.β, economy.σ)


# ---------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------


def test_terminal_values_equal_the_household_value_at_the_price_nodes(ks_tiny, huggett_tiny):
    ks = ks_terminal(ks_tiny)
    e = ks.economy
    for k, l in [(0, 0), (1, 3), (3, 4)]:  # r_max = 0.07 > 1/β - 1: the savings cap binds there
        r, w = e.r_grid[k], e.w_grid[l]
        v = ks.terminal_value(jnp.zeros(()), at_node((e.r_grid, e.w_grid), [r, w]))
        np.testing.assert_allclose(v, constant_prices_value(e, r, w), rtol=1e-8)  # EGM stops at |Δc| < 1e-10
    hu = huggett_terminal(huggett_tiny)
    e = hu.economy
    for m, k in [(0, 0), (1, 2), (2, 4)]:
        v = hu.terminal_value(jnp.asarray(m), at_node((e.r_grid,), [e.r_grid[k]]))
        np.testing.assert_allclose(v, constant_prices_value(e, e.r_grid[k], e.z_grid[m]), rtol=1e-8)


def test_stationary_terminal_value_ignores_the_prices(ks_tiny):
    model = ks_terminal(ks_tiny, "stationary")
    e = model.economy
    steady = stationary_equilibrium(e)
    reference = constant_prices_value(e, steady.r, steady.w)
    for p in ([e.r_grid[0], e.w_grid[0]], [0.0437, 1.21]):
        location, _ = spg.locate_prices((e.r_grid, e.w_grid), jnp.asarray(p))
        v = model.terminal_value(jnp.zeros(()), spg.Prices(jnp.asarray(p), location, jnp.zeros(()), False))
        np.testing.assert_allclose(v, reference, rtol=1e-8)


def test_without_a_table_there_is_no_terminal_value(ks_tiny, huggett_tiny):
    assert ks_tiny.terminal is None and huggett_tiny.terminal is None
    with pytest.raises(ValueError, match="at must be"):
        ks_terminal(ks_tiny, "steady")


# ---------------------------------------------------------------------------------------
# The objective and its gradient with v_T
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["huggett", "krusell_smith"])
def tiny_with_terminal(request, huggett_tiny, ks_tiny):
    """A float64 plug-in with v_T at (a_T, p_T), a perturbed policy, and 3 paths of 12 periods."""
    model = huggett_terminal(huggett_tiny) if request.param == "huggett" else ks_terminal(ks_tiny)
    model = spg.in_dtype(model, "float64")
    θ0 = model.initial_parameters()
    θ = θ0 + 0.3 * jax.random.normal(jax.random.PRNGKey(1), θ0.shape)
    start = spg.initial_state(model, 3, jax.random.PRNGKey(2))
    return model, model.actions(θ), start, spg.uniform_distribution(model)


T, KEY = 12, jax.random.PRNGKey(3)  # one horizon and key for all engine tests: compiled once


def test_forward_objective_adds_the_discounted_terminal_value(tiny_with_terminal):
    """With v_T ≡ c the objective rises by exactly β^T c (d_T sums to one)."""
    model, table, start, d0 = tiny_with_terminal
    c = -7.5
    rollout = lambda m: spg.rollout(m, table, start.g, start.a, KEY, T, d0)[0]
    without = rollout(dataclasses.replace(model, terminal=None))
    constant = rollout(dataclasses.replace(model, terminal=jnp.full_like(model.terminal, c)))
    assert float(constant - without) == pytest.approx(model.β**T * c, rel=1e-12)


def test_forward_and_backward_objectives_and_gradient_with_terminal_value(tiny_with_terminal):
    """rollout = backward recursion from v_T = the engine's backward sweep; its gradient is
    jax.grad of the recursion and matches central differences (prices held fixed)."""
    model, table, start, d0 = tiny_with_terminal
    value, path = spg.rollout(model, table, start.g, start.a, KEY, T, d0)
    backward = spg.backward_value(model, table, path, d0)
    assert float(backward) == pytest.approx(float(value), rel=1e-13)
    value2, gradient, _ = spg.value_and_gradient(model, table, start.g, start.a, KEY, T, d0)
    assert float(value2) == pytest.approx(float(value), rel=1e-13)
    autodiff = jax.jit(jax.grad(lambda t: spg.backward_value(model, t, path, d0)))(table)
    np.testing.assert_allclose(gradient, autodiff, rtol=1e-10, atol=1e-15)
    assert float(jnp.abs(gradient).max()) > 1e-4
    h = 1e-6
    for seed in range(2):
        direction = jax.random.normal(jax.random.PRNGKey(10 + seed), table.shape)
        fd = (spg.backward_value(model, table + h * direction, path, d0) - spg.backward_value(model, table - h * direction, path, d0)) / (2 * h)
        assert float(jnp.vdot(gradient, direction)) == pytest.approx(float(fd), rel=1e-6)
    # v_T reaches the gradient: it differs from the gradient without a terminal value
    _, gradient0, _ = spg.value_and_gradient(dataclasses.replace(model, terminal=None), table, start.g, start.a, KEY, T, d0)
    assert float(jnp.abs(gradient - gradient0).max()) > 1e-3 * float(jnp.abs(gradient0).max())


# ---------------------------------------------------------------------------------------
# Without a terminal value nothing changes
# ---------------------------------------------------------------------------------------


@jax.tree_util.register_pytree_node_class
class WithoutHook:
    """A plug-in as it was before terminal values: every attribute of `inner` but `terminal_value`."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        if name in ("terminal_value", "terminal", "inner") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def tree_flatten(self):
        return (self.inner,), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)


def test_no_terminal_value_is_bit_identical_to_a_plug_in_without_the_hook(tiny_with_terminal):
    """terminal=None: the rollout (value and every recorded array) and the objective, gradient
    and paths of the trainer's `value_and_gradient` are those of a plug-in without the hook,
    bit for bit (the chapters, re-executed, print the same numbers)."""
    model, table, start, d0 = tiny_with_terminal
    new, old = dataclasses.replace(model, terminal=None), WithoutHook(dataclasses.replace(model, terminal=None))
    assert not hasattr(old, "terminal_value")
    for run in (spg.rollout, spg.value_and_gradient):
        ours, before = (run(m, table, start.g, start.a, KEY, T, d0) for m in (new, old))
        assert ours[-1].prices_final is None  # no extra clearing at T without a terminal value
        assert jax.tree.structure(ours) == jax.tree.structure(before)
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(before)):
            np.testing.assert_array_equal(a, b)


def test_lagged_prices_pass_the_terminal_value_through(ks_tiny):
    """A lagged-prices model built on a plug-in with v_T has the same v_T (it does not depend
    on p_{T-1}): with a policy that ignores the lag, its objective is the plug-in's."""
    from srlteach.learning.lagged_prices import lagged_prices

    model = spg.in_dtype(ks_terminal(ks_tiny), "float64")
    e = model.economy
    lagged = lagged_prices(model, (e.r_grid,), [float(e.r_grid[1])])
    assert lagged.terminal is model.terminal
    θ = model.initial_parameters() + 0.3 * jax.random.normal(jax.random.PRNGKey(1), model.initial_parameters().shape)
    start = spg.initial_state(model, 3, jax.random.PRNGKey(2))
    start_lagged = spg.initial_state(lagged, 3, jax.random.PRNGKey(2))
    d0 = spg.uniform_distribution(model)
    value = spg.rollout(model, model.actions(θ), start.g, start.a, KEY, T, d0)[0]
    value_lagged = spg.rollout(lagged, lagged.actions(lagged.expand(θ)), start_lagged.g, start_lagged.a, KEY, T, d0)[0]
    assert float(value_lagged) == pytest.approx(float(value), rel=1e-12)
    without = spg.rollout(dataclasses.replace(lagged, inner=dataclasses.replace(model, terminal=None)),
                          lagged.actions(lagged.expand(θ)), start_lagged.g, start_lagged.a, KEY, T, d0)[0]
    assert abs(float(value_lagged - without)) > 1e-3


# ---------------------------------------------------------------------------------------
# What it is for: the truncation bias
# ---------------------------------------------------------------------------------------

SHORT_HORIZON = spg.SPGConfig(N=1, T=50, η0=0.05, warmup=50, decay_rate=0.5, decay_steps=50, max_epochs=300, tol=1e-3)


def test_terminal_value_removes_the_truncation_bias():
    """Without aggregate risk and a short horizon (T = 50, β^T = 0.08) SRL's capital falls
    far short of the stationary equilibrium of the same lottery problem (VFI): about -14%
    (measured). With v_T at the prices of date T it lands within a fraction of a percent."""
    economy = create_krusell_smith("book", ν_z=0.0, n_b=20, n_r=6, n_w=6)
    steady = stationary_equilibrium(economy, method="vfi", tol=1e-6)
    K_star, model = steady.K, krusell_smith_spg(economy, g0=steady.g)

    def capital(model):
        result = spg.solve(model, SHORT_HORIZON)
        path, _ = simulate_aggregates(result.model, result.θ, jnp.zeros(300, jnp.float32), model.g0)
        return float(path.K[-1])

    gap_without, gap_with = (np.log(capital(m) / K_star) for m in (model, ks_terminal(model)))
    assert gap_without < -0.05
    assert abs(gap_with) < 0.01
