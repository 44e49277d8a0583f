"""create_graph=True for micrograd-style scalars (``Value``), both engines.

The sweep reads the graph through ``Value._inputs()`` (the op, its operands, its
constant: the graph-reading surface of both engines) and evaluates each op's
generated rule (``_scalar_graph_rules``) with Value arithmetic, so every gradient
is a Value with a history: differentiable again, to any order.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._format import UNUSED_INPUT
from ._scalar_graph_rules import SCALAR_GRAPH_RULES


def _is_value(x: Any) -> bool:
    return type(x).__name__ == "Value" and hasattr(x, "_inputs")


def _topo(roots: List[Any]) -> List[Tuple[Any, Any, tuple, float]]:
    """(node, op, operands, c) of every non-leaf node the roots depend on, children
    first (iterative post-order, then reversed)."""
    order: List[Tuple[Any, Any, tuple, float]] = []
    seen: Dict[int, Any] = {}
    keep: List[Any] = []              # handles stay alive, so their ids stay unique
    for root in roots:
        if id(root) in seen:
            continue
        stack: List[Tuple[Any, Optional[tuple]]] = [(root, None)]
        while stack:
            node, info = stack.pop()
            if info is not None:
                order.append((node,) + info)
                continue
            if id(node) in seen:
                continue
            seen[id(node)] = node
            keep.append(node)
            op, operands, c = node._inputs()
            if op.arity == 0:
                continue
            stack.append((node, (op, operands, c)))
            for p in operands:
                if _is_value(p) and id(p) not in seen:
                    stack.append((p, None))
    order.reverse()
    return order


def _node_grads(op: Any, g: Any, node: Any, operands: tuple, c: float) -> List[Any]:
    """The gradient of each operand of one node (None for constant operands)."""
    if op.name == "sum":
        return [g if _is_value(p) else None for p in operands]
    if op.name == "dot":       # operands x0, w0, x1, w1, ...
        out = []
        for k, p in enumerate(operands):
            partner = operands[k ^ 1]
            out.append(g * partner if _is_value(p) else None)
        return out
    x = operands[0]
    y = operands[1] if len(operands) > 1 else None
    gx, gy = SCALAR_GRAPH_RULES[op.name](g, x, y, c, node)
    return [gx] if y is None else [gx, gy]


def sweep(roots: List[Any], seeds: List[Any]) -> Dict[int, Tuple[Any, Any]]:
    """{id(node): (node, gradient)} for every node reached (leaves included)."""
    pending: Dict[int, Any] = {}
    handles: Dict[int, Any] = {}
    for r, s in zip(roots, seeds):
        handles[id(r)] = r
        pending[id(r)] = pending[id(r)] + s if id(r) in pending else s
    done: Dict[int, Tuple[Any, Any]] = {}
    for node, op, operands, c in _topo(roots):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        done[id(node)] = (node, g)
        for p, gp in zip(operands, _node_grads(op, g, node, operands, c)):
            if gp is None or not _is_value(p):
                continue
            handles[id(p)] = p
            pending[id(p)] = pending[id(p)] + gp if id(p) in pending else gp
    for key, g in pending.items():
        done[key] = (handles[key], g)
    return done


def grad(eng: Any, outputs: List[Any], inputs: List[Any], grad_outputs: List[Any],
         create_graph: bool, allow_unused: bool) -> Tuple[Any, ...]:
    """autograd.grad for Values: a Value per input (with history when create_graph)."""
    seeds = [1.0 if s is None else s for s in grad_outputs]
    found = sweep(outputs, seeds)
    result: List[Any] = []
    for x in inputs:
        entry = found.get(id(x))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(UNUSED_INPUT)
            result.append(None)
            continue
        g = entry[1]
        if not _is_value(g):
            g = eng.Value(float(g))
        elif not create_graph:
            g = eng.Value(g.data)
        result.append(g)
    return tuple(result)


def backward(eng: Any, root: Any) -> Dict[int, Tuple[Any, Any]]:
    """root.backward(create_graph=True): {id(leaf): (leaf, its gradient Value)}; the
    engine adds the numbers to the leaves' .grad and hands the Values out."""
    found = sweep([root], [1.0])
    out = {}
    for key, (node, g) in found.items():
        if node._inputs()[0].arity == 0:
            out[key] = (node, g if _is_value(g) else eng.Value(float(g)))
    return out
