"""``tapegrad.save`` / ``tapegrad.load``, and pickling of Values and Tensors.

Pickle format (one for both engines, never the graph):

* a Tensor pickles as ``_rebuild_tensor(engine, raw bytes, shape, dtype,
  requires_grad)`` -- its data and ``requires_grad``; a non-leaf comes back as
  a leaf; its ``.grad`` is not saved (as ``torch.save``);
* a Value pickles as ``_rebuild_value(engine, data)``: a fresh leaf;
* a ``Parameter`` as ``Parameter(data, requires_grad)``; a Module as its class
  and ``__dict__`` (ordinary pickling of a module-level class).

The reducers are registered with :mod:`copyreg` for each engine's exact
``Tensor`` and ``Value`` types when the engine is registered
(``tapegrad._backend``), so ``pickle`` and ``copy.deepcopy`` (for Values; a
Tensor's own ``__deepcopy__`` also copies ``.grad``, like torch's) use them.

``load(f)`` defaults to ``weights_only=True``, like ``torch.load``: a
restricted unpickler that only rebuilds tapegrad tensors, Values, Parameters
and dtypes, containers, numbers and strings -- it never runs code from the
file. Loading a pickled Module needs ``weights_only=False`` (trusted files only).
"""

from __future__ import annotations

import collections
import copyreg
import os
import pickle
from typing import IO, Any, Optional, Tuple, Union

import numpy as np

from . import _backend
from . import _dtype

__all__ = ["save", "load"]

_FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
PROTOCOL = 4       # Python >= 3.4: large objects, no numpy or Python-version surprises


# ---------------------------------------------------------------------------- reducers

def _rebuild_tensor(engine: str, raw: bytes, shape: Tuple[int, ...], dtype: Any,
                    requires_grad: bool) -> Any:
    """A leaf tensor of ``engine`` holding ``raw`` (C order) as ``dtype``."""
    if not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"_rebuild_tensor: dtype must be a tapegrad dtype, not {dtype!r}")
    arr = np.frombuffer(raw, dtype=dtype.numpy).reshape(tuple(shape)).copy()
    t = _backend.engine_named(engine).from_numpy(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _reduce_tensor(t: Any) -> Tuple[Any, Tuple[Any, ...]]:
    arr = np.asarray(t.detach().numpy())           # tobytes() below is C order
    return (_rebuild_tensor, (_backend.engine_of(t).ENGINE, arr.tobytes(), tuple(arr.shape),
                              t.dtype, bool(t.requires_grad)))


def _rebuild_value(engine: str, data: float) -> Any:
    """A leaf Value of ``engine``."""
    return _backend.engine_named(engine).Value(float(data))


def _reduce_value(v: Any) -> Tuple[Any, Tuple[Any, ...]]:
    return (_rebuild_value, (_backend.engine_of(v).ENGINE, v.data))


def _register_engine(module: Any) -> None:
    """Pickle ``module``'s exact Tensor and Value types with the reducers above."""
    copyreg.pickle(module.Tensor, _reduce_tensor)
    copyreg.pickle(module.Value, _reduce_value)


# ---------------------------------------------------------------------------- save / load

def save(obj: Any, f: _FileLike, pickle_protocol: int = PROTOCOL) -> None:
    """Save ``obj`` (a tensor, a state_dict, a module, ...) to a path or a binary file."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle_protocol)
    else:
        pickle.dump(obj, f, protocol=pickle_protocol)


def _safe_globals() -> dict:
    from .nn.parameter import Parameter
    return {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex, ("builtins", "slice"): slice,
        ("tapegrad._dtype", "_by_name"): _dtype._by_name,
        ("tapegrad._dtype", "Size"): _dtype.Size,
        ("tapegrad.serialization", "_rebuild_tensor"): _rebuild_tensor,
        ("tapegrad.serialization", "_rebuild_value"): _rebuild_value,
        ("tapegrad.nn.parameter", "Parameter"): Parameter,
    }


class _WeightsUnpickler(pickle.Unpickler):
    """Rebuilds only the globals of :func:`_safe_globals` (torch's weights_only=True)."""

    def find_class(self, module: str, name: str) -> Any:
        obj = _safe_globals().get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(
                "Weights only load failed. This file can still be loaded, to do so you have "
                "two options, do those steps only if you trust the source of the checkpoint.\n"
                "\t(1) Re-running `tapegrad.load` with `weights_only` set to `False` will "
                "likely succeed, but it can result in arbitrary code execution. Do it only if "
                "you got the file from a trusted source.\n"
                f"\t(2) WeightsUnpickler error: Unsupported global: GLOBAL {module}.{name} was "
                "not an allowed global by default.")
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("Weights only load failed: persistent ids are not "
                                     "supported")


def load(f: _FileLike, map_location: Optional[Any] = None, *,
         weights_only: bool = True) -> Any:
    """Load an object saved with :func:`save` from a path or a binary file.

    ``weights_only=True`` (the default) rebuilds only tensors, Values,
    Parameters, dtypes, containers, numbers and strings, and never runs code
    from the file; pass ``weights_only=False`` for modules and other objects,
    and only for files you trust."""
    if map_location not in (None, "cpu") and str(map_location) != "cpu":
        raise RuntimeError(f"tapegrad tensors live on the CPU; map_location={map_location!r} "
                           "is not supported")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _load(fh, weights_only)
    return _load(f, weights_only)


def _load(fh: IO[bytes], weights_only: bool) -> Any:
    if weights_only:
        return _WeightsUnpickler(fh).load()
    return pickle.load(fh)

