"""Numerics of an SPG run and the checks of what a user passes in."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.foundations.validation import whole_number


class SPGConfig(NamedTuple):
    """Numerics of an SPG run (no economics). Defaults: the paper's settings for Huggett
    (the paper does not report how fast its learning rate decays: here by half every 250 epochs)."""

    N: int = 512  # simulated paths per epoch
    T: int = 170  # horizon of each path (β^T below the truncation error)
    η0: float = 1e-3  # initial learning rate of the optimizer (Adam by default, `solve`)
    warmup: int = 50  # epochs whose paths all start from the fixed initial distribution
    plateau: int = 50  # epochs at η0 (the paper's warm-up sets both to 50) ...
    decay_rate: float = 0.5  # ... after which the rate falls by this factor ...
    decay_steps: int = 250  # ... every decay_steps epochs
    max_epochs: int = 1000
    chunk: int = 25  # epochs per compiled call
    tol: float = 3e-4  # stop when max |θ_{k+1} - θ_k| < tol (0: run max_epochs)
    seed: int = 0
    dtype: str = "float32"  # float type of the engine's arrays: "float32" or "float64"
    checkpoint: int = 0  # 0: the backward sweep reads d_t and the actions stored for every t;
    # k > 0: d_t stored every k periods, the rest recomputed (less memory; `value_and_gradient`)


def check_config(config: SPGConfig) -> SPGConfig:
    """Raise ValueError naming the setting unless `config` is usable; return it with its
    sizes as ints (N = 32.0 → 32: they become array shapes). Every test fails on NaN."""
    sizes = {name: whole_number(getattr(config, name), name, symbol=name) for name in ("N", "T", "max_epochs", "chunk", "decay_steps")}
    sizes["warmup"] = whole_number(config.warmup, "warmup", least=0, symbol="warmup")
    sizes["plateau"] = whole_number(config.plateau, "plateau", least=0, symbol="plateau")
    sizes["seed"] = whole_number(config.seed, "seed", least=0, symbol="seed")
    sizes["checkpoint"] = whole_number(config.checkpoint, "checkpoint", least=0)
    if not 0 < config.η0 <= 1:
        raise ValueError(f"learning rate η0 must lie in (0, 1], got η0 = {config.η0}")
    if not 0 < config.decay_rate <= 1:
        raise ValueError(f"decay_rate must lie in (0, 1], got decay_rate = {config.decay_rate}")
    if not 0 <= config.tol < 1:
        raise ValueError(f"tolerance tol must lie in [0, 1), got tol = {config.tol}")
    if config.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got dtype = {config.dtype!r}")
    return config._replace(**sizes)


def in_dtype(tree, dtype: str):
    """`tree` with every floating-point array cast to `dtype` (integer arrays untouched)."""
    dtype = jnp.dtype(dtype)

    def cast(x):
        x = jnp.asarray(x)
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, tree)


def check_parameters(θ, θ_ref, name: str = "θ0"):
    """Raise ValueError unless θ has the pytree structure and shapes of θ_ref."""
    if jax.tree.structure(θ) != jax.tree.structure(θ_ref):
        raise ValueError(f"{name} must have the structure {jax.tree.structure(θ_ref)}, got {jax.tree.structure(θ)}")
    for leaf, ref in zip(jax.tree.leaves(θ), jax.tree.leaves(θ_ref)):
        if np.shape(leaf) != np.shape(ref):
            raise ValueError(f"{name} must have shape {np.shape(ref)} (the economy's policy grid), got {np.shape(leaf)}")


