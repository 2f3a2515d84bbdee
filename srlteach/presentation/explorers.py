"""Figures for the book's interactive explorers: parameters in, a matplotlib figure out.

Each explorer is a pure function (the same parameters always give the same figure), so the
book shows it at default parameters as a static figure and a live `ipywidgets.interact`
cell in Jupyter or Colab calls it as the sliders move. Explorers solve on coarse grids so
that one slider move takes about a second on a CPU.
"""

from functools import lru_cache

import jax
import matplotlib.pyplot as plt
import numpy as np

from srlteach.solvers.equilibrium import aggregate_savings, stationary_equilibrium
from srlteach.analysis.forecasting import (
    added_variable_bins,
    cross_section_moments,
    forecast_design,
    forecast_rmse_by_lags,
    usable_dates,
)
from srlteach.economies.huggett.price_lab import create_price_lab, simulate_lab
from srlteach.economies.huggett import CALIBRATION, create_huggett_stationary
from srlteach.economies.krusell_smith import cash_on_hand as ks_cash_on_hand
from srlteach.economies.krusell_smith.ks1998 import policy_at as ks1998_policy_at
from srlteach.learning.lagged_prices import LaggedState
from srlteach.learning.policy_gradient import (
    cake_eating_objective,
    cake_expected_return,
    create_cake_eating,
    gradient_draws,
)
from srlteach.learning.monte_carlo import (
    create_rate_chain,
    create_rentier,
    markov_chain_returns,
    markov_value,
    rentier_utility,
    stochastic_approximation,
    truncation_horizon,
)
from srlteach.learning.spg import policy as spg_policy

# ---------------------------------------------------------------------------------------
# Chapter 1: the Huggett economy
# ---------------------------------------------------------------------------------------

EXPLORER_GRID = dict(n_b=40, b_max=20.0)  # coarse asset grid: a slider move costs ~1 s
R_LOW = -0.03  # left end of the plotted r range, unless r* lies further left
R_BRACKET_LOW = -0.5  # at this rate every household borrows: S < 0 for any slider setting


@lru_cache(maxsize=64)
def huggett_supply_curve(β: float, σ: float, b_min: float, n_r: int = 25):
    """S(r) on n_r rates from R_LOW (or r* - 0.01) to just below 1/β - 1, and r*.

    Solved for the stationary Huggett economy on the explorer's coarse grid. Returns
    (r_nodes, S, r_star, b_grid, cdf) with cdf the distribution function of bonds at r*.
    Memoised: moving one slider back and forth does not recompute.
    """
    economy = create_huggett_stationary("book", β=β, σ=σ, b_min=b_min, **EXPLORER_GRID)
    r_ceiling = 1 / β - 1
    eq = stationary_equilibrium(economy, r_bracket=(R_BRACKET_LOW, r_ceiling - 1e-6))
    r_nodes = np.linspace(min(R_LOW, eq.r - 0.01), r_ceiling - 0.002, n_r)
    S = np.asarray(aggregate_savings(economy, r_nodes))
    cdf = np.cumsum(np.asarray(eq.g.sum(axis=1)))
    return r_nodes, S, eq.r, np.asarray(economy.b_grid), cdf


def huggett_supply_explorer(β: float = CALIBRATION["β"], σ: float = CALIBRATION["σ"], b_min: float = CALIBRATION["b_min"]):
    """How the bond demand schedule S(r) and the stationary rate r* move with β, σ and b̲.

    Left: S(r) = Σ_s b′(s; r) g_r(s), the households' aggregate bond demand in the
    stationary distribution at rate r, for the chosen parameters (solid) and the book's
    calibration (dashed); r* is where S crosses zero. Right: the distribution of bonds at
    r*. Returns the matplotlib Figure.
    """
    default = huggett_supply_curve(CALIBRATION["β"], CALIBRATION["σ"], CALIBRATION["b_min"])
    chosen = huggett_supply_curve(float(β), float(σ), float(b_min))
    fig, (ax_S, ax_g) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for (r_nodes, S, r_star, b_grid, cdf), style, label in (
        (default, dict(color="0.6", ls="--"), "calibration"),
        (chosen, dict(color="C0"), f"β = {β:.3f}, σ = {σ:.2f}, b̲ = {b_min:.2f}"),
    ):
        ax_S.plot(r_nodes, S, **style, label=f"{label}: r* = {r_star:.4f}")
        ax_S.plot([r_star], [0.0], "o", color=style["color"])
        ax_g.plot(b_grid, cdf, **style, label=label)
    ax_S.axhline(0.0, color="k", lw=0.8)
    ax_S.axvline(1 / β - 1, color="C0", ls=":", lw=1, label="1/β - 1")
    ax_S.set(xlabel="interest rate r", ylabel="bond demand S(r)", ylim=(min(default[1].min(), chosen[1].min()) - 0.1, 3.0))
    ax_S.set_title("Stationary bond demand and r*")
    ax_S.legend(loc="upper left", fontsize=8)
    ax_g.set(xlabel="bonds b", ylabel="share of households with bonds ≤ b", xlim=(min(b_min, CALIBRATION["b_min"]), 10.0))
    ax_g.set_title("Distribution of bonds at r*")
    ax_g.legend(loc="lower right", fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------
# Chapter: Monte Carlo value estimation
# ---------------------------------------------------------------------------------------


def monte_carlo_explorer(N: int = 1000, ρ: float = 0.8, ν: float = 0.01, b̄: float = 5.0, seed: int = 0):
    """Monte Carlo against dynamic programming for the rentier's value v(r_0).

    The interest rate is the Tauchen chain of `create_rate_chain(ρ=ρ, ν=ν)`; the rentier
    (`create_rentier(b̄=b̄)`) starts at the middle node. Left: the N simulated discounted
    sums Σ_t β^t u(1 + r_t b̄) (truncated where β^T < 1e-6), their mean and the DP value
    v = (I - βΠ)⁻¹ u. Right: the running mean after k paths (stochastic approximation with
    learning rate 1/k) with a ±2 standard-error band, converging to the DP value.
    Returns the matplotlib Figure.
    """
    N = int(N)
    if N < 2:
        raise ValueError(f"N must be ≥ 2 paths (a standard error needs two), got N = {N}")
    chain, rentier = create_rate_chain(ρ=ρ, ν=ν), create_rentier(b̄=b̄)
    u = rentier_utility(chain.r, rentier)
    i0 = chain.r.size // 2
    v_dp = float(markov_value(u, chain.Π, rentier.β)[i0])
    T = truncation_horizon(rentier.β, 1e-6)
    returns = np.asarray(markov_chain_returns(jax.random.PRNGKey(seed), u, chain.Π, rentier.β, i0, N, T))
    running = np.asarray(stochastic_approximation(returns))
    k = np.arange(1, N + 1)
    running_sd = np.sqrt(np.maximum(np.cumsum(returns**2) / k - running**2, 0.0) * k / np.maximum(k - 1, 1))
    band = 2 * running_sd / np.sqrt(k)
    se = returns.std(ddof=1) / np.sqrt(N)

    fig, (ax_h, ax_k) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    ax_h.hist(returns, bins=40, color="C0", alpha=0.7)
    ax_h.axvline(v_dp, color="k", lw=2, label=f"DP value {v_dp:.4f}")
    ax_h.axvline(returns.mean(), color="C1", ls="--", lw=2, label=f"MC mean {returns.mean():.4f} ({se:.4f})")
    ax_h.set(xlabel="discounted utility of one path", ylabel="paths")
    ax_h.set_title(f"{N} paths from r_0 = {float(chain.r[i0]):.3f}")
    ax_h.legend(fontsize=8)
    ax_k.fill_between(k[1:], (running - band)[1:], (running + band)[1:], color="C1", alpha=0.25, label="± 2 s.e.")
    ax_k.plot(k, running, color="C1", label="running mean (learning rate 1/k)")
    ax_k.axhline(v_dp, color="k", lw=1.5, label="DP value")
    ax_k.set(xscale="log", xlabel="paths k", ylabel="estimate of v(r_0)",
             ylim=(v_dp - 6 * returns.std() / np.sqrt(10), v_dp + 6 * returns.std() / np.sqrt(10)))
    ax_k.set_title(f"ρ = {ρ:.2f}, ν = {ν:.3f}, b̄ = {b̄:.1f}")
    ax_k.legend(fontsize=8, loc="upper right")
    return fig


# ---------------------------------------------------------------------------------------
# Chapter: the policy gradient
# ---------------------------------------------------------------------------------------


def gradient_estimator_explorer(τ: float = 0.3, N: int = 64, T: int = 339, share: float = 0.1, draws: int = 100):
    """Pathwise against score-function (REINFORCE) estimates of the same policy gradient.

    Cake eating (`create_cake_eating(τ=τ)`) with the consumption-share logit θ at
    logit(share): `draws` independent estimates of dL/dθ, each from N paths of T periods,
    by both estimators, against the exact gradient (Gauss–Hermite quadrature). Returns the
    matplotlib Figure.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must lie in (0, 1), got share = {share}")
    if not τ > 0:
        raise ValueError(f"REINFORCE needs exploration: τ must be > 0, got τ = {τ}")
    cake, N, T = create_cake_eating(τ=τ), int(N), int(T)
    θ = jax.numpy.log(share / (1 - share))
    exact = float(jax.grad(cake_expected_return)(θ, cake, T))
    key = jax.random.PRNGKey(0)
    estimates = {
        name: np.asarray(gradient_draws(cake_eating_objective(cake, N, T, name), θ, key, int(draws)))
        for name in ("pathwise", "reinforce")
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True, constrained_layout=True)
    for ax, (name, g) in zip(axes, estimates.items()):
        ax.hist(g, bins=30, color="C0" if name == "pathwise" else "C3", alpha=0.7)
        ax.axvline(exact, color="k", lw=2, label=f"exact {exact:.3f}")
        ax.axvline(g.mean(), color="C1", ls="--", lw=2, label=f"mean {g.mean():.3f} ({g.std(ddof=1) / np.sqrt(g.size):.3f})")
        ax.set(xlabel="estimate of dL/dθ", ylabel="draws")
        ax.set_title(f"{name}: s.d. {g.std(ddof=1):.3g}")
        ax.legend(fontsize=8)
    fig.suptitle(f"{int(draws)} gradient estimates, N = {N} paths of T = {T}, share {share:.2f}, τ = {τ:.2f}")
    return fig



# ---------------------------------------------------------------------------------------
# Chapter: Krusell–Smith by structural RL
# ---------------------------------------------------------------------------------------


def krusell_smith_policy_explorer(model, θ, ks98, K: float = 5.25, log_z: float = 0.0, y_index: int = 1, b_max: float = 15.0):
    """SRL's and the Krusell–Smith (1998) consumption policies at one aggregate state (K, z).

    model, θ : the SRL plug-in (`krusell_smith_spg`) and its trained parameters; ks98 : a
    `KS1998Solution` of the same economy. SRL households see the prices (r, w) of (K, z);
    KS-1998 households see (K, z) itself. Left: c(b, y) of both for income state y_index;
    right: their difference for every income state, over the stationary distribution's
    wealth density. K must lie on the KS-1998 capital grid. Returns the matplotlib Figure.
    """
    e = model.economy
    K_nodes = np.asarray(ks98.grid.K)
    if not K_nodes[0] <= K <= K_nodes[-1]:
        raise ValueError(f"K must lie on the KS-1998 capital grid [{K_nodes[0]:.3f}, {K_nodes[-1]:.3f}], got K = {K}")
    if y_index not in range(e.y_grid.size):
        raise ValueError(f"y_index must be one of 0, …, {e.y_grid.size - 1}, got {y_index}")
    p = model.prices_at(jax.numpy.asarray(K, model.g0.dtype), jax.numpy.asarray(log_z, model.g0.dtype))
    r, w = (float(x) for x in p.values)
    x = np.asarray(ks_cash_on_hand(e, r, w), float)
    c_srl = x - np.asarray(spg_policy(model, model.actions(θ), log_z, p), float)
    c_ks = x - np.asarray(ks1998_policy_at(ks98.policy.b_next, ks98.grid, K, log_z), float)
    b = np.asarray(e.b_grid)
    shown = b <= b_max

    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax_c.plot(b[shown], c_ks[shown, y_index], "k-", lw=2.5, alpha=0.4, label="KS-1998 (EGM)")
    ax_c.plot(b[shown], c_srl[shown, y_index], "C0--", label="SRL")
    ax_c.set(xlabel="capital b", ylabel="consumption c(b, y)")
    ax_c.set_title(f"{['low', 'middle', 'high'][y_index] if e.y_grid.size == 3 else f'y node {y_index}'} income,"
                   f" K = {K:.2f}, log z = {log_z:+.3f}: r = {r:.4f}, w = {w:.3f}", fontsize=9)
    ax_c.legend()
    for k in range(e.y_grid.size):
        ax_d.plot(b[shown], (c_srl - c_ks)[shown, k], label=f"y = {float(e.y_grid[k]):.2f}")
    ax_d.axhline(0, color="k", lw=0.8)
    density = ax_d.twinx()
    density.fill_between(b[shown], np.asarray(model.g0).sum(axis=1)[shown], step="mid", color="0.85", zorder=0)
    density.set(ylabel="stationary mass on the node", ylim=(0, None))
    ax_d.set_zorder(density.get_zorder() + 1)
    ax_d.patch.set_visible(False)
    ax_d.set(xlabel="capital b", ylabel="c_SRL - c_KS")
    ax_d.set_title("SRL minus KS-1998, over the stationary wealth distribution", fontsize=9)
    ax_d.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------
# Chapter: why equilibrium prices are not Markov
# ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _price_lab(ν_z: float):
    return create_price_lab("book", ν_z=ν_z)


def prices_not_markov_explorer(ν_z: float = 0.02, max_lags: int = 4, seed: int = 0, N: int = 32, T: int = 600):
    """How much r_{t+1} depends on g_t given (r_t, z_t, z_{t+1}), for aggregate volatility ν_z.

    Builds the chapter's laboratory (`create_price_lab(ν_z=ν_z)`, memoised) and simulates
    N paths of T years after a 300-year burn-in. Left: the part of r_{t+1} that the
    flexible function of (r_t, z_t, z_{t+1}) in `forecast_design` leaves unexplained,
    against the same for the cross-sectional s.d. of wealth at t (`added_variable_bins`). Right: the
    out-of-sample RMSE of forecasts of r_{t+1} with 0..max_lags lagged rates, relative to
    no lags (fit on half the paths, evaluate on the other half). Returns the Figure.
    """
    if not ν_z > 0:
        raise ValueError(f"aggregate volatility ν_z must be > 0, got ν_z = {ν_z}")
    if int(max_lags) != max_lags or max_lags < 1:
        raise ValueError(f"max_lags must be an integer ≥ 1, got {max_lags}")
    lab = _price_lab(float(ν_z))
    path = simulate_lab(lab, jax.random.PRNGKey(seed), int(N), int(T), burn_in=300, keep_distributions=True)
    r = np.asarray(path.prices.values[..., 0])
    z_index = np.asarray(path.aggregate)
    valid = usable_dates(path.prices.out_of_grid)
    sd_b = cross_section_moments(np.asarray(path.g), lab.economy.b_grid)["sd_b"]
    y, X, _, _ = forecast_design(r, z_index, extra={"sd_b": sd_b}, valid=valid)
    x_bins, y_bins = added_variable_bins(y, X)
    rmse = forecast_rmse_by_lags(r, z_index, int(max_lags), valid=valid)

    fig, (ax_g, ax_l) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax_g.plot(x_bins, 1e6 * y_bins, "o-")
    ax_g.axhline(0.0, color="k", lw=0.8)
    ax_g.set(xlabel="s.d. of wealth at t, unexplained (decile means)", ylabel="r_t+1, unexplained (× 1e-6)")
    ax_g.set_title(f"Dependence on g_t (s.d. of r: {r.std():.4f})")
    ax_l.plot(range(int(max_lags) + 1), rmse / rmse[0], "o-")
    ax_l.set(xlabel="lagged rates", ylabel="RMSE relative to no lags")
    ax_l.set_title(f"Out-of-sample forecasts, ν_z = {ν_z:.3f}")
    return fig



# ---------------------------------------------------------------------------------------
# Chapter: structural RL in partial equilibrium
# ---------------------------------------------------------------------------------------

import jax.numpy as jnp  # noqa: E402

from srlteach.economies.huggett import supply_schedule  # noqa: E402


def pe_policy_explorer(economy, policies: dict, g, y_index: int = 1, z_index: int = None, r_index: int = None, b_max: float = 6.0):
    """Consumption policies c(b; y, z, r) of several solutions of model 1, overlaid.

    economy : the partial-equilibrium Huggett economy; policies : {label: c} with c of shape
    (n_b, n_y, n_z, n_r) (the first is drawn solid, the others dashed); g : the ergodic
    distribution over the same grid. Left: c(b) at the chosen (y, z, r) nodes (default: the
    middle z and r nodes). Right: the differences to the first policy, with the ergodic
    mass of b at those nodes shaded. Returns the Figure.
    """
    n_b, n_y, n_z, n_r = g.shape
    z_index = n_z // 2 if z_index is None else int(z_index)
    r_index = n_r // 2 if r_index is None else int(r_index)
    if not (0 <= y_index < n_y and 0 <= z_index < n_z and 0 <= r_index < n_r):
        raise ValueError(f"node indices must lie inside the grid (n_y, n_z, n_r) = {(n_y, n_z, n_r)}, got {(y_index, z_index, r_index)}")
    b = np.asarray(economy.b_grid)
    shown = b <= b_max
    node = (slice(None), y_index, z_index, r_index)
    (label0, c0), *others = [(label, np.asarray(c)[node]) for label, c in policies.items()]
    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax_c.plot(b[shown], c0[shown], color="k", lw=2, label=label0)
    for k, (label, c) in enumerate(others):
        ax_c.plot(b[shown], c[shown], ls="--", color=f"C{k}", label=label)
        ax_d.plot(b[shown], (c - c0)[shown], color=f"C{k}", label=f"{label} − {label0}")
    mass = np.asarray(g)[node] / max(float(np.asarray(g)[node].sum()), 1e-300)
    twin = ax_d.twinx()
    twin.fill_between(b[shown], mass[shown], step="mid", color="0.85")
    twin.set(ylabel="ergodic mass at this (y, z, r)", ylim=(0, 3 * max(mass[shown].max(), 1e-12)))
    ax_d.set_zorder(twin.get_zorder() + 1)
    ax_d.patch.set_visible(False)
    title = f"y = {float(economy.y_grid[y_index]):.3f}, z = {float(economy.z_grid[z_index]):.3f}, r = {float(economy.r_grid[r_index]):.4f}"
    ax_c.set(xlabel="bonds b", ylabel="consumption c", title=title)
    ax_c.legend(fontsize=8)
    ax_d.axhline(0.0, color="k", lw=0.8)
    ax_d.set(xlabel="bonds b", ylabel="difference in c", title="Differences")
    ax_d.legend(fontsize=8, loc="lower right")
    return fig


# ---------------------------------------------------------------------------------------
# Chapter: structural RL in general equilibrium (Huggett with aggregate risk)
# ---------------------------------------------------------------------------------------


def srl_clearing_explorer(result, path, date: int = 100, path_index: int = 0):
    """Market clearing inside one simulated economy under a trained SPG policy.

    result : an `spg.SPGResult` for the Huggett economy; path : `spg.simulate(...,
    keep_distributions=True)` under it. Left: at `date` of path `path_index`, the supply
    schedule S_t(r) = Σ_s b′(s; z, r) g_t(s) at today's cross-section for every z node
    (today's z_t bold) and the clearing rate r_t where it crosses zero. Right: the path of
    r_t and z_t with the date marked. Returns the Figure.
    """
    T, N = path.prices.values.shape[:2]
    if not (0 <= date < T and 0 <= path_index < N):
        raise ValueError(f"date must lie in [0, {T - 1}] and path_index in [0, {N - 1}], got {date}, {path_index}")
    economy = result.model.economy
    table = result.model.actions(result.θ)
    g = path.g[date, path_index]
    z_now = int(path.aggregate[date, path_index])
    r_now = float(path.prices.values[date, path_index, 0])
    r_grid = np.asarray(economy.r_grid)
    fig, (ax_S, ax_p) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for m in range(economy.z_grid.size):
        S = np.asarray(supply_schedule(economy, g, jnp.moveaxis(table[m], 0, -1)))
        now = m == z_now
        ax_S.plot(r_grid, S, color="C0" if now else "0.75", lw=2 if now else 1, zorder=3 if now else 2,
                  label=f"z_t = {float(economy.z_grid[m]):.3f}" if now else None)
    ax_S.plot([r_now], [0.0], "o", color="C3", zorder=4, label=f"r_t = {r_now:.4f}")
    ax_S.axhline(0.0, color="k", lw=0.8)
    ax_S.set(xlabel="interest rate r", ylabel="bond demand S_t(r)", title=f"Supply schedules at date {date} (grey: other z)")
    ax_S.legend(fontsize=8, loc="upper left")
    r_path = np.asarray(path.prices.values[:, path_index, 0])
    ax_p.plot(r_path, color="C3", label="r_t")
    ax_p.axvline(date, color="k", ls=":", lw=1)
    ax_p.set(xlabel="date t", ylabel="r_t", title=f"Simulated path {path_index}")
    twin = ax_p.twinx()
    twin.plot(np.asarray(economy.z_grid)[np.asarray(path.aggregate[:, path_index])], color="0.6", lw=1, label="z_t")
    twin.set(ylabel="z_t")
    ax_p.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------
# Chapter: lagged prices
# ---------------------------------------------------------------------------------------


def lagged_policy_explorer(lag_model, θ_lag, model, θ, K: float = 5.2, log_z: float = 0.0, Δr: float = 0.004, y_index: int = 0, b_max: float = 10.0):
    """Krusell–Smith households with and without last period's interest rate in their state.

    lag_model, θ_lag : `lagged_prices(krusell_smith_spg(...), ...)` remembering r, and its
    trained parameters; model, θ : the current-price plug-in and its trained parameters.
    At the prices (r, w) of (K, z): consumption of the current-price policy, and of the
    lagged policy for r_{t-1} = r - Δr, r, r + Δr (clipped to the lag grid). Left: c(b, y)
    for income state y_index; right: the lagged policies minus the current-price one.
    Returns the matplotlib Figure.
    """
    if y_index not in range(model.economy.y_grid.size):
        raise ValueError(f"y_index must be one of 0, …, {model.economy.y_grid.size - 1}, got {y_index}")
    if not Δr >= 0:
        raise ValueError(f"Δr must be ≥ 0, got Δr = {Δr}")
    dtype = model.g0.dtype
    K, log_z = jax.numpy.asarray(K, dtype), jax.numpy.asarray(log_z, dtype)
    p = model.prices_at(K, log_z)
    r, w = (float(x) for x in p.values)
    x = np.asarray(ks_cash_on_hand(model.economy, r, w), float)
    c_now = x - np.asarray(spg_policy(model, model.actions(θ), log_z, p), float)
    grid = np.asarray(lag_model.lag_grids[0])
    table = lag_model.actions(θ_lag)
    b = np.asarray(model.economy.b_grid)
    shown = b <= b_max

    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax_c.plot(b[shown], c_now[shown, y_index], "k-", lw=2.5, alpha=0.4, label="current prices only")
    for shift, style in ((-Δr, "C0--"), (0.0, "C1-"), (Δr, "C2-.")):
        r_lag = float(np.clip(r + shift, grid[0], grid[-1]))
        a = LaggedState(log_z, jax.numpy.asarray([r_lag], dtype))
        c_lag = x - np.asarray(spg_policy(lag_model, table, a, lag_model.with_lag(a, p)), float)
        ax_c.plot(b[shown], c_lag[shown, y_index], style, lw=1.2, label=f"with r_t-1 = {r_lag:.4f}")
        ax_d.plot(b[shown], (c_lag - c_now)[shown, y_index], style, label=f"r_t-1 = {r_lag:.4f}")
    ax_c.set(xlabel="capital b", ylabel="consumption c(b, y)")
    ax_c.set_title(f"K = {float(K):.2f}, log z = {float(log_z):+.3f}: r_t = {r:.4f}, w_t = {w:.3f}", fontsize=9)
    ax_c.legend(fontsize=8)
    ax_d.axhline(0, color="k", lw=0.8)
    ax_d.set(xlabel="capital b", ylabel="c with the lag - c without")
    ax_d.set_title("What last period's rate changes", fontsize=9)
    ax_d.legend(fontsize=8)
    return fig
