"""tapegrad.explain: the backward pass as numbered chain-rule steps (seed 000's
example), returned as data; Values and small tensor graphs; nothing accumulated."""

import io

import pytest

import tapegrad
from tapegrad._ops import OPS
import _pictures as P

SEED000 = """\
step 1: dloss/ds = 2s = -2
step 2: ds/dŷ = 1, so dloss/dŷ = dloss/ds × ds/dŷ = -2 × 1 = -2
step 3: ds/dy = -1, so dloss/dy = dloss/ds × ds/dy = -2 × -1 = 2
step 4: dŷ/dx = w = 1, so dloss/dx = dloss/dŷ × dŷ/dx = -2 × 1 = -2
step 5: dŷ/dw = x = 1, so dloss/dw = dloss/dŷ × dŷ/dw = -2 × 1 = -2
so dloss/dw = -2, dloss/dx = -2, dloss/dy = 2
"""


def test_seed000_steps(engine):
    loss, params, names = P.seed000_values(engine)
    out = io.StringIO()
    steps = tapegrad.explain(loss, params, names, file=out)
    assert out.getvalue() == SEED000
    assert str(steps) + "\n" == SEED000
    assert [(s.number, s.output, s.input, s.op, s.local, s.formula, s.upstream, s.gradient)
            for s in steps] == [
        (1, "loss", "s", "**2", -2.0, "2s", 1.0, -2.0),
        (2, "s", "ŷ", "-", 1.0, "1", -2.0, -2.0),
        (3, "s", "y", "-", -1.0, "-1", -2.0, 2.0),
        (4, "ŷ", "x", "*", 1.0, "w", -2.0, -2.0),
        (5, "ŷ", "w", "*", 1.0, "x", -2.0, -2.0)]
    assert steps.gradients == {"w": -2.0, "x": -2.0, "y": 2.0}
    assert steps.root == "loss"


def test_explain_prints_to_stdout_and_quiet(engine, capsys):
    loss, params, names = P.seed000_values(engine)
    tapegrad.explain(loss, params, names)
    assert capsys.readouterr().out == SEED000
    tapegrad.explain(loss, params, names, quiet=True)
    assert capsys.readouterr().out == ""


def test_before_backward_nothing_accumulates(engine):
    x, w = engine.Value(3.0), engine.Value(-1.0)
    loss = (x * w).tanh() + x * x
    steps = tapegrad.explain(loss, names={"x": x, "w": w}, quiet=True)
    assert (x.grad, w.grad, loss.grad) == (0.0, 0.0, 0.0)
    loss.backward()
    assert steps.gradients == {"x": x.grad, "w": w.grad}


def test_several_paths_add_up(engine):
    a = engine.Value(3.0)
    b = a * a + a
    text = str(tapegrad.explain(b, names={"a": a}, quiet=True)).splitlines()
    assert text == ["step 1: dout/dv1 = 1", "step 2: dout/da = 1",
                    "step 3: dv1/da = a + a = 6, so dout/da += dout/dv1 × dv1/da = "
                    "1 × 6 = 6 (now 7)", "so dout/da = 7"]


# one graph per scalar op of the table: (build, formula of d out / d first input)
OP_CASES = {
    "add": (lambda M, a, b: a + b, "1"), "sub": (lambda M, a, b: a - b, "1"),
    "mul": (lambda M, a, b: a * b, "b"), "div": (lambda M, a, b: a / b, "1 / b"),
    "pow": (lambda M, a, b: a ** b, "b * a ** (b - 1)"),
    "add_const": (lambda M, a, b: a + 2, "1"), "mul_const": (lambda M, a, b: a * 3, "3"),
    "div_const": (lambda M, a, b: a / 4, "0.25"), "rsub_const": (lambda M, a, b: 1 - a, "-1"),
    "rdiv_const": (lambda M, a, b: 2 / a, "-2 / (a * a)"),
    "pow_const": (lambda M, a, b: a ** 3, "3 * a ** 2"),
    "rpow_const": (lambda M, a, b: 2 ** a, "out * log(2)"),
    "neg": (lambda M, a, b: -a, "-1"), "exp": (lambda M, a, b: a.exp(), "out"),
    "log": (lambda M, a, b: a.log(), "1 / a"),
    "tanh": (lambda M, a, b: a.tanh(), "1 - out * out"),
    "relu": (lambda M, a, b: a.relu(), "1"),
    "sigmoid": (lambda M, a, b: a.sigmoid(), "out * (1 - out)"),
    "sum": (lambda M, a, b: M.sum([a, b, 1.0]), "1"),
    "dot": (lambda M, a, b: M.dot([a, 2.0], [b, a]), "b + 2"),
}


def test_every_scalar_op_has_a_case():
    assert set(OP_CASES) == {op.name for op in OPS} - {"leaf"}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_local_derivative_of_each_op_is_the_tables(engine, name):
    build, want = OP_CASES[name]
    a, b = engine.Value(1.5), engine.Value(0.75)
    out = build(engine, a, b)
    steps = tapegrad.explain(out, names={"a": a, "b": b}, quiet=True)
    step = next(s for s in steps if s.input == "a")
    assert step.formula == want
    out.backward()
    assert steps.gradients["a"] == pytest.approx(a.grad, rel=1e-15)
    if "b" in steps.gradients:
        assert steps.gradients["b"] == pytest.approx(b.grad, rel=1e-15)


def test_small_tensor_graph(engine):
    root, params, names = P.seed003_chain(engine)
    lines = str(tapegrad.explain(root, params, names, quiet=True)).splitlines()
    assert lines == [
        "step 1: dout/dz = [0.3333, 0.3333, 0.3333]",
        "step 2: dz/dy = [10, 14, 18], so dout/dy = dout/dz × dz/dy = "
        "[0.3333, 0.3333, 0.3333] × [10, 14, 18] = [3.3333, 4.6667, 6]",
        "step 3: dy/dt1 = [1, 1, 1], so dout/dt1 = dout/dy × dy/dt1 = "
        "[3.3333, 4.6667, 6] × [1, 1, 1] = [3.3333, 4.6667, 6]",
        "step 4: dt1/dx = [2, 2, 2], so dout/dx = dout/dt1 × dt1/dx = "
        "[3.3333, 4.6667, 6] × [2, 2, 2] = [6.6667, 9.3333, 12]",
        "so dout/dx = [6.6667, 9.3333, 12]"]


def test_tensor_step_without_one_local_tensor(engine):
    a = engine.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = engine.tensor([[0.5], [-1.0]], requires_grad=True)
    out = (a @ b).sum()
    steps = tapegrad.explain(out, {"a": a, "b": b}, quiet=True)
    mm = [s for s in steps if s.op == "MmBackward0"]
    assert [s.input for s in mm] == ["a", "b"] and all(s.local is None for s in mm)
    assert "dt2/da = (not one tensor), so dout/da = dout/dt2 · dt2/da = [0.5, -1, 0.5, -1]" \
        in str(steps)
    out.backward()
    assert steps.gradients["b"].numpy().tolist() == b.grad.numpy().tolist()


def test_too_large_to_explain(engine):
    v = engine.Value(0.5)
    for _ in range(300):
        v = v * 1.0
    with pytest.raises(ValueError, match="more than 200 nodes .*tapegrad.draw"):
        tapegrad.explain(v)
