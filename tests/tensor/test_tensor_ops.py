"""Every differentiable tensor op of the contract, on random shapes with broadcasting:
values and vector-Jacobian products against numpy closed forms, central finite
differences (float64) and torch (float64 to ~1e-10, float32 to ~1e-6); output and
gradient dtypes and shapes; torch's grad_fn names.

The op table is in _tensor_cases.py. Each example builds float leaves, applies the op
and backpropagates a random cotangent ``G`` (``out.backward(G)``), which checks the full
vector-Jacobian product rather than the gradient of one scalar.
"""

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from _tensor_cases import OPS
from _tensors import as_tensor, assert_close, npy

EXAMPLES = 8
SEEDS = st.integers(0, 2 ** 32 - 1)


def _draw(op, data):
    shapes, params = data.draw(op.shapes, label="shapes, params")
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    arrays = op.draw_arrays(rng, shapes)
    expected = np.asarray(op.value(*arrays, **params), dtype=np.float64)
    g = rng.standard_normal(expected.shape)
    return arrays, params, expected, g, rng


def _vjp(M, op, arrays, params, g, dtype):
    leaves = [as_tensor(M, a, dtype, requires_grad=True) for a in arrays]
    out = op.fn(M, *leaves, **params)
    out.backward(as_tensor(M, g, out.dtype))
    return out, leaves


def _scale(*arrays):
    return max([1.0] + [float(np.max(np.abs(a))) for a in arrays if np.size(a)])


def _check_shapes_dtypes(M, out, leaves, expected, dtype, what):
    assert tuple(out.shape) == expected.shape, f"{what}: output shape {tuple(out.shape)}, " \
                                               f"expected {expected.shape}"
    assert out.dtype == dtype, f"{what}: output dtype {out.dtype}, expected {dtype}"
    for k, leaf in enumerate(leaves):
        assert leaf.grad is not None, f"{what}: leaf {k} got no gradient"
        assert tuple(leaf.grad.shape) == tuple(leaf.shape), (
            f"{what}: grad {k} shape {tuple(leaf.grad.shape)}, leaf shape {tuple(leaf.shape)}")
        assert leaf.grad.dtype == dtype, f"{what}: grad {k} dtype {leaf.grad.dtype}"


def _examples(op):
    # the function forms (fn_*) share their method form's math: fewer examples
    return 3 if op.name.startswith("fn_") else EXAMPLES


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_float64_closed_form_and_finite_differences(engine, op):
    """float64: value and VJP equal the numpy closed forms; <grad, v> equals the central
    difference of <op(x + t v), G> at t = 0 for two random directions v (all inputs
    moved at once)."""

    @settings(max_examples=_examples(op))
    @given(data=st.data())
    def check(data):
        arrays, params, expected, g, rng = _draw(op, data)
        out, leaves = _vjp(engine, op, arrays, params, g, engine.float64)
        _check_shapes_dtypes(engine, out, leaves, expected, engine.float64, op.name)
        assert_close(npy(out), expected, rtol=1e-12, atol=1e-13 * _scale(expected),
                     what=f"{op.name} value {params}")
        grads = [npy(x.grad) for x in leaves]
        for k, ge in enumerate(op.vjp(arrays, expected, g, **params)):
            ge = np.broadcast_to(ge, arrays[k].shape)
            assert_close(grads[k], ge, rtol=1e-10, atol=1e-12 * _scale(ge, g),
                         what=f"{op.name} grad {k} {params}")

        def objective(*xs):
            with engine.no_grad():
                y = op.fn(engine, *[as_tensor(engine, x, engine.float64) for x in xs],
                          **params)
            return float(np.sum(npy(y) * g))

        eps = 1e-6
        for _ in range(2):
            vs = [rng.standard_normal(a.shape) for a in arrays]
            plus = objective(*[a + eps * v for a, v in zip(arrays, vs)])
            minus = objective(*[a - eps * v for a, v in zip(arrays, vs)])
            fd = (plus - minus) / (2 * eps)
            an = sum(float(np.sum(gr * v)) for gr, v in zip(grads, vs))
            tol = 1e-6 * (abs(an) + _scale(*grads) * _scale(*vs)
                          + _scale(expected) * _scale(g))
            assert abs(fd - an) <= tol, (
                f"{op.name} {params}: finite difference {fd!r}, backward {an!r}")

    check()


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_against_torch(engine, torch, op):
    """Values and VJPs equal torch's: float64 to ~1e-12 (values) / 1e-10 (grads);
    float32 in, float32 out and float32 grads, within ~1e-6 relative of torch float32."""

    @settings(max_examples=_examples(op))
    @given(data=st.data())
    def check(data):
        arrays, params, expected, g, _ = _draw(op, data)
        out, leaves = _vjp(engine, op, arrays, params, g, engine.float64)
        tout, tleaves = _vjp(torch, op, arrays, params, g, torch.float64)
        assert tuple(out.shape) == tuple(tout.shape)
        assert_close(npy(out), npy(tout), rtol=1e-12, atol=1e-13 * _scale(npy(tout)),
                     what=f"{op.name} float64 value {params}")
        for k, (leaf, tleaf) in enumerate(zip(leaves, tleaves)):
            assert leaf.grad is not None
            tg = npy(tleaf.grad)
            assert_close(npy(leaf.grad), tg, rtol=1e-10, atol=1e-12 * _scale(tg, g),
                         what=f"{op.name} float64 grad {k} {params}")

        a32 = [a.astype(np.float32).astype(np.float64) for a in arrays]
        g32 = g.astype(np.float32).astype(np.float64)
        out, leaves = _vjp(engine, op, a32, params, g32, engine.float32)
        tout, tleaves = _vjp(torch, op, a32, params, g32, torch.float32)
        _check_shapes_dtypes(engine, out, leaves, npy(tout), engine.float32, op.name)
        assert npy(out).dtype == np.float32
        assert_close(npy(out), npy(tout), rtol=2e-6, atol=1e-6 * _scale(npy(tout)),
                     what=f"{op.name} float32 value {params}")
        for k, (leaf, tleaf) in enumerate(zip(leaves, tleaves)):
            tg = npy(tleaf.grad)
            assert_close(npy(leaf.grad), tg, rtol=2e-6, atol=1e-6 * _scale(tg),
                         what=f"{op.name} float32 grad {k} {params}")

    check()


# ---------------------------------------------------------------------------- grad_fn names

NAMED = [op for op in OPS if op.grad_fn]


def _grad_fn(M, op, data):
    shapes, params = data.draw(op.shapes, label="shapes, params")
    arrays = op.draw_arrays(np.random.default_rng(0), shapes)
    leaves = [as_tensor(M, a, requires_grad=True) for a in arrays]
    return op.fn(M, *leaves, **params).grad_fn, params


# names do not depend on shapes: no shrinking (a failing name would shrink for seconds)
NAME_SETTINGS = settings(max_examples=4, phases=(Phase.explicit, Phase.generate))


@pytest.mark.parametrize("op", NAMED, ids=repr)
@NAME_SETTINGS
@given(data=st.data())
def test_grad_fn_name(engine, op, data):
    node, params = _grad_fn(engine, op, data)
    assert node is not None
    assert node.name() == op.grad_fn, params
    assert repr(node).startswith(f"<{op.grad_fn} object at 0x"), repr(node)
    assert type(node).__name__ == op.grad_fn, (params, type(node))


@pytest.mark.parametrize("op", NAMED, ids=repr)
@NAME_SETTINGS
@given(data=st.data())
def test_grad_fn_name_is_torchs(torch, op, data):
    """The table's names are torch's (so the name tests above check torch parity)."""
    node, params = _grad_fn(torch, op, data)
    assert type(node).__name__ == op.grad_fn, (params, type(node).__name__)


@pytest.mark.parametrize("expr,name", [
    ("x[1]", "SelectBackward0"), ("x[-1]", "SelectBackward0"), ("m[:, 1]", "SelectBackward0"),
    ("x[1:3]", "SliceBackward0"), ("x[::2]", "SliceBackward0"), ("m[1:]", "SliceBackward0"),
    ("m.sum(-1, keepdim=True)", "SumBackward1"), ("m.mean(0)", "MeanBackward1"),
    ("x.max(0).values", "MaxBackward0"), ("m.squeeze(1)", "SqueezeBackward1"),
])
def test_grad_fn_names_more(engine, torch_or_none, expr, name):
    for M in [engine] + ([torch_or_none] if torch_or_none is not None else []):
        x = M.tensor([1.0, 4.0, 2.0, 3.0], requires_grad=True)
        m = M.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        out = eval(expr, {"x": x, "m": m})
        assert out.grad_fn.name() == name, (M.__name__, expr)
        assert type(out.grad_fn).__name__ == name, (M.__name__, expr)


@pytest.fixture(scope="session")
def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ---------------------------------------------------------------------------- broadcasting

BCAST = [((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 2)), ((4, 1, 3), (2, 1)),
         ((1,), (5,)), ((2, 1, 1), (1, 3, 1)), ((3,), ()), ((1, 1), (1, 1))]


@pytest.mark.parametrize("sa,sb", BCAST, ids=str)
@pytest.mark.parametrize("opname", ["add", "sub", "mul", "div", "pow_tensor"])
def test_broadcast_shapes_and_grads(engine, sa, sb, opname):
    op = {o.name: o for o in OPS}[opname]
    rng = np.random.default_rng(1)
    arrays = op.draw_arrays(rng, [sa, sb])
    expected = op.value(*arrays)
    g = rng.standard_normal(np.shape(expected))
    out, leaves = _vjp(engine, op, arrays, {}, g, engine.float64)
    assert tuple(out.shape) == np.broadcast_shapes(sa, sb)
    for leaf, ge, a in zip(leaves, op.vjp(arrays, expected, g), arrays):
        assert tuple(leaf.grad.shape) == a.shape
        assert_close(npy(leaf.grad), np.broadcast_to(ge, a.shape), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------- dtypes


def test_dtype_promotion(engine):
    M = engine
    f32 = M.tensor([1.0, 2.0])
    f64 = M.tensor([1.0, 2.0], dtype=M.float64)
    i64 = M.tensor([1, 2])
    assert f32.dtype == M.float32 and f64.dtype == M.float64 and i64.dtype == M.int64
    for expr, dtype in [
        (lambda: f32 + f64, M.float64), (lambda: f64 * f32, M.float64),
        (lambda: f32 / f64, M.float64), (lambda: f64 - f32, M.float64),
        (lambda: f32 * 2.5, M.float32), (lambda: 2.5 * f32, M.float32),
        (lambda: f64 * 2.5, M.float64), (lambda: f32 + 1, M.float32),
        (lambda: f64 ** 2, M.float64), (lambda: 2 ** f32, M.float32),
        (lambda: i64 * 2.5, M.float32), (lambda: 0.5 + i64, M.float32),
        (lambda: i64 * f32, M.float32), (lambda: f64 * i64, M.float64),
        (lambda: i64 / 2.0, M.float32),
        (lambda: f32.exp(), M.float32),
        (lambda: f64.sum(), M.float64), (lambda: f32.mean(), M.float32),
    ]:
        assert expr().dtype == dtype, (expr.__code__.co_consts, expr().dtype, dtype)


def test_mixed_precision_grads_keep_leaf_dtype(engine):
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([0.1, 0.3], dtype=engine.float64, requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == engine.float64
    y.backward()
    assert a.grad.dtype == engine.float32 and b.grad.dtype == engine.float64
    assert_close(npy(a.grad), [0.1, 0.3], rtol=1e-7)
    assert npy(b.grad).tolist() == [1.0, 2.0]


def test_float32_arithmetic_is_float32(engine):
    """float32 ops round like float32 (not computed in float64 and rounded at the end):
    the seeds print float32 digits."""
    x = engine.tensor([0.1, 1.0 / 3.0, 2.0 / 3.0])
    y = (x * 3.0 - x / 7.0) * 0.01 + x ** 2
    xs = np.array([0.1, 1.0 / 3.0, 2.0 / 3.0], dtype=np.float32)
    ys = (xs * np.float32(3.0) - xs / np.float32(7.0)) * np.float32(0.01) + xs ** 2
    assert npy(y).dtype == np.float32
    assert npy(y).tolist() == ys.tolist()


def test_float32_matches_torch_bitwise_on_seed_update(engine, torch):
    """The seed update w.data - 0.01 * w.grad.data in float32, bit for bit with torch."""
    ws = np.array([1.0, -0.37, 2.5e-3, 1234.5678], dtype=np.float32)
    gs = np.array([-7.84, 0.12345, 3.3e-5, -16.228801727294922], dtype=np.float32)
    got = npy(engine.tensor(ws.tolist()) - 0.01 * engine.tensor(gs.tolist()))
    want = (torch.tensor(ws.tolist()) - 0.01 * torch.tensor(gs.tolist())).numpy()
    assert got.tolist() == want.tolist()


# ---------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("red", ["sum", "mean"])
def test_reduction_dims(engine, dim, keepdim, red):
    a = np.arange(24.0).reshape(2, 3, 4) - 7.5
    x = engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=True)
    y = getattr(x, red)(dim, keepdim=keepdim)
    want = getattr(a, red)(axis=dim, keepdims=keepdim)
    assert tuple(y.shape) == want.shape
    assert_close(npy(y), want, rtol=1e-15)
    y.sum().backward()
    n = a.shape[dim] if red == "mean" else 1
    assert_close(npy(x.grad), np.full(a.shape, 1.0 / n), rtol=1e-15)


def test_reduction_default_and_keyword_forms(engine):
    x = engine.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum().item() == 10.0 and tuple(x.sum().shape) == ()
    assert x.mean().item() == 2.5
    assert npy(x.sum(dim=0)).tolist() == [4.0, 6.0]
    assert npy(x.sum(-1, True)).tolist() == [[3.0], [7.0]]
    assert npy(x.mean(dim=1, keepdim=True)).tolist() == [[1.5], [3.5]]
    assert tuple(x.sum(dim=1, keepdim=True).shape) == (2, 1)
    assert npy(engine.sum(x, 0)).tolist() == [4.0, 6.0]
    assert engine.mean(x).item() == 2.5


def test_reduction_tuple_dims(engine):
    """Tuple dims for sum/mean: "welcome" in the contract (optional). Engines that do
    not support them must say so with TypeError/NotImplementedError; if they return,
    the result must be right."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=True)
    try:
        y = x.sum((0, -1))
    except (TypeError, NotImplementedError):
        pytest.skip("tuple dims not implemented (optional)")
    assert npy(y).tolist() == a.sum(axis=(0, 2)).tolist()
    m = x.mean((0, 2), keepdim=True)
    assert tuple(m.shape) == (2 // 2, 3, 1) and npy(m).ravel().tolist() == \
        a.mean(axis=(0, 2)).tolist()
    (y.sum() + m.sum()).backward()
    assert_close(npy(x.grad), np.full(a.shape, 1.0 + 1.0 / 8), rtol=1e-15)


def test_max_global_ties_split_evenly(engine):
    x = engine.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    m = x.max()
    assert tuple(m.shape) == () and m.item() == 3.0
    m.backward()
    assert npy(x.grad).tolist() == [0.0, 0.5, 0.5, 0.0]
    y = engine.tensor([[2.0, 2.0], [2.0, 2.0]], requires_grad=True)
    (y.max() * 4.0).backward()
    assert npy(y.grad).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    z = engine.tensor([5.0, -1.0, 5.0], requires_grad=True)
    engine.max(z).backward()
    assert npy(z.grad).tolist() == [0.5, 0.0, 0.5]


def test_max_dim_namedtuple_and_ties(engine):
    x = engine.tensor([[1.0, 3.0, 3.0], [4.0, 0.0, 4.0], [-1.0, -2.0, -0.5]],
                      requires_grad=True)
    r = x.max(1)
    values, indices = r
    assert r.values is values or npy(r.values).tolist() == npy(values).tolist()
    assert npy(r.indices).tolist() == npy(indices).tolist()
    assert npy(values).tolist() == [3.0, 4.0, -0.5]
    assert indices.dtype == engine.int64
    assert npy(indices).tolist() == [1, 0, 2]          # first maximal index, as torch
    assert r[0] is values and r[1] is indices
    values.sum().backward()
    assert npy(x.grad).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    k = x.max(dim=0, keepdim=True)
    assert tuple(k.values.shape) == (1, 3) and tuple(k.indices.shape) == (1, 3)
    assert npy(k.values).tolist() == [[4.0, 3.0, 4.0]]
    assert npy(x.max(-1).indices).tolist() == [1, 0, 2]


def test_max_ties_against_torch(engine, torch):
    a = [[2.0, 2.0, 1.0], [0.0, 0.0, 0.0], [3.0, -1.0, 3.0]]
    for f in (lambda M, t: t.max(), lambda M, t: t.max(0).values * M.tensor([1.0, 2.0, 3.0]),
              lambda M, t: t.max(1, keepdim=True).values):
        x = engine.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        y, ty = f(engine, x), f(torch, t)
        y.sum().backward()
        ty.sum().backward()
        assert npy(y).tolist() == ty.detach().numpy().tolist()
        assert npy(x.grad).tolist() == t.grad.numpy().tolist()


# ---------------------------------------------------------------------------- matmul


@pytest.mark.parametrize("sa,sb,sout", [
    ((3,), (3,), ()), ((2, 3), (3, 4), (2, 4)), ((2, 3), (3,), (2,)), ((3,), (3, 4), (4,)),
    ((1, 1), (1, 1), (1, 1)), ((5, 1), (1, 5), (5, 5)), ((1,), (1,), ()),
])
def test_matmul_shapes(engine, sa, sb, sout):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    x = engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=True)
    y = engine.tensor(b.tolist(), dtype=engine.float64, requires_grad=True)
    for out in (x @ y, engine.matmul(x, y), x.matmul(y)):
        assert tuple(out.shape) == sout
        assert_close(npy(out), a @ b, rtol=1e-14, atol=1e-15)
    (x @ y).sum().backward()
    assert tuple(x.grad.shape) == sa and tuple(y.grad.shape) == sb
    ga = np.ones(sout)
    if len(sa) == 1 and len(sb) == 1:
        want_a, want_b = b, a
    elif len(sa) == 2 and len(sb) == 2:
        want_a, want_b = ga @ b.T, a.T @ ga
    elif len(sa) == 2:
        want_a, want_b = np.outer(ga, b), a.T @ ga
    else:
        want_a, want_b = b @ ga, np.outer(a, ga)
    assert_close(npy(x.grad), want_a, rtol=1e-14, atol=1e-15)
    assert_close(npy(y.grad), want_b, rtol=1e-14, atol=1e-15)


def test_mm_and_dot_reject_wrong_ranks(engine):
    a = engine.ones(2, 3)
    v = engine.ones(3)
    with pytest.raises((RuntimeError, ValueError)):
        engine.dot(a, a)
    with pytest.raises((RuntimeError, ValueError)):
        engine.mm(v, a)


# ---------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shift", [0.0, 1000.0, -1000.0, 88.0, 1e4])
def test_softmax_log_softmax_stable(engine, torch_or_none, dtype, shift):
    dt = getattr(engine, dtype)
    base = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -2.0]])
    x = engine.tensor((base + shift).tolist(), dtype=dt, requires_grad=True)
    s = x.softmax(-1)
    ls = x.log_softmax(dim=1)
    want_s = np.exp(base - base.max(1, keepdims=True))
    want_s /= want_s.sum(1, keepdims=True)
    tol = 1e-6 if dtype == "float32" else 1e-13
    assert np.isfinite(npy(s)).all() and np.isfinite(npy(ls)).all()
    # the float32 input itself is rounded when shifted by 1e4
    if dtype == "float64" or abs(shift) < 1e3:
        assert_close(npy(s), want_s, rtol=tol, atol=tol)
        assert_close(npy(ls), np.log(want_s), rtol=tol, atol=tol)
    g = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    (s * engine.tensor(g.tolist(), dtype=dt)).sum().backward()
    gs = npy(x.grad)
    x.grad = None
    (ls * engine.tensor(g.tolist(), dtype=dt)).sum().backward()
    gls = npy(x.grad)
    assert np.isfinite(gs).all() and np.isfinite(gls).all()
    if torch_or_none is not None:
        torch = torch_or_none
        t = torch.tensor((base + shift).tolist(), dtype=getattr(torch, dtype),
                         requires_grad=True)
        (t.softmax(-1) * torch.tensor(g.tolist(), dtype=t.dtype)).sum().backward()
        assert_close(gs, t.grad.numpy(), rtol=tol * 4, atol=tol * 4)
        t.grad = None
        (t.log_softmax(1) * torch.tensor(g.tolist(), dtype=t.dtype)).sum().backward()
        assert_close(gls, t.grad.numpy(), rtol=tol * 4, atol=tol * 4)


def test_log_softmax_of_very_negative_logit_is_finite(engine):
    x = engine.tensor([0.0, -1e4, -200.0], dtype=engine.float64, requires_grad=True)
    ls = engine.log_softmax(x, 0)
    assert_close(npy(ls), [0.0, -1e4, -200.0], rtol=1e-15, atol=1e-15)
    ls[1].backward()
    assert np.isfinite(npy(x.grad)).all()
    assert_close(npy(x.grad), [-1.0, 1.0, 0.0], rtol=1e-12, atol=1e-80)


# ---------------------------------------------------------------------------- indexing


def test_index_reads(engine):
    a = np.arange(12.0).reshape(3, 4)
    x = engine.tensor(a.tolist())
    assert x[1].tolist() == a[1].tolist()
    assert x[-1].tolist() == a[-1].tolist()
    assert x[1, 2].item() == 6.0 and tuple(x[1, 2].shape) == ()
    assert x[:, 1].tolist() == a[:, 1].tolist()
    assert x[::2].tolist() == a[::2].tolist()
    assert x[1:, ::2].tolist() == a[1:, ::2].tolist()
    assert x[-2:, -3:-1].tolist() == a[-2:, -3:-1].tolist()
    assert x[0, ::3].tolist() == a[0, ::3].tolist()
    assert tuple(x[2:2].shape) == (0, 4)
    v = engine.tensor([1.0, 2.0, 3.0])
    assert v[-1].item() == 3.0 and v[0:2].tolist() == [1.0, 2.0]


def test_index_none_and_ellipsis(engine):
    """t[..., None] and t[None]: optional in the contract; if supported, right."""
    x = engine.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    try:
        y = x[..., None]
        z = x[None]
    except (TypeError, NotImplementedError, IndexError):
        pytest.skip("None/Ellipsis indexing not implemented (optional)")
    assert tuple(y.shape) == (2, 2, 1) and tuple(z.shape) == (1, 2, 2)
    (y.sum() + 2 * z.sum()).backward()
    assert npy(x.grad).tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_index_gradients_accumulate(engine):
    x = engine.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x[0] + x[0] * 3.0 + x[1:].sum() + x[-1] + x[::2].sum()
    y.backward()
    assert npy(x.grad).tolist() == [5.0, 1.0, 2.0, 2.0]
    m = engine.tensor(np.arange(12.0).reshape(3, 4).tolist(), requires_grad=True)
    (m[1, 2] * 2 + m[:, 0].sum() + m[-1].sum() + m[:2, 1::2].sum()).backward()
    want = np.zeros((3, 4))
    want[1, 2] += 2
    want[:, 0] += 1
    want[-1] += 1
    want[:2, 1::2] += 1
    assert npy(m.grad).tolist() == want.tolist()


def _one_element_keys(M):
    """Keys mixing bools and 1-element int64 tensors (torch's advanced indices that
    read one element each) with ints, slices, None and Ellipsis."""
    t1, t11 = M.tensor([1]), M.tensor([[1]])
    s = slice(None)
    return [True, False, M.tensor([1]), t11, (0, True), (True, 0), (Ellipsis, True),
            (t1, t1), (t1, True), (True, t1), (t1, s, t1), (0, s, t1), (t1, 0, t1),
            (True, True), (False, t1), (s, True, s, t11), (t11, s, True), (None, t1),
            (True, None, 0), (s, t1, False), (0, True, 0), M.tensor(1.0) > 0, M.tensor(1),
            (M.tensor(1.0) < 0, 1)]


def test_index_bool_and_one_element_tensors_like_torch(engine, torch):
    """x[True] adds a dim of size 1 (x[False] of size 0), x[tensor([1])] keeps its dim,
    as torch's advanced indexing does (issue 10, item 14); values, shapes, grad_fn
    names and gradients."""
    a = np.arange(24.0).reshape(2, 3, 4)
    for k_engine, k_torch in zip(_one_element_keys(engine), _one_element_keys(torch)):
        x = engine.tensor(a, dtype=engine.float64, requires_grad=True)
        xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        y, yt = x[k_engine], xt[k_torch]
        assert tuple(y.shape) == tuple(yt.shape), k_torch
        assert npy(y).tolist() == yt.detach().numpy().tolist(), k_torch
        assert y.grad_fn.name() == yt.grad_fn.name(), k_torch
        g = np.arange(float(yt.numel())).reshape(tuple(yt.shape))
        y.backward(engine.tensor(g, dtype=engine.float64))
        yt.backward(torch.tensor(g, dtype=torch.float64))
        assert npy(x.grad).tolist() == xt.grad.numpy().tolist(), k_torch


def test_index_mask_with_an_int_selects_the_int_first(engine, torch):
    """x[mask, 1]: torch selects dim 2 first, then applies the mask (numpy counts the
    int among the advanced indices)."""
    a = np.arange(24.0).reshape(2, 3, 4)
    m = [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    for key in (lambda M: (M.tensor(m) > 0, 1), lambda M: (1, M.tensor([2, 0]), slice(None)),
                lambda M: (M.tensor(m) > 0, slice(None)),
                lambda M: (0, slice(None), M.tensor([3, 1]))):
        y = engine.tensor(a)[key(engine)]
        yt = torch.tensor(a)[key(torch)]
        assert npy(y).tolist() == yt.numpy().tolist()


def test_sum_and_mean_over_no_dims_reduce_all_like_torch(engine, torch):
    """sum(dim=[]) is torch's sum of everything, not the input (issue 10, item 14)."""
    a = [[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]]
    for dim in ([], ()):
        for keepdim in (False, True):
            for name in ("sum", "mean"):
                x = engine.tensor(a, dtype=engine.float64, requires_grad=True)
                xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
                y = getattr(x, name)(dim=dim, keepdim=keepdim)
                yt = getattr(xt, name)(dim=dim, keepdim=keepdim)
                assert tuple(y.shape) == tuple(yt.shape) and npy(y).tolist() == \
                    yt.detach().numpy().tolist()
                assert y.grad_fn.name() == yt.grad_fn.name()
                y.sum().backward()
                yt.sum().backward()
                assert npy(x.grad).tolist() == xt.grad.numpy().tolist()
    assert engine.sum(engine.tensor([1.0, 2.0]), []).item() == 3.0


# ---------------------------------------------------------------------------- shape chains


def test_shape_op_chain_grads(engine, torch_or_none):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    g = np.random.default_rng(4).standard_normal((4, 1, 6))

    def f(M, x):
        y = x.transpose(0, 2)            # (4, 3, 2)
        y = y.reshape(4, -1)             # (4, 6)
        y = y.unsqueeze(1)               # (4, 1, 6)
        y = y.squeeze().unsqueeze(-2)    # (4, 1, 6)
        y = y * y.flatten().view(4, 1, 6).exp()
        return y

    x = engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=True)
    y = f(engine, x)
    assert tuple(y.shape) == (4, 1, 6)
    y.backward(engine.tensor(g.tolist(), dtype=engine.float64))
    z = np.swapaxes(a, 0, 2).reshape(4, 1, 6)
    assert_close(npy(y), z * np.exp(z), rtol=1e-14)
    gz = g * (np.exp(z) + z * np.exp(z))
    want = np.swapaxes(gz.reshape(4, 3, 2), 0, 2)
    assert_close(npy(x.grad), want, rtol=1e-13)
    if torch_or_none is not None:
        t = torch_or_none.tensor(a.tolist(), dtype=torch_or_none.float64, requires_grad=True)
        f(torch_or_none, t).backward(torch_or_none.tensor(g.tolist(), dtype=t.dtype))
        assert_close(npy(x.grad), t.grad.numpy(), rtol=1e-13)


def test_T_and_t(engine):
    m = engine.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert m.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert m.t().tolist() == m.T.tolist()
    v = engine.tensor([1.0, 2.0])
    assert v.T.tolist() == [1.0, 2.0] and v.t().tolist() == [1.0, 2.0]
    (m.T * engine.tensor([[1.0, 2.0]])).sum().backward()
    assert npy(m.grad).tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]


def test_reshape_rejects_bad_sizes(engine):
    x = engine.ones(2, 3)
    for bad in [(4,), (-1, 4), (-1, -1), (7, -1)]:
        with pytest.raises(RuntimeError):
            x.reshape(*bad)
