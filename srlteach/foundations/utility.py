"""CRRA utility with the consumption floor used by every model in the book, and the Euler
equation written with it."""

import jax.numpy as jnp

C_MIN = 1e-3  # consumption floor inside utility (models.md), keeps u finite off the feasible set


def integral_exponent(p):
    """p as a Python int when it is a known integral number: c ** int is a few
    multiplications (and so is its derivative), c ** float is exp(p log c), several
    times slower. A traced p (σ passed to a jitted function) stays as it is."""
    return int(p) if isinstance(p, (int, float)) and float(p).is_integer() else p


def crra_utility(c, σ: float):
    """u(c) = c^(1-σ)/(1-σ), or log c when σ = 1, evaluated at max(c, c_min).

    σ must be a Python number: the log branch is chosen at trace time, because a
    `jnp.where` between the two branches would give NaN gradients at σ = 1.
    """
    c = jnp.maximum(c, C_MIN)
    if σ == 1:
        return jnp.log(c)
    return c ** integral_exponent(1 - σ) / (1 - σ)


def marginal_utility(c, σ: float):
    """u'(c) = c^(-σ) (at max(c, c_min))."""
    return jnp.maximum(c, C_MIN) ** integral_exponent(-σ)


def inverse_marginal_utility(μ, σ: float):
    """(u')⁻¹(μ) = μ^(-1/σ): consumption whose marginal utility is μ."""
    return μ ** (-1 / σ)


def euler_consumption(expected, β: float, σ: float):
    """c̃ = (u′)⁻¹(β E[R′ u′(c′)]): the consumption the Euler equation asks for today, given
    expected = E[R′ u′(c′)], tomorrow's expected marginal value of a unit saved."""
    return inverse_marginal_utility(β * expected, σ)


def euler_error(c, c_tilde, floor: float = 0.0):
    """log10 |1 - c̃/c|: the Euler-equation error of consumption c in relative terms.

    floor : a lower bound on |1 - c̃/c| (e.g. the float's eps, so that an exact zero gives a
    finite log10 rather than -inf).
    """
    return jnp.log10(jnp.maximum(jnp.abs(1 - c_tilde / c), floor))
