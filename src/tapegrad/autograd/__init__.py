"""``tapegrad.autograd``: ``Variable``, ``grad`` and ``backward`` for any engine.

Written once: each function finds its engine through the tensors it is given
(``tapegrad._backend.engine_of``) and calls the engine's hooks
``_grad(outputs, inputs, grad_outputs, allow_unused, retain_graph)`` (gradients
returned, nothing accumulated), ``_run_backward(tensors, grad_tensors, inputs,
retain_graph)`` (one sweep from several roots) and ``_free_graph(roots)``; without
retain_graph the swept graph's saved tensors are freed (tapegrad/_freed.py). Grad
mode lives in ``grad_mode``.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

from .. import _backend
from . import _higher, _higher_scalar
from .grad_mode import (
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled)

__all__ = ["Variable", "grad", "backward", "gradcheck", "gradgradcheck", "functional",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "grad_mode", "Function", "function",
           "once_differentiable"]

_Tensors = Union[Any, Sequence[Any]]


def _as_list(x: Any) -> List[Any]:
    return [x] if x is None or not isinstance(x, (list, tuple)) else list(x)


def _engine(tensors: Sequence[Any], what: str) -> Any:
    """The engine of the first tensor (the engine's hook checks the others)."""
    eng = _backend.engine_of(*tensors)
    if eng is None:
        raise TypeError(f"{what}(): expected Tensors, got "
                        f"{', '.join(type(t).__name__ for t in tensors)}")
    return eng


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
    """torch's deprecated Variable: returns the tensor itself, with requires_grad
    set when asked."""
    if _backend.engine_of(data) is None or not hasattr(data, "requires_grad_"):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if requires_grad:
        data.requires_grad_(True)
    return data


def grad(outputs: _Tensors, inputs: _Tensors, grad_outputs: Optional[_Tensors] = None,
         retain_graph: Optional[bool] = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: Optional[bool] = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> Tuple[Any, ...]:
    """d(outputs)/d(inputs) as a tuple of tensors; .grad is left untouched. With
    create_graph=True the gradients are recorded (differentiable again)."""
    if is_grads_batched:
        raise NotImplementedError("tapegrad does not support is_grads_batched=True")
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got "
                           f"{len(grad_outputs)} for {len(outputs)} outputs")
    eng = _engine(outputs + inputs, "grad")
    allow = bool(allow_unused) or materialize_grads
    if any(isinstance(t, eng.Value) for t in outputs + inputs):      # micrograd scalars
        result = _higher_scalar.grad(eng, outputs, inputs, grad_outputs, create_graph, allow)
        if materialize_grads:
            result = tuple(eng.Value(0.0) if g is None else g for g in result)
        return tuple(result)
    if create_graph:
        result = _higher.grad(eng, outputs, inputs, grad_outputs, allow)
        if retain_graph is not None and not retain_graph:
            eng._free_graph(outputs)
    else:
        result = eng._grad(outputs, inputs, grad_outputs, allow, retain_graph=bool(retain_graph))
    if materialize_grads:
        result = tuple(eng.zeros_like(t) if g is None else g for t, g in zip(inputs, result))
    return tuple(result)


def backward(tensors: _Tensors, grad_tensors: Optional[_Tensors] = None,
             retain_graph: Optional[bool] = None, create_graph: bool = False,
             inputs: Optional[_Tensors] = None) -> None:
    """Accumulate the gradients of several roots into the leaves' .grad (with
    create_graph=True: .grad + gradient, recorded)."""
    tensors = _as_list(tensors)
    grads = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
    inputs = None if inputs is None else _as_list(inputs)
    eng = _engine(tensors, "backward")
    if create_graph:
        _higher.backward(eng, tensors, grads, inputs)
        if retain_graph is not None and not retain_graph:
            eng._free_graph(tensors)
    else:
        eng._run_backward(tensors, grads, inputs, retain_graph=bool(retain_graph))


from . import functional as functional  # noqa: E402
from . import function as function  # noqa: E402
from .function import Function as Function, once_differentiable as once_differentiable  # noqa: E402
from .gradcheck import gradcheck as gradcheck, gradgradcheck as gradgradcheck  # noqa: E402
