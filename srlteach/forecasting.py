"""Is a simulated price Markov? Regressions on simulated panels of prices.

With aggregate risk the state of the economy is (g_t, z_t): the whole cross-section and
the shock. The price p_t = P*(g_t, z_t) summarises g_t only partly, so p_t alone is not
Markov: the distribution of p_{t+1} given (p_t, z_t) still depends on g_t, and past prices,
which carry information about g_t, improve forecasts. This module measures both on N
simulated paths (arrays (T, N), time first, as `srlteach.spg` returns them):

- `ols` with standard errors clustered by path (observations along one path are
  dependent; different paths are independent);
- `forecast_design`: the regressors of a forecast of p_{t+1} made at t: a flexible
  function of (p_t, z_t) (one intercept per z node, a cubic in p_t, the interaction p_t·z_t),
  optionally lags p_{t-1}, ..., p_{t-k} and extra variables (moments of g_t);
- `forecast_rmse_by_lags`: out-of-sample root-mean-square forecast errors as lags are added;
- `cross_section_moments`: moments of a (n_b, n_y) cross-section to condition on.
"""

from typing import NamedTuple

import numpy as np


class Regression(NamedTuple):
    """OLS estimates of y = X β + e with standard errors clustered by path."""

    names: tuple  # one name per column of X
    coef: np.ndarray  # β̂
    se: np.ndarray  # clustered standard errors
    t: np.ndarray  # β̂ / se
    rmse: float  # root-mean-square residual
    n: int  # observations
    clusters: int  # independent paths


def ols(y, X, names, clusters) -> Regression:
    """Least squares with the cluster-robust (Liang–Zeger) covariance.

    y : (n,); X : (n, k) with full column rank; names : k column names; clusters : (n,)
    integer path label of each observation. The covariance is
    (XᵀX)⁻¹ (Σ_g X_gᵀ e_g e_gᵀ X_g) (XᵀX)⁻¹ · G/(G-1) · (n-1)/(n-k) over G clusters.
    """
    y, X, clusters = np.asarray(y, float), np.asarray(X, float), np.asarray(clusters)
    n, k = X.shape
    if y.shape != (n,) or clusters.shape != (n,):
        raise ValueError(f"y and clusters must have shape ({n},), got {y.shape} and {clusters.shape}")
    if len(names) != k:
        raise ValueError(f"names must name the {k} columns of X, got {len(names)} names")
    if np.linalg.matrix_rank(X) < k:
        raise ValueError("the columns of X are collinear: drop a regressor")
    labels, group = np.unique(clusters, return_inverse=True)
    G = labels.size
    if G < 2:
        raise ValueError(f"clustered standard errors need at least 2 clusters (paths), got {G}")
    XtX_inv = np.linalg.inv(X.T @ X)
    coef = XtX_inv @ X.T @ y
    e = y - X @ coef
    scores = np.zeros((G, k))
    np.add.at(scores, group, X * e[:, None])  # Σ over each path of x_i e_i
    meat = scores.T @ scores
    cov = XtX_inv @ meat @ XtX_inv * (G / (G - 1)) * ((n - 1) / (n - k))
    se = np.sqrt(np.diag(cov))
    return Regression(tuple(names), coef, se, coef / se, float(np.sqrt(np.mean(e**2))), n, G)


def forecast_design(p, z_index, lags: int = 0, extra: dict | None = None, first: int | None = None):
    """Regressors and target of a forecast of p_{t+1} from information at t.

    p : (T, N) simulated price; z_index : (T, N) node of the aggregate shock (its level
    enters through node dummies, so any function of z_t is allowed); lags : number of
    lagged prices p_{t-1}, ..., p_{t-lags}; extra : {name: (T, N) array} further
    regressors dated t; first : the first date t used (default `lags`; pass the largest
    lag you compare so that all regressions use the same observations).

    Returns (y, X, names, path): y = p_{t+1}, X with columns one dummy per z node, p_t,
    p_t², p_t³, p_t·(z-node index), the lags and the extras, and path the path label of
    each row (for clustering), for t = first, ..., T-2 and every path.
    """
    p, z_index = np.asarray(p, float), np.asarray(z_index)
    T, N = p.shape
    first = lags if first is None else first
    if first < lags:
        raise ValueError(f"first = {first} must be ≥ lags = {lags}")
    if not T - 1 > first:
        raise ValueError(f"paths of length T = {T} leave no observation after {first} lags")
    t = np.arange(first, T - 1)
    p_t, z_t = p[t], z_index[t]
    centred = p_t - p_t.mean()  # centring keeps the cubic well conditioned
    nodes = np.unique(z_index)
    columns = [(z_t == node).astype(float) for node in nodes]
    names = [f"z={node}" for node in nodes]
    columns += [centred, centred**2, centred**3, centred * (z_t - z_t.mean())]
    names += ["p_t", "p_t^2", "p_t^3", "p_t*z_t"]
    for lag in range(1, lags + 1):
        columns.append(p[t - lag])
        names.append(f"p_t-{lag}")
    for name, x in (extra or {}).items():
        columns.append(np.asarray(x, float)[t])
        names.append(name)
    X = np.stack([c.ravel() for c in columns], axis=1)
    path = np.broadcast_to(np.arange(N), (t.size, N)).ravel()
    return p[t + 1].ravel(), X, tuple(names), path


def forecast_rmse_by_lags(p, z_index, max_lags: int, train_share: float = 0.5):
    """Out-of-sample RMSE of forecasts of p_{t+1} with 0, 1, ..., max_lags lagged prices.

    The regressions are fitted on the first `train_share` of the paths and evaluated on
    the others (independent paths, so the evaluation is genuinely out of sample); every
    forecast uses the same dates t ≥ max_lags. Returns (max_lags + 1,) RMSEs.
    """
    p = np.asarray(p, float)
    N = p.shape[1]
    n_train = int(round(train_share * N))
    if not 0 < n_train < N:
        raise ValueError(f"train_share = {train_share} leaves no paths to fit or to evaluate with N = {N}")
    rmse = []
    for lags in range(max_lags + 1):
        y, X, _, path = forecast_design(p, z_index, lags, first=max_lags)
        fit = path < n_train
        coef, *_ = np.linalg.lstsq(X[fit], y[fit], rcond=None)
        rmse.append(np.sqrt(np.mean((y[~fit] - X[~fit] @ coef) ** 2)))
    return np.array(rmse)


def cross_section_moments(g, b_grid):
    """Moments of cross-sections g (..., n_b, n_y) over bonds b: a dict of (...) arrays.

    "mean_b": Σ b g; "sd_b": the cross-sectional standard deviation of b; "at_limit": the
    mass at the borrowing limit b_1; "debt": the bonds owed by borrowers, Σ_{b<0} |b| g.
    """
    g = np.asarray(g, float)
    b = np.asarray(b_grid, float)[:, None]
    mass = g.sum(axis=(-2, -1))
    mean_b = (g * b).sum(axis=(-2, -1)) / mass
    var_b = (g * b**2).sum(axis=(-2, -1)) / mass - mean_b**2
    return {
        "mean_b": mean_b,
        "sd_b": np.sqrt(np.maximum(var_b, 0.0)),
        "at_limit": g[..., 0, :].sum(axis=-1) / mass,
        "debt": (g * np.maximum(-b, 0.0)).sum(axis=(-2, -1)) / mass,
    }
