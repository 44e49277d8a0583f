"""Issue 11 item 5: every new differentiable function against torch float64 on both
engines: values, the vector-Jacobian product of a random cotangent, and torch's
grad_fn names, on random shapes (hypothesis) with broadcasting where the op
broadcasts. Each case is written once against the torch-shaped API and run with
the engine module and with torch itself (the oracle)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SEEDS = st.integers(0, 2 ** 32 - 1)
SHAPES = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
NONEMPTY = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: b drops leading dims of a and sets some to 1 (or
    the other way round)."""
    a = draw(SHAPES)
    keep = draw(st.integers(0, len(a)))
    b = tuple(1 if draw(st.booleans()) else s for s in a[len(a) - keep:])
    return (a, b) if draw(st.booleans()) else (b, a)


@st.composite
def shape_and_dim(draw, min_dims=1):
    shape = draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=3).map(tuple))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def _pos(x):
    return x.abs() + 0.25


# name -> (shapes strategy -> (shapes, params), fn(lib, *tensors, **params))
UNARY = {
    "sin": lambda L, x: L.sin(x), "cos": lambda L, x: x.cos(), "tan": lambda L, x: L.tan(x * 0.5),
    "log10": lambda L, x: L.log10(_pos(x)), "log2": lambda L, x: _pos(x).log2(),
    "log1p": lambda L, x: L.log1p(_pos(x)), "expm1": lambda L, x: x.expm1(),
    "rsqrt": lambda L, x: L.rsqrt(_pos(x)), "square": lambda L, x: L.square(x),
    "sign": lambda L, x: L.sign(x) * x, "floor": lambda L, x: L.floor(x * 3) + x,
    "ceil": lambda L, x: (x * 3).ceil() + x, "round": lambda L, x: L.round(x * 3) + x,
}
BINARY = {
    "maximum": lambda L, a, b: L.maximum(a, b), "minimum": lambda L, a, b: L.minimum(a, b),
    "max2": lambda L, a, b: L.max(a, b), "min2": lambda L, a, b: a.min(b),
    "cat_bcast": lambda L, a, b: L.cat([a.reshape(-1), b.reshape(-1)]),
}
ALONG = {   # (shape, dim) -> result
    "var": lambda L, x, d: x.var(d), "var_c0": lambda L, x, d: L.var(x, d, correction=0),
    "var_keep": lambda L, x, d: x.var(dim=d, keepdim=True, unbiased=False),
    "std": lambda L, x, d: x.std(d) if x.shape[d] > 1 else x.std(d, correction=0),
    "std_all": lambda L, x, d: x.std() if x.numel() > 1 else x.std(correction=0),
    "var_all": lambda L, x, d: L.var(x, correction=0),
    "norm": lambda L, x, d: x.norm(), "norm_dim": lambda L, x, d: x.norm(dim=d),
    "norm1": lambda L, x, d: x.norm(p=1, dim=d, keepdim=True),
    "norm_inf": lambda L, x, d: x.norm(p=float("inf"), dim=d),
    "norm3": lambda L, x, d: L.norm(x, p=3),
    "logsumexp": lambda L, x, d: L.logsumexp(x, d), "lse_keep": lambda L, x, d: x.logsumexp(
        d, keepdim=True),
    "cumsum": lambda L, x, d: x.cumsum(d), "prod": lambda L, x, d: x.prod(),
    "prod_dim": lambda L, x, d: L.prod(x, d), "prod_keep": lambda L, x, d: x.prod(d, True),
    "flip": lambda L, x, d: x.flip(d), "flip_all": lambda L, x, d: L.flip(x, list(range(x.ndim))),
    "roll": lambda L, x, d: x.roll(2, d), "roll_flat": lambda L, x, d: L.roll(x, -1),
    "repeat": lambda L, x, d: x.repeat(*([2] + [1] * x.ndim)),
    "repeat2": lambda L, x, d: x.repeat(*([1] * (x.ndim - 1) + [3])),
    "sort": lambda L, x, d: x.sort(d).values, "sort_desc": lambda L, x, d: L.sort(
        x, d, descending=True)[0],
    "topk": lambda L, x, d: x.topk(min(2, x.shape[d]), d).values,
    "split": lambda L, x, d: L.cat(x.split(2, d)[::-1], d),
    "chunk": lambda L, x, d: L.stack([c.sum() for c in x.chunk(2, d)]),
    "unbind": lambda L, x, d: L.stack(x.unbind(d)[::-1], 0),
    "stack": lambda L, x, d: L.stack([x, x * 2, -x], d),
    "cat3": lambda L, x, d: L.cat([x, x * 2, x.sin()], d),
    "expand": lambda L, x, d: x.unsqueeze(0).expand(3, *x.shape),
    "einsum_t": lambda L, x, d: L.einsum("ij->ji", x.reshape(x.shape[0], -1)),
    "einsum_sum": lambda L, x, d: L.einsum("ij->j", x.reshape(x.shape[0], -1)),
    "einsum_outer": lambda L, x, d: L.einsum("i,j->ij", x.reshape(-1), x.reshape(-1).cos()),
}


def _run(L, fn, arrays, g_seed):
    xs = [L.tensor(a, dtype=L.float64, requires_grad=True) for a in arrays]
    out = fn(L, *xs)
    g = np.random.default_rng(g_seed).standard_normal(tuple(out.shape))
    out.backward(L.tensor(g, dtype=L.float64))
    name = type(out.grad_fn).__name__ if not hasattr(out.grad_fn, "name") else out.grad_fn.name()
    return (out.detach().numpy(), [x.grad.numpy() for x in xs], name)


def _compare(engine, torch, fn, arrays, seed, check_name=True):
    got = _run(engine, fn, arrays, seed)
    want = _run(torch, fn, arrays, seed)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if check_name:
        assert got[2] == want[2]


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=12)
@given(shape=SHAPES, seed=SEEDS)
def test_unary_against_torch(engine, torch, name, shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    _compare(engine, torch, UNARY[name], [x], seed, check_name=name not in (
        "sign", "floor", "ceil", "round"))


def test_unary_grad_fn_names(engine, torch):
    for name, fn in UNARY.items():
        if name in ("log10", "log2", "log1p", "rsqrt", "sign", "floor", "ceil", "round", "tan"):
            call = {"sign": lambda L, x: L.sign(x), "floor": lambda L, x: x.floor(),
                    "ceil": lambda L, x: L.ceil(x), "round": lambda L, x: x.round(),
                    "tan": lambda L, x: x.tan()}.get(name, lambda L, x, n=name: getattr(
                        L, n)(x))
        else:
            call = fn
        names = [_run(L, call, [np.array([0.5, 1.5, 2.25])], 0)[2] for L in (engine, torch)]
        assert names[0] == names[1], name


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=15)
@given(shapes=broadcast_pair(), seed=SEEDS)
def test_binary_against_torch(engine, torch, name, shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    _compare(engine, torch, BINARY[name], arrays, seed)


def test_maximum_ties_share_the_gradient(engine, torch):
    a = np.array([1.0, 2.0, 3.0, np.nan])
    b = np.array([1.0, 5.0, 3.0, 0.0])
    for fn in (BINARY["maximum"], BINARY["min2"]):
        got, want = _run(engine, fn, [a, b], 1), _run(torch, fn, [a, b], 1)
        np.testing.assert_allclose(got[0], want[0])
        for x, y in zip(got[1], want[1]):
            np.testing.assert_allclose(x, y)


@pytest.mark.parametrize("name", sorted(ALONG))
@settings(max_examples=12)
@given(sd=shape_and_dim(min_dims=2), seed=SEEDS)
def test_along_dim_against_torch(engine, torch, name, sd, seed):
    shape, d = sd
    x = np.random.default_rng(seed).standard_normal(shape)
    fn = ALONG[name]
    _compare(engine, torch, lambda L, t: fn(L, t, d), [x], seed,
             check_name=not name.startswith(("split", "chunk", "unbind", "einsum")))


def test_prod_with_zeros(engine, torch):
    for row in ([2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]):
        x = np.array([row, row[::-1]])
        for fn in (ALONG["prod"], ALONG["prod_dim"]):
            _compare(engine, torch, lambda L, t, f=fn: f(L, t, 1), [x], 3)


def test_norm_inf_ties_and_zero_norm(engine, torch):
    x = np.array([[3.0, -3.0, 1.0], [0.0, 0.0, 0.0]])
    for fn in (ALONG["norm_inf"], ALONG["norm_dim"], ALONG["norm1"]):
        _compare(engine, torch, lambda L, t, f=fn: f(L, t, 1), [x], 5)


def test_var_over_several_dims(engine, torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for dims in ((0, 2), (1, 2), [0, 1, 2]):
        _compare(engine, torch, lambda L, t, d=dims: t.var(d) + t.std(d, keepdim=False),
                 [x], 7, check_name=False)
    _compare(engine, torch, lambda L, t: t.logsumexp((0, 2), keepdim=True), [x], 7,
             check_name=False)


def test_sort_is_stable_and_indices_match(engine, torch):
    data = [[3.0, 1.0, 3.0, 1.0, 2.0], [0.5, 0.5, 0.5, -1.0, 0.5]]
    for kw in ({}, {"descending": True}):
        got = engine.tensor(data).sort(1, **kw)
        want = torch.tensor(data).sort(stable=True, dim=1, **kw)
        assert got.indices.tolist() == want.indices.tolist()
        assert got.values.tolist() == want.values.tolist()
        assert engine.tensor(data).argsort(1, **kw).tolist() == want.indices.tolist()
    got = engine.tensor(data).topk(2, 1)
    assert got.values.tolist() == torch.tensor(data).topk(2, 1).values.tolist()
    assert str(got.indices.dtype).endswith("int64")


@settings(max_examples=15)
@given(b=st.integers(1, 3), n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4),
       seed=SEEDS)
def test_batched_matmul_and_einsum(engine, torch, b, n, k, m, seed):
    rng = np.random.default_rng(seed)
    a3, b3, b2, v = (rng.standard_normal(s) for s in ((b, n, k), (b, k, m), (k, m), (k,)))
    one = rng.standard_normal((1, k, m))
    for fn, arrays in ((lambda L, x, y: x @ y, [a3, b2]), (lambda L, x, y: L.matmul(x, y),
                                                           [a3, b3]),
                       (lambda L, x, y: L.bmm(x, y), [a3, b3]), (lambda L, x, y: x @ y, [a3, one]),
                       (lambda L, x, y: x @ y, [a3, v]), (lambda L, x, y: y @ x, [b3, v]),
                       (lambda L, x, y: L.einsum("bij,bjk->bik", x, y), [a3, b3]),
                       (lambda L, x, y: L.einsum("bij,jk->bik", x, y), [a3, b2])):
        _compare(engine, torch, fn, arrays, seed, check_name=False)


def test_einsum_trace_and_dot(engine, torch):
    rng = np.random.default_rng(4)
    sq, v = rng.standard_normal((3, 3)), rng.standard_normal(3)
    _compare(engine, torch, lambda L, x: L.einsum("ii", x), [sq], 0, check_name=False)
    _compare(engine, torch, lambda L, x: L.einsum("ii->i", x), [sq], 0, check_name=False)
    _compare(engine, torch, lambda L, x, y: L.einsum("i,i->", x, y), [v, v * 2], 0,
             check_name=False)
    _compare(engine, torch, lambda L, x, y: L.einsum("ij,j->i", x, y), [sq, v], 0,
             check_name=False)
