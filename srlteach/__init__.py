"""srlteach: structural reinforcement learning for heterogeneous-agent macroeconomics.

The library behind the book. Layers, bottom to top:

- `discretisation`, `distributions`, `utility`: Markov chains, asset grids, Young's
  lottery and the push-forward of a cross-section;
- `household`, `equilibrium`, `ks1998`: reference solvers (EGM/VFI, stationary equilibrium,
  the Krusell–Smith (1998) algorithm);
- `monte_carlo`, `policy_gradient`, `spg`, `lagged_prices`: the learning methods (the last
  adds last period's prices to any economy's policy);
- `huggett`, `krusell_smith`: one module per economy;
- `explorers`: figures and interactive explorers used by the chapters.

srlteach computes in float64 by default (it enables `jax_enable_x64` on import) so that
reference solutions and the numbers printed in the book are accurate to the digits shown.
"""

import jax

jax.config.update("jax_enable_x64", True)

from srlteach import discretisation, distributions, utility  # noqa: E402
from srlteach.discretisation import asset_grid, rouwenhorst, stationary_markov, tauchen  # noqa: E402
from srlteach.distributions import (  # noqa: E402
    Lottery,
    expectation,
    lottery,
    push_forward,
    stationary_distribution,
    transition_matrix,
)
from srlteach.utility import crra_utility  # noqa: E402
from srlteach import equilibrium, household, huggett, krusell_smith  # noqa: E402
from srlteach.household import HouseholdPolicy, egm, policy_value, vfi  # noqa: E402
from srlteach.huggett import (  # noqa: E402
    Huggett,
    clear_bond_market,
    constant_prices_policy,
    create_huggett,
    create_huggett_pe,
    create_huggett_stationary,
    supply_schedule,
)
from srlteach.krusell_smith import KrusellSmith, create_krusell_smith  # noqa: E402
from srlteach.equilibrium import StationaryEquilibrium, stationary_equilibrium  # noqa: E402
from srlteach import forecasting, monte_carlo, policy_gradient  # noqa: E402
from srlteach.monte_carlo import MonteCarloEstimate, markov_value, mean_and_se, monte_carlo_value  # noqa: E402
from srlteach.policy_gradient import TrainConfig, TrainResult, train, warmup_exponential_decay  # noqa: E402
from srlteach import spg  # noqa: E402
from srlteach.spg import SPGConfig, SPGResult  # noqa: E402
from srlteach.huggett import HuggettPESPG, HuggettSPG, huggett_pe_spg, huggett_spg  # noqa: E402
from srlteach import ks1998, lagged_prices  # noqa: E402
from srlteach.krusell_smith import KrusellSmithSPG, krusell_smith_spg, simulate_aggregates  # noqa: E402
from srlteach.ks1998 import KS1998Config, KS1998Solution, solve_ks1998  # noqa: E402
from srlteach.lagged_prices import LaggedPrices, LaggedState  # noqa: E402

__version__ = "0.1.0"
