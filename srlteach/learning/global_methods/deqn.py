"""Deep equilibrium nets: a policy network trained to make equilibrium conditions hold.

Azinovic, Gaegauf and Scheidegger (2022, International Economic Review 63(4)) sample states
by simulating the economy under the current network and minimise the mean squared error
of the equilibrium conditions at those states. An occasionally binding borrowing limit
turns the Euler equation into a complementarity condition,

    a ≥ 0,   b ≥ 0,   a b = 0,

with a the (relative) Euler gap and b the distance to the limit. The Fischer–Burmeister
function folds the three into one equation: it is zero exactly when they hold, and smooth
elsewhere except at the origin.
"""

import jax.numpy as jnp


def fischer_burmeister(a, b):
    """ψ(a, b) = a + b - sqrt(a² + b²): zero if and only if a ≥ 0, b ≥ 0 and a b = 0."""
    return a + b - jnp.sqrt(a**2 + b**2)


def residual_objective(residuals_and_aux):
    """A trainer objective (to MAXIMISE) from a residual function: L(θ) = -mean ψ².

    residuals_and_aux : (θ, state, key, epoch) -> (residuals (any shape), diagnostics,
    state_next). The training loop of the book maximises, so deep equilibrium nets
    maximise minus their loss; the loss itself is recorded as the diagnostic "loss".
    """

    def objective(θ, state, key, epoch):
        residuals, diagnostics, state_next = residuals_and_aux(θ, state, key, epoch)
        loss = jnp.mean(residuals**2)
        return -loss, ({"loss": loss, **diagnostics}, state_next)

    return objective
