"""Is a simulated price Markov? Regressions on simulated panels of prices.

With aggregate risk the state of the economy is (g_t, z_t): the whole cross-section and
the shock. The price p_t = P*(g_t, z_t) summarises g_t only partly, so p_t alone is not
Markov: the distribution of p_{t+1} given (p_t, z_t) still depends on g_t, and past prices,
which carry information about g_t, improve forecasts. This module measures both on N
simulated paths (arrays (T, N), time first, as `srlteach.learning.spg` returns them):

- `ols` with standard errors clustered by path (observations along one path are
  dependent; different paths are independent);
- `forecast_design`: the regressors of a forecast of p_{t+1} from a flexible function of
  (p_t, z_t, z_{t+1}), optionally with lags p_{t-1}, ..., p_{t-k} and extra variables
  (moments of g_t);
- `out_of_sample_rmse`, `forecast_rmse_by_lags`: out-of-sample root-mean-square forecast
  errors, and how they fall as lags are added;
- `usable_dates`: the dates to keep when a simulated price was clipped to its grid;
- `cross_section_moments`: moments of a (n_b, n_y) cross-section to condition on.

The chapter's simulated economy is `srlteach.economies.huggett.price_lab`.
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


def _node_dummies(*indices):
    """One 0/1 column per combination of node indices that occurs (e.g. (z_t, z_{t+1}))."""
    combined = np.stack([np.ravel(i) for i in indices], axis=1)
    cells, which = np.unique(combined, axis=0, return_inverse=True)
    columns = [(which.ravel() == k).astype(float) for k in range(len(cells))]
    return columns, [",".join(map(str, cell)) for cell in cells]


def forecast_design(p, z_index, lags: int = 0, extra: dict | None = None, first: int | None = None, valid=None):
    """Regressors and target of a forecast of p_{t+1} given (p_t, z_t) and tomorrow's shock z_{t+1}.

    Tomorrow's shock is independent of everything else dated t given z_t, so conditioning
    on it removes the noise it adds to p_{t+1} without changing the question: if (p, z)
    were Markov, p_{t+1} could not depend on g_t given (p_t, z_t, z_{t+1}).

    p : (T, N) simulated price; z_index : (T, N) nodes of the aggregate shock; lags :
    number of lagged prices p_{t-1}, ..., p_{t-lags}; extra : {name: (T, N) array} further
    regressors dated t; first : first date t used (default `lags`; pass the largest lag you
    compare so that all regressions use the same observations); valid : optional (T, N)
    bool, dates whose price is usable (e.g. not clipped to the price grid): a row is kept
    only if p_t and p_{t+1} are valid.

    The baseline is flexible: one intercept per pair (z_t, z_{t+1}), a cubic in p_t, and
    p_t, p_t² interacted with z_{t+1} and p_t with z_t. Returns (y, X, names, path): y =
    p_{t+1}, the columns of X, their names, and the path of each row (for clustering).
    """
    p, z_index = np.asarray(p, float), np.asarray(z_index)
    T, N = p.shape
    first = lags if first is None else first
    if first < lags:
        raise ValueError(f"first = {first} must be ≥ lags = {lags}")
    if not T - 1 > first:
        raise ValueError(f"paths of length T = {T} leave no observation after {first} lags")
    t = np.arange(first, T - 1)
    keep = np.ones((t.size, N), bool) if valid is None else (np.asarray(valid)[t] & np.asarray(valid)[t + 1])
    keep = keep.ravel()
    z_t, z_next = z_index[t].ravel()[keep], z_index[t + 1].ravel()[keep]
    p_t = p[t].ravel()[keep]
    centred = p_t - p_t.mean()  # centring keeps the polynomial well conditioned
    columns, cells = _node_dummies(z_t, z_next)
    names = [f"z_t,z_t+1={cell}" for cell in cells]
    columns += [centred, centred**2, centred**3]
    names += ["p_t", "p_t^2", "p_t^3"]
    for node in np.unique(z_index)[1:]:
        columns += [centred * (z_next == node), centred**2 * (z_next == node), centred * (z_t == node)]
        names += [f"p_t*[z_t+1={node}]", f"p_t^2*[z_t+1={node}]", f"p_t*[z_t={node}]"]
    for lag in range(1, lags + 1):
        columns.append(p[t - lag].ravel()[keep])
        names.append(f"p_t-{lag}")
    for name, x in (extra or {}).items():
        columns.append(np.asarray(x, float)[t].ravel()[keep])
        names.append(name)
    X = np.stack(columns, axis=1)
    path = np.broadcast_to(np.arange(N), (t.size, N)).ravel()[keep]
    return p[t + 1].ravel()[keep], X, tuple(names), path


def out_of_sample_rmse(p, z_index, lags: int = 0, extra: dict | None = None, first: int | None = None,
                       valid=None, train_share: float = 0.5):
    """RMSE of the `forecast_design` forecast of p_{t+1}, fitted on the first `train_share`
    of the paths and evaluated on the others (independent paths: genuinely out of sample).

    Evaluation uses only rows whose pair (z_t, z_{t+1}) occurs in the fitting sample: a rare
    pair without an intercept of its own would be forecast from nothing.
    """
    N = np.shape(p)[1]
    n_train = int(round(train_share * N))
    if not 0 < n_train < N:
        raise ValueError(f"train_share = {train_share} leaves no paths to fit or to evaluate with N = {N}")
    y, X, names, path = forecast_design(p, z_index, lags, extra=extra, first=first, valid=valid)
    fit = path < n_train
    cells = np.array([name.startswith("z_t,z_t+1=") for name in names])
    seen = X[fit][:, cells].sum(axis=0) > 0
    test = ~fit & (X[:, cells][:, ~seen].sum(axis=1) == 0)
    coef, *_ = np.linalg.lstsq(X[fit], y[fit], rcond=None)
    return float(np.sqrt(np.mean((y[test] - X[test] @ coef) ** 2)))


def forecast_rmse_by_lags(p, z_index, max_lags: int, train_share: float = 0.5, valid=None, extra=None):
    """`out_of_sample_rmse` of forecasts with 0, 1, ..., max_lags lagged prices, all on the
    same observations (dates t ≥ max_lags), with the `extra` regressors in every one.
    Returns a (max_lags + 1,) array."""
    return np.array([
        out_of_sample_rmse(p, z_index, lags, extra=extra, first=max_lags, valid=valid, train_share=train_share)
        for lags in range(max_lags + 1)
    ])


def usable_dates(out_of_grid, recovery: int = 5):
    """(T, N) bool: dates whose price is not clipped and that do not follow a clipped date
    by `recovery` periods or fewer.

    Where the clearing rate leaves the price grid, the market does not clear, and the
    cross-section carries that date's excess demand into the following periods: for a
    while the economy is off its equilibrium path, and such dates are set aside.
    """
    out_of_grid = np.asarray(out_of_grid, bool)
    recent = out_of_grid.copy()
    for lag in range(1, recovery + 1):
        recent[lag:] |= out_of_grid[:-lag]
    return ~recent


def added_variable_bins(y, X, n_bins: int = 10):
    """The added-variable (Frisch–Waugh) plot of the last column of X, in bins.

    Both y and the last column x are residualised on the other columns; the slope of the
    residual of y on the residual of x is the OLS coefficient of x. Returns the means of
    the two residuals within `n_bins` quantile bins of the x residual, (x_means, y_means).
    """
    y, X = np.asarray(y, float), np.asarray(X, float)
    others = X[:, :-1]
    residual = lambda v: v - others @ np.linalg.lstsq(others, v, rcond=None)[0]
    e_y, e_x = residual(y), residual(X[:, -1])
    edges = np.quantile(e_x, np.linspace(0, 1, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, e_x, side="right") - 1, 0, n_bins - 1)
    return (np.array([e_x[bins == k].mean() for k in range(n_bins)]),
            np.array([e_y[bins == k].mean() for k in range(n_bins)]))


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


