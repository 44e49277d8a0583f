"""The drifts the conformance test found, fixed: each check runs on both engines and,
where torch has the same call, on torch too (values bit for bit where the engines
compute them with torch's formula, grad_fn names, exception types)."""

import io
import pickle
import warnings

import numpy as np
import pytest

import tapegrad
from _tensors import libs_for, npy

X = [[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]]


def _leaf(M, data=X, dtype=None):
    return M.tensor(data, dtype=M.float64 if dtype is None else dtype, requires_grad=True)


def _grad_fn(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def _value_and_grad(M, fn, data=X, dtype=None):
    x = _leaf(M, data, dtype)
    y = fn(M, x)
    y.sum().backward()
    return npy(y), npy(x.grad), _grad_fn(y)


@pytest.mark.parametrize("name, fn", [
    ("ClampMinBackward0", lambda M, x: x.clamp_min(0.3)),
    ("ClampMaxBackward0", lambda M, x: x.clamp_max(0.3)),
    ("CloneBackward0", lambda M, x: M.clone(x)),
    ("ReciprocalBackward0", lambda M, x: M.reciprocal(x)),
    ("TBackward0", lambda M, x: M.t(x[0])),
    (None, lambda M, x: M.flatten(x, 1, 1)),
    ("PowBackward2", lambda M, x: M.pow(2.0, x)),
], ids=["clamp_min", "clamp_max", "clone", "reciprocal", "t_1d", "flatten_same_dim",
        "pow_number_tensor"])
def test_names_values_and_grads_match_torch(engine, torch, name, fn):
    got = _value_and_grad(engine, fn)
    want = _value_and_grad(torch, fn)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])    # reciprocal: -g * result**2, torch's
    assert got[2] == want[2] == name
    if name is None:                                    # flatten(1, 1): the tensor itself
        x = _leaf(engine)
        assert engine.flatten(x, 1, 1) is x


def test_clone_next_functions(engine):
    x = _leaf(engine)
    assert [type(f).__name__ for f, _ in engine.clone(x).grad_fn.next_functions] == \
        ["AccumulateGrad"]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_is_one_node(engine, torch, reduction):
    outs = []
    for M in (engine, torch):
        F = libs_for(M).F if M is not torch else torch.nn.functional
        x = _leaf(M)
        y = F.nll_loss(M.log_softmax(x, 1), M.tensor([2, 0]), reduction=reduction)
        y.sum().backward()
        nxt = [type(f).__name__ for f, _ in y.grad_fn.next_functions]
        outs.append((npy(y).tolist(), npy(x.grad).tolist(), _grad_fn(y), nxt))
    assert outs[0][2] == outs[1][2] == "NllLossBackward0"
    assert outs[0][3] == outs[1][3] == ["LogSoftmaxBackward0"]
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-15)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-15)


@pytest.mark.parametrize("reduction, tshape", [("none", (2, 3)), ("mean", (3,)),
                                               ("sum", (3,))])
def test_mse_loss_none_and_broadcast(engine, torch, reduction, tshape):
    """reduction='none' is one MseLossBackward0 node; a target of another shape is
    broadcast (the compiled kernel used to read past its end)."""
    outs = []
    tdata = np.array([1.0, -0.5, 0.25]) * np.ones(tshape)
    for M in (engine, torch):
        F = libs_for(M).F if M is not torch else torch.nn.functional
        x = _leaf(M)
        t = M.tensor(tdata.tolist(), dtype=M.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # the shapes differ on purpose
            y = F.mse_loss(x, t, reduction=reduction)
        y.sum().backward()
        outs.append((npy(y).tolist(), npy(x.grad).tolist(), npy(t.grad).tolist(),
                     _grad_fn(y)))
    assert outs[0][3] == outs[1][3] == "MseLossBackward0"
    for a, b in zip(outs[0][:3], outs[1][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    with pytest.raises(ValueError):
        libs_for(engine).F.mse_loss(_leaf(engine), _leaf(engine), reduction="bad")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_is_one_node(engine, torch, reduction):
    """torch's forward (logs clamped at -100) and backward, for the input and the target;
    x == t where the gradient is exactly 0."""
    p = [[0.25, 0.5, 1.0], [0.0, 0.75, 0.125]]
    t = [[0.5, 0.5, 1.0], [0.0, 0.25, 1.0]]
    outs = []
    for M in (engine, torch):
        F = libs_for(M).F if M is not torch else torch.nn.functional
        x, y = _leaf(M, p), _leaf(M, t)
        loss = F.binary_cross_entropy(x, y, reduction=reduction)
        loss.sum().backward()
        outs.append((npy(loss), npy(x.grad), npy(y.grad), _grad_fn(loss)))
    assert outs[0][3] == outs[1][3] == "BinaryCrossEntropyBackward0"
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-15)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-15)
    assert outs[0][1][0, 1] == 0.0 and outs[0][1][0, 2] == 0.0


@pytest.mark.parametrize("call, exc", [
    (lambda M: M.zeros(-1), RuntimeError),
    (lambda M: M.empty(-2), RuntimeError),
    (lambda M: M.randn(-1), RuntimeError),
    (lambda M: M.ones(2.5), TypeError),
    (lambda M: M.full(2, 1.0), TypeError),
    (lambda M: M.Tensor("a"), TypeError),
    (lambda M: M.Tensor(-1), RuntimeError),
    (lambda M: M.arange(0, 5, 0), RuntimeError),
    (lambda M: M.mean(M.tensor([1, 2])), RuntimeError),
    (lambda M: M.zeros_like(5), TypeError),
    (lambda M: M.full_like([1.0], 1), TypeError),
    (lambda M: M.max(_leaf(M), 4), IndexError),
    (lambda M: _leaf(M).softmax(), TypeError),
    (lambda M: M.set_grad_enabled(1), TypeError),
], ids=["zeros", "empty", "randn", "ones_float", "full_int", "Tensor_str", "Tensor_neg",
        "arange_step0", "mean_int", "zeros_like", "full_like", "max_dim", "softmax_nodim",
        "set_grad_enabled_int"])
def test_exception_types_match_torch(engine, torch, call, exc):
    for M in (engine, torch):
        with pytest.raises(exc):
            call(M)


def test_float32_exp_matches_torch(engine, torch):
    a = np.array([1.0, 4.0, -3.3, 0.1, 17.5], dtype=np.float32)
    np.testing.assert_array_equal(npy(engine.exp(engine.tensor(a))),
                                  torch.exp(torch.tensor(a)).numpy())
    got = _value_and_grad(engine, lambda M, x: libs_for(M).F.log_softmax(x, 1,
                                                                         dtype=M.float32))
    want = _value_and_grad(torch, lambda M, x: M.nn.functional.log_softmax(
        x, 1, dtype=M.float32))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2] == "LogSoftmaxBackward0"


def test_autograd_grad_leaves_dot_grad_alone(engine, torch):
    outs = []
    for M in (engine, torch):
        grad = libs_for(M).autograd.grad if M is not torch else torch.autograd.grad
        x, w = _leaf(M), _leaf(M, [[0.5, 0.5, 0.5], [1.0, -1.0, 2.0]])
        w.grad = M.ones(2, 3, dtype=M.float64)
        h = (x * w).tanh() * 2.0
        loss = (h * h).sum()
        gx, gh = grad(loss, [x, h], retain_graph=True)
        assert x.grad is None and npy(w.grad).tolist() == [[1.0] * 3] * 2
        loss.backward(inputs=[x])
        assert npy(w.grad).tolist() == [[1.0] * 3] * 2
        outs.append((npy(gx), npy(gh), npy(x.grad)))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_array_equal(outs[0][0], outs[0][2])


def test_grad_mode_is_shared_and_restores_depth(engine):
    assert engine.no_grad is tapegrad.no_grad and engine.set_grad_enabled is \
        tapegrad.set_grad_enabled and engine.is_grad_enabled is tapegrad.is_grad_enabled
    x = _leaf(engine)
    assert engine._set_grad_off(3) == 0
    try:
        with tapegrad.enable_grad():
            assert (x * 2).requires_grad
        assert engine._grad_off() == 3 and not tapegrad.is_grad_enabled()
    finally:
        engine._set_grad_off(0)

    @engine.set_grad_enabled(False)
    def f():
        return x * 2
    assert tapegrad.is_grad_enabled() and not f().requires_grad
    with pytest.raises(TypeError):
        engine.no_grad(5)


def test_pickle_value_and_tensor(engine):
    v = pickle.loads(pickle.dumps(engine.Value(2.5)))
    assert type(v) is engine.Value and v.data == 2.5
    t = _leaf(engine) * 2
    buf = io.BytesIO()
    tapegrad.save(t, buf)
    buf.seek(0)
    u = tapegrad.load(buf)
    assert type(u) is engine.Tensor and u.is_leaf and u.requires_grad
    assert npy(u).tolist() == npy(t).tolist()
    reduced = engine.Tensor.__reduce_ex__(t, 4)
    assert reduced[0].__name__ == "_rebuild_tensor"
