"""Behaviours where the compiled engine used to drift from the reference and torch:
linear as one AddmmBackward0 node, min's own backward (MinBackward1/0), bmm and
batched matmul, softmax's dim, the tensor argument of module functions, t()'s name
and the grad-mode primitive. Each runs on both engines and checks torch where it can."""

import numpy as np
import pytest

from _tensors import libs_for, npy
from _util import load_engine

RNG = np.random.default_rng(20261203)


def _names(fn):
    return [None if f is None else type(f).__name__ for f, _ in fn.next_functions]


def _run(M, build, arrays, grads):
    """Tensors of ``arrays`` (requires_grad per ``grads``), out = build(M, *tensors),
    backward of sum(out * out); returns (out, [grads], out.grad_fn)."""
    ts = [M.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    out = build(M, *ts)
    (out * out).sum().backward()
    return npy(out), [npy(t.grad) if g else None for t, g in zip(ts, grads)], out.grad_fn


# ---------------------------------------------------------------------------- linear / addmm


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
@pytest.mark.parametrize("grads", [(True, True, True), (False, True, True),
                                   (True, False, False), (False, False, True)])
def test_linear_is_one_addmm_node(engine, torch, x_shape, grads):
    X = RNG.standard_normal(x_shape)
    W, B = RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    F = libs_for(engine).F

    def build(M, x, w, b):
        return (torch.nn.functional if M is torch else F).linear(x, w, b)

    out, gs, fn = _run(engine, build, [X, W, B], grads)
    t_out, t_gs, t_fn = _run(torch, build, [X, W, B], grads)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    for g, tg in zip(gs, t_gs):
        if tg is not None:
            np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-12)
    assert fn.name() == t_fn.name()
    if len(x_shape) == 2:
        assert fn.name() == "AddmmBackward0"
        assert _names(fn) == _names(t_fn)


def test_addmm_hook_matches_the_reference(engine):
    R = load_engine("python")
    X = RNG.standard_normal((5, 4)).astype(np.float32)
    W = RNG.standard_normal((4, 3)).astype(np.float32)
    B = RNG.standard_normal(3).astype(np.float32)

    def build(M, b, x, w):
        return M._addmm(b, x, w)

    out, gs, fn = _run(engine, build, [B, X, W], (True, True, True))
    r_out, r_gs, r_fn = _run(R, build, [B, X, W], (True, True, True))
    assert fn.name() == r_fn.name() == "AddmmBackward0"
    assert _names(fn) == ["AccumulateGrad"] * 3
    np.testing.assert_array_equal(out, r_out)
    np.testing.assert_array_equal(gs[1], r_gs[1])        # the gemms: the same BLAS
    np.testing.assert_array_equal(gs[2], r_gs[2])
    # the bias's column sums: the reference adds in torch's order, the compiled
    # broadcast-add backward row by row (bit-identical to it before addmm existed)
    np.testing.assert_allclose(gs[0], r_gs[0], rtol=1e-6)


def test_addmm_hook_errors(engine):
    M = engine
    x, w = M.ones(2, 3), M.ones(3, 4)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        M._addmm(M.ones(4), x, M.ones(2, 4))
    with pytest.raises(RuntimeError, match="must be matrices"):
        M._addmm(M.ones(4), M.ones(3), w)
    with pytest.raises(RuntimeError, match="broadcast"):
        M._addmm(M.ones(3), x, w)
    with pytest.raises(TypeError, match="same dtype"):
        M._addmm(M.ones(4), x, M.ones(3, 4, dtype=M.float64))


def test_new_kernels_in_a_recorded_step(engine):
    """addmm, bmm and min replay (tapegrad.compile) with the eager losses and gradients."""
    if engine.ENGINE != "c":
        pytest.skip("tapegrad.compile serves the active (compiled) engine")
    import tapegrad
    tapegrad.manual_seed(0)
    layer = tapegrad.nn.Linear(3, 2)
    w3 = tapegrad.tensor(RNG.standard_normal((2, 2, 3)).astype(np.float32), requires_grad=True)
    xs = [tapegrad.tensor(RNG.standard_normal((4, 3)).astype(np.float32)) for _ in range(3)]

    def step(x):
        h = layer(x)
        b = h.reshape(2, 2, 2).bmm(w3)
        return (h ** 2).mean() + b.min() + b.min(2).values.sum()

    eager = []
    for x in xs:
        layer.zero_grad()
        w3.grad = None
        loss = step(x)
        loss.backward()
        eager.append((loss.item(), npy(layer.weight.grad), npy(layer.bias.grad), npy(w3.grad)))
    compiled = tapegrad.compile(step)
    for x, (loss, gw, gb, g3) in zip(xs, eager):
        layer.zero_grad()
        w3.grad = None
        assert compiled(x).item() == loss
        np.testing.assert_array_equal(npy(layer.weight.grad), gw)
        np.testing.assert_array_equal(npy(layer.bias.grad), gb)
        np.testing.assert_array_equal(npy(w3.grad), g3)
    assert compiled.recordings == 1


# ---------------------------------------------------------------------------- min


MIN_DATA = [[3.0, 1.0, 1.0, 7.0], [2.0, 5.0, 2.0, -4.0], [0.5, 0.5, 0.5, 9.0]]


def test_min_all_has_its_own_node_and_shares_ties(engine, torch):
    third = float(np.float32(1) / np.float32(3))
    for M in (engine, torch):
        x = M.tensor([[3.0, 1.0, 1.0], [2.0, 5.0, 1.0]], requires_grad=True)
        m = x.min()
        m.backward()
        assert m.grad_fn.name() == "MinBackward1"
        assert m.item() == 1.0
        assert x.grad.tolist() == [[0.0, third, third], [0.0, 0.0, third]]
        y = M.tensor([1.0, float("nan"), 0.0, float("nan")], requires_grad=True)
        n = y.min()
        n.backward()
        assert np.isnan(n.item())
        assert y.grad.tolist() == [0.0, 0.5, 0.0, 0.5]


@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True), (0, True)])
def test_min_dim_matches_torch(engine, torch, dim, keepdim):
    results = []
    for M in (engine, torch):
        x = M.tensor(MIN_DATA, requires_grad=True)
        r = M.min(x, dim, keepdim)
        (r.values * M.tensor(2.0)).sum().backward()
        assert r.values.grad_fn.name() == "MinBackward0"
        assert type(r).__name__ in ("min", "min_return")
        results.append((r.values.tolist(), r.indices.tolist(), x.grad.tolist()))
    assert results[0] == results[1]


def test_min_dim_nan_and_errors(engine, torch):
    for M in (engine, torch):
        x = M.tensor([[1.0, float("nan"), float("nan")], [4.0, 3.0, 3.0]], requires_grad=True)
        r = x.min(1)
        assert r.indices.tolist() == [1, 1]
        r.values[1].backward()
        assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        with pytest.raises(RuntimeError, match="numel"):
            M.tensor([]).min()
        with pytest.raises(IndexError):
            M.ones(2, 0).min(1)


# ---------------------------------------------------------------------------- bmm, batched matmul


def test_bmm(engine, torch):
    if not hasattr(engine, "bmm"):
        pytest.skip("the reference has no public bmm yet (its owner's call)")
    A, B = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 4, 5))
    got, want = (_run(M, lambda M, a, b: M.bmm(a, b), [A, B], (True, True))
                 for M in (engine, torch))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert got[2].name() == "BmmBackward0"
    assert engine.tensor(A).bmm(engine.tensor(B)).shape == (3, 2, 5)
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        engine.bmm(engine.ones(2, 3), engine.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match=r"batch2 tensor to be: \[2, 4\] but got: \[2, 5\]"):
        engine.bmm(engine.ones(2, 3, 4), engine.ones(2, 5, 4))


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 5)),
                                   ((2, 1, 3, 4), (3, 4, 2)), ((5, 2, 3, 4), (5, 2, 4, 1))])
def test_batched_matmul(engine, torch, sa, sb):
    A, B = RNG.standard_normal(sa), RNG.standard_normal(sb)
    got, want = (_run(M, lambda M, a, b: a @ b, [A, B], (True, True)) for M in (engine, torch))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    if len(sa) >= 3 or len(sb) < 3:     # torch ends 2-D @ 3-D with a clone
        assert got[2].name() == want[2].name() == "UnsafeViewBackward0"
        assert _names(got[2]) == _names(want[2])     # BmmBackward0, MmBackward0 or MvBackward0


# ---------------------------------------------------------------------------- softmax's dim


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4), (2, 2, 2, 2)])
def test_softmax_dim(engine, torch, shape):
    X = RNG.standard_normal(shape)
    x, tx = engine.tensor(X), torch.tensor(X)
    for name in ("softmax", "log_softmax"):
        with pytest.raises(TypeError, match='missing 1 required positional argument'):
            getattr(tx, name)()
        if engine.ENGINE == "c":      # the reference still accepts it (its owner's call)
            with pytest.raises(TypeError, match='missing 1 required positional argument'):
                getattr(x, name)()
        implicit = 0 if len(shape) in (0, 1, 3) else 1
        np.testing.assert_array_equal(npy(getattr(x, name)(None)),
                                      npy(getattr(x, name)(implicit)))
        with pytest.warns(UserWarning):
            want = npy(getattr(torch.nn.functional, name)(tx))
        np.testing.assert_allclose(npy(getattr(x, name)(None)), want, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------- function arguments


@pytest.mark.parametrize("call", [
    lambda M: M.mean(5), lambda M: M.max(5), lambda M: M.min(5), lambda M: M.softmax(5, 0),
    lambda M: M.mm(5, M.ones(2, 2)), lambda M: M.reshape(5, 1),
    lambda M: M.matmul(5, M.ones(2)), lambda M: M.flatten(5), lambda M: M.t(5),
    lambda M: M.argmax(5), lambda M: M.argmin(5), lambda M: M.squeeze(5),
    lambda M: M.transpose(5, 0, 1), lambda M: M.exp(5), lambda M: M.clone(5),
])
def test_functions_want_a_tensor(engine, torch, call):
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        call(torch)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        call(engine)


# ---------------------------------------------------------------------------- grad_fn names


def test_t_is_tbackward(engine, torch):
    for M in (engine, torch):
        x = M.ones(2, 3, requires_grad=True)
        assert x.t().grad_fn.name() == "TBackward0"
        assert x.transpose(0, 1).grad_fn.name() == "TransposeBackward0"


# ---------------------------------------------------------------------------- grad mode


def test_grad_mode_primitive(engine):
    """The engine contract's grad-mode primitive: a per-thread depth, 0 = recording.
    (The shared no_grad & co. drive every loaded engine's primitive together.)"""
    M = engine
    assert M._grad_off() == 0
    x = M.ones(2, requires_grad=True)
    assert M._set_grad_off(2) == 0
    try:
        assert M._grad_off() == 2
        assert (x * 2).grad_fn is None
    finally:
        assert M._set_grad_off(0) == 2
    assert (x * 2).grad_fn is not None
    with M.no_grad():
        assert M._grad_off() == 1
        assert (x * 2).grad_fn is None
    assert M._grad_off() == 0
    with pytest.raises(ValueError):
        M._set_grad_off(-1)
