"""The Huggett economy: bonds in zero net supply, idiosyncratic income y, aggregate shock z.

One module for the Huggett household in all its forms (models.md, models 1 and 2):

- **model 2**, aggregate risk (`create_huggett`): c + b′ = (1 + r_t) b + y z_t, b′ ≥ b̲, and
  r_t clears the bond market every period, S_t(r) = Σ_s b′(s; z_t, r) g_t(s) = 0;
- **no aggregate risk** (`create_huggett_stationary`): z ≡ 1, the economy of the stationary
  equilibrium in `srlteach.equilibrium`;
- **model 1**, partial equilibrium (`create_huggett_pe`): the same household facing an
  exogenous Markov interest rate r′ = (1-ρ_r) r̄ + ρ_r r + ν_r sqrt(max(r, 0)) ε.

A household policy is stored on the grid over (b, y, z, r): b′ has shape (n_b, n_y, n_z, n_r)
and is linear in r between the nodes of `r_grid`. At a given z the slice (n_b, n_y, n_r) is
a supply schedule: `supply_schedule` evaluates S(r_k) on every r node in one product and
`clear_bond_market` brackets its sign change.

The slides of Yang, Wang, Schaab and Moll (2025) write the economy with a bond price
q_t = 1/(1 + r_t); srlteach writes the return form above throughout.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from srlteach.discretisation import asset_grid, check_chain_settings, tauchen
from srlteach.distributions import lottery
from srlteach.household import HouseholdPolicy, egm

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


# The spec's calibration (models.md, model 2) and the two numerical scales.
CALIBRATION = dict(β=0.96, σ=2.0, b_min=-1.0, n_y=3, ρ_y=0.6, ν_y=0.2, ρ_z=0.9, ν_z=0.02, r_min=0.01, r_max=0.06, curvature=2.0)
SCALES = dict(
    paper=dict(n_b=200, b_max=50.0, n_z=30, n_r=20),
    # Book scale: an SPG epoch runs in seconds on a 2-core CPU. b_max = 20 keeps the
    # stationary distribution's support far below the cap (tests/test_huggett.py checks).
    book=dict(n_b=70, b_max=20.0, n_z=9, n_r=11),
)
PE_CALIBRATION = dict(r̄=0.038, ρ_r=0.8, ν_r=0.02)


def create_huggett(scale: str = "book", **overrides) -> Huggett:
    """The Huggett economy with aggregate risk (models.md, model 2).

    scale : "book" or "paper" (grid sizes in `SCALES`); overrides : any key of
    `CALIBRATION` or `SCALES[scale]` (e.g. β=0.95, n_b=100). Raises ValueError naming the
    parameter and the bound it breaks when the problem is not well posed.

    n_z = 1 gives the economy without aggregate risk (z ≡ 1); ν_z = 0 requires n_z = 1.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    unknown = set(overrides) - set(CALIBRATION) - set(SCALES[scale])
    if unknown:
        raise ValueError(f"unknown Huggett parameter(s) {sorted(unknown)}; known: {sorted(CALIBRATION) + sorted(SCALES[scale])}")
    p = {**CALIBRATION, **SCALES[scale], **overrides}
    if not 0 < p["β"] < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {p['β']}")
    if not p["σ"] > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {p['σ']}")
    check_chain_settings(p["n_y"], p["ρ_y"], p["ν_y"])
    check_chain_settings(p["n_z"], p["ρ_z"], p["ν_z"])
    if p["ν_z"] == 0 and p["n_z"] > 1:
        raise ValueError(f"ν_z = 0 gives a degenerate z grid: use n_z = 1 (create_huggett_stationary), got n_z = {p['n_z']}")
    if int(p["n_r"]) != p["n_r"] or p["n_r"] < 2:
        raise ValueError(f"interest-rate grid size n_r must be an integer ≥ 2, got n_r = {p['n_r']}")
    if not -1 < p["r_min"] < p["r_max"]:
        raise ValueError(f"the interest-rate grid needs -1 < r_min < r_max, got r_min = {p['r_min']}, r_max = {p['r_max']}")

    log_y, Π_y = tauchen(p["n_y"], p["ρ_y"], p["ν_y"])
    log_z, Π_z = tauchen(p["n_z"], p["ρ_z"], p["ν_z"])
    y_grid, z_grid = jnp.exp(log_y), jnp.exp(log_z)

    # Natural borrowing limit at the worst node: the lowest income y z and the highest r.
    lowest_income = float(y_grid[0] * z_grid[0])
    if p["r_max"] > 0 and not p["b_min"] > -lowest_income / p["r_max"]:
        raise ValueError(
            f"borrowing limit b_min = {p['b_min']} violates the natural borrowing limit "
            f"-min(y z)/r_max = {-lowest_income / p['r_max']:.6g}; b_min must be > {-lowest_income / p['r_max']:.6g}"
        )
    return Huggett(
        β=float(p["β"]),
        σ=float(p["σ"]),
        b_min=float(p["b_min"]),
        ρ_z=float(p["ρ_z"]),
        ν_z=float(p["ν_z"]),
        b_grid=asset_grid(p["b_min"], p["b_max"], p["n_b"], p["curvature"]),
        y_grid=y_grid,
        Π_y=Π_y,
        z_grid=z_grid,
        Π_z=Π_z,
        r_grid=jnp.linspace(p["r_min"], p["r_max"], p["n_r"]),
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
    return (1 + r) * economy.b_grid[:, None] + economy.y_grid * z


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
    """Solve S(r) = 0: bracket the first sign change of S on r_grid, interpolate linearly.

    The policy is linear in r between nodes, so S is too and the linear interpolation is
    exact for it. If S does not change sign, r is the end of the grid where |S| is smaller
    and `out_of_grid` is set: callers must count and report these clips. Pure jnp, so it
    works under jit and vmap.
    """
    r_grid = economy.r_grid
    S = supply_schedule(economy, g, b_next_on_r_grid)
    crosses = (S[:-1] <= 0) != (S[1:] <= 0)
    k = jnp.argmax(crosses)  # first bracketing interval (0 if there is none)
    S_k, S_k1 = S[k], S[k + 1]
    share = jnp.where(S_k1 != S_k, S_k / (S_k - S_k1), 0.0)  # S_k + share (S_k1 - S_k) = 0
    r_inside = r_grid[k] + share * (r_grid[k + 1] - r_grid[k])
    S_inside = S_k + share * (S_k1 - S_k)
    at_low_end = jnp.abs(S[0]) <= jnp.abs(S[-1])
    r_edge = jnp.where(at_low_end, r_grid[0], r_grid[-1])
    S_edge = jnp.where(at_low_end, S[0], S[-1])
    inside = crosses.any()
    return BondMarket(jnp.where(inside, r_inside, r_edge), jnp.where(inside, S_inside, S_edge), ~inside)


def policy_at_rate(economy: Huggett, b_next_on_r_grid, r):
    """b′(s; r) between the r nodes by linear interpolation: (n_b, n_y, n_r) → (n_b, n_y).

    Uses the lottery weights of r on r_grid (linear-interpolation weights); r must lie
    inside the grid, as the rate from `clear_bond_market` does.
    """
    lot = lottery(economy.r_grid, r)
    return lot.weight * b_next_on_r_grid[..., lot.index] + (1 - lot.weight) * b_next_on_r_grid[..., lot.index + 1]



# ---------------------------------------------------------------------------------------
# Structural policy gradient: the Huggett household as an `srlteach.spg` economy
# ---------------------------------------------------------------------------------------
#
# Market clearing inside every rollout happens here, in `HuggettSPG.prices`: the policy
# table at today's z is the supply schedule, and `clear_bond_market` finds r_t.

from srlteach.discretisation import stationary_markov  # noqa: E402
from srlteach.distributions import AssetLocator, asset_locator, fast_lottery, push_forward, stationary_distribution  # noqa: E402
from srlteach.spg import BondIncomeDynamics, Prices, SPGConfig, Step, interpolate, locate_prices  # noqa: E402
from srlteach.utility import crra_utility, inverse_marginal_utility, marginal_utility  # noqa: E402

SHARE_BOUND = 0.05  # the initial policy's savings shares are kept in [0.05, 0.95]: θ starts within ±3

# SPG numerics. Paper scale: models.md (N = 512, T = 170 so that β^T < 1e-3, Adam from 1e-3
# decaying by half every 250 epochs after 50 warm-up epochs, stop below 3e-4). Book scale:
# the same T, warm-up and stopping rule, with N = 32 paths and a larger first step that
# decays faster, so that a run converges in well under a minute on a 2-core CPU. Partial
# equilibrium takes a larger step still: rarely visited (z, r) nodes then travel further
# from the initial policy before the step has decayed (the chapter shows the effect).
SPG_PAPER = SPGConfig(N=512, T=170, η0=1e-3, warmup=50, decay_rate=0.5, decay_steps=250, max_epochs=1000, tol=3e-4)
SPG_BOOK = SPGConfig(N=32, T=170, η0=2e-2, warmup=50, decay_rate=0.5, decay_steps=100, max_epochs=1000, tol=3e-4)
SPG_BOOK_PE = SPG_BOOK._replace(η0=5e-2)


def _cash_on_nodes(economy: Huggett):
    """(1 + r_k) b + y z_m on the policy's (z, r, b, y) nodes."""
    r = economy.r_grid[None, :, None, None]
    z = economy.z_grid[:, None, None, None]
    return (1 + r) * economy.b_grid[:, None] + economy.y_grid * z


def savings_table(economy: Huggett, θ):
    """b′ on the (z, r, b, y) nodes from the policy parameters θ (same shape).

    The household saves the share s = 1/(1 + e^(-θ)) of its resources above the
    borrowing limit, up to the top of the grid:

        b′ = b̲ + s (min(x, b_max) - b̲),    x = (1 + r) b + y z,

    so b̲ ≤ b′ ≤ b_max and c = x - b′ > 0 at every node. Between r nodes b′ is linear in r
    and so is x: c stays positive, and the supply schedule S(r) is exactly linear between
    nodes, which is what `clear_bond_market`'s linear interpolation assumes.
    """
    top = jnp.minimum(_cash_on_nodes(economy), economy.b_grid[-1])
    return economy.b_min + jax.nn.sigmoid(θ) * (top - economy.b_min)


def savings_parameters(economy: Huggett, b_next):
    """θ with `savings_table(economy, θ)` ≈ b_next (n_z, n_r, n_b, n_y); the shares are
    clipped to [SHARE_BOUND, 1 - SHARE_BOUND] so that θ is finite at the constraints."""
    top = jnp.minimum(_cash_on_nodes(economy), economy.b_grid[-1])
    share = jnp.clip((b_next - economy.b_min) / (top - economy.b_min), SHARE_BOUND, 1 - SHARE_BOUND)
    return jnp.log(share) - jnp.log1p(-share)


def _warmup_distribution(economy: Huggett):
    """Everyone holds b = 0 (Young's lottery onto the grid), income at its stationary law."""
    lot = lottery(economy.b_grid, jnp.zeros(()))
    mass_b = jnp.zeros(economy.b_grid.size).at[lot.index].add(lot.weight).at[lot.index + 1].add(1 - lot.weight)
    return mass_b[:, None] * stationary_markov(economy.Π_y)


def _draw(probabilities, u):
    """The index k drawn with probability probabilities[k], by inverting the CDF at the uniform u.

    The uniforms are always float32 draws, so a float32 and a float64 run of the engine
    see the same shocks.
    """
    return jnp.minimum(jnp.sum(jnp.cumsum(probabilities) < u), probabilities.size - 1)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettSPG(BondIncomeDynamics):
    """Huggett with aggregate risk (model 2) plugged into `srlteach.spg`.

    Aggregate state a: the index of z on `z_grid` (a Markov chain, Π_z). Price: r_t clears
    the bond market given the cross-section g_t, inside every rollout.

    Policy: θ has shape (n_z, n_r, n_b, n_y) (see `savings_table`); the initial θ is the
    constant-prices policy of `constant_prices_policy`, whose S(r) slopes upwards.
    Warm-up epochs start every path with zero bonds (`_warmup_distribution`), so that
    aggregate bonds are zero from the first date, and z_0 drawn from its stationary law.
    """

    economy: Huggett
    g0: jax.Array  # (n_b, n_y) warm-up distribution
    ψ_z: jax.Array  # (n_z,) stationary distribution of z: initial draws
    locator: AssetLocator  # finds b′ on the asset grid for Young's lottery

    price_names = ("r",)

    @property
    def β(self):
        return self.economy.β

    def initial_parameters(self):
        b_next = jnp.transpose(constant_prices_policy(self.economy), (2, 3, 0, 1))
        return savings_parameters(self.economy, b_next).astype(self.g0.dtype)

    def actions(self, θ):
        return savings_table(self.economy, θ)

    def policy_index(self, a):
        return (a,)

    def initial_distribution(self):
        return self.g0

    def initial_aggregate(self, key):
        return _draw(self.ψ_z, jax.random.uniform(key, dtype=jnp.float32))

    def aggregate_shocks(self, key, shape):
        return jax.random.uniform(key, shape, dtype=jnp.float32)

    def next_aggregate(self, a, ε, prices):
        """z′ drawn from the row Π_z[a] with the uniform ε."""
        return _draw(self.economy.Π_z[a], ε)

    def prices(self, table, a, g):
        """r_t from S_t(r) = Σ_s b′(s; z_t, r) g_t(s) = 0, on the whole r grid (`clear_bond_market`)."""
        market = clear_bond_market(self.economy, g, jnp.moveaxis(table[a], 0, -1))
        r = market.r[None]
        location, _ = locate_prices((self.economy.r_grid,), r)
        return Prices(r, location, market.residual, market.out_of_grid)

    def individual(self, b_next, a, prices):
        e = self.economy
        c = cash_on_hand(e, prices.values[0], e.z_grid[a]) - b_next
        return Step(crra_utility(c, e.σ), fast_lottery(self.locator, b_next), {"C": c, "B": b_next})

    def check_policy(self, table):
        """Raise ValueError unless S(r) changes sign on r_grid at the warm-up distribution, for every z."""
        e = self.economy
        for m in range(e.z_grid.size):
            market = clear_bond_market(e, self.g0, jnp.moveaxis(table[m], 0, -1))
            if market.out_of_grid:
                S = supply_schedule(e, self.g0, jnp.moveaxis(table[m], 0, -1))
                raise ValueError(
                    f"the r grid [{float(e.r_grid[0]):.4g}, {float(e.r_grid[-1]):.4g}] does not bracket market "
                    f"clearing at the initial policy: at z = {float(e.z_grid[m]):.4g} the supply S(r) runs from "
                    f"{float(S[0]):.3g} to {float(S[-1]):.3g} without changing sign; widen r_min/r_max"
                )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettPESPG(HuggettSPG):
    """The partial-equilibrium Huggett household (model 1) plugged into `srlteach.spg`.

    The same household and policy as `HuggettSPG`, but r is exogenous: the aggregate state
    is a = (index of z, index of r), both Markov chains (Π_z, Π_r), and the price is the r
    node itself. Dynamic programming applies, so `pe_reference_policy` is the benchmark.
    """

    ψ_r: jax.Array  # (n_r,) stationary distribution of r: initial draws

    def policy_index(self, a):
        return (a[0],)

    def initial_aggregate(self, key):
        u = jax.random.uniform(key, (2,), dtype=jnp.float32)
        return jnp.stack([_draw(self.ψ_z, u[0]), _draw(self.ψ_r, u[1])])

    def aggregate_shocks(self, key, shape):
        return jax.random.uniform(key, shape + (2,), dtype=jnp.float32)

    def next_aggregate(self, a, ε, prices):
        return jnp.stack([_draw(self.economy.Π_z[a[0]], ε[0]), _draw(self.economy.Π_r[a[1]], ε[1])])

    def prices(self, table, a, g):
        r = self.economy.r_grid[a[1]][None]
        location, _ = locate_prices((self.economy.r_grid,), r)
        return Prices(r, location, jnp.zeros((), r.dtype), jnp.zeros((), bool))

    def individual(self, b_next, a, prices):
        return super().individual(b_next, a[0], prices)

    def check_policy(self, table):
        """Nothing to check: r is exogenous and on its grid by construction."""


def huggett_spg(economy: Huggett) -> HuggettSPG:
    """The SPG plug-in of the Huggett economy with aggregate risk (model 2, or n_z = 1)."""
    return HuggettSPG(economy, _warmup_distribution(economy), stationary_markov(economy.Π_z), asset_locator(economy.b_grid))


def huggett_pe_spg(economy: Huggett) -> HuggettPESPG:
    """The SPG plug-in of the partial-equilibrium Huggett household (model 1)."""
    if economy.Π_r is None:
        raise ValueError("economy.Π_r is None: build the partial-equilibrium economy with create_huggett_pe")
    return HuggettPESPG(
        economy, _warmup_distribution(economy), stationary_markov(economy.Π_z), asset_locator(economy.b_grid),
        stationary_markov(economy.Π_r),
    )


def spg_policy(model: HuggettSPG, θ) -> HouseholdPolicy:
    """The trained policy on the (b, y, z, r) grid, in the layout of `pe_reference_policy`."""
    e = model.economy
    b_next = jnp.transpose(model.actions(θ), (2, 3, 0, 1))
    c = (1 + e.r_grid) * e.b_grid[:, None, None, None] + (e.y_grid[:, None] * e.z_grid)[None, :, :, None] - b_next
    return HouseholdPolicy(c, b_next)


def pe_ergodic_distribution(economy: Huggett, policy: HouseholdPolicy):
    """The stationary distribution over (b, y, z, r) of the partial-equilibrium household
    under `policy` (shape (n_b, n_y, n_z, n_r)): where the household spends its time."""
    shape = policy.b_next.shape
    Π = jnp.kron(jnp.kron(economy.Π_y, economy.Π_z), economy.Π_r)
    lot = lottery(economy.b_grid, policy.b_next.reshape(shape[0], -1))
    return stationary_distribution(lot, Π).reshape(shape)


def consumption_gap(c, c_ref, g, coverage: float = 0.99):
    """(sup, mean) of |c - c_ref| on the ergodic region.

    The region is the smallest set of states that carries `coverage` of the mass of g (the
    most visited states first); the mean weights every state by g. States outside it are
    visited so rarely that a simulation-based method cannot learn them.
    """
    g = jnp.ravel(g) / jnp.sum(g)
    gap = jnp.abs(jnp.ravel(c) - jnp.ravel(c_ref))
    order = jnp.argsort(-g)
    inside = jnp.zeros(g.size, bool).at[order].set(jnp.cumsum(g[order]) - g[order] < coverage)
    return jnp.max(jnp.where(inside, gap, 0.0)), jnp.sum(g * gap)


class PathEulerErrors(NamedTuple):
    """Euler-equation errors along simulated paths, on the visited states."""

    log10_error: jax.Array  # (T-1, N, n_b, n_y) log10 |1 - c̃/c|
    weight: jax.Array  # (T-1, N, n_b, n_y) g_t(s) where the Euler equation must hold (b_2 ≤ b′ ≤ b_{n_b-1}), else 0


@jax.jit
def euler_errors_along_paths(model: HuggettSPG, θ, path) -> PathEulerErrors:
    """Euler errors of the trained policy on the states the simulated economies visit.

    At date t of a path the household at s = (b, y) saves b′ and consumes c. Tomorrow's
    cross-section g_{t+1} = A_πᵀ g_t is known, so for each z′ on the grid the market clears
    at a known r′(z′) (`clear_bond_market`); hence the rational-expectations right-hand side

        c̃ = (u′)⁻¹( β Σ_{z′} Π_z[z, z′] Σ_{y′} Π_y[y, y′] (1 + r′(z′)) u′(c(b′, y′; z′, r′(z′))) ),

    with c(·, y′; z′, r′) interpolated linearly at b′. The errors log10|1 - c̃/c| measure how
    far the policy, which conditions on (z, r) only, is from optimal under the true law of
    motion. `path` needs the distributions (`spg.simulate(..., keep_distributions=True)`).
    """
    e = model.economy
    table = model.actions(θ)
    β, σ = e.β, e.σ

    def one(a, r, g):
        location, _ = locate_prices((e.r_grid,), r[None])
        b_next = interpolate(table, location, a)
        c = cash_on_hand(e, r, e.z_grid[a]) - b_next
        lot = fast_lottery(model.locator, b_next)
        g_next = push_forward(g, lot, e.Π_y)

        def tomorrow(z_next):
            r_next = clear_bond_market(e, g_next, jnp.moveaxis(table[z_next], 0, -1)).r
            loc_next, _ = locate_prices((e.r_grid,), r_next[None])
            c_next = cash_on_hand(e, r_next, e.z_grid[z_next]) - interpolate(table, loc_next, z_next)  # (n_b, n_y′)
            # c(b′, y′) at the lottery of b′, for every (b, y) and y′
            c_at = lot.weight[..., None] * c_next[lot.index] + (1 - lot.weight[..., None]) * c_next[lot.index + 1]
            return (1 + r_next) * jnp.einsum("byk,yk->by", marginal_utility(c_at, σ), e.Π_y)

        rhs = jnp.einsum("m,mby->by", e.Π_z[a], jax.vmap(tomorrow)(jnp.arange(e.z_grid.size)))
        c_tilde = inverse_marginal_utility(β * rhs, σ)
        # the logistic share reaches b̲ only asymptotically: below the first node above b̲ the
        # household counts as constrained (its Euler equation is an inequality)
        interior = (b_next >= e.b_grid[1]) & (b_next <= e.b_grid[-2])
        error = jnp.maximum(jnp.abs(1 - c_tilde / c), jnp.finfo(c.dtype).eps)  # exact zeros would give -inf
        return jnp.log10(error), jnp.where(interior, g, 0.0)

    T = path.g.shape[0]
    per_date = jax.vmap(one)
    errors, weight = jax.lax.map(
        lambda t: per_date(path.aggregate[t], path.prices.values[t, :, 0], path.g[t]), jnp.arange(T - 1)
    )
    return PathEulerErrors(errors, weight)
