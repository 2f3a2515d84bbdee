"""Epstein–Zin households in the SPG engine (issue 17).

The engine's `EpsteinZin` aggregator against its own limits and against an independent
reference: at γ = ρ everything is the CRRA economy (engine, training, VFI, equilibrium); the
gradient of the non-linear recursion matches central differences; without aggregate risk
SRL finds the stationary rate of value function iteration with the same preferences; the
same seed gives the same numbers; bad preferences are refused.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.economies.huggett import (
    SPG_BOOK,
    create_huggett,
    huggett_spg,
)
from srlteach.economies.huggett.epstein_zin import (
    create_huggett_ez,
    ez_stationary_equilibrium,
    huggett_ez_spg,
)
from srlteach.learning import spg
from srlteach.solvers.epstein_zin import epstein_zin_vfi
from srlteach.solvers.equilibrium import stationary_equilibrium
from srlteach.solvers.household import vfi

TINY = dict(n_b=12, n_z=3, n_r=5, b_max=6.0)


def _start(model, N=3, T=12):
    """A perturbed policy (no savings exactly on a node), its table, a start and d_0."""
    θ = model.initial_parameters() + 0.3 * jax.random.normal(jax.random.PRNGKey(1), model.initial_parameters().shape)
    return θ, model.actions(θ), spg.initial_state(model, N, jax.random.PRNGKey(2)), spg.uniform_distribution(model)


# ---------------------------------------------------------------------------------------
# γ = ρ is the CRRA economy
# ---------------------------------------------------------------------------------------


def test_gamma_equal_rho_gives_the_crra_objective_and_gradient():
    economy = create_huggett_ez("book", **TINY)
    crra, ez = (spg.in_dtype(m, "float64") for m in (huggett_spg(economy), huggett_ez_spg(economy, economy.σ)))
    _, table, start, d0 = _start(crra)
    key = jax.random.PRNGKey(3)
    v_crra, g_crra, _ = spg.value_and_gradient(crra, table, start.g, start.a, key, 12, d0)
    v_ez, g_ez, _ = spg.value_and_gradient(ez, table, start.g, start.a, key, 12, d0)
    assert float(v_ez) == pytest.approx(float(v_crra), rel=1e-13)
    np.testing.assert_allclose(g_ez, g_crra, rtol=1e-10, atol=1e-14)
    assert float(jnp.abs(g_crra).max()) > 1e-3  # not a comparison between zeros


def test_gamma_equal_rho_trains_the_crra_policy():
    """40 epochs of the one training loop from the same seed: the same policy to rounding."""
    economy = create_huggett_ez("book", **TINY)
    config = SPG_BOOK._replace(N=4, T=30, warmup=10, max_epochs=40, tol=0.0, dtype="float64")
    θ_crra = spg.solve(huggett_spg(economy), config).θ
    θ_ez = spg.solve(huggett_ez_spg(economy, economy.σ), config).θ
    np.testing.assert_allclose(θ_ez, θ_crra, atol=1e-8)


def test_ez_vfi_with_gamma_equal_rho_is_the_crra_vfi(huggett_stationary_book):
    """Policy and value of the Epstein–Zin VFI at γ = ρ against `household.vfi`, whose value
    is V^(1-ρ) / ((1 - β)(1 - ρ)); the equilibrium rate against VFI and EGM."""
    e = huggett_stationary_book
    r = 0.02
    V, policy = epstein_zin_vfi(e.b_grid, e.y_grid, e.Π_y, e.β, e.σ, e.σ, r)
    crra = vfi(e.b_grid, jnp.full(3, 1 + r), e.y_grid, e.Π_y, e.β, e.σ)
    np.testing.assert_allclose(policy.b_next, crra.policy.b_next, atol=1e-6)
    np.testing.assert_allclose(V ** (1 - e.σ) / ((1 - e.β) * (1 - e.σ)), crra.v, rtol=1e-8)
    r_ez = ez_stationary_equilibrium(e, e.σ).r
    assert r_ez == pytest.approx(stationary_equilibrium(e, method="vfi").r, abs=1e-7)
    assert r_ez == pytest.approx(stationary_equilibrium(e).r, abs=5e-4)  # EGM: VFI and EGM differ by 3e-4 at book scale


def test_risk_aversion_lowers_the_stationary_rate():
    """Precautionary saving rises with γ at fixed ρ: the stationary rate falls."""
    e = create_huggett_ez("book", n_z=1, ν_z=0.0)
    rates = [ez_stationary_equilibrium(e, γ).r for γ in (2.0, 5.0, 10.0)]
    assert rates[0] > rates[1] + 1e-3 > rates[2] + 2e-3


# ---------------------------------------------------------------------------------------
# The gradient of the non-linear recursion
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("γ", [5.0, 10.0])
def test_ez_gradient_matches_finite_differences(γ):
    model = spg.in_dtype(huggett_ez_spg(create_huggett_ez("book", **TINY), γ), "float64")
    _, table, start, d0 = _start(model)
    key = jax.random.PRNGKey(3)
    value, gradient, path = spg.value_and_gradient(model, table, start.g, start.a, key, 12, d0)
    backward = jax.jit(lambda t: spg.backward_value(model, t, path, d0))
    assert float(value) == pytest.approx(float(backward(table)), rel=1e-13)
    assert float(spg.rollout(model, table, start.g, start.a, key, 12, d0)[0]) == pytest.approx(float(value), rel=1e-13)
    crra_gradient = spg.value_and_gradient(huggett_spg(model.economy), table, start.g, start.a, key, 12, d0)[1]
    assert float(jnp.abs(gradient - crra_gradient).max()) > 1e-3  # γ matters: not the CRRA gradient
    h = 1e-6
    for seed in range(3):
        direction = jax.random.normal(jax.random.PRNGKey(10 + seed), table.shape)
        fd = (backward(table + h * direction) - backward(table - h * direction)) / (2 * h)
        assert float(jnp.vdot(gradient, direction)) == pytest.approx(float(fd), rel=1e-6)


def test_checkpoint_is_refused_for_a_non_linear_aggregator():
    model = huggett_ez_spg(create_huggett_ez("book", **TINY), 5.0)
    _, table, start, d0 = _start(model)
    with pytest.raises(ValueError, match="checkpoint"):
        spg.value_and_gradient(model, table, start.g, start.a, jax.random.PRNGKey(3), 12, d0, checkpoint=4)


# ---------------------------------------------------------------------------------------
# SRL against the Epstein–Zin stationary equilibrium, and reproducibility
# ---------------------------------------------------------------------------------------


def test_no_aggregate_risk_rate_converges_to_the_ez_stationary_equilibrium():
    """γ = 10 (the most non-linear of the chapter's values), the chapter's numerics with 2
    paths: the rate settles within 2e-4 (2 basis points) of the Epstein–Zin VFI rate on the
    same grid. Measured: 1.5 basis points below it (0.00953 against 0.00968; the CRRA economy
    of tests/test_srl_huggett.py lands within 1e-4)."""
    economy = create_huggett_ez("book", n_z=1, ν_z=0.0)
    result = spg.solve(huggett_ez_spg(economy, 10.0), SPG_BOOK._replace(N=2))
    assert result.converged
    path = spg.simulate(result.model, result.θ, jax.random.PRNGKey(0), 2, 300, start=result.state)
    r = path.prices.values[:, 0, 0]
    assert float(jnp.abs(r[-100:] - r[-1]).max()) < 1e-6
    assert float(r[-1]) == pytest.approx(ez_stationary_equilibrium(economy, 10.0).r, abs=2e-4)


def test_same_seed_same_numbers():
    model = huggett_ez_spg(create_huggett_ez("book", **TINY), 5.0)
    config = SPG_BOOK._replace(N=4, T=30, warmup=5, max_epochs=10, tol=0.0)
    first, second = spg.solve(model, config), spg.solve(model, config)
    np.testing.assert_array_equal(first.θ, second.θ)
    np.testing.assert_array_equal(first.history["objective"], second.history["objective"])


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("γ, match", [(1.0, "γ"), (float("nan"), "γ"), (float("inf"), "γ"), (0.5, "same side"), (-3.0, "γ")])
def test_bad_risk_aversion_is_refused(γ, match):
    with pytest.raises(ValueError, match=match):
        huggett_ez_spg(create_huggett_ez("book", **TINY), γ)


def test_a_grid_above_the_ez_stationary_rate_is_refused():
    """With the CRRA economy's r grid (r_min = 0.01) the γ = 10 stationary rate (about 1.0%)
    lies below the grid: `solve` says so before training."""
    model = huggett_ez_spg(create_huggett("book", n_z=3, r_min=0.015), 10.0)
    with pytest.raises(ValueError, match="lower r_min"):
        spg.solve(model, SPG_BOOK._replace(max_epochs=1))


# ---------------------------------------------------------------------------------------
# The explorer
# ---------------------------------------------------------------------------------------


def test_explorer_draws_demand_and_policies():
    import matplotlib

    matplotlib.use("Agg")
    from srlteach.presentation.epstein_zin import epstein_zin_explorer

    fig = epstein_zin_explorer(5.0)
    ax_S, ax_c = fig.axes
    labels = [line.get_label() for line in ax_S.get_lines()]
    assert any("γ = 5: r* = 0.019" in label for label in labels) and any("CRRA" in label for label in labels)
    (b, crra), (_, ez) = (line.get_data() for line in ax_c.get_lines())
    shown = b <= 8.0  # the plotted range; near the savings cap b_max = 20 the ranking can flip
    assert (ez[shown] <= crra[shown] + 1e-6).all() and (ez[shown] < crra[shown] - 1e-3).any()  # more precautionary saving
    for bad in (dict(γ=1.0), dict(γ=0.5), dict(ν_y=0.0), dict(ν_y=float("nan")), dict(y_index=3)):
        with pytest.raises(ValueError):
            epstein_zin_explorer(**bad)
