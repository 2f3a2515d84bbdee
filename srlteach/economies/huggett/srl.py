"""The Huggett economy by structural reinforcement learning: the SPG plug-ins (models 1 and 2)
and the diagnostics of trained policies."""

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from srlteach.economies.huggett.economy import (
    Huggett,
    cash_on_hand,
    clear_bond_market,
    constant_prices_policy,
    supply_schedule,
)
from srlteach.foundations.discretisation import stationary_markov
from srlteach.foundations.budget import savings_from_share, savings_logit
from srlteach.foundations.distributions import (
    AssetLocator,
    asset_locator,
    fast_lottery,
    inverse_cdf,
    linear_interpolation,
    lottery,
    push_forward,
    stationary_distribution,
)
from srlteach.foundations.utility import crra_utility, euler_consumption, euler_error, marginal_utility
from srlteach.learning.spg import BondIncomeDynamics, Prices, SPGConfig, Step, in_dtype, interpolate, locate_prices
from srlteach.solvers.equilibrium import aggregate_savings
from srlteach.solvers.household import HouseholdPolicy


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
    return cash_on_hand(economy, economy.r_grid[None, :, None, None], economy.z_grid[:, None, None, None])


def savings_table(economy: Huggett, θ):
    """b′ on the (z, r, b, y) nodes from the policy parameters θ (same shape).

    The household saves the share s = 1/(1 + e^(-θ)) of its resources above the
    borrowing limit, up to the top of the grid:

        b′ = b̲ + s (min(x, b_max) - b̲),    x = (1 + r) b + y z,

    so b̲ ≤ b′ ≤ b_max and c = x - b′ > 0 at every node. Between r nodes b′ is linear in r
    and so is x: c stays positive, and the supply schedule S(r) is exactly linear between
    nodes, which is what `clear_bond_market`'s linear interpolation assumes.
    """
    return savings_from_share(θ, _cash_on_nodes(economy), economy.b_min, economy.b_grid[-1])


def savings_parameters(economy: Huggett, b_next):
    """θ with `savings_table(economy, θ)` ≈ b_next (n_z, n_r, n_b, n_y); the shares are
    clipped to [SHARE_BOUND, 1 - SHARE_BOUND] so that θ is finite at the constraints."""
    return savings_logit(b_next, _cash_on_nodes(economy), economy.b_min, economy.b_grid[-1], SHARE_BOUND)


def _warmup_distribution(economy: Huggett):
    """Everyone holds b = 0 (Young's lottery onto the grid), income at its stationary law."""
    lot = lottery(economy.b_grid, jnp.zeros(()))
    mass_b = jnp.zeros(economy.b_grid.size).at[lot.index].add(lot.weight).at[lot.index + 1].add(1 - lot.weight)
    return mass_b[:, None] * stationary_markov(economy.Π_y)


def stationary_bond_demand(economy, rates):
    """Aggregate bond demand S(r) of the economy without aggregate risk at each rate (EGM,
    `srlteach.solvers.equilibrium.aggregate_savings`): its sign says on which side of a rate
    the stationary r* lies. Solved in float64 (the engine's model may be float32)."""
    e64 = in_dtype(economy, "float64")
    return aggregate_savings(dataclasses.replace(e64, Π_y=e64.Π_y / e64.Π_y.sum(axis=1, keepdims=True)), rates)


def check_stationary_inside(economy, grid: str, ends, beyond) -> None:
    """Raise ValueError unless the stationary price (z ≡ 1) lies between a price grid's ends.

    ends : the rates at one or both ends of the grid, lowest rate first: the stationary bond
    demand (`stationary_bond_demand`) must be < 0 at the first and > 0 at the second.
    beyond : for each end, where the stationary price lies when the sign is wrong (a format
    string that receives the demand there) and the remedy; grid : the grid, for the message.
    """
    S = stationary_bond_demand(economy, ends)
    for k, (where, remedy) in enumerate(beyond[: len(ends)]):
        if not (S[k] < 0 if k == 0 else S[k] > 0):
            raise ValueError(
                f"{grid} cannot bracket market clearing: at β = {economy.β}, σ = {economy.σ} the "
                f"{where.format(float(S[k]))} without aggregate risk); {remedy}"
            )


def _draw(probabilities, u):
    """The index k drawn with probability probabilities[k], by inverting the CDF at the uniform u.

    The uniforms are always float32 draws, so a float32 and a float64 run of the engine
    see the same shocks.
    """
    return inverse_cdf(jnp.cumsum(probabilities), u)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettSPG(BondIncomeDynamics):
    """Huggett with aggregate risk (model 2) plugged into `srlteach.learning.spg`.

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
    # (n_z, n_r, n_b, n_y) terminal values v_T on the policy's (z, r) nodes, or None: v_T = 0,
    # the paper's truncation (`with_terminal_value`)
    terminal: Any = dataclasses.field(default=None, kw_only=True)

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

    def terminal_value(self, a, prices):
        """v_T on the (b, y) grid at (z_T, r_T), read on the nodes of `self.terminal` like the
        policy (the engine asks only when `self.terminal` is not None)."""
        return interpolate(self.terminal, prices.location, *self.policy_index(a))

    def check_policy(self, table):
        """Raise ValueError unless S(r) changes sign on r_grid at the warm-up distribution, for every z,
        and the grid contains the stationary rate r* of the same β, σ (z ≡ 1)."""
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
        # r_t moves around the stationary rate r*, which lies below 1/β - 1 (where households
        # would save without bound). A grid without r* leaves r_t on an edge: the bond demand
        # S(r) of the stationary economy (one EGM solve per end, well under a second) says
        # on which side r* lies.
        r_min, r_max, r_ceiling = float(e.r_grid[0]), float(e.r_grid[-1]), 1 / e.β - 1
        if not r_min < r_ceiling:
            raise ValueError(
                f"r_min = {r_min:.4g} must be < 1/β - 1 = {r_ceiling:.4g}: the market clears below the rate at which "
                f"households save without bound; lower r_min"
            )
        check_stationary_inside(
            e, f"the r grid [{r_min:.4g}, {r_max:.4g}]", [r for r in (r_min, r_max) if r < r_ceiling],
            (("stationary rate r* lies below r_min (bond demand S(r_min) = {:.3g} > 0", "lower r_min"),
             ("stationary rate r* lies above r_max (bond demand S(r_max) = {:.3g} < 0", "raise r_max")),
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HuggettPESPG(HuggettSPG):
    """The partial-equilibrium Huggett household (model 1) plugged into `srlteach.learning.spg`.

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


def with_terminal_value(model: HuggettSPG, at: str = "prices") -> HuggettSPG:
    """`model` with a terminal value v_T: each path's objective becomes
    Σ_{t<T} β^t d_tᵀ u_t + β^T d_Tᵀ v_T, and the backward sweep starts from v_T.

    v_T is the value of a household whose z and r stay constant forever (its income y
    still follows Π_y): its optimal policy at those prices (EGM,
    `srlteach.solvers.household.egm`), valued by `srlteach.solvers.household.policy_value`
    (continuation values by Young's lottery, as in the engine).

    at : "prices" (default): at (z_T, r_T). One value function on every (z, r) node of the
        policy's grid, read at z_T and, linearly in r, at r_T, like the policy.
        "stationary": at the stationary equilibrium (z ≡ 1, r*;
        `srlteach.solvers.equilibrium.stationary_equilibrium`), whatever (z_T, r_T).

    Works for `HuggettPESPG` too. Without it (the default of `huggett_spg`, and the paper's
    choice) v_T = 0.

    Measured (book scale, `SPG_BOOK`, seed 0; the chapter on SRL in general equilibrium): at
    T = 170 (β^T < 1e-3) the truncation bias is already negligible. Without aggregate risk
    (N = 2) the rate after 300 years is 0.5 basis points above VFI's r* with v_T = 0 and 0.2
    below it with either terminal value; with aggregate risk the mean rate of 8 × 200
    simulated years is 0.02516 (s.e. 0.00056) with v_T = 0 and 0.02499 (0.00056) with either.
    The time per epoch did not differ beyond timing noise (N = 32, interleaved on a 2-core CPU
    shared at load ~14: medians 131 and 144 ms, minima 79 and 62 ms).
    """
    from srlteach.economies.huggett.economy import exogenous_states
    from srlteach.solvers.equilibrium import stationary_equilibrium
    from srlteach.solvers.household import egm, policy_value

    e = model.economy
    b_grid, y_grid = (jnp.asarray(x, dtype=float) for x in (e.b_grid, e.y_grid))
    Π_y = jnp.asarray(e.Π_y, dtype=float)
    n_b, n_y, n_z, n_r = b_grid.size, y_grid.size, e.z_grid.size, e.r_grid.size
    if at == "prices":
        # the exogenous state (y, z, r), flattened in C order: y follows Π_y, z and r stay put
        R, income = (jnp.asarray(x, dtype=float) for x in exogenous_states(e))
        Π = (Π_y, jnp.eye(n_z), jnp.eye(n_r))
        v = policy_value(egm(b_grid, R, income, Π, e.β, e.σ).b_next, b_grid, R, income, Π, e.β, e.σ)
        table = jnp.transpose(v.reshape(n_b, n_y, n_z, n_r), (2, 3, 0, 1))
    elif at == "stationary":
        steady = stationary_equilibrium(e)
        R, income = jnp.full(n_y, 1 + steady.r), y_grid
        v = policy_value(steady.policy.b_next, b_grid, R, income, Π_y, e.β, e.σ)
        table = jnp.broadcast_to(v, (n_z, n_r, n_b, n_y))
    else:
        raise ValueError(f"at must be 'prices' or 'stationary', got {at!r}")
    return dataclasses.replace(model, terminal=table.astype(model.g0.dtype))


def spg_policy(model: HuggettSPG, θ) -> HouseholdPolicy:
    """The trained policy on the (b, y, z, r) grid, in the layout of `pe_reference_policy`."""
    e = model.economy
    b_next = jnp.transpose(model.actions(θ), (2, 3, 0, 1))
    c = jnp.transpose(_cash_on_nodes(e), (2, 3, 0, 1)) - b_next
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
            c_at = linear_interpolation(c_next, lot)
            return (1 + r_next) * jnp.einsum("byk,yk->by", marginal_utility(c_at, σ), e.Π_y)

        rhs = jnp.einsum("m,mby->by", e.Π_z[a], jax.vmap(tomorrow)(jnp.arange(e.z_grid.size)))
        c_tilde = euler_consumption(rhs, β, σ)
        # the logistic share reaches b̲ only asymptotically: below the first node above b̲ the
        # household counts as constrained (its Euler equation is an inequality)
        interior = (b_next >= e.b_grid[1]) & (b_next <= e.b_grid[-2])
        error = euler_error(c, c_tilde, floor=jnp.finfo(c.dtype).eps)  # exact zeros would give -inf
        return error, jnp.where(interior, g, 0.0)

    T = path.g.shape[0]
    per_date = jax.vmap(one)
    errors, weight = jax.lax.map(
        lambda t: per_date(path.aggregate[t], path.prices.values[t, :, 0], path.g[t]), jnp.arange(T - 1)
    )
    return PathEulerErrors(errors, weight)
