"""Checkpointing in the backward sweep (`SPGConfig.checkpoint`, `value_and_gradient(..., checkpoint=k)`).

With k > 0 the forward sweep stores each agent's d_t only every k periods and the backward
sweep recomputes the rest from the stored prices. It repeats the forward sweep's operations
on the same numbers, so the value and the gradient are the very same bits when k divides T;
when it does not, the last T mod k periods are compiled apart and may differ in the last bit.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from two_agent_economy import create_two_agent_economy

import srlteach  # noqa: F401  (float64)
from srlteach.economies.huggett import create_huggett, huggett_spg
from srlteach.economies.krusell_smith import create_krusell_smith, krusell_smith_spg
from srlteach.learning import spg
from srlteach.learning.lagged_prices import lagged_prices

T = 12


def _huggett():
    return huggett_spg(create_huggett("book", n_b=12, n_z=3, n_r=5))


def _krusell_smith():
    return krusell_smith_spg(create_krusell_smith("book", n_b=12, n_r=5, n_w=5))


def _lagged_krusell_smith():
    model = _krusell_smith()
    grid = model.economy.r_grid
    return lagged_prices(model, [jnp.linspace(grid[0], grid[-1], 3)], p0=[grid[2]])


MODELS = {
    "huggett": _huggett,
    "krusell_smith": _krusell_smith,
    "lagged_krusell_smith": _lagged_krusell_smith,
    "two_agents": lambda: create_two_agent_economy(n_p=9),  # a firm with a stochastic discount factor
}


@functools.lru_cache(maxsize=None)
def _epoch(name: str, dtype: str, checkpoint: int):
    """Value, gradient and path of one epoch on a perturbed table (no choice on a node)."""
    model = spg.in_dtype(MODELS[name](), dtype)
    θ = model.initial_parameters()
    θ = jax.tree.map(lambda x: x + 0.05 * jax.random.normal(jax.random.PRNGKey(1), x.shape, x.dtype), θ)
    table = model.actions(θ)
    start = spg.initial_state(model, 4, jax.random.PRNGKey(2))
    return spg.value_and_gradient(model, table, start.g, start.a, jax.random.PRNGKey(3), T, spg.uniform_distribution(model),
                                  checkpoint=checkpoint)


@pytest.mark.parametrize("name, dtype", [(name, "float64") for name in sorted(MODELS)]
                         + [("huggett", "float32"), ("krusell_smith", "float32")])
def test_checkpointing_gives_the_same_bits_when_k_divides_T(name, dtype):
    stored = _epoch(name, dtype, 0)
    for k in (4,):
        value, gradient, path = _epoch(name, dtype, k)
        assert value == stored[0], k
        for leaf, ref in zip(jax.tree.leaves(gradient), jax.tree.leaves(stored[1])):
            np.testing.assert_array_equal(leaf, ref, err_msg=f"checkpoint {k}")
        for leaf, ref in zip(jax.tree.leaves(path), jax.tree.leaves(stored[2])):
            np.testing.assert_array_equal(leaf, ref, err_msg=f"checkpoint {k}")


@pytest.mark.parametrize("name", ["huggett", "two_agents"])
def test_checkpointing_with_a_shorter_last_segment_agrees_to_rounding(name):
    stored = _epoch(name, "float64", 0)
    for k in (5,):  # T = 12 = 2·5 + 2
        value, gradient, _ = _epoch(name, "float64", k)
        assert float(value) == pytest.approx(float(stored[0]), rel=1e-14, abs=1e-14)
        for leaf, ref in zip(jax.tree.leaves(gradient), jax.tree.leaves(stored[1])):
            np.testing.assert_allclose(leaf, ref, rtol=1e-12, atol=1e-14 * float(jnp.max(jnp.abs(ref))))


def test_training_with_checkpointing_gives_the_same_policy():
    config = spg.SPGConfig(N=4, T=T, η0=1e-2, warmup=3, plateau=3, decay_steps=20, max_epochs=6, chunk=3, tol=0.0)
    plain = spg.solve(_huggett(), config)
    checkpointed = spg.solve(_huggett(), config._replace(checkpoint=4))
    np.testing.assert_array_equal(checkpointed.θ, plain.θ)
    np.testing.assert_array_equal(checkpointed.history["objective"], plain.history["objective"])


def test_checkpointing_needs_less_memory():
    """XLA's accounting of the compiled epoch: the (T, N, ...) arrays of d_t and the actions
    are replaced by T/k + 2k arrays of (N, ...)."""
    model = spg.in_dtype(_huggett(), "float32")
    table = model.actions(model.initial_parameters())
    start = spg.initial_state(model, 16, jax.random.PRNGKey(2))
    d0, T_long = spg.uniform_distribution(model), 64

    def temporary_bytes(k):
        f = jax.jit(lambda t: spg.value_and_gradient(model, t, start.g, start.a, jax.random.PRNGKey(3), T_long, d0, checkpoint=k)[:2])
        return f.lower(table).compile().memory_analysis().temp_size_in_bytes

    slab = 16 * table.shape[-2] * table.shape[-1] * 4  # one (N, n_b, n_y) float32 array
    plain, checkpointed = temporary_bytes(0), temporary_bytes(8)
    assert plain - checkpointed > (2 * T_long - (T_long // 8 + 2 * 8) - 8) * slab


@pytest.mark.parametrize("bad", [-1, 2.5, float("nan")])
def test_a_bad_checkpoint_is_rejected(bad):
    with pytest.raises(ValueError, match="checkpoint"):
        spg.check_config(spg.SPGConfig(checkpoint=bad))
