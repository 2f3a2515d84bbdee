"""The Huggett economy (models.md, models 1 and 2): bonds in zero net supply.

- `economy`: calibration, factories, budget, market clearing, reference policies by EGM;
- `srl`: the SPG plug-ins and the diagnostics of trained policies;
- `price_lab`: the economy under a fixed policy, for the non-Markov chapter.
"""

from srlteach.economies.huggett.economy import (
    Huggett,
    CALIBRATION,
    SCALES,
    PE_CALIBRATION,
    create_huggett,
    create_huggett_stationary,
    create_huggett_pe,
    interest_rate_chain,
    cash_on_hand,
    exogenous_states,
    constant_prices_policy,
    pe_reference_policy,
    BondMarket,
    supply_schedule,
    clear_bond_market,
    policy_at_rate,
)
from srlteach.economies.huggett.srl import (
    SHARE_BOUND,
    SPG_PAPER,
    SPG_BOOK,
    SPG_BOOK_PE,
    savings_table,
    savings_parameters,
    HuggettSPG,
    HuggettPESPG,
    huggett_spg,
    huggett_pe_spg,
    spg_policy,
    pe_ergodic_distribution,
    consumption_gap,
    PathEulerErrors,
    euler_errors_along_paths,
)
from srlteach.economies.huggett.price_lab import (
    LAB_GRID,
    PriceLab,
    create_price_lab,
    simulate_lab,
    StartingPoint,
    matched_starting_points,
    rate_paths_from,
)
