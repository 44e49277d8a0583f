"""Errors are PyTorch-grade and odd inputs never crash: shape mismatches name both shapes
and the op, wrong types raise TypeError, int tensors cannot require grad, out-of-range
indices raise IndexError naming index and size; empty and 0-d tensors, absurd sizes and
nan/inf values give torch's answers or clean exceptions, never a segfault."""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from _tensors import npy

# ---------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("opname,fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b),
])
def test_broadcast_mismatch_names_op_and_shapes(engine, opname, fn):
    a = engine.ones(2, 3, requires_grad=True)
    b = engine.ones(4)
    with pytest.raises(RuntimeError) as info:
        fn(a, b)
    msg = str(info.value)
    assert opname in msg and "(2, 3)" in msg and "(4,)" in msg, msg
    with pytest.raises(RuntimeError) as info:
        fn(engine.ones(3, 1, 2), engine.ones(4, 3))
    msg = str(info.value)
    assert "(3, 1, 2)" in msg and "(4, 3)" in msg, msg


def names_shape(msg, shape):
    """The message names ``shape``: as a tuple "(2, 3)", a list "[2, 3]" or torch's
    "2x3" / "(3)" styles."""
    forms = {str(tuple(shape)), str(list(shape)), "x".join(map(str, shape))}
    if len(shape) == 1:
        forms.add(f"({shape[0]})")
    return any(f in msg for f in forms)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)),
                                   ((3,), (4, 2))])
def test_matmul_mismatch_names_shapes(engine, sa, sb):
    a, b = engine.ones(*sa), engine.ones(*sb)
    with pytest.raises(RuntimeError) as info:
        a @ b
    msg = str(info.value)
    assert names_shape(msg, sa) and names_shape(msg, sb), msg


def test_mm_dot_mismatch(engine):
    with pytest.raises(RuntimeError) as info:
        engine.mm(engine.ones(2, 3), engine.ones(2, 3))
    assert names_shape(str(info.value), (2, 3)), str(info.value)
    with pytest.raises(RuntimeError) as info:
        engine.dot(engine.ones(3), engine.ones(2))
    msg = str(info.value)
    assert names_shape(msg, (3,)) and names_shape(msg, (2,)), msg


def test_gradient_shape_mismatch(engine):
    x = engine.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        (x * 2).backward(engine.ones(3, 2))


def test_bad_dims(engine):
    x = engine.ones(2, 3)
    for f in (lambda: x.sum(2), lambda: x.sum(-3), lambda: x.mean(5), lambda: x.max(2),
              lambda: x.softmax(2), lambda: x.transpose(0, 2), lambda: x.unsqueeze(4),
              lambda: x.squeeze(3), lambda: x.flatten(0, 5), lambda: x.size(2)):
        with pytest.raises((IndexError, RuntimeError)):
            f()


# ---------------------------------------------------------------------------- types


def test_wrong_operand_types_raise_type_error(engine):
    t = engine.tensor([1.0, 2.0])
    for f in (lambda: t + "a", lambda: t * None, lambda: t @ 3, lambda: t - object(),
              lambda: "a" * t, lambda: t / {}, lambda: t ** "x", lambda: t + [1, 2]):
        with pytest.raises(TypeError):
            f()
    with pytest.raises(TypeError, match="str"):
        engine.exp("a")
    with pytest.raises(TypeError):
        engine.tensor([1.0], dtype="float32")
    with pytest.raises(TypeError):
        engine.tensor([1.0]).reshape("a")
    with pytest.raises((TypeError, IndexError)):       # torch: TypeError / IndexError
        engine.tensor([1.0, 2.0])["a"]
    with pytest.raises((TypeError, IndexError)):
        engine.tensor([1.0, 2.0])[1.5]


def test_int_tensors_cannot_require_grad(engine):
    msg = r"(?i)only Tensors of floating point"
    with pytest.raises(RuntimeError, match=msg):
        engine.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match=msg):
        engine.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match=msg):
        engine.zeros(2, dtype=engine.int64, requires_grad=True)
    t = engine.tensor([1, 2])
    with pytest.raises(RuntimeError, match=msg):
        t.requires_grad = True
    assert engine.tensor([1.0, 2.0], requires_grad=True).requires_grad


def test_int_tensor_arithmetic(engine):
    """int64 op int64: torch semantics (int64 result), or a TypeError saying integer
    tensor arithmetic is not supported (allowed by the contract)."""
    a, b = engine.tensor([1, 2, 3]), engine.tensor([4, 5, 6])
    try:
        c = a * b + a - b
    except TypeError as exc:
        assert "integer tensor" in str(exc), str(exc)
        return
    assert c.dtype == engine.int64 and c.tolist() == [1, 7, 15]


def test_int_tensor_with_float_promotes(engine):
    a = engine.tensor([1, 2, 3])
    assert (a * 0.5).dtype == engine.float32 and npy(a * 0.5).tolist() == [0.5, 1.0, 1.5]
    w = engine.tensor([1.0, 1.0, 1.0], requires_grad=True)
    (w * a).sum().backward()
    assert npy(w.grad).tolist() == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------------------- indexing


def test_index_out_of_range(engine):
    x = engine.tensor([1.0, 2.0, 3.0])
    for idx in (3, -4, 100):
        with pytest.raises(IndexError) as info:
            x[idx]
        assert str(idx) in str(info.value) and "3" in str(info.value)
    m = engine.zeros(2, 3)
    with pytest.raises(IndexError) as info:
        m[0, 7]
    assert "7" in str(info.value) and "3" in str(info.value)
    with pytest.raises(IndexError):
        m[0, 0, 0]
    with pytest.raises(IndexError):
        engine.tensor(1.0)[0]
    assert x[1:100].tolist() == [2.0, 3.0]       # slices clip, as in Python
    assert x[5:].shape == (0,)


# ---------------------------------------------------------------------------- empty, 0-d


def test_empty_tensors(engine):
    e = engine.zeros(0, requires_grad=True)
    assert e.sum().item() == 0.0
    assert math.isnan(e.mean().item())
    e.sum().backward()
    assert tuple(e.grad.shape) == (0,)
    with pytest.raises((RuntimeError, IndexError, ValueError)):
        e.max()
    z = engine.zeros(0, 3) @ engine.zeros(3, 2)
    assert tuple(z.shape) == (0, 2)
    z = engine.zeros(2, 0) @ engine.zeros(0, 3)
    assert npy(z).tolist() == [[0.0] * 3] * 2
    assert tuple((engine.zeros(0, 3) + engine.ones(3)).shape) == (0, 3)
    assert tuple(engine.zeros(0, 3).sum(0).shape) == (3,)
    assert tuple(engine.zeros(0, 3).exp().shape) == (0, 3)
    assert tuple(engine.zeros(4, 0).softmax(-1).shape) == (4, 0)
    assert engine.zeros(0).tolist() == []


def test_zero_dim_tensors(engine):
    x = engine.tensor(2.0, requires_grad=True)
    outs = [x.exp(), x.log(), x.tanh(), x.relu(), x.sigmoid(), x.abs(), x.sqrt(),
            x.clamp(0, 1), x.sum(), x.sum(0), x.sum(-1), x.mean(), x.max(), x.softmax(0),
            x.log_softmax(-1), x.reshape(1), x.reshape(()), x.unsqueeze(0), x.squeeze(),
            x.flatten(), x * x, x * 1.0]
    total = outs[0]
    for o in outs[1:]:
        total = total + o.sum()
    total.backward()
    assert x.grad is not None and np.isfinite(npy(x.grad)).all()
    assert x.unsqueeze(0).shape == (1,) and x.flatten().shape == (1,)
    assert x.max(0).values.shape == ()


# ---------------------------------------------------------------------------- nan / inf

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, 1e30]

UNARY = {
    "exp": lambda t: t.exp(), "log": lambda t: t.log(), "tanh": lambda t: t.tanh(),
    "relu": lambda t: t.relu(), "sigmoid": lambda t: t.sigmoid(), "abs": lambda t: t.abs(),
    "sqrt": lambda t: t.sqrt(), "clamp": lambda t: t.clamp(-0.5, 0.5),
    "neg": lambda t: -t, "pow2": lambda t: t ** 2, "pow_half": lambda t: t ** 0.5,
    "pow0": lambda t: t ** 0, "recip": lambda t: 1.0 / t, "rpow": lambda t: 2.0 ** t,
    "square_self": lambda t: t * t, "div_self": lambda t: t / t,
    "softmax": lambda t: t.softmax(0), "log_softmax": lambda t: t.log_softmax(0),
    "max": lambda t: t.max(), "sum": lambda t: t.sum(), "mean": lambda t: t.mean(),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_special_values_like_torch(engine, torch, name, dtype):
    f = UNARY[name]
    elementwise = name not in ("softmax", "log_softmax", "max", "sum", "mean")
    cases = [[v] for v in SPECIAL] if elementwise else [SPECIAL, [1.0, math.inf],
                                                        [-math.inf, 0.0], [math.nan, 1.0]]
    for data in cases:
        got, want = [], []
        for M, out in ((engine, got), (torch, want)):
            x = M.tensor(data, dtype=getattr(M, dtype), requires_grad=True)
            y = f(x)
            y.backward(M.ones_like(y))
            out.append((npy(y), npy(x.grad)))
        (v, g), (tv, tg) = got[0], want[0]
        rtol = 1e-14 if dtype == "float64" else 1e-6
        _same_special(v, tv, rtol, (name, data))
        if name != "max":          # torch's max grad with nan is an implementation detail
            _same_special(g, tg, rtol, (name, data, "grad"))


def _same_special(a, b, rtol, what):
    """Same nan pattern, same infinities (with sign), same signed zeros' values, finite
    values within rtol."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a, b)
    assert (np.isnan(a) == np.isnan(b)).all(), (what, a, b)
    assert (np.isposinf(a) == np.isposinf(b)).all() and \
        (np.isneginf(a) == np.isneginf(b)).all(), (what, a, b)
    fin = np.isfinite(b)
    assert np.allclose(a[fin], b[fin], rtol=rtol, atol=0.0), (what, a, b)


# ---------------------------------------------------------------------------- no crash

_ODD = r'''
import math, sys
sys.path[:0] = {paths!r}
from _util import load_engine
E = load_engine({engine!r})
ok = 0

def attempt(f):
    global ok
    try:
        f()
    except (RuntimeError, ValueError, TypeError, IndexError, MemoryError, OverflowError,
            NotImplementedError, ZeroDivisionError):
        pass
    ok += 1

big = [2 ** 62, 10 ** 15, 2 ** 63 - 1, 2 ** 64, -1, -(2 ** 62)]
for n in big:
    attempt(lambda: E.zeros(n))
    attempt(lambda: E.ones(n, 4))
    attempt(lambda: E.randn(n))
    attempt(lambda: E.empty(n))
    attempt(lambda: E.full((n,), 1.0))
    attempt(lambda: E.arange(n))
    attempt(lambda: E.ones(3).reshape(n))
    attempt(lambda: E.ones(3)[n])
    attempt(lambda: E.ones(3).sum(n))
    attempt(lambda: E.ones(3).unsqueeze(n))
    attempt(lambda: E.ones(1).reshape(1, 1)[0, n])
attempt(lambda: E.zeros(2 ** 40, 2 ** 40))
attempt(lambda: E.zeros(2 ** 31, 2 ** 31, 2 ** 31))
attempt(lambda: E.ones(2 ** 20, 0, 2 ** 50))
attempt(lambda: E.ones(3).reshape(-1, -1))
attempt(lambda: E.ones(0).reshape(-1, 0))
attempt(lambda: E.ones(0).max())
attempt(lambda: E.ones(0).softmax(0))
attempt(lambda: E.ones(0, 2).max(0))
attempt(lambda: E.ones(2, 0).max(1))
attempt(lambda: E.ones(0) @ E.ones(0))
attempt(lambda: E.tensor([[[]]]).sum())
attempt(lambda: E.tensor([1.0])[::0])
attempt(lambda: E.tensor([1.0])[::-1])
attempt(lambda: E.tensor([1.0, 2.0]).transpose(0, 0))
attempt(lambda: E.tensor(float("nan")).max())
attempt(lambda: E.tensor([float("nan")] * 3).max(0))
attempt(lambda: E.tensor([float("inf"), -float("inf")]).softmax(0))
attempt(lambda: E.tensor([1e308], dtype=E.float64).exp().log())
attempt(lambda: E.tensor([3.4e38]) * 10)
attempt(lambda: (E.tensor([0.0], requires_grad=True) ** 0.5).sum().backward())
attempt(lambda: (E.tensor([0.0], requires_grad=True).log()).sum().backward())
attempt(lambda: E.tensor([[1.0, 2.0]]).clamp(min=float("nan")))
attempt(lambda: E.tensor([1.0]).clamp(2.0, 1.0))
attempt(lambda: E.tensor([1.0], requires_grad=True).backward(E.tensor([1.0, 2.0])))
attempt(lambda: E.tensor(1.0, requires_grad=True).backward(E.tensor([[1.0]])))
attempt(lambda: E.tensor([1.0]).item() + E.tensor([]).item())
attempt(lambda: E.Tensor(-1))
attempt(lambda: E.Tensor(2 ** 62, 2))
attempt(lambda: E.from_numpy(__import__("numpy").zeros((2, 3))[:, ::2]))
attempt(lambda: E.from_numpy(__import__("numpy").zeros(3, dtype=">f8")))
attempt(lambda: E.from_numpy(__import__("numpy").zeros(3, dtype="complex128")))
attempt(lambda: E.tensor(__import__("numpy").zeros((2, 3))[:, ::2]))
attempt(lambda: E.tensor([1.0, 2.0]).numpy().resize(10))
x = E.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
del x
attempt(lambda: y.sum().backward())
attempt(lambda: y.grad_fn.next_functions)
print("OK", ok)
'''


def test_odd_inputs_never_crash(engine):
    """Absurd sizes, degenerate shapes, non-finite values: exceptions are fine, a crash
    (segfault, abort) is not. Runs in a subprocess so that a crash fails this test
    instead of killing the run."""
    import tapegrad

    paths = [os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__))),
             os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    code = _ODD.format(paths=paths, engine=engine.ENGINE)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (
        f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n"
        + textwrap.shorten(proc.stderr[-3000:], 3000))
    assert proc.stdout.startswith("OK"), proc.stdout
