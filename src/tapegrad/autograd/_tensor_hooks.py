"""``Tensor.register_hook`` for both engines (issue 12 item 2): the checks and the
running of a tensor's hooks, written once. The engines store the hooks and call
``run`` when the tensor's gradient is complete: for a non-leaf before its node's
backward (a retain_grad() .grad sees the hooked gradient, as torch's retains_grad
hook runs last), for a leaf before it is accumulated into ``.grad`` (or returned
by ``autograd.grad``)."""

from __future__ import annotations

import collections
from typing import Any, Callable

from ..utils.hooks import RemovableHandle


def new_hooks() -> "collections.OrderedDict[int, Callable[..., Any]]":
    return collections.OrderedDict()


def add(hooks: "collections.OrderedDict[int, Callable[..., Any]]", tensor: Any,
        hook: Callable[..., Any]) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def refuse_without_grad(tensor: Any) -> None:
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def run(hooks: "collections.OrderedDict[int, Callable[..., Any]]", grad: Any) -> Any:
    """grad through each hook in order; a hook returning a tensor replaces it."""
    for fn in list(hooks.values()):
        out = fn(grad)
        if out is None:
            continue
        if tuple(out.shape) != tuple(grad.shape):
            raise RuntimeError(f"hook '{_name(fn)}' has changed the size of value")
        if out.dtype != grad.dtype:
            raise RuntimeError(f"hook '{_name(fn)}' has changed the type of value (was "
                               f"{grad.dtype} got {out.dtype})")
        grad = out
    return grad
