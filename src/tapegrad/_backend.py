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
without it. Where an engine lacks a private hook of the contract, the
composed fallback below stands in for it (the only place that knows about
missing hooks): :data:`MISSING_HOOKS` lists them per engine.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any, Dict, Optional, Tuple, Type, TypeVar

__all__ = ["engine_of", "default_engine", "engine_named", "bind_class", "MISSING_HOOKS"]

_MODULES = {"c": "tapegrad._engine", "python": "tapegrad.reference"}
_by_type: Dict[type, Any] = {}          # Tensor / Value type (and subclasses seen) -> engine
TENSOR_TYPES: Dict[type, Any] = {}      # Tensor type (and subclasses seen) -> engine
_engines: Dict[str, Any] = {}           # ENGINE name -> engine (module or completed adapter)
MISSING_HOOKS: Dict[str, Tuple[str, ...]] = {}


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

    missing = tuple(h for h in _contract.FALLBACK_HOOKS if not hasattr(module, h))
    eng = _Completed(module, missing) if missing else module
    global _loaded, _grad_fns
    MISSING_HOOKS[module.ENGINE] = missing
    _engines[module.ENGINE] = eng
    _loaded = tuple(sorted(_engines.values(), key=lambda e: e.ENGINE != _DEFAULT))
    _grad_fns = None
    _by_type[module.Tensor] = eng
    TENSOR_TYPES[module.Tensor] = eng
    _by_type[module.Value] = eng
    serialization._register_engine(module)
    return eng


class _Completed(types.ModuleType):
    """An engine module with composed fallbacks for the hooks it lacks: every
    other attribute is the module's own."""

    def __init__(self, module: Any, missing: Tuple[str, ...]) -> None:
        super().__init__(module.__name__, module.__doc__)
        # the module's names copied in: attribute access stays a dict lookup (the hot
        # path of every layer call); __getattr__ serves names the module gains later
        self.__dict__.update({k: v for k, v in vars(module).items()
                              if not k.startswith("__")})
        self._module = module
        for name in missing:
            setattr(self, name, types.MethodType(_FALLBACKS[name], self))  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def __repr__(self) -> str:
        return f"<engine {self._module.__name__} with fallbacks for {', '.join(self._missing)}>"

    @property
    def _missing(self) -> Tuple[str, ...]:
        return MISSING_HOOKS[self._module.ENGINE]


def _reduce(loss: Any, reduction: str) -> Any:
    from .nn._reduction import reduce_loss
    return reduce_loss(loss, reduction)


def _addmm(engine: Any, bias: Any, mat1: Any, mat2: Any) -> Any:
    """bias + mat1 @ mat2 composed (AddBackward0 instead of AddmmBackward0)."""
    return mat1.matmul(mat2) + bias


def _binary_cross_entropy(engine: Any, input: Any, target: Any, weight: Any,
                          reduction: str) -> Any:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100, composed."""
    loss = -(target * input.log().clamp(min=-100)
             + (1 - target) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _run_backward(engine: Any, tensors: list, grad_tensors: list,
                  inputs: Optional[list]) -> None:
    """One sweep per root (the hook does one sweep from all roots)."""
    for t, g in zip(tensors, grad_tensors):
        if inputs is None:
            t.backward(g)
        else:
            t.backward(g, inputs=inputs)


def _grad(engine: Any, outputs: list, inputs: list, grad_outputs: list,
          allow_unused: bool) -> tuple:
    """backward() with the inputs' .grad saved and restored around it."""
    saved = [t.grad for t in inputs]
    for t in inputs:
        t.grad = None
    try:
        engine._run_backward(outputs, grad_outputs, inputs)
        result = tuple(t.grad for t in inputs)
    finally:
        for t, g in zip(inputs, saved):
            t.grad = g
    if not allow_unused and any(g is None for g in result):
        raise RuntimeError("One of the differentiated Tensors appears to not have been "
                           "used in the graph. Set allow_unused=True if this is the "
                           "desired behavior.")
    return result


def _set_grad_off(engine: Any, off: int) -> int:
    """Through the engine's own set_grad_enabled (whose depth is 0 or 1)."""
    return engine._module.set_grad_enabled(not off)._prev


def _grad_off(engine: Any) -> int:
    return 0 if engine._module.is_grad_enabled() else 1


_FALLBACKS: Dict[str, Any] = {"_addmm": _addmm, "_binary_cross_entropy": _binary_cross_entropy,
              "_run_backward": _run_backward, "_grad": _grad,
              "_set_grad_off": _set_grad_off, "_grad_off": _grad_off}
