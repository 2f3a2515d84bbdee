"""Portfolio choice (models.md, model 4): the economy, its SPG plug-in and the bond market
cleared inside every rollout.

Small grids in float64 for the engine's identities (mass, means, gradient); the book-scale
economy for the constraints, clearing and the no-risk limit.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.economies.portfolio import (
    SPG_BOOK,
    create_portfolio,
    euler_errors,
    portfolio_choice,
    portfolio_spg,
    simulate_aggregates,
    stationary_reference,
)
from srlteach.economies.portfolio.economy import capital_from_wealth, prices

TINY = dict(n_x=14, n_q=4, n_R=3, n_w=3)


@pytest.fixture(scope="module")
def book():
    return create_portfolio("book")


@pytest.fixture(scope="module")
def book_model(book):
    return portfolio_spg(book)


@pytest.fixture(scope="module")
def tiny():
    return spg.in_dtype(portfolio_spg(create_portfolio("book", **TINY)), "float64")


@pytest.fixture(scope="module")
def tiny_rollout(tiny):
    """A perturbed policy (no wealth exactly on a node) and 3 paths of 12 periods."""
    θ0 = tiny.initial_parameters()
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    θ = {name: θ0[name] + 0.3 * jax.random.normal(k, θ0[name].shape) for name, k in zip(θ0, keys)}
    table = tiny.actions(θ)
    start = spg.initial_state(tiny, 3, jax.random.PRNGKey(2))
    d0 = spg.uniform_distribution(tiny)
    value, path = spg.rollout(tiny, table, start.g, start.a, jax.random.PRNGKey(3), 12, d0, keep_distributions=True)
    return θ, table, start, d0, value, path


# ---------------------------------------------------------------------------------------
# The economy and its reference
# ---------------------------------------------------------------------------------------


def test_prices_are_the_marginal_products(book):
    """R = α z (K/L)^(α-1) + 1 - δ and w = (1-α) z (K/L)^α, written out here independently."""
    K, z = 5.3, 1.02
    α, δ, L = 0.36, 0.08, book.L
    R, w = prices(book, K, z)
    assert float(R) == pytest.approx(α * z * (K / L) ** (α - 1) + 1 - δ, rel=1e-14)
    assert float(w) == pytest.approx((1 - α) * z * (K / L) ** α, rel=1e-14)
    K_back = capital_from_wealth(book, float(R) * K, z)
    assert float(K_back) == pytest.approx(K, rel=1e-12)


def test_stationary_reference_is_a_krusell_smith_equilibrium_with_borrowing(book):
    """Without aggregate risk: 1/q = R(K*), w = w(K*), wealth Σ x g = R K*, and the rate lies
    a little above the Krusell–Smith one (b ≥ 0): borrowing up to -1 weakens precautionary saving."""
    from srlteach.economies.krusell_smith import create_krusell_smith
    from srlteach.solvers.equilibrium import stationary_equilibrium

    ref = stationary_reference(book)
    R, w = prices(book, ref.K)
    assert 1 / ref.q == pytest.approx(float(R), rel=1e-8)
    assert ref.w == pytest.approx(float(w), rel=1e-8)
    assert float(jnp.sum(ref.g * book.x_grid[:, None])) == pytest.approx(float(R) * ref.K, rel=1e-8)
    ks = stationary_equilibrium(create_krusell_smith("book"))
    assert ks.r < ref.r < ks.r + 0.005 and 0.97 * ks.K < ref.K < ks.K


# ---------------------------------------------------------------------------------------
# The plug-in: constraints, clearing, identities
# ---------------------------------------------------------------------------------------


def test_constraints_hold_at_nodes_and_between_them(book_model):
    e = book_model.economy
    θ0 = book_model.initial_parameters()
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    θ = {name: 4 * jax.random.normal(k, θ0[name].shape) for name, k in zip(θ0, keys)}
    table = book_model.actions(θ)
    q = jax.random.uniform(keys[2], (200,), minval=float(e.q_grid[0]), maxval=float(e.q_grid[-1]))
    R = jax.random.uniform(keys[3], (200,), minval=float(e.R_grid[0]), maxval=float(e.R_grid[-1]))
    w = jax.random.uniform(keys[4], (200,), minval=float(e.w_grid[0]), maxval=float(e.w_grid[-1]))

    def at(q, R, w):
        location, _ = spg.locate_prices((e.q_grid, e.R_grid, e.w_grid), jnp.stack([q, R, w]))
        shares = jax.tree.map(lambda leaf: spg.interpolate(leaf, location), table)
        return portfolio_choice(e, shares["s"], shares["ω"], q, w)

    choice = jax.jit(jax.vmap(at))(q, R, w)
    assert float(choice.c.min()) > 0
    assert float(choice.b_next.min()) >= -1 - 1e-12 and float(choice.k_next.min()) >= 0
    # next period's wealth stays on the grid for returns below the bound
    for R_next in (float(e.R_grid[0]), 1.15):
        x_next = choice.b_next + R_next * choice.k_next
        assert float(x_next.min()) >= -1 - 1e-12 and float(x_next.max()) <= float(e.x_grid[-1]) + 1e-9


def test_rollouts_conserve_mass_wealth_and_capital(tiny, tiny_rollout):
    """g_t sums to one; the lottery preserves mean wealth, Σ x g_{t+1} = Σ (b′ + R_{t+1} k′) g_t;
    the aggregate state's K_{t+1} is Σ k′ g_t; the bond market clears at every date."""
    _, _, _, _, _, path = tiny_rollout
    e = tiny.economy
    g = path.g
    np.testing.assert_allclose(g.sum(axis=(2, 3)), 1.0, atol=1e-13)
    assert (g >= 0).all()
    K = path.aggregate[..., 1]
    np.testing.assert_allclose(K[1:], path.aggregates["K_next"][:-1], rtol=1e-13)
    R_next, _ = prices(e, K[1:], jnp.exp(path.aggregate[1:, :, 0]))
    wealth_next = (g[1:] * e.x_grid[:, None]).sum(axis=(2, 3))
    np.testing.assert_allclose(wealth_next, path.aggregates["B"][:-1] + R_next * K[1:], rtol=1e-12)
    np.testing.assert_allclose(path.aggregates["X"], (g * e.x_grid[:, None]).sum(axis=(2, 3)), rtol=1e-13)
    assert not bool(path.prices.out_of_grid.any())
    assert float(jnp.abs(path.prices.residual["bonds"]).max()) < 1e-10


def test_clearing_residual_is_the_households_bond_demand(book_model):
    """Along simulated paths, Σ b′ g_t recomputed here from the policy at the reported q_t
    (not from the clearing routine) is zero, and q_t stays inside its grid."""
    model = spg.in_dtype(book_model, "float32")
    θ0 = model.initial_parameters()
    θ = {name: θ0[name] + 0.2 * jax.random.normal(jax.random.PRNGKey(7 + i), θ0[name].shape, θ0[name].dtype) for i, name in enumerate(θ0)}
    path = spg.simulate(model, θ, jax.random.PRNGKey(4), N=4, T=40, keep_distributions=True)
    table = model.actions(θ)
    e = model.economy

    def bonds(g, price_values):
        location, _ = spg.locate_prices((e.q_grid, e.R_grid, e.w_grid), price_values)
        shares = jax.tree.map(lambda leaf: spg.interpolate(leaf, location), table)
        q, _, w = price_values
        return jnp.sum(g * portfolio_choice(e, shares["s"], shares["ω"], q, w).b_next)

    demand = jax.jit(jax.vmap(jax.vmap(bonds)))(path.g, path.prices.values)
    assert not bool(path.prices.out_of_grid.any())
    # float32: q itself is resolved to about 6e-8, and Z(q) has a slope of order 100 in q
    assert float(jnp.abs(demand).max()) < 5e-5
    np.testing.assert_allclose(demand, path.prices.residual["bonds"], atol=1e-5)


def test_forward_and_backward_objectives_and_gradient(tiny, tiny_rollout):
    """The engine's backward sweep = jax.grad of the backward recursion = central differences,
    with the simulated prices (and K_{t+1}) held fixed: the structural policy gradient."""
    θ, table, start, d0, value, path = tiny_rollout
    assert float(spg.backward_value(tiny, table, path, d0)) == pytest.approx(float(value), rel=1e-12)
    value2, gradient, _ = spg.value_and_gradient(tiny, table, start.g, start.a, jax.random.PRNGKey(3), 12, d0)
    assert float(value2) == pytest.approx(float(value), rel=1e-12)
    autodiff = jax.jit(jax.grad(lambda t: spg.backward_value(tiny, t, path, d0)))(table)
    for name in ("s", "ω"):
        np.testing.assert_allclose(gradient[name], autodiff[name], rtol=1e-9, atol=1e-14)
        assert float(jnp.abs(gradient[name]).max()) > 1e-6  # the comparison is not between zeros
    h = 1e-6
    for seed in range(2):
        keys = jax.random.split(jax.random.PRNGKey(10 + seed), 2)
        direction = {name: jax.random.normal(k, table[name].shape) for name, k in zip(("s", "ω"), keys)}
        shifted = lambda sign: jax.tree.map(lambda t, d: t + sign * h * d, table, direction)
        fd = (spg.backward_value(tiny, shifted(1), path, d0) - spg.backward_value(tiny, shifted(-1), path, d0)) / (2 * h)
        directional = sum(float(jnp.vdot(gradient[n], direction[n])) for n in direction)
        assert directional == pytest.approx(float(fd), rel=1e-6)


def test_single_path_simulation_is_the_engines(tiny):
    """`simulate_aggregates` on the engine's own shock path reproduces the engine's aggregates."""
    θ = tiny.initial_parameters()
    path = spg.simulate(tiny, θ, jax.random.PRNGKey(3), N=2, T=20)
    for n in range(2):
        single, _, _ = simulate_aggregates(tiny, θ, path.aggregate[:, n, 0], tiny.g0, path.aggregate[0, n, 1])
        np.testing.assert_allclose(single.K, path.aggregate[:, n, 1], rtol=1e-12)
        np.testing.assert_allclose(single.q, path.prices.values[:, n, 0], rtol=1e-12)
        np.testing.assert_allclose(single.C, path.aggregates["C"][:, n], rtol=1e-12)


def test_same_seed_same_numbers(tiny):
    """Two runs with the same seed are identical, bit for bit, and move the policy."""
    config = SPG_BOOK._replace(N=4, T=20, max_epochs=6, chunk=3, tol=0.0, warmup=3)
    first, second = spg.solve(tiny, config), spg.solve(tiny, config)
    for name in ("s", "ω"):
        np.testing.assert_array_equal(first.θ[name], second.θ[name])
        assert np.abs(np.asarray(first.θ[name]) - np.asarray(tiny.initial_parameters()[name])).max() > 1e-3
    np.testing.assert_array_equal(first.history["objective"], second.history["objective"])


# ---------------------------------------------------------------------------------------
# Without aggregate risk: the stationary equilibrium
# ---------------------------------------------------------------------------------------


def test_no_aggregate_risk_reaches_the_stationary_equilibrium():
    """ν_z = 0: SRL with a long horizon (T = 250, so that the truncation at T matters little)
    settles on the stationary equilibrium of the same discretised problem (VFI: continuation
    values linear between wealth nodes, as Young's lottery makes them) to 0.3% in K and 3e-4
    in q, and within 2% in K and 1.5e-3 in q of the EGM equilibrium (the grid's
    discretisation gap, as in Krusell–Smith). The portfolio is indeterminate, prices are not:
    1/q equals the realised R′ up to 1e-4."""
    calm = create_portfolio("book", ν_z=0.0)
    egm, vfi = stationary_reference(calm), stationary_reference(calm, method="vfi")
    trained = spg.solve(portfolio_spg(calm, egm), SPG_BOOK._replace(N=1, T=250))
    assert trained.converged
    path, g, K_T = simulate_aggregates(trained.model, trained.θ, jnp.zeros(300), egm.g)
    K, q, premium = (float(x[-1]) for x in (path.K, path.q, path.premium))
    assert abs(np.log(K / vfi.K)) < 3e-3 and abs(q - vfi.q) < 3e-4
    assert abs(np.log(K / egm.K)) < 0.02 and abs(q - egm.q) < 1.5e-3
    assert abs(premium) < 1e-4
    assert not bool(path.out_of_grid.any()) and float(jnp.abs(path.residual).max()) < 1e-5
    # both Euler equations hold on the stationary distribution (the returns are equal)
    errors = euler_errors(trained.model, trained.θ, g, jnp.stack([jnp.zeros((), g.dtype), K_T]))
    mass = np.asarray(g, float) * np.asarray(errors.interior)
    for error in (errors.bond, errors.capital):
        assert (np.asarray(error, float) * mass).sum() / mass.sum() < -2.5


# ---------------------------------------------------------------------------------------
# The chapter's explorer
# ---------------------------------------------------------------------------------------


def test_portfolio_explorer(book_model):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from srlteach.economies.portfolio.explorer import portfolio_explorer

    θ = book_model.initial_parameters()
    fig = portfolio_explorer(book_model, θ)
    left, right = fig.axes[:2]
    assert len(left.lines) == 3 and len(right.lines) == 6 + 1  # b′ and k′ for three incomes, and the limit
    ω = np.concatenate([line.get_ydata() for line in left.lines])
    assert np.all((ω > 0) & (ω < 1))
    bonds = np.concatenate([line.get_ydata() for line in right.lines[:-1:2]])
    assert bonds.min() >= -1
    plt.close(fig)
    for kwargs, message in [(dict(q=0.5), "q must lie on the policy's q grid"), (dict(K=-1.0), "capital K must be > 0"),
                            (dict(K=50.0), "leaves its grid"), (dict(q=float("nan")), "q must be a finite number"),
                            (dict(x_max=-2.0), "x_max must be > -1")]:
        with pytest.raises(ValueError, match=message):
            portfolio_explorer(book_model, θ, **kwargs)


# ---------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------

BAD = [
    (dict(β=1.0), "discount factor β"),
    (dict(β=float("nan")), "β must be a finite number"),
    (dict(σ=0.0), "CRRA coefficient σ"),
    (dict(α=1.0), "capital share α"),
    (dict(δ=-0.1), "depreciation rate δ"),
    (dict(δ=float("inf")), "δ must be a finite number"),
    (dict(ν_z=-0.01), "ν"),
    (dict(ρ_y=1.0), "ρ"),
    (dict(n_x=1), "wealth grid size n_x"),
    (dict(n_q=2.5), "price grid size n_q"),
    (dict(n_R=float("nan")), "price grid size n_R"),
    (dict(x_max=0.0), "x_max must be > 0"),
    (dict(q_min=0.99), "q_min < q_max"),
    (dict(R_min=1.1), "R_min < R_max"),
    (dict(w_min=-1.0, w_max=0.5), "w_min must be > 0"),
    (dict(R_min=-0.1), "R_min must be > 0"),
    (dict(R_max=1.3), "R_max must be ≤ 1.2"),
    (dict(q_min=0.8), "q_min must be ≥ 1/1.2"),
    (dict(q_min=0.85, q_max=0.94), "cannot bracket bond-market clearing: q_max must be > β"),
    (dict(w_min=0.05), "borrowing limit b′ ≥ -1 is not feasible"),
    (dict(curvature=0.5), "curvature"),
    (dict(γ=2.0), "unknown portfolio parameter"),
]


@pytest.mark.parametrize("overrides, message", BAD)
def test_bad_calibration_raises(overrides, message):
    with pytest.raises(ValueError, match=message):
        create_portfolio("book", **overrides)


def test_bad_scale_raises():
    with pytest.raises(ValueError, match="scale must be one of"):
        create_portfolio("huge")


def test_q_grid_without_the_stationary_price_raises():
    model = portfolio_spg(create_portfolio("book", **TINY, q_min=0.96, q_max=0.985))
    with pytest.raises(ValueError, match="the q grid .* must contain the stationary price q"):
        spg.solve(model, SPG_BOOK._replace(max_epochs=1))


def test_q_grid_that_cannot_bracket_the_initial_policy_raises(tiny):
    """A policy that puts all savings in bonds demands bonds at every q node."""
    θ0 = tiny.initial_parameters()
    θ = {"s": θ0["s"], "ω": jnp.full_like(θ0["ω"], -10.0)}
    with pytest.raises(ValueError, match="does not bracket bond-market clearing"):
        spg.solve(tiny, SPG_BOOK._replace(max_epochs=1), θ0=θ)
