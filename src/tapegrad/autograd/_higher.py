"""The recording sweep: ``create_graph=True`` for both engines, written once.

The first-order sweep stays each engine's own fast loop. With ``create_graph=True``
this sweep walks the graph's nodes children first (the engine hook
``_graph_nodes(roots)`` reads them back as rows of the op table) and evaluates each
row's generated graph rule (``_graph_rules.GRAPH_RULES``) with the engine's own
differentiable ops, under grad mode. The gradients it returns are ordinary tensors
of the same graph: they can be differentiated again, to any order, and a replayed
step (``tapegrad.compile``) records their nodes like any other op.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._format import UNUSED_INPUT
from .._freed import raise_freed
from . import _graph_helpers, function as _function
from ._graph_rules import GRAPH_RULES, OUT
from .grad_mode import enable_grad


def _seed(eng: Any, root: Any, g: Any, k: int) -> Any:
    if g is None:
        if root.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return eng.ones_like(root)
    if tuple(g.shape) != tuple(root.shape):
        raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of {g.shape} "
                           f"and output[{k}] has a shape of {root.shape}.")
    return g if g.dtype == root.dtype else g.to(root.dtype)


def _apply(name: str, g: Any, parents: Sequence[Any], operands: Sequence[Any], result: Any,
           ctx: Any) -> Tuple[Any, ...]:
    """One node's gradients for its parents, recorded (None where no parent)."""
    if name == "_freed":        # swept before without retain_graph (tapegrad/_freed.py)
        raise_freed()
    if name == "_gather":       # the compiled engine's strided read (transpose, slice, ...)
        in_sizes, offset, strides = ctx
        return (_graph_helpers.gather_backward(g, in_sizes, offset, strides),)
    try:
        rule, save = GRAPH_RULES[name]
    except KeyError:
        raise NotImplementedError(f"create_graph=True: the op {name!r} has no derivative "
                                  "in the op table") from None
    saved = tuple(result if s == OUT else operands[s] for s in save)
    grads = rule(g, saved, ctx, list(parents) + [None] * (len(operands) - len(parents)))
    if name in _RECORDS_ITS_MASK and not grads[0].requires_grad and saved[0].requires_grad:
        grads = (grads[0] + _graph_helpers.zero_link(saved[0], grads[0]),) + grads[1:]
    return grads


# Rows whose torch backward is a recorded op of the saved tensor it masks with
# (relu: threshold_backward(grad, result)), so the gradient has a history whose own
# derivative is 0; the table writes them with where(), which records nothing.
_RECORDS_ITS_MASK = {"relu"}


def _fit(gp: Any, parent: Any) -> Any:
    """A parent's gradient in its shape and dtype (the engines' cast after a rule)."""
    if gp.shape != parent.shape:
        gp = _graph_helpers.sum_to(gp, parent)
    if gp.dtype != parent.dtype:
        gp = gp.to(parent.dtype)
    return gp


# True: every engine runs the Python sweep below (the oracle of the compiled engine's
# own walk, _engine._record_sweep; tests compare the two)
USE_PYTHON_SWEEP = [False]


def sweep(eng: Any, roots: List[Any], seeds: List[Any],
          inputs: Optional[List[Any]]) -> Dict[int, Tuple[Any, Any]]:
    """{id(handle): (handle, gradient)} for the leaves (inputs None) or for the inputs
    given, every gradient recorded on the graph. An engine with its own walk
    (``_record_sweep``, same contract) runs it."""
    fast = getattr(eng, "_record_sweep", None)
    if fast is not None and not USE_PYTHON_SWEEP[0]:
        with enable_grad():
            found = fast(list(roots), list(seeds), inputs)
        if found is not None:
            return found
    return python_sweep(eng, roots, seeds, inputs)


def python_sweep(eng: Any, roots: List[Any], seeds: List[Any],
                 inputs: Optional[List[Any]]) -> Dict[int, Tuple[Any, Any]]:
    """The sweep over the engine's ``_graph_nodes``, written once for both engines."""
    pending: Dict[int, Any] = {}
    handles: Dict[int, Any] = {}
    wanted = None if inputs is None else {id(eng._graph_handle(t)) for t in inputs}
    with enable_grad():
        for k, (r, g) in enumerate(zip(roots, seeds)):
            h = eng._graph_handle(r)
            if h is None:
                raise RuntimeError(f"element {k} of tensors does not require grad and does "
                                   "not have a grad_fn")
            g = _seed(eng, r, g, k)
            handles[id(h)] = h
            pending[id(h)] = pending[id(h)] + g if id(h) in pending else g
        nodes = eng._graph_nodes(list(roots))
        needed = _on_paths(nodes, wanted)
        done: Dict[int, Any] = {}
        for h, name, parents, operands, result, ctx in nodes:
            g = pending.pop(id(h), None)
            if g is None:
                continue
            if wanted is not None and id(h) in wanted:
                done[id(h)] = g
            if id(h) not in needed:
                continue
            if wanted is not None:      # no gradient for a parent no input is under
                parents = tuple(p if p is not None and (id(p) in wanted or id(p) in needed)
                                else None for p in parents)
            if name in _function.GRAPH_ROWS:     # a custom Function's output or call
                _function.graph_step(name, h, g, parents, ctx, pending, handles)
                continue
            grads = _apply(name, g, parents, operands, result, ctx)
            for p, gp in zip(parents, grads):
                if p is None or gp is None:
                    continue
                gp = _fit(gp, p)
                handles[id(p)] = p
                pending[id(p)] = pending[id(p)] + gp if id(p) in pending else gp
    for key, g in pending.items():       # leaves (and roots that are leaves)
        done.setdefault(key, g)
    return {key: (handles[key], g) for key, g in done.items()
            if wanted is None or key in wanted}


def _on_paths(nodes: Sequence[Tuple[Any, ...]], wanted: Optional[set]) -> set:
    """ids of the nodes an input is reachable from (every node when inputs is None)."""
    if wanted is None:
        return {id(n[0]) for n in nodes}
    leads: set = set()
    for h, _name, parents, *_ in reversed(nodes):        # parents first
        if any(p is not None and (id(p) in wanted or id(p) in leads) for p in parents):
            leads.add(id(h))
    return leads


def grad(eng: Any, outputs: List[Any], inputs: List[Any], grad_outputs: List[Any],
         allow_unused: bool) -> Tuple[Any, ...]:
    """autograd.grad(..., create_graph=True)."""
    for t in inputs:
        if _graph_helpers._backend.engine_of(t) is not eng:
            raise TypeError(f"grad(): inputs must be Tensors, not '{type(t).__name__}'")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    found = sweep(eng, outputs, grad_outputs, inputs)
    result: List[Any] = []
    for t in inputs:
        entry = found.get(id(eng._graph_handle(t)))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(UNUSED_INPUT)
            result.append(None)
        else:
            result.append(entry[1])
    return tuple(result)


def backward(eng: Any, tensors: List[Any], grad_tensors: List[Any],
             inputs: Optional[List[Any]]) -> None:
    """backward(create_graph=True): each leaf's (or input's) .grad becomes
    ``.grad + gradient``, a tensor with history (torch accumulates out of place)."""
    found = sweep(eng, tensors, grad_tensors, inputs)
    for h, g in found.values():
        if inputs is None and not h.is_leaf:
            continue
        old = h.grad
        eng._set_graph_grad(h, g if old is None else old + g)
