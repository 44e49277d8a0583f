"""The tensor op table shared by test_tensor_ops.py: every differentiable op of the
contract (spec_tensor.md), with its numpy closed form (value and vector-Jacobian
product), a hypothesis strategy for shapes and parameters, and value domains that keep
finite differences valid (away from kinks, poles and ties).

``fn(M, *tensors, **params)`` builds the op from module ``M``'s names and Tensor methods
only, so the same code runs on tapegrad engines and on torch (the oracle).
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# ---------------------------------------------------------------------------- values


def v_normal(rng, shape):
    return rng.standard_normal(shape)


def v_pos(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def v_nonzero(rng, shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def v_kinkfree(rng, shape, kinks=(0.0,)):
    x = rng.standard_normal(shape)
    for k in kinks:
        near = np.abs(x - k) < 0.02
        x = np.where(near, x + 0.05, x)
    return x


def v_clampfree(rng, shape):
    return v_kinkfree(rng, shape, kinks=(-0.5, 0.5, 0.1))


def v_distinct(rng, shape):
    """No two elements within 0.3 of each other: max has a unique argmax."""
    n = int(np.prod(shape, dtype=np.int64))
    vals = (rng.permutation(n) - n / 2) * 0.5 + rng.uniform(-0.1, 0.1, n)
    return vals.reshape(shape)


# ---------------------------------------------------------------------------- shapes

SMALL = dict(max_side=3)


def _shape(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


S_BCAST2 = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                             max_side=3).map(
    lambda r: (tuple(r.input_shapes), {}))
S_ONE = _shape().map(lambda s: ((s,), {}))


@st.composite
def s_dim(draw, keepdim=True, min_dims=1):
    s = draw(_shape(min_dims=min_dims))
    nd = len(s)
    params = {"dim": draw(st.integers(-nd, nd - 1))}
    if keepdim:
        params["keepdim"] = draw(st.booleans())
    return (s,), params


@st.composite
def s_reshape(draw):
    s = draw(_shape())
    n = int(np.prod(s, dtype=np.int64))
    options = [(-1,), (n,), (1, -1), (-1, 1), tuple(reversed(s)), s + (1,), (1,) + s]
    if n % 2 == 0:
        options.append((2, -1))
    if n == 1:
        options.append(())
    return (s,), {"shape": draw(st.sampled_from(options))}


@st.composite
def s_flatten(draw):
    s = draw(_shape(min_dims=1))
    nd = len(s)
    start = draw(st.integers(-nd, nd - 1))
    end = draw(st.integers(-nd, nd - 1))
    if (start % nd) > (end % nd):
        start, end = end, start
    return (s,), {"start_dim": start, "end_dim": end}


@st.composite
def s_transpose(draw):
    s = draw(_shape(min_dims=1))
    nd = len(s)
    return (s,), {"d0": draw(st.integers(-nd, nd - 1)), "d1": draw(st.integers(-nd, nd - 1))}


@st.composite
def s_unsqueeze(draw):
    s = draw(_shape())
    nd = len(s)
    return (s,), {"dim": draw(st.integers(-nd - 1, nd))}


@st.composite
def s_squeezable(draw, with_dim):
    s = list(draw(_shape(min_dims=1)))
    ones = draw(st.lists(st.integers(0, len(s)), max_size=2))
    for k in sorted(ones, reverse=True):
        s.insert(k, 1)
    s = tuple(s)
    params = {}
    if with_dim:
        params["dim"] = draw(st.integers(-len(s), len(s) - 1))
    return (s,), params


@st.composite
def s_index(draw):
    """A basic index (ints, negative ints, slices with steps) for a random shape."""
    s = draw(_shape(min_dims=1, max_side=5))
    nidx = draw(st.integers(1, len(s)))
    index = []
    for size in s[:nidx]:
        if draw(st.booleans()):
            index.append(draw(st.integers(-size, size - 1)))
        else:
            start = draw(st.none() | st.integers(-size, size))
            stop = draw(st.none() | st.integers(-size, size))
            step = draw(st.none() | st.integers(1, 3))
            index.append(slice(start, stop, step))
    index = index[0] if len(index) == 1 and draw(st.booleans()) else tuple(index)
    return (s,), {"index": index}


@st.composite
def s_matmul(draw, kind):
    m, n, p = (draw(st.integers(1, 4)) for _ in range(3))
    return {"dot": ((n,), (n,)), "mm": ((m, n), (n, p)), "mv": ((m, n), (n,)),
            "vm": ((n,), (n, p))}[kind], {}


# ---------------------------------------------------------------------------- closed forms


def unbroadcast(g, shape):
    """Sum g down to ``shape`` (the inverse of numpy broadcasting)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for k, size in enumerate(shape):
        if size == 1 and g.shape[k] != 1:
            g = g.sum(axis=k, keepdims=True)
    return g.reshape(shape)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x, dim):
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def _expand_reduced(g, shape, dim, keepdim):
    if dim is None:
        return np.broadcast_to(g, shape)
    if not keepdim:
        g = np.expand_dims(g, dim)
    return np.broadcast_to(g, shape)


def _max_dim_vjp(x, g, dim, keepdim):
    idx = np.argmax(x, axis=dim)
    out = np.zeros_like(x)
    if not keepdim:
        g = np.expand_dims(g, dim)
    np.put_along_axis(out, np.expand_dims(idx, dim), g, axis=dim)
    return out


def _flatten_shape(shape, start, end):
    nd = len(shape)
    start, end = start % nd, end % nd
    mid = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return tuple(shape[:start]) + (mid,) + tuple(shape[end + 1:])


def _index_vjp(x, g, index):
    out = np.zeros_like(x)
    out[index] = g
    return out


class TOp:
    """One op: ``fn(M, *xs, **p)``, numpy ``value(*arrays, **p)`` and
    ``vjp(arrays, out, G, **p)`` (list of input grads), input value domains, a
    shapes strategy, and torch's grad_fn name (None: not part of the contract)."""

    def __init__(self, name, fn, value, vjp, shapes=S_ONE, domains=(v_normal,),
                 grad_fn=None):
        self.name = name
        self.fn = fn
        self.value = value
        self.vjp = vjp
        self.shapes = shapes
        self.domains = domains
        self.grad_fn = grad_fn

    def __repr__(self):
        return self.name

    def draw_arrays(self, rng, shapes):
        doms = self.domains if len(self.domains) == len(shapes) else self.domains * len(shapes)
        return [np.asarray(d(rng, s), dtype=np.float64) for d, s in zip(doms, shapes)]


def _unary(name, fn, value, dvalue, domain=v_normal, grad_fn=None):
    """Elementwise unary op with derivative dvalue(x, y)."""
    return TOp(name, fn, value, lambda xs, y, g, **p: [g * dvalue(xs[0], y)],
               S_ONE, (domain,), grad_fn)


def _binary(name, fn, value, da, db, domains=(v_normal, v_normal), grad_fn=None):
    def vjp(xs, y, g, **p):
        a, b = xs
        return [unbroadcast(g * da(a, b, y), a.shape), unbroadcast(g * db(a, b, y), b.shape)]
    return TOp(name, fn, value, vjp, S_BCAST2, domains, grad_fn)


OPS = [
    # -- binary, broadcasting
    _binary("add", lambda M, a, b: a + b, lambda a, b: a + b,
            lambda a, b, y: 1.0, lambda a, b, y: 1.0, grad_fn="AddBackward0"),
    _binary("sub", lambda M, a, b: a - b, lambda a, b: a - b,
            lambda a, b, y: 1.0, lambda a, b, y: -1.0, grad_fn="SubBackward0"),
    _binary("mul", lambda M, a, b: a * b, lambda a, b: a * b,
            lambda a, b, y: b, lambda a, b, y: a, grad_fn="MulBackward0"),
    _binary("div", lambda M, a, b: a / b, lambda a, b: a / b,
            lambda a, b, y: 1.0 / b, lambda a, b, y: -a / b ** 2,
            domains=(v_normal, v_nonzero), grad_fn="DivBackward0"),
    _binary("pow_tensor", lambda M, a, b: a ** b, lambda a, b: a ** b,
            lambda a, b, y: b * a ** (b - 1), lambda a, b, y: y * np.log(a),
            domains=(v_pos, v_normal), grad_fn="PowBackward1"),
    # -- with a Python number on either side
    _unary("add_scalar", lambda M, a: a + 2.5, lambda a: a + 2.5, lambda x, y: 1.0,
           grad_fn="AddBackward0"),
    _unary("radd_scalar", lambda M, a: 2.5 + a, lambda a: 2.5 + a, lambda x, y: 1.0,
           grad_fn="AddBackward0"),
    _unary("sub_scalar", lambda M, a: a - 1.5, lambda a: a - 1.5, lambda x, y: 1.0,
           grad_fn="SubBackward0"),
    _unary("rsub_scalar", lambda M, a: 1.5 - a, lambda a: 1.5 - a, lambda x, y: -1.0,
           grad_fn="RsubBackward1"),
    _unary("mul_scalar", lambda M, a: a * -3.0, lambda a: a * -3.0, lambda x, y: -3.0,
           grad_fn="MulBackward0"),
    _unary("rmul_scalar", lambda M, a: 0.5 * a, lambda a: 0.5 * a, lambda x, y: 0.5,
           grad_fn="MulBackward0"),
    _unary("mul_int", lambda M, a: a * 3, lambda a: a * 3.0, lambda x, y: 3.0,
           grad_fn="MulBackward0"),
    _unary("div_scalar", lambda M, a: a / 4.0, lambda a: a / 4.0, lambda x, y: 0.25,
           grad_fn="DivBackward0"),
    _unary("rdiv_scalar", lambda M, a: 2.0 / a, lambda a: 2.0 / a, lambda x, y: -2.0 / x ** 2,
           v_nonzero),
    _unary("pow2", lambda M, a: a ** 2, lambda a: a ** 2, lambda x, y: 2 * x,
           grad_fn="PowBackward0"),
    _unary("pow3", lambda M, a: a ** 3, lambda a: a ** 3, lambda x, y: 3 * x ** 2,
           grad_fn="PowBackward0"),
    _unary("pow_half", lambda M, a: a ** 0.5, lambda a: a ** 0.5, lambda x, y: 0.5 / np.sqrt(x),
           v_pos, grad_fn="PowBackward0"),
    _unary("pow_neg", lambda M, a: a ** -1.5, lambda a: a ** -1.5,
           lambda x, y: -1.5 * x ** -2.5, v_pos, grad_fn="PowBackward0"),
    _unary("pow0", lambda M, a: a ** 0, lambda a: a ** 0.0, lambda x, y: 0.0 * x,
           grad_fn="PowBackward0"),
    _unary("pow1", lambda M, a: a ** 1, lambda a: a ** 1.0, lambda x, y: 1.0 + 0.0 * x,
           grad_fn="PowBackward0"),
    _unary("rpow", lambda M, a: 2.0 ** a, lambda a: 2.0 ** a, lambda x, y: y * np.log(2.0)),
    _unary("neg", lambda M, a: -a, lambda a: -a, lambda x, y: -1.0, grad_fn="NegBackward0"),
    # -- unary
    _unary("exp", lambda M, a: a.exp(), np.exp, lambda x, y: y, grad_fn="ExpBackward0"),
    _unary("log", lambda M, a: a.log(), np.log, lambda x, y: 1.0 / x, v_pos,
           grad_fn="LogBackward0"),
    _unary("tanh", lambda M, a: a.tanh(), np.tanh, lambda x, y: 1 - y * y,
           grad_fn="TanhBackward0"),
    _unary("relu", lambda M, a: a.relu(), lambda a: np.maximum(a, 0.0),
           lambda x, y: (x > 0).astype(np.float64), v_kinkfree, grad_fn="ReluBackward0"),
    _unary("sigmoid", lambda M, a: a.sigmoid(), _sig, lambda x, y: y * (1 - y),
           grad_fn="SigmoidBackward0"),
    _unary("abs", lambda M, a: a.abs(), np.abs, lambda x, y: np.sign(x), v_kinkfree,
           grad_fn="AbsBackward0"),
    _unary("sqrt", lambda M, a: a.sqrt(), np.sqrt, lambda x, y: 0.5 / y, v_pos,
           grad_fn="SqrtBackward0"),
    _unary("clamp", lambda M, a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5),
           lambda x, y: ((x >= -0.5) & (x <= 0.5)).astype(np.float64), v_clampfree,
           grad_fn="ClampBackward1"),
    _unary("clamp_min_kw", lambda M, a: a.clamp(min=0.1), lambda a: np.maximum(a, 0.1),
           lambda x, y: (x >= 0.1).astype(np.float64), v_clampfree, grad_fn="ClampBackward1"),
    _unary("clamp_max_kw", lambda M, a: a.clamp(max=-0.5), lambda a: np.minimum(a, -0.5),
           lambda x, y: (x <= -0.5).astype(np.float64), v_clampfree, grad_fn="ClampBackward1"),
    _unary("clamp_min", lambda M, a: a.clamp_min(0.1), lambda a: np.maximum(a, 0.1),
           lambda x, y: (x >= 0.1).astype(np.float64), v_clampfree),
    # -- softmax family
    TOp("softmax", lambda M, a, dim: a.softmax(dim), lambda a, dim: _softmax(a, dim),
        lambda xs, y, g, dim: [y * (g - (g * y).sum(axis=dim, keepdims=True))],
        s_dim(keepdim=False), grad_fn="SoftmaxBackward0"),
    TOp("log_softmax", lambda M, a, dim: a.log_softmax(dim),
        lambda a, dim: _log_softmax(a, dim),
        lambda xs, y, g, dim: [g - np.exp(y) * g.sum(axis=dim, keepdims=True)],
        s_dim(keepdim=False), grad_fn="LogSoftmaxBackward0"),
    # -- matmul family
    TOp("dot", lambda M, a, b: a @ b, lambda a, b: np.asarray(a @ b),
        lambda xs, y, g: [g * xs[1], g * xs[0]], s_matmul("dot"), grad_fn="DotBackward0"),
    TOp("mm", lambda M, a, b: a @ b, lambda a, b: a @ b,
        lambda xs, y, g: [g @ xs[1].T, xs[0].T @ g], s_matmul("mm"), grad_fn="MmBackward0"),
    TOp("mv", lambda M, a, b: a @ b, lambda a, b: a @ b,
        lambda xs, y, g: [np.outer(g, xs[1]), xs[0].T @ g], s_matmul("mv"),
        grad_fn="MvBackward0"),
    TOp("vm", lambda M, a, b: a @ b, lambda a, b: a @ b,
        lambda xs, y, g: [xs[1] @ g, np.outer(xs[0], g)], s_matmul("vm")),
    TOp("fn_dot", lambda M, a, b: M.dot(a, b), lambda a, b: np.asarray(a @ b),
        lambda xs, y, g: [g * xs[1], g * xs[0]], s_matmul("dot"), grad_fn="DotBackward0"),
    TOp("method_dot", lambda M, a, b: a.dot(b), lambda a, b: np.asarray(a @ b),
        lambda xs, y, g: [g * xs[1], g * xs[0]], s_matmul("dot"), grad_fn="DotBackward0"),
    TOp("fn_mm", lambda M, a, b: M.mm(a, b), lambda a, b: a @ b,
        lambda xs, y, g: [g @ xs[1].T, xs[0].T @ g], s_matmul("mm"), grad_fn="MmBackward0"),
    TOp("method_mm", lambda M, a, b: a.mm(b), lambda a, b: a @ b,
        lambda xs, y, g: [g @ xs[1].T, xs[0].T @ g], s_matmul("mm"), grad_fn="MmBackward0"),
    TOp("fn_matmul_mm", lambda M, a, b: M.matmul(a, b), lambda a, b: a @ b,
        lambda xs, y, g: [g @ xs[1].T, xs[0].T @ g], s_matmul("mm"), grad_fn="MmBackward0"),
    TOp("method_matmul_mv", lambda M, a, b: a.matmul(b), lambda a, b: a @ b,
        lambda xs, y, g: [np.outer(g, xs[1]), xs[0].T @ g], s_matmul("mv"),
        grad_fn="MvBackward0"),
    # -- reductions
    TOp("sum_all", lambda M, a: a.sum(), lambda a: np.asarray(a.sum()),
        lambda xs, y, g: [np.broadcast_to(g, xs[0].shape)], S_ONE, grad_fn="SumBackward0"),
    TOp("sum_dim", lambda M, a, dim, keepdim: a.sum(dim, keepdim=keepdim),
        lambda a, dim, keepdim: a.sum(axis=dim, keepdims=keepdim),
        lambda xs, y, g, dim, keepdim: [_expand_reduced(g, xs[0].shape, dim, keepdim)],
        s_dim(), grad_fn="SumBackward1"),
    TOp("sum_dim_kw", lambda M, a, dim, keepdim: a.sum(dim=dim, keepdim=keepdim),
        lambda a, dim, keepdim: a.sum(axis=dim, keepdims=keepdim),
        lambda xs, y, g, dim, keepdim: [_expand_reduced(g, xs[0].shape, dim, keepdim)],
        s_dim(), grad_fn="SumBackward1"),
    TOp("mean_all", lambda M, a: a.mean(), lambda a: np.asarray(a.mean()),
        lambda xs, y, g: [np.broadcast_to(g / xs[0].size, xs[0].shape)], S_ONE,
        grad_fn="MeanBackward0"),
    TOp("mean_dim", lambda M, a, dim, keepdim: a.mean(dim, keepdim=keepdim),
        lambda a, dim, keepdim: a.mean(axis=dim, keepdims=keepdim),
        lambda xs, y, g, dim, keepdim: [
            _expand_reduced(g, xs[0].shape, dim, keepdim) / xs[0].shape[dim]],
        s_dim(), grad_fn="MeanBackward1"),
    TOp("max_all", lambda M, a: a.max(), lambda a: np.asarray(a.max()),
        lambda xs, y, g: [g * (xs[0] == xs[0].max()) / np.count_nonzero(xs[0] == xs[0].max())],
        S_ONE, (v_distinct,), grad_fn="MaxBackward1"),
    TOp("max_dim", lambda M, a, dim, keepdim: a.max(dim, keepdim=keepdim).values,
        lambda a, dim, keepdim: a.max(axis=dim, keepdims=keepdim),
        lambda xs, y, g, dim, keepdim: [_max_dim_vjp(xs[0], g, dim, keepdim)],
        s_dim(), (v_distinct,), grad_fn="MaxBackward0"),
    TOp("max_dim_tuple", lambda M, a, dim: a.max(dim)[0],
        lambda a, dim: a.max(axis=dim),
        lambda xs, y, g, dim: [_max_dim_vjp(xs[0], g, dim, False)],
        s_dim(keepdim=False), (v_distinct,), grad_fn="MaxBackward0"),
    # -- shapes (torch's flatten returns its input itself when there is nothing to flatten,
    #    so its grad_fn name is not fixed)
    TOp("reshape", lambda M, a, shape: a.reshape(*shape) if shape else a.reshape(shape),
        lambda a, shape: a.reshape(shape),
        lambda xs, y, g, shape: [g.reshape(xs[0].shape)], s_reshape(), grad_fn="ViewBackward0"),
    TOp("reshape_tuple", lambda M, a, shape: a.reshape(shape),
        lambda a, shape: a.reshape(shape),
        lambda xs, y, g, shape: [g.reshape(xs[0].shape)], s_reshape(), grad_fn="ViewBackward0"),
    TOp("view", lambda M, a, shape: a.view(*shape) if shape else a.view(shape),
        lambda a, shape: a.reshape(shape),
        lambda xs, y, g, shape: [g.reshape(xs[0].shape)], s_reshape(), grad_fn="ViewBackward0"),
    TOp("flatten", lambda M, a, start_dim, end_dim: a.flatten(start_dim, end_dim),
        lambda a, start_dim, end_dim: a.reshape(_flatten_shape(a.shape, start_dim, end_dim)),
        lambda xs, y, g, **p: [g.reshape(xs[0].shape)], s_flatten()),
    TOp("flatten_all", lambda M, a: a.flatten(), lambda a: a.reshape(-1),
        lambda xs, y, g: [g.reshape(xs[0].shape)], S_ONE),
    TOp("transpose", lambda M, a, d0, d1: a.transpose(d0, d1),
        lambda a, d0, d1: np.swapaxes(a, d0, d1),
        lambda xs, y, g, d0, d1: [np.swapaxes(g, d0, d1)], s_transpose(),
        grad_fn="TransposeBackward0"),
    TOp("t", lambda M, a: a.t(), lambda a: a.T, lambda xs, y, g: [g.T],
        _shape(min_dims=2, max_dims=2).map(lambda s: ((s,), {}))),
    TOp("T", lambda M, a: a.T, lambda a: a.T, lambda xs, y, g: [g.T],
        _shape(min_dims=2, max_dims=2).map(lambda s: ((s,), {}))),
    TOp("unsqueeze", lambda M, a, dim: a.unsqueeze(dim),
        lambda a, dim: np.expand_dims(a, dim),
        lambda xs, y, g, dim: [g.reshape(xs[0].shape)], s_unsqueeze(),
        grad_fn="UnsqueezeBackward0"),
    TOp("squeeze", lambda M, a: a.squeeze(), lambda a: np.squeeze(a),
        lambda xs, y, g: [g.reshape(xs[0].shape)], s_squeezable(False),
        grad_fn="SqueezeBackward0"),
    TOp("squeeze_dim", lambda M, a, dim: a.squeeze(dim),
        lambda a, dim: np.squeeze(a, dim) if a.shape[dim] == 1 else a,
        lambda xs, y, g, dim: [g.reshape(xs[0].shape)], s_squeezable(True),
        grad_fn="SqueezeBackward1"),
    # -- indexing
    TOp("index", lambda M, a, index: a[index], lambda a, index: np.asarray(a[index]),
        lambda xs, y, g, index: [_index_vjp(xs[0], g, index)], s_index()),
]

# function forms of the same ops (module-level names mirroring the methods)
FUNCTION_FORMS = [
    ("exp", lambda M, a: M.exp(a), "exp"),
    ("log", lambda M, a: M.log(a), "log"),
    ("tanh", lambda M, a: M.tanh(a), "tanh"),
    ("relu", lambda M, a: M.relu(a), "relu"),
    ("sigmoid", lambda M, a: M.sigmoid(a), "sigmoid"),
    ("abs", lambda M, a: M.abs(a), "abs"),
    ("sqrt", lambda M, a: M.sqrt(a), "sqrt"),
    ("clamp", lambda M, a: M.clamp(a, -0.5, 0.5), "clamp"),
    ("clamp_kw", lambda M, a: M.clamp(a, min=0.1), "clamp_min_kw"),
    ("softmax", lambda M, a, dim: M.softmax(a, dim), "softmax"),
    ("softmax_kw", lambda M, a, dim: M.softmax(a, dim=dim), "softmax"),
    ("log_softmax", lambda M, a, dim: M.log_softmax(a, dim), "log_softmax"),
    ("sum_all", lambda M, a: M.sum(a), "sum_all"),
    ("sum_dim", lambda M, a, dim, keepdim: M.sum(a, dim, keepdim=keepdim), "sum_dim"),
    ("sum_dim_kw", lambda M, a, dim, keepdim: M.sum(a, dim=dim, keepdim=keepdim), "sum_dim"),
    ("mean_all", lambda M, a: M.mean(a), "mean_all"),
    ("mean_dim", lambda M, a, dim, keepdim: M.mean(a, dim, keepdim=keepdim), "mean_dim"),
    ("max_all", lambda M, a: M.max(a), "max_all"),
    ("max_dim", lambda M, a, dim, keepdim: M.max(a, dim, keepdim=keepdim).values, "max_dim"),
    ("reshape", lambda M, a, shape: M.reshape(a, shape), "reshape"),
    ("flatten", lambda M, a, start_dim, end_dim: M.flatten(a, start_dim, end_dim), "flatten"),
    ("transpose", lambda M, a, d0, d1: M.transpose(a, d0, d1), "transpose"),
    ("unsqueeze", lambda M, a, dim: M.unsqueeze(a, dim), "unsqueeze"),
    ("squeeze", lambda M, a: M.squeeze(a), "squeeze"),
    ("squeeze_dim", lambda M, a, dim: M.squeeze(a, dim), "squeeze_dim"),
    ("matmul", lambda M, a, b: M.matmul(a, b), "mm"),
]

_BY_NAME = {op.name: op for op in OPS}
for _name, _fn, _base in FUNCTION_FORMS:
    _b = _BY_NAME[_base]
    OPS.append(TOp("fn_" + _name, _fn, _b.value, _b.vjp, _b.shapes, _b.domains, _b.grad_fn))
del _name, _fn, _base, _b
