"""BatchNorm1d / LayerNorm and F.batch_norm / F.layer_norm against torch 2.13 (issue 12
items 3-4): values and gradients in float64 (first and second order), running statistics
(momentum, cumulative average, unbiased running_var), train / eval, buffers in state_dict,
and torch's errors."""

import numpy as np
import pytest

from _tensors import assert_close, npy


def _pair(engine, torch, a, requires_grad=True):
    a = np.asarray(a, dtype=np.float64)
    return (engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=requires_grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))


def _check_grads(engine, torch, outs, ins, rtol=1e-10, atol=1e-12):
    """Values of outs, then gradients of sum(out * g) for a fixed g, all vs torch."""
    (e_out, t_out), g = outs, np.cos(np.arange(outs[1].numel())).reshape(outs[1].shape)
    assert_close(npy(e_out), t_out.detach().numpy(), rtol, atol, "value")
    (e_out * engine.tensor(g.tolist(), dtype=engine.float64)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    for k, (e, t) in enumerate(ins):
        assert_close(npy(e.grad), t.grad.numpy(), rtol, atol, f"grad {k}")


RNG = np.random.default_rng(12)


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_values_grads_running_stats(engine, libs, torch, shape, affine):
    x = RNG.standard_normal(shape) * 3 + 1
    ex, tx = _pair(engine, torch, x)
    c = shape[1]
    ins = [(ex, tx)]
    ew = eb = tw = tb = None
    if affine:
        (ew, tw), (eb, tb) = _pair(engine, torch, RNG.standard_normal(c)), \
            _pair(engine, torch, RNG.standard_normal(c))
        ins += [(ew, tw), (eb, tb)]
    erm, trm = _pair(engine, torch, RNG.standard_normal(c), requires_grad=False)
    erv, trv = _pair(engine, torch, RNG.random(c) + 0.5, requires_grad=False)
    e = libs.F.batch_norm(ex, erm, erv, ew, eb, True, 0.3, 1e-3)
    t = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.3, 1e-3)
    _check_grads(engine, torch, (e, t), ins)
    assert_close(npy(erm), trm.numpy(), 1e-12, 1e-14, "running_mean")
    assert_close(npy(erv), trv.numpy(), 1e-12, 1e-14, "running_var")
    # eval: the running statistics normalise
    ex2, tx2 = _pair(engine, torch, x[::-1].copy())
    e = libs.F.batch_norm(ex2, erm, erv, ew, eb, False, 0.3, 1e-3)
    t = torch.nn.functional.batch_norm(tx2, trm, trv, tw, tb, False, 0.3, 1e-3)
    _check_grads(engine, torch, (e, t), [(ex2, tx2)])


def _bn_script(M, nn, x_batches, **kw):
    M.manual_seed(0)
    bn = nn.BatchNorm1d(4, **kw).double()
    outs = []
    for k, xb in enumerate(x_batches):
        bn.train(k < len(x_batches) - 1)
        outs.append(npy(bn(M.tensor(xb, dtype=M.float64))))
    state = {k: npy(v) for k, v in bn.state_dict().items()}
    return outs, state


@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"affine": False},
                                {"track_running_stats": False}, {"bias": False},
                                {"eps": 0.5, "momentum": 0.9}])
def test_batchnorm1d_module_over_steps(engine, libs, torch, kw):
    batches = [RNG.standard_normal((8, 4)) * (k + 1) + k for k in range(4)]
    batches.append(RNG.standard_normal((3, 4, 2)))
    batches = [b if b.ndim == 2 else b for b in batches[:4]] + [RNG.standard_normal((5, 4))]
    got, got_state = _bn_script(engine, libs.nn, batches, **kw)
    want, want_state = _bn_script(torch, torch.nn, batches, **kw)
    for g, w in zip(got, want):
        assert_close(g, w, 1e-11, 1e-12)
    assert list(got_state) == list(want_state)
    for k in want_state:
        assert_close(got_state[k], want_state[k], 1e-12, 1e-14, k)
    assert str(libs.nn.BatchNorm1d(4, **kw)) == str(torch.nn.BatchNorm1d(4, **kw))


def test_batchnorm1d_3d_input_and_float32(engine, libs, torch):
    x = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    eb, tb = libs.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    e, t = eb(engine.tensor(x.tolist())), tb(torch.tensor(x))
    assert str(e.dtype) == "tapegrad.float32"
    assert_close(npy(e), t.detach().numpy(), 1e-5, 1e-5)
    assert_close(npy(eb.running_var), tb.running_var.numpy(), 1e-6, 1e-6)
    assert int(eb.num_batches_tracked.item()) == 1
    eb.eval()
    tb.eval()
    assert_close(npy(eb(engine.tensor(x.tolist()))), tb(torch.tensor(x)).detach().numpy(),
                 1e-5, 1e-5)


@pytest.mark.parametrize("norm_shape, affine, bias", [
    ((5,), True, True), ((3, 5), True, False), ((5,), False, False), (5, True, True)])
def test_layer_norm_values_and_grads(engine, libs, torch, norm_shape, affine, bias):
    x = RNG.standard_normal((2, 3, 5)) * 2 - 1
    ex, tx = _pair(engine, torch, x)
    em = libs.nn.LayerNorm(norm_shape, eps=1e-4, elementwise_affine=affine, bias=bias).double()
    tm = torch.nn.LayerNorm(norm_shape, eps=1e-4, elementwise_affine=affine, bias=bias).double()
    ins = [(ex, tx)]
    with torch.no_grad(), engine.no_grad():
        for ep, tp in zip(em.parameters(), tm.parameters()):
            v = RNG.standard_normal(tuple(tp.shape))
            tp.copy_(torch.tensor(v))
            ep.copy_(engine.tensor(v.tolist(), dtype=engine.float64))
    ins += list(zip(em.parameters(), tm.parameters()))
    _check_grads(engine, torch, (em(ex), tm(tx)), ins)
    assert str(em) == str(tm)
    assert list(em.state_dict()) == list(tm.state_dict())


def test_second_order_gradients(engine, libs, torch):
    x = RNG.standard_normal((5, 3))
    w = RNG.standard_normal(3)
    results = []
    for M, F, T in ((engine, libs.F, libs.autograd), (torch, torch.nn.functional,
                                                      torch.autograd)):
        tx = M.tensor(x.tolist(), dtype=M.float64, requires_grad=True)
        tw = M.tensor(w.tolist(), dtype=M.float64, requires_grad=True)
        y = (F.batch_norm(tx, None, None, tw, None, True).tanh() ** 2).sum() + \
            (F.layer_norm(tx, (3,), tw, None).sin()).sum()
        gx, gw = T.grad(y, (tx, tw), create_graph=True)
        hx, hw = T.grad((gx * gx).sum() + (gw ** 3).sum(), (tx, tw))
        results.append([npy(v) for v in (gx, gw, hx, hw)])
    for g, t in zip(*results):
        assert_close(g, t, 1e-9, 1e-11)


@pytest.mark.parametrize("call, exc", [
    (lambda M, F, nn: F.layer_norm(M.zeros(2, 4), [3]), RuntimeError),
    (lambda M, F, nn: F.layer_norm(M.zeros(2, 3), [3], weight=M.ones(4)), RuntimeError),
    (lambda M, F, nn: F.batch_norm(M.zeros(2, 3), M.zeros(4), M.ones(4)), RuntimeError),
    (lambda M, F, nn: F.batch_norm(M.zeros(1, 3), None, None, training=True), ValueError),
    (lambda M, F, nn: F.batch_norm(M.zeros(3), None, None, training=True), IndexError),
    (lambda M, F, nn: F.batch_norm(M.zeros(2, 3), None, None), RuntimeError),
    (lambda M, F, nn: nn.BatchNorm1d(3)(M.zeros(2, 3, 4, 5)), ValueError),
    (lambda M, F, nn: nn.BatchNorm1d(3)(M.zeros(2, 4)), RuntimeError),
    (lambda M, F, nn: F.batch_norm(M.ones(2, 3), M.zeros(3, dtype=M.float64),
                                   M.ones(3, dtype=M.float64), training=True), RuntimeError),
    (lambda M, F, nn: F.batch_norm(M.ones(2, 3, dtype=M.float64), None, None, M.ones(3),
                                   training=True), RuntimeError),
    (lambda M, F, nn: F.layer_norm(M.ones(2, 3), (3,), M.ones(3, dtype=M.float64)),
     RuntimeError),
])
def test_errors_are_torchs(engine, libs, torch, call, exc):
    with pytest.raises(exc) as want:
        call(torch, torch.nn.functional, torch.nn)
    with pytest.raises(exc) as got:
        call(engine, libs.F, libs.nn)
    assert str(got.value) == str(want.value).replace("torch", "tapegrad")


def test_replay_updates_running_statistics_as_eager(engine, libs):
    """A replayed training step (tapegrad.compile) updates BatchNorm1d's running
    statistics as the eager step does (the compiled kernel updates them)."""
    from tapegrad import _replay

    compile_ = _replay.api_for(engine).compile
    xs = [RNG.standard_normal((6, 3)) for _ in range(5)]

    def run(replayed):
        engine.manual_seed(0)
        model = libs.nn.Sequential(libs.nn.Linear(3, 4), libs.nn.BatchNorm1d(4),
                                   libs.nn.Tanh()).double()
        opt = libs.optim.SGD(model.parameters(), lr=0.1)

        def loss_of(x):
            return (model(x) ** 2).sum()
        call = compile_(loss_of) if replayed else loss_of
        losses = []
        for x in xs:
            opt.zero_grad()
            loss = call(engine.tensor(x.tolist(), dtype=engine.float64))
            if not replayed:
                loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, {k: npy(v) for k, v in model.state_dict().items()}

    (l_eager, s_eager), (l_replay, s_replay) = run(False), run(True)
    assert_close(l_replay, l_eager, 1e-12, 1e-14)
    for k in ("1.running_mean", "1.running_var", "0.weight"):
        assert_close(s_replay[k], s_eager[k], 1e-12, 1e-14, k)
    assert not np.allclose(s_eager["1.running_mean"], 0.0)
