"""The operators' fast path (csrc/tg_value.h) and their general path agree.

The compiled engine records ``Value op Value`` and ``Value op float/int`` (either
side) in C, and hands every other case (other number types, stale handles, a full
tape, mixed tapes, huge ints) to the Cython methods. Each case here runs on both
engines and against plain float arithmetic, bit for bit.
"""

import fractions
import inspect
import math
import struct
import threading

import numpy as np
import pytest

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}


def bits(x):
    return struct.pack("<d", x)


def same(p, q):
    return bits(p) == bits(q) or (math.isnan(p) and math.isnan(q))


def ieee(op, a, b):
    """a op b in IEEE double arithmetic (x / 0.0 is inf, not ZeroDivisionError)."""
    with np.errstate(all="ignore"):
        return float(op(np.float64(a), np.float64(b)))


def float_grads(name, x, y):
    """d(x op y)/dx and /dy by the engines' formulas, in plain floats."""
    if name == "add":
        return 1.0, 1.0
    if name == "sub":
        return 1.0, -1.0
    if name == "mul":
        return y, x
    if name == "div":
        return 1.0 / y, (-1.0 * x) / (y * y)
    return y * x ** (y - 1.0), x ** y * math.log(x)


CONSTANTS = [0.75, 3, -2, True, np.float64(1.25), fractions.Fraction(1, 3), 0.0, -0.0]


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("c", CONSTANTS, ids=repr)
def test_value_op_constant_either_side(engine, name, c):
    op = OPS[name]
    x = 1.5
    for left in (True, False):
        v = engine.Value(x)
        if name == "pow" and not left and float(c) <= 0.0:
            continue                                      # c ** x of a non-positive c
        out = op(v, c) if left else op(c, v)
        assert type(out) is engine.Value
        expected = ieee(op, x, float(c)) if left else ieee(op, float(c), x)
        assert bits(out.data) == bits(expected)
        out.backward()
        assert v.grad == v.grad or not math.isfinite(expected)   # a number where defined


@pytest.mark.parametrize("name", sorted(OPS))
def test_value_op_value(engine, name):
    x, y = 1.5, 0.625
    a, b = engine.Value(x), engine.Value(y)
    out = OPS[name](a, b)
    assert bits(out.data) == bits(OPS[name](x, y))
    out.backward()
    gx, gy = float_grads(name, x, y)
    assert a.grad == pytest.approx(gx, rel=1e-15)
    assert b.grad == pytest.approx(gy, rel=1e-15)


def test_same_results_on_both_engines_for_every_operand_kind(engine):
    from tapegrad import reference
    for name, op in OPS.items():
        for c in CONSTANTS[:6]:
            got = [op(E.Value(1.5), c).data for E in (engine, reference)]
            got += [op(c, E.Value(1.5)).data for E in (engine, reference)]
            # (a NaN's sign may differ: C's pow(-2, 1.5) is -nan, the reference's +nan)
            assert same(got[0], got[1]) and same(got[2], got[3]), (name, c)


@pytest.mark.parametrize("use", [
    lambda v, w: v + 1.0, lambda v, w: 1.0 + v, lambda v, w: v - 2, lambda v, w: 2 - v,
    lambda v, w: v * w, lambda v, w: w * v, lambda v, w: v / 0.5, lambda v, w: 0.5 / v,
    lambda v, w: v ** 2, lambda v, w: 2 ** v, lambda v, w: -v, lambda v, w: v.relu(),
    lambda v, w: v.tanh(), lambda v, w: v ** w,
], ids=["v+f", "f+v", "v-i", "i-v", "v*w", "w*v", "v/f", "f/v", "v**i", "i**v", "-v",
        "relu", "tanh", "v**w"])
def test_stale_handle_raises_on_every_operator(engine, use):
    w = engine.Value(0.5)
    v = w * 3.0
    engine.clear_tape()
    with pytest.raises(RuntimeError, match="clear_tape"):
        use(v, w)


def test_huge_int_raises_overflow_on_both_sides(engine):
    v = engine.Value(2.0)
    for use in (lambda: v + 10 ** 400, lambda: 10 ** 400 - v, lambda: v ** 10 ** 400):
        with pytest.raises(OverflowError):
            use()
    assert (v + 10 ** 20).data == 2.0 + 1e20              # a large int that fits is fine


def test_values_of_two_threads_do_not_mix_through_any_operator(engine):
    box = {}
    t = threading.Thread(target=lambda: box.update(v=engine.Value(1.0) * 2.0))
    t.start()
    t.join()
    mine = engine.Value(1.0) * 3.0
    for use in (lambda: mine + box["v"], lambda: box["v"] * mine, lambda: mine ** box["v"]):
        with pytest.raises(RuntimeError, match="different threads"):
            use()


def test_chain_across_many_tape_growths_and_collections(engine):
    """The issue's chain y = (y*w + 0.1).relu() ** 2, long enough to fill the tape
    several times (the fast path hands a full tape to the general path, which
    grows or collects), equals the same chain on floats, value and gradient."""
    yv, wv = engine.Value(0.5), engine.Value(0.9)
    y, w = 0.5, 0.9
    dy_dw = 0.0
    for _ in range(3000):
        yv = (yv * wv + 0.1).relu() ** 2
        z = y * w + 0.1
        dy_dw = 2.0 * z * (y + w * dy_dw)               # z > 0 along this chain
        y = z ** 2
    assert bits(yv.data) == bits(y)
    yv.backward()
    assert wv.grad == pytest.approx(dy_dw, rel=1e-12)


def test_handles_die_and_come_back_in_any_order(engine):
    """Reused handles (the freelist) never keep an old node or lose a new one."""
    x = engine.Value(2.0)
    kept = []
    for k in range(3000):
        t = x * float(k)
        if k % 7 == 0:
            kept.append((k, t))
        del t
    for k, t in kept:
        assert t.data == 2.0 * k
        t.backward()
    assert x.grad == sum(float(k) for k, _ in kept)


def test_unary_methods_have_signatures(engine):
    for name in ("exp", "log", "tanh", "relu", "sigmoid"):
        params = list(inspect.signature(getattr(engine.Value, name)).parameters)
        assert params == ["self"]
