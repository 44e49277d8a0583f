"""Every op's value and derivative: closed forms, central finite differences, IEEE edges."""

import math

import pytest

from _cases import EDGE_CASES, OP_CASES
from _util import assert_same_float

OP_POINTS = [(case, point) for case in OP_CASES for point in case.points]
OP_IDS = [f"{case.name}@{','.join(map(str, point))}" for case, point in OP_POINTS]


def _run(engine, fn, xs):
    leaves = [engine.Value(x) for x in xs]
    out = fn(*leaves)
    assert isinstance(out, engine.Value), f"{type(out)!r} is not a Value"
    return out, leaves


@pytest.mark.parametrize("case,point", OP_POINTS, ids=OP_IDS)
def test_value_and_grad_closed_form(engine, case, point):
    out, leaves = _run(engine, case.fn, point)
    assert_same_float(out.data, case.f(*point), rel=1e-13, what=f"{case.name} value")
    out.backward()
    assert out.grad == 1.0
    for k, (leaf, expected) in enumerate(zip(leaves, case.df(*point))):
        assert_same_float(leaf.grad, expected, rel=1e-12, what=f"{case.name} d/dx{k}")


@pytest.mark.parametrize("case,point", OP_POINTS, ids=OP_IDS)
def test_grad_matches_central_differences(engine, case, point):
    out, leaves = _run(engine, case.fn, point)
    out.backward()
    for k in range(len(point)):
        h = 1e-6 * max(1.0, abs(point[k]))
        up = list(point)
        down = list(point)
        up[k] += h
        down[k] -= h
        fd = (_run(engine, case.fn, up)[0].data - _run(engine, case.fn, down)[0].data) / (2 * h)
        assert math.isclose(leaves[k].grad, fd, rel_tol=1e-6, abs_tol=1e-7), (
            f"{case.name} d/dx{k}: engine {leaves[k].grad!r}, central difference {fd!r}")


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c.name for c in EDGE_CASES])
def test_ieee_edge_case(engine, case):
    """Domain errors and overflow give IEEE values, never a Python exception."""
    out, leaves = _run(engine, case.fn, case.leaves)
    assert_same_float(out.data, case.value, rel=0.0, what=f"{case.name} value")
    out.backward()
    for k, (leaf, expected) in enumerate(zip(leaves, case.grads)):
        assert_same_float(leaf.grad, expected, rel=1e-15, what=f"{case.name} grad of leaf {k}")


def test_signed_zero_results(engine):
    V = engine.Value
    assert math.copysign(1.0, (-V(0.0)).data) == -1.0
    assert math.copysign(1.0, (V(-1.0) * 0.0).data) == -1.0
    assert (1.0 / V(-0.0)).data == -math.inf


# ---------------------------------------------------------------------------- sum and dot

def test_sum_value_and_grads(engine):
    a, b = engine.Value(1.5), engine.Value(-4.0)
    s = engine.sum([a, 2.0, b, 3])
    assert isinstance(s, engine.Value)
    assert s.data == 1.5 + 2.0 - 4.0 + 3.0
    s.backward()
    assert (a.grad, b.grad) == (1.0, 1.0)


def test_sum_repeated_value_gets_grad_each_time(engine):
    a, b = engine.Value(2.0), engine.Value(5.0)
    s = engine.sum([a, b, a, a])
    assert s.data == 11.0
    (s * 3.0).backward()
    assert (a.grad, b.grad) == (9.0, 3.0)


def test_sum_of_intermediates_and_generator(engine):
    xs = [engine.Value(float(i)) for i in range(5)]
    s = engine.sum(x * x for x in xs)
    assert s.data == sum(i * i for i in range(5))
    s.backward()
    assert [x.grad for x in xs] == [2.0 * i for i in range(5)]


def test_sum_left_to_right_from_positive_zero(engine):
    assert engine.sum([engine.Value(1e16), 1.0, engine.Value(-1e16)]).data == 0.0
    assert engine.sum([1.0, engine.Value(1e16), -1e16]).data == 0.0
    assert engine.sum([engine.Value(1.0), 1e16, -1e16]).data == 0.0
    assert engine.sum([1e16, -1e16, engine.Value(1.0)]).data == 1.0
    s = engine.sum([engine.Value(-0.0)])
    assert s.data == 0.0 and math.copysign(1.0, s.data) == 1.0  # 0.0 + -0.0 == +0.0


def test_sum_empty_and_constants_only(engine):
    s = engine.sum([])
    assert isinstance(s, engine.Value) and s.data == 0.0
    s.backward()  # nothing to propagate to, no error
    assert engine.sum(iter([1, 2.5])).data == 3.5
    assert engine.sum((engine.Value(1.0),)).data == 1.0


def test_sum_grad_finite_differences(engine):
    def f(x, y):
        return engine.sum([engine.Value(x).tanh(), engine.Value(y) * engine.Value(x), 0.5]).data
    x, y = engine.Value(0.3), engine.Value(-1.2)
    s = engine.sum([x.tanh(), y * x, 0.5])
    s.backward()
    h = 1e-6
    assert math.isclose(x.grad, (f(0.3 + h, -1.2) - f(0.3 - h, -1.2)) / (2 * h), rel_tol=1e-6)
    assert math.isclose(y.grad, (f(0.3, -1.2 + h) - f(0.3, -1.2 - h)) / (2 * h), rel_tol=1e-6)
    assert_same_float(x.grad, 1 - math.tanh(0.3) ** 2 - 1.2)
    assert y.grad == 0.3


def test_dot_value_and_grads(engine):
    V = engine.Value
    x0, x1, w0, w1 = V(1.5), V(-2.0), V(0.25), V(3.0)
    d = engine.dot([x0, x1, 4.0], [w0, w1, V(0.5)])
    assert isinstance(d, engine.Value)
    assert d.data == 1.5 * 0.25 + (-2.0) * 3.0 + 4.0 * 0.5
    d.backward()
    assert (x0.grad, x1.grad, w0.grad, w1.grad) == (0.25, 3.0, 1.5, -2.0)


def test_dot_numbers_on_either_side_and_reuse(engine):
    a = engine.Value(3.0)
    d = engine.dot([a, a, 2.0], [a, 2.0, a])  # a*a + 2a + 2a
    assert d.data == 9.0 + 6.0 + 6.0
    d.backward()
    assert a.grad == 2 * 3.0 + 2.0 + 2.0


def test_dot_left_to_right_and_empty(engine):
    V = engine.Value
    assert engine.dot([V(1e16), 1.0, V(-1e16)], [1.0, V(1.0), 1.0]).data == 0.0
    assert engine.dot([V(1.0), 1e16, -1e16], [1.0, 1.0, 1.0]).data == 0.0
    e = engine.dot([], [])
    assert isinstance(e, engine.Value) and e.data == 0.0
    assert engine.dot((V(2.0),), iter([V(4.0)])).data == 8.0


def test_dot_grad_finite_differences(engine):
    def f(a, b):
        return engine.dot([engine.Value(a).exp(), 2.0], [engine.Value(b), engine.Value(a)]).data
    a, b = engine.Value(0.4), engine.Value(-0.9)
    d = engine.dot([a.exp(), 2.0], [b, a])
    d.backward()
    h = 1e-6
    assert math.isclose(a.grad, (f(0.4 + h, -0.9) - f(0.4 - h, -0.9)) / (2 * h), rel_tol=1e-6)
    assert math.isclose(b.grad, (f(0.4, -0.9 + h) - f(0.4, -0.9 - h)) / (2 * h), rel_tol=1e-6)
    assert_same_float(a.grad, -0.9 * math.exp(0.4) + 2.0)
    assert b.grad == math.exp(0.4)


def test_ieee_in_sum_and_dot(engine):
    V = engine.Value
    assert engine.sum([V(math.inf), V(-math.inf)]).data != engine.sum([V(math.inf), V(-math.inf)]).data
    d = engine.dot([V(math.inf)], [V(0.0)])
    assert math.isnan(d.data)
    x, w = V(math.inf), V(0.0)
    d = engine.dot([x], [w])
    d.backward()
    assert x.grad == 0.0 and w.grad == math.inf
