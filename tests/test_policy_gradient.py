"""The generic trainer and the policy-gradient chapter's claims."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import srlteach  # noqa: F401  (float64)
from srlteach.policy_gradient import (
    TrainConfig,
    print_progress,
    sup_norm,
    train,
    warmup_exponential_decay,
)

# ---------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------

TARGET = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}


def concave_objective(θ, state, key, epoch):
    """L(θ) = -|θ - target|² (maximised at the target); counts epochs in the state."""
    L = -sum(jnp.sum((θ[k] - TARGET[k]) ** 2) for k in θ)
    return L, ({"epoch": epoch.astype(float), "state": state.astype(float)}, state + 1)


THETA0 = {"a": jnp.zeros(2), "b": jnp.array(0.0)}


def test_train_ascends_to_the_maximiser_and_stops_at_tol():
    config = TrainConfig(max_epochs=2000, chunk=25, tol=1e-6)
    result = train(concave_objective, THETA0, optax.adam(0.05), config, state0=jnp.array(0))
    assert result.converged and not result.interrupted
    for k in TARGET:
        np.testing.assert_allclose(result.θ[k], TARGET[k], atol=1e-4)
    h = result.history
    assert set(h) == {"objective", "Δθ", "epoch", "state"}
    assert all(len(v) == result.epochs for v in h.values())
    # stops at the first epoch with Δθ < tol, even inside a chunk
    assert h["Δθ"][-1] < 1e-6 and (h["Δθ"][:-1] >= 1e-6).all()
    assert result.epochs % 25 != 0 or result.epochs == 2000
    np.testing.assert_array_equal(h["epoch"], np.arange(result.epochs))
    assert int(result.state) == result.epochs  # the state is carried epoch to epoch
    assert h["objective"][-1] > h["objective"][0]
    assert result.compile_seconds > 0 and result.run_seconds > 0


def test_train_runs_exactly_max_epochs_without_tol():
    config = TrainConfig(max_epochs=30, chunk=25, tol=0.0)
    result = train(concave_objective, THETA0, optax.sgd(0.01), config, state0=jnp.array(0))
    assert result.epochs == 30 and not result.converged
    # plain gradient ascent: θ_k - target = (1 - 2η)^k (θ_0 - target)
    np.testing.assert_allclose(result.θ["a"], TARGET["a"] * (1 - 0.98**30), rtol=1e-12)


def test_train_same_seed_same_numbers_and_keys_by_epoch():
    def noisy(θ, state, key, epoch):
        return jnp.sum(θ * jax.random.normal(key, θ.shape)), ({}, state)

    config = TrainConfig(max_epochs=10, chunk=4, tol=0.0, seed=3)
    a = train(noisy, jnp.ones(3), optax.sgd(0.1), config)
    b = train(noisy, jnp.ones(3), optax.sgd(0.1), config._replace(chunk=10))
    np.testing.assert_array_equal(a.θ, b.θ)  # chunking does not change the draws
    expected = jnp.ones(3)
    for k in range(10):
        expected = expected + 0.1 * jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(3), k), (3,))
    np.testing.assert_allclose(a.θ, expected, rtol=1e-12)


def test_train_keyboard_interrupt_returns_last_completed_chunk():
    calls = []

    def progress(summary):
        calls.append(summary["epoch"])
        if len(calls) == 3:
            raise KeyboardInterrupt

    config = TrainConfig(max_epochs=1000, chunk=10, tol=0.0)
    result = train(concave_objective, THETA0, optax.sgd(0.01), config, jnp.array(0), progress)
    assert result.interrupted and result.epochs == 30 and int(result.state) == 30
    assert calls == [10, 20, 30]
    np.testing.assert_allclose(result.θ["a"], TARGET["a"] * (1 - 0.98**30), rtol=1e-12)


def test_print_progress_prints_rounded_lines(capsys):
    progress = print_progress(every=20, digits=3)
    for epoch in (10, 20, 30, 40):
        progress({"epoch": epoch, "objective": -1.23456, "Δθ": 0.001234, "elapsed": 1.0})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "objective -1.23" in lines[0] and "Δθ 0.00123" in lines[0]


def test_schedule_is_constant_then_decays():
    schedule = warmup_exponential_decay(1e-3, warmup=50, decay_rate=0.5, decay_steps=100)
    assert schedule(0) == pytest.approx(1e-3) and schedule(49) == pytest.approx(1e-3)
    assert schedule(150) == pytest.approx(5e-4) and schedule(250) == pytest.approx(2.5e-4)


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(η0=0.0), "η0"), (dict(η0=1e-3, decay_rate=1.5), "decay_rate"), (dict(η0=1e-3, warmup=-1), "warmup")],
)
def test_schedule_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        warmup_exponential_decay(**kwargs)


@pytest.mark.parametrize("field, value", [("max_epochs", 0), ("chunk", 0), ("tol", -1.0)])
def test_train_rejects_bad_config(field, value):
    with pytest.raises(ValueError, match=field):
        train(concave_objective, THETA0, optax.sgd(0.1), TrainConfig()._replace(**{field: value}), jnp.array(0))


def test_sup_norm_over_a_pytree():
    assert float(sup_norm({"a": jnp.array([1.0, -3.0]), "b": (jnp.array(2.0),)})) == 3.0
