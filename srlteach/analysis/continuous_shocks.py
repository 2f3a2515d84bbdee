"""Forecasting regressions when the aggregate shock is continuous (Krusell–Smith's log z).

`srlteach.analysis.forecasting.forecast_design` conditions on the shock through one
intercept per pair of shock nodes (z_t, z_{t+1}), which needs z on a few nodes, as in the
Huggett economy. In Krusell–Smith log z is a continuous AR(1), so every date would be a
node of its own. Here the shock enters as regressors instead: log z_t, log z_{t+1} and the
interaction (p_t - p̄) log z_{t+1}, next to the same cubic in p_t and the same lags, with a
single "node" for the intercept.
"""

import numpy as np

from srlteach.analysis.forecasting import forecast_rmse_by_lags


def continuous_shock_regressors(p, log_z) -> dict:
    """{name: (T, N) array}: log z_t, log z_{t+1} and (p_t - p̄) log z_{t+1}, dated t.

    p, log_z : (T, N) simulated price and shock, time first. The last date has no
    tomorrow; it is filled with log z_{T-1}, and `forecast_design` never uses that date as a
    regressor's (it has no p_{t+1} to forecast).
    """
    p, log_z = np.asarray(p, float), np.asarray(log_z, float)
    if p.ndim != 2 or p.shape != log_z.shape:
        raise ValueError(f"p and log_z must be (T, N) arrays of the same shape, got {p.shape} and {log_z.shape}")
    z_next = np.concatenate([log_z[1:], log_z[-1:]])
    return {"log z_t": log_z, "log z_t+1": z_next, "p_t*log z_t+1": (p - p.mean()) * z_next}


def forecast_rmse_by_lags_continuous(p, log_z, max_lags: int, train_share: float = 0.5, valid=None) -> np.ndarray:
    """Out-of-sample RMSE of forecasts of p_{t+1} with 0, 1, ..., max_lags lagged prices,
    given (p_t, log z_t, log z_{t+1}) as `continuous_shock_regressors`.

    Each forecast is fitted on the first `train_share` of the paths and evaluated on the
    others (`srlteach.analysis.forecasting.forecast_rmse_by_lags`), all on the same dates
    t ≥ max_lags. Returns a (max_lags + 1,) array. If (p, z) were Markov, lags could not
    lower it beyond sampling noise.
    """
    if not np.isfinite(max_lags) or int(max_lags) != max_lags or max_lags < 0:
        raise ValueError(f"max_lags must be an integer ≥ 0, got max_lags = {max_lags}")
    single_node = np.zeros(np.shape(p), int)
    return forecast_rmse_by_lags(p, single_node, int(max_lags), train_share, valid, extra=continuous_shock_regressors(p, log_z))
