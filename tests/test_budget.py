"""The budget, the savings-share map and the Euler equation's helpers (srlteach.foundations.budget,
srlteach.foundations.utility)."""

import jax
import jax.numpy as jnp
import numpy as np

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.budget import cash_on_hand, savings_from_share, savings_logit
from srlteach.foundations.utility import euler_consumption, euler_error, marginal_utility

b_grid = jnp.linspace(-1.0, 20.0, 30)
x = cash_on_hand(b_grid[:, None], 1.03, jnp.array([0.6, 1.0, 1.6]))  # (n_b, n_y)


def test_cash_on_hand_is_the_budget():
    np.testing.assert_array_equal(x, 1.03 * b_grid[:, None] + jnp.array([0.6, 1.0, 1.6]))


def test_the_share_map_respects_the_constraints_for_every_logit():
    θ = 30 * jax.random.normal(jax.random.PRNGKey(0), x.shape)  # shares from ~0 to ~1 (up to rounding)
    b_next = savings_from_share(θ, x, -1.0, 20.0)
    assert (b_next >= -1.0).all() and (b_next <= jnp.minimum(x, 20.0) + 1e-14).all()
    moderate = jnp.abs(θ) < 20  # away from shares that round to 0 or 1, c > 0 strictly
    assert moderate.sum() > 10 and (jnp.where(moderate, x - b_next, 1.0) > 0).all()
    # the share s of the resources above the limit, below the cap
    s = jax.nn.sigmoid(θ[3, 1])
    assert float(b_next[3, 1]) == float(-1.0 + s * (jnp.minimum(x[3, 1], 20.0) + 1.0))


def test_savings_logit_inverts_the_share_map():
    θ = jnp.linspace(-2.9, 2.9, x.size).reshape(x.shape)  # shares inside [0.05, 0.95]
    back = savings_logit(savings_from_share(θ, x, -1.0, 20.0), x, -1.0, 20.0, bound=0.05)
    np.testing.assert_allclose(back, θ, atol=1e-11)
    # on the constraints the share is clipped, so the logit stays finite
    at_limits = savings_logit(jnp.stack([jnp.full(3, -1.0), jnp.minimum(x[-1], 20.0)]), x[jnp.array([0, -1])], -1.0, 20.0, bound=0.05)
    np.testing.assert_allclose(jnp.abs(at_limits), np.log(0.95 / 0.05), rtol=1e-12)


def test_euler_consumption_and_error():
    """If tomorrow's expected marginal value is u′(c)/β, the Euler equation holds at c."""
    c = jnp.array([0.5, 1.0, 2.0])
    c_tilde = euler_consumption(marginal_utility(c, 2.0) / 0.96, 0.96, 2.0)
    np.testing.assert_allclose(c_tilde, c, rtol=1e-15)
    np.testing.assert_allclose(euler_error(c, 1.01 * c), -2.0, atol=1e-12)  # 1% off: log10 0.01
    assert float(euler_error(1.0, 1.0)) == -np.inf
    assert float(euler_error(1.0, 1.0, floor=1e-16)) == -16.0
