"""Krusell–Smith by structural RL: the plug-in, its simulations and its economics.

The chapter's run (book scale, `SPG_BOOK`) is trained once per session and
compared with the Krusell–Smith (1998) solution on the same shocks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.learning import spg
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.solvers.household import euler_errors as household_euler_errors
from srlteach.economies.krusell_smith import (
    SPG_BOOK,
    create_krusell_smith,
    euler_errors,
    krusell_smith_spg,
    log_z_path,
    simulate_aggregates,
)
from srlteach.economies.krusell_smith.ks1998 import KS1998Config

BURN_IN = KS1998Config().burn_in


@pytest.fixture(scope="session")
def ks_model(ks_book, ks_equilibrium_book):
    return krusell_smith_spg(ks_book, g0=ks_equilibrium_book.g)


@pytest.fixture(scope="session")
def ks_trained(ks_model):
    return spg.solve(ks_model, SPG_BOOK)


@pytest.fixture(scope="session")
def srl_on_ks1998_shocks(ks_trained, ks1998_book, ks_equilibrium_book):
    path, _ = simulate_aggregates(ks_trained.model, ks_trained.θ, ks1998_book.path.log_z.astype(jnp.float32), ks_equilibrium_book.g)
    return path


def closed_form_prices(economy, K, log_z):
    """r and w from models.md, model 3, written out here independently of the package."""
    α, δ, z, L = 0.36, 0.08, np.exp(np.asarray(log_z, float)), economy.L
    K = np.asarray(K, float)
    return α * z * (K / L) ** (α - 1) - δ, (1 - α) * z * (K / L) ** α


# ---------------------------------------------------------------------------------------
# The plug-in
# ---------------------------------------------------------------------------------------


def test_initial_policy_consumes_half_of_cash_on_hand(ks_model):
    e = ks_model.economy
    table = ks_model.actions(ks_model.initial_parameters())
    x = (1 + e.r_grid[:, None, None, None]) * e.b_grid[:, None] + e.w_grid[None, :, None, None] * e.y_grid
    below_cap = x <= e.b_grid[-1]
    np.testing.assert_allclose(table[below_cap], 0.5 * x[below_cap], rtol=1e-14)
    np.testing.assert_allclose(table[~below_cap], 0.5 * e.b_grid[-1], rtol=1e-14)


def test_constraints_hold_at_nodes_and_between_them(ks_model):
    e = ks_model.economy
    θ = 4 * jax.random.normal(jax.random.PRNGKey(0), ks_model.initial_parameters().shape)
    table = ks_model.actions(θ)
    assert float(table.min()) >= 0 and float(table.max()) <= float(e.b_grid[-1])
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    K = jax.random.uniform(keys[0], (200,), minval=4.0, maxval=7.0)
    log_z = jax.random.uniform(keys[1], (200,), minval=-0.1, maxval=0.1)

    def at(K, log_z):
        p = ks_model.prices_at(K, log_z)
        b_next = spg.policy(ks_model, table, log_z, p)
        return ks_model.individual(b_next, log_z, p).outputs["C"], b_next, p.out_of_grid

    c, b_next, outside = jax.jit(jax.vmap(at))(K, log_z)
    inside = ~np.asarray(outside)
    assert inside.sum() > 100  # most draws are prices on the grid
    assert float(c[inside].min()) > 0 and float(b_next[inside].min()) >= 0


def test_prices_equal_the_closed_forms_along_engine_rollouts(ks_model, ks_book):
    """The engine's paths: p_t = (r, w)(K_t, z_t) at the simulated K_t = Σ b g_t."""
    θ = ks_model.initial_parameters() + 2.0  # a saving policy, so K stays near the grid
    path = spg.simulate(ks_model, θ, jax.random.PRNGKey(0), N=4, T=30)
    r, w = closed_form_prices(ks_book, path.aggregates["K"], path.aggregate)
    np.testing.assert_allclose(path.prices.values[..., 0], r, rtol=1e-12)
    np.testing.assert_allclose(path.prices.values[..., 1], w, rtol=1e-12)
    assert float(jnp.abs(path.prices.residual).max()) == 0  # no market to clear


def test_single_path_simulation_is_the_engines(ks_model):
    """`simulate_aggregates` on the engine's own shock path reproduces the engine's aggregates."""
    θ = ks_model.initial_parameters() + 1.0
    path = spg.simulate(ks_model, θ, jax.random.PRNGKey(3), N=2, T=40)
    g0 = ks_model.g0
    for n in range(2):
        single, _ = simulate_aggregates(ks_model, θ, path.aggregate[:, n], g0)
        np.testing.assert_allclose(single.K, path.aggregates["K"][:, n], rtol=1e-12)
        np.testing.assert_allclose(single.C, path.aggregates["C"][:, n], rtol=1e-12)


def test_check_policy_rejects_price_grids_that_miss_the_stationary_prices(ks_equilibrium_book):
    economy = create_krusell_smith("book", r_min=0.05, r_max=0.07)
    model = krusell_smith_spg(economy, g0=ks_equilibrium_book.g)
    with pytest.raises(ValueError, match="the r grid .* must contain the price r"):
        spg.solve(model, SPG_BOOK._replace(max_epochs=1))


def test_bad_initial_distribution_raises(ks_book):
    with pytest.raises(ValueError, match="g0 must have the shape"):
        krusell_smith_spg(ks_book, g0=jnp.ones((5, 3)) / 15)
    with pytest.raises(ValueError, match="g0 must be a distribution"):
        krusell_smith_spg(ks_book, g0=jnp.ones((60, 3)))


# ---------------------------------------------------------------------------------------
# The trained economy (the chapter's run)
# ---------------------------------------------------------------------------------------


def test_training_converges_with_prices_on_the_grid(ks_trained):
    config = SPG_BOOK
    assert ks_trained.converged and ks_trained.epochs < config.max_epochs
    clipped = ks_trained.history["out_of_grid"][100:]
    assert clipped.sum() < 1e-4 * clipped.size * config.N * config.T


def test_prices_equal_the_closed_forms_at_simulated_capital(srl_on_ks1998_shocks, ks_book):
    p = srl_on_ks1998_shocks
    r, w = closed_form_prices(ks_book, p.K, p.log_z)
    np.testing.assert_allclose(p.r, r, rtol=2e-6)  # float32 engine
    np.testing.assert_allclose(p.w, w, rtol=2e-6)


def test_resources_add_up_along_the_srl_path(srl_on_ks1998_shocks, ks_book):
    """C_t + K_{t+1} = (1 + r_t) K_t + w_t L: Young's lottery preserves mean savings."""
    p = jax.tree.map(lambda x: np.asarray(x, float), srl_on_ks1998_shocks)
    income = (1 + p.r) * p.K + p.w * ks_book.L
    np.testing.assert_allclose(p.C[:-1] + p.K[1:], income[:-1], rtol=1e-5)


def test_ks1998_tracks_srl_on_a_common_shock_path(ks1998_book, srl_on_ks1998_shocks):
    """The stated distance: |log K_SRL - log K_KS| ≤ 6% at every date, ≤ 4% on average,
    consumption within 3%, and the two capital paths move together (correlation > 0.99)."""
    assert ks1998_book.r_squared > 0.99
    K_srl, K_ks = (np.asarray(x, float)[BURN_IN:] for x in (srl_on_ks1998_shocks.K, ks1998_book.path.K))
    C_srl, C_ks = (np.asarray(x, float)[BURN_IN:] for x in (srl_on_ks1998_shocks.C, ks1998_book.path.C))
    gap = np.log(K_srl / K_ks)
    assert np.abs(gap).max() < 0.06 and abs(gap.mean()) < 0.04
    assert np.abs(np.log(C_srl / C_ks)).max() < 0.03
    assert np.corrcoef(K_srl, K_ks)[0, 1] > 0.99


def test_euler_errors_of_the_trained_policy_are_small(ks_trained, ks_equilibrium_book, ks_book):
    model, θ = ks_trained.model, ks_trained.θ
    log_z = log_z_path(ks_book, jax.random.PRNGKey(5), 300).astype(jnp.float32)
    _, g = simulate_aggregates(model, θ, log_z[:-1], ks_equilibrium_book.g)
    errors = euler_errors(model, θ, g, log_z[-1])
    error, valid, mass = np.asarray(errors.log10_error), np.asarray(errors.interior), np.asarray(g)
    assert (error * mass)[valid].sum() / mass[valid].sum() < -2.5
    assert error[valid & (mass > 1e-4)].max() < -1.0


# ---------------------------------------------------------------------------------------
# Without aggregate risk: the stationary equilibrium
# ---------------------------------------------------------------------------------------


def test_no_aggregate_risk_reaches_the_stationary_equilibrium():
    """ν_z = 0: SRL with a long horizon (T = 250) settles on the stationary equilibrium of the
    same discretised problem (VFI, continuation values linear between nodes) to 0.3% in K
    and 3e-4 in r, and within 2% in K of the EGM equilibrium (the grid's discretisation gap)."""
    calm = create_krusell_smith("book", ν_z=0.0)
    egm, vfi = stationary_equilibrium(calm), stationary_equilibrium(calm, method="vfi")
    model = krusell_smith_spg(calm, g0=egm.g)
    trained = spg.solve(model, SPG_BOOK._replace(N=1, T=250))
    assert trained.converged
    path, _ = simulate_aggregates(trained.model, trained.θ, jnp.zeros(300, jnp.float32), egm.g)
    K, r, w = (float(x[-1]) for x in (path.K, path.r, path.w))
    assert abs(np.log(K / vfi.K)) < 3e-3
    assert abs(r - vfi.r) < 3e-4 and abs(w - vfi.w) < 3e-3
    assert abs(np.log(K / egm.K)) < 0.02


def test_euler_errors_agree_with_the_household_module_without_aggregate_risk(ks_equilibrium_book):
    """With ν_z = 0 and the EGM policy at the stationary prices stored at every price node,
    `euler_errors` is `household.euler_errors` of that policy (same interpolation in b′)."""
    calm = create_krusell_smith("book", ν_z=0.0)
    eq = ks_equilibrium_book
    model = krusell_smith_spg(calm, g0=eq.g)
    e = calm
    cap = np.minimum((1 + eq.r) * np.asarray(e.b_grid)[:, None] + eq.w * np.asarray(e.y_grid), float(e.b_grid[-1]))
    share = np.clip(np.asarray(eq.policy.b_next) / cap, 1e-300, 1 - 1e-16)
    θ = jnp.broadcast_to(jnp.asarray(np.log(share / (1 - share))), model.initial_parameters().shape)
    ours = euler_errors(model, θ, eq.g, jnp.asarray(0.0))
    R, income = jnp.full(3, 1 + eq.r), eq.w * e.y_grid
    theirs = household_euler_errors(eq.policy, e.b_grid, R, income, e.Π_y, e.β, e.σ)
    # below half the cap, min(x, b_max) is linear in prices, so every price node's table
    # interpolates exactly to the EGM policy at the stationary prices
    low = (np.asarray(e.b_grid) < 0.5 * float(e.b_grid[-1]))[:, None]
    both = np.asarray(ours.interior) & np.asarray(theirs.interior) & low
    assert both.mean() > 0.6
    # relative errors |1 - c̃/c| (not their logs, which magnify differences at tiny errors);
    # the two differ only by the stationary prices' rounding (r* solves the market to 1e-10)
    ours_relative, theirs_relative = (10.0 ** np.asarray(x.log10_error)[both] for x in (ours, theirs))
    assert theirs_relative.max() > 1e-4  # a comparison at errors of the size the chapter reports
    np.testing.assert_allclose(ours_relative, theirs_relative, rtol=1e-3, atol=1e-8)


# ---------------------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------------------


def test_same_seed_same_numbers(ks_model, ks_trained):
    """Two runs of the chapter's first 20 epochs are identical, bit for bit; another seed differs."""
    config = SPG_BOOK._replace(max_epochs=20, chunk=10, tol=0.0)
    first, second = spg.solve(ks_model, config), spg.solve(ks_model, config)
    np.testing.assert_array_equal(first.θ, second.θ)
    np.testing.assert_array_equal(first.history["objective"], second.history["objective"])
    np.testing.assert_array_equal(first.history["objective"], ks_trained.history["objective"][:20])
    other = spg.solve(ks_model, config._replace(seed=1))
    assert np.abs(np.asarray(other.θ) - np.asarray(first.θ)).max() > 0


# ---------------------------------------------------------------------------------------
# The chapter's explorer
# ---------------------------------------------------------------------------------------


def test_policy_explorer(ks_trained, ks1998_book):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from srlteach.presentation.explorers import krusell_smith_policy_explorer

    fig = krusell_smith_policy_explorer(ks_trained.model, ks_trained.θ, ks1998_book, K=5.25, log_z=0.0, y_index=1)
    left, right = fig.axes[:2]
    srl = left.lines[1].get_ydata()
    assert len(left.lines) == 2 and len(right.lines) == 3 + 1  # three income states and the zero line
    assert np.all(np.isfinite(srl)) and srl.min() > 0
    plt.close(fig)
    with pytest.raises(ValueError, match="K must lie on the KS-1998 capital grid"):
        krusell_smith_policy_explorer(ks_trained.model, ks_trained.θ, ks1998_book, K=50.0)
    with pytest.raises(ValueError, match="y_index must be one of"):
        krusell_smith_policy_explorer(ks_trained.model, ks_trained.θ, ks1998_book, y_index=3)
