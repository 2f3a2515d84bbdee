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
(`srlteach.learning.training.train`). Its gradient is *pathwise*: it differentiates u(c) and
the lottery weights with respect to the policy table along the simulated paths, with the
prices held as data (households take them as given). `value_and_gradient` computes it in
one forward sweep (the rollout) and one backward sweep; `backward_value` is the recursion
itself, whose `jax.grad` is the same gradient.

An economy plugs in by providing an object with the methods of `SPGEconomy`: its policy
parameterisation (`actions`, `policy_index`), individual dynamics and reward
(`individual`, `push_forward`, `expectation`), aggregate shock process and price
determination (`prices`, which may report named residuals, one per market, and named
outcomes such as K′ or Π_t that the rollout records and `next_aggregate` sees). Nothing
in this package knows which economy it runs: Huggett clears a bond market inside `prices`
(`srlteach.economies.huggett`), Krusell–Smith computes two prices in closed form from K and z.

Several learning agents (HANK's households and price-setting firms) each bring their own
tables, reward, grid and discounting (a constant β, or a path's stochastic discount factor
such as a firm's 1/(1 + r_{t+1})); the objective is the sum of their objectives, and each
agent's tables receive the gradient of its own objective only: what the others do reaches it
as data, through prices and outcomes, exactly as prices reach households (`SPGAgent`,
`MultiAgentEconomy`; tests/test_multi_agent.py). Within a period the engine clears prices,
draws a_{t+1} (so that a return realised next period can enter today's transition), then
moves every agent's cross-section.

Conventions. Rollouts run N paths side by side inside one `lax.scan` over t (the paths are
the vectorised axis); arrays in a `Path` are (T, N, ...). The engine computes in the float
type of `SPGConfig.dtype`: float32 by default, measured 1.9 times faster than float64 on the
paper-scale Krusell–Smith epoch on a 2-core CPU (benchmarks/results.md). A float32 run and a
float64 run are different runs (they stop after different numbers of epochs), but learn the
same economy to within the method's noise: on the book's Krusell–Smith configuration mean K
differs by 0.03% and the s.d. of log K by 2% (tests/test_precision.py).

Scale. The backward sweep reads each agent's d_t and actions stored by the forward sweep,
(T, N, ...) arrays; `SPGConfig.checkpoint = k` stores d_t only every k periods and
recomputes the rest, with the same gradient (`value_and_gradient`). With several devices
(GPUs, or CPU host devices) `solve` splits the N paths over them (`devices`). Peak memory
and the sharded timings are in benchmarks/results.md.

Preferences. By default an agent's value is time-separable, v_t = u_t + β A_π v_{t+1}. An
agent may bring another per-period aggregator, v_t = u_t + β 𝒞(v_{t+1}) (`aggregator`;
`EpsteinZin`, issue 17): the objective is then its backward recursion, and the gradient
reverse-mode autodiff of that recursion (`value_and_gradient`).
"""

from srlteach.learning.spg.config import SPGConfig, check_config, in_dtype
from srlteach.learning.spg.prices import PriceLocation, Prices, corners, interpolate, locate_prices
from srlteach.learning.spg.engine import (
    BondIncomeDynamics,
    EpsteinZin,
    MultiAgentEconomy,
    Path,
    SPGAgent,
    SPGEconomy,
    SPGState,
    Step,
    TimeSeparable,
    _add_interpolated,
    aggregator_of,
    backward_value,
    initial_state,
    policy,
    rollout,
    spg_objective,
    uniform_distribution,
    objective_distribution,
    value_and_gradient,
)
from srlteach.learning.spg.run import SPGResult, clearing_report, seed_spread, simulate, solve
from srlteach.learning.spg.storage import load_result, save_result
