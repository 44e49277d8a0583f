"""``tapegrad.explain``: the backward pass as the seed notebooks teach it.

One numbered step per edge, from the root to the leaves: the local derivative
d out / d in (with its formula for Values), then upstream gradient x local
gradient = the gradient it sends. The steps are also returned as data.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, TextIO, Tuple

from . import _draw, _graph
from ._draw import preview
from ._graph import GraphData

__all__ = ["Explanation", "Step", "explain"]

EXPLAIN_MAX_NODES = 200


class Step(NamedTuple):
    """One edge of the backward pass: ``gradient = upstream * local``."""
    number: int                 # 1, 2, ... from the root
    output: str                 # the node the gradient comes from (its name)
    input: str                  # the node it goes to
    op: str                     # the output's op (symbol, or grad_fn name)
    local: Any                  # d output / d input (float; tensor, or None where not one)
    formula: Optional[str]      # the local derivative's formula (Values)
    upstream: Any               # d root / d output
    gradient: Any               # what this edge sends: d root / d input along it
    total: Any                  # d root / d input so far (several edges may add up)
    first: bool                 # the first edge reaching input


class Explanation(List[Step]):
    """The steps (a list), their text (``str()``) and the final gradients (``.gradients``,
    name -> d root / d leaf)."""

    def __init__(self, steps: List[Step], root: str, gradients: Dict[str, Any]):
        super().__init__(steps)
        self.root = root
        self.gradients = gradients

    def __str__(self) -> str:
        lines = [_step_text(self.root, s) for s in self]
        if self.gradients:
            done = ", ".join(f"d{self.root}/d{n} = {preview(g)}"
                             for n, g in self.gradients.items())
            lines.append(f"so {done}")
        return "\n".join(lines)


def _step_text(root: str, s: Step) -> str:
    d_local = f"d{s.output}/d{s.input}"
    local = preview(s.local) if s.local is not None else "(not one tensor)"
    if s.formula is not None and s.formula != local:
        local = f"{s.formula} = {local}"
    head = f"step {s.number}: {d_local} = {local}"
    if s.output == root:
        return head
    if s.local is None:
        chain = f"d{root}/d{s.output} · {d_local} = {preview(s.gradient)}"
    else:
        chain = (f"d{root}/d{s.output} × {d_local} = {preview(s.upstream)} × "
                 f"{preview(s.local)} = {preview(s.gradient)}")
    if s.first:
        return f"{head}, so d{root}/d{s.input} = {chain}"
    return f"{head}, so d{root}/d{s.input} += {chain} (now {preview(s.total)})"


def explain(root: Any, params: Optional[Mapping[str, Any]] = None,
            names: Optional[Mapping[str, Any]] = None, *, file: Optional[TextIO] = None,
            quiet: bool = False) -> Explanation:
    """Print the backward pass from root (a Value, or a small Tensor graph) step by
    step and return the steps. params / names label the nodes as in
    :func:`tapegrad.draw`. Nothing is accumulated into ``.grad``: the gradients are
    computed here (from the op table's rules for Values, by the engine's
    vector-Jacobian products for tensors)."""
    data = _draw.read(root, params, names, EXPLAIN_MAX_NODES)
    if data.hidden:
        raise ValueError(f"tapegrad.explain: the graph has more than {EXPLAIN_MAX_NODES} "
                         f"nodes ({len(data.nodes) + data.hidden}); explain is for small "
                         f"graphs, tapegrad.draw(root, max_nodes=...) draws large ones")
    steps = _scalar_steps(data) if data.scalar else _tensor_steps(data)
    totals = {s.input: s.total for s in steps}        # the last step to each input
    leaves = sorted((n for n in data.nodes if not n.parents and n is not data.root),
                    key=lambda n: (n.kind != "param", n.number))
    gradients = {n.name: totals[n.name] for n in leaves if n.name in totals}
    out = Explanation(steps, data.root.name, gradients)
    if not quiet:
        print(out, file=sys.stdout if file is None else file)
    return out


def _edges(data: GraphData) -> Iterator[Tuple[Any, int, Any]]:
    """(child, k, parent) from the root down: children in reverse topological order."""
    for n in reversed(data.nodes):
        for k, p in enumerate(n.parents):
            yield n, k, p


def _scalar_steps(data: GraphData) -> List[Step]:
    grads: Dict[int, float] = {id(data.root): 1.0}
    steps: List[Step] = []
    for n, k, p in _edges(data):
        up = grads[id(n)]
        local = n.local[k]
        sent = up * local
        first = id(p) not in grads
        grads[id(p)] = sent if first else grads[id(p)] + sent
        steps.append(Step(len(steps) + 1, n.name, p.name, n.op, local, n.formula[k], up,
                          sent, grads[id(p)], first))
    return steps


def _tensor_steps(data: GraphData) -> List[Step]:
    root = data.root.obj
    grads: Dict[int, Any] = {id(data.root): _graph.ones_like(root)}
    steps: List[Step] = []
    for n, k, p in _edges(data):
        up = grads.get(id(n))
        sent = None if up is None else _graph.vjp(n.obj, p.obj, up)
        first = id(p) not in grads or grads[id(p)] is None
        if sent is not None:
            grads[id(p)] = sent if first else grads[id(p)] + sent
        elif first:
            grads[id(p)] = None
        steps.append(Step(len(steps) + 1, n.name, p.name, n.op, n.local[k], None, up,
                          sent, grads[id(p)], first))
    return steps
