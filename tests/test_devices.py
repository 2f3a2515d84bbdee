"""The N paths of an epoch sharded over several devices (`srlteach.learning.spg.devices`).

A CPU offers several devices only if XLA is told so before JAX starts
(`XLA_FLAGS=--xla_force_host_platform_device_count=k`), so the runs on one and on two
devices happen in subprocesses; a short training run gives the same numbers on both, to
rounding (sums over paths may be ordered differently).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from srlteach.learning.spg.devices import path_devices, path_sharding

SCRIPT = """
import json
import jax
import numpy as np
import srlteach
from srlteach.economies.huggett import create_huggett, huggett_spg
from srlteach.learning import spg

config = spg.SPGConfig(N=8, T=15, η0=1e-2, warmup=2, plateau=2, decay_steps=20, max_epochs=4, chunk=4, tol=0.0, dtype="float64")
result = spg.solve(huggett_spg(create_huggett("book", n_b=12, n_z=3, n_r=5)), config)
print(json.dumps(dict(
    devices=len(jax.devices()),
    state_devices=len(result.state.g.sharding.device_set),
    θ=np.asarray(result.θ).ravel().tolist(),
    objective=result.history["objective"].tolist(),
    g=np.asarray(result.state.g).ravel().tolist(),
)))
"""


def _start(devices: int) -> subprocess.Popen:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


def test_sharded_paths_give_the_one_device_numbers():
    one, two = _start(1), _start(2)  # side by side
    one, two = _result(one), _result(two)
    assert (one["devices"], one["state_devices"]) == (1, 1)
    assert (two["devices"], two["state_devices"]) == (2, 2)  # the paths stayed split through training
    for name in ("θ", "objective", "g"):
        np.testing.assert_allclose(two[name], one[name], rtol=1e-12, atol=1e-14, err_msg=name)


class FakeDevice:
    pass


def test_the_paths_go_on_the_most_devices_that_divide_N():
    devices = [FakeDevice() for _ in range(4)]
    assert path_devices(32, devices) == devices
    assert path_devices(6, devices) == devices[:3]
    assert path_devices(32, devices[:3]) == devices[:2]
    assert path_devices(7, devices) == devices[:1]
    with pytest.raises(ValueError, match="N"):
        path_devices(0, devices)


def test_one_device_changes_nothing():
    """Here (one CPU device, unless XLA_FLAGS says otherwise) nothing is sharded."""
    import jax

    if len(jax.devices()) > 1:
        pytest.skip("this process has several devices")
    assert path_sharding(8) is None
