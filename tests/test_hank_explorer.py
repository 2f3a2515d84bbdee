"""The HANK chapter's explorer: a figure of impulse responses, deterministic, and refusing bad inputs."""

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from srlteach.economies.hank import create_hank, hank_spg, steady_state  # noqa: E402
from srlteach.economies.hank.accuracy import impulse_responses  # noqa: E402
from srlteach.economies.hank.explorer import impulse_response_explorer  # noqa: E402
from srlteach.learning import spg  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    """A tiny HANK economy at its initial (untrained) policy, and four starting states."""
    jax.config.update("jax_enable_x64", True)
    economy = create_hank("book", n_b=20, n_w=5, n_i=5, n_z=3)
    model = hank_spg(economy, steady_state(economy))
    return model, model.initial_parameters(), spg.initial_state(model, 4, jax.random.PRNGKey(0))


def _lines(fig):
    return [np.asarray(line.get_ydata()) for ax in fig.axes for line in ax.get_lines()]


@pytest.mark.parametrize("shock, size", [("z", 1.0), ("e", -3.0)])
def test_explorer_draws_the_responses(tiny, shock, size):
    model, θ, start = tiny
    fig = impulse_response_explorer(model, θ, start, shock=shock, size=size, T=4)
    assert len(fig.axes) == 8
    lines = _lines(fig)
    assert all(np.isfinite(y).all() for y in lines)
    # the shock panel: its first point is the innovation per s.d., ×100
    e = model.economy
    ρ, ν = (e.ρ_z, e.ν_z) if shock == "z" else (e.ρ_e, e.ν_e)
    shock_lines = [np.asarray(line.get_ydata()) for line in fig.axes[0].get_lines() if len(line.get_ydata()) == 4]
    for y in shock_lines:
        assert y[0] == pytest.approx(100 * ν * np.sqrt(1 - ρ**2), rel=1e-9)
        assert y[1] == pytest.approx(ρ * y[0], rel=1e-9)  # the AR(1) decays on the common random numbers
    plt.close(fig)


def test_explorer_is_deterministic(tiny):
    model, θ, start = tiny
    first, second = (impulse_response_explorer(model, θ, start, shock="e", size=2.0, T=4, seed=5) for _ in range(2))
    for a, b in zip(_lines(first), _lines(second)):
        np.testing.assert_array_equal(a, b)
    plt.close("all")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(shock="tfp"), "shock must be 'z'"),
        (dict(size=0.0), "size must be non-zero"),
        (dict(size=float("nan")), "size must be a finite number"),
        (dict(T=1), "T"),
        (dict(T=2.5), "T"),
        (dict(repeats=0), "repeats"),
    ],
)
def test_explorer_refuses_bad_inputs(tiny, kwargs, message):
    model, θ, start = tiny
    with pytest.raises(ValueError, match=message):
        impulse_response_explorer(model, θ, start, **kwargs)


def test_responses_name_both_nominal_rates_and_the_real_return(tiny):
    """i_{t+1} set at t is the i paid at t + 1; r_t is the ex-post real return (Fisher, path by path)."""

    model, θ, start = tiny
    irf = impulse_responses(model, θ, start, jax.random.PRNGKey(3), 4, "e", 1.0)
    np.testing.assert_allclose(irf["i"][1:], irf["i_next"][:-1], atol=1e-15)
    assert irf["i"][0] == 0.0  # predetermined
    assert irf["e"][0] == pytest.approx(model.economy.ν_e * np.sqrt(1 - model.economy.ρ_e**2), rel=1e-12)
    # to first order Δr = (Δi - (1 + r) ΔΠ)/(1 + Π): at date 0 (Δi = 0) r moves against Π
    assert np.sign(irf["r"][0]) == -np.sign(irf["Π"][0]) or irf["Π"][0] == 0.0



def test_repeats_add_independent_pairs(tiny):
    """More pairs per state: the shock's own path is the same AR(1) decay, the rest finite."""

    model, θ, start = tiny
    e = model.economy
    irf = impulse_responses(model, θ, start, jax.random.PRNGKey(4), 4, "z", 1.0, repeats=2)
    expected = e.ν_z * np.sqrt(1 - e.ρ_z**2) * e.ρ_z ** np.arange(4)
    np.testing.assert_allclose(irf["shock"], expected, rtol=1e-9)
    assert all(np.isfinite(x).all() for x in irf.values())


def test_responses_refuse_bad_inputs(tiny):

    model, θ, start = tiny
    with pytest.raises(ValueError, match="shock must be 'z'"):
        impulse_responses(model, θ, start, jax.random.PRNGKey(0), 4, "tfp")
    with pytest.raises(ValueError, match="repeats"):
        impulse_responses(model, θ, start, jax.random.PRNGKey(0), 4, "z", repeats=0)
