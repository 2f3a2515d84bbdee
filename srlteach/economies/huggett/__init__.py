"""The Huggett economy (models.md, models 1 and 2): bonds in zero net supply.

- `economy`: calibration, factories, budget, market clearing, reference policies by EGM;
- `srl`: the SPG plug-ins and the diagnostics of trained policies;
- `bond_price`: the bond-price timing of the slides, c + q_t b′ = b + y z_t, and its SPG plug-in;
- `price_lab`: the economy under a fixed policy, for the non-Markov chapter.
"""

from srlteach.economies.huggett.economy import (
    Huggett,
    CALIBRATION,
    create_huggett,
    create_huggett_stationary,
    create_huggett_pe,
    interest_rate_chain,
    cash_on_hand,
    exogenous_states,
    constant_prices_policy,
    pe_reference_policy,
    supply_schedule,
    clear_bond_market,
    policy_at_rate,
)
from srlteach.economies.huggett.srl import (
    SPG_PAPER,
    SPG_BOOK,
    SPG_BOOK_PE,
    huggett_spg,
    huggett_pe_spg,
    with_terminal_value,
    spg_policy,
    pe_ergodic_distribution,
    consumption_gap,
    euler_errors_along_paths,
)
from srlteach.economies.huggett.bond_price import (
    HuggettBondPrice,
    create_huggett_bond_price,
    create_huggett_bond_price_stationary,
    huggett_bond_price_spg,
    stationary_equilibrium_bond_price,
    consumption_along_paths,
)
