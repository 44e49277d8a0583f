"""tapegrad.autograd.Function (issue 12 item 1) on both engines, against torch 2.13:
values, gradients, grad_fn names, ctx features, errors, create_graph, and the PyTorch
tutorial's Legendre-polynomial fit."""

import math

import numpy as np
import pytest

from _tensors import npy
from tapegrad.autograd import Function as TgFunction, once_differentiable as tg_once


def t64(M, a, requires_grad=False):
    return M.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=M.float64,
                    requires_grad=requires_grad)


def tt64(torch, a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def both(torch, make):
    """make(Function base, once_differentiable) built for tapegrad and for torch."""
    return make(TgFunction, tg_once), make(torch.autograd.Function,
                                           torch.autograd.function.once_differentiable)


def raises_like(torch_fn, tg_fn):
    """Both raise the same exception type with the same message."""
    with pytest.raises(Exception) as want:
        torch_fn()
    with pytest.raises(type(want.value)) as got:
        tg_fn()
    assert str(got.value) == str(want.value)


def mul_fn(Base, once):
    class MulFn(Base):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x
    return MulFn


XA = [0.5, -1.25, 2.0]
YA = [1.5, 3.0, -0.75]


def test_values_gradients_and_grad_fn(engine, torch):
    tg_f, th_f = both(torch, mul_fn)
    x, y = t64(engine, XA, True), t64(engine, YA, True)
    tx, ty = tt64(torch, XA, True), tt64(torch, YA, True)
    out, tout = tg_f.apply(x, y), th_f.apply(tx, ty)
    np.testing.assert_array_equal(npy(out), tout.detach().numpy())
    assert type(out.grad_fn).__name__ == type(tout.grad_fn).__name__ == "MulFnBackward"
    assert out.grad_fn.name() == "MulFnBackward"
    assert "grad_fn=<MulFnBackward>" in repr(out)
    assert [type(f).__name__ for f, _ in out.grad_fn.next_functions] == \
        ["AccumulateGrad", "AccumulateGrad"]
    (out.exp() * out).sum().backward()
    (tout.exp() * tout).sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(npy(y.grad), ty.grad.numpy(), rtol=1e-14)


def test_inside_a_larger_graph_and_autograd_grad(engine, torch):
    tg_f, th_f = both(torch, mul_fn)
    w, tw = t64(engine, XA, True), tt64(torch, XA, True)
    b, tb = t64(engine, YA, True), tt64(torch, YA, True)

    def net(M, F, w, b):
        h = (w * 2.0 + b).tanh()
        z = F.apply(h, b.sigmoid())
        return (F.apply(z, z) + h).sum() * 3.0

    loss, tloss = net(engine, tg_f, w, b), net(torch, th_f, tw, tb)
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-14)
    import tapegrad
    gw, gb = tapegrad.autograd.grad(loss, [w, b])
    tgw, tgb = torch.autograd.grad(tloss, [tw, tb])
    np.testing.assert_allclose(npy(gw), tgw.numpy(), rtol=1e-13)
    np.testing.assert_allclose(npy(gb), tgb.numpy(), rtol=1e-13)
    assert w.grad is None


def test_needs_input_grad_and_non_tensor_args(engine, torch):
    seen = {}

    def make(Base, once):
        class Scale(Base):
            @staticmethod
            def forward(ctx, x, k, y):
                seen.setdefault(Base, []).append(ctx.needs_input_grad)
                ctx.k = k
                return x * k + y

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None, g
        return Scale
    tg_f, th_f = both(torch, make)
    x, y = t64(engine, XA, True), t64(engine, YA)
    tx, ty = tt64(torch, XA, True), tt64(torch, YA)
    tg_f.apply(x, 3.0, y).sum().backward()
    th_f.apply(tx, 3.0, ty).sum().backward()
    np.testing.assert_array_equal(npy(x.grad), tx.grad.numpy())
    assert seen[TgFunction] == seen[torch.autograd.Function] == [(True, False, False)]
    out = tg_f.apply(t64(engine, XA), 2.0, y)           # nothing requires grad: no node
    assert out.grad_fn is None and not out.requires_grad


def test_multiple_outputs_non_differentiable_and_materialize(engine, torch):
    got = {}

    def make(Base, once):
        class Split(Base):
            @staticmethod
            def forward(ctx, x):
                a, b, idx = x * 2, x * 3, x * 0
                ctx.mark_non_differentiable(idx)
                return a, b, idx, 7

            @staticmethod
            def backward(ctx, ga, gb, gidx, gn):
                got.setdefault(Base, []).append(
                    [None if g is None else np.asarray(g.detach().tolist()) for g in
                     (ga, gb, gidx)] + [gn])
                return ga * 2 + gb * 3

        class Lazy(Base):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                got.setdefault((Base, "lazy"), []).append((ga is None, gb is None))
                return ga * 2
        return Split, Lazy
    (tg_s, tg_l), (th_s, th_l) = both(torch, make)
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    a, b, idx, n = tg_s.apply(x)
    ta, tb, tidx, tn = th_s.apply(tx)
    assert n == tn == 7 and idx.requires_grad is tidx.requires_grad is False
    a.sum().backward()
    ta.sum().backward()
    np.testing.assert_array_equal(npy(x.grad), tx.grad.numpy())
    mine, theirs = got[TgFunction][0], got[torch.autograd.Function][0]
    for m, t in zip(mine, theirs):
        assert (m is None) == (t is None)
        if m is not None and not isinstance(m, int):
            np.testing.assert_array_equal(m, t)
    tg_l.apply(x)[0].sum().backward()
    th_l.apply(tx)[0].sum().backward()
    assert got[(TgFunction, "lazy")] == got[(torch.autograd.Function, "lazy")] == [(False, True)]


def test_gradient_fitting_like_torch(engine, torch):
    """A broadcast gradient is summed to the input's shape; another dtype is cast;
    extra trailing Nones are dropped."""
    def make(Base, once):
        class Wide(Base):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g.unsqueeze(0).expand(4, 3).float(), None, None
        return Wide
    tg_f, th_f = both(torch, make)
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    tg_f.apply(x).sum().backward()
    th_f.apply(tx).sum().backward()
    assert x.grad.dtype == engine.float64
    np.testing.assert_array_equal(npy(x.grad), tx.grad.numpy())


def _bad(Base, ret):
    class Bad(Base):
        @staticmethod
        def forward(ctx, x, *rest):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return ret(g)
    return Bad


@pytest.mark.parametrize("ret,extra", [
    (lambda g: (g, g, g), ()),               # too many gradients
    (lambda g: g[:2], ()),                   # wrong shape
    (lambda g: 3, ()),                       # not a tensor
    (lambda g: "a", ()),
    (lambda g: [g], ()),
    (lambda g: (g, g), (2.0,)),              # a gradient for a number
])
def test_backward_errors_as_torch(engine, torch, ret, extra):
    tg_f, th_f = both(torch, lambda Base, once: _bad(Base, ret))
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    raises_like(lambda: th_f.apply(tx, *extra).sum().backward(),
                lambda: tg_f.apply(x, *extra).sum().backward())


def test_missing_forward_or_backward(engine, torch):
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    raises_like(lambda: torch.autograd.Function.apply(tx),
                lambda: TgFunction.apply(x))

    def make(Base, once):
        class NoBackward(Base):
            @staticmethod
            def forward(ctx, x):
                return x * 2
        return NoBackward
    tg_f, th_f = both(torch, make)
    raises_like(lambda: th_f.apply(tx).sum().backward(),
                lambda: tg_f.apply(x).sum().backward())


def test_exception_in_backward_propagates(engine):
    class Boom(TgFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")
    x = t64(engine, XA, True)
    with pytest.raises(ValueError, match="boom in backward"):
        (Boom.apply(x * 1.0) * 2.0).sum().backward()
    (x * 2.0).sum().backward()                    # the engine is fine afterwards
    np.testing.assert_array_equal(npy(x.grad), [2.0, 2.0, 2.0])


def test_saved_tensor_modified_in_place(engine):
    class Keep(TgFunction):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x
    x = t64(engine, XA, True)
    y = x * 1.0
    out = Keep.apply(y)
    with engine.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_setup_context_style(engine, torch):
    def make(Base, once):
        class Cube(Base):
            @staticmethod
            def forward(x):
                return x ** 3

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g
        return Cube
    tg_f, th_f = both(torch, make)
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    tg_f.apply(x).sum().backward()
    th_f.apply(tx).sum().backward()
    np.testing.assert_allclose(npy(x.grad), tx.grad.numpy(), rtol=1e-15)


def cube_fn(Base, once):
    class Cube(Base):
        @staticmethod
        def forward(ctx, x):
            y = x ** 3
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return 3 * x * x * g + 0 * y
    return Cube


def test_create_graph_through_a_custom_function(engine, torch):
    import tapegrad
    tg_f, th_f = both(torch, cube_fn)
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    out, tout = (tg_f.apply(x.sin()) * x).sum(), (th_f.apply(tx.sin()) * tx).sum()
    g, = tapegrad.autograd.grad(out, x, create_graph=True)
    tg_, = torch.autograd.grad(tout, tx, create_graph=True)
    np.testing.assert_allclose(npy(g), tg_.detach().numpy(), rtol=1e-14)
    g2, = tapegrad.autograd.grad((g * g).sum(), x)
    tg2, = torch.autograd.grad((tg_ * tg_).sum(), tx)
    np.testing.assert_allclose(npy(g2), tg2.numpy(), rtol=1e-13)


def test_once_differentiable_gives_no_history(engine, torch):
    import tapegrad

    def make(Base, once):
        class Sq(Base):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 2

            @staticmethod
            @once
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        return Sq
    tg_f, th_f = both(torch, make)
    x, tx = t64(engine, XA, True), tt64(torch, XA, True)
    g, = tapegrad.autograd.grad(tg_f.apply(x).sum(), x, create_graph=True)
    tg_, = torch.autograd.grad(th_f.apply(tx).sum(), tx, create_graph=True)
    assert g.requires_grad is tg_.requires_grad is False
    np.testing.assert_array_equal(npy(g), tg_.numpy())


def test_replay_refuses_a_custom_function(engine):
    import tapegrad
    Cube = cube_fn(TgFunction, tg_once)
    api = tapegrad._replay.api_for(engine)
    w = t64(engine, XA, True)

    def step(x):
        return Cube.apply(x * w).sum()
    with pytest.raises(RuntimeError, match="Function Cube cannot be recorded for replay"):
        api.compile(step)(t64(engine, YA))


# ---------------------------------------------------------------------------- the tutorial


def legendre(Base, once):
    class LegendrePolynomial3(Base):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


def fit_legendre(M, P3, steps):
    """The PyTorch tutorial's loop (polynomial_custom_function.py), in float64."""
    x = M.linspace(-math.pi, math.pi, 2000, dtype=M.float64)
    y = M.sin(x)
    a = M.full((), 0.0, dtype=M.float64, requires_grad=True)
    b = M.full((), -1.0, dtype=M.float64, requires_grad=True)
    c = M.full((), 0.0, dtype=M.float64, requires_grad=True)
    d = M.full((), 0.3, dtype=M.float64, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for _ in range(steps):
        y_pred = a + b * P3.apply(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with M.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return losses, [p.item() for p in (a, b, c, d)]


def test_legendre_tutorial_matches_torch(engine, torch):
    tg_f, th_f = both(torch, legendre)
    losses, params = fit_legendre(engine, tg_f, 300)
    tlosses, tparams = fit_legendre(torch, th_f, 300)
    assert losses[-1] < losses[0] / 2               # it learns
    np.testing.assert_allclose(losses, tlosses, rtol=1e-9)
    np.testing.assert_allclose(params, tparams, rtol=1e-9, atol=1e-15)   # a, c stay ~0


def test_mark_dirty_rebases_the_input(engine, torch):
    def make(Base, once):
        class AddOne(Base):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 3
        return AddOne
    tg_f, th_f = both(torch, make)
    results = []
    for M, F in ((engine, tg_f), (torch, th_f)):
        x = M.ones(3, dtype=M.float64, requires_grad=True)
        y = x * 2
        z = F.apply(y)
        assert z is y and type(y.grad_fn).__name__ == "AddOneBackward"
        (z * z).sum().backward()
        results.append((y.tolist(), x.grad.tolist()))
    assert results[0] == results[1]
    raises_like(lambda: th_f.apply(torch.ones(2, requires_grad=True)),
                lambda: tg_f.apply(engine.ones(2, requires_grad=True)))
