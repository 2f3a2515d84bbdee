"""The structural policy gradient (SPG) engine: one training loop for every economy.

Yang, Wang, Schaab and Moll (2025, arXiv 2512.18892) replace the cross-sectional
distribution in the household's state by the low-dimensional prices p it observes. A policy
π(s, a, p) is a table over the individual state s (on a grid), the aggregate shock a and a
grid of price nodes, linear in p between nodes. Given a policy, one *rollout* simulates

    p_t = P*(g_t, a_t; π)            market clearing (or closed-form prices)
    g_{t+1} = A_π(a_t, p_t)ᵀ g_t      Young's lottery over b and the income chain
    a_{t+1} ~ T_a(· | a_t)            the aggregate shock

and the value of the policy along that one price path is the backward recursion

    v_t = u(c(a_t, p_t)) + β A_π(a_t, p_t) v_{t+1},   v_T = 0,

or, the same number, the forward sum Σ_t β^t d_tᵀ u_t with d_{t+1} = A_πᵀ d_t from a
uniform d_0. The objective L(θ) = (1/N) Σ_n d_0ᵀ v_0^n is maximised by gradient ascent
(`srlteach.learning.policy_gradient.train`). Its gradient is *pathwise*: it differentiates u(c) and
the lottery weights with respect to the policy table along the simulated paths, with the
prices held as data (households take them as given). `value_and_gradient` computes it in
one forward sweep (the rollout) and one backward sweep; `backward_value` is the recursion
itself, whose `jax.grad` is the same gradient.

An economy plugs in by providing an object with the methods of `SPGEconomy`: its policy
parameterisation (`actions`, `policy_index`), individual dynamics and reward
(`individual`, `push_forward`, `expectation`), aggregate shock process and price
determination (`prices`). Nothing in this module knows which economy it runs: Huggett
clears a bond market inside `prices` (`srlteach.economies.huggett`), Krusell–Smith computes two prices
in closed form from K and z. The policy may be a pytree of tables (several actions, or
several agents), each interpolated at the same prices; an economy whose prices depend on
another learning agent's policy (HANK's price-setting firms) clears them with that policy
inside `prices`, and will add that agent's rewards as a second stream of the objective.

Conventions. Rollouts run N paths side by side inside one `lax.scan` over t (the paths are
the vectorised axis); arrays in a `Path` are (T, N, ...). The engine computes in the float
type of `SPGConfig.dtype` (float32 by default: it is about twice as fast on a CPU, and the
book's printed numbers agree with float64 to the digits shown).
"""

from srlteach.learning.spg.config import SPGConfig, check_config, check_parameters, in_dtype
from srlteach.learning.spg.prices import PriceLocation, Prices, corners, interpolate, locate_prices
from srlteach.learning.spg.engine import (
    BondIncomeDynamics,
    MultiAgentEconomy,
    Path,
    SPGAgent,
    SPGEconomy,
    SPGState,
    Step,
    _add_interpolated,
    agents_of,
    by_agent,
    clearing_diagnostics,
    backward_value,
    initial_state,
    policy,
    rollout,
    spg_objective,
    uniform_distribution,
    value_and_gradient,
)
from srlteach.learning.spg.run import SPGResult, seed_spread, simulate, solve
from srlteach.learning.spg.storage import load_result, save_result
