"""``tapegrad.draw``: a picture of the graph under a Value or a Tensor.

``draw(root)`` returns a :class:`Graph`: its DOT text (``.source``, no
dependency), and through the optional ``draw`` extra (the ``graphviz`` Python
package and the Graphviz programs) ``.render(path)`` to SVG, PNG or PDF and
inline display in Jupyter. Nodes show the op (micrograd's symbol for Values,
torch's grad_fn name for tensors), data and grad; edges show the local
derivative d out / d in. Drawing records nothing and changes no gradient.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional

from . import _graph
from ._graph import GraphData, Node, number

__all__ = ["Graph", "draw"]

FORMATS = ("svg", "png", "pdf")
RANKDIRS = ("LR", "TB")
_MISSING = ('tapegrad.draw: rendering needs the optional "draw" extra and Graphviz: '
            'pip install "tapegrad[draw]" (the graphviz Python package) and the system '
            "package graphviz (apt-get install graphviz, brew install graphviz, ...). "
            "Graph.source holds the DOT text without them.")
_FILL = {"root": "#f9d3cf", "param": "#cdeccd", "leaf": "#d6e4f5", "op": "#f1f1f1"}
_PREVIEW = 6    # tensor elements shown


class Graph:
    """A drawn graph: ``.source`` (DOT), ``.render(path)``, and inline display in
    Jupyter (``_repr_svg_`` / ``_repr_mimebundle_``)."""

    def __init__(self, source: str, nodes: int, hidden: int):
        self.source = source
        self.nodes = nodes          # nodes drawn
        self.hidden = hidden        # nodes collapsed into the note

    def __repr__(self) -> str:
        more = f", {self.hidden} more collapsed" if self.hidden else ""
        return f"<tapegrad.Graph: {self.nodes} nodes{more}>"

    def __str__(self) -> str:
        return self.source

    def pipe(self, format: str = "svg") -> bytes:
        """The picture as bytes in format ("svg", "png" or "pdf")."""
        if format not in FORMATS:
            raise ValueError(f"tapegrad.Graph: format must be one of {FORMATS}, "
                             f"not {format!r}")
        try:
            import graphviz
        except ImportError as exc:
            raise ImportError(_MISSING) from exc
        try:
            return graphviz.Source(self.source).pipe(format=format)
        except graphviz.ExecutableNotFound as exc:
            raise RuntimeError(_MISSING) from exc

    def render(self, path: "str | os.PathLike[str]", format: Optional[str] = None) -> str:
        """Write the picture to path; format defaults to path's suffix (else svg).
        Returns the path."""
        path = os.fspath(path)
        if format is None:
            suffix = os.path.splitext(path)[1].lstrip(".").lower()
            format = suffix if suffix in FORMATS else "svg"
        data = self.pipe(format)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self) -> Optional[str]:
        try:
            return self.pipe("svg").decode("utf-8")
        except (ImportError, RuntimeError):
            return None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Dict[str, str]:
        bundle = {"text/plain": repr(self)}
        svg = self._repr_svg_()
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle


def draw(root: Any, params: Optional[Mapping[str, Any]] = None,
         names: Optional[Mapping[str, Any]] = None, *, grads: bool = True,
         local_grads: bool = True, rankdir: str = "LR", max_nodes: int = 200) -> Graph:
    """The graph under root (a Value or a Tensor, of either engine) as a :class:`Graph`.

    params: ``{name: value}`` -- labelled and marked as parameters (torchviz's
    ``params=``); names: ``{name: value}`` -- labelled only. grads / local_grads: show
    the gradients and the local derivatives on the edges. rankdir: "LR" or "TB".
    max_nodes: the nodes drawn, breadth first from the root; the rest collapse into one
    note saying how many.
    """
    data = read(root, params, names, max_nodes, local_grads)
    if rankdir not in RANKDIRS:
        raise ValueError(f"tapegrad.draw: rankdir must be one of {RANKDIRS}, not {rankdir!r}")
    return Graph(dot(data, grads, local_grads, rankdir), len(data.nodes), data.hidden)


def read(root: Any, params: Optional[Mapping[str, Any]], names: Optional[Mapping[str, Any]],
         max_nodes: int, local_grads: bool = True) -> GraphData:
    """The checked arguments' graph (shared with explain)."""
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"tapegrad.draw: max_nodes must be a positive int, not {max_nodes!r}")
    return _graph.read(root, min(max_nodes, _graph.COUNT_CAP - 1), _ids(names, "names"),
                       _ids(params, "params"), local_grads)


def _ids(labels: Optional[Mapping[str, Any]], what: str) -> Dict[int, str]:
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise TypeError(f"tapegrad.draw: {what} must be a dict {{name: value}}, "
                        f"not {type(labels).__name__}")
    return {id(v): str(k) for k, v in labels.items()}


# ---------------------------------------------------------------------------- DOT

def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def preview(x: Any) -> str:
    """A float in full, a tensor's first elements."""
    if x is None:
        return "?"
    if isinstance(x, (int, float)):
        return number(float(x))
    a = x.detach().numpy() if hasattr(x, "detach") else x
    if a.ndim == 0:
        return number(float(a))
    flat = a.reshape(-1)
    items = ", ".join(number(float(v)) for v in flat[:_PREVIEW])
    return f"[{items}{', …' if flat.size > _PREVIEW else ''}]"


def _node_lines(n: Node, scalar: bool, grads: bool) -> List[str]:
    tag = {"root": " (root)", "param": " (param)", "leaf": " (leaf)", "op": ""}[n.kind]
    lines = [n.name + tag]
    if n.op:
        lines.append(f"op {n.op}" if scalar else n.op)
    if not scalar:
        t = n.obj
        lines.append(f"shape {tuple(t.shape)} {str(t.dtype).replace('tapegrad.', '')}")
    lines.append(f"data {preview(n.obj.data if scalar else n.obj)}")
    if grads and n.grad is not None:
        lines.append(f"grad {preview(n.grad)}")
    return lines


def _edge_label(n: Node, k: int) -> Optional[str]:
    local = n.local[k] if k < len(n.local) else None
    if local is None:
        return None
    value = preview(local)
    text = n.formula[k] if k < len(n.formula) else None
    d = f"∂{n.name}/∂{n.parents[k].name} = "
    return d + (value if text is None or text == value else f"{text} = {value}")


def dot(data: GraphData, grads: bool, local_grads: bool, rankdir: str) -> str:
    """The DOT text of a read graph."""
    out = ["digraph tapegrad {",
           f"  graph [rankdir={rankdir}];",
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=10];']
    for n in data.nodes:
        attrs = f"label={_quote(chr(10).join(_node_lines(n, data.scalar, grads)))}, " \
                f'fillcolor="{_FILL[n.kind]}"'
        if n.kind == "root":
            attrs += ", peripheries=2"
        out.append(f"  n{n.number} [{attrs}];")
    for n in data.nodes:
        for k, p in enumerate(n.parents):
            label = _edge_label(n, k) if local_grads else None
            attr = f" [label={_quote(label)}]" if label is not None else ""
            out.append(f"  n{p.number} -> n{n.number}{attr};")
    if data.hidden:
        at_least = "at least " if data.hidden + len(data.nodes) >= _graph.COUNT_CAP else ""
        note = (f"{at_least}{data.hidden} more nodes not drawn\n"
                f"(max_nodes={len(data.nodes)}; raise it to see them)")
        out.append(f'  collapsed [shape=note, fillcolor="#fff6c8", label={_quote(note)}];')
        for n in data.nodes:
            if n.cut:
                out.append(f"  collapsed -> n{n.number} [style=dashed];")
    out.append("}")
    return "\n".join(out) + "\n"
