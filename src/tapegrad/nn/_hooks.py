"""Module hooks, written once for both engines (issue 12 item 2):
``register_forward_pre_hook``, ``register_forward_hook`` and
``register_full_backward_hook`` in their common forms, with torch's order.

A module with no hook is called straight through (``Module.__call__`` tests one
dict entry). The full backward hook works as torch's ``BackwardHook``: the
inputs and the outputs pass through an identity ``autograd.Function``
(``BackwardHookFunctionBackward``); the outputs' one captures grad_output, the
inputs' one calls the hooks with grad_input (which they may replace). When no
input requires grad, the hooks fire from the outputs' node with grad_input
``(None, ...)`` and torch's warning.
"""

from __future__ import annotations

import collections
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

from .. import _backend
from ..autograd.function import Function
from ..utils.hooks import RemovableHandle

def _hooks(module: Any, kind: str) -> "collections.OrderedDict[int, Any]":
    d = module.__dict__.get("_tg_hooks")
    if d is None:
        d = {"pre": collections.OrderedDict(), "fwd": collections.OrderedDict(),
             "bwd": collections.OrderedDict()}
        object.__setattr__(module, "_tg_hooks", d)
    return d[kind]


def _register(module: Any, kind: str, hook: Callable[..., Any], prepend: bool) -> RemovableHandle:
    hooks = _hooks(module, kind)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_forward_pre_hook(self: Any, hook: Callable[..., Any], *,
                              prepend: bool = False) -> RemovableHandle:
    """hook(module, args) -> None or new args (a single value becomes a 1-tuple)."""
    return _register(self, "pre", hook, prepend)


def register_forward_hook(self: Any, hook: Callable[..., Any], *,
                          prepend: bool = False) -> RemovableHandle:
    """hook(module, args, output) -> None or a new output."""
    return _register(self, "fwd", hook, prepend)


def register_full_backward_hook(self: Any, hook: Callable[..., Any],
                                prepend: bool = False) -> RemovableHandle:
    """hook(module, grad_input, grad_output) -> None or new grad_input."""
    return _register(self, "bwd", hook, prepend)


def _is_tensor(x: Any) -> bool:
    return _backend.engine_of(x) is not None and hasattr(x, "requires_grad_")


class BackwardHookFunction(Function):
    """Identity on its tensors; its backward is where the module's hooks run."""

    @staticmethod
    def forward(ctx: Any, state: Any, *tensors: Any) -> Any:
        ctx.state = state
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        out = tuple(t.detach() for t in tensors)
        return out

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        return (None,) + tuple(ctx.state(grads))


class _BackwardHook:
    """One call's state: the outputs' gradients, then the hooks on the inputs'."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.grad_output: Optional[Tuple[Any, ...]] = None
        self.n_inputs = 0
        self.inputs_hooked = False

    def _run(self, grad_input: Tuple[Any, ...]) -> Tuple[Any, ...]:
        for hook in list(_hooks(self.module, "bwd").values()):
            out = hook(self.module, grad_input, self.grad_output)
            if out is not None:
                out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
                if len(out) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(grad_input)}")
                grad_input = out
        return grad_input

    def on_outputs(self, grads: Tuple[Any, ...]) -> Tuple[Any, ...]:
        self.grad_output = grads
        if not self.inputs_hooked:
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          UserWarning, stacklevel=2)
            self._run((None,) * self.n_inputs)
        return grads

    def on_inputs(self, grads: Tuple[Any, ...]) -> Tuple[Any, ...]:
        return self._run(grads)


def _through(state: Callable[..., Any], values: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """values with their tensors passed through one BackwardHookFunction node."""
    idx = [k for k, v in enumerate(values) if _is_tensor(v)]
    if not any(values[k].requires_grad for k in idx):
        return values
    out = BackwardHookFunction.apply(state, *[values[k] for k in idx])
    result = list(values)
    for k, o in zip(idx, out):
        result[k] = o
    return tuple(result)


def call_with_hooks(module: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """Module.__call__ when some hook is registered: torch's order (pre-hooks,
    forward, forward hooks, then the backward hook's identity on the output)."""
    hooks = module.__dict__["_tg_hooks"]
    for hook in list(hooks["pre"].values()):
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    bw = _BackwardHook(module) if hooks["bwd"] else None
    if bw is not None:
        bw.n_inputs = sum(1 for a in args if _is_tensor(a))
        hooked = _through(bw.on_inputs, args)
        bw.inputs_hooked = hooked is not args
        args = hooked
    output = module.forward(*args, **kwargs)
    for hook in list(hooks["fwd"].values()):
        result = hook(module, args, output)
        if result is not None:
            output = result
    if bw is not None:
        if isinstance(output, tuple):
            output = _through(bw.on_outputs, output)
        else:
            output = _through(bw.on_outputs, (output,))[0]
    return output


def install(module_cls: type) -> None:
    """Give Module the register methods."""
    module_cls.register_forward_pre_hook = register_forward_pre_hook  # type: ignore[attr-defined]
    module_cls.register_forward_hook = register_forward_hook  # type: ignore[attr-defined]
    module_cls.register_full_backward_hook = register_full_backward_hook  # type: ignore[attr-defined]
