"""``tapegrad.reference.nn``: ``tapegrad.nn``'s classes bound to the reference engine.

Each Module class here is a cached subclass of the shared one with
``_engine = tapegrad.reference`` (``tapegrad._backend.bind_class``), so the
tensors it creates (``Linear``'s weights) are reference tensors while
``isinstance(m, tapegrad.nn.Linear)`` holds and pickle finds it under this
module's name. Other names (``Parameter``, ``functional``) are the shared
objects: they serve the engine of the tensors they are given.
"""

import sys
from typing import Any, List

from ... import _api, _backend
from ... import nn as _nn
from ... import reference as _engine
from ...nn import functional, init, utils

__all__ = list(_api.NN) + ["functional"]   # and utils (nn.utils), a subpackage
sys.modules[__name__ + ".functional"] = functional
sys.modules[__name__ + ".init"] = init
sys.modules[__name__ + ".utils"] = utils


def __getattr__(name: str) -> Any:
    obj = getattr(_nn, name) if name in __all__ else None
    if obj is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if isinstance(obj, type) and issubclass(obj, _nn.Module):
        return _backend.bind_class(obj, _engine, __name__)
    return obj


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
