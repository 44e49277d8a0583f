"""Memory-safety regressions of issue 10 (items 1, 2 and 5), on both engines.

1. bool tensors ran the float64 kernels (1-byte elements read and written as 8):
   views, slices, transposes and bool * / + / - bool.
2. a bool or int64 tensor could be made to require grad.
5. softmax / log_softmax over an empty dim read element 0 of an empty buffer.

Each expectation is torch 2.13's (the last test cross-checks against torch).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def bool_dtype(engine):
    """The engine's bool dtype (``bool`` in the reference, ``bool_`` in the compiled engine)."""
    return getattr(engine, "bool", None) or engine.bool_


def mask(engine, *shape):
    """A random bool tensor made by a comparison, and its values as a numpy array."""
    m = engine.randn(*shape) > 0
    a = np.array(np.asarray(m))
    assert a.dtype == np.bool_
    return m, a


# -- 1. bool tensors never reach a float kernel -----------------------------------

VIEWS = {
    "slice": (lambda t: t[10:20], lambda a: a[10:20]),
    "step_slice": (lambda t: t[3::7], lambda a: a[3::7]),
    "index": (lambda t: t[17], lambda a: a[17]),
    "t": (lambda t: t.reshape(10, 100).t(), lambda a: a.reshape(10, 100).T),
    "transpose": (lambda t: t.reshape(10, 100).transpose(0, 1), lambda a: a.reshape(10, 100).T),
    "permute": (lambda t: t.reshape(10, 10, 10).permute(2, 0, 1),
                lambda a: a.reshape(10, 10, 10).transpose(2, 0, 1)),
    "slice_2d": (lambda t: t.reshape(10, 100)[2:5, 40:90], lambda a: a.reshape(10, 100)[2:5, 40:90]),
    "reshape": (lambda t: t.reshape(25, 40), lambda a: a.reshape(25, 40)),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_bool_views_read_one_byte_elements(engine, name):
    """`m = randn(1000) > 0; m[10:20]` ran the float64 gather: 8 bytes per 1-byte
    element, wrong values and a corrupted heap."""
    op, ref = VIEWS[name]
    for _ in range(5):          # several random masks: a wrong read shows on one of them
        m, a = mask(engine, 1000)
        r = op(m)
        got = np.asarray(r)
        want = ref(a)
        assert str(r.dtype).endswith("bool")
        assert got.dtype == np.bool_ and got.shape == want.shape
        assert np.array_equal(got, want), name
    assert np.array_equal(np.asarray(m), a)      # the source is untouched


def test_bool_times_and_plus_bool_are_logical(engine):
    """bool * bool is a logical and, bool + bool a logical or, both bool (as torch);
    they ran the float64 binary kernel on 1-byte elements."""
    for shapes in [((9,), (9,)), ((1000,), (1000,)), ((9, 1), (9,)), ((3, 4), (1, 4))]:
        x, a = mask(engine, *shapes[0])
        y, b = mask(engine, *shapes[1])
        for r, want in [(x * y, np.logical_and(a, b)), (x + y, np.logical_or(a, b))]:
            assert str(r.dtype).endswith("bool") and not r.requires_grad
            got = np.asarray(r)
            assert got.dtype == np.bool_ and got.shape == want.shape
            assert np.array_equal(got, want)
        assert np.array_equal(np.asarray(x), a) and np.array_equal(np.asarray(y), b)


def test_bool_minus_bool_raises_like_torch(engine):
    x, _ = mask(engine, 9)
    y, _ = mask(engine, 9)
    with pytest.raises(RuntimeError, match=r"Subtraction, the `-` operator, with two bool "
                                           r"tensors is not supported"):
        x - y


def test_bool_divide_and_pow_like_torch(engine):
    """bool / bool divides in float32 (torch's true division); bool ** bool raises
    torch's NotImplementedError."""
    x = engine.from_numpy(np.array([True, False, True]))
    y = engine.from_numpy(np.array([True, True, False]))
    r = x / y
    assert str(r.dtype).endswith("float32")
    assert np.array_equal(np.asarray(r), np.array([1.0, 0.0, np.inf], np.float32))
    with pytest.raises(NotImplementedError, match="pow"):
        x ** y


def test_bool_and_float_meet_in_float(engine):
    """A bool operand with a float one is converted first (no kernel reads 1-byte
    elements as floats)."""
    m, a = mask(engine, 100)
    f = engine.randn(100)
    r = m * f
    assert str(r.dtype).endswith("float32")
    assert np.array_equal(np.asarray(r), a.astype(np.float32) * np.asarray(f))
    assert np.array_equal(np.asarray(m * 2.0), a * np.float32(2.0))


# -- 2. only floating point tensors can require grad ------------------------------

REQUIRES_GRAD_MSG = r"(?i)only Tensors of floating point (and complex )?dtype can require gradients"


@pytest.mark.parametrize("kind", ["bool", "int64"])
@pytest.mark.parametrize("how", ["requires_grad_", "setter", "tensor"])
def test_only_float_tensors_can_require_grad(engine, kind, how):
    """`from_numpy(np.ones(1000, bool)).requires_grad_()` was accepted: an optimizer
    step then wrote 8 bytes per 1-byte element. torch raises RuntimeError."""
    data = np.ones(1000, np.bool_ if kind == "bool" else np.int64)
    dtype = bool_dtype(engine) if kind == "bool" else engine.int64
    with pytest.raises(RuntimeError, match=REQUIRES_GRAD_MSG):
        if how == "requires_grad_":
            engine.from_numpy(data).requires_grad_()
        elif how == "setter":
            engine.from_numpy(data).requires_grad = True
        else:
            engine.tensor(data.tolist(), dtype=dtype, requires_grad=True)
    t = engine.from_numpy(data)
    with pytest.raises(RuntimeError, match=REQUIRES_GRAD_MSG):
        t.requires_grad_(True)
    assert not t.requires_grad
    t.requires_grad_(False)          # turning it off stays allowed, as in torch
    assert not t.requires_grad


@pytest.mark.parametrize("kind", ["bool", "int64"])
def test_cast_to_non_float_is_not_recorded(engine, kind):
    """`x.to(bool)` of an x that requires grad was recorded: the result required grad,
    and a backward through a slice of it ran the float64 gather backward on 1-byte
    gradients (heap corruption). torch: the result does not require grad."""
    x = engine.randn(1000, requires_grad=True)
    b = x.to(bool_dtype(engine) if kind == "bool" else engine.int64)
    assert not b.requires_grad and b.grad_fn is None
    s = b[10:500]
    assert not s.requires_grad
    want = np.asarray(x.detach())[10:500].astype(np.bool_ if kind == "bool" else np.int64)
    assert np.array_equal(np.asarray(s), want)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (s * 1.0).sum().backward()
    assert x.grad is None


# -- 5. softmax over an empty dim --------------------------------------------------

@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 0), 1), ((3, 0), 0), ((0, 3), 1), ((0, 3), 0),
                                        ((2, 0, 4), 1), ((0,), 0)])
def test_softmax_of_empty_is_empty(engine, fn, shape, dim):
    """`zeros(3, 0).softmax(1)` read element 0 of an empty buffer; torch returns an
    empty tensor of the same shape, and an empty gradient."""
    x = engine.zeros(*shape, requires_grad=True)
    y = getattr(x, fn)(dim)
    assert tuple(y.shape) == shape
    assert np.asarray(y.detach()).size == 0
    y.sum().backward()
    assert x.grad is not None and tuple(x.grad.shape) == shape


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_of_empty_matches_torch(engine, torch, fn):
    for shape, dim in [((3, 0), 1), ((0, 3), 1), ((3, 0), 0)]:
        x = engine.zeros(*shape, requires_grad=True)
        tx = torch.zeros(*shape, requires_grad=True)
        y, ty = getattr(x, fn)(dim), getattr(tx, fn)(dim)
        assert tuple(y.shape) == tuple(ty.shape)
        y.sum().backward()
        ty.sum().backward()
        assert tuple(x.grad.shape) == tuple(tx.grad.shape)
        assert np.array_equal(np.asarray(x.grad), tx.grad.numpy())


GUARDED_SOFTMAX = textwrap.dedent("""
    import ctypes, importlib, mmap, sys
    import numpy as np
    T = importlib.import_module(sys.argv[1])
    PAGE = mmap.PAGESIZE
    m = mmap.mmap(-1, 2 * PAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(addr + PAGE, PAGE, 0) == 0      # PROT_NONE: any read faults
    a = np.ndarray((3, 0), dtype=np.float32, buffer=m, offset=PAGE)
    x = T.from_numpy(a)                                  # borrowed: data at the guard page
    for fn in ("softmax", "log_softmax"):
        y = getattr(x, fn)(1)
        assert tuple(y.shape) == (3, 0), y.shape
    print("ok")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mprotect through libc: Linux")
def test_softmax_of_empty_reads_no_memory(engine):
    """The empty input's data pointer is the first byte of a PROT_NONE page: the
    kernel read row[0] there (a SEGV before the fix; in a subprocess)."""
    import tapegrad
    root = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-c", GUARDED_SOFTMAX, engine.__name__],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr)
