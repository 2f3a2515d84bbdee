"""The one-asset HANK economy with a forward-looking Phillips curve (models.md, model 5).

- `economy`: calibration, factory, the per-period blocks (Taylor rule, Fisher equation,
  dividends, transfers, household income, Phillips curve) and the grid check;
- `steady_state`: the stationary equilibrium without aggregate risk, by EGM (and by VFI as
  the independent check);
- `srl`: the SPG plug-in (households and the price-setting firm learning together);
- `accuracy`: Phillips-curve, Euler and labour errors on visited states, impulse responses.
"""

from srlteach.economies.hank.economy import (
    HANK,
    CALIBRATION,
    SCALES,
    create_hank,
    nominal_rate,
    real_rate,
    dividends,
    transfers,
    household_income,
    phillips_curve_wage,
    phillips_curve_residual,
    check_grids,
)
from srlteach.economies.hank.steady_state import (
    SteadyState,
    steady_state,
    steady_state_prices,
    labour_supply,
    consumption_and_labour,
    household_egm,
    egm_iteration,
    household_vfi,
    steady_state_value,
)
from srlteach.economies.hank.srl import (
    SPG_PAPER,
    SPG_BOOK,
    HANKSPG,
    HANKState,
    hank_spg,
    with_terminal_value,
    steady_policy,
    household_choices,
)
from srlteach.economies.hank.accuracy import (
    continuations,
    phillips_curve_residual_at,
    household_errors_at,
    visited_states,
    impulse_responses,
)
