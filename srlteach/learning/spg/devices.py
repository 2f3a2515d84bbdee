"""Many devices: the N paths of an epoch sharded over the devices present.

The paths of an epoch are independent until the objective averages over them, so they can
live on different devices: each device simulates its share of the paths, and the gradient,
a mean over paths, is summed across devices by XLA (it inserts the reduction). This module
only says where the arrays live; the engine's program is the same on one device or many.

`path_sharding(N)` is a `jax.sharding.NamedSharding` that splits a leading axis of N paths
over a one-dimensional mesh of devices (axis name "paths"), or None on a single device.
`shard_paths` places an `SPGState` (or any pytree of (N, ...) arrays) on it, and
`constrain_paths` asks for the same layout inside a jitted function.

Which devices: all of `jax.devices()` (several GPUs; or CPU host devices made with
`XLA_FLAGS=--xla_force_host_platform_device_count=k`, set before JAX starts). N must be
split evenly, so when the device count does not divide N the paths go on the largest
number of devices that does (the first ones: 3 devices and N = 32 use 2 of them); when
that number is 1, nothing is sharded. `path_devices` says how many are used.

Results do not depend on the number of devices except for the order of floating-point
sums across paths (the random draws are the same: JAX's threefry generator is
partitionable), so runs on one device and on several agree to rounding
(tests/test_devices.py).
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

PATHS = "paths"  # the mesh axis of the paths


def path_devices(N: int, devices=None) -> list:
    """The devices the N paths are split over: the first k of `devices` (default
    `jax.devices()`), k the largest count up to their number that divides N."""
    devices = list(jax.devices() if devices is None else devices)
    if int(N) != N or N < 1:
        raise ValueError(f"N must be a positive integer, got N = {N}")
    k = max(k for k in range(1, len(devices) + 1) if N % k == 0)
    return devices[:k]


def path_sharding(N: int, devices=None) -> NamedSharding | None:
    """The sharding of arrays with a leading axis of N paths over `path_devices(N)`, or
    None when that is a single device (then nothing needs placing)."""
    devices = path_devices(N, devices)
    if len(devices) == 1:
        return None
    return NamedSharding(Mesh(np.array(devices), (PATHS,)), PartitionSpec(PATHS))


def shard_paths(tree, sharding: NamedSharding | None):
    """Every leaf of `tree` (arrays whose leading axis is the paths, such as an `SPGState`)
    placed on `sharding`; `tree` itself when `sharding` is None."""
    if sharding is None:
        return tree
    return jax.device_put(tree, sharding)


def constrain_paths(tree, sharding: NamedSharding | None):
    """Inside a jitted function: ask XLA to lay out `tree`'s leading path axis by `sharding`
    (`jax.lax.with_sharding_constraint`); `tree` itself when `sharding` is None."""
    if sharding is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, sharding)
