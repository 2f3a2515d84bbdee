"""Portfolio choice by structural reinforcement learning: the SPG plug-in, the bond market
cleared inside every rollout, and the diagnostics of a trained policy."""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.economies.portfolio.economy import (
    RETURN_BOUND,
    Portfolio,
    Reference,
    capital_from_wealth,
    next_log_z,
    prices,
    stationary_reference,
)
from srlteach.foundations.distributions import AssetLocator, asset_locator, fast_lottery, linear_interpolation, push_forward
from srlteach.foundations.markets import clear_market, refine_price
from srlteach.foundations.utility import crra_utility, euler_consumption, marginal_utility
from srlteach.learning.spg import BondIncomeDynamics, Prices, SPGConfig, Step, interpolate, locate_prices, policy

# SPG numerics. Paper scale: models.md (N = 512, T = 90, the Krusell–Smith learning rate and
# stopping rule). Book scale: N = 32 paths, and the step and decay of the book's
# Krusell–Smith run, so that a run converges in about a minute on a 2-core CPU.
SPG_PAPER = SPGConfig(N=512, T=90, η0=0.05, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1500, tol=2e-4)
SPG_BOOK = SPGConfig(N=32, T=90, η0=0.05, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1000, tol=1e-3)

SHARE_BOUND = 0.02  # the initial savings shares are kept in [0.02, 0.98]: θ starts within ±3.9
PORTFOLIO_SLOPE = 100.0  # initial logit of ω rises by this per unit of q R - 1 (capital's return relative to the bond's)
REFINEMENTS = 4  # Illinois steps on the bracketing q interval (the bond demand is not linear between nodes)


class Choice(NamedTuple):
    """A household's choice at (x, y) and prices (q, w)."""

    c: jax.Array  # consumption
    b_next: jax.Array  # bonds b′ ≥ -1 (face value, paid at t+1)
    k_next: jax.Array  # capital k′ ≥ 0
    saved: jax.Array  # A = q (b′ + 1) + k′: savings above the borrowing limit, in today's goods


def portfolio_choice(economy: Portfolio, s, ω, q, w) -> Choice:
    """The choice on the (x, y) grid from the savings share s and the portfolio share ω.

    Resources above the borrowing limit are cash + q (cash = x + w y; q buys the -1 bonds
    the household may owe). The household saves A = s min(cash + q, A_max) of them and puts
    the share ω of its savings in capital:

        k′ = ω A,    b′ = (1 - ω) A / q - 1,    c = cash + q - A ≥ (1 - s)(cash + q),

    so b′ ≥ -1, k′ ≥ 0 and c > 0 for any s, ω in (0, 1), at the nodes and between them
    (the shares are what is interpolated). A_max = (x_max + 1)/RETURN_BOUND keeps next
    period's wealth x′ = b′ + R′ k′ ≤ x_max while 1/q and R′ stay below RETURN_BOUND.
    """
    e = economy
    cash = e.x_grid[:, None] + w * e.y_grid
    A_max = (e.x_grid[-1] + 1) / RETURN_BOUND
    saved = s * jnp.minimum(cash + q, A_max)
    return Choice(cash + q - saved, (1 - ω) * saved / q - 1, ω * saved, saved)


def _at_every_q(table, location):
    """A (n_q, n_R, n_w, ...) table read at (q_k, R, w) for every q node: the 2 × 2 block of
    (R, w) nodes around (R, w) in one slice, combined bilinearly (the engine's interpolation
    at each q node, several times faster than one gather of corners per q node)."""
    (i, j), (ω_R, ω_w) = location.index, location.weight
    block = jax.lax.dynamic_slice(table, (0, i, j) + (0,) * (table.ndim - 3), (table.shape[0], 2, 2) + table.shape[3:])
    return ω_R * (ω_w * block[:, 0, 0] + (1 - ω_w) * block[:, 0, 1]) + (1 - ω_R) * (ω_w * block[:, 1, 0] + (1 - ω_w) * block[:, 1, 1])


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PortfolioSPG(BondIncomeDynamics):
    """The portfolio economy plugged into the SPG engine (`srlteach.learning.spg.SPGEconomy`).

    Aggregate state a = (log z, K): z a continuous AR(1), K the capital stock, which the
    households' wealth x = b + R k no longer reveals. Prices p = (q, R, w): (R, w) are closed
    forms of (K, z); q clears the bond market on the q grid (`prices`). K_{t+1} = Σ k′ g_t is
    an outcome of today's market and enters a_{t+1}; the transition uses R_{t+1} from
    a_{t+1} (`uses_next_aggregate`), so capital's return is realised when z_{t+1} is drawn.

    Policy: two tables on the (q, R, w, x, y) nodes, the savings share s and the portfolio
    share ω, both 1/(1 + e^(-θ)) (`portfolio_choice`).
    """

    economy: Portfolio
    g0: jax.Array  # (n_x, n_y) warm-up distribution: the stationary one without aggregate risk
    locator: AssetLocator  # finds x′ on the wealth grid for Young's lottery
    s0: jax.Array  # (n_x, n_y) initial savings share: the stationary policy's
    q_star: float = dataclasses.field(metadata=dict(static=True))  # 1/(1 + r*) without aggregate risk
    K_star: float = dataclasses.field(metadata=dict(static=True))  # K* without aggregate risk

    price_names = ("q", "R", "w")
    uses_next_aggregate = True

    @property
    def β(self):
        return self.economy.β

    def initial_parameters(self):
        """θ_s: the stationary policy's savings share at every price node. θ_ω: the share
        ω̄ = K*/(K* + q*) that clears the stationary bond market, tilted towards capital
        where q R > 1 (capital pays more than the bond if R′ ≈ R): the bond demand falls in q
        from the first epoch."""
        e = self.economy
        shape = (e.q_grid.size, e.R_grid.size, e.w_grid.size, e.x_grid.size, e.y_grid.size)
        s0 = jnp.clip(self.s0, SHARE_BOUND, 1 - SHARE_BOUND)
        θ_s = jnp.broadcast_to(jnp.log(s0) - jnp.log1p(-s0), shape)
        ω_bar = self.K_star / (self.K_star + self.q_star)
        qR = e.q_grid[:, None, None, None, None] * e.R_grid[None, :, None, None, None]
        θ_ω = jnp.broadcast_to(jnp.log(ω_bar / (1 - ω_bar)) + PORTFOLIO_SLOPE * (qR - 1), shape)
        return {"s": θ_s.astype(self.g0.dtype), "ω": θ_ω.astype(self.g0.dtype)}

    def actions(self, θ):
        """The shares (s, ω) on the (q, R, w, x, y) nodes."""
        return {name: jax.nn.sigmoid(θ[name]) for name in ("s", "ω")}

    def policy_index(self, a):
        return ()  # z is not an axis of the tables: (R, w) reveal (K, z)

    def initial_distribution(self):
        return self.g0

    def initial_aggregate(self, key):
        """log z_0 ~ N(0, ν_z²) and the K_0 whose gross return R(K_0, z_0) K_0 is the wealth of g0."""
        return self.aggregate_at(self.economy.ν_z * jax.random.normal(key, dtype=self.g0.dtype))

    def aggregate_at(self, log_z):
        """(log z, K) with the K whose gross return R(K, z) K is the wealth of g0."""
        X = jnp.sum(self.g0 * self.economy.x_grid[:, None])
        return jnp.stack([log_z, capital_from_wealth(self.economy, X, jnp.exp(log_z))])

    def aggregate_shocks(self, key, shape):
        return jax.random.normal(key, shape, dtype=self.g0.dtype)

    def next_aggregate(self, a, ε, prices):
        """(log z′, K′): the AR(1), and K′ = Σ k′ g_t from today's market."""
        return jnp.stack([next_log_z(self.economy, a[0], ε), prices.outcomes["K"]])

    def prices(self, table, a, g):
        """(q, R, w) at a = (log z, K): R and w in closed form, q from Σ b′(q) g = 0.

        The bond demand Z(q) = Σ b′(s, ω; q) g is evaluated at every q node (the shares read
        at (q_k, R, w)); `clear_market` brackets its sign change. Between two nodes the
        shares are linear in q but b′ is not (it divides by q), so Illinois steps on the
        bracketing interval (`refine_price`) refine q until Z(q) with the interpolated shares,
        the demand the households will act on, is zero up to rounding; the residual reported
        is that Z(q). Outside the grid q is clipped to its edge and the residual is the imbalance.
        """
        e = self.economy
        log_z, K = a[0], a[1]
        R, w = prices(e, K, jnp.exp(log_z))
        location, _ = locate_prices((e.R_grid, e.w_grid), jnp.stack([R, w]))
        shares = jax.tree.map(lambda leaf: _at_every_q(leaf, location), table)  # (n_q, n_x, n_y) each

        def holdings_at(s, ω, q):  # (Σ b′ g, Σ k′ g) at the shares s, ω and bond price q
            choice = portfolio_choice(e, s, ω, q, w)
            return jnp.sum(g * choice.b_next), jnp.sum(g * choice.k_next)

        def demand(q):  # the shares linear in q between nodes, as the policy reads them
            location, _ = locate_prices((e.q_grid,), q[None])
            at_q = jax.tree.map(lambda x: interpolate(x, location), shares)
            return holdings_at(at_q["s"], at_q["ω"], q)

        Z = jax.vmap(lambda s, ω, q: holdings_at(s, ω, q)[0])(shares["s"], shares["ω"], e.q_grid)
        market = clear_market(e.q_grid, Z)
        q = refine_price(lambda q: demand(q)[0], market, e.q_grid, Z, REFINEMENTS)
        bonds, capital = demand(q)
        p = jnp.stack([q, R, w])
        location, outside = locate_prices((e.q_grid, e.R_grid, e.w_grid), p)
        return Prices(p, location, {"bonds": bonds}, outside | market.out_of_grid, {"K": capital})

    def individual(self, action, a, p, a_next):
        """u(c) and Young's lottery of next period's wealth x′ = b′ + R_{t+1} k′ on the x grid,
        with R_{t+1} from a_{t+1} = (log z_{t+1}, K_{t+1})."""
        e = self.economy
        q, _, w = p.values
        R_next, _ = prices(e, a_next[1], jnp.exp(a_next[0]))
        choice = portfolio_choice(e, action["s"], action["ω"], q, w)
        x_next = choice.b_next + R_next * choice.k_next
        outputs = {"C": choice.c, "B": choice.b_next, "K_next": choice.k_next,
                   "X": jnp.broadcast_to(e.x_grid[:, None], choice.c.shape)}
        return Step(crra_utility(choice.c, e.σ), fast_lottery(self.locator, x_next), outputs)

    def check_policy(self, table):
        """Raise ValueError unless the stationary prices lie inside the price grids and the
        q grid brackets bond-market clearing at the warm-up distribution (z = 1)."""
        e = self.economy
        a = self.aggregate_at(jnp.zeros((), self.g0.dtype))
        R, w = prices(e, a[1])
        for name, p, grid in (("q", self.q_star, e.q_grid), ("R", R, e.R_grid), ("w", w, e.w_grid)):
            if not grid[0] <= p <= grid[-1]:
                raise ValueError(
                    f"the {name} grid [{float(grid[0]):.4g}, {float(grid[-1]):.4g}] must contain the stationary "
                    f"price {name} = {float(p):.4g} (no aggregate risk): widen {name}_min/{name}_max"
                )
        clearing = self.prices(table, a, self.g0)
        if bool(clearing.out_of_grid):
            raise ValueError(
                f"the q grid [{float(e.q_grid[0]):.4g}, {float(e.q_grid[-1]):.4g}] does not bracket bond-market "
                f"clearing at the initial policy and distribution (the bond demand does not change sign on it; "
                f"imbalance {float(clearing.residual['bonds']):.3g} at q = {float(clearing.values[0]):.4g}): "
                f"widen q_min/q_max"
            )


def portfolio_spg(economy: Portfolio, reference: Reference | None = None) -> PortfolioSPG:
    """The SPG plug-in of `economy`; reference: its `stationary_reference` (computed if None).

    The warm-up distribution and the initial savings share are the stationary equilibrium's
    (without aggregate risk): s0 = q*(x′ + 1)/min(cash* + q*, A_max) at its prices.
    """
    ref = stationary_reference(economy) if reference is None else reference
    e = economy
    cash = e.x_grid[:, None] + ref.w * e.y_grid
    A_max = (e.x_grid[-1] + 1) / RETURN_BOUND
    s0 = ref.q * (ref.x_next + 1) / jnp.minimum(cash + ref.q, A_max)
    return PortfolioSPG(e, jnp.asarray(ref.g), asset_locator(e.x_grid), s0, float(ref.q), float(ref.K))


# ---------------------------------------------------------------------------------------
# Simulation on a given shock path, the premium, portfolios and Euler errors
# ---------------------------------------------------------------------------------------


class PortfolioPath(NamedTuple):
    """A simulated path of the aggregates, one entry per period t = 0, …, T-1."""

    log_z: jax.Array  # log z_t
    K: jax.Array  # K_t
    q: jax.Array  # q_t, clearing the bond market
    R: jax.Array  # R_t
    w: jax.Array  # w_t
    C: jax.Array  # C_t = Σ c g_t
    residual: jax.Array  # Σ b′ g_t at q_t (bond-market imbalance)
    out_of_grid: jax.Array  # a price clipped to its grid's edge
    premium: jax.Array  # E_t[R_{t+1}] - 1/q_t


def expected_return(economy: Portfolio, K_next, log_z):
    """E_t[R_{t+1}] = α E_t[z′] (K′/L)^(α-1) + 1 - δ with E_t[z′] = exp(ρ log z + ν²(1-ρ²)/2):
    the exact mean over the next shock (log z′ is normal given log z)."""
    α, δ, L, ρ, ν = economy.α, economy.δ, economy.L, economy.ρ_z, economy.ν_z
    return α * jnp.exp(ρ * log_z + 0.5 * ν**2 * (1 - ρ**2)) * (K_next / L) ** (α - 1) + 1 - δ


@jax.jit
def simulate_aggregates(model: PortfolioSPG, θ, log_z, g0=None, K0=None):
    """One economy under the SRL policy θ along a given shock path log_z (T,).

    The engine's own steps (`prices`, the policy, `individual`, `push_forward`) on a single
    path, so that a trained policy runs on the same shocks as another method.
    g0 : (n_x, n_y) distribution at t = 0 (default: the warm-up distribution); K0 : capital at
    t = 0 (default: the K whose return at z_0 is the wealth of g0).
    Returns (PortfolioPath, g_T, K_T): a later call continues from (g_T, K_T).
    """
    e = model.economy
    table = model.actions(θ)
    dtype = model.initial_distribution().dtype
    g0 = model.initial_distribution() if g0 is None else jnp.asarray(g0, dtype)
    log_z = jnp.asarray(log_z, dtype)
    if K0 is None:
        K0 = capital_from_wealth(e, jnp.sum(g0 * e.x_grid[:, None]), jnp.exp(log_z[0]))
    log_z_next = jnp.concatenate([log_z[1:], next_log_z(e, log_z[-1:], 0.0)])

    def period(carry, shocks):
        g, K = carry
        log_z_t, log_z_n = shocks
        a = jnp.stack([log_z_t, K])
        p = model.prices(table, a, g)
        a_next = jnp.stack([log_z_n, p.outcomes["K"]])
        step = model.individual(policy(model, table, a, p), a, p, a_next)
        q, R, w = p.values
        premium = expected_return(e, p.outcomes["K"], log_z_t) - 1 / q
        record = PortfolioPath(log_z_t, K, q, R, w, jnp.vdot(g, step.outputs["C"]), p.residual["bonds"], p.out_of_grid, premium)
        return (model.push_forward(g, step.transition), p.outcomes["K"]), record

    (g_T, K_T), path = jax.lax.scan(period, (g0, jnp.asarray(K0, dtype)), (log_z, log_z_next))
    return path, g_T, K_T


class Holdings(NamedTuple):
    """Choices on the (x, y) grid at one date (the policy read at that date's prices)."""

    c: jax.Array  # (n_x, n_y)
    b_next: jax.Array
    k_next: jax.Array
    ω: jax.Array  # portfolio share of capital in savings above the limit, k′/(q (b′+1) + k′)


def holdings(model: PortfolioSPG, θ, g, a) -> tuple[Holdings, Prices]:
    """The households' choices at the date with cross-section g and aggregate state a."""
    table = model.actions(θ)
    p = model.prices(table, a, g)
    action = policy(model, table, a, p)
    q, _, w = p.values
    choice = portfolio_choice(model.economy, action["s"], action["ω"], q, w)
    return Holdings(choice.c, choice.b_next, choice.k_next, action["ω"]), p


class PortfolioEulerErrors(NamedTuple):
    """Euler-equation errors of both assets at one date (log10 of relative errors)."""

    bond: jax.Array  # (n_x, n_y) from q u′(c) = β E[u′(c′)]
    capital: jax.Array  # (n_x, n_y) from u′(c) = β E[R′ u′(c′)]
    interior: jax.Array  # (n_x, n_y) bool: savings below the cap A_max (there the equations need not hold)


def euler_errors(model: PortfolioSPG, θ, g, a, n_quadrature: int = 9) -> PortfolioEulerErrors:
    """Euler errors of the SRL policy θ at one date with cross-section g and a = (log z, K).

    Today's prices clear the market at (g, a). K′ = Σ k′ g is known today; for each node of
    a Gauss–Hermite quadrature over the next shock, R′ follows, wealth x′ = b′ + R′ k′ moves
    g to g′, and tomorrow's bond market clears at (g′, log z′, K′): the true equilibrium
    dynamics, not a perceived law. With c(·, y′) linear in x′ between grid nodes,

        c̃_b = (u′)⁻¹(β E[u′(c′)] / q),    c̃_k = (u′)⁻¹(β E[R′ u′(c′)]).

    Each asset's Euler equation is an inequality at its limit (b′ = -1, k′ = 0): as in
    `srlteach.economies.krusell_smith.srl.euler_errors`, the error is |1 - c̃/c| where the household
    would hold more of the asset, and min(c̃/c - 1, (holding above its limit)/c) where it
    would hold less, which it can only down to the limit.
    """
    e = model.economy
    table = model.actions(θ)
    β, σ = e.β, e.σ
    h, p = holdings(model, θ, g, a)
    q, _, _ = p.values
    K_next = p.outcomes["K"]
    ε, weight = np.polynomial.hermite_e.hermegauss(n_quadrature)
    weight = jnp.asarray(weight / weight.sum(), g.dtype)

    def tomorrow(ε_q):
        log_z_next = next_log_z(e, a[0], ε_q)
        R_next, _ = prices(e, K_next, jnp.exp(log_z_next))
        lot = fast_lottery(model.locator, h.b_next + R_next * h.k_next)
        g_next = push_forward(g, lot, e.Π_y)
        a_next = jnp.stack([log_z_next, K_next])
        p_next = model.prices(table, a_next, g_next)
        action = policy(model, table, a_next, p_next)
        c_next = portfolio_choice(e, action["s"], action["ω"], p_next.values[0], p_next.values[2]).c
        mu = jnp.einsum("byk,yk->by", marginal_utility(linear_interpolation(c_next, lot), σ), e.Π_y)
        return mu, R_next * mu

    mu, R_mu = jax.vmap(tomorrow)(jnp.asarray(ε, g.dtype))
    c_bond = euler_consumption(jnp.tensordot(weight, mu, axes=1) / q, β, σ)
    c_capital = euler_consumption(jnp.tensordot(weight, R_mu, axes=1), β, σ)

    def error(c_tilde, above_limit):
        gap = c_tilde / h.c - 1
        residual = jnp.where(gap < 0, -gap, jnp.minimum(gap, above_limit / h.c))
        return jnp.log10(jnp.maximum(residual, jnp.finfo(g.dtype).eps))

    cash = e.x_grid[:, None] + p.values[2] * e.y_grid
    interior = cash + q < (e.x_grid[-1] + 1) / RETURN_BOUND
    return PortfolioEulerErrors(error(c_bond, q * (h.b_next + 1)), error(c_capital, h.k_next), interior)
