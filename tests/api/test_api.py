"""API details: exports, repr, conversions, comparisons, numpy scalars, engine selection."""

import fractions
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import tapegrad
from tapegrad import _ops


def test_exports(engine, request):
    for name in ("Value", "sum", "dot", "clear_tape", "tape_stats", "ENGINE"):
        assert hasattr(engine, name), name
    assert engine.ENGINE == request.node.callspec.params["engine"]
    assert tapegrad.reference.ENGINE == "python"


def test_repr_like_micrograd(engine):
    assert repr(engine.Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(engine.Value(2)) == "Value(data=2.0, grad=0.0)"
    a = engine.Value(-1.5)
    b = a * 4
    b.backward()
    assert repr(a) == "Value(data=-1.5, grad=4.0)"
    assert repr(b) == "Value(data=-6.0, grad=1.0)"
    assert repr(engine.Value(0.1)) == f"Value(data={0.1}, grad={0.0})"
    assert repr(engine.Value(math.inf).log()) == "Value(data=inf, grad=0.0)"


def test_data_and_grad_are_floats(engine):
    for x in (3, True, False, 2.5, np.float32(0.5), np.int64(7), fractions.Fraction(1, 4)):
        v = engine.Value(x)
        assert type(v.data) is float and v.data == float(x)
        assert type(v.grad) is float and v.grad == 0.0
    v = engine.Value(1.0)
    v.data = 4
    v.grad = np.float64(0.25)
    assert (type(v.data), type(v.grad)) == (float, float)
    assert (v.data, v.grad) == (4.0, 0.25)
    assert type((v * 2).data) is float


def test_float_conversion(engine):
    v = engine.Value(2.5)
    assert float(v) == 2.5 and type(float(v)) is float
    assert float(v * 2.0) == 5.0
    assert math.isnan(float(engine.Value(math.nan)))


def test_comparisons_return_bool(engine):
    a, b = engine.Value(1.0), engine.Value(2.0)
    cases = [
        (a < b, True), (a <= b, True), (a > b, False), (a >= b, False),
        (a < 1.5, True), (a > 1, False), (a <= 1, True), (a >= 1.0, True),
        (1.5 < a, False), (0 < a, True), (2 >= b, True), (3.0 <= b, False),
        (a * 2 >= b, True), (a * 2 > b, False),
        (np.float64(0.5) < a, True),
    ]
    for got, expected in cases:
        assert type(got) is bool
        assert got is expected


def test_comparison_with_nan(engine):
    n = engine.Value(math.nan)
    assert (n < 1.0) is False and (n >= 1.0) is False and (n > n) is False


def test_equality_and_hash_are_identity(engine):
    a, b = engine.Value(1.0), engine.Value(1.0)
    assert (a == a) is True
    assert (a == b) is False
    assert (a != b) is True
    assert (a == 1.0) is False
    assert len({a, b, a}) == 2
    h = hash(a)
    a.data = 99.0
    assert hash(a) == h
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    c = a * 1.0
    assert c != a and c in {c: 1}


def test_array_ufunc_is_none(engine):
    assert engine.Value.__array_ufunc__ is None


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2), np.int32(2)],
                         ids=["float64", "float32", "int64", "int32"])
def test_numpy_scalars_on_either_side(engine, scalar):
    v = engine.Value(3.0)
    cases = [
        (scalar * v, 6.0), (v * scalar, 6.0),
        (scalar + v, 5.0), (v + scalar, 5.0),
        (scalar - v, -1.0), (v - scalar, 1.0),
        (scalar / v, 2.0 / 3.0), (v / scalar, 1.5),
        (scalar ** v, 8.0), (v ** scalar, 9.0),
    ]
    for out, expected in cases:
        assert isinstance(out, engine.Value), type(out)
        assert out.data == pytest.approx(expected, rel=1e-15)
    y = scalar * v + v ** scalar
    y.backward()
    assert v.grad == 2.0 + 2 * 3.0
    assert engine.Value(scalar).data == 2.0


def test_numpy_scalar_in_sum_and_dot(engine):
    v = engine.Value(1.0)
    assert engine.sum([v, np.float64(2.0), np.int64(3)]).data == 6.0
    assert engine.dot([v, np.float32(2.0)], [np.float64(4.0), v]).data == 6.0


def test_fraction_and_bool_operands(engine):
    v = engine.Value(2.0)
    assert (v + fractions.Fraction(1, 2)).data == 2.5
    assert (fractions.Fraction(1, 2) * v).data == 1.0
    assert (v * True).data == 2.0
    assert (False + v).data == 2.0


def test_op_codes_match_op_table(engine):
    table = {op.name: op.code for op in _ops.OPS}
    assert sorted(table.values()) == list(range(len(_ops.OPS)))       # dense, unique
    assert len({op.name for op in _ops.OPS}) == len(_ops.OPS)
    assert set(table) >= {"add", "sub", "mul", "div", "pow", "add_const", "mul_const",
                          "div_const", "rsub_const", "rdiv_const", "pow_const",
                          "rpow_const", "neg", "exp", "log", "tanh", "relu", "sigmoid",
                          "sum", "dot"}
    if engine.ENGINE == "c":
        # the compiled engine's C enum, exposed as a dict name -> code
        assert engine.OP_CODES == table
    elif hasattr(engine, "OP_CODES"):
        assert engine.OP_CODES == table


def _run_python(code, **env_changes):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    src = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


SWITCH_CODE = """
import tapegrad, tapegrad.reference as ref
mod = ref if tapegrad.ENGINE == "python" else __import__("tapegrad._engine").__dict__["_engine"]
assert tapegrad.Value is mod.Value and tapegrad.sum is mod.sum and tapegrad.dot is mod.dot
assert tapegrad.clear_tape is mod.clear_tape and tapegrad.tape_stats is mod.tape_stats
assert ref.ENGINE == "python"
v = tapegrad.Value(2.0) * 3
v.backward()
print(tapegrad.ENGINE, type(v).__module__, v.data)
"""


def test_engine_selected_by_environment(engine):
    if engine.ENGINE == "python":
        out = _run_python(SWITCH_CODE, TAPEGRAD_PURE_PYTHON="1")
        assert out.split()[0] == "python"
        assert out.split()[1].startswith("tapegrad.reference")
    else:
        out = _run_python(SWITCH_CODE, TAPEGRAD_PURE_PYTHON=None)
        assert out.split()[0] == "c"
        assert out.split()[1] == "tapegrad._engine"
    assert out.split()[2] == "6.0"
