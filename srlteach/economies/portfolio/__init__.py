"""The portfolio-choice economy (models.md, model 4): a safe bond and risky capital.

- `economy`: calibration, factory, prices, the stationary reference without aggregate risk;
- `srl`: the SPG plug-in (the bond price cleared inside every rollout), simulation,
  the premium, portfolio holdings and Euler errors;
- `explorer`: the chapter's figure of a trained portfolio at given prices (imported on its
  own: it needs matplotlib).
"""

from srlteach.economies.portfolio.economy import create_portfolio, stationary_reference
from srlteach.economies.portfolio.srl import (
    SPG_PAPER,
    SPG_BOOK,
    portfolio_choice,
    portfolio_spg,
    simulate_aggregates,
    holdings,
    euler_errors,
)
