"""DeepHAM's generalised moments: a learned, permutation-invariant summary of a cross-section.

Han, Yang and E (2021, arXiv:2112.14377) solve a model with N agents whose policy depends
on everybody's state. Because agents are interchangeable, the policy may only depend on the
others through symmetric functions; they use averages of a learned basis function,

    m_j = (1/N) Σ_i Q_j(s_i),    j = 1, …, J,

with Q a small neural network trained together with the policy. Q(s) = b gives mean
capital, Krusell and Smith's (1998) statistic; a learned Q can pick out whatever feature of
the distribution matters most for the policy.
"""

import jax.numpy as jnp

from srlteach.learning.policy_gradient import mlp


def generalised_moments(φ, features, weights):
    """m = Σ_i ω_i Q_φ(x_i): the J generalised moments of a cross-section.

    φ : parameters of the basis network Q (`mlp_init` with J outputs);
    features : (n, d) individual states x_i as network inputs;
    weights : (n,) masses ω_i summing to one: 1/N for a panel of N agents, or g on the
        nodes of a grid for a distribution (the same function measures both).
    Returns (J,).
    """
    return jnp.asarray(weights) @ mlp(φ, features)
