"""The Huggett economy with the bond priced at purchase: the timing of the slides and of the
authors' tutorial (models.md, model 2, "Timing").

    c + q_t b′ = b + y z_t,   b′ ≥ b̲,   Σ_s b′(s; z_t, q_t) g_t(s) = 0 every period.

b is the face value of the bonds bought yesterday; each pays 1 today. The price q_t clears the
market at t and is paid at purchase, so the return 1/q_t - 1 on today's savings is known when
they are made. In the return timing of `srlteach.economies.huggett.economy`,
c + b′ = (1 + r_t) b + y z_t, the rate r_t is set at t and paid at t on yesterday's bonds:
savings made at t-1 bear the risk of r_t. With aggregate risk the two are different economies.
Without it they coincide with r = 1/q - 1, except that b̲ = -1 limits the face value here (the
amount borrowed is q b̲) and the amount borrowed there.

**The policy.** The household chooses what it spends on bonds, a = q b′, as a share s of its
resources above the borrowing limit (`srlteach.foundations.budget.savings_from_share`):

    a = q b̲ + s (min(x, q b_max) - q b̲),   x = b + y z,   s = 1/(1 + e^(-θ)),

stored on the (z, q, b, y) nodes and linear in q between q nodes, like every SPG table. The
table holds spending rather than b′ because everything it must satisfy is then linear in q:
c = x - a > 0 and q b̲ ≤ a ≤ q b_max hold between nodes when they hold at them, and market
clearing Σ b′ g = 0 is Σ a g = 0 (everybody pays the same q), a schedule that is linear in q
between nodes, so bracketing it and interpolating is exact (as for r in
`srlteach.economies.huggett.economy.clear_bond_market`).
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from srlteach.economies.huggett.economy import (
    CALIBRATION,
    SCALES,
    bond_market,
    check_household_settings,
    household_fields,
)
from srlteach.economies.huggett.srl import (
    SHARE_BOUND,
    HuggettSPG,
    _warmup_distribution,
    check_stationary_inside,
)
from srlteach.foundations.budget import savings_from_share, savings_logit
from srlteach.foundations.discretisation import stationary_markov
from srlteach.foundations.distributions import asset_locator, fast_lottery
from srlteach.foundations.markets import clear_market
from srlteach.foundations.utility import crra_utility
from srlteach.foundations.validation import economy_settings
from srlteach.learning.spg import Prices, Step, locate_prices, policy
from srlteach.solvers.equilibrium import Market, StationaryEquilibrium, stationary_equilibrium
from srlteach.solvers.household import HouseholdPolicy, egm

_static = dict(metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettBondPrice:
    """A Huggett economy in the bond-price timing: parameters (static), grids and chains (arrays)."""

    β: float = dataclasses.field(**_static)  # discount factor
    σ: float = dataclasses.field(**_static)  # CRRA coefficient
    b_min: float = dataclasses.field(**_static)  # borrowing limit b̲ = b_grid[0], in face value
    ρ_z: float = dataclasses.field(**_static)  # persistence of log z
    ν_z: float = dataclasses.field(**_static)  # unconditional s.d. of log z
    b_grid: jax.Array  # (n_b,) face value of bonds, b̲ … b_max, denser near b̲
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels y
    Π_y: jax.Array  # (n_y, n_y) income transitions
    z_grid: jax.Array  # (n_z,) aggregate shock levels z
    Π_z: jax.Array  # (n_z, n_z) aggregate transitions
    q_grid: jax.Array  # (n_q,) bond-price nodes of the policy

    def stationary_market(self) -> Market:
        """The bond market without aggregate risk, for `srlteach.solvers.equilibrium`.

        At a constant q = 1/(1 + r) the budget divided by q reads c/q + b′ = (1 + r) b + (1 + r) y:
        the return timing with income (1 + r) y. Since u(q c̃) = q^(1-σ) u(c̃) (log q + log c̃ when
        σ = 1), the household that chooses c̃ = c/q saves the same b′. So the stationary solver
        with the wage w(r) = 1 + r solves this economy (`stationary_equilibrium_bond_price`).
        """
        return bond_market(self.β, wage=lambda r: 1 + r)


# The calibration of model 2 with a grid of bond prices in place of rates: q on [0.94, 0.99]
# is r = 1/q - 1 on [0.0101, 0.0638], the r grid [0.01, 0.06] of the return timing, rounded.
CALIBRATION_BOND_PRICE = {**{k: v for k, v in CALIBRATION.items() if k not in ("r_min", "r_max")}, "q_min": 0.94, "q_max": 0.99}
SCALES_BOND_PRICE = {scale: {("n_q" if k == "n_r" else k): v for k, v in sizes.items()} for scale, sizes in SCALES.items()}


def create_huggett_bond_price(scale: str = "book", **overrides) -> HuggettBondPrice:
    """The Huggett economy with aggregate risk in the bond-price timing.

    scale : "book" or "paper" (the grid sizes of `create_huggett`, with n_q bond-price nodes
    in place of n_r rates); overrides : any key of `CALIBRATION_BOND_PRICE` or of the scale's
    sizes. Raises ValueError naming the parameter and the bound it breaks when the problem is
    not well posed. n_z = 1 with ν_z = 0 gives the economy without aggregate risk
    (`create_huggett_bond_price_stationary`).
    """
    sizes = {"n_b": ("asset grid size n_b", 2, None), "n_q": ("bond-price grid size n_q", 2, "n_q"),
             "n_y": ("number of states n_y", 1, None), "n_z": ("number of states n_z", 1, None)}
    p = economy_settings("Huggett (bond price)", scale, overrides, CALIBRATION_BOND_PRICE, SCALES_BOND_PRICE, sizes)
    check_household_settings(p, stationary="create_huggett_bond_price_stationary")
    if not 0 < p["q_min"] < p["q_max"]:
        raise ValueError(f"the bond-price grid needs 0 < q_min < q_max, got q_min = {p['q_min']}, q_max = {p['q_max']}")
    fields = household_fields(p)

    # Natural borrowing limit: a household at b̲ with the lowest income must be able to roll
    # its debt over, b̲ + y z - q b̲ > 0, at every q on the grid (q_min is the worst when q < 1).
    lowest_income = float(fields["y_grid"][0] * fields["z_grid"][0])
    if p["q_min"] < 1 and not p["b_min"] > -lowest_income / (1 - p["q_min"]):
        limit = -lowest_income / (1 - p["q_min"])
        raise ValueError(
            f"borrowing limit b_min = {p['b_min']} violates the natural borrowing limit "
            f"-min(y z)/(1 - q_min) = {limit:.6g}; b_min must be > {limit:.6g}"
        )
    return HuggettBondPrice(**fields, q_grid=jnp.linspace(p["q_min"], p["q_max"], p["n_q"]))


def create_huggett_bond_price_stationary(scale: str = "book", **overrides) -> HuggettBondPrice:
    """The bond-price economy without aggregate risk: z ≡ 1 (n_z = 1, ν_z = 0)."""
    return create_huggett_bond_price(scale, **{"n_z": 1, "ν_z": 0.0, **overrides})


def stationary_equilibrium_bond_price(economy: HuggettBondPrice, method: str = "egm") -> StationaryEquilibrium:
    """The stationary equilibrium of the bond-price economy (z ≡ 1), independently of SPG.

    `srlteach.solvers.equilibrium.stationary_equilibrium` (EGM, or VFI with `method="vfi"`, and
    a bracketing search) on the equivalent return-timing problem of
    `HuggettBondPrice.stationary_market`. Returns its result in this economy's units: the rate
    r*, so that q* = 1/(1 + r*), and consumption c = q c̃ (policy.c and C; w = 1).
    """
    eq = stationary_equilibrium(economy, method=method)
    q = 1 / (1 + eq.r)
    return eq._replace(w=1.0, C=q * eq.C, policy=HouseholdPolicy(q * eq.policy.c, eq.policy.b_next))


def scaled_exogenous_states(economy: HuggettBondPrice):
    """The budget divided by q, c/q + b′ = b/q + y z/q, in the form `household.egm` solves:
    gross return 1/q and income y z/q on e = (y, z, q), flattened in C order (y slowest).
    The savings policy is that of the bond-price household (`HuggettBondPrice.stationary_market`)."""
    y, z, q = economy.y_grid[:, None, None], economy.z_grid[None, :, None], economy.q_grid[None, None, :]
    shape = (economy.y_grid.size, economy.z_grid.size, economy.q_grid.size)
    return jnp.broadcast_to(1 / q, shape).ravel(), jnp.broadcast_to(y * z / q, shape).ravel()


def constant_prices_bond_policy(economy: HuggettBondPrice):
    """b′(b, y, z, q) if (y, z, q) stayed constant forever (the paper's footnote 20), by EGM
    with an identity transition over (y, z, q); shape (n_b, n_y, n_z, n_q). At zero bonds it
    keeps b′ = 0 exactly where q = β, whatever y z: that price clears the market of the
    warm-up cross-section at every z."""
    R, income = scaled_exogenous_states(economy)
    sizes = (economy.y_grid.size, economy.z_grid.size, economy.q_grid.size)
    b_next = egm(economy.b_grid, R, income, tuple(jnp.eye(n) for n in sizes), economy.β, economy.σ).b_next
    return b_next.reshape((economy.b_grid.size,) + sizes)


# ---------------------------------------------------------------------------------------
# Market clearing in q
# ---------------------------------------------------------------------------------------


class BondPriceMarket(NamedTuple):
    """The outcome of clearing the bond market at one date in the bond-price timing."""

    q: jax.Array  # the market-clearing bond price (an end of q_grid if out_of_grid)
    residual: jax.Array  # Σ b′ g at q, in face value: zero up to rounding inside the grid
    out_of_grid: jax.Array  # bool: no sign change on q_grid, q is clipped to an edge


def spending_schedule(g, spending_on_q_grid):
    """Σ_s a(s; z, q_k) g(s) on every node q_k, with a = q b′: q_k times the aggregate bond demand.

    g : (n_b, n_y); spending_on_q_grid : (n_b, n_y, n_q) the policy at today's z. Returns (n_q,).
    """
    return jnp.einsum("by,byq->q", g, spending_on_q_grid)


def clear_bond_price(economy: HuggettBondPrice, g, spending_on_q_grid) -> BondPriceMarket:
    """Solve Σ_s b′(s; z, q) g(s) = 0 for q: bracket the first sign change of the spending
    schedule on q_grid and interpolate linearly (`srlteach.foundations.markets.clear_market`).

    Spending is linear in q between nodes, so the interpolation is exact for it; the residual
    is reported as aggregate bonds, spending divided by q. A clip sets `out_of_grid`."""
    market = clear_market(economy.q_grid, spending_schedule(g, spending_on_q_grid))
    return BondPriceMarket(market.price, market.residual / market.price, market.out_of_grid)


# ---------------------------------------------------------------------------------------
# The SPG plug-in
# ---------------------------------------------------------------------------------------


def _resources(economy: HuggettBondPrice):
    """x = b + y z on the policy's (z, ·, b, y) nodes (the same at every q)."""
    return economy.b_grid[None, None, :, None] + economy.y_grid * economy.z_grid[:, None, None, None]


def _q_nodes(economy: HuggettBondPrice):
    return economy.q_grid[None, :, None, None]


def spending_table(economy: HuggettBondPrice, θ):
    """a = q b′ on the (z, q, b, y) nodes from θ (same shape): b′ = b̲ + s (min(x/q, b_max) - b̲),
    the savings share map in face value, times q (module docstring)."""
    q = _q_nodes(economy)
    return q * savings_from_share(θ, _resources(economy) / q, economy.b_min, economy.b_grid[-1])


def spending_parameters(economy: HuggettBondPrice, b_next):
    """θ with `spending_table(economy, θ)` ≈ q b_next, for b_next on the (z, q, b, y) nodes;
    shares clipped to [SHARE_BOUND, 1 - SHARE_BOUND] so that θ is finite at the constraints."""
    return savings_logit(b_next, _resources(economy) / _q_nodes(economy), economy.b_min, economy.b_grid[-1], SHARE_BOUND)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettBondPriceSPG(HuggettSPG):
    """The bond-price Huggett economy plugged into `srlteach.learning.spg`.

    As `HuggettSPG` (aggregate state: the z node; warm-up from zero bonds; z_0 from its
    stationary law), except that the price is q_t, cleared on `q_grid` inside every rollout,
    and the table holds bond spending a = q b′ on the (z, q, b, y) nodes (module docstring).
    The initial θ is the constant-prices policy `constant_prices_bond_policy`. No terminal
    value: v_T = 0, the paper's truncation.
    """

    price_names = ("q",)

    def initial_parameters(self):
        b_next = jnp.transpose(constant_prices_bond_policy(self.economy), (2, 3, 0, 1))
        return spending_parameters(self.economy, b_next).astype(self.g0.dtype)

    def actions(self, θ):
        return spending_table(self.economy, θ)

    def prices(self, table, a, g):
        """q_t from Σ_s b′(s; z_t, q) g_t(s) = 0 on the whole q grid (`clear_bond_price`)."""
        market = clear_bond_price(self.economy, g, jnp.moveaxis(table[a], 0, -1))
        q = market.q[None]
        location, _ = locate_prices((self.economy.q_grid,), q)
        return Prices(q, location, market.residual, market.out_of_grid)

    def individual(self, spending, a, prices):
        e = self.economy
        q = prices.values[0]
        c = e.b_grid[:, None] + e.y_grid * e.z_grid[a] - spending
        b_next = spending / q  # face value bought: between b̲ and b_max by the table's construction
        return Step(crra_utility(c, e.σ), fast_lottery(self.locator, b_next), {"C": c, "B": b_next})

    def check_policy(self, table):
        """Raise ValueError unless the bond demand changes sign on q_grid at the warm-up
        distribution for every z, and the grid contains the stationary price q* (z ≡ 1)."""
        e = self.economy
        q_min, q_max = float(e.q_grid[0]), float(e.q_grid[-1])
        for m in range(e.z_grid.size):
            if clear_bond_price(e, self.g0, jnp.moveaxis(table[m], 0, -1)).out_of_grid:
                S = spending_schedule(self.g0, jnp.moveaxis(table[m], 0, -1)) / e.q_grid
                raise ValueError(
                    f"the q grid [{q_min:.4g}, {q_max:.4g}] does not bracket market clearing at the initial policy: "
                    f"at z = {float(e.z_grid[m]):.4g} the bond demand runs from {float(S[0]):.3g} to {float(S[-1]):.3g} "
                    f"without changing sign; widen q_min/q_max"
                )
        # q_t moves around the stationary q* > β (at q ≤ β households save without bound);
        # the stationary bond demand at the grid's ends, as rates r = 1/q - 1, says where q* lies.
        if not q_max > e.β:
            raise ValueError(
                f"q_max = {q_max:.4g} must be > β = {e.β}: the market clears above the price at which households "
                f"save without bound; raise q_max"
            )
        check_stationary_inside(
            e, f"the q grid [{q_min:.4g}, {q_max:.4g}]", [1 / q - 1 for q in (q_max, q_min) if q > e.β],
            (("stationary price q* lies above q_max (bond demand at q_max {:.3g} > 0", "raise q_max"),
             ("stationary price q* lies below q_min (bond demand at q_min {:.3g} < 0", "lower q_min")),
        )


def huggett_bond_price_spg(economy: HuggettBondPrice) -> HuggettBondPriceSPG:
    """The SPG plug-in of the bond-price Huggett economy (with aggregate risk, or n_z = 1)."""
    if not isinstance(economy, HuggettBondPrice):
        raise ValueError(f"economy must be a HuggettBondPrice (create_huggett_bond_price), got {type(economy).__name__}")
    return HuggettBondPriceSPG(economy, _warmup_distribution(economy), stationary_markov(economy.Π_z), asset_locator(economy.b_grid))


@jax.jit
def consumption_along_paths(model: HuggettSPG, θ, path):
    """c(s) on the (b, y) grid at every date and path of `path`, (T, N, n_b, n_y): the trained
    policy read at each date's (z_t, p_t). Works for both timings (`HuggettSPG`,
    `HuggettBondPriceSPG`): what households at the same (b, y) consume as prices move."""
    table = model.actions(θ)

    def one(a, prices):
        return model.individual(policy(model, table, a, prices), a, prices).outputs["C"]

    return jax.vmap(jax.vmap(one))(path.aggregate, path.prices)
