"""Higher-order gradients of micrograd-style Values (issue 13, item 5): every scalar
row of the op table to second order against torch, the third derivative of tanh,
and backward(create_graph=True) making .grad a Value with history.
"""

import importlib.util
import math
import os

import pytest

import tapegrad

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("_ops_table_value_higher",
                                               os.path.join(ROOT, "tools", "ops.py"))
_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_table)

# a program per scalar row (x = 0.8, w = 1.3), written with Python operators so that it
# runs on Values and on torch scalars
CASES = {
    "add": lambda M, x, w: x + w, "sub": lambda M, x, w: x - w,
    "mul": lambda M, x, w: x * w, "div": lambda M, x, w: x / w,
    "pow": lambda M, x, w: x ** w, "add_const": lambda M, x, w: x + 2.5,
    "mul_const": lambda M, x, w: x * 2.5, "div_const": lambda M, x, w: x / 2.5,
    "rsub_const": lambda M, x, w: 2.5 - x, "rdiv_const": lambda M, x, w: 2.5 / x,
    "pow_const": lambda M, x, w: x ** 3, "rpow_const": lambda M, x, w: 2.5 ** x,
    "neg": lambda M, x, w: -x, "exp": lambda M, x, w: x.exp(), "log": lambda M, x, w: x.log(),
    "tanh": lambda M, x, w: x.tanh(), "relu": lambda M, x, w: x.relu() * x,
    "sigmoid": lambda M, x, w: x.sigmoid(),
    "sum": lambda M, x, w: M.sum([x * x, w * x, w]) if hasattr(M, "ENGINE") else x * x + w * x + w,
    "dot": lambda M, x, w: M.dot([x, w], [w, x]) if hasattr(M, "ENGINE") else 2 * x * w,
}
ROWS = [r["name"] for r in _table.SCALAR_OPS if r["arity"] != 0]


def test_every_scalar_row_has_a_case():
    assert not [r for r in ROWS if r not in CASES]


def _second(M, row):
    """(dy/dx, dy/dw, d/dx and d/dw of (dy/dx * dy/dw)) as floats."""
    ag = M.autograd if hasattr(M, "autograd") else tapegrad.autograd
    if hasattr(M, "ENGINE"):
        x, w = M.Value(0.8), M.Value(1.3)
    else:
        x, w = (M.tensor(v, dtype=M.float64, requires_grad=True) for v in (0.8, 1.3))
    y = CASES[row](M, x, w)
    gx, gw = ag.grad([y], [x, w], create_graph=True, allow_unused=True)
    vals = [0.0 if g is None else float(g.data if hasattr(g, "_inputs") else g)
            for g in (gx, gw)]
    prod = (gx if gx is not None else 0.0) * (gw if gw is not None else 0.0) \
        if gx is not None and gw is not None else (gx if gx is not None else gw)
    if not getattr(prod, "requires_grad", True) or prod is None:
        return vals + [0.0, 0.0]
    hx, hw = ag.grad([prod], [x, w], allow_unused=True)
    return vals + [0.0 if h is None else float(h.data if hasattr(h, "_inputs") else h)
                   for h in (hx, hw)]


@pytest.mark.parametrize("row", ROWS)
def test_scalar_second_order_against_torch(engine, torch, row):
    mine, theirs = _second(engine, row), _second(torch, row)
    assert mine == pytest.approx(theirs, rel=1e-13, abs=1e-15)


def test_third_derivative_of_tanh_on_values(engine):
    x = engine.Value(0.7)
    (g1,) = tapegrad.autograd.grad([x.tanh()], [x], create_graph=True)
    (g2,) = tapegrad.autograd.grad([g1], [x], create_graph=True)
    (g3,) = tapegrad.autograd.grad([g2], [x])
    t = math.tanh(0.7)
    assert g1.data == pytest.approx(1 - t * t, rel=1e-15)
    assert g2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)
    assert g3.data == pytest.approx(-2 * (1 - t * t) ** 2 + 4 * t * t * (1 - t * t), rel=1e-13)
    assert type(g3) is engine.Value and g3._prev == set()      # no history without it


def test_backward_create_graph_makes_grad_a_value(engine):
    x, w = engine.Value(1.5), engine.Value(-0.5)
    y = (x * w).exp() + engine.dot([x, w], [2.0, 3.0]) + x * x
    y.backward(create_graph=True)
    assert type(x.grad) is engine.Value and x.grad._prev
    e = math.exp(-0.75)
    assert x.grad.data == pytest.approx(-0.5 * e + 2.0 + 3.0, rel=1e-15)
    assert w.grad.data == pytest.approx(1.5 * e + 3.0, rel=1e-15)
    x.grad.backward()              # first order, through the recorded gradient
    assert x.grad == pytest.approx(-0.5 * e + 5.0 + 0.25 * e + 2.0, rel=1e-14)
    x.grad = 0.0                   # zero_grad: a number again
    assert x.grad == 0.0 and type(x.grad) is float


def test_allow_unused_on_values(engine):
    x, z = engine.Value(1.0), engine.Value(2.0)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        tapegrad.autograd.grad([x * x], [x, z], create_graph=True)
    gx, gz = tapegrad.autograd.grad([x * x], [x, z], allow_unused=True)
    assert gx.data == 2.0 and gz is None
