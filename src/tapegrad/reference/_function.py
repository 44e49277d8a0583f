"""Custom autograd.Function calls on the reference engine (the hooks of
tapegrad/autograd/function.py): a call is one node, ``_op == "_function"``, whose
parents are the inputs and whose ``_ctx`` is the Function's ctx; each
differentiable output is a node ``"_function_output"`` with the call as its only
parent and ``(ctx, k)`` as its ``_ctx``. The sweep (``_tensor_ops._sweep``) hands
each output's gradient to its call, then calls ctx's backward once."""

import weakref

import numpy as np

from ..autograd import _tensor_hooks as _th

from ._tensor import Tensor, _next_seq, _wrap
from ._value import _local as _tapes

CALL = "_function"
OUTPUT = "_function_output"
OPS = (CALL, OUTPUT)


def _function_refuse_replay(name):
    """A custom Function inside a function being recorded for replay is refused."""
    from ._replay import _running
    if getattr(_running, "depth", 0):
        raise RuntimeError(
            f"the custom autograd.Function {name} cannot be recorded for replay "
            "(tapegrad.compile / record): its forward and backward are Python, which a "
            "replayed program does not re-run. Call it outside the compiled function, or "
            "run this step eagerly.")


def _tensor_version(x):
    """x's version counter (bumped by each in-place change of its memory)."""
    return x._vbox[0]


def _node(op, parents, ctx, layout, data):
    t = _wrap(data)
    t._requires_grad = True
    t._op = op
    t._parents = tuple(parents)
    t._layouts = (layout,) + tuple(None if p is None else (p._data.shape, p._data.dtype)
                                   for p in t._parents)
    t._ctx = ctx
    t._seq = _next_seq()
    t._tape = _tapes.tape
    return t


_NODE_SLOTS = ("_data", "_requires_grad", "_grad", "_op", "_parents", "_saved", "_ctx",
               "_checks", "_seq", "_tape", "_vbox", "_base", "_retains_grad", "_layouts")


def _snapshot(x):
    """A node object standing for x's history before a mark_dirty call rebases x."""
    old = object.__new__(Tensor)
    for slot in _NODE_SLOTS:
        setattr(old, slot, getattr(x, slot))
    old._retains_grad = False
    return old


def _function_record(ctx, inputs, outputs, dirty):
    """The call node over ``inputs`` (Tensors or None) and one output node per
    tensor of ``outputs`` (sharing its memory; a dirty one is rebased in place)."""
    for x in inputs:
        if x is not None and not isinstance(x, Tensor):
            raise TypeError(f"expected a Tensor, not '{type(x).__name__}'")
    inputs = [_snapshot(x) if x is not None and any(d and x is o for d, o in
                                                     zip(dirty, outputs)) else x
              for x in inputs]
    call = _node(CALL, inputs, ctx, ((), np.float64), np.zeros(()))
    result = []
    for k, x in enumerate(outputs):
        node = _node(OUTPUT, (call,), (ctx, k), (x._data.shape, x._data.dtype), x._data)
        node._vbox = x._vbox
        node._base = x._base
        if dirty[k]:                      # mark_dirty: x itself becomes the output
            for slot in ("_requires_grad", "_op", "_parents", "_layouts", "_ctx", "_seq",
                         "_tape"):
                setattr(x, slot, getattr(node, slot))
            node = x
        result.append(node)
    return result


def sweep_step(n, g, pending):
    """The sweep's step for a call or output node n with gradient g: None for an
    output (its gradient waits in its call's pending entry), else the gradient
    arrays for the call's parents."""
    if n._op == OUTPUT:
        ctx, k = n._ctx
        call = n._parents[0]
        pending.setdefault(call._seq, {})[k] = g
        return None
    ctx = n._ctx
    grads = [None] * len(ctx._slot_layouts)
    for k, a in g.items():
        grads[k] = _wrap(np.array(a, copy=True))
    out = ctx._engine_backward(grads)
    return [None if r is None else r._data for r in out]


def _function_ctx(t):
    """grad_fn of a call or output node: the ctx."""
    return t._ctx if t._op == CALL else t._ctx[0]


def graph_row(n):
    """The node as the shared recording sweep reads it."""
    return (n, n._op, tuple(n._parents), tuple(n._parents), n, n._ctx)




# ----------------------------------------------------------------------------
# Tensor.register_hook (the running of hooks: tapegrad/autograd/_tensor_hooks.py)

HOOKS: dict = {}    # id(tensor) -> (weak reference to it, its hooks)


def _register_hook(self, hook):
    """hook(grad) -> None or a replacement, when this tensor's gradient is computed."""
    _th.refuse_without_grad(self)
    entry = HOOKS.get(id(self))
    if entry is None or entry[0]() is not self:
        key = id(self)
        entry = HOOKS[key] = (weakref.ref(self, lambda _r, k=key: HOOKS.pop(k, None)),
                              _th.new_hooks())
    return _th.add(entry[1], self, hook)


def hooked(t, g):
    """The gradient array g of tensor t through t's hooks."""
    entry = HOOKS.get(id(t))
    if entry is None or entry[0]() is not t or not entry[1]:
        return g
    out = _th.run(entry[1], _wrap(g))
    return out._data


Tensor.register_hook = _register_hook  # type: ignore[attr-defined]
