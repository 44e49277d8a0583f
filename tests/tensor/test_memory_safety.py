"""Memory-safety regressions of issue 10, on both engines.

1. bool tensors ran the float64 kernels (1-byte elements read and written as 8):
   views, slices, transposes and bool * / + / - bool.
2. a bool or int64 tensor could be made to require grad.
3. optimizer state was never matched to its parameter: a step after module.double()
   or `p.data = <another shape>` ran the kernels over the wrong number of bytes.
4. `.data =` of another shape or dtype on a tensor a graph still needs: backward wrote
   the recorded number of elements into a gradient buffer of the new size.
5. softmax / log_softmax over an empty dim read element 0 of an empty buffer.
8. a Tensor made by __new__ alone (or by a subclass skipping Tensor.__init__) had no
   buffer: every method dereferenced NULL.
9. `w.grad = None` on one thread while another ran a GIL-free backward() freed the
   buffer the sweep was writing.
10. from_numpy shared misaligned arrays: every kernel loaded and stored unaligned.
13. np.asarray(w) of a tensor requiring grad was a writable view behind the version
    counter.

Each expectation is torch 2.13's, or where torch itself corrupts or is inconsistent,
the sane neighbour of it (said in the test).
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


def run_isolated(engine, source):
    """Run source in a fresh interpreter with T the engine module; (returncode, stdout,
    stderr). A crash (SEGV) there fails the calling test instead of the whole run."""
    import tapegrad
    root = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    prelude = "import importlib, sys\nimport numpy as np\nT = importlib.import_module(sys.argv[1])\n"
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(source),
                           engine.__name__], capture_output=True, text=True, timeout=300,
                          env=env)
    return proc.returncode, proc.stdout.strip(), proc.stderr


# -- 3. optimizer state is checked against its parameter --------------------------

def _stepped(engine, libs, make, n=10):
    """A parameter of n zeros and its optimizer after one step."""
    p = engine.zeros(n, requires_grad=True)
    opt = make(libs.optim, [p])
    (p * 2.0).sum().backward()
    opt.step()
    opt.zero_grad()
    return p, opt


OPTIMIZERS = {
    "sgd_momentum": lambda optim, ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "sgd_nesterov": lambda optim, ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda optim, ps: optim.Adam(ps, lr=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("shape", [(100000,), (2, 5)])
def test_optimizer_state_of_another_shape_raises(engine, libs, name, shape):
    """`p.data = ones(100000)` after a step: the next step ran the kernel over 100000
    elements of 10-element state (heap corruption). torch raises RuntimeError (its
    op's "The size of tensor a (10) must match ..."); ours names the optimizer, both
    layouts and the fix, and changes nothing."""
    p, opt = _stepped(engine, libs, OPTIMIZERS[name])
    p.data = engine.ones(*shape)
    (p * 2.0).sum().backward()
    before = np.array(np.asarray(p.detach()))
    optimizer = "Adam" if name == "adam" else "SGD"
    with pytest.raises(RuntimeError, match=rf"{optimizer}\.step\(\).*shape \[10\].*"
                                           rf"del optimizer\.state"):
        opt.step()
    assert np.array_equal(np.asarray(p.detach()), before)
    del opt.state[p]                    # the fix the message names: the state starts afresh
    opt.step()
    assert not np.array_equal(np.asarray(p.detach()), before)


def test_adam_state_of_another_dtype_raises(engine, libs):
    """module.double() after an Adam step: the float64 kernel read float32 moments
    (8 bytes per 4-byte element). torch raises RuntimeError ("expected dtype float for
    `end` but got dtype double"); so do we, before anything changes."""
    engine.manual_seed(0)
    model = libs.nn.Linear(300, 30)
    opt = libs.optim.Adam(model.parameters(), lr=0.1)
    model(engine.randn(4, 300)).sum().backward()
    opt.step()
    opt.zero_grad()
    model.double()
    model(engine.randn(4, 300, dtype=engine.float64)).sum().backward()
    before = np.array(np.asarray(model.weight.detach()))
    with pytest.raises(RuntimeError, match=r"Adam\.step\(\).*float64.*float32"):
        opt.step()
    assert np.array_equal(np.asarray(model.weight.detach()), before)


def _sgd_across_double(lib_tensor, sgd, set_grad, to_double, values, kw):
    """Three SGD steps on a float32 parameter made float64 (.data =) after the first;
    the parameter and momentum buffer after them."""
    p0, grads = values
    p = lib_tensor(p0)
    opt = sgd([p], lr=0.1, **kw)
    for k, g in enumerate(grads):
        if k == 1:
            to_double(p)
        set_grad(p, g.astype(np.float64 if k else np.float32))
        opt.step()
    return p, opt.state[p]["momentum_buffer"]


@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.9, dampening=0.3, weight_decay=0.01)])
def test_sgd_momentum_buffer_survives_double_like_torch(engine, libs, torch, kw):
    """SGD after `.double()`: torch keeps the float32 momentum buffer and computes in
    float64 (type promotion), rounding the buffer to float32; the compiled kernel ran
    float64 arithmetic over the float32 buffer (out of bounds)."""
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(1000).astype(np.float32),
              [rng.standard_normal(1000) for _ in range(3)])

    def ours_grad(p, g):
        p.grad = engine.tensor(g, dtype=engine.float64 if g.dtype == np.float64
                               else engine.float32)

    def ours_double(p):
        p.data = p.data.double()

    def torch_grad(p, g):
        p.grad = torch.tensor(g)

    def torch_double(p):
        p.data = p.data.double()

    p, buf = _sgd_across_double(lambda a: engine.tensor(a, requires_grad=True),
                                libs.optim.SGD, ours_grad, ours_double, values, kw)
    tp, tbuf = _sgd_across_double(lambda a: torch.tensor(a, requires_grad=True),
                                  torch.optim.SGD, torch_grad, torch_double, values, kw)
    assert p.dtype == engine.float64 and buf.dtype == engine.float32
    assert tbuf.dtype == torch.float32
    assert np.array_equal(np.asarray(buf), tbuf.numpy())       # rounded where torch rounds
    np.testing.assert_allclose(np.asarray(p.detach()), tp.detach().numpy(), rtol=1e-15,
                               atol=1e-15)


def test_sgd_after_module_double_steps_like_torch(engine, libs):
    """The issue's case: nn.Linear, momentum SGD, step, .double(), step: no corruption,
    the buffer stays float32 and the weights move as a float64 computation says."""
    engine.manual_seed(0)
    model = libs.nn.Linear(300, 300)
    opt = libs.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(engine.randn(4, 300)).sum().backward()
    opt.step()
    opt.zero_grad()
    buf = np.array(np.asarray(opt.state[model.weight]["momentum_buffer"]))
    model.double()
    x = engine.randn(4, 300, dtype=engine.float64)
    model(x).sum().backward()
    w = np.asarray(model.weight.detach()).copy()
    g = np.asarray(model.weight.grad).copy()
    opt.step()
    new_buf = np.asarray(opt.state[model.weight]["momentum_buffer"])
    assert new_buf.dtype == np.float32 and model.weight.dtype == engine.float64
    want_buf = (buf * np.float32(0.9)).astype(np.float64) + g
    np.testing.assert_array_equal(new_buf, want_buf.astype(np.float32))
    np.testing.assert_allclose(np.asarray(model.weight.detach()),
                               w - 0.1 * new_buf.astype(np.float64), rtol=1e-14, atol=1e-15)


def test_module_double_converts_grads_like_torch(engine, libs):
    """module.double() sets .data of another dtype, which drops a leaf's .grad (item 4):
    the module converts the gradients itself, as torch's does."""
    engine.manual_seed(0)
    model = libs.nn.Linear(3, 2)
    model(engine.randn(4, 3)).sum().backward()
    g = np.array(np.asarray(model.weight.grad))
    model.double()
    assert model.weight.grad.dtype == engine.float64
    assert np.array_equal(np.asarray(model.weight.grad), g.astype(np.float64))


# -- 4. `.data =` of another layout on a tensor a graph still needs ---------------

INVALID = r"Function MulBackward0 returned an invalid gradient at index 0 - "


def test_leaf_data_of_another_shape_refuses_backward(engine):
    """The issue's case: 100000 elements written into a 2-element gradient buffer.
    torch stores the [100000] gradient on the [2] tensor (and raises for other ops:
    "The size of tensor a (2) must match ..."); ours always raises, writing nothing."""
    x = engine.randn(100000, requires_grad=True)
    y = (x * 2.0).sum()
    x.data = engine.randn(2)
    with pytest.raises(RuntimeError, match=INVALID + r"got \[100000\] but expected shape "
                                                     r"compatible with \[2\]"):
        y.backward()
    assert x.grad is None
    (x * 2.0).sum().backward()                 # a graph of the new data works
    assert np.array_equal(np.asarray(x.grad), np.full(2, 2.0, np.float32))


@pytest.mark.parametrize("op", ["sum", "matmul", "gather", "exp"])
def test_leaf_data_of_another_shape_refuses_every_op(engine, op):
    """The check is the sweep's, before any node writes a parent's gradient."""
    x = engine.randn(30, 40, requires_grad=True)
    y = {"sum": lambda: x.sum(), "matmul": lambda: (x @ engine.randn(40, 5)).sum(),
         "gather": lambda: x[3:9, ::2].sum(), "exp": lambda: x.exp().sum()}[op]()
    x.data = engine.randn(2, 2)
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[30, 40\] "
                                           r"but expected shape compatible with \[2, 2\]"):
        y.backward()
    assert x.grad is None


def test_leaf_data_of_another_dtype_refuses_backward(engine):
    """float32 -> float64 `.data` under a recorded graph: the float32 gradient would be
    accumulated into a float64 buffer (or 8-byte reads of 4-byte elements)."""
    x = engine.randn(10, requires_grad=True)
    y = (x * 2.0).sum()
    x.data = engine.randn(10, dtype=engine.float64)
    with pytest.raises(RuntimeError, match=INVALID + r"expected dtype .*float64 but got "
                                                     r".*float32"):
        y.backward()


def test_leaf_data_of_another_layout_drops_grad(engine):
    """A leaf's .grad has its value's shape and dtype: `.data =` of another layout drops
    it (torch keeps the stale one, whose next accumulation then raises or mixes dtypes);
    the same layout keeps it."""
    x = engine.randn(10, requires_grad=True)
    (x * 2.0).sum().backward()
    x.data = engine.randn(10)
    assert x.grad is not None
    for new in (engine.randn(2, 5), engine.randn(10, dtype=engine.float64)):
        x.data = new
        assert x.grad is None
        (x * 3.0).sum().backward()
        assert x.grad.dtype == new.dtype and tuple(x.grad.shape) == tuple(new.shape)
        assert np.array_equal(np.asarray(x.grad), np.full(tuple(new.shape), 3.0))


def test_non_leaf_data_like_torch(engine, torch):
    """A node keeps the value its graph recorded: a graph recorded before `h.data =`
    back-propagates as recorded (torch: x.grad of 6s); one recorded after raises
    torch's "Function MulBackward0 returned an invalid gradient at index 0 - got [2]
    but expected shape compatible with [3]"; so does a seed of the new shape."""
    def run(lib, randn):
        x = lib.ones(3, requires_grad=True)
        h = x * 2.0
        y = (h * 3.0).sum()
        h.data = randn(2)
        y.backward()
        errors = []
        for bad in (lambda: (h * 3.0).sum().backward(), lambda: h.backward(lib.ones(2))):
            with pytest.raises(RuntimeError) as info:
                bad()
            errors.append(str(info.value))
        return np.array(x.grad.numpy()), errors

    got, errors = run(engine, engine.randn)
    want, torch_errors = run(torch, torch.randn)
    assert np.array_equal(got, want)
    assert errors[0].startswith(torch_errors[0])
    assert errors[1].startswith(torch_errors[1])


def test_non_leaf_data_keeps_recorded_output(engine, torch):
    """y = x.exp(); y.data = zeros: ExpBackward reads the recorded result (torch's
    saved output), not the new data."""
    for lib in (engine, torch):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()
        y.data = lib.zeros(3)
        y.backward(lib.ones(3))
        assert np.allclose(np.asarray(x.grad.detach().numpy()), np.e)


# -- 8. a tensor made by __new__ alone has storage ---------------------------------

def test_tensor_new_alone_is_empty_like_torch(engine, torch):
    """`T.Tensor.__new__(T.Tensor).zero_()` dereferenced a NULL buffer (in a subprocess:
    it crashed). torch: an empty float32 tensor of shape (0,)."""
    code, out, err = run_isolated(engine, """
        t = T.Tensor.__new__(T.Tensor)
        print(repr(t.zero_()), tuple(t.shape), t.dtype, np.asarray(t).size, repr(t + 1.0))
    """)
    assert code == 0, err
    assert out == f"tensor([]) (0,) {engine.float32} 0 tensor([])"
    assert repr(torch.Tensor.__new__(torch.Tensor).zero_()) == "tensor([])"


def test_subclass_skipping_init_has_its_data(engine, torch):
    """A subclass whose __init__ does not call super().__init__(): torch builds the
    tensor in __new__, so it has its data (ours crashed in repr)."""
    code, out, err = run_isolated(engine, """
        class S(T.Tensor):
            def __init__(self, *args):
                self.tag = "mine"
        s = S([1.0, 2.0])
        print(np.asarray(s).tolist(), type(s).__name__, s.tag, tuple(S(2, 3).shape),
              tuple(S().shape))
    """)
    assert code == 0, err
    assert out == "[1.0, 2.0] S mine (2, 3) (0,)"

    class TS(torch.Tensor):
        def __init__(self, *args):
            self.tag = "mine"
    assert TS([1.0, 2.0]).tolist() == [1.0, 2.0] and tuple(TS().shape) == (0,)


def test_tensor_init_is_objects_like_torch(engine, torch):
    """Tensor.__init__ is object's (the tensor is made in __new__): passing it data
    from a subclass is torch's TypeError, not a silently empty tensor."""
    for lib in (engine, torch):
        class S(lib.Tensor):
            def __new__(cls, data):
                return super().__new__(cls)

            def __init__(self, data):
                super().__init__(data)
        with pytest.raises(TypeError, match="takes exactly one argument"):
            S([1.0, 2.0])
        assert tuple(lib.Tensor([1.0, 2.0]).shape) == (2,)


# -- 9. grad = None while another thread sweeps -------------------------------------

CONCURRENT_ZERO_GRAD = """
    import threading
    w = T.ones(100000, requires_grad=True)     # a gradient of 400 kB: malloc maps it
    h = w
    for _ in range(200):                      # 200 nodes write w's gradient; the sweep
        h = h + w                             # releases the GIL
    y = h.sum()
    done = threading.Event()
    seen = []

    def whole(g):
        # every element got the same whole number of sweeps (201 each): never a reset
        # in the middle of one
        a = np.asarray(g)
        return bool((a == a[0]).all()) and a[0] % 201 == 0 and a[0] >= 201

    def sweeps():
        for _ in range(30):
            y.backward()
            g = w.grad                        # (a handle keeps the buffer alive)
            if g is not None:
                seen.append(whole(g))
        done.set()

    def zero_grads():
        while not done.is_set():
            w.grad = None                     # what zero_grad() does

    threads = [threading.Thread(target=sweeps), threading.Thread(target=zero_grads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    y.backward()
    print("ok" if all(seen) and whole(w.grad) else f"torn {seen}")
"""


def test_grad_none_during_another_threads_backward(engine):
    """One thread sets w.grad = None while another runs a large backward() on the same
    tape: the sweep wrote into the freed buffer (SEGV in tg_grad_for_write). Now the
    change waits for the sweep: each sweep's gradient is whole."""
    for _ in range(3):
        code, out, err = run_isolated(engine, CONCURRENT_ZERO_GRAD)
        assert code == 0, err[-2000:]
        assert out == "ok", out


# -- 10. from_numpy of a misaligned array ------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_from_numpy_copies_a_misaligned_array(engine, dtype):
    """`np.frombuffer(bytearray(n), np.float32, offset=1)` was borrowed: every kernel
    then loaded and stored unaligned elements (undefined behaviour in C). torch shares
    it; tapegrad copies it into an aligned buffer (so writes are not shared), the one
    case besides non-contiguous or read-only arrays."""
    size = np.dtype(dtype).itemsize
    raw = bytearray(size * 1000 + 1)
    a = np.ndarray((1000,), dtype=dtype, buffer=raw, offset=1)
    assert not a.flags.aligned and a.flags.writeable
    a[...] = np.arange(1000)
    t = engine.from_numpy(a)
    got = np.asarray(t)
    assert got.flags.aligned and got.ctypes.data % size == 0
    assert np.array_equal(got, np.arange(1000).astype(dtype))
    a[0] = 7
    assert got[0] == 0                               # a copy, not a view
    if dtype != np.int64:
        assert np.array_equal(np.asarray(t * 2.0), np.arange(1000).astype(dtype) * 2)


def test_from_numpy_still_shares_an_aligned_array(engine):
    a = np.arange(10, dtype=np.float32)
    t = engine.from_numpy(a)
    a[3] = 42
    assert np.asarray(t)[3] == 42


# -- 13. numpy views of a tensor that requires grad --------------------------------

NUMPY_MSG = (r"Can't call numpy\(\) on Tensor that requires grad\. "
             r"Use tensor\.detach\(\)\.numpy\(\) instead\.")


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # torch's
@pytest.mark.parametrize("how", ["asarray", "array", "numpy", "dunder", "dunder_dtype"])
def test_numpy_of_a_tensor_requiring_grad_raises_like_torch(engine, torch, how):
    """np.asarray(w) was a writable view behind the version counter: writing into it
    changed the gradient silently. torch raises RuntimeError while grad mode is on."""
    conv = {"asarray": np.asarray, "array": np.array, "numpy": lambda t: t.numpy(),
            "dunder": lambda t: t.__array__(), "dunder_dtype": lambda t: t.__array__(np.float64)}
    for lib in (engine, torch):
        w = lib.randn(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=NUMPY_MSG):
            conv[how](w)
        with pytest.raises(RuntimeError, match=NUMPY_MSG):
            conv[how](w * 2.0)
        assert conv[how](w.detach()).shape == (3,)


def test_numpy_of_a_tensor_requiring_grad_under_no_grad(engine, torch):
    """torch allows it under no_grad (then it is the user's view to keep honest)."""
    from tapegrad import no_grad
    w = engine.randn(3, requires_grad=True)
    with no_grad():
        a = np.asarray(w)
    assert np.array_equal(a, np.asarray(w.detach()))
    tw = torch.randn(3, requires_grad=True)
    with torch.no_grad():
        assert np.asarray(tw).shape == (3,)
