"""Never report success on garbage (issue 11).

`BAD_INPUTS` is the table of every bad input the issue lists and the ValueError each must
raise, naming the parameter and the bound. A new factory, solver or setting goes into it,
so that none can skip the checks. The tests after it reproduce each case of the issue's
"What was seen" and check that it now raises or reports clearly: none returns
converged=True.
"""

import functools
import pathlib
import re
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlteach.economies.huggett import create_huggett, create_huggett_pe, create_huggett_stationary, interest_rate_chain
from srlteach.economies.huggett.srl import SPG_BOOK, huggett_spg
from srlteach.economies.krusell_smith import create_krusell_smith
from srlteach.economies.krusell_smith.ks1998 import KS1998Config, check_config as check_ks1998_config
from srlteach.economies.krusell_smith.srl import SPG_BOOK as KS_BOOK, krusell_smith_spg
from srlteach.foundations.discretisation import asset_grid, check_transition_matrix, rouwenhorst, tauchen
from srlteach.learning import spg
from srlteach.learning.spg.run import CLIPPED_SHARE_LIMIT, clearing_report
from srlteach.learning.training import TrainConfig, train
from srlteach.solvers.equilibrium import aggregate_savings, stationary_equilibrium
from srlteach.solvers.household import egm, vfi

NAN, INF = float("nan"), float("inf")
ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = SPG_BOOK._replace(N=4, T=20, max_epochs=30)  # checks that fail before training never run it


@functools.cache
def huggett_model():
    return huggett_spg(create_huggett())


@functools.cache
def household_problem():
    """(b_grid, R, income, Π, β, σ) of the book's stationary Huggett household at r = 2%."""
    e = create_huggett_stationary()
    return e.b_grid, jnp.full(3, 1.02), e.y_grid, e.Π_y, e.β, e.σ


def egm_with(**changes):
    problem = dict(zip(("b_grid", "R", "income", "Π", "β", "σ"), household_problem())) | changes
    return egm(*problem.values())


def with_nan(x, where=(0, 0)):
    x = np.array(x, dtype=float)
    x[where] = NAN
    return x


def nan_θ0():
    return jnp.full_like(huggett_model().initial_parameters(), NAN)


BAD_INPUTS = {
    # factories: every number finite, sizes whole numbers, the real reason in the message
    "Huggett σ = inf": (lambda: create_huggett(σ=INF), r"σ must be a finite number, got σ = inf"),
    "Huggett σ = nan": (lambda: create_huggett(σ=NAN), r"σ must be a finite number, got σ = nan"),
    "Huggett β = nan": (lambda: create_huggett(β=NAN), r"β must be a finite number"),
    "Huggett ν_y = nan": (lambda: create_huggett(ν_y=NAN), r"ν_y must be a finite number, got ν_y = nan"),
    "Huggett ν_y = inf": (lambda: create_huggett(ν_y=INF), r"ν_y must be a finite number, got ν_y = inf"),
    "Huggett ν_z = nan": (lambda: create_huggett(ν_z=NAN), r"ν_z must be a finite number"),
    "Huggett ν_z = inf": (lambda: create_huggett(ν_z=INF), r"ν_z must be a finite number"),
    "Huggett ν_y < 0": (lambda: create_huggett(ν_y=-0.1), r"standard deviation ν must be ≥ 0, got ν = -0.1"),
    "Huggett curvature = nan": (lambda: create_huggett(curvature=NAN), r"curvature must be a finite number"),
    "Huggett r_min = nan": (lambda: create_huggett(r_min=NAN), r"r_min must be a finite number"),
    "Huggett b_min = -inf": (lambda: create_huggett(b_min=-INF), r"b_min must be a finite number"),
    "Huggett n_b = 70.5": (lambda: create_huggett(n_b=70.5), r"asset grid size n_b must be an integer ≥ 2, got 70.5"),
    "Huggett n_r = nan": (lambda: create_huggett(n_r=NAN), r"interest-rate grid size n_r must be an integer ≥ 2, got n_r = nan"),
    "Huggett PE ν_r = inf": (lambda: create_huggett_pe(ν_r=INF), r"volatility ν_r must be finite, got ν_r = inf"),
    "Huggett PE r̄ = nan": (lambda: create_huggett_pe(r̄=NAN), r"long-run mean r̄ = nan must lie inside the r grid"),
    "r chain ρ_r = nan": (lambda: interest_rate_chain(jnp.linspace(0.01, 0.06, 5), 0.03, NAN, 0.02), r"persistence ρ_r must satisfy"),
    "Krusell–Smith ν_z = nan": (lambda: create_krusell_smith(ν_z=NAN), r"ν_z must be a finite number, got ν_z = nan"),
    "Krusell–Smith ν_z = inf": (lambda: create_krusell_smith(ν_z=INF), r"ν_z must be a finite number"),
    "Krusell–Smith ν_y = nan": (lambda: create_krusell_smith(ν_y=NAN), r"ν_y must be a finite number"),
    "Krusell–Smith σ = inf": (lambda: create_krusell_smith(σ=INF), r"σ must be a finite number"),
    "Krusell–Smith b_min = nan": (lambda: create_krusell_smith(b_min=NAN), r"b_min must be a finite number"),
    "Krusell–Smith n_r = 11.5": (lambda: create_krusell_smith(n_r=11.5), r"price grid size n_r must be an integer ≥ 2, got n_r = 11.5"),
    "Krusell–Smith g0 with NaN": (
        lambda: krusell_smith_spg(create_krusell_smith(), g0=with_nan(np.full((60, 3), 1 / 180))),
        r"g0 must be a distribution \(finite, non-negative, summing to one\)",
    ),
    # discretisation
    "tauchen ν = nan": (lambda: tauchen(3, 0.5, NAN), r"standard deviation ν must be a finite number, got ν = nan"),
    "tauchen ν = inf": (lambda: tauchen(3, 0.5, INF), r"standard deviation ν must be a finite number, got ν = inf"),
    "tauchen ρ = nan": (lambda: tauchen(3, NAN, 0.2), r"persistence ρ must satisfy \|ρ\| < 1, got ρ = nan"),
    "tauchen n = 3.5": (lambda: tauchen(3.5, 0.5, 0.2), r"number of states n must be a positive integer, got 3.5"),
    "tauchen m = inf": (lambda: tauchen(3, 0.5, 0.2, m=INF), r"half-width m .* must be finite and > 0"),
    "rouwenhorst ν = nan": (lambda: rouwenhorst(3, 0.5, NAN), r"standard deviation ν must be a finite number, got ν = nan"),
    "asset_grid curvature = nan": (lambda: asset_grid(-1.0, 20.0, 10, NAN), r"grid curvature must be a finite number, got grid curvature = nan"),
    "asset_grid b_max = inf": (lambda: asset_grid(-1.0, INF, 10), r"b_max must be a finite number"),
    "asset_grid n = 10.5": (lambda: asset_grid(-1.0, 20.0, 10.5), r"asset grid size n_b must be an integer ≥ 2, got 10.5"),
    "transition matrix with NaN": (lambda: check_transition_matrix(with_nan(np.eye(2))), r"Π must be finite everywhere; 1 of its 4 entries"),
    # household solvers
    "egm Π with NaN": (lambda: egm_with(Π=with_nan(household_problem()[3])), r"Π must be finite everywhere"),
    "egm σ = inf": (lambda: egm_with(σ=INF), r"CRRA coefficient σ must be finite, got σ = inf"),
    "egm β = nan": (lambda: egm_with(β=NAN), r"discount factor β must satisfy 0 < β < 1, got β = nan"),
    "egm R with NaN": (lambda: egm_with(R=jnp.array([1.02, NAN, 1.02])), r"R must be finite everywhere"),
    "egm income = inf": (lambda: egm_with(income=jnp.array([0.5, 1.0, INF])), r"income must be finite everywhere"),
    "egm b_grid with NaN": (lambda: egm_with(b_grid=with_nan(household_problem()[0], 3)), r"b_grid must be finite everywhere"),
    "egm tol = nan": (lambda: egm(*household_problem(), tol=NAN), r"tolerance tol must be finite and > 0, got tol = nan"),
    "egm max_iter = 10.5": (lambda: egm(*household_problem(), max_iter=10.5), r"max_iter must be a positive integer, got 10.5"),
    "vfi σ = nan": (lambda: vfi(*household_problem()[:5], NAN), r"CRRA coefficient σ must be > 0, got σ = nan"),
    "vfi n_golden = 0": (lambda: vfi(*household_problem(), n_golden=0), r"n_golden must be a positive integer, got 0"),
    # stationary equilibrium
    "stationary_equilibrium r_bracket nan": (
        lambda: stationary_equilibrium(create_huggett_stationary(), r_bracket=(NAN, 0.03)), r"r_bracket must be a finite number"
    ),
    "stationary_equilibrium tol = inf": (lambda: stationary_equilibrium(create_huggett_stationary(), tol=INF), r"tol must be finite and > 0"),
    "aggregate_savings r = nan": (lambda: aggregate_savings(create_huggett_stationary(), [0.01, NAN]), r"r_nodes must be finite everywhere"),
    # SPG settings (check_config) and the trainer's
    "SPGConfig N = 32.5": (lambda: spg.check_config(spg.SPGConfig(N=32.5)), r"N must be a positive integer, got N = 32.5"),
    "SPGConfig T = inf": (lambda: spg.check_config(spg.SPGConfig(T=INF)), r"T must be a positive integer, got T = inf"),
    "SPGConfig η0 = nan": (lambda: spg.check_config(spg.SPGConfig(η0=NAN)), r"learning rate η0 must lie in \(0, 1\], got η0 = nan"),
    "SPGConfig tol = nan": (lambda: spg.check_config(spg.SPGConfig(tol=NAN)), r"tolerance tol must lie in \[0, 1\), got tol = nan"),
    "SPGConfig decay_rate = nan": (lambda: spg.check_config(spg.SPGConfig(decay_rate=NAN)), r"decay_rate must lie in \(0, 1\]"),
    "SPGConfig warmup = -1": (lambda: spg.check_config(spg.SPGConfig(warmup=-1)), r"warmup must be an integer ≥ 0, got warmup = -1"),
    "TrainConfig max_epochs = nan": (
        lambda: train(lambda θ, s, k, e: (-jnp.sum(θ**2), ({}, s)), jnp.ones(2), None, TrainConfig(max_epochs=NAN)),
        r"max_epochs must be a positive integer, got max_epochs = nan",
    ),
    "TrainConfig tol = nan": (
        lambda: train(lambda θ, s, k, e: (-jnp.sum(θ**2), ({}, s)), jnp.ones(2), None, TrainConfig(tol=NAN)),
        r"tol must be finite and ≥ 0, got tol = nan",
    ),
    "train θ0 = inf": (
        lambda: train(lambda θ, s, k, e: (-jnp.sum(θ**2), ({}, s)), jnp.array([1.0, INF]), None),
        r"θ0 must be finite: leaf 0 has 1 NaN or inf entries",
    ),
    "KS1998Config n_K = nan": (lambda: check_ks1998_config(KS1998Config(n_K=NAN)), r"n_K must be an integer ≥ 2, got n_K = nan"),
    "KS1998Config tol = inf": (lambda: check_ks1998_config(KS1998Config(tol=INF)), r"tol must be finite, got tol = inf"),
    # solve and simulate: θ0 and θ checked before anything is compiled
    "solve θ0 all NaN": (lambda: spg.solve(huggett_model(), TINY, θ0=nan_θ0()), r"θ0 must be finite: leaf 0 has 20790 NaN or inf entries of 20790"),
    "solve θ0 of the wrong shape": (lambda: spg.solve(huggett_model(), TINY, θ0=jnp.zeros((2, 3))), r"θ0 must have shape \(9, 11, 70, 3\)"),
    "simulate θ of the wrong shape": (
        lambda: spg.simulate(huggett_model(), jnp.zeros((9, 11, 70)), jax.random.PRNGKey(0), 4, 5), r"θ must have shape \(9, 11, 70, 3\)"
    ),
    "simulate T = 5.5": (
        lambda: spg.simulate(huggett_model(), huggett_model().initial_parameters(), jax.random.PRNGKey(0), 4, 5.5),
        r"T must be a positive integer, got T = 5.5",
    ),
    # grids that cannot bracket market clearing: rejected before training (issue: "What was seen" 1)
    "Huggett σ = 10: r* below r_min": (
        lambda: spg.solve(huggett_spg(create_huggett(σ=10.0)), TINY),
        r"cannot bracket market clearing: at β = 0.96, σ = 10.0 the stationary rate r\* lies below r_min .*lower r_min",
    ),
    "Huggett β = 0.99: r* below r_min": (
        lambda: spg.solve(huggett_spg(create_huggett(β=0.99)), TINY),
        r"cannot bracket market clearing: at β = 0.99, σ = 2.0 the stationary rate r\* lies below r_min .*lower r_min",
    ),
    "Huggett r_min above 1/β - 1": (
        lambda: spg.solve(huggett_spg(create_huggett(r_min=0.042, r_max=0.2, n_r=40)), TINY),
        r"r_min = 0.042 must be < 1/β - 1 = 0.04167|does not bracket market clearing at the initial policy",
    ),
    "Huggett r_max below r*": (
        lambda: spg.solve(huggett_spg(create_huggett(r_min=-0.02, r_max=0.015)), TINY),
        r"stationary rate r\* lies above r_max .*raise r_max|does not bracket market clearing at the initial policy",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_a_value_error_that_names_it(case):
    call, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        call()


def test_whole_number_sizes_are_cast_to_int():
    assert create_huggett(n_b=70.0, n_r=11.0).b_grid.shape == (70,)
    assert create_krusell_smith(n_r=11.0).r_grid.shape == (11,)
    assert tauchen(3.0, 0.5, 0.2)[0].shape == (3,)
    config = spg.check_config(spg.SPGConfig(N=32.0, T=90.0))
    assert (config.N, config.T) == (32, 90) and type(config.N) is int
    assert check_ks1998_config(KS1998Config(n_K=5.0)).n_K == 5


def test_solve_with_float_sizes_and_integer_θ0_runs():
    """Issue: N = 32.0, T = 90.0 passed the check and failed inside JAX; an integer θ0 was not cast."""
    model = huggett_model()
    θ0 = jnp.round(model.initial_parameters()).astype(int)
    config = TINY._replace(N=4.0, T=20.0, max_epochs=2.0, warmup=0, plateau=0)
    result = spg.solve(model, config, θ0=θ0)
    assert result.epochs == 2 and result.θ.dtype == jnp.float32 and not result.converged
    assert result.message.startswith("not converged: max |Δθ| stayed ≥ tol")


def test_simulate_from_a_float64_start_runs_the_float32_model():
    """Issue: a start whose aggregate state is float64 failed inside lax.scan (carry types)."""
    model = spg.in_dtype(krusell_smith_spg(create_krusell_smith()), "float32")
    θ = model.initial_parameters()
    start = spg.initial_state(model, 4, jax.random.PRNGKey(0))
    start64 = start._replace(a=start.a + np.float64(0.01), g=jnp.asarray(start.g, jnp.float64))
    assert start64.a.dtype == jnp.float64
    path = spg.simulate(model, θ, jax.random.PRNGKey(1), 4, 5, start=start64)
    assert path.prices.values.dtype == jnp.float32


def test_save_result_and_load_result_without_the_npz_suffix(tmp_path, monkeypatch):
    """Issue: save_result("run1", r) wrote run1.npz, but load_result("run1") could not find it."""
    monkeypatch.chdir(tmp_path)
    result = spg.solve(huggett_model(), TINY._replace(max_epochs=1))
    spg.save_result("run1", result)
    assert (tmp_path / "run1.npz").exists()
    loaded = spg.load_result("run1")
    assert loaded.message == result.message and loaded.converged == result.converged
    np.testing.assert_array_equal(np.asarray(loaded.θ), np.asarray(result.θ))
    assert spg.load_result(tmp_path / "run1.npz").epochs == 1


def test_huggett_with_volatile_aggregate_risk_is_not_converged_and_names_r_and_its_edge():
    """Issue, "What was seen" 1: ν_z = 0.1 leaves the book's r grid; training reported
    converged=True while the rate sat at r_min. A short run with a larger step reaches the
    same regime: the clipped share is flagged, with the price, the edge and what to widen."""
    config = SPG_BOOK._replace(N=4, T=100, warmup=10, plateau=10, η0=0.05, max_epochs=90)
    result = spg.solve(huggett_spg(create_huggett(ν_z=0.1)), config)
    recent = result.history["out_of_grid"][-50:] / (config.N * config.T)
    assert recent.mean() > CLIPPED_SHARE_LIMIT
    assert not result.converged
    assert re.search(r"r sat at or below the lowest node of its grid .*lower r_min", result.message), result.message


def test_krusell_smith_prices_off_the_grid_are_not_converged():
    """Issue, "What was seen" 1 (Krusell–Smith): clipped prices are flagged, naming the price and edge."""
    result = spg.solve(krusell_smith_spg(create_krusell_smith(ν_z=0.1)), KS_BOOK._replace(N=4, T=20, max_epochs=25))
    assert not result.converged
    assert re.search(r"(r|w) sat at or (below the lowest|above the highest) node .*(lower|raise) (r|w)_(min|max)", result.message)


def test_clearing_report_of_a_simulation():
    """Simulations report the share of clipped prices and the largest |clearing residual|."""
    economy = create_huggett()
    model = huggett_spg(economy)
    θ = model.initial_parameters()
    path = spg.simulate(model, θ, jax.random.PRNGKey(0), 4, 30)
    report = clearing_report(model, path)
    assert report.clipped_share == 0 and report.at_edge == {} and report.largest_residual < 1e-8
    # a policy that saves nearly everything drives r to the lowest node: every date is clipped there
    saver = jnp.full_like(θ, 8.0)
    report = clearing_report(model, spg.simulate(model, saver, jax.random.PRNGKey(0), 4, 30))
    assert report.clipped_share > 0.9 and report.at_edge["r", "low"] > 0.9
    assert report.extreme["r", "low"] == pytest.approx(float(economy.r_grid[0]))
    assert "lower r_min" in report.advice()


def test_library_does_not_depend_on_ipywidgets():
    """Colab keeps its ipywidgets 7.x: the library never imports it, so it is no dependency
    (the book's requirements.txt pins it)."""
    imports = re.compile(r"^\s*(import|from)\s+ipywidgets", re.MULTILINE)
    assert not [p for p in (ROOT / "srlteach").rglob("*.py") if imports.search(p.read_text())]
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in dependencies if d.startswith("ipywidgets")]
    assert "ipywidgets" in (ROOT / "requirements.txt").read_text()
