"""CRRA utility (srlteach.foundations.utility): integer and fractional σ, traced σ, the consumption floor."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.foundations.utility import C_MIN, crra_utility, inverse_marginal_utility, marginal_utility

C = jnp.array([1e-4, 0.3, 1.0, 2.7, 40.0])


@pytest.mark.parametrize("σ", [1.0, 2.0, 3, 1.5, 0.5])
def test_utility_and_its_derivative_match_the_formulas(σ):
    c = np.maximum(np.asarray(C), C_MIN)
    expected = np.log(c) if σ == 1 else c ** (1 - σ) / (1 - σ)
    np.testing.assert_allclose(crra_utility(C, σ), expected, rtol=1e-14)
    np.testing.assert_allclose(marginal_utility(C, σ), c ** (-σ), rtol=1e-14)
    # u' is the derivative of u above the floor, and (u')⁻¹ inverts it
    inside = C > C_MIN
    derivative = jax.vmap(jax.grad(lambda x: crra_utility(x, σ)))(C)
    np.testing.assert_allclose(derivative[inside], marginal_utility(C, σ)[inside], rtol=1e-13)
    np.testing.assert_allclose(inverse_marginal_utility(marginal_utility(C, σ), σ)[inside], C[inside], rtol=1e-13)


def test_integral_σ_is_an_integer_power_and_a_traced_σ_still_works():
    """σ = 3 is computed as c^(-2) by multiplication (no exp/log); a σ passed into jit as an
    array (the reference solvers do) keeps the general power and gives the same numbers."""
    for f in (crra_utility, marginal_utility):
        jaxpr = str(jax.make_jaxpr(lambda c: f(c, 3.0))(C))
        assert "integer_pow" in jaxpr and " pow " not in jaxpr
    traced = jax.jit(marginal_utility)(C, 3.0)
    assert " pow " in str(jax.make_jaxpr(marginal_utility)(C, 3.0))
    np.testing.assert_allclose(traced, marginal_utility(C, 3.0), rtol=1e-14)
