"""The household's budget c + b′ = x and the savings-share map of the SRL policies.

Every household in the book splits its cash on hand x = R b + income between consumption
and savings. The learned policies choose the share s = 1/(1 + e^(-θ)) of the resources above
the borrowing limit b̲ (below the savings cap b_max) that it saves,

    b′ = b̲ + s (min(x, b_max) - b̲),

so that b̲ ≤ b′ ≤ b_max and c = x - b′ > 0 for every θ: the constraints hold by
construction. `savings_logit` is the inverse map, used to start a policy from a known one.
"""

import jax
import jax.numpy as jnp


def cash_on_hand(b, R, income):
    """x = R b + income: the resources split between c and b′ (arrays broadcast together).

    On the (b, e) grid pass b = b_grid[:, None]; R = 1 + r is the gross return on b.
    """
    return R * b + income


def savings_from_share(θ, x, b_min, b_max):
    """b′ = b̲ + s (min(x, b_max) - b̲) with the savings share s = 1/(1 + e^(-θ)) (any shapes)."""
    return b_min + jax.nn.sigmoid(θ) * (jnp.minimum(x, b_max) - b_min)


def savings_logit(b_next, x, b_min, b_max, bound: float):
    """θ with `savings_from_share(θ, x, b_min, b_max)` ≈ b′: the logit of the savings share.

    The share is clipped to [bound, 1 - bound] first, so that θ is finite where b′ sits on a
    constraint (|θ| ≤ log((1 - bound)/bound)).
    """
    share = jnp.clip((b_next - b_min) / (jnp.minimum(x, b_max) - b_min), bound, 1 - bound)
    return jnp.log(share) - jnp.log1p(-share)
