"""The reference engine's hooks for the shared recording sweep (create_graph=True,
tapegrad/autograd/_higher.py): its nodes read back as rows of the op table."""

import numpy as np

from .._freed import FreedSaved
from .._grad_fn_names import HOLDS_SAVED
from . import _function
from ._rules import OUT, RULES
from ._tensor import Tensor, _wrap
from ._tensor_ops import _check_versions


def _graph_handle(x):
    """x itself (a reference tensor is its own node), or None off the graph."""
    return x if isinstance(x, Tensor) and x._requires_grad else None


def _graph_roots_nodes(roots):
    """{seq: node} of the non-leaf nodes the roots depend on."""
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
    return nodes


def _free_graph(roots):
    """Free the saved tensors of the roots' graphs (create_graph=True with
    retain_graph=False; tapegrad/_freed.py)."""
    for n in _graph_roots_nodes(roots).values():
        if n._op in HOLDS_SAVED and type(n._saved) is not FreedSaved:
            n._saved = FreedSaved(n._saved)


def _thaw_graph(roots):
    """Unfreeze the roots' graphs for an inspection sweep (tapegrad._freed.thawed);
    returns what _refreeze_graph freezes again."""
    thawed = [n for n in _graph_roots_nodes(roots).values() if type(n._saved) is FreedSaved]
    for n in thawed:
        n._saved = tuple(n._saved)
    return thawed


def _refreeze_graph(token):
    for n in token:
        n._saved = FreedSaved(n._saved)


def _graph_nodes(roots):
    """The non-leaf nodes the roots depend on, children first: (node, row name,
    parents, operands, result, ctx); operands are the parents, or the values saved
    where a parent needs no gradient."""
    nodes = _graph_roots_nodes(roots)
    out = []
    for s in sorted(nodes, reverse=True):
        n = nodes[s]
        if type(n._saved) is FreedSaved:    # freed by a sweep without retain_graph
            out.append((n, "_freed", tuple(n._parents), tuple(n._parents), n, None))
            continue
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
