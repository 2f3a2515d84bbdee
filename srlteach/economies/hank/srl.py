"""HANK by structural reinforcement learning: households and a price-setting firm learn together.

models.md, model 5. Two agents learn on the same simulated paths, each by the structural
policy gradient of its own objective (`srlteach.learning.spg`, several agents):

- **households** on the (b, y) grid choose hours n and the share s of cash on hand they
  save, on the price grid p = (i_{t+1}, w_t): tables (n_i, n_w, n_b, n_y), interpolated in p;
- **the firm** chooses its inflation Π_j on what it observes, (log z_t, i_t, w_t): a table
  (n_z, n_i, n_w), interpolated in all three (the same `interpolate` as the households').

**What households observe.** models.md writes the households' policies on p = (r, w), with
r_t the ex-post real return (1 + i_t)/(1 + Π_t) - 1 on last period's bonds. We measured
what that implies: the bond market then pins r_t near its steady-state value at every date,
so Π_t = (1 + i_t)/(1 + r_t) - 1 follows from the predetermined i_t, the Taylor rule sets
i_{t+1} ≈ φ Π_t, and with φ = 1.5 inflation runs away (measured while building this
plug-in: under the initial policy every price sat on a grid edge within 20 periods, and 225
epochs of training ended with every price clipped; the chapter gives the algebra). The
paper's slides have households observe the bond price q and w; here that price is the
nominal rate of the bonds they buy, i_{t+1} (q_t = 1/(1 + i_{t+1})), known when they save.
Bond demand then moves with the Taylor rule's response to inflation, the bond market pins
i_{t+1}, and the Taylor principle works as in the textbook. The budget is the spec's: last
period's bonds pay the ex-post r_t (households choose a share of cash on hand, so their
policy need not observe r_t to be feasible).

**Why the firm observes (log z, i, w).** Marginal cost is w/z; the nominal rate i_t is
predetermined (last period's Taylor rule) and, with Π_t, fixes the real rate by Fisher. A
firm table over the households' prices would make Π_t a fixed point within the period (i_{t+1}
depends on Π_t); over (log z, i_t, w) each wage node gives Π, then i_{t+1}, r_t and the rest.

**The firm's state is a first-order jet.** A single firm is too small to move aggregates,
and its policy does not depend on its relative price φ_j, so in equilibrium φ_j ≡ 1. What
its gradient needs is the value V_t(x) of x = log φ_j to first order at x = 0: a value and a
slope, (V_t, V_t′). With δ_t = log(1 + Π_j,t) - log(1 + Π_t) the firm's x moves by δ_t and

    V_t = R_t(δ_t) + Λ_t (V_{t+1} + δ_t V′_{t+1}),    V′_t = R′_t(δ_t) + Λ_t V′_{t+1},
    R_t(x) = (e^((1-ε)x) - (w_t/z_t) e^(-εx)) Y_t - (θ/2) Π_j,t² Y_t,

that is v_t = u_t + Λ_t A_t v_{t+1} on a two-point "grid" with A_t = [[1, δ_t], [0, 1]]:
the engine's recursion, with d_0 = (1, 0) (evaluate V_0 at x = 0, not its slope). At the
symmetric point δ_t = 0 the engine's gradient with respect to Π_j,t is

    [((1-ε) + ε w_t/z_t) Y_t + Λ_t V′_{t+1}] / (1 + Π_t) - θ Π_t Y_t,

and V′_{t+1} = θ Π_{t+1}(1 + Π_{t+1}) Y_{t+1} where the Phillips curve holds from t + 1 on:
a zero gradient is the Phillips curve at t (tests/test_hank_srl.py). The terminal slope is
the same envelope condition at date T, V′_T = θ Π_T (1 + Π_T) Y_T, so the truncation at T
does not bias the firm's last first-order condition.

**Market clearing inside the rollout** (`HANKSPG.prices`). Given the predetermined i_t and
the shocks (z_t, e_t), at every wage node w_k: Π_k from the firm's table, i_{t+1,k} by the
Taylor rule, r_k by Fisher, the households' hours and savings shares at (i_{t+1,k}, w_k),
labour L_k = Σ y n g, output Y_k = z_t L_k, dividends d_k, taxes r_k B, transfers τ_k, and
bond demand S_k = Σ b′ g. The bond market S(w) = B is cleared on the w grid
(`clear_market`: bracket), refined by CLEARING_STEPS Illinois steps with the excess
demand recomputed at each trial wage (`refine_price`); the recorded residual is (S - B)/B
at the final wage. Goods clear by Walras' law; labour is whatever
households supply. A price off its grid (w or i_{t+1}, or the i_t the firm reads) is
clipped to the edge and counted in `out_of_grid`.
"""

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from srlteach.economies.hank.economy import HANK, check_grids, dividends, household_income, nominal_rate, real_rate, transfers
from srlteach.economies.hank.steady_state import egm_iteration, steady_state_value
from srlteach.foundations.discretisation import ar1_step
from srlteach.foundations.distributions import AssetLocator, asset_locator, fast_lottery
from srlteach.foundations.markets import clear_market, refine_price
from srlteach.foundations.utility import crra_utility
from srlteach.learning.spg import BondIncomeDynamics, MultiAgentEconomy, Prices, SPGConfig, Step, interpolate, locate_prices

_static = dict(metadata=dict(static=True))

# Numerics (models.md, model 5): T = 182 (β^T < 1e-2), N = 512 paths at paper scale, 32 in
# the book; Adam's first step 5e-3, halved every 100 epochs after the first 50. In float64:
# in float32 the jitted epoch's households' gradient turned NaN at a few nodes after a few
# epochs, while the same computation run op by op stayed finite (an XLA float32 fusion;
# measured, not yet traced to its operation).
SPG_PAPER = SPGConfig(N=512, T=182, η0=5e-3, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1500, tol=2e-3, dtype="float64")
SPG_BOOK = SPGConfig(N=32, T=182, η0=5e-3, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1000, tol=2e-3, dtype="float64")

CLEARING_STEPS = 4  # Illinois steps on the wage's bracketing interval (`refine_price`)
INFLATION_BOUND = 0.25  # |Π_j| < 0.25: the firm's table is Π_j = 0.25 tanh(θ), so 1 + Π_j > 0 always


class HANKState(NamedTuple):
    """The aggregate state of one path at date t."""

    log_z: jax.Array  # TFP, a continuous AR(1)
    e: jax.Array  # the monetary shock, a continuous AR(1)
    i: jax.Array  # the nominal rate paid at t, set by the Taylor rule at t - 1 (predetermined)


class HouseholdChoices(NamedTuple):
    """What households do at given prices and transfers, on the (b, y) grid."""

    c: jax.Array
    n: jax.Array
    b_next: jax.Array
    cash: jax.Array  # cash on hand x = (1 + r) b + w y n + τ y / L̄


def household_choices(economy: HANK, action, r, w, τ) -> HouseholdChoices:
    """c, n and b′ of the households' action {"save": s, "hours": n} at (r, w, τ).

    b′ = s min(x, b_max) and c = x - b′: b′ ∈ [0, b_max] and c > 0 at every node and between
    price nodes (the table holds shares, which interpolate into shares), wherever cash on
    hand x is positive. x ≤ 0 would need τ < -w y n L̄ / y; it is recorded as the output
    "short" (the mass of households with x ≤ 0), whose consumption is floored in utility.
    """
    e = economy
    n = action["hours"]
    x = (1 + r) * e.b_grid[:, None] + household_income(e, w, e.y_grid[None, :], n, τ)
    b_next = action["save"] * jnp.clip(x, 0.0, e.b_grid[-1])
    return HouseholdChoices(x - b_next, n, b_next, x)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Households(BondIncomeDynamics):
    """The households' half of HANK: tables of savings shares and hours on (i_{t+1}, w, b, y)."""

    economy: HANK
    g0: jax.Array  # (n_b, n_y) warm-up distribution: the steady state's
    locator: AssetLocator
    θ_start: dict  # the initial parameters (`steady_policy`)
    # (n_b, n_y) terminal value v_T, or None: v_T = 0, the paper's truncation (`with_terminal_value`)
    terminal: Any = dataclasses.field(default=None, kw_only=True)

    @property
    def β(self):
        return self.economy.β

    def initial_parameters(self):
        return jax.tree.map(lambda x: jnp.asarray(x, self.g0.dtype), self.θ_start)

    def actions(self, θ):
        return {"save": jax.nn.sigmoid(θ["save"]), "hours": jnp.exp(θ["hours"])}

    def policy_index(self, a):
        return ()

    def initial_distribution(self):
        return self.g0

    def individual(self, action, a, prices):
        """u(c) - n^(1+η)/(1+η) and Young's lottery of b′ at (r_t, w_t, τ_t)."""
        e = self.economy
        w = prices.values[1]
        choice = household_choices(e, action, prices.outcomes["r"], w, prices.outcomes["τ"])
        reward = crra_utility(choice.c, e.σ) - choice.n ** (1 + e.η) / (1 + e.η)
        outputs = {"C": choice.c, "B": choice.b_next, "N": e.y_grid * choice.n, "short": (choice.cash <= 0).astype(choice.c.dtype)}
        return Step(reward, fast_lottery(self.locator, choice.b_next), outputs)

    def terminal_value(self, a, prices):
        """v_T on the (b, y) grid (the engine asks only when `self.terminal` is not None)."""
        return self.terminal


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Firm:
    """The price-setting firm: a table of its inflation Π_j on (log z, i, w), and a value
    carried as a first-order jet in its log relative price (module docstring)."""

    economy: HANK
    θ_start: jax.Array  # the initial parameters (`steady_policy`)
    # True: v_T = (0, θ Π_T (1 + Π_T) Y_T), the envelope condition at T; None: v_T = 0
    terminal: bool | None = dataclasses.field(default=True, **_static)

    def initial_parameters(self):
        return jnp.asarray(self.θ_start, self.economy.b_grid.dtype)

    def actions(self, θ):
        return INFLATION_BOUND * jnp.tanh(θ)

    def location(self, a: HANKState, w):
        """Where the firm reads its table: (log z, i, w) on its grids (clipped at their ends)."""
        e = self.economy
        return locate_prices((e.log_z_grid, e.i_grid, e.w_grid), jnp.stack([a.log_z, a.i, w]))[0]

    def observe(self, a, prices):
        return (), self.location(a, prices.values[1])

    def inflation(self, table, a: HANKState, w):
        """Π_j read from the firm's table at (log z, i, w): what `observe` reads in the rollout."""
        return interpolate(table, self.location(a, w))

    def policy_index(self, a):
        return ()

    def initial_distribution(self):
        return jnp.array([1.0, 0.0], self.economy.b_grid.dtype)  # x = log φ = 0: every firm at φ = 1

    def objective_distribution(self):
        return self.initial_distribution()  # d_0 = (1, 0): the value at φ = 1, not its slope

    def discount(self, a, prices, a_next, prices_next):
        return 1 / (1 + prices_next.outcomes["r"])  # Λ_{t→t+1} = 1/(1 + r_{t+1})

    def individual(self, Π_j, a, prices):
        """The jet (R_t(δ), R′_t(δ)) of the period's profit at x = log φ = δ_t, and δ_t."""
        e = self.economy
        Π, Y, w, z = prices.outcomes["Π"], prices.outcomes["Y"], prices.values[1], jnp.exp(a.log_z)
        δ = jnp.log1p(Π_j) - jnp.log1p(Π)
        revenue, cost = jnp.exp((1 - e.ε) * δ), (w / z) * jnp.exp(-e.ε * δ)
        profit = (revenue - cost - e.θ / 2 * Π_j**2) * Y
        slope = ((1 - e.ε) * revenue + e.ε * cost) * Y
        return Step(jnp.stack([profit, slope]), δ, {})

    def push_forward(self, d, δ):
        """Aᵀ d with A = [[1, δ], [0, 1]], for a batch (N, 2) and δ (N,)."""
        return jnp.stack([d[:, 0], d[:, 1] + δ * d[:, 0]], axis=1)

    def expectation(self, v, δ):
        """A v: the value and slope of V_{t+1} at x + δ."""
        return jnp.stack([v[:, 0] + δ * v[:, 1], v[:, 1]], axis=1)

    def terminal_value(self, a, prices):
        Π, Y = prices.outcomes["Π"], prices.outcomes["Y"]
        return jnp.stack([jnp.zeros_like(Y), self.economy.θ * Π * (1 + Π) * Y])


class Aggregates(NamedTuple):
    """The aggregate outcomes of the households' and the firm's actions at one price vector."""

    Π: jax.Array
    r: jax.Array
    L: jax.Array
    Y: jax.Array
    d: jax.Array
    τ: jax.Array
    bonds: jax.Array  # Σ b′ g


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HANKSPG(MultiAgentEconomy):
    """HANK plugged into the SPG engine: households and the firm (module docstring)."""

    economy: HANK
    households: Households
    firm: Firm
    i_start: float = dataclasses.field(**_static)  # i_0 of the warm-up paths: the steady state's

    price_names = ("i_next", "w")  # the nominal rate i_{t+1} on bonds bought at t, and the wage

    @property
    def agents(self):
        return {"households": self.households, "firm": self.firm}

    def initial_aggregate(self, key):
        """log z_0 and e_0 from their stationary laws, i_0 at the steady state."""
        e = self.economy
        dtype = self.households.g0.dtype
        log_z, shock = jax.random.normal(key, (2,), dtype) * jnp.array([e.ν_z, e.ν_e], dtype)
        return HANKState(log_z, shock, jnp.asarray(self.i_start, dtype))

    def aggregate_shocks(self, key, shape):
        return jax.random.normal(key, tuple(shape) + (2,), self.households.g0.dtype)

    def next_aggregate(self, a, ε, prices):
        """z and e move by their AR(1)s; i_{t+1} = R̄ (1 + Π_t)^φ e^(e_t) - 1."""
        e = self.economy
        log_z, shock = ar1_step(a.log_z, e.ρ_z, e.ν_z, ε[0]), ar1_step(a.e, e.ρ_e, e.ν_e, ε[1])
        return HANKState(log_z, shock, nominal_rate(e, prices.outcomes["Π"], a.e))

    def aggregates(self, table, a: HANKState, g, w, Π, location) -> Aggregates:
        """Aggregates at wage w and inflation Π with the households' policy read at `location`."""
        e = self.economy
        r = real_rate(a.i, Π)
        action = jax.tree.map(lambda t: interpolate(t, location), table)
        n = action["hours"]
        L = jnp.sum(g * e.y_grid * n)
        Y = jnp.exp(a.log_z) * L
        d = dividends(e, Y, w, jnp.exp(a.log_z), Π)
        τ = transfers(e, d, r)
        bonds = jnp.sum(g * household_choices(e, action, r, w, τ).b_next)
        return Aggregates(Π, r, L, Y, d, τ, bonds)

    def prices(self, table, a, g):
        """(i_{t+1}, w_t) with Π_t from the firm's table, clearing the bond market Σ b′ g = B."""
        e = self.economy
        households, g = table["households"], g["households"]
        by_wage = jax.tree.map(lambda t: jnp.moveaxis(t, 1, 0), households)  # (n_w, n_i, n_b, n_y)

        def excess_bonds(table_w, w):
            """At a wage node: the firm's Π, the Taylor rule's i_{t+1}, the households' bonds."""
            Π = self.firm.inflation(table["firm"], a, w)
            location = locate_prices((e.i_grid,), nominal_rate(e, Π, a.e)[None])[0]
            return self.aggregates(table_w, a, g, w, Π, location).bonds - e.B

        Z = jax.vmap(excess_bonds)(by_wage, e.w_grid)
        market = clear_market(e.w_grid, Z)

        def at_wage(w):
            Π = self.firm.inflation(table["firm"], a, w)
            p = jnp.stack([nominal_rate(e, Π, a.e), w])
            location, outside = locate_prices((e.i_grid, e.w_grid), p)
            return p, location, outside, self.aggregates(households, a, g, w, Π, location)

        w = refine_price(lambda w: at_wage(w)[3].bonds - e.B, market, e.w_grid, Z, CLEARING_STEPS)
        p, location, outside, x = at_wage(w)
        i_outside = ~((a.i >= e.i_grid[0]) & (a.i <= e.i_grid[-1]))  # the firm read its table at an edge
        outcomes = {"Π": x.Π, "i": a.i, "r": x.r, "Y": x.Y, "L": x.L, "d": x.d, "τ": x.τ}
        residual = {"bonds": (x.bonds - e.B) / e.B}
        return Prices(p, location, residual, market.out_of_grid | outside | i_outside, outcomes)

    def check_policy(self, table):
        """Raise ValueError unless the bond market clears inside the w grid at the warm-up
        state (the steady state's distribution and nominal rate, z = 1, e = 0)."""
        e = self.economy
        dtype = self.households.g0.dtype
        a = HANKState(jnp.zeros((), dtype), jnp.zeros((), dtype), jnp.asarray(self.i_start, dtype))
        prices = self.prices(table, a, {"households": self.households.g0})
        if bool(prices.out_of_grid):
            w, i_next = float(prices.values[1]), float(prices.values[0])
            raise ValueError(
                f"the price grids cannot bracket clearing at the steady state under the initial policy: the "
                f"bond market settles at w = {w:.4g}, i_next = {i_next:.4g} with w grid [{float(e.w_grid[0]):.4g}, "
                f"{float(e.w_grid[-1]):.4g}] and i grid [{float(e.i_grid[0]):.4g}, {float(e.i_grid[-1]):.4g}]; widen them"
            )


def hank_spg(economy: HANK, steady) -> HANKSPG:
    """The SPG plug-in of `economy`, started at its steady state `steady`
    (`srlteach.economies.hank.steady_state.steady_state`): the warm-up paths start from its
    distribution g and nominal rate i, and the initial policy is its policy (`steady_policy`)."""
    check_grids(economy, steady)
    g0 = jnp.asarray(steady.g, economy.b_grid.dtype)
    θ = steady_policy(economy, steady)
    households = Households(economy, g0, asset_locator(economy.b_grid), θ["households"])
    return HANKSPG(economy, households, Firm(economy, θ["firm"]), float(steady.i))


def with_terminal_value(model: HANKSPG, steady) -> HANKSPG:
    """`model` whose households value the end of each path at v_T = the steady state's value
    (`steady_state_value`): each path's objective becomes Σ_{t<T} β^t d_tᵀ u_t + β^T d_Tᵀ v_T.
    Without it (the paper's truncation) a household at T - 1 has no reason to keep bonds, and
    over T = 182 its policy saves a little less than an infinitely lived one's."""
    households = dataclasses.replace(model.households, terminal=jnp.asarray(steady_state_value(model.economy, steady), model.households.g0.dtype))
    return dataclasses.replace(model, households=households)


def steady_policy(economy: HANK, steady, tol: float = 1e-9, bound: float = 1e-4) -> dict:
    """The initial policy: each agent's best response if today's prices were to last forever.

    Households: at every price node (i_{t+1}, w), the EGM policy of a household facing the
    wage w and the real return (1 + i_{t+1})/(1 + Π̄) - 1 forever, with the steady state's
    inflation Π̄ and transfers τ (the paper's footnote-20 start for Huggett): the savings share b′/min(x, b_max) (clipped to [bound, 1 - bound] before the
    logit, so that θ is finite at the borrowing limit) and the hours. Firm: at every node
    (z, i, w), the Phillips curve with next period at the steady state,
    Π(1 + Π) = (ε/θ)(w/z - (ε-1)/ε) + Π̄(1 + Π̄)/(1 + r̄).

    models.md starts from "save half, work 1.5, Π = 0" at every node. That policy does not
    react to prices, and here aggregate cash on hand, B + Y(1 - (θ/2)Π²), does not depend
    on the prices either (taxes r B cancel the interest; dividends fall one for one with the
    wage bill): its bond demand is flat in w, and at the steady-state distribution it is
    about 0.6 B, so that no wage clears the market. A policy that reacts to prices makes
    the bond demand slope from the first epoch.
    """
    e = economy
    i_next, w = (x.ravel() for x in jnp.meshgrid(e.i_grid, e.w_grid, indexing="ij"))
    r = real_rate(i_next, steady.Π)  # the real return of bonds bought at i_{t+1} when Π stays at the steady state
    _, n, b_next, distance, _ = jax.vmap(lambda r, w: egm_iteration(e, r, w, steady.τ, steady.c, tol, 20_000))(r, w)
    if not float(distance.max()) < tol:
        raise RuntimeError(f"the households' constant-price policies did not converge (sup change {float(distance.max()):.3g})")
    x = (1 + r)[:, None, None] * e.b_grid[:, None] + household_income(e, w[:, None, None], e.y_grid, n, steady.τ)
    share = jnp.clip(b_next / jnp.clip(x, 1e-12, e.b_grid[-1]), bound, 1 - bound)
    shape = (e.i_grid.size, e.w_grid.size) + share.shape[1:]
    households = {"save": (jnp.log(share) - jnp.log1p(-share)).reshape(shape), "hours": jnp.log(n).reshape(shape)}
    expected = steady.Π * (1 + steady.Π) / (1 + steady.r)
    cost = e.w_grid[None, :] / jnp.exp(e.log_z_grid)[:, None]
    today = jnp.clip(e.ε / e.θ * (cost - (e.ε - 1) / e.ε) + expected, -0.18, 0.3)  # Π within ±0.2 < INFLATION_BOUND
    Π = (jnp.sqrt(1 + 4 * today) - 1) / 2
    firm = jnp.broadcast_to(jnp.arctanh(Π / INFLATION_BOUND)[:, None, :], (e.log_z_grid.size, e.i_grid.size, e.w_grid.size))
    return {"households": households, "firm": firm}
