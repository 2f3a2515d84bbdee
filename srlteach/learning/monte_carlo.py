"""Monte Carlo value estimation and stochastic approximation.

The value of an exogenous price process p_t with flow payoff u(p),

    v(p_0) = E[ Σ_{t≥0} β^t u(p_t) ],

can be computed two ways. Dynamic programming needs p_t to be Markov with known transition
probabilities, and solves v = u + β Π v. Monte Carlo needs only the ability to simulate
paths: the sample mean of the discounted sums Σ_{t<T} β^t u(p_t^n) over N paths, whose
standard error falls like 1/sqrt(N). The second works whether or not p_t is Markov.

The running sample mean is also the simplest stochastic-approximation scheme,
x̄_k = x̄_{k-1} + α_k (x_k - x̄_{k-1}) with learning rate α_k = 1/k: the template of every
learning algorithm in the book.

The chapters' example: a rentier holds b̄ bonds forever and consumes c_t = 1 + r_t b̄
(unit labour income plus interest); the interest rate is a discretised AR(1).
"""

import math
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.discretisation import check_transition_matrix, tauchen
from srlteach.foundations.distributions import inverse_cdf
from srlteach.foundations.utility import crra_utility


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo estimate: sample mean and its standard error s/sqrt(N)."""

    mean: jax.Array
    se: jax.Array
    n: int  # number of independent draws


class RateChain(NamedTuple):
    """A discretised AR(1) interest rate r_t = r̄ + x_t, x_{t+1} = ρ x_t + sqrt(1-ρ²) ν ε."""

    r: jax.Array  # (n_r,) rate on each node
    Π: jax.Array  # (n_r, n_r) transition matrix


class Rentier(NamedTuple):
    """Preferences and bond holdings of the rentier whose value the chapter estimates."""

    β: float  # discount factor
    σ: float  # CRRA coefficient
    b̄: float  # bonds held forever; consumption is c = 1 + r b̄


def create_rate_chain(r̄: float = 0.038, ρ: float = 0.8, ν: float = 0.01, n: int = 7, m: float = 3.0):
    """Tauchen discretisation of the AR(1) interest rate with mean r̄, persistence ρ and
    unconditional s.d. ν (nodes r̄ ± m ν)."""
    x, Π = tauchen(n, ρ, ν, m)
    if not r̄ - m * ν > -1:
        raise ValueError(f"lowest rate r̄ - m ν must exceed -1, got {r̄ - m * ν}")
    return RateChain(r̄ + x, Π)


def create_rentier(β: float = 0.96, σ: float = 2.0, b̄: float = 5.0):
    """The rentier of the Monte Carlo chapter (β and σ as in the Huggett economy)."""
    if not 0 < β < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {β}")
    if not σ > 0:
        raise ValueError(f"CRRA coefficient σ must be > 0, got σ = {σ}")
    if not b̄ >= 0:
        raise ValueError(f"bond holdings b̄ must be ≥ 0, got b̄ = {b̄}")
    return Rentier(float(β), float(σ), float(b̄))


def rentier_utility(r, rentier: Rentier):
    """Flow payoff u(1 + r b̄) of the rentier at interest rate r (any shape)."""
    return crra_utility(1 + r * rentier.b̄, rentier.σ)


def truncation_horizon(β: float, tol: float = 1e-3) -> int:
    """T = min{T : β^T < tol}: the horizon at which discounted sums are truncated."""
    if not 0 < β < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {β}")
    if not 0 < tol < 1:
        raise ValueError(f"truncation tolerance must lie in (0, 1), got {tol}")
    return math.floor(math.log(tol) / math.log(β)) + 1


def markov_value(u, Π, β: float):
    """Dynamic programming for a Markov chain: the solution of v = u + β Π v.

    u : (n,) payoff on each node; Π : (n, n) transition matrix. Solves (I - βΠ) v = u.
    """
    check_transition_matrix(Π)
    if not 0 < β < 1:
        raise ValueError(f"discount factor β must satisfy 0 < β < 1, got β = {β}")
    return jnp.linalg.solve(jnp.eye(Π.shape[0]) - β * Π, u)


@partial(jax.jit, static_argnames=("N", "T"))
def simulate_markov_chain(key, Π, i0, N: int, T: int):
    """N independent paths (i_0, ..., i_{T-1}) of node indices of the chain Π from node(s) i0.

    i0 is a node or an (N,) array of nodes. Returns an (N, T) integer array.
    """
    cdf = jnp.cumsum(Π, axis=1)
    step = lambda i, uniform: (inverse_cdf(cdf[i], uniform), i)  # tomorrow's node: the CDF of row i inverted
    _, path = jax.lax.scan(step, jnp.broadcast_to(i0, (N,)), jax.random.uniform(key, (T, N)))
    return path.T


def discounted_sum(u_path, β):
    """Σ_{t<T} β^t u_t along the last axis of u_path (shape (..., T))."""
    T = u_path.shape[-1]
    return u_path @ β ** jnp.arange(T)


def mean_and_se(x) -> MonteCarloEstimate:
    """Sample mean of the N draws x (N,) and its standard error s/sqrt(N) (s with N-1)."""
    x = jnp.asarray(x)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"a standard error needs at least N = 2 draws, got N = {n}")
    return MonteCarloEstimate(x.mean(), x.std(ddof=1) / math.sqrt(n), n)


@partial(jax.jit, static_argnames=("N", "T"))
def markov_chain_returns(key, u, Π, β, i0, N: int, T: int):
    """Discounted sums Σ_{t<T} β^t u(i_t^n) along N simulated paths of the chain Π from i0.

    The same draws as `simulate_markov_chain(key, Π, i0, N, T)`, accumulated on the fly
    so that memory does not grow with T.
    """
    cdf = jnp.cumsum(Π, axis=1)

    def step(carry, t_uniform):
        i, total = carry
        t, uniform = t_uniform
        return (inverse_cdf(cdf[i], uniform), total + β**t * u[i]), None

    carry0 = (jnp.broadcast_to(i0, (N,)), jnp.zeros(N))
    (_, total), _ = jax.lax.scan(step, carry0, (jnp.arange(T), jax.random.uniform(key, (T, N))))
    return total


def markov_chain_value_mc(key, u, Π, β: float, i0: int, N: int, T: int) -> MonteCarloEstimate:
    """Monte Carlo value of the payoff u (n,) of the chain Π from node i0: N paths of length T."""
    return mean_and_se(markov_chain_returns(key, u, Π, β, i0, N, T))


def stochastic_approximation(x, α: Callable | float | None = None):
    """Running estimates x̄_k = x̄_{k-1} + α_k (x_k - x̄_{k-1}), k = 1..K, with x̄_0 = 0.

    x : (K,) or (K, ...) draws, processed in order. α: None for α_k = 1/k (then x̄_k is the
    sample mean of the first k draws), a float for a constant learning rate, or a function
    k ↦ α_k of the (1-based) step k. Returns the (K, ...) array of x̄_1, ..., x̄_K.
    """
    x = jnp.asarray(x, dtype=float)
    if α is None:
        rate = lambda k: 1.0 / k
    elif callable(α):
        rate = α
    else:
        if not 0 < α <= 1:
            raise ValueError(f"constant learning rate α must lie in (0, 1], got α = {α}")
        rate = lambda k: α

    def step(x̄, k_x):
        k, x_k = k_x
        x̄ = x̄ + rate(k) * (x_k - x̄)
        return x̄, x̄

    _, path = jax.lax.scan(step, jnp.zeros(x.shape[1:]), (jnp.arange(1, x.shape[0] + 1), x))
    return path


def monte_carlo_error_by_n(key, u, Π, β: float, i0: int, T: int, ns, replications: int):
    """Root-mean-square error of the Monte Carlo value against DP, for each sample size N.

    For every N in `ns`, draws `replications` independent estimates from N paths each and
    returns (rmse, mean standard error), two arrays of len(ns). Both fall like 1/sqrt(N).
    """
    v_dp = markov_value(u, Π, β)[i0]
    rmse, se = [], []
    for k, N in enumerate(ns):
        key_N = jax.random.fold_in(key, k)
        returns = markov_chain_returns(key_N, u, Π, β, i0, replications * int(N), T)
        returns = returns.reshape(replications, int(N))  # one row per replication
        means = returns.mean(axis=1)
        rmse.append(float(jnp.sqrt(jnp.mean((means - v_dp) ** 2))))
        se.append(float(jnp.mean(returns.std(axis=1, ddof=1)) / math.sqrt(N)))
    return np.array(rmse), np.array(se)
