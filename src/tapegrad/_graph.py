"""The graph under a root, read for ``tapegrad.draw`` and ``tapegrad.explain``.

A scalar graph is read through ``Value._inputs()`` (the op of the table in
``tapegrad._ops``, the operands and the constant); a tensor graph through
``grad_fn`` / ``next_functions`` (``AccumulateGrad.variable`` for leaves,
``grad_fn._output()`` for the tensor a node computed). Reading records nothing
and accumulates nothing: the local derivatives of scalar edges come from the op
table's rules (``Op.backward``), those of tensor edges from the engine's
vector-Jacobian products (``autograd.grad``, which leaves ``.grad`` alone).
"""

from __future__ import annotations

import ast
import math
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _backend
from ._freed import thawed

# Counting the nodes a picture leaves out stops here (the note then says "at least").
COUNT_CAP = 1_000_000
# Tensor edges get their local derivative (and nodes their gradient) computed only in
# graphs up to this size: each is one vector-Jacobian product.
TENSOR_VJP_LIMIT = 200
# grad_fn names of elementwise ops: with equal shapes, d out / d in is a diagonal
# (shown as a tensor of the input's shape).
ELEMENTWISE = frozenset(
    n + "Backward0" for n in (
        "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Tanh", "Relu", "Sigmoid",
        "Abs", "Sqrt", "Reciprocal", "Clamp", "ClampMin", "Rsub", "Clone")
) | {"PowBackward1", "AddBackward1", "MulBackward1", "DivBackward1", "RsubBackward1"}


class Node:
    """One value of the graph: the Value or Tensor, how it was made and its edges."""

    __slots__ = ("obj", "op", "name", "kind", "parents", "local", "formula", "grad", "cut",
                 "number")

    def __init__(self, obj: Any, op: str):
        self.obj = obj
        self.op = op                 # micrograd's symbol / torch's grad_fn name; "" for a leaf
        self.name = ""               # the user's label, else a default one
        self.kind = "op"             # "root", "param", "leaf" or "op"
        self.parents: List[Node] = []
        self.local: List[Any] = []   # d self / d parent, per parent (None: not computed)
        self.formula: List[Optional[str]] = []   # the local derivative's formula (scalars)
        self.grad: Any = None        # d root / d self, or None when unknown
        self.cut = False             # some parents are beyond the node limit
        self.number = 0              # position in the topological order


class GraphData:
    """The nodes under a root, parents before children (the root last)."""

    def __init__(self, nodes: List[Node], hidden: int, scalar: bool):
        self.nodes = nodes
        self.hidden = hidden         # nodes left out by the limit (capped at COUNT_CAP)
        self.scalar = scalar         # a Value graph (else a Tensor graph)

    @property
    def root(self) -> Node:
        return self.nodes[-1]


# ---------------------------------------------------------------------------- reading

def _is_value(obj: Any) -> bool:
    return hasattr(obj, "_inputs") and not hasattr(obj, "grad_fn")


def _is_tensor(obj: Any) -> bool:
    return hasattr(obj, "grad_fn") and hasattr(obj, "shape")


def _value_parents(v: Any) -> List[Any]:
    return [o for o in v._inputs()[1] if _is_value(o)]


def _tensor_parents(t: Any) -> List[Any]:
    fn = t.grad_fn
    if fn is None:
        return []
    out = []
    for f, _ in fn.next_functions:
        if f is None:
            continue
        out.append(f.variable if f.name() == "AccumulateGrad" else f._output())
    return [o for o in out if o is not None]


def read(root: Any, max_nodes: int, names: Dict[int, str], params: Dict[int, str],
         local_grads: bool = True) -> GraphData:
    """The graph under root, at most max_nodes of it (breadth first from the root)."""
    parents_of: Callable[[Any], List[Any]]
    if _is_value(root):
        scalar, parents_of = True, _value_parents
    elif _is_tensor(root):
        scalar, parents_of = False, _tensor_parents
    else:
        raise TypeError(f"tapegrad.draw/explain: root must be a tapegrad Value or Tensor, "
                        f"not {type(root).__name__}")
    kept, parent_lists, hidden = _walk(root, parents_of, max_nodes)
    nodes = _topological(root, kept, parent_lists, scalar)
    _label(nodes, names, params, scalar)
    if scalar:
        for n in nodes:
            _scalar_locals(n)
    else:
        _tensor_grads(nodes, local_grads and len(nodes) <= TENSOR_VJP_LIMIT and not hidden)
    return GraphData(nodes, hidden, scalar)


def _walk(root: Any, parents_of: Any, max_nodes: int) -> Tuple[list, dict, int]:
    """Breadth first from root: the first max_nodes objects, their parent lists, and
    how many more there are. Every object seen is held until the end, so that ids stay
    unique (the compiled engine makes handles for nodes whose own are gone)."""
    seen = {id(root): root}
    kept, kept_ids = [root], {id(root)}
    parent_lists: Dict[int, list] = {}
    queue = deque([root])
    while queue and len(seen) < COUNT_CAP:
        obj = queue.popleft()
        ps = parents_of(obj)
        if id(obj) in kept_ids:
            parent_lists[id(obj)] = ps
        for p in ps:
            if id(p) not in seen:
                seen[id(p)] = p
                if len(kept) < max_nodes:
                    kept.append(p)
                    kept_ids.add(id(p))
                queue.append(p)
    return kept, parent_lists, len(seen) - len(kept)


def _topological(root: Any, kept: list, parent_lists: dict, scalar: bool) -> List[Node]:
    """Nodes for the kept objects, parents first (iterative depth-first post-order)."""
    node_of: Dict[int, Node] = {}
    for obj in kept:
        node_of[id(obj)] = Node(obj, _op_of(obj, scalar))
    order: List[Node] = []
    done = set()
    stack = [(root, False)]
    while stack:
        obj, expanded = stack.pop()
        if id(obj) in done:
            continue
        if expanded:
            done.add(id(obj))
            order.append(node_of[id(obj)])
            continue
        stack.append((obj, True))
        for p in reversed(parent_lists.get(id(obj), [])):
            if id(p) in node_of and id(p) not in done:
                stack.append((p, False))
    for n in order:
        seen = set()
        for p in parent_lists.get(id(n.obj), []):
            if id(p) not in node_of:
                n.cut = True
            elif id(p) not in seen:
                seen.add(id(p))
                n.parents.append(node_of[id(p)])
    for k, n in enumerate(order):
        n.number = k
    return order


def _op_of(obj: Any, scalar: bool) -> str:
    if scalar:
        return obj._op
    fn = obj.grad_fn
    return "" if fn is None else fn.name()


def _label(nodes: List[Node], names: Dict[int, str], params: Dict[int, str],
           scalar: bool) -> None:
    """Names (the user's, else v0, v1, ... / t0, t1, ...; the root is "out") and kinds."""
    root = nodes[-1]
    prefix = "v" if scalar else "t"
    for n in nodes:
        key = id(n.obj)
        leaf = not n.parents and not n.cut and n.op == ""
        if key in params:
            n.name = params[key]
        elif key in names:
            n.name = names[key]
        else:
            n.name = "out" if n is root else f"{prefix}{n.number}"
        if n is root:
            n.kind = "root"
        elif leaf and (key in params or (not scalar and not params and n.obj.requires_grad)):
            n.kind = "param"
        elif leaf:
            n.kind = "leaf"


# ---------------------------------------------------------------------------- scalars

def _scalar_locals(n: Node) -> None:
    """d n / d parent for each parent of a Value node, from the op table's rules; a
    parent used twice (x * x) gets the sum (the total derivative)."""
    n.grad = n.obj.grad
    op, operands, c = n.obj._inputs()
    if not operands:
        return
    values = [o if isinstance(o, float) else o.data for o in operands]
    out = n.obj.data
    if op.arity in (1, 2):
        y = values[1] if op.arity == 2 else None
        d = op.backward(1.0, values[0], y, c, out)
        keys = ["self", "other"]
    elif op.name == "sum":
        d, keys = [1.0] * len(operands), ["inputs[i]"] * len(operands)
    else:    # dot: operands x0, w0, x1, w1, ...; d/dx_i = w_i and d/dw_i = x_i
        d = [values[k ^ 1] for k in range(len(operands))]
        keys = ["xs[i]" if k % 2 == 0 else "ws[i]" for k in range(len(operands))]
    by_parent: Dict[int, Tuple[float, List[str]]] = {}
    for k, o in enumerate(operands):
        if isinstance(o, float):
            continue
        env = _formula_env(n, op, operands, values, c, k)
        text = formula(op.derivatives[keys[k]], env)
        total, texts = by_parent.get(id(o), (0.0, []))
        by_parent[id(o)] = (total + d[k], texts + [text])
    for p in n.parents:
        total, texts = by_parent[id(p.obj)]
        n.local.append(total)
        n.formula.append(" + ".join(texts))


def _formula_env(n: Node, op: Any, operands: tuple, values: list, c: float,
                 k: int) -> Dict[str, Tuple[str, float]]:
    """name -> (text, value) for the names of a derivative formula."""
    names = {id(p.obj): p.name for p in n.parents}

    def text(i: int) -> str:
        o = operands[i]
        return number(o) if isinstance(o, float) else names.get(id(o), "?")

    env = {"result": (n.name, n.obj.data), "c": (number(c), c), "grad": ("1", 1.0)}
    if op.arity in (1, 2):
        env["self"] = (text(0), values[0])
        if op.arity == 2:
            env["other"] = (text(1), values[1])
    elif op.name == "dot":
        env["xs"] = (text(k & ~1), values[k & ~1])
        env["ws"] = (text(k | 1), values[k | 1])
    return env


def number(x: float) -> str:
    """A number as the pictures show it: integers plainly, else 4 decimals, trimmed."""
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if 1e-3 <= abs(x) < 1e6:
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


# ---------------------------------------------------------------------------- formulas

def formula(expr: str, env: Dict[str, Tuple[str, float]]) -> str:
    """A derivative rule of the op table (``grad * c * pow(self, c - 1)``) as the local
    derivative, in the graph's names with constants folded (``2s``). ``where`` takes
    the branch its condition picks at these values."""
    tree = _Simplify(env).visit(ast.parse(expr, mode="eval").body)
    return ast.unparse(_Juxtapose().visit(tree))


def _num(node: Any) -> Optional[float]:
    """The number a folded node holds, else None."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def _const(x: float) -> ast.expr:
    return ast.Constant(float(x))


_FOLD = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
         ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b if b else math.nan,
         ast.Pow: lambda a, b: a ** b}


class _Simplify(ast.NodeTransformer):
    def __init__(self, env: Dict[str, Tuple[str, float]]):
        self.env = env

    def _value(self, node: Any) -> Any:
        """node's value at this point (for where's condition)."""
        scope: Dict[str, Any] = {k: v for k, (_, v) in self.env.items()}
        scope.update(pow=math.pow, log=math.log, exp=math.exp)
        return eval(compile(ast.Expression(node), "<rule>", "eval"), {}, scope)

    def visit_Name(self, node: ast.Name) -> Any:
        text, value = self.env.get(node.id, (node.id, math.nan))
        return _const(value) if node.id in ("grad", "c") else ast.Name(text)

    def visit_Subscript(self, node: ast.Subscript) -> Any:   # xs[i], ws[i]
        return self.visit_Name(ast.Name(node.value.id))       # type: ignore[attr-defined]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        inner = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            v = _num(inner)
            if v is not None:
                return _const(-v)
            if isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub):
                return inner.operand
        return ast.UnaryOp(node.op, inner)

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id                                   # type: ignore[attr-defined]
        if name == "where":
            cond, yes, no = node.args
            return self.visit(yes if self._value(cond) else no)
        args = [self.visit(a) for a in node.args]
        if name == "pow":
            return self.visit_BinOp(ast.BinOp(args[0], ast.Pow(), args[1]), visited=True)
        return ast.Call(ast.Name(name), args, [])

    def visit_BinOp(self, node: ast.BinOp, visited: bool = False) -> Any:
        left = node.left if visited else self.visit(node.left)
        right = node.right if visited else self.visit(node.right)
        a, b, op = _num(left), _num(right), type(node.op)
        if a is not None and b is not None:
            return _const(_FOLD[op](a, b))
        if op is ast.Mult and a is not None:
            left, right, a, b = right, left, b, a
        if (op in (ast.Mult, ast.Div, ast.Pow) and b == 1.0) or (op is ast.Sub and b == 0.0):
            return left
        if op is ast.Mult and b == -1.0:
            return ast.UnaryOp(ast.USub(), left)
        if op is ast.Pow and b == 0.0:
            return _const(1.0)
        if op is ast.Mult and b is not None:        # numbers first: 2 * s
            return ast.BinOp(right, ast.Mult(), left)
        return ast.BinOp(left, node.op, right)


class _Juxtapose(ast.NodeTransformer):
    """Numbers as the pictures write them, and ``2 * s`` as ``2s`` (one-letter names)."""

    def visit_Constant(self, node: ast.Constant) -> Any:
        v = _num(node)
        return node if v is None else ast.Name(number(v))

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        if (isinstance(node.op, ast.Mult) and _num(node.left) is not None
                and isinstance(node.right, ast.Name) and len(node.right.id) == 1):
            return ast.Name(number(_num(node.left)) + node.right.id)  # type: ignore[arg-type]
        return self.generic_visit(node)


# ---------------------------------------------------------------------------- tensors

def ones_like(t: Any) -> Any:
    return _backend.tensor_engine(t).ones_like(t)


def vjp(output: Any, input: Any, grad_output: Any) -> Any:
    """grad_output · d output / d input, or None where the engine cannot say."""
    from .autograd import grad
    try:
        with thawed(output):        # a backward() without retain_graph freed it
            g = grad([output], [input], [grad_output], retain_graph=True,
                     allow_unused=True)[0]
    except (RuntimeError, TypeError, ValueError):
        return None
    return g


def _tensor_grads(nodes: List[Node], compute: bool) -> None:
    """Leaves show their .grad. In small graphs, once some leaf has a .grad (backward
    ran), every node also gets d root / d node (one sweep that accumulates nothing),
    and each edge its local derivative where it is one tensor: d out / d in for an
    output of one element, the diagonal of an elementwise op."""
    for n in nodes:
        n.local = [None] * len(n.parents)
        if n.obj.grad_fn is None:
            n.grad = n.obj.grad if n.obj.requires_grad else None
    if not compute:
        return
    root = nodes[-1].obj
    differentiable = root.requires_grad and root.dtype.is_floating_point
    if not differentiable:
        return
    with thawed(root):              # a backward() without retain_graph freed it
        if any(n.grad is not None for n in nodes):
            _node_grads(nodes)
        for n in nodes:
            for k, p in enumerate(n.parents):
                same_shape = tuple(n.obj.shape) == tuple(p.obj.shape)
                if n.obj.numel() == 1 or (same_shape and n.op in ELEMENTWISE):
                    n.local[k] = vjp(n.obj, p.obj, ones_like(n.obj))


def _node_grads(nodes: List[Node]) -> None:
    """d root / d node for the nodes that are no leaf (leaves keep their .grad)."""
    from .autograd import grad
    root = nodes[-1].obj
    inner = [n for n in nodes if n.obj.grad_fn is not None]
    try:
        gs = grad([root], [n.obj for n in inner], [ones_like(root)], retain_graph=True,
                  allow_unused=True)
    except (RuntimeError, TypeError, ValueError):
        return
    for n, g in zip(inner, gs):
        n.grad = g
