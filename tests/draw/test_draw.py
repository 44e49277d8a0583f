"""tapegrad.draw: options, large graphs, the tape left as it was, rendering and its
errors, Jupyter display; micrograd's Value._prev / _op and its own draw_dot helper."""

import subprocess
import sys
import time

import pytest

import tapegrad
import _pictures as P
from test_seed_pictures import parse_dot


def chain(M, n):
    """x -> tanh -> * 1.0001 -> ... : n ops on Values."""
    x = M.Value(0.5)
    v = x
    for k in range(n):
        v = v.tanh() if k % 2 else v * 1.0001
    return x, v


# ---------------------------------------------------------------------------- what is shown

def test_before_backward_values_show_zero_grads_and_tensors_none(engine):
    x, w = engine.Value(1.0), engine.Value(1.0)
    s = x * w - 2
    loss = s ** 2
    nodes, edges = parse_dot(tapegrad.draw(loss, names={"x": x, "w": w, "s": s}).source)
    assert nodes["out (root)"] == ["op **2", "data 1", "grad 0"]
    assert set(edges.values()) == {"∂v2/∂x = w = 1", "∂v2/∂w = x = 1", "∂s/∂v2 = 1",
                                   "∂out/∂s = 2s = -2"}
    assert parse_dot(tapegrad.draw(loss).source)[1][("v3", "out")] == "∂out/∂v3 = 2 * v3 = -2"
    t = engine.tensor([1.0, 2.0], requires_grad=True)
    out = (t * 3).sum()
    nodes, edges = parse_dot(tapegrad.draw(out, {"t": t}).source)
    assert nodes["t (param)"] == ["shape (2,) float32", "data [1, 2]"]   # no grad yet
    assert nodes["out (root)"] == ["SumBackward0", "shape () float32", "data 9"]
    assert edges[("t", "t1")] == "∂t1/∂t = [3, 3]" and edges[("t1", "out")] == "∂out/∂t1 = [1, 1]"


def test_options(engine):
    loss, params, names = P.seed000_values(engine)
    src = tapegrad.draw(loss, params, names, grads=False, local_grads=False,
                        rankdir="TB").source
    assert "rankdir=TB" in src and "\\ngrad " not in src and "label=\"2s" not in src
    nodes, edges = parse_dot(src)
    assert set(edges.values()) == {None} and len(edges) == 5
    assert "rankdir=LR" in tapegrad.draw(loss).source
    # names label; params label and mark; a tensor leaf that requires grad is a
    # parameter when no params are given
    nodes, _ = parse_dot(tapegrad.draw(loss, names={"w": params["w"]}).source)
    assert "w (leaf)" in nodes and "out (root)" in nodes
    root, _, _ = P.seed001_scalar(engine)
    assert "t0 (param)" in parse_dot(tapegrad.draw(root).source)[0]


def test_a_large_graph_collapses_with_a_note(engine):
    x, root = chain(engine, 1000)
    g = tapegrad.draw(root, {"x": x}, max_nodes=50)
    assert (g.nodes, g.hidden) == (50, 951)
    assert "951 more nodes not drawn\\n(max_nodes=50; raise it to see them)" in g.source
    assert g.source.count(" [label=") == 50 + 49     # 50 nodes, 49 edges between them
    assert "collapsed -> n0 [style=dashed];" in g.source
    assert "x (param)" not in g.source
    assert repr(g) == "<tapegrad.Graph: 50 nodes, 951 more collapsed>"


@pytest.mark.parametrize("kind", ["values", "tensors"])
def test_a_graph_of_100000_nodes_does_not_hang(engine, kind):
    n = 100_000
    if kind == "values":
        x, root = chain(engine, n)
    else:
        x = engine.tensor([0.5, 0.25], requires_grad=True)
        root = x
        for _ in range(n):
            root = root * 1.0
    t0 = time.perf_counter()
    g = tapegrad.draw(root)
    assert time.perf_counter() - t0 < 30
    assert (g.nodes, g.hidden) == (200, n + 1 - 200)


def test_drawing_changes_nothing(engine):
    x, w = engine.Value(1.5), engine.Value(-0.5)
    h = (x * w).tanh()                  # an intermediate whose handle goes away
    loss = h * h + x
    del h
    loss.backward()
    grads = (x.grad, w.grad)
    before = engine.tape_stats()
    tapegrad.draw(loss)
    tapegrad.explain(loss, quiet=True)
    assert engine.tape_stats() == before
    assert (x.grad, w.grad) == grads
    loss.backward()                      # the graph still sweeps the same
    assert (x.grad, w.grad) == (2 * grads[0], 2 * grads[1])
    t = engine.tensor([1.0, -2.0], requires_grad=True)
    out = (t * t).exp().sum()
    tapegrad.draw(out)
    tapegrad.explain(out, quiet=True)
    assert t.grad is None                # nothing accumulated
    out.backward()
    g = t.grad.numpy().tolist()
    tapegrad.draw(out)
    assert t.grad.numpy().tolist() == g


def test_bad_arguments(engine):
    v = engine.Value(1.0)
    with pytest.raises(TypeError, match="root must be a tapegrad Value or Tensor, not float"):
        tapegrad.draw(3.0)
    with pytest.raises(ValueError, match="rankdir must be one of"):
        tapegrad.draw(v, rankdir="RL")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        tapegrad.draw(v, max_nodes=0)
    with pytest.raises(TypeError, match="params must be a dict"):
        tapegrad.draw(v, params=[v])
    with pytest.raises(ValueError, match="format must be one of"):
        tapegrad.draw(v).pipe("jpg")


# ---------------------------------------------------------------------------- rendering

@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG"),
                                        ("pdf", b"%PDF")])
def test_render_formats(engine, tmp_path, fmt, magic):
    P.require_graphviz()
    root, params, names = P.seed003_chain(engine)
    g = tapegrad.draw(root, params, names)
    path = g.render(tmp_path / f"chain.{fmt}")
    data = open(path, "rb").read()
    assert magic in data[:400]
    assert g.render(tmp_path / "chain", format=fmt) == str(tmp_path / "chain")


def test_jupyter_display(engine):
    P.require_graphviz()
    root, params, names = P.seed000_values(engine)
    g = tapegrad.draw(root, params, names)
    svg = g._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"] == svg and bundle["text/plain"] == repr(g)
    assert "∂loss/∂s = 2s = &#45;2" in svg


def test_rendering_without_graphviz_names_the_extra(engine, monkeypatch):
    g = tapegrad.draw(engine.Value(1.0))
    monkeypatch.setitem(sys.modules, "graphviz", None)      # import graphviz fails
    with pytest.raises(ImportError, match=r'pip install "tapegrad\[draw\]".*apt-get install '
                                          r"graphviz"):
        g.pipe("svg")
    assert g._repr_svg_() is None
    assert g._repr_mimebundle_() == {"text/plain": repr(g)}
    assert g.source.startswith("digraph tapegrad {")


def test_rendering_without_the_dot_program_names_the_system_package(engine, monkeypatch,
                                                                    tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))                # no dot on the PATH
    with pytest.raises(RuntimeError, match="system package graphviz"):
        tapegrad.draw(engine.Value(1.0)).render(tmp_path / "x.svg")


# ---------------------------------------------------------------------------- micrograd

def test_prev_and_op_as_in_micrograd(engine):
    a, b = engine.Value(2.0), engine.Value(-3.0)
    assert a._prev == set() and a._op == ""
    c = a * b
    assert c._prev == {a, b} and c._op == "*"
    assert (a * a)._prev == {a}
    assert (c ** 2)._op == "**2" and (c ** 0.5)._op == "**0.5" and (c ** -1)._op == "**-1"
    assert (c + 1)._op == "+" and (1 - c)._op == "-" and c.relu()._op == "ReLU"
    assert c.tanh()._op == "tanh" and c.exp()._op == "exp" and (2 ** c)._op == "**"
    assert engine.sum([a, 1.0, b])._prev == {a, b}
    assert engine.dot([a, 2.0], [b, a])._prev == {a, b}
    d = (a * b).tanh()                   # the product's handle is gone
    p, = d._prev
    assert p.data == -6.0 and p._op == "*" and p._prev == {a, b}
    (q,) = d._prev
    assert q is p                        # the same handle while it lives


# micrograd's trace_graph.ipynb, verbatim
MICROGRAD_DRAW_DOT = '''
from graphviz import Digraph

def trace(root):
    # builds a set of all nodes and edges in a graph
    nodes, edges = set(), set()
    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges

def draw_dot(root, format='svg', rankdir='LR'):
    """
    format: png | svg | ...
    rankdir: TB (top to bottom graph) | LR (left to right)
    """
    assert rankdir in ['LR', 'TB']
    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir}) #, node_attr={'rankdir': 'TB'})
    
    for n in nodes:
        dot.node(name=str(id(n)), label = "{ data %.4f | grad %.4f }" % (n.data, n.grad), shape='record')
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    
    return dot
'''


def test_micrograds_draw_dot_runs_unchanged(engine):
    pytest.importorskip("graphviz") if not P.REQUIRED else P.require_graphviz()
    scope = {}
    exec(MICROGRAD_DRAW_DOT, scope)
    # micrograd's notebook example: y = (x * 2 + 1).relu()
    x = engine.Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    dot = scope["draw_dot"](y)
    nodes, edges = scope["trace"](y)
    assert len(nodes) == 4 and len(edges) == 3
    assert sorted(n._op for n in nodes) == ["", "*", "+", "ReLU"]
    src = dot.source
    for label in ("{ data 1.0000 | grad 2.0000 }", "{ data 2.0000 | grad 1.0000 }",
                  "{ data 3.0000 | grad 1.0000 }", "label=ReLU", "label=\"*\"",
                  "label=\"+\""):
        assert label in src, (label, src)
    # seed 000 through it, with the picture rendered
    loss, _, _ = P.seed000_values(engine)
    src = scope["draw_dot"](loss).source
    assert "{ data -1.0000 | grad -2.0000 }" in src and "label=\"**2\"" in src
    P.require_graphviz()
    svg = scope["draw_dot"](loss).pipe(format="svg")
    assert "data &#45;1.0000" in svg.decode()


def test_accumulate_grad_variable_is_the_leaf(engine):
    t = engine.tensor([1.0], requires_grad=True)
    fn = (t * 2).grad_fn.next_functions[0][0]
    assert fn.name() == "AccumulateGrad" and fn.variable is t


def test_module_runs_in_a_fresh_interpreter():
    """draw and explain are public on tapegrad and tapegrad.reference."""
    code = ("import tapegrad, tapegrad.reference as R; v = R.Value(2.0); "
            "assert tapegrad.draw is R.draw and tapegrad.explain is R.explain; "
            "print(R.explain((v * v), quiet=True)[0].local)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=P.subprocess_env())
    assert out.stdout.strip() == "4.0", out.stderr
