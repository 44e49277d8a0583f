"""``autograd``: ``Variable``, ``grad`` and ``backward`` for any tapegrad engine.

``build(engine)`` returns the namespace. The engine may provide the hooks
``_grad(outputs, inputs, grad_outputs, allow_unused)`` (gradients returned,
nothing accumulated) and ``_run_backward(tensors, grad_tensors, inputs)`` (one
sweep from several roots); without them ``grad`` runs ``backward`` with the
inputs' ``.grad`` saved and restored around it, and ``backward`` sweeps once
per root.
"""

import types

from ._layers import built_once

__all__ = ["build"]

@built_once
def build(engine):
    """The autograd namespace for ``engine``."""
    return _build(engine)


def _as_list(x):
    return [x] if x is None or not isinstance(x, (list, tuple)) else list(x)


def _build(engine):
    Tensor = engine.Tensor

    def Variable(data, requires_grad=False, volatile=False):
        """torch's deprecated Variable: returns the tensor itself, with
        requires_grad set when asked."""
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad:
            data.requires_grad_(True)
        return data

    def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
             only_inputs=True, allow_unused=None, is_grads_batched=False,
             materialize_grads=False):
        """d(outputs)/d(inputs) as a tuple of tensors; .grad is left untouched."""
        if create_graph:
            raise NotImplementedError("tapegrad does not support create_graph=True "
                                      "(higher-order gradients)")
        if is_grads_batched:
            raise NotImplementedError("tapegrad does not support is_grads_batched=True")
        outputs = _as_list(outputs)
        inputs = _as_list(inputs)
        grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise RuntimeError(f"grad requires one grad_output per output: got "
                               f"{len(grad_outputs)} for {len(outputs)} outputs")
        allow = bool(allow_unused) or materialize_grads
        hook = getattr(engine, "_grad", None)
        if hook is not None:
            result = hook(outputs, inputs, grad_outputs, allow)
        else:
            saved = [t.grad for t in inputs]
            for t in inputs:
                t.grad = None
            try:
                backward(outputs, grad_outputs, inputs=inputs)
                result = tuple(t.grad for t in inputs)
            finally:
                for t, g in zip(inputs, saved):
                    t.grad = g
            if not allow and any(g is None for g in result):
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        if materialize_grads:
            result = tuple(engine.zeros_like(t) if g is None else g
                           for t, g in zip(inputs, result))
        return result

    def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                 inputs=None):
        """Accumulate the gradients of several roots into the leaves' .grad."""
        if create_graph:
            raise NotImplementedError("tapegrad does not support create_graph=True "
                                      "(higher-order gradients)")
        tensors = _as_list(tensors)
        grads = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
        inputs = None if inputs is None else _as_list(inputs)
        hook = getattr(engine, "_run_backward", None)
        if hook is not None:
            return hook(tensors, grads, inputs)
        for t, g in zip(tensors, grads):
            if inputs is None:
                t.backward(g)
            else:
                t.backward(g, inputs=inputs)

    return types.SimpleNamespace(Variable=Variable, grad=grad, backward=backward,
                                 no_grad=engine.no_grad, enable_grad=engine.enable_grad,
                                 set_grad_enabled=engine.set_grad_enabled)
