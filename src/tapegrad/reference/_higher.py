"""The reference engine's hooks for the shared recording sweep (create_graph=True,
tapegrad/autograd/_higher.py): its nodes read back as rows of the op table."""

import numpy as np

from . import _function
from ._rules import OUT, RULES
from ._tensor import Tensor, _wrap
from ._tensor_ops import _check_versions


def _graph_handle(x):
    """x itself (a reference tensor is its own node), or None off the graph."""
    return x if isinstance(x, Tensor) and x._requires_grad else None


def _graph_nodes(roots):
    """The non-leaf nodes the roots depend on, children first: (node, row name,
    parents, operands, result, ctx); operands are the parents, or the values saved
    where a parent needs no gradient."""
    nodes = {}
    stack = [r for r in roots if isinstance(r, Tensor) and r._op is not None]
    for r in stack:
        nodes[r._seq] = r
    while stack:
        n = stack.pop()
        for p in n._parents:
            if p is not None and p._op is not None and p._seq not in nodes:
                nodes[p._seq] = p
                stack.append(p)
    out = []
    for s in sorted(nodes, reverse=True):
        n = nodes[s]
        if n._op in _function.OPS:
            out.append(_function.graph_row(n))
            continue
        if n._checks:
            _check_versions(n)
        operands = list(n._parents)
        for k, arr in zip(RULES[n._op].save, n._saved):
            if k != OUT and operands[k] is None:
                operands[k] = _wrap(np.asarray(arr))
        out.append((n, n._op, tuple(n._parents), tuple(operands), n, n._ctx))
    return out


def _set_graph_grad(x, g):
    """g (with history) becomes x's .grad."""
    x._grad = g
