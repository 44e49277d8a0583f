"""The one small backend object: which engine a tensor belongs to, and the
engine that layers use when they create tensors from nothing.

An *engine* is a module that fulfils :class:`tapegrad._contract.Engine`:
``tapegrad._engine`` (compiled) or ``tapegrad.reference`` (pure Python).
The layers (``tapegrad.nn``, ``optim``, ``autograd``, replay) are written once;
they reach an engine through

* :func:`engine_of` -- the engine of the tensors (or Values) they receive;
* :func:`default_engine` -- the active engine (``tapegrad.ENGINE``), for
  layers that create tensors from nothing (``nn.Linear``'s weights), unless
  the layer class is bound to an engine (``cls._engine``, see
  :func:`bind_class`: ``tapegrad.reference.nn.Linear``).

The compiled engine is imported lazily, so ``TAPEGRAD_PURE_PYTHON=1`` works
without it. An engine that lacks a name of the contract is refused when it
registers (an ImportError naming the missing names).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Dict, Optional, Tuple, Type, TypeVar

__all__ = ["engine_of", "default_engine", "engine_named", "bind_class"]

_MODULES = {"c": "tapegrad._engine", "python": "tapegrad.reference"}
_by_type: Dict[type, Any] = {}          # Tensor / Value type (and subclasses seen) -> engine
TENSOR_TYPES: Dict[type, Any] = {}      # Tensor type (and subclasses seen) -> engine
_engines: Dict[str, Any] = {}           # ENGINE name -> engine module


def _pure_python() -> bool:
    return os.environ.get("TAPEGRAD_PURE_PYTHON", "") not in ("", "0")


_DEFAULT = "python" if _pure_python() else "c"     # read once, at import, like tapegrad's
_loaded: Tuple[Any, ...] = ()                       # the registered engines, default first


def default_engine() -> Any:
    """The active engine: the compiled one unless ``TAPEGRAD_PURE_PYTHON=1``."""
    eng = _engines.get(_DEFAULT)
    return eng if eng is not None else engine_named(_DEFAULT)


def engine_named(name: str) -> Any:
    """The engine whose ``ENGINE`` is ``name`` ("c" or "python"), imported on first use."""
    eng = _engines.get(name)
    if eng is None:
        if name not in _MODULES:
            raise ValueError(f"unknown tapegrad engine {name!r}")
        eng = _register(importlib.import_module(_MODULES[name]))
    return eng


def loaded_engines() -> Tuple[Any, ...]:
    """The engines imported so far (the compiled one only once something imported it),
    the default engine first."""
    if len(_loaded) < len(_MODULES):
        for name, modname in _MODULES.items():
            if name not in _engines and modname in sys.modules and \
                    hasattr(sys.modules[modname], "Tensor"):
                _register(sys.modules[modname])
    return _loaded


_grad_fns: Optional[Tuple[Tuple[Any, ...], Any]] = None   # see grad_setters
_partial = True         # an engine module may be imported but unregistered: look again


def grad_setters() -> Tuple[Tuple[Any, ...], Any]:
    """(the loaded engines' ``_set_grad_off`` primitives, (their ``_grad_off``)), the
    default engine's first: what ``autograd.grad_mode`` calls on every ``no_grad()``,
    cached until another engine registers."""
    global _partial
    fns = _grad_fns
    if fns is None or _partial:
        engines = loaded_engines() or (default_engine(),)
        _partial = False        # until another engine module is imported (engine_imported)
        fns = _grad_fns
        if fns is None:
            fns = _set_grad_fns(engines)
    return fns


def _set_grad_fns(engines: Tuple[Any, ...]) -> Tuple[Tuple[Any, ...], Any]:
    global _grad_fns
    _grad_fns = (tuple(e._set_grad_off for e in engines), tuple(e._grad_off for e in engines))
    return _grad_fns


def engine_imported() -> None:
    """Called by an engine module when its import completes: the next grad-mode switch
    registers it, so that ``no_grad()`` reaches it too."""
    global _partial
    _partial = True


def engine_of(*objs: Any) -> Any:
    """The engine of the first tensor or Value among ``objs`` (None if there is none)."""
    for x in objs:
        eng = _by_type.get(type(x))
        if eng is not None:
            return eng
        if x is None or isinstance(x, (int, float, bool, str)):
            continue
        for e in loaded_engines():
            if isinstance(x, (e.Tensor, e.Value)):
                _by_type[type(x)] = e
                return e
    return None


def tensor_engine(x: Any) -> Any:
    """The engine of tensor ``x``, or None when x is no tensor (the layers' fast path is
    ``TENSOR_TYPES.get(type(x))``, which this fills for subclasses)."""
    eng = TENSOR_TYPES.get(type(x))
    if eng is None:
        eng = engine_of(x)
        if eng is None or not isinstance(x, eng.Tensor):
            return None
        TENSOR_TYPES[type(x)] = eng
    return eng


_C = TypeVar("_C")


def bind_class(cls: Type[_C], engine: Any, module: str) -> Type[_C]:
    """``cls`` bound to ``engine``: a cached subclass with ``_engine = engine``,
    ``__module__ = module`` and ``__qualname__ = cls.__name__`` (so pickle finds
    it in ``module`` and ``isinstance(obj, cls)`` holds)."""
    key = "_bound_" + module.replace(".", "_")
    bound: Optional[Type[_C]] = cls.__dict__.get(key)
    if bound is None:
        bound = type(cls.__name__, (cls,), {
            "_engine": engine, "__module__": module, "__qualname__": cls.__name__,
            "__doc__": cls.__doc__})
        setattr(cls, key, bound)
    return bound


def engine_for(cls_or_obj: Any) -> Any:
    """The engine a layer uses to create tensors: its class's ``_engine`` or the default."""
    eng = getattr(cls_or_obj, "_engine", None)
    return default_engine() if eng is None else eng


# ---------------------------------------------------------------------------- registration

def _register(module: Any) -> Any:
    from . import _contract, serialization

    missing = _contract.missing(module)
    if missing:
        raise ImportError(f"{module.__name__} does not fulfil the engine contract "
                          f"(tapegrad._contract.Engine): it lacks {', '.join(missing)}")
    global _loaded, _grad_fns
    _engines[module.ENGINE] = module
    _loaded = tuple(sorted(_engines.values(), key=lambda e: e.ENGINE != _DEFAULT))
    _grad_fns = None
    _by_type[module.Tensor] = module
    TENSOR_TYPES[module.Tensor] = module
    _by_type[module.Value] = module
    serialization._register_engine(module)
    return module
