"""The Huggett economy: bonds in zero net supply, idiosyncratic income y, aggregate shock z.

One module for the Huggett household in all its forms (models.md, models 1 and 2):

- **model 2**, aggregate risk (`create_huggett`): c + b′ = (1 + r_t) b + y z_t, b′ ≥ b̲, and
  r_t clears the bond market every period, S_t(r) = Σ_s b′(s; z_t, r) g_t(s) = 0;
- **no aggregate risk** (`create_huggett_stationary`): z ≡ 1, the economy of the stationary
  equilibrium in `srlteach.solvers.equilibrium`;
- **model 1**, partial equilibrium (`create_huggett_pe`): the same household facing an
  exogenous Markov interest rate r′ = (1-ρ_r) r̄ + ρ_r r + ν_r sqrt(max(r, 0)) ε.

A household policy is stored on the grid over (b, y, z, r): b′ has shape (n_b, n_y, n_z, n_r)
and is linear in r between the nodes of `r_grid`. At a given z the slice (n_b, n_y, n_r) is
a supply schedule: `supply_schedule` evaluates S(r_k) on every r node in one product and
`clear_bond_market` brackets its sign change.

**Timing.** Here r_t is set by clearing at t and paid at t on the bonds bought at t-1 (the
form of the paper's computational section): the return on today's savings is not known when
they are made. The slides of Yang, Wang, Schaab and Moll (2025) and the authors' tutorial
price the bond at purchase instead, c + q_t b′ = b + y z_t, so that the return 1/q_t - 1 on
today's savings is known today. Without aggregate risk the two coincide (r = 1/q - 1, up to
whether b̲ limits face value or the amount borrowed); with aggregate risk they are different
economies. `srlteach.economies.huggett.bond_price` implements the bond-price timing.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from srlteach.foundations.discretisation import asset_grid, check_chain_settings, tauchen
from srlteach.foundations import budget
from srlteach.foundations.distributions import linear_interpolation, lottery
from srlteach.foundations.validation import economy_settings
from srlteach.foundations.markets import clear_market
from srlteach.solvers.equilibrium import Market
from srlteach.solvers.household import HouseholdPolicy, egm

_static = dict(metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Huggett:
    """A Huggett economy: parameters (static) and grids and chains (arrays).

    A pytree: pass it to jitted functions directly; β, σ and the process parameters are
    compile-time constants (σ selects the utility branch at trace time).
    """

    β: float = dataclasses.field(**_static)  # discount factor
    σ: float = dataclasses.field(**_static)  # CRRA coefficient
    b_min: float = dataclasses.field(**_static)  # borrowing limit b̲ = b_grid[0]
    ρ_z: float = dataclasses.field(**_static)  # persistence of log z
    ν_z: float = dataclasses.field(**_static)  # unconditional s.d. of log z
    b_grid: jax.Array  # (n_b,) bonds, b̲ … b_max, denser near b̲
    y_grid: jax.Array  # (n_y,) idiosyncratic income levels y
    Π_y: jax.Array  # (n_y, n_y) income transitions
    z_grid: jax.Array  # (n_z,) aggregate shock levels z = exp(log z)
    Π_z: jax.Array  # (n_z, n_z) aggregate transitions
    r_grid: jax.Array  # (n_r,) interest-rate nodes of the policy
    Π_r: jax.Array | None = None  # (n_r, n_r) exogenous r transitions (model 1 only)
    r̄: float | None = dataclasses.field(default=None, **_static)  # model 1: long-run mean of r
    ρ_r: float | None = dataclasses.field(default=None, **_static)  # model 1: persistence of r
    ν_r: float | None = dataclasses.field(default=None, **_static)  # model 1: volatility of r

    def stationary_market(self) -> Market:
        """The bond market without aggregate risk, for `srlteach.solvers.equilibrium`."""
        return bond_market(self.β, wage=lambda r: jnp.ones_like(r))


def bond_market(β: float, wage) -> Market:
    """A market for bonds in zero net supply at a stationary rate r, for
    `srlteach.solvers.equilibrium`: households earn wage(r) y (1 in the return timing; 1 + r
    in the bond-price timing of `srlteach.economies.huggett.bond_price`)."""
    r_ceiling = 1 / β - 1
    return Market(
        wage=wage,
        demand=lambda r: jnp.zeros_like(r),  # bonds are in zero net supply
        r_floor=-1.0,
        floor_name="-1 (the gross return 1 + r must be > 0)",
        bracket=(-0.5 * r_ceiling, r_ceiling - 1e-6),
    )


# The spec's calibration (models.md, model 2) and the two numerical scales.
CALIBRATION = dict(β=0.96, σ=2.0, b_min=-1.0, n_y=3, ρ_y=0.6, ν_y=0.2, ρ_z=0.9, ν_z=0.02, r_min=0.01, r_max=0.06, curvature=2.0)
SCALES = dict(
    paper=dict(n_b=200, b_max=50.0, n_z=30, n_r=20),
    # Book scale: an SPG epoch runs in seconds on a 2-core CPU. b_max = 20 keeps the
    # stationary distribution's support far below the cap (tests/test_huggett.py checks).
    book=dict(n_b=70, b_max=20.0, n_z=9, n_r=11),
)


def create_huggett(scale: str = "book", **overrides) -> Huggett:
    """The Huggett economy with aggregate risk (models.md, model 2).

    scale : "book" or "paper" (grid sizes in `SCALES`); overrides : any key of
    `CALIBRATION` or `SCALES[scale]` (e.g. β=0.95, n_b=100). Raises ValueError naming the
    parameter and the bound it breaks when the problem is not well posed.

    n_z = 1 gives the economy without aggregate risk (z ≡ 1); ν_z = 0 requires n_z = 1.
    """
    # Every setting is a finite number, and grid sizes whole numbers (n_b = 70.0 → 70).
    sizes = {"n_b": ("asset grid size n_b", 2, None), "n_r": ("interest-rate grid size n_r", 2, "n_r"),
             "n_y": ("number of states n_y", 1, None), "n_z": ("number of states n_z", 1, None)}
    p = economy_settings("Huggett", scale, overrides, CALIBRATION, SCALES, sizes)
    check_household_settings(p)
    if not -1 < p["r_min"] < p["r_max"]:
        raise ValueError(f"the interest-rate grid needs -1 < r_min < r_max, got r_min = {p['r_min']}, r_max = {p['r_max']}")
    fields = household_fields(p)

    # Natural borrowing limit at the worst node: the lowest income y z and the highest r.
    lowest_income = float(fields["y_grid"][0] * fields["z_grid"][0])
    if p["r_max"] > 0 and not p["b_min"] > -lowest_income / p["r_max"]:
        raise ValueError(
            f"borrowing limit b_min = {p['b_min']} violates the natural borrowing limit "
            f"-min(y z)/r_max = {-lowest_income / p['r_max']:.6g}; b_min must be > {-lowest_income / p['r_max']:.6g}"
        )
    return Huggett(**fields, r_grid=jnp.linspace(p["r_min"], p["r_max"], p["n_r"]))


def check_household_settings(p: dict, stationary: str = "create_huggett_stationary") -> None:
    """Raise ValueError unless the preferences and income processes in the settings `p` (β, σ,
    n_y, ρ_y, ν_y, n_z, ρ_z, ν_z) are well posed: shared by both timings of the bond market.
    stationary : the factory of the economy without aggregate risk, named in the message."""
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(p["n_z"], p["ρ_z"], p["ν_z"])
    if p["ν_z"] == 0 and p["n_z"] > 1:
        raise ValueError(f"ν_z = 0 gives a degenerate z grid: use n_z = 1 ({stationary}), got n_z = {p['n_z']}")


def household_fields(p: dict) -> dict:
    """The fields both timings share, from the checked settings `p`: β, σ, b̲ and the z
    process's parameters, the asset grid, and the Tauchen chains of y and z in levels."""
    log_y, Π_y = tauchen(p["n_y"], p["ρ_y"], p["ν_y"])
    log_z, Π_z = tauchen(p["n_z"], p["ρ_z"], p["ν_z"])
    return dict(
        β=float(p["β"]),
        σ=float(p["σ"]),
        b_min=float(p["b_min"]),
        ρ_z=float(p["ρ_z"]),
        ν_z=float(p["ν_z"]),
        b_grid=asset_grid(p["b_min"], p["b_max"], p["n_b"], p["curvature"]),
        y_grid=jnp.exp(log_y),
        Π_y=Π_y,
        z_grid=jnp.exp(log_z),
        Π_z=Π_z,
    )


def create_huggett_stationary(scale: str = "book", **overrides) -> Huggett:
    """The Huggett economy without aggregate risk: z ≡ 1 (n_z = 1, ν_z = 0)."""
    return create_huggett(scale, **{"n_z": 1, "ν_z": 0.0, **overrides})


def create_huggett_pe(scale: str = "book", r̄: float = 0.038, ρ_r: float = 0.8, ν_r: float = 0.02, **overrides) -> Huggett:
    """The partial-equilibrium Huggett household (models.md, model 1).

    The economy of `create_huggett` plus an exogenous interest rate

        r′ = (1-ρ_r) r̄ + ρ_r r + ν_r sqrt(max(r, 0)) ε,   ε ~ N(0, 1),

    discretised on `r_grid` by `interest_rate_chain`.
    """
    economy = create_huggett(scale, **overrides)
    Π_r = interest_rate_chain(economy.r_grid, r̄, ρ_r, ν_r)
    return dataclasses.replace(economy, Π_r=Π_r, r̄=float(r̄), ρ_r=float(ρ_r), ν_r=float(ν_r))


def interest_rate_chain(r_grid, r̄: float, ρ_r: float, ν_r: float):
    """Tauchen-style transition matrix of r′ = (1-ρ_r) r̄ + ρ_r r + ν_r sqrt(max(r, 0)) ε.

    From node r_i, r′ is normal with mean (1-ρ_r) r̄ + ρ_r r_i and the state-dependent s.d.
    ν_r sqrt(r_i); node j receives the probability of the interval between the midpoints to
    its neighbours, and the end nodes receive the tails. Requires r > 0 on the whole grid
    (the volatility vanishes at r ≤ 0) and r̄ inside the grid.
    """
    r_grid = jnp.asarray(r_grid, dtype=float)
    if not -1 < ρ_r < 1:
        raise ValueError(f"persistence ρ_r must satisfy |ρ_r| < 1, got ρ_r = {ρ_r}")
    if not ν_r > 0:
        raise ValueError(f"volatility ν_r must be > 0, got ν_r = {ν_r}")
    if not ν_r < jnp.inf:
        raise ValueError(f"volatility ν_r must be finite, got ν_r = {ν_r}")
    if not float(r_grid[0]) > 0:
        raise ValueError(f"the r process needs r > 0 on the grid (its s.d. is ν_r sqrt(r)), got r_grid[0] = {float(r_grid[0])}")
    if not float(r_grid[0]) <= r̄ <= float(r_grid[-1]):
        raise ValueError(f"long-run mean r̄ = {r̄} must lie inside the r grid [{float(r_grid[0])}, {float(r_grid[-1])}]")
    mean = (1 - ρ_r) * r̄ + ρ_r * r_grid
    sd = ν_r * jnp.sqrt(r_grid)
    edges = jnp.concatenate([jnp.array([-jnp.inf]), (r_grid[1:] + r_grid[:-1]) / 2, jnp.array([jnp.inf])])
    cdf = norm.cdf((edges[None, :] - mean[:, None]) / sd[:, None])
    return cdf[:, 1:] - cdf[:, :-1]


# ---------------------------------------------------------------------------------------
# Budget and exogenous states
# ---------------------------------------------------------------------------------------


def cash_on_hand(economy: Huggett, r, z):
    """(1 + r) b + y z on the (b, y) grid: the resources split between c and b′."""
    return budget.cash_on_hand(economy.b_grid[:, None], 1 + r, economy.y_grid * z)


def exogenous_states(economy: Huggett):
    """Gross return R = 1 + r and income y z on the flattened exogenous state e = (y, z, r).

    Returns two (n_y·n_z·n_r,) arrays, e flattened in C order (y slowest, r fastest), the
    layout `household.egm` expects and that reshapes to (n_y, n_z, n_r).
    """
    y, z, r = economy.y_grid[:, None, None], economy.z_grid[None, :, None], economy.r_grid[None, None, :]
    shape = (economy.y_grid.size, economy.z_grid.size, economy.r_grid.size)
    return jnp.broadcast_to(1 + r, shape).ravel(), jnp.broadcast_to(y * z, shape).ravel()


def _on_state_grid(economy: Huggett, policy: HouseholdPolicy) -> HouseholdPolicy:
    shape = (economy.b_grid.size, economy.y_grid.size, economy.z_grid.size, economy.r_grid.size)
    return HouseholdPolicy(policy.c.reshape(shape), policy.b_next.reshape(shape))


def constant_prices_policy(economy: Huggett):
    """b′(b, y, z, r) if (y, z, r) stayed constant forever (Yang, Wang, Schaab, Moll 2025, fn. 20).

    Solved by `egm` with an identity transition over e = (y, z, r): each household solves a
    deterministic problem at its current prices. Where β(1 + r) ≥ 1 it saves up to the top
    of the asset grid. Savings increase with r at every (b, y, z), so the supply schedule
    S(r) slopes upwards, the property SPG needs from its first epoch.

    Returns b′ of shape (n_b, n_y, n_z, n_r).
    """
    R, income = exogenous_states(economy)
    identity = tuple(jnp.eye(n) for n in (economy.y_grid.size, economy.z_grid.size, economy.r_grid.size))
    return _on_state_grid(economy, egm(economy.b_grid, R, income, identity, economy.β, economy.σ)).b_next


def pe_reference_policy(economy: Huggett) -> HouseholdPolicy:
    """The optimal policy of the partial-equilibrium household (model 1) by EGM.

    e = (y, z, r) with independent chains Π_y, Π_z, Π_r (never formed as one matrix).
    Returns HouseholdPolicy(c, b_next), each of shape (n_b, n_y, n_z, n_r).
    """
    if economy.Π_r is None:
        raise ValueError("economy.Π_r is None: build the partial-equilibrium economy with create_huggett_pe")
    R, income = exogenous_states(economy)
    Π = (economy.Π_y, economy.Π_z, economy.Π_r)
    return _on_state_grid(economy, egm(economy.b_grid, R, income, Π, economy.β, economy.σ))


# ---------------------------------------------------------------------------------------
# Market clearing
# ---------------------------------------------------------------------------------------


class BondMarket(NamedTuple):
    """The outcome of clearing the bond market at one date."""

    r: jax.Array  # the market-clearing rate (an end of r_grid if out_of_grid)
    residual: jax.Array  # S(r): zero up to rounding inside the grid, S at the edge otherwise
    out_of_grid: jax.Array  # bool: S has no sign change on r_grid, r is clipped to an edge


def supply_schedule(economy: Huggett, g, b_next_on_r_grid):
    """S(r_k) = Σ_s b′(s; z, r_k) g(s) on every node r_k: aggregate bond demand, one product.

    g : (n_b, n_y) cross-section; b_next_on_r_grid : (n_b, n_y, n_r) the policy at today's z.
    Returns (n_r,). Bonds are in zero net supply, so the market clears where S(r) = 0.
    """
    return jnp.einsum("by,byr->r", g, b_next_on_r_grid)


def clear_bond_market(economy: Huggett, g, b_next_on_r_grid) -> BondMarket:
    """Solve S(r) = 0: bracket the first sign change of S on r_grid, interpolate linearly
    (`srlteach.foundations.markets.clear_market`, the excess demand being S itself).

    The policy is linear in r between nodes, so S is too and the linear interpolation is
    exact for it. If S does not change sign, r is the end of the grid where |S| is smaller
    and `out_of_grid` is set: callers must count and report these clips (a NaN in S sets it
    too, with r NaN). Pure jnp, so it works under jit and vmap.
    """
    market = clear_market(economy.r_grid, supply_schedule(economy, g, b_next_on_r_grid))
    return BondMarket(market.price, market.residual, market.out_of_grid)


def policy_at_rate(economy: Huggett, b_next_on_r_grid, r):
    """b′(s; r) between the r nodes by linear interpolation: (n_b, n_y, n_r) → (n_b, n_y).

    Uses the lottery weights of r on r_grid (linear-interpolation weights); r must lie
    inside the grid, as the rate from `clear_bond_market` does.
    """
    return linear_interpolation(jnp.moveaxis(b_next_on_r_grid, -1, 0), lottery(economy.r_grid, r))



