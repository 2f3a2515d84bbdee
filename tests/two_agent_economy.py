"""A two-agent test economy for the SPG engine, with answers known independently.

An exogenous Markov state z (the aggregate state a is its node) sets the wage w(z), the
interest rate r(z) and the firms' target price m(z). Two agents learn at once:

- **households**, a representative household (a one-point grid) that observes the wage w
  on a grid whose nodes are the w(z), works n and earns w n, with flow utility
  u = w n - n^(1+η)/(1+η) and discount factor β. Its answer in closed form: n*(w) = w^(1/η).
- **firms**, a continuum of price setters on a grid of (log) prices p. A firm observes only z
  (its table has no price axes: it reads them through `observe`), sets tomorrow's price p′
  and earns -Y_t (p′ - m(z))²/2 - (θ/2)(p′ - p)²: it tracks its target, pays a quadratic
  adjustment cost, and the stakes scale with output Y_t = L_t, the households' aggregate
  labour, which reaches the firms only as data (an outcome of price determination). Firms
  discount with the stochastic discount factor Λ_{t→t+1} = 1/(1 + r_{t+1}). Its answer is
  linear-quadratic: p′ = λ(z) p + k(z) from the Riccati equations (`firm_policy`).

Nothing here is part of the library: it exists to test the engine's several-agent machinery.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.distributions import lottery
from srlteach.learning.spg import MultiAgentEconomy, PriceLocation, Prices, Step, interpolate, locate_prices

_static = dict(metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Households:
    """The representative household: table n(w) on the wage nodes, one-point grid."""

    w_grid: jax.Array  # (n_w,)
    β: float = dataclasses.field(**_static)
    η: float = dataclasses.field(**_static)

    def initial_parameters(self):
        return jnp.zeros((self.w_grid.size, 1), self.w_grid.dtype)  # n = 1 at every node

    def actions(self, θ):
        return jnp.exp(θ)  # hours, positive at every node

    def policy_index(self, a):
        return ()

    def initial_distribution(self):
        return jnp.ones(1, self.w_grid.dtype)

    def individual(self, n, a, prices):
        w = prices.values[0]
        reward = w * n - n ** (1 + self.η) / (1 + self.η)
        return Step(reward, None, {"L": n})

    def push_forward(self, g, transition):
        return g

    def expectation(self, v, transition):
        return v


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Firms:
    """Price setters on a grid of prices: table p′(z, p) on (n_z, n_p)."""

    p_grid: jax.Array  # (n_p,)
    m: jax.Array  # (n_z,) target price m(z)
    θ_cost: float = dataclasses.field(**_static)  # adjustment cost θ

    def initial_parameters(self):
        # p′ = p at every node: the logit of the share of the way from p_min to p_max
        share = jnp.clip((self.p_grid - self.p_grid[0]) / (self.p_grid[-1] - self.p_grid[0]), 0.02, 0.98)
        return jnp.broadcast_to(jnp.log(share) - jnp.log1p(-share), (self.m.size, self.p_grid.size))

    def actions(self, θ):
        return self.p_grid[0] + jax.nn.sigmoid(θ) * (self.p_grid[-1] - self.p_grid[0])

    def observe(self, a, prices):
        """Firms read their table at z only: no price axes."""
        none = PriceLocation(jnp.zeros(0, jnp.int32), jnp.zeros(0, self.p_grid.dtype))
        return (a,), none

    def policy_index(self, a):
        return (a,)

    def initial_distribution(self):
        return jnp.full(self.p_grid.size, 1.0 / self.p_grid.size, self.p_grid.dtype)

    def discount(self, a, prices, a_next, prices_next):
        return 1 / (1 + prices_next.outcomes["r"])

    def individual(self, p_next, a, prices):
        Y = prices.outcomes["Y"]
        reward = -Y * (p_next - self.m[a]) ** 2 / 2 - self.θ_cost / 2 * (p_next - self.p_grid) ** 2
        return Step(reward, lottery(self.p_grid, p_next), {"P": jnp.broadcast_to(self.p_grid, p_next.shape)})

    def push_forward(self, g, lot):
        """Young's lottery on the price grid, path by path (no idiosyncratic shocks)."""
        move = lambda g, index, weight: jnp.zeros_like(g).at[index].add(weight * g).at[index + 1].add((1 - weight) * g)
        return jax.vmap(move)(g, lot.index, lot.weight)

    def expectation(self, v, lot):
        return jax.vmap(lambda v, index, weight: weight * v[index] + (1 - weight) * v[index + 1])(v, lot.index, lot.weight)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TwoAgentEconomy(MultiAgentEconomy):
    households: Households
    firms: Firms
    Π_z: jax.Array  # (n_z, n_z)
    w: jax.Array  # (n_z,) wage w(z), the nodes of households.w_grid in z order
    r: jax.Array  # (n_z,) interest rate r(z)

    price_names = ("w",)

    @property
    def agents(self):
        return {"households": self.households, "firms": self.firms}

    def initial_aggregate(self, key):
        return jax.random.choice(key, self.Π_z.shape[0])

    def aggregate_shocks(self, key, shape):
        return jax.random.uniform(key, shape)

    def next_aggregate(self, a, ε, prices):
        return jnp.minimum(jnp.sum(jnp.cumsum(self.Π_z[a]) < ε), self.Π_z.shape[0] - 1)

    def prices(self, table, a, g):
        w = self.w[a][None]
        location, outside = locate_prices((self.households.w_grid,), w)
        # output = the households' aggregate labour at today's wage: data for the firms
        L = jnp.sum(g["households"] * interpolate(table["households"], location))
        outcomes = {"Y": L, "r": self.r[a]}
        return Prices(w, location, {"labour": jnp.zeros((), w.dtype)}, outside, outcomes)

    def check_policy(self, table):
        pass


def create_two_agent_economy(n_p: int = 15, β: float = 0.9, η: float = 2.0, θ_cost: float = 1.5) -> TwoAgentEconomy:
    w = jnp.array([0.8, 1.2])
    households = Households(jnp.sort(w), β, η)
    firms = Firms(jnp.linspace(-1.0, 1.0, n_p), jnp.array([-0.4, 0.3]), θ_cost)
    Π_z = jnp.array([[0.8, 0.2], [0.3, 0.7]])
    return TwoAgentEconomy(households, firms, Π_z, w, jnp.array([0.08, 0.12]))


def household_hours(economy: TwoAgentEconomy):
    """n*(w) = w^(1/η) at the wage nodes."""
    return economy.households.w_grid ** (1 / economy.households.η)


def firm_policy(economy: TwoAgentEconomy, tol: float = 1e-14):
    """(λ(z), k(z)) of the optimal firm policy p′ = λ(z) p + k(z), by the Riccati equations.

    V(p, z) = -A_z p²/2 + B_z p + C_z. With M[z, z′] = Π_z[z, z′]/(1 + r(z′)) and output
    Y_z = n*(w(z)), the first-order and envelope conditions give
    λ_z = θ/(Y_z + θ + (MA)_z), k_z = (Y_z m_z + (MB)_z)/(Y_z + θ + (MA)_z), A_z = θ(1 - λ_z),
    B_z = θ k_z: iterated to their fixed point (a contraction).
    """
    Π, r, m = np.asarray(economy.Π_z), np.asarray(economy.r), np.asarray(economy.firms.m)
    θ = economy.firms.θ_cost
    Y = np.asarray(economy.w) ** (1 / economy.households.η)
    M = Π / (1 + r)[None, :]
    A, B = np.zeros_like(m), np.zeros_like(m)
    for _ in range(10_000):
        denominator = Y + θ + M @ A
        λ, k = θ / denominator, (Y * m + M @ B) / denominator
        A_next, B_next = θ * (1 - λ), θ * k
        if max(np.abs(A_next - A).max(), np.abs(B_next - B).max()) < tol:
            return λ, k
        A, B = A_next, B_next
    raise RuntimeError("the Riccati iteration did not converge")
