"""``nn.Parameter``: one class for both engines.

``Parameter`` itself is engine-neutral. ``Parameter(data)`` returns an
instance of a concrete subclass ``(Parameter, engine.Tensor)`` for the engine
of ``data`` (created once per engine and cached), so both
``isinstance(p, tapegrad.nn.Parameter)`` and ``isinstance(p, engine.Tensor)``
hold. A parameter pickles as ``Parameter(data, requires_grad)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from .. import _backend

if TYPE_CHECKING:
    # For mypy a Parameter is a Tensor (it is one at run time: see _concrete_class);
    # the compiled engine's stub stands for both engines' Tensor.
    from .._engine import Tensor as _StaticTensor
else:
    _StaticTensor = object

__all__ = ["Parameter"]

_concrete: Dict[Tuple[type, str], type] = {}


def _concrete_class(cls: type, engine: Any) -> type:
    """cls joined with engine.Tensor (cls itself when it already is a Tensor subclass)."""
    if issubclass(cls, engine.Tensor):
        return cls
    key = (cls, engine.ENGINE)
    concrete = _concrete.get(key)
    if concrete is None:
        concrete = type(cls.__name__, (cls, engine.Tensor), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__, "_abstract": cls})
        _concrete[key] = concrete
    return concrete


class Parameter(_StaticTensor):
    """A Tensor that a Module registers as a parameter: a leaf requiring grad
    (by default) that shares memory with ``data``."""

    _is_parameter = True
    _abstract: type          # the user-visible class of a concrete (per-engine) subclass

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Any:
        if data is None:
            data = _backend.engine_for(cls).empty(0)
        eng = _backend.engine_of(data)
        if eng is None or not isinstance(data, eng.Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, not "
                            f"'{type(data).__name__}'")
        return eng.Tensor._make_subclass(_concrete_class(cls, eng), data.detach(),
                                         requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        cls = type(self)
        return (cls.__dict__.get("_abstract", cls),
                (self.data, self.requires_grad))
