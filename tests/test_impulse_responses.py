"""Generalised impulse responses of simulated economies (srlteach.analysis.impulse_responses)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlteach.analysis import impulse_responses as ir
from srlteach.economies.huggett import create_huggett, huggett_spg
from srlteach.economies.krusell_smith import create_krusell_smith, krusell_smith_spg
from srlteach.foundations.distributions import inverse_cdf
from srlteach.learning import spg

SERIES = {
    "K": lambda p: p.aggregates["K"],
    "C": lambda p: p.aggregates["C"],
    "r": lambda p: p.prices.values[..., 0],
    "log_z": lambda p: p.aggregate,
}


def krusell_smith_model(**overrides):
    return krusell_smith_spg(create_krusell_smith("book", n_b=30, **overrides))  # starts at the stationary g


def girf(model, size, T=12):
    start = spg.initial_state(model, 8, jax.random.PRNGKey(3))
    θ = model.initial_parameters()  # any policy will do: the responses are properties of the simulation
    return ir.generalised_impulse_responses(spg.simulate, model, θ, start, jax.random.PRNGKey(4), T, ir.normal_impulse(size),
                                            SERIES, relative=("K", "C"), repeats=2)


def test_no_aggregate_risk_gives_a_zero_response():
    response = girf(krusell_smith_model(ν_z=0.0), size=3.0)
    assert response.pairs == 16
    for name, mean in response.mean.items():
        assert mean.shape == (12,) and not np.abs(mean).any(), name


def test_the_shock_and_its_propagation():
    model = krusell_smith_model()
    e = model.economy
    response = girf(model, size=2.0)
    # log z moves by exactly the innovation at impact and decays at rate ρ_z: common random numbers
    innovation = 2.0 * e.ν_z * np.sqrt(1 - e.ρ_z**2)
    assert np.allclose(response.mean["log_z"], innovation * e.ρ_z ** np.arange(12), rtol=1e-12, atol=0)
    assert np.allclose(response.se["log_z"], 0, atol=1e-15)
    # capital is predetermined: it cannot move on impact, and moves afterwards
    assert response.mean["K"][0] == 0 and np.abs(response.mean["K"][1:]).min() > 0
    assert response.mean["r"][0] > 0 and response.mean["C"][0] > 0  # a good shock raises r and C on impact


def test_uniform_impulse_moves_the_latent_normal_innovation():
    """A Tauchen row drawn by its inverse CDF at Φ(Φ⁻¹(u) + x) is the AR(1) draw
    ρ log z + σ_ε (Φ⁻¹(u) + x) rounded to the nearest node (the end nodes take the tails)."""
    economy = create_huggett("book")
    log_z = np.log(np.asarray(economy.z_grid))
    σ_ε = economy.ν_z * np.sqrt(1 - economy.ρ_z**2)
    u = jax.random.uniform(jax.random.PRNGKey(0), (4000,), dtype=jnp.float64)
    for m in (0, 3, 8):
        for size in (-3.0, 1.0, 2.5):
            drawn = np.asarray(inverse_cdf(jnp.cumsum(economy.Π_z[m]), ir.uniform_impulse(size)(u)))
            latent = economy.ρ_z * log_z[m] + σ_ε * (jax.scipy.stats.norm.ppf(np.asarray(u)) + size)
            nearest = np.abs(np.asarray(latent)[:, None] - log_z[None]).argmin(axis=1)
            assert (drawn == nearest).mean() > 0.999  # ties at midpoints: rounding only


def test_huggett_responses_run_on_its_uniform_draws():
    model = huggett_spg(create_huggett("book", n_b=30))
    start = spg.initial_state(model, 4, jax.random.PRNGKey(1))
    log_z = jnp.log(model.economy.z_grid)
    series = {"log_z": lambda p: log_z[p.aggregate], "r": lambda p: p.prices.values[..., 0]}
    up = ir.generalised_impulse_responses(spg.simulate, model, model.initial_parameters(), start, jax.random.PRNGKey(2), 5,
                                          ir.uniform_impulse(3.0), series, repeats=8)
    assert up.pairs == 32 and up.mean["log_z"][0] > 0  # a 3 s.d. innovation moves most paths up a node


def test_paired_responses_and_bad_inputs():
    def simulate(ε):
        return {"x": 2.0 + jnp.cumsum(ε, axis=0), "y": jnp.cumsum(ε, axis=0)}

    ε = jax.random.normal(jax.random.PRNGKey(0), (6, 5))
    none = ir.paired_responses(simulate, ε, lambda e: e)
    assert not np.abs(none.mean["x"]).any() and none.pairs == 5
    shifted = ir.paired_responses(simulate, ε, ir.normal_impulse(1.5), relative=("x",))
    assert np.allclose(shifted.mean["y"], 1.5)
    assert np.allclose(shifted.mean["x"], np.mean(1.5 / (2.0 + np.cumsum(np.asarray(ε), axis=0)), axis=1))
    with pytest.raises(ValueError, match="relative names series"):
        ir.paired_responses(simulate, ε, lambda e: e, relative=("z",))
    with pytest.raises(ValueError, match="size"):
        ir.normal_impulse(np.nan)
    with pytest.raises(ValueError, match="size"):
        ir.uniform_impulse(np.inf)
    model = krusell_smith_model()
    start = spg.initial_state(model, 2, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="repeats"):
        ir.generalised_impulse_responses(spg.simulate, model, model.initial_parameters(), start, jax.random.PRNGKey(0), 3,
                                         ir.normal_impulse(1.0), SERIES, repeats=0)
    with pytest.raises(ValueError, match="T"):
        ir.generalised_impulse_responses(spg.simulate, model, model.initial_parameters(), start, jax.random.PRNGKey(0), 2.5,
                                         ir.normal_impulse(1.0), SERIES)


def test_table_and_explorer():
    import matplotlib

    matplotlib.use("Agg")
    from srlteach.presentation.linear_vs_srl import (
        impact_and_peak,
        impulse_response_explorer,
        percent_girf,
        response_table,
    )

    T = 10
    hump = np.sin(np.linspace(0, np.pi, T))  # K peaks in year 4 or 5
    girf = ir.ImpulseResponses({"K": 0.01 * hump, "C": 0.02 * np.ones(T), "r": 0.003 * np.ones(T), "w": 0.01 * np.ones(T)},
                               {name: np.zeros(T) for name in "KCrw"}, 4)
    mean, se = percent_girf(girf)
    assert np.allclose(mean["K"], hump) and np.isclose(mean["r"][0], 0.3) and not se["C"].any()
    summary = impact_and_peak(mean)
    assert summary["year"] == int(np.argmax(hump)) and np.isclose(summary["C"], 2.0)
    assert impact_and_peak({k: -v for k, v in mean.items()}, sign=-1.0)["year"] == summary["year"]
    assert "    2.000" in response_table({"x": mean}) and "year" in response_table({"x": mean})
    curves = {1.0: {"simulated": (mean, se), "linear": (mean, None)}}
    fig = impulse_response_explorer(curves, size=1.0, T=T)
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 3  # two methods and the zero line
    with pytest.raises(ValueError, match="precomputed sizes"):
        impulse_response_explorer(curves, size=2.0)
    with pytest.raises(ValueError, match="size"):
        impulse_response_explorer(curves, size=np.nan)
