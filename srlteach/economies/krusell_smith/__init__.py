"""The Krusell–Smith economy (models.md, model 3): capital and closed-form prices.

- `economy`: calibration, factory, prices, the aggregate shock;
- `srl`: the SPG plug-in, simulation on given shocks, Euler errors (at one date or along a path);
- `ks1998`: the reference solution by the Krusell–Smith (1998) algorithm;
- `neural`: DeepHAM-style and DEQN-style neural solutions (the other-global-methods chapter);
- `comparison`: every method reduced to a decision rule on the grid, one simulator and one
  Euler-error measure for all.
"""

from srlteach.economies.krusell_smith.economy import (
    KrusellSmith,
    create_krusell_smith,
    prices,
    capital_demand,
    cash_on_hand,
    AggregatePath,
    log_z_path,
)
from srlteach.economies.krusell_smith.srl import (
    SPG_PAPER,
    SPG_BOOK,
    krusell_smith_spg,
    with_terminal_value,
    simulate_aggregates,
    euler_errors,
    euler_errors_along,
    EulerErrorSummary,
)
