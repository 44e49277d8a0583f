"""Random expression graphs: a description, builders for each engine and torch, an oracle.

A graph is a list of leaf values and a list of instructions. Node ``k`` is leaf
``k`` for ``k < len(leaves)``, else the output of instruction ``k - len(leaves)``.
Instructions read any earlier node, so nodes get reused (diamonds, ``a*a``).
The root is the last node (a leaf when there is no instruction). Nodes that the
root does not depend on are part of the graph too: they must not change any
gradient.

``oracle()`` evaluates a graph with plain floats and the rules of
``tapegrad._ops`` (value forward, reverse sweep over the nodes the root
depends on), independently of both engines.
"""

import functools
import math

from hypothesis import strategies as st

from tapegrad import _ops

BINARY = ("add", "sub", "mul", "div", "pow")
CONST = ("add_const", "radd_const", "sub_const", "mul_const", "rmul_const", "div_const",
         "rsub_const", "rdiv_const", "pow_const", "rpow_const")
UNARY = ("neg", "exp", "log", "tanh", "relu", "sigmoid")
NARY = ("sum", "dot")
ALL_KINDS = BINARY + CONST + UNARY + NARY

# How each instruction kind is recorded: (tapegrad._ops op name, constant transform).
_RECORDED = {
    "radd_const": ("add_const", lambda c: c),
    "sub_const": ("add_const", lambda c: -c),  # v - c is add_const with -c
    "rmul_const": ("mul_const", lambda c: c),
}


class Graph:
    def __init__(self, leaves, instrs):
        self.leaves = list(leaves)
        self.instrs = list(instrs)

    @property
    def n_nodes(self):
        return len(self.leaves) + len(self.instrs)

    def __repr__(self):
        lines = [f"Graph(leaves={self.leaves!r}, instrs=["]
        for k, ins in enumerate(self.instrs):
            lines.append(f"    {ins!r},  # node {len(self.leaves) + k}")
        lines.append("])")
        return "\n".join(lines)


# ----------------------------------------------------------------------------
# Builders

def apply_instr(ins, nodes, const, sum_fn, dot_fn):
    """Apply one instruction with Python operators; ``const`` wraps n-ary constants."""
    kind = ins[0]
    if kind in BINARY:
        a, b = nodes[ins[1]], nodes[ins[2]]
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        if kind == "mul":
            return a * b
        if kind == "div":
            return a / b
        return a ** b
    if kind in CONST:
        a, c = nodes[ins[1]], ins[2]
        return {
            "add_const": lambda: a + c,
            "radd_const": lambda: c + a,
            "sub_const": lambda: a - c,
            "mul_const": lambda: a * c,
            "rmul_const": lambda: c * a,
            "div_const": lambda: a / c,
            "rsub_const": lambda: c - a,
            "rdiv_const": lambda: c / a,
            "pow_const": lambda: a ** c,
            "rpow_const": lambda: c ** a,
        }[kind]()
    if kind in UNARY:
        a = nodes[ins[1]]
        if kind == "neg":
            return -a
        return getattr(a, kind)()

    def items(spec):
        return [nodes[i] if tag == "n" else const(i) for tag, i in spec]

    if kind == "sum":
        return sum_fn(items(ins[1]))
    if kind == "dot":
        return dot_fn(items(ins[1]), items(ins[2]))
    raise ValueError(kind)


def build_engine(engine, graph):
    """Build ``graph`` with ``engine``'s Values; return the list of node Values."""
    nodes = [engine.Value(x) for x in graph.leaves]
    for ins in graph.instrs:
        nodes.append(apply_instr(ins, nodes, lambda c: c, engine.sum, engine.dot))
    return nodes


def run_engine(engine, graph):
    """Build, backward from the root; return (values, grads) as lists of floats, and nodes."""
    nodes = build_engine(engine, graph)
    nodes[-1].backward()
    return [v.data for v in nodes], [v.grad for v in nodes], nodes


def build_torch(torch, graph):
    def const(c):
        return torch.tensor(c, dtype=torch.float64)

    def sum_fn(items):  # left to right from 0.0, as the spec says
        return functools.reduce(lambda acc, t: acc + t, items, const(0.0))

    def dot_fn(xs, ws):
        return functools.reduce(lambda acc, xw: acc + xw[0] * xw[1], zip(xs, ws), const(0.0))

    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph.leaves]
    for ins in graph.instrs:
        nodes.append(apply_instr(ins, nodes, const, sum_fn, dot_fn))
    for t in nodes[len(graph.leaves):]:
        if t.requires_grad:
            t.retain_grad()
    return nodes


def run_torch(torch, graph):
    """Like run_engine; the grad of an intermediate that torch does not track (made of
    constants only) is None, as torch has no gradient for it."""
    nodes = build_torch(torch, graph)
    root = nodes[-1]
    if root.requires_grad:
        root.backward()
    values = [float(t.detach()) for t in nodes]
    grads = []
    for k, t in enumerate(nodes):
        if t.grad is not None:
            grads.append(float(t.grad))
        elif k < len(graph.leaves):
            grads.append(0.0)           # a leaf the root does not depend on
        elif k == len(nodes) - 1:
            grads.append(1.0)           # an untracked root: d root / d root
        else:
            grads.append(None if not t.requires_grad else 0.0)
    return values, grads


# ----------------------------------------------------------------------------
# The oracle

def _op_and_const(ins):
    kind = ins[0]
    if kind in _RECORDED:
        name, f = _RECORDED[kind]
        return _ops.OP_BY_NAME[name], float(f(ins[2]))
    op = _ops.OP_BY_NAME[kind]
    return op, (float(ins[2]) if kind in CONST else None)


def _parents(ins):
    kind = ins[0]
    if kind in BINARY:
        return [ins[1], ins[2]]
    if kind in CONST or kind in UNARY:
        return [ins[1]]
    if kind == "sum":
        return [i for tag, i in ins[1] if tag == "n"]
    return [i for tag, i in ins[1] + ins[2] if tag == "n"]


def forward_one(ins, vals):
    kind = ins[0]
    if kind == "sum":
        acc = 0.0
        for tag, i in ins[1]:
            acc = acc + (vals[i] if tag == "n" else float(i))
        return acc
    if kind == "dot":
        acc = 0.0
        for (tx, x), (tw, w) in zip(ins[1], ins[2]):
            xv = vals[x] if tx == "n" else float(x)
            wv = vals[w] if tw == "n" else float(w)
            acc = acc + xv * wv
        return acc
    op, c = _op_and_const(ins)
    x = vals[ins[1]]
    y = vals[ins[2]] if kind in BINARY else None
    return op.forward(x, y, c)


def oracle(graph):
    """Return (values, grads, reachable) for ``graph`` with backward from its root."""
    L = len(graph.leaves)
    vals = [float(x) for x in graph.leaves]
    for ins in graph.instrs:
        vals.append(forward_one(ins, vals))
    n = len(vals)
    root = n - 1
    reach = [False] * n
    reach[root] = True
    for k in range(n - 1, L - 1, -1):
        if reach[k]:
            for p in _parents(graph.instrs[k - L]):
                reach[p] = True
    grads = [0.0] * n
    grads[root] = 1.0
    for k in range(n - 1, L - 1, -1):
        if not reach[k]:
            continue
        ins = graph.instrs[k - L]
        g = grads[k]
        kind = ins[0]
        if kind == "sum":
            for tag, i in ins[1]:
                if tag == "n":
                    grads[i] += g
        elif kind == "dot":
            for (tx, x), (tw, w) in zip(ins[1], ins[2]):
                xv = vals[x] if tx == "n" else float(x)
                wv = vals[w] if tw == "n" else float(w)
                if tx == "n":
                    grads[x] += g * wv
                if tw == "n":
                    grads[w] += g * xv
        else:
            op, c = _op_and_const(ins)
            x = vals[ins[1]]
            y = vals[ins[2]] if kind in BINARY else None
            gx, gy = op.backward(g, x, y, c, vals[k])
            grads[ins[1]] += gx
            if kind in BINARY:
                grads[ins[2]] += gy
    return vals, grads, reach


# ----------------------------------------------------------------------------
# Comparison

def _close(a, b, rel, abs_tol):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def _mag(v):
    return math.inf if v != v else abs(v)


def error_scales(graph, vals, reach):
    """Per node, the magnitude that rounding differences in its value and gradient
    scale with: a running error bound, as in Wilkinson's analysis.

    Two correct engines may round differently only where the spec leaves the order
    free (the order in which gradient contributions are added) or where another
    formula is used (torch); the difference then is a few ulps of the sum of the
    absolute values of the terms, not of the result, which may have cancelled.
    Values: |a| + |b| for a sum, |a||b| for a product, and for a nonlinear op its
    |result| plus the error scale of its computed inputs (a leaf is exact) times
    |local derivative|: the input's own rounding is amplified by the op's condition
    (log(c/c), where torch's c * (1/c) is 1 - 1.1e-16, gives -1.1e-16 for 0).
    Gradients: the reverse sweep run on absolute values. A nan or inf in a bound
    makes it inf.
    """
    L = len(graph.leaves)
    vs = [_mag(v) for v in vals[:L]]
    for k, ins in enumerate(graph.instrs):
        kind = ins[0]
        out = vals[L + k]
        if kind == "sum":
            s = 0.0
            for tag, i in ins[1]:
                s += vs[i] if tag == "n" else _mag(float(i))
        elif kind == "dot":
            s = 0.0
            for (tx, x), (tw, w) in zip(ins[1], ins[2]):
                s += (vs[x] if tx == "n" else _mag(float(x))) * (vs[w] if tw == "n" else _mag(float(w)))
        else:
            op, c = _op_and_const(ins)
            if op.name in ("add", "sub"):
                s = vs[ins[1]] + vs[ins[2]]
            elif op.name == "mul":
                s = vs[ins[1]] * vs[ins[2]]
            elif op.name in ("add_const", "rsub_const"):
                s = vs[ins[1]] + _mag(c)
            elif op.name == "mul_const":
                s = vs[ins[1]] * _mag(c)
            elif op.name == "neg":
                s = vs[ins[1]]
            else:
                x = vals[ins[1]]
                y = vals[ins[2]] if kind in BINARY else None
                gx, gy = op.backward(1.0, x, y, c, out)
                s = _mag(out) + _mag(gx) * (vs[ins[1]] if ins[1] >= L else 0.0)
                if kind in BINARY:
                    s += _mag(gy) * (vs[ins[2]] if ins[2] >= L else 0.0)
        vs.append(math.inf if s != s else max(s, _mag(out)))
    n = len(vals)
    gs = [0.0] * n
    gs[n - 1] = 1.0
    for k in range(n - 1, L - 1, -1):
        if not reach[k]:
            continue
        ins = graph.instrs[k - L]
        g = gs[k]
        kind = ins[0]
        if kind == "sum":
            for tag, i in ins[1]:
                if tag == "n":
                    gs[i] += g
        elif kind == "dot":
            for (tx, x), (tw, w) in zip(ins[1], ins[2]):
                if tx == "n":
                    gs[x] += g * (vs[w] if tw == "n" else _mag(float(w)))
                if tw == "n":
                    gs[w] += g * (vs[x] if tx == "n" else _mag(float(x)))
        else:
            op, c = _op_and_const(ins)
            x = vals[ins[1]]
            y = vals[ins[2]] if kind in BINARY else None
            gx, gy = op.backward(1.0, x, y, c, vals[k])
            gs[ins[1]] += g * _mag(gx)
            if kind in BINARY:
                gs[ins[2]] += g * _mag(gy)
    gs = [math.inf if v != v else v for v in gs]
    return vs, gs


def mismatches(graph, got, expected, reach, rel, abs_scale, check_grads=True):
    """List of human-readable differences between two (values, grads) results.

    A finite pair must agree to ``rel`` relative, or to ``abs_scale`` times the
    node's error scale (see error_scales, computed at the expected values);
    nan must meet nan, and an infinity the same infinity.
    """
    gv, gg = got
    ev, eg = expected
    vscale, gscale = error_scales(graph, ev, reach)
    L = len(graph.leaves)
    out = []
    for k in range(graph.n_nodes):
        if not _close(gv[k], ev[k], rel, abs_scale * vscale[k]):
            out.append(f"node {k} value {gv[k]!r} != {ev[k]!r}")
        # leaf grads always; intermediate grads where the root depends on the node
        if (check_grads and (k < L or reach[k]) and gg[k] is not None and eg[k] is not None
                and not _close(gg[k], eg[k], rel, abs_scale * gscale[k])):
            what = "leaf" if k < L else "intermediate"
            out.append(f"node {k} ({what}) grad {gg[k]!r} != {eg[k]!r}")
    return out


# ----------------------------------------------------------------------------
# Hypothesis strategies

SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 3.0)
NONFINITE = (math.inf, -math.inf, math.nan)


def _item_strategy(n, numbers):
    node = st.integers(0, n - 1).map(lambda i: ("n", n - 1 - i))
    return st.one_of(node, node, numbers.map(lambda c: ("c", c)))


@st.composite
def wild_graphs(draw, max_leaves=4, max_ops=24, kinds=ALL_KINDS, nonfinite=True):
    """Any graph, including domain errors, overflow and non-finite leaves and constants."""
    specials = SPECIAL + (NONFINITE if nonfinite else ())
    numbers = st.one_of(st.sampled_from(specials),
                        st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
                        st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
    n_leaves = draw(st.integers(1, max_leaves))
    leaves = [draw(numbers) for _ in range(n_leaves)]
    instrs = []
    for k in range(draw(st.integers(0, max_ops))):
        n = n_leaves + k
        idx = st.integers(0, n - 1).map(lambda i, n=n: n - 1 - i)  # shrinks toward recent nodes
        kind = draw(st.sampled_from(kinds))
        if kind in BINARY:
            instrs.append((kind, draw(idx), draw(idx)))
        elif kind in CONST:
            instrs.append((kind, draw(idx), draw(numbers)))
        elif kind in UNARY:
            instrs.append((kind, draw(idx)))
        elif kind == "sum":
            instrs.append(("sum", tuple(draw(st.lists(_item_strategy(n, numbers), max_size=5)))))
        else:
            m = draw(st.integers(0, 4))
            xs = tuple(draw(_item_strategy(n, numbers)) for _ in range(m))
            ws = tuple(draw(_item_strategy(n, numbers)) for _ in range(m))
            instrs.append(("dot", xs, ws))
    return Graph(leaves, instrs)


def _tame_ok(kind, x, y, c, out):
    """Where every op is smooth, finite and well away from kinks and poles."""
    if not math.isfinite(out) or abs(out) > 1e4:
        return False
    if kind in ("div",):
        return abs(y) > 0.2
    if kind in ("rdiv_const", "log"):
        return abs(x) > 0.2 and (kind != "log" or x > 0.2)
    if kind == "pow":
        return x > 0.2 and abs(y) < 4.0
    if kind == "pow_const":
        return x > 0.2 or float(c).is_integer()
    if kind == "rpow_const":
        return c > 0.2
    if kind == "relu":
        return abs(x) > 1e-3
    if kind == "exp":
        return x < 8.0
    if kind == "tanh":        # 1 - tanh(x)**2 cancels when tanh saturates
        return abs(x) < 3.0
    if kind == "sigmoid":
        return abs(x) < 8.0
    return True


@st.composite
def tame_graphs(draw, max_leaves=4, max_ops=16, kinds=ALL_KINDS):
    """Graphs that stay finite and smooth near their point (for torch and finite differences).

    The strategy evaluates as it draws: an op whose operands fall outside its
    tame domain is replaced by ``0.5 * operand`` (mul_const).
    """
    numbers = st.one_of(st.sampled_from((0.5, 1.0, -1.0, 2.0, -0.5, 1.5, 3.0)),
                        st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
                        .filter(lambda v: abs(v) > 1e-3))
    n_leaves = draw(st.integers(1, max_leaves))
    leaves = [draw(numbers) for _ in range(n_leaves)]
    graph = Graph(leaves, [])
    vals = list(map(float, leaves))
    for k in range(draw(st.integers(0, max_ops))):
        n = n_leaves + k
        idx = st.integers(0, n - 1).map(lambda i, n=n: n - 1 - i)
        kind = draw(st.sampled_from(kinds))
        if kind in BINARY:
            ins = (kind, draw(idx), draw(idx))
        elif kind in CONST:
            ins = (kind, draw(idx), draw(numbers))
        elif kind in UNARY:
            ins = (kind, draw(idx))
        elif kind == "sum":
            ins = ("sum", tuple(draw(st.lists(_item_strategy(n, numbers), max_size=4))))
        else:
            m = draw(st.integers(0, 3))
            ins = ("dot", tuple(draw(_item_strategy(n, numbers)) for _ in range(m)),
                   tuple(draw(_item_strategy(n, numbers)) for _ in range(m)))
        out = forward_one(ins, vals)
        if ins[0] in BINARY or ins[0] in CONST or ins[0] in UNARY:
            op, c = _op_and_const(ins)
            x = vals[ins[1]]
            y = vals[ins[2]] if ins[0] in BINARY else None
            ok = _tame_ok(op.name, x, y, c, out)
        else:
            ok = math.isfinite(out) and abs(out) < 1e4
        if not ok:
            ins = ("mul_const", ins[1] if ins[0] not in NARY else n - 1, 0.5)
            out = forward_one(ins, vals)
        graph.instrs.append(ins)
        vals.append(out)
    return graph
