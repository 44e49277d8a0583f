"""Module hooks (issue 12 item 2) on both engines against torch 2.13: forward pre-hooks,
forward hooks, full backward hooks (grad_input / grad_output, replacement, removal)."""

import warnings

import numpy as np
import pytest

from _tensors import libs_for, npy


def linear_pair(engine, torch):
    nn = libs_for(engine)[0]
    lin = nn.Linear(3, 2).double()
    tlin = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(npy(lin.weight)))
        tlin.bias.copy_(torch.tensor(npy(lin.bias)))
    return lin, tlin


def record(log):
    def pre(m, args):
        log.append(("pre", len(args)))

    def fwd(m, args, out):
        log.append(("fwd", tuple(out.shape)))
        return out * 2

    def bwd(m, gi, go):
        log.append(("bwd", [None if g is None else np.asarray(g.tolist()) for g in gi],
                    [np.asarray(g.tolist()) for g in go]))
    return pre, fwd, bwd


def same_log(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x[0] == y[0]
        if x[0] != "bwd":
            assert x == y
            continue
        for gs, hs in zip(x[1:], y[1:]):
            assert [g is None for g in gs] == [h is None for h in hs]
            for g, h in zip(gs, hs):
                if g is not None:
                    np.testing.assert_allclose(g, h, rtol=1e-14)


@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_hooks_order_and_gradients_as_torch(engine, torch, input_requires_grad):
    lin, tlin = linear_pair(engine, torch)
    mine, theirs = [], []
    handles = [reg(h) for reg, h in zip((lin.register_forward_pre_hook,
                                         lin.register_forward_hook,
                                         lin.register_full_backward_hook), record(mine))]
    for reg, h in zip((tlin.register_forward_pre_hook, tlin.register_forward_hook,
                       tlin.register_full_backward_hook), record(theirs)):
        reg(h)
    xa = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    x = engine.tensor(xa.tolist(), dtype=engine.float64, requires_grad=input_requires_grad)
    tx = torch.tensor(xa, requires_grad=input_requires_grad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = lin(x)
        (y * y).sum().backward()
    with warnings.catch_warnings(record=True) as tcaught:
        warnings.simplefilter("always")
        ty = tlin(tx)
        (ty * ty).sum().backward()
    assert [str(w.message) for w in caught] == [str(w.message) for w in tcaught]
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-14)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__
    same_log(mine, theirs)
    np.testing.assert_allclose(npy(lin.weight.grad), tlin.weight.grad.numpy(), rtol=1e-14)
    for h in handles:
        h.remove()
    mine.clear()
    lin(x).sum().backward()
    assert mine == []


def test_hooks_replace_args_and_grad_input(engine, torch):
    lin, tlin = linear_pair(engine, torch)
    for m in (lin, tlin):
        m.register_forward_pre_hook(lambda m, args: (args[0] * 3,))
        m.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 1,))
    xa = np.linspace(-1, 1, 6).reshape(2, 3)
    x = engine.tensor(xa.tolist(), dtype=engine.float64, requires_grad=True)
    tx = torch.tensor(xa, requires_grad=True)
    y, ty = lin(x), tlin(tx)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), rtol=1e-14)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(npy(x.grad), tx.grad.numpy())
    np.testing.assert_allclose(npy(lin.weight.grad), tlin.weight.grad.numpy(), rtol=1e-14)


def test_no_hook_is_a_plain_call(engine):
    nn = libs_for(engine)[0]
    lin = nn.Linear(3, 2)
    assert "_tg_hooks" not in lin.__dict__
    h = lin.register_forward_hook(lambda m, a, o: None)
    h.remove()
    with h:
        pass
    out = lin(engine.ones(1, 3))
    assert type(out.grad_fn).__name__ == "AddmmBackward0"
