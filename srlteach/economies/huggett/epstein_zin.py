"""Huggett with aggregate risk and Epstein–Zin households (issue 17).

The household, budget, bond market and policy table are those of `HuggettSPG`; only the
way a household values a stream of consumption changes. With risk aversion γ and
intertemporal elasticity 1/ρ (ρ = the economy's σ), the value along a simulated path of
(z_t, r_t) follows the engine's `EpsteinZin` aggregator,

    U_t = u(c_t) + β 𝒞_t(U_{t+1}),   𝒞(U) = (A_π [((1-ρ) U)^α])^(1/α) / (1 - ρ),   α = (1-γ)/(1-ρ),

where A_π is the household's own transition (Young's lottery and the income chain): the
certainty equivalent is taken over the household's idiosyncratic next state along the path,
and aggregate risk enters through the average over paths of the objective. At γ = ρ the
economy is the CRRA Huggett economy.

The policy's interest-rate grid reaches lower than the CRRA economy's (`EZ_R_GRID`): with
γ = 10 the stationary rate (about 1%, `epstein_zin_equilibrium`) lies below the spec's
r_min = 0.01. The node spacing of each scale is kept.
"""

import dataclasses

import jax
import jax.numpy as jnp

from srlteach.economies.huggett.economy import Huggett, create_huggett
from srlteach.economies.huggett.srl import HuggettSPG, huggett_spg
from srlteach.learning.spg import EpsteinZin, in_dtype
from srlteach.solvers.epstein_zin import (
    EpsteinZinEquilibrium,
    check_preferences,
    epstein_zin_equilibrium,
    epstein_zin_household,
)

# r grids of the Epstein–Zin economy: from -0.01 to the spec's r_max = 0.06 at the spec's
# spacing (book 0.005 as 11 nodes on [0.01, 0.06]; paper 0.05/19 as 20 nodes).
EZ_R_GRID = dict(book=dict(r_min=-0.01, n_r=15), paper=dict(r_min=-0.01, n_r=27))
# The risk aversions the chapter compares at ρ = σ = 2: γ = ρ (CRRA), 5 and 10, the range
# of the asset-pricing literature (Bansal and Yaron 2004 use 10).
GAMMAS = (2.0, 5.0, 10.0)


def create_huggett_ez(scale: str = "book", **overrides) -> Huggett:
    """The Huggett economy of `create_huggett` on the Epstein–Zin r grid (`EZ_R_GRID`)."""
    return create_huggett(scale, **{**EZ_R_GRID.get(scale, {}), **overrides})


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettEZSPG(HuggettSPG):
    """`HuggettSPG` with Epstein–Zin households: the engine reads `aggregator` (static).

    The initial policy is `HuggettSPG`'s: the policy if (y, z, r) stayed constant forever,
    a riskless problem in which Epstein–Zin and CRRA with σ = ρ coincide.
    """

    aggregator: EpsteinZin = dataclasses.field(kw_only=True, metadata=dict(static=True))

    def check_policy(self, table):
        """`HuggettSPG.check_policy`, and the Epstein–Zin stationary rate must lie above r_min:
        bond demand at r_min without aggregate risk (one VFI solve) must be negative."""
        super().check_policy(table)
        e = in_dtype(self.economy, "float64")
        r_min = float(e.r_grid[0])
        _, policy, g = epstein_zin_household(e.b_grid, e.y_grid, e.Π_y / e.Π_y.sum(axis=1, keepdims=True), e.β, e.σ, self.aggregator.γ, r_min)
        S = float(jnp.sum(policy.b_next * g))
        if not S < 0:
            raise ValueError(
                f"the r grid cannot bracket market clearing: at γ = {self.aggregator.γ} the Epstein–Zin stationary "
                f"rate lies below r_min = {r_min:.4g} (bond demand {S:.3g} > 0 without aggregate risk); lower r_min"
            )


def huggett_ez_spg(economy: Huggett, γ: float) -> HuggettEZSPG:
    """The SPG plug-in of the Huggett economy with Epstein–Zin households of risk aversion γ
    and ρ = economy.σ. Raises ValueError unless γ is finite, > 0, ≠ 1 and on ρ's side of 1."""
    check_preferences(economy.σ, γ)
    crra = huggett_spg(economy)
    return HuggettEZSPG(crra.economy, crra.g0, crra.ψ_z, crra.locator, aggregator=EpsteinZin(float(economy.σ), float(γ)))


def ez_stationary_equilibrium(economy: Huggett, γ: float, tol: float = 1e-9) -> EpsteinZinEquilibrium:
    """The stationary equilibrium (z ≡ 1) with Epstein–Zin households, searched over the
    economy's r grid below 1/β - 1 (`srlteach.solvers.epstein_zin.epstein_zin_equilibrium`)."""
    r_hi = min(float(economy.r_grid[-1]), 1 / economy.β - 1 - 1e-6)
    return epstein_zin_equilibrium(economy, γ, (float(economy.r_grid[0]), r_hi), tol)
