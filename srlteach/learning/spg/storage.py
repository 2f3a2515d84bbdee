"""Saving and loading SPG results, without pickle."""

import dataclasses
import importlib
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from srlteach.learning.spg.run import SPGResult

# ---------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------
#
# A result is stored as one .npz file: every array under its own name, and a JSON
# description of the containers (dataclasses, named tuples, dicts) and scalars around them,
# so that loading rebuilds the same objects, bit for bit, without pickle.


def _describe(obj, name: str, arrays: dict):
    if isinstance(obj, (jax.Array, np.ndarray, np.generic)):
        arrays[name] = np.asarray(obj)
        return {"array": name}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    kind = type(obj)
    path = f"{kind.__module__}:{kind.__qualname__}"
    if dataclasses.is_dataclass(obj):
        fields = {f.name: _describe(getattr(obj, f.name), f"{name}.{f.name}", arrays) for f in dataclasses.fields(obj)}
        return {"dataclass": path, "fields": fields}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {"namedtuple": path, "fields": {k: _describe(v, f"{name}.{k}", arrays) for k, v in obj._asdict().items()}}
    if isinstance(obj, dict):
        return {"dict": {k: _describe(v, f"{name}.{k}", arrays) for k, v in obj.items()}}
    if isinstance(obj, (tuple, list)):
        return {"tuple": [_describe(v, f"{name}.{i}", arrays) for i, v in enumerate(obj)]}
    raise ValueError(f"cannot save {name} of type {path}")


def _class(path: str):
    module, qualname = path.split(":")
    if not (module == "srlteach" or module.startswith("srlteach.")):
        raise ValueError(f"refusing to load class {path}: only srlteach classes are rebuilt")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and (dataclasses.is_dataclass(cls) or issubclass(cls, tuple))):
        raise ValueError(f"refusing to load {path}: only dataclasses and named tuples are rebuilt")
    return cls


def _rebuild(description: dict, arrays):
    if "array" in description:
        return jnp.asarray(arrays[description["array"]])
    if "value" in description:
        return description["value"]
    if "dict" in description:
        return {k: _rebuild(v, arrays) for k, v in description["dict"].items()}
    if "tuple" in description:
        return tuple(_rebuild(v, arrays) for v in description["tuple"])
    kind = "dataclass" if "dataclass" in description else "namedtuple"
    fields = {k: _rebuild(v, arrays) for k, v in description["fields"].items()}
    return _class(description[kind])(**fields)


def _npz(path):
    """`path` with the .npz suffix that `np.savez` adds to a name without it ("run1" → "run1.npz")."""
    if isinstance(path, (str, os.PathLike)):
        path = pathlib.Path(path)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    return path  # an open file


def save_result(path, result: SPGResult):
    """Write `result` (policy, settings, model, history) to the .npz file `path`
    ("run1" is written as run1.npz, which `load_result("run1")` reads)."""
    arrays = {}
    description = _describe(result, "result", arrays)
    np.savez(_npz(path), __description__=np.asarray(json.dumps(description)), **arrays)


def load_result(path) -> SPGResult:
    """Read a result written by `save_result`: simulations with it repeat the original's."""
    with np.load(_npz(path), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    description = json.loads(str(arrays.pop("__description__")))
    result = _rebuild(description, arrays)
    # the history holds NumPy arrays, as `train` returns it
    return result._replace(history={name: np.asarray(value) for name, value in result.history.items()})
