"""Issue 12's activations, losses, pad, normalize and cosine_similarity (functions
and modules) on both engines against torch 2.13: float64 values and gradients on
random shapes, float32 values, grad_fn names, second derivatives, errors (type and
message) and module reprs."""

import warnings

import numpy as np
import pytest

from _tensors import libs_for, npy

SHAPES = [(5,), (3, 4), (2, 3, 4), ()]


def _rand(rs, shape, lo=-3.0, hi=3.0):
    return rs.uniform(lo, hi, size=shape)


def _pair(engine, torch, arrays, dtype="float64"):
    """The same leaves on the engine and on torch."""
    mine = [engine.tensor(a, dtype=getattr(engine, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    return mine, theirs


def _compare(engine, torch, arrays, fn, grad_fn=None, rtol=1e-12, atol=1e-13, seed=0):
    """fn(F, *leaves) on both: values, grad_fn name, and the gradients of a random
    weighted sum."""
    F = libs_for(engine).F
    import torch.nn.functional as TF
    mine, theirs = _pair(engine, torch, arrays)
    y, ty = fn(F, *mine), fn(TF, *theirs)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=rtol, atol=atol)
    assert tuple(y.shape) == tuple(ty.shape)
    if grad_fn is not None:
        assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__ == grad_fn
    w = np.random.RandomState(seed).standard_normal(tuple(ty.shape))
    (y * engine.tensor(w, dtype=engine.float64)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for a, b in zip(mine, theirs):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            np.testing.assert_allclose(npy(a.grad), b.grad.numpy(), rtol=rtol * 10, atol=atol * 10)


# ---------------------------------------------------------------------------- activations

ACTIVATIONS = [
    ("gelu", lambda F, x: F.gelu(x), "GeluBackward0"),
    ("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh"), "GeluBackward0"),
    ("silu", lambda F, x: F.silu(x), "SiluBackward0"),
    ("leaky_relu", lambda F, x: F.leaky_relu(x), "LeakyReluBackward0"),
    ("leaky_relu_0.2", lambda F, x: F.leaky_relu(x, 0.2), "LeakyReluBackward0"),
    ("elu", lambda F, x: F.elu(x), "EluBackward0"),
    ("elu_alpha", lambda F, x: F.elu(x, alpha=0.7), "EluBackward0"),
    ("softplus", lambda F, x: F.softplus(x), "SoftplusBackward0"),
    ("softplus_beta", lambda F, x: F.softplus(x, beta=2.0, threshold=3.0), "SoftplusBackward0"),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,grad_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(engine, torch, name, fn, grad_fn, shape):
    rs = np.random.RandomState(abs(hash((name, shape))) % 2**31)
    _compare(engine, torch, [_rand(rs, shape)], fn, grad_fn)


def test_erf_matches_torch(engine, torch):
    x = np.random.RandomState(1).uniform(-3, 3, size=(4, 5))
    _compare(engine, torch, [x], lambda F, a: a.erf(), "ErfBackward0")
    assert engine.erf(engine.tensor([1, 2])).dtype == engine.float32      # as torch
    np.testing.assert_allclose(npy(engine.erf(engine.tensor([0.5]))), [0.5204998850822449],
                               rtol=1e-7)


@pytest.mark.parametrize("name,fn,grad_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_float32_values(engine, torch, name, fn, grad_fn):
    F = libs_for(engine).F
    import torch.nn.functional as TF
    x = np.random.RandomState(3).uniform(-25, 25, size=200).astype(np.float32)
    y = fn(F, engine.tensor(x))
    assert y.dtype == engine.float32
    np.testing.assert_allclose(npy(y), fn(TF, torch.tensor(x)).numpy(), rtol=2e-6, atol=2e-6)


def test_activation_extremes(engine, torch):
    """Large magnitudes: softplus's threshold, silu/elu/gelu saturation, no nan."""
    F = libs_for(engine).F
    import torch.nn.functional as TF
    x = np.array([-800.0, -40.0, -1e-10, 0.0, 1e-10, 19.9, 20.1, 40.0, 800.0])
    for fn in (lambda F, t: F.softplus(t), lambda F, t: F.silu(t), lambda F, t: F.elu(t),
               lambda F, t: F.gelu(t), lambda F, t: F.gelu(t, approximate="tanh"),
               lambda F, t: F.softplus(t, beta=0.5, threshold=1.0)):
        np.testing.assert_allclose(npy(fn(F, engine.tensor(x, dtype=engine.float64))),
                                   fn(TF, torch.tensor(x)).numpy(), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name,fn,grad_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_second_order(engine, name, fn, grad_fn):
    """gradcheck and gradgradcheck (float64, away from the kinks at 0)."""
    libs = libs_for(engine)
    rs = np.random.RandomState(5)
    x = rs.uniform(0.2, 2.0, size=(2, 3)) * np.where(rs.rand(2, 3) < 0.5, -1, 1)
    leaf = engine.tensor(x, dtype=engine.float64, requires_grad=True)
    assert libs.autograd.gradcheck(lambda a: fn(libs.F, a), [leaf])
    assert libs.autograd.gradgradcheck(lambda a: fn(libs.F, a), [leaf])


@pytest.mark.parametrize("name,fn,grad_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_second_derivative_matches_torch(engine, torch, name, fn, grad_fn):
    """d/dx of the first derivative (create_graph=True) equals torch's."""
    libs = libs_for(engine)
    import torch.nn.functional as TF
    x = np.random.RandomState(8).uniform(-3, 3, size=7)
    a = engine.tensor(x, dtype=engine.float64, requires_grad=True)
    ta = torch.tensor(x, requires_grad=True)
    g, = libs.autograd.grad(fn(libs.F, a).sum(), [a], create_graph=True)
    tg, = torch.autograd.grad(fn(TF, ta).sum(), [ta], create_graph=True)
    np.testing.assert_allclose(npy(g), tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    tg2, = torch.autograd.grad(tg.sum(), [ta])
    if not g.requires_grad:     # leaky_relu: piecewise linear, a gradient without history
        assert name.startswith("leaky_relu") and not tg2.numpy().any()
        return
    g2, = libs.autograd.grad(g.sum(), [a])
    np.testing.assert_allclose(npy(g2), tg2.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,kind,msg", [
    (lambda F, E: F.gelu(E.tensor([1.0]), approximate="foo"), RuntimeError,
     "approximate argument must be either none or tanh."),
    (lambda F, E: F.gelu(E.tensor([1, 2])), NotImplementedError,
     "\"GeluKernelImpl\" not implemented for 'Long'"),
    (lambda F, E: F.silu(E.tensor([1, 2])), NotImplementedError,
     "\"silu_cpu\" not implemented for 'Long'"),
    (lambda F, E: F.leaky_relu(E.tensor([1, 2])), NotImplementedError,
     "\"leaky_relu_cpu\" not implemented for 'Long'"),
    (lambda F, E: F.elu(E.tensor([1, 2])), NotImplementedError, "\"elu_cpu\""),
    (lambda F, E: F.softplus(E.tensor([1, 2])), NotImplementedError, "\"softplus_cpu\""),
    (lambda F, E: F.gelu(1.0), TypeError,
     "gelu(): argument 'input' (position 1) must be Tensor, not float"),
    (lambda F, E: F.leaky_relu([1.0]), TypeError,
     "leaky_relu(): argument 'input' (position 1) must be Tensor, not list"),
])
def test_activation_errors(engine, torch, call, kind, msg):
    import torch.nn.functional as TF
    with pytest.raises(kind) as theirs:
        call(TF, torch)
    assert msg in str(theirs.value)
    with pytest.raises(kind) as mine:
        call(libs_for(engine).F, engine)
    assert msg in str(mine.value)


def test_inplace_variants(engine, torch):
    """inplace=True overwrites a tensor that needs no gradient and returns it; with a
    graph the result is correct (a new tensor: torch's *Backward1 nodes are not built)."""
    F = libs_for(engine).F
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    for call in (lambda t: F.leaky_relu(t, 0.1, inplace=True),
                 lambda t: F.elu(t, 0.5, inplace=True), lambda t: F.silu(t, inplace=True)):
        t = engine.tensor(x, dtype=engine.float64)
        out = call(t)
        assert out is t
        leaf = engine.tensor(x, dtype=engine.float64, requires_grad=True)
        h = leaf * 1
        y = call(h)
        y.sum().backward()
        assert leaf.grad is not None
    import torch.nn.functional as TF
    t = torch.tensor(x)
    TF.elu(t, 0.5, inplace=True)
    u = engine.tensor(x, dtype=engine.float64)
    F.elu(u, 0.5, inplace=True)
    np.testing.assert_allclose(npy(u), t.numpy(), rtol=1e-15)


# ---------------------------------------------------------------------------- losses

LOSSES = [
    ("l1_mean", lambda F, x, t: F.l1_loss(x, t), "MeanBackward0"),
    ("l1_sum", lambda F, x, t: F.l1_loss(x, t, reduction="sum"), "SumBackward0"),
    ("l1_none", lambda F, x, t: F.l1_loss(x, t, reduction="none"), "AbsBackward0"),
    ("smooth_l1_mean", lambda F, x, t: F.smooth_l1_loss(x, t), "SmoothL1LossBackward0"),
    ("smooth_l1_sum_beta", lambda F, x, t: F.smooth_l1_loss(x, t, reduction="sum", beta=0.5),
     "SmoothL1LossBackward0"),
    ("smooth_l1_none", lambda F, x, t: F.smooth_l1_loss(x, t, reduction="none", beta=2.0),
     "SmoothL1LossBackward0"),
    ("smooth_l1_beta0", lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.0), "MeanBackward0"),
    ("huber_mean", lambda F, x, t: F.huber_loss(x, t), "HuberLossBackward0"),
    ("huber_sum", lambda F, x, t: F.huber_loss(x, t, reduction="sum", delta=0.5),
     "HuberLossBackward0"),
    ("huber_none", lambda F, x, t: F.huber_loss(x, t, reduction="none", delta=2.0),
     "HuberLossBackward0"),
    ("bce_logits_mean", lambda F, x, t: F.binary_cross_entropy_with_logits(x, t),
     "BinaryCrossEntropyWithLogitsBackward0"),
    ("bce_logits_sum",
     lambda F, x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
     "BinaryCrossEntropyWithLogitsBackward0"),
    ("bce_logits_none",
     lambda F, x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
     "BinaryCrossEntropyWithLogitsBackward0"),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,grad_fn", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_matches_torch(engine, torch, name, fn, grad_fn, shape):
    """Values and the gradients of input and target (both require grad)."""
    rs = np.random.RandomState(abs(hash((name, shape))) % 2**31)
    x = _rand(rs, shape)
    t = rs.uniform(0, 1, size=shape) if "bce" in name else _rand(rs, shape)
    _compare(engine, torch, [x, t], fn, grad_fn)


def _weights(engine, torch, arr):
    return engine.tensor(arr, dtype=engine.float64), torch.tensor(arr)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", ["weight", "pos_weight", "both"])
def test_bce_with_logits_weights(engine, torch, which, reduction):
    rs = np.random.RandomState(11)
    x, t = _rand(rs, (4, 3), -40, 40), rs.uniform(0, 1, size=(4, 3))
    w, pw = rs.uniform(0.1, 2, size=(4, 3)), rs.uniform(0.1, 3, size=(3,))
    ew, tw = _weights(engine, torch, w)
    epw, tpw = _weights(engine, torch, pw)

    def fn(F, a, b):
        mine = F is libs_for(engine).F
        kw = {"reduction": reduction}
        if which in ("weight", "both"):
            kw["weight"] = ew if mine else tw
        if which in ("pos_weight", "both"):
            kw["pos_weight"] = epw if mine else tpw
        return F.binary_cross_entropy_with_logits(a, b, **kw)
    _compare(engine, torch, [x, t], fn, "BinaryCrossEntropyWithLogitsBackward0")


def test_loss_broadcast_and_promotion(engine, torch):
    """A target that broadcasts warns (as torch) and is expanded; float32 meets float64."""
    F = libs_for(engine).F
    import torch.nn.functional as TF
    rs = np.random.RandomState(2)
    x, t = rs.standard_normal((3, 4)), rs.standard_normal((4,))
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match="target size"):
            y = getattr(F, name)(engine.tensor(x, dtype=engine.float64),
                                 engine.tensor(t, dtype=engine.float32))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ty = getattr(TF, name)(torch.tensor(x), torch.tensor(t, dtype=torch.float32))
        assert y.dtype == engine.float64
        np.testing.assert_allclose(npy(y), ty.numpy(), rtol=1e-7)


def test_weighted_l1_and_huber(engine, torch):
    rs = np.random.RandomState(4)
    x, t, w = rs.standard_normal((3, 4)), rs.standard_normal((3, 4)), rs.uniform(0, 1, (3, 4))
    ew, tw = _weights(engine, torch, w)
    for red in ("mean", "sum", "none"):
        _compare(engine, torch, [x, t], lambda F, a, b: F.l1_loss(
            a, b, reduction=red, weight=ew if F is libs_for(engine).F else tw))
        _compare(engine, torch, [x, t], lambda F, a, b: F.huber_loss(
            a, b, reduction=red, weight=ew if F is libs_for(engine).F else tw))


@pytest.mark.parametrize("name,fn,grad_fn", [c for c in LOSSES if "l1_" not in c[0]
                                             or "smooth" in c[0]],
                         ids=[c[0] for c in LOSSES if "l1_" not in c[0] or "smooth" in c[0]])
def test_loss_second_order(engine, name, fn, grad_fn):
    libs = libs_for(engine)
    rs = np.random.RandomState(6)
    x = rs.uniform(-2, 2, size=(2, 3))
    t = rs.uniform(0, 1, size=(2, 3)) if "bce" in name else x + rs.choice([-1.7, -0.3, 0.3, 1.9], size=(2, 3))
    leaves = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in (x, t)]
    assert libs.autograd.gradcheck(lambda a, b: fn(libs.F, a, b), leaves)
    assert libs.autograd.gradgradcheck(lambda a, b: fn(libs.F, a, b), leaves)


def test_bce_with_logits_weights_second_order(engine):
    libs = libs_for(engine)
    rs = np.random.RandomState(9)
    x, t = rs.uniform(-2, 2, (2, 3)), rs.uniform(0, 1, (2, 3))
    w = engine.tensor(rs.uniform(0.5, 1.5, (3,)), dtype=engine.float64)
    pw = engine.tensor(rs.uniform(0.5, 2, (2, 3)), dtype=engine.float64)
    leaves = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in (x, t)]
    f = lambda a, b: libs.F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw)
    assert libs.autograd.gradcheck(f, leaves)
    assert libs.autograd.gradgradcheck(f, leaves)


@pytest.mark.parametrize("call,kind,msg", [
    (lambda F, E: F.l1_loss(E.zeros(2, 3, dtype=E.float64), E.zeros(4, dtype=E.float64)),
     RuntimeError, "The size of tensor a (3) must match the size of tensor b (4) at "
                   "non-singleton dimension 1"),
    (lambda F, E: F.smooth_l1_loss(E.zeros(2, 3), E.zeros(4)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4)"),
    (lambda F, E: F.smooth_l1_loss(E.zeros(3), E.zeros(3), beta=-1.0), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
    (lambda F, E: F.huber_loss(E.zeros(3), E.zeros(3), delta=0.0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    (lambda F, E: F.smooth_l1_loss(E.zeros(3), E.zeros(3), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    (lambda F, E: F.l1_loss(E.zeros(3), E.zeros(3), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    (lambda F, E: F.binary_cross_entropy_with_logits(E.zeros(2, 3), E.zeros(3)), ValueError,
     "must be the same as input size"),
    (lambda F, E: F.binary_cross_entropy_with_logits(E.zeros(3), E.zeros(3), reduction="x"),
     ValueError, "x is not a valid value for reduction"),
    (lambda F, E: F.binary_cross_entropy_with_logits(
        E.zeros(2, 3), E.zeros(2, 3), weight=E.ones(5, 2, 3)), RuntimeError,
     "output with shape [2, 3] doesn't match the broadcast shape [5, 2, 3]"),
    (lambda F, E: F.binary_cross_entropy_with_logits(
        E.zeros(2, 3), E.zeros(2, 3), pos_weight=E.ones(4)), RuntimeError,
     "must match the size of tensor b"),
    (lambda F, E: F.binary_cross_entropy_with_logits(
        E.zeros(3), E.zeros(3), weight=E.ones(3, requires_grad=True)), RuntimeError,
     "is not differentiable with respect to argument 'weight'"),
    (lambda F, E: F.l1_loss(E.zeros(3), E.zeros(3), weight=E.ones(4)), ValueError,
     "Weights and input must have the same size."),
])
def test_loss_errors(engine, torch, call, kind, msg):
    import torch.nn.functional as TF
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind) as theirs:
            call(TF, torch)
        assert msg in str(theirs.value)
        with pytest.raises(kind) as mine:
            call(libs_for(engine).F, engine)
    assert msg in str(mine.value)


# ---------------------------------------------------------------------------- nll_loss

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_nll_loss_matches_torch(engine, torch, reduction, weighted, ignore):
    rs = np.random.RandomState(13)
    x = rs.standard_normal((6, 4))
    target = np.array([0, 3, 1, 2, 3, 1])
    if ignore:
        target[[1, 4]] = -100
    w = rs.uniform(0.2, 2.0, size=4)
    ew, tw = _weights(engine, torch, w)
    tg_e, tg_t = engine.tensor(target), torch.tensor(target)

    def fn(F, a):
        mine = F is libs_for(engine).F
        return F.nll_loss(a.log_softmax(1), tg_e if mine else tg_t, reduction=reduction,
                          weight=(ew if mine else tw) if weighted else None)
    _compare(engine, torch, [x], fn, "NllLossBackward0")


# ---------------------------------------------------------------------------- pad

PADS = [((2, 3), (1, 2)), ((2, 3), (0, 0)), ((2, 3, 4), (1, 1, 2, 0)),
        ((2, 3, 4), (-1, 2, 0, 1, 1, 1)), ((5,), (-2, -1)), ((2, 3), (3, -2, -1, 1))]


@pytest.mark.parametrize("shape,pads", PADS, ids=str)
def test_pad_matches_torch(engine, torch, shape, pads):
    x = np.random.RandomState(len(pads)).standard_normal(shape)
    _compare(engine, torch, [x], lambda F, a: F.pad(a, pads, value=0.5),
             "ConstantPadNdBackward0")
    _compare(engine, torch, [x], lambda F, a: F.pad(a, list(pads)), "ConstantPadNdBackward0")


def test_pad_other_dtypes_and_second_order(engine, torch):
    libs = libs_for(engine)
    import torch.nn.functional as TF
    a = libs.F.pad(engine.tensor([[1, 2], [3, 4]]), (1, 0), value=7)
    assert a.dtype == engine.int64
    assert npy(a).tolist() == TF.pad(torch.tensor([[1, 2], [3, 4]]), (1, 0), value=7).tolist()
    ints = engine.tensor([1, 2])
    assert npy(libs.F.pad(ints, (1, 1), value=-2.7)).tolist() == [-2, 1, 2, -2]
    assert npy(libs.F.pad(engine.tensor([True]), (1, 1), value=0.5)).tolist() == [True] * 3
    with pytest.raises(RuntimeError, match="without overflow"):
        libs.F.pad(ints, (1, 1), value=1e30)
    leaf = engine.tensor(np.random.RandomState(0).standard_normal((2, 3)),
                         dtype=engine.float64, requires_grad=True)
    f = lambda t: libs.F.pad(t * t, (1, -1, 2, 0))
    assert libs.autograd.gradcheck(f, [leaf])
    assert libs.autograd.gradgradcheck(f, [leaf])


@pytest.mark.parametrize("call,kind,msg", [
    (lambda F, E: F.pad(E.zeros(2, 3), (1, 1), mode="bogus"), NotImplementedError,
     "Unrecognised padding mode bogus"),
    (lambda F, E: F.pad(E.zeros(2, 3), (1,)), RuntimeError,
     "Padding length must be divisible by 2"),
    (lambda F, E: F.pad(E.zeros(2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got "
     "padding length 6 and input of dimension 2"),
    (lambda F, E: F.pad(E.zeros(2, 3), (-2, -2)), RuntimeError,
     "narrow(): length must be non-negative."),
    (lambda F, E: F.pad(E.zeros(2, 3), (1.5, 1)), TypeError,
     "pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
     "float at pos 0"),
    (lambda F, E: F.pad(E.zeros(2, 3), (1, 1), mode="reflect", value=1.0), RuntimeError,
     "Padding mode \"reflect\" doesn't take in value argument"),
])
def test_pad_errors(engine, torch, call, kind, msg):
    import torch.nn.functional as TF
    with pytest.raises(kind) as theirs:
        call(TF, torch)
    assert msg in str(theirs.value)
    with pytest.raises(kind) as mine:
        call(libs_for(engine).F, engine)
    assert msg in str(mine.value)


def test_pad_unsupported_modes(engine):
    F = libs_for(engine).F
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(NotImplementedError, match="only 'constant'"):
            F.pad(engine.zeros(2, 3), (1, 1), mode=mode)


# ---------------------------------------------------------------------------- normalize, cosine

@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize_matches_torch(engine, torch, p, dim):
    x = np.random.RandomState(21).standard_normal((3, 4))
    _compare(engine, torch, [x], lambda F, a: F.normalize(a, p=p, dim=dim), "DivBackward0")


def test_normalize_eps_and_second_order(engine, torch):
    libs = libs_for(engine)
    x = np.array([[1e-14, -2e-14], [0.3, 0.4]])
    _compare(engine, torch, [x], lambda F, a: F.normalize(a, eps=1e-12))
    leaf = engine.tensor(np.random.RandomState(1).standard_normal((2, 3)), dtype=engine.float64,
                         requires_grad=True)
    assert libs.autograd.gradgradcheck(lambda t: libs.F.normalize(t, dim=0), [leaf])


@pytest.mark.parametrize("s1,s2,dim", [((3, 4), (3, 4), 1), ((3, 4), (4,), 1),
                                       ((2, 3, 4), (2, 3, 4), 0), ((5,), (5,), 0),
                                       ((2, 1, 4), (3, 4), -1)])
def test_cosine_similarity_matches_torch(engine, torch, s1, s2, dim):
    rs = np.random.RandomState(31)
    _compare(engine, torch, [rs.standard_normal(s1), rs.standard_normal(s2)],
             lambda F, a, b: F.cosine_similarity(a, b, dim=dim), "SumBackward1")


def test_cosine_similarity_small_norms(engine, torch):
    """torch 2.13 clamps each norm at eps in place after a clone, without gradient:
    the gradient flows through the unclamped norm (not the documented max(||x1|| ||x2||,
    eps) formula)."""
    x1 = np.array([[1e-10, 2e-10, -1e-10], [0.5, -0.2, 0.1]])
    x2 = np.array([[0.3, 0.1, 0.2], [1e-12, 0.0, 1e-12]])
    _compare(engine, torch, [x1, x2], lambda F, a, b: F.cosine_similarity(a, b, eps=1e-8),
             rtol=1e-10, atol=1e-12)


def test_cosine_similarity_errors(engine, torch):
    import torch.nn.functional as TF
    F = libs_for(engine).F
    for mod, E in ((TF, torch), (F, engine)):
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            mod.cosine_similarity(E.zeros(2, 3), E.zeros(4))
        with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
            mod.cosine_similarity(E.tensor([1, 2]), E.tensor([1, 2]), dim=0)


# ---------------------------------------------------------------------------- modules

def _module_cases(nn):
    return [
        (nn.GELU(), "GELU(approximate='none')"),
        (nn.GELU("tanh"), "GELU(approximate='tanh')"),
        (nn.SiLU(), "SiLU()"),
        (nn.SiLU(inplace=True), "SiLU(inplace=True)"),
        (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
        (nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
        (nn.ELU(), "ELU(alpha=1.0)"),
        (nn.ELU(2.0, True), "ELU(alpha=2.0, inplace=True)"),
        (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
        (nn.Softplus(2, 10), "Softplus(beta=2, threshold=10)"),
        (nn.L1Loss(), "L1Loss()"),
        (nn.SmoothL1Loss(beta=0.5), "SmoothL1Loss()"),
        (nn.HuberLoss(delta=2.0), "HuberLoss()"),
        (nn.BCEWithLogitsLoss(), "BCEWithLogitsLoss()"),
        (nn.NLLLoss(), "NLLLoss()"),
    ]


def test_module_reprs_match_torch(engine, torch):
    mine = _module_cases(libs_for(engine).nn)
    theirs = _module_cases(torch.nn)
    for (m, want), (tm, twant) in zip(mine, theirs):
        assert repr(tm) == twant == want
        assert repr(m) == want


@pytest.mark.parametrize("make,args", [
    (lambda nn: nn.GELU("tanh"), 1), (lambda nn: nn.SiLU(), 1),
    (lambda nn: nn.LeakyReLU(0.3), 1), (lambda nn: nn.ELU(0.5), 1),
    (lambda nn: nn.Softplus(1.5, 2.0), 1),
    (lambda nn: nn.L1Loss(reduction="sum"), 2), (lambda nn: nn.SmoothL1Loss(beta=0.4), 2),
    (lambda nn: nn.HuberLoss(reduction="none", delta=0.7), 2),
    (lambda nn: nn.BCEWithLogitsLoss(), 2),
])
def test_modules_match_torch(engine, torch, make, args):
    libs = libs_for(engine)
    m, tm = make(libs.nn), make(torch.nn)
    rs = np.random.RandomState(41)
    arrays = [rs.uniform(-2, 2, (3, 4)), rs.uniform(0, 1, (3, 4))][:args]
    mine, theirs = _pair(engine, torch, arrays)
    y, ty = m(*mine), tm(*theirs)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__


def test_bce_with_logits_module_buffers(engine, torch):
    libs = libs_for(engine)
    pw = engine.tensor([1.0, 2.0, 3.0])
    m = libs.nn.BCEWithLogitsLoss(pos_weight=pw)
    tm = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0]))
    assert list(m.state_dict()) == list(tm.state_dict()) == ["pos_weight"]
    w = libs.nn.BCEWithLogitsLoss(weight=engine.ones(3))
    assert [n for n, _ in w.named_buffers()] == ["weight"]
    x, t = np.array([[0.3, -1.0, 2.0]]), np.array([[1.0, 0.0, 1.0]])
    y = m(engine.tensor(x, dtype=engine.float32), engine.tensor(t, dtype=engine.float32))
    ty = tm(torch.tensor(x, dtype=torch.float32), torch.tensor(t, dtype=torch.float32))
    np.testing.assert_allclose(npy(y), ty.numpy(), rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda F, a: F.smooth_l1_loss(a, a.detach() * 0.5),
    lambda F, a: F.huber_loss(a, a.detach(), reduction="sum"),
    lambda F, a: F.binary_cross_entropy_with_logits(a, a.detach()),
    lambda F, a: F.l1_loss(a, a.detach()),
    lambda F, a: F.pad(a, (1, 1)), lambda F, a: F.pad(a, (0, 0, 1, 0), value=2.0),
    lambda F, a: F.gelu(a), lambda F, a: F.softplus(a)])
def test_empty_inputs(engine, torch, fn):
    """No elements: torch's shapes, nan means, and a backward that runs."""
    F = libs_for(engine).F
    import torch.nn.functional as TF
    a = engine.zeros(0, 3, dtype=engine.float64, requires_grad=True)
    ta = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    y, ty = fn(F, a), fn(TF, ta)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(npy(y), ty.detach().numpy())
    y.sum().backward()
    assert tuple(a.grad.shape) == (0, 3)
