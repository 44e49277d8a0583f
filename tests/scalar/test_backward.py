"""The reverse sweep: reuse, diamonds, repeated backward, accumulation, intermediate grads."""

import math

import pytest

from _util import assert_same_float


def micrograd_readme(V):
    """micrograd's README example (test_more_ops), with ``V`` the leaf constructor."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return a, b, g


def test_micrograd_readme_example(engine):
    a, b, g = micrograd_readme(engine.Value)
    g.backward()
    assert round(g.data, 4) == 24.7041
    assert round(a.grad, 4) == 138.8338
    assert round(b.grad, 4) == 645.5773
    # the float64 values (torch float64 gives the same; micrograd differs in the last bit)
    assert_same_float(g.data, 24.70408163265306, rel=1e-14)
    assert_same_float(a.grad, 138.83381924198252, rel=1e-13)
    assert_same_float(b.grad, 645.5772594752186, rel=1e-13)


# ---------------------------------------------------------------------------- reuse

def test_square_by_reuse(engine):
    a = engine.Value(-3.0)
    y = a * a
    y.backward()
    assert y.data == 9.0
    assert a.grad == -6.0


@pytest.mark.parametrize("expr,value,grad", [
    (lambda a: a + a, 6.0, 2.0),
    (lambda a: a - a, 0.0, 0.0),
    (lambda a: a / a, 1.0, 0.0),
    (lambda a: a * a * a, 27.0, 27.0),
    (lambda a: a ** a, 27.0, 27.0 * (math.log(3.0) + 1.0)),
    (lambda a: (a * a).tanh() + a, math.tanh(9.0) + 3.0, (1 - math.tanh(9.0) ** 2) * 6.0 + 1.0),
], ids=["a+a", "a-a", "a/a", "a*a*a", "a**a", "tanh(a*a)+a"])
def test_reused_leaf(engine, expr, value, grad):
    a = engine.Value(3.0)
    y = expr(a)
    y.backward()
    assert_same_float(y.data, value, rel=1e-14)
    assert_same_float(a.grad, grad, rel=1e-13, abs_tol=1e-15)


def test_diamond(engine):
    a = engine.Value(1.5)
    b = a * 2.0          # two paths from a to d
    c = a + 1.0
    d = b * c
    d.backward()
    assert d.data == 3.0 * 2.5
    assert a.grad == 2.0 * 2.5 + 3.0 * 1.0
    assert b.grad == 2.5 and c.grad == 3.0 and d.grad == 1.0


def test_diamond_of_intermediate(engine):
    x = engine.Value(0.5)
    h = x.exp()          # an intermediate used by three children
    y = h * h + h.tanh() - 3.0 / h
    y.backward()
    eh = math.exp(0.5)
    dh = 2 * eh + (1 - math.tanh(eh) ** 2) + 3.0 / eh ** 2
    assert_same_float(h.grad, dh, rel=1e-13)
    assert_same_float(x.grad, dh * eh, rel=1e-13)


def test_doubling_ladder_counts_each_node_once(engine):
    """x_{k+1} = x_k + x_k: 2**k paths; each node must be swept once (exact powers of 2)."""
    x = engine.Value(1.0)
    y = x
    nodes = []
    for _ in range(200):
        y = y + y
        nodes.append(y)
    y.backward()
    assert y.data == 2.0 ** 200
    assert x.grad == 2.0 ** 200
    assert [n.grad for n in nodes[-3:]] == [4.0, 2.0, 1.0]
    assert nodes[0].grad == 2.0 ** 199


# ---------------------------------------------------------------------------- repeated backward

def test_backward_twice_doubles_leaves_not_intermediates(engine):
    a, b = engine.Value(2.0), engine.Value(-3.0)
    c = a * b
    d = c.tanh() + a
    d.backward()
    first = (a.grad, b.grad, c.grad, d.grad)
    d.backward()
    assert_same_float(a.grad, 2 * first[0], rel=1e-15)
    assert_same_float(b.grad, 2 * first[1], rel=1e-15)
    assert c.grad == first[2] == 1 - math.tanh(-6.0) ** 2
    assert d.grad == 1.0
    d.backward()
    assert_same_float(a.grad, 3 * first[0], rel=1e-15)


def test_micrograd_double_count_bug_is_absent(engine):
    # micrograd re-accumulates into intermediates on a second backward(); tapegrad must not
    a = engine.Value(3.0)
    b = a * a
    c = b * 2.0
    c.backward()
    c.backward()
    assert b.grad == 2.0
    assert a.grad == 2 * (2.0 * 2 * 3.0)


def test_grad_accumulates_across_graphs_and_zeroes(engine):
    w = engine.Value(0.5)
    (w * 3.0).backward()
    (w * w).backward()
    assert w.grad == 3.0 + 1.0
    w.grad = 0
    assert w.grad == 0.0 and type(w.grad) is float
    (w * 3.0).backward()
    assert w.grad == 3.0
    w.grad = 10
    (w * 3.0).backward()
    assert w.grad == 13.0


def test_intermediate_grads_after_backward(engine):
    a, b = engine.Value(2.0), engine.Value(-1.0)
    c = a * b            # -2
    d = c.exp()          # e^-2
    e = d + c            # e^-2 - 2
    f = e ** 2
    f.backward()
    de = 2 * (math.exp(-2.0) - 2.0)
    assert_same_float(f.grad, 1.0)
    assert_same_float(e.grad, de)
    assert_same_float(d.grad, de)
    assert_same_float(c.grad, de * math.exp(-2.0) + de)
    assert_same_float(a.grad, c.grad * -1.0)
    assert_same_float(b.grad, c.grad * 2.0)


def test_leaf_as_root(engine):
    a = engine.Value(7.0)
    a.backward()
    assert a.grad == 1.0
    a.backward()
    assert a.grad == 2.0
    a.grad = 0.5
    a.backward()
    assert a.grad == 1.5
    assert a.data == 7.0


def test_backward_from_an_inner_node(engine):
    a = engine.Value(2.0)
    b = a * 3.0
    c = b * b
    b.backward()          # c plays no part
    assert a.grad == 3.0 and b.grad == 1.0
    c.backward()
    assert b.grad == 2 * 6.0
    assert a.grad == 3.0 + 2 * 6.0 * 3.0


def test_new_root_resets_shared_intermediates(engine):
    a, b = engine.Value(1.5), engine.Value(4.0)
    c = a * b
    d = c * 5.0
    e = c * 3.0
    d.backward()
    assert c.grad == 5.0
    a.grad = 0.0
    b.grad = 0.0
    e.backward()          # d is not in e's graph: its old gradient must not leak into c
    assert c.grad == 3.0
    assert (a.grad, b.grad) == (3.0 * 4.0, 3.0 * 1.5)


@pytest.mark.parametrize("side", [
    lambda c: c.log(),          # local derivative 1/c = inf at c = 0
    lambda c: c ** 0.5,         # 0.5 * c**-0.5 = inf
    lambda c: 1.0 / c,          # -1/c**2 = -inf
    lambda c: c * math.inf,     # g * inf
], ids=["log", "sqrt", "rdiv", "mul_inf"])
def test_nodes_outside_the_roots_graph_do_not_contribute(engine, side):
    """A node created between the root's inputs and the root, but not used by the root,
    has zero gradient; propagating it (0 * inf = nan) would poison the real gradients."""
    a, b = engine.Value(0.0), engine.Value(2.0)
    c = a * b                   # 0.0
    dangling = side(c)          # noqa: F841 - alive, outside e's graph
    e = c * 3.0
    e.backward()
    assert c.grad == 3.0
    assert a.grad == 6.0
    assert b.grad == 0.0


def test_grad_through_data_change(engine):
    w = engine.Value(1.0)
    (w * w).backward()
    assert w.grad == 2.0
    w.data = 4.0
    w.grad = 0.0
    y = w * w
    assert y.data == 16.0
    y.backward()
    assert w.grad == 8.0


def test_unused_leaf_grad_untouched(engine):
    a, b, unused = engine.Value(1.0), engine.Value(2.0), engine.Value(3.0)
    unused.grad = 0.25
    (a * b).backward()
    assert unused.grad == 0.25


def test_many_leaves_wide_graph(engine):
    xs = [engine.Value(0.01 * i) for i in range(2000)]
    s = engine.sum(x * x for x in xs)
    t = engine.dot(xs, [float(i) for i in range(2000)])
    (s + t).backward()
    for i in (0, 1, 999, 1999):
        assert_same_float(xs[i].grad, 2 * 0.01 * i + i, rel=1e-14)
