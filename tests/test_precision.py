"""float32 against float64: the engine's default float type does not change the economics.

The SPG engine trains in float32 by default (`SPGConfig.dtype`). A float32 and a float64
run are different runs (rounding moves every step, so they stop after different numbers of
epochs), but the economies they learn must agree to within the method's own noise. Measured
on the book's Krusell–Smith configuration (2026-11-30, the same shocks for both): mean K
5.2236 against 5.2249 (0.03%), s.d. of log K 0.0518 against 0.0528 (2%).
"""

import jax
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64 for the reference)
from srlteach.economies.krusell_smith import SPG_BOOK, create_krusell_smith, krusell_smith_spg, log_z_path, simulate_aggregates
from srlteach.learning import spg
from srlteach.solvers.equilibrium import stationary_equilibrium


@pytest.fixture(scope="module")
def runs():
    economy = create_krusell_smith("book")
    steady = stationary_equilibrium(economy)
    model = krusell_smith_spg(economy, g0=steady.g)
    log_z = log_z_path(economy, jax.random.PRNGKey(7), 2000)
    paths = {}
    for dtype in ("float32", "float64"):
        result = spg.solve(model, SPG_BOOK._replace(dtype=dtype))
        assert result.converged
        paths[dtype], _ = simulate_aggregates(result.model, result.θ, log_z.astype(dtype), steady.g)
    return paths


def test_float32_and_float64_learn_the_same_economy(runs):
    K32, K64 = (np.asarray(runs[d].K[200:], float) for d in ("float32", "float64"))
    assert abs(K32.mean() / K64.mean() - 1) < 2e-3
    assert abs(np.log(K32).std() / np.log(K64).std() - 1) < 0.05
    assert np.corrcoef(K32, K64)[0, 1] > 0.999
