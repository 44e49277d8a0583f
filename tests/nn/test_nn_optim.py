"""tapegrad.nn and tapegrad.optim for each engine (the ``libs`` fixture): Linear init,
Module bookkeeping (parameters, named_parameters, state_dict, zero_grad, Sequential),
losses and functional ops vs torch, SGD/Adam trajectories vs torch from the same initial
weights, and a small MLP trained to torch's loss."""

import math

import numpy as np
import pytest

from _tensors import assert_close, npy


def T64(engine, a, requires_grad=False):
    return engine.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=engine.float64,
                         requires_grad=requires_grad)


def copy_params_to_torch(torch, module, tmodule):
    """Give a torch module the engine module's parameter values (by name)."""
    src = dict(module.named_parameters())
    with torch.no_grad():
        for name, tp in tmodule.named_parameters():
            tp.copy_(torch.tensor(npy(src[name]), dtype=tp.dtype))


# ---------------------------------------------------------------------------- Linear


def test_linear_init_bounds(engine, libs):
    engine.manual_seed(0)
    for fan_in, fan_out in ((1, 1), (7, 5), (64, 3)):
        lin = libs.nn.Linear(fan_in, fan_out)
        w, b = npy(lin.weight), npy(lin.bias)
        assert w.shape == (fan_out, fan_in) and b.shape == (fan_out,)
        bound = 1.0 / math.sqrt(fan_in)
        assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
        assert lin.weight.dtype == engine.float32
    big = libs.nn.Linear(100, 200)
    w = npy(big.weight)
    # uniform on [-0.1, 0.1]: spread over the whole interval, mean ~0, std 0.1/sqrt(3)
    assert w.max() > 0.099 and w.min() < -0.099
    assert abs(w.mean()) < 0.005 and abs(w.std() - 0.1 / math.sqrt(3)) < 0.003
    assert len(np.unique(w)) > 19000


def test_linear_forward_and_no_bias(engine, libs):
    lin = libs.nn.Linear(3, 2)
    x = engine.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    y = lin(x)
    want = npy(x) @ npy(lin.weight).T + npy(lin.bias)
    assert tuple(y.shape) == (2, 2)
    assert_close(npy(y), want, rtol=1e-6, atol=1e-6)
    y1 = lin(engine.tensor([1.0, 2.0, 3.0]))          # 1-D input (seed 002's X_test)
    assert tuple(y1.shape) == (2,)
    assert_close(npy(y1), want[0], rtol=1e-6, atol=1e-6)
    nb = libs.nn.Linear(3, 2, bias=False)
    assert nb.bias is None and len(list(nb.parameters())) == 1
    assert_close(npy(nb(x)), npy(x) @ npy(nb.weight).T, rtol=1e-6, atol=1e-6)


def test_parameter(engine, libs):
    p = libs.nn.Parameter(engine.tensor([1.0, 2.0]))
    assert isinstance(p, engine.Tensor) and isinstance(p, libs.nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    (p * 3).sum().backward()
    assert npy(p.grad).tolist() == [3.0, 3.0]
    assert libs.nn.Parameter(engine.tensor([1.0]), requires_grad=False).requires_grad is False


# ---------------------------------------------------------------------------- Module


def _net(engine, libs):
    nn = libs.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 4)
            self.act = nn.Tanh()
            self.fc2 = nn.Linear(4, 1)
            self.scale = nn.Parameter(engine.tensor(2.0))

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x))) * self.scale

    return Net()


def test_module_parameters_and_names(engine, libs):
    net = _net(engine, libs)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    params = list(net.parameters())
    assert len(params) == 5 and params[1] is net.fc1.weight
    assert all(isinstance(p, libs.nn.Parameter) for p in params)
    y = net(engine.ones(2, 3))
    assert tuple(y.shape) == (2, 1)
    y.sum().backward()
    assert all(p.grad is not None for p in params)


def test_sequential(engine, libs):
    nn = libs.nn
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[0], nn.Linear) and isinstance(seq[1], nn.ReLU)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                      "2.bias"]
    x = engine.tensor([[1.0, -2.0]])
    h = seq[0](x).relu()
    want = (seq[2](h)).sigmoid()
    assert_close(npy(seq(x)), npy(want), rtol=1e-7)
    assert set(seq.state_dict().keys()) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_state_dict_round_trip(engine, libs):
    engine.manual_seed(1)
    a = _net(engine, libs)
    engine.manual_seed(2)
    b = _net(engine, libs)
    x = engine.tensor([[0.5, -1.0, 2.0]])
    assert npy(a(x)).tolist() != npy(b(x)).tolist()
    sd = a.state_dict()
    assert list(sd.keys()) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(v.requires_grad is False for v in sd.values())
    b.load_state_dict(sd)
    assert npy(a(x)).tolist() == npy(b(x)).tolist()
    assert all(p.requires_grad and p.is_leaf for p in b.parameters())
    # loading copies values: later changes to a do not leak into b
    with engine.no_grad():
        a.fc1.weight.add_(1.0)
    assert npy(a(x)).tolist() != npy(b(x)).tolist()
    bad = dict(sd)
    del bad["scale"]
    with pytest.raises((RuntimeError, KeyError)):
        b.load_state_dict(bad)


def test_zero_grad_sets_none_like_torch2(engine, libs):
    net = _net(engine, libs)
    opt = libs.optim.SGD(net.parameters(), lr=0.1)
    net(engine.ones(1, 3)).sum().backward()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(engine.ones(1, 3)).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(engine.ones(1, 3)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not npy(p.grad).any() for p in net.parameters())
    net(engine.ones(1, 3)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not npy(p.grad).any() for p in net.parameters())


def test_optimizer_skips_params_without_grad(engine, libs):
    a = libs.nn.Parameter(engine.tensor([1.0]))
    b = libs.nn.Parameter(engine.tensor([2.0]))
    for opt in (libs.optim.SGD([a, b], lr=0.5, momentum=0.9), libs.optim.Adam([a, b], lr=0.5)):
        (a * 3).sum().backward()
        before = npy(b.detach()).tolist()
        opt.step()
        assert npy(b.detach()).tolist() == before
        opt.zero_grad()


# ---------------------------------------------------------------------------- losses


def test_losses_closed_forms(engine, libs):
    nn = libs.nn
    x = engine.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=engine.float64, requires_grad=True)
    y = engine.tensor([[0.0, 2.0], [1.0, 1.0]], dtype=engine.float64)
    loss = nn.MSELoss()(x, y)
    assert loss.item() == (1 + 0 + 4 + 16) / 4
    loss.backward()
    assert npy(x.grad).tolist() == [[0.5, 0.0], [1.0, 2.0]]
    logits = engine.zeros(3, 4, dtype=engine.float64, requires_grad=True)
    target = engine.tensor([0, 3, 1])
    ce = nn.CrossEntropyLoss()(logits, target)
    assert abs(ce.item() - math.log(4)) < 1e-15
    ce.backward()
    want = np.full((3, 4), 0.25 / 3)
    want[[0, 1, 2], [0, 3, 1]] -= 1 / 3
    assert_close(npy(logits.grad), want, rtol=1e-14)
    p = engine.tensor([0.5, 0.25], dtype=engine.float64, requires_grad=True)
    t = engine.tensor([1.0, 0.0], dtype=engine.float64)
    bce = nn.BCELoss()(p, t)
    assert abs(bce.item() - (-math.log(0.5) - math.log(0.75)) / 2) < 1e-15
    bce.backward()
    assert_close(npy(p.grad), [-1 / 0.5 / 2, 1 / 0.75 / 2], rtol=1e-14)


# (name, fn(M, nn, F, x, aux), kind of x, kind of aux): x (5, 4) requires grad
LOSS_CASES = [
    ("MSELoss", lambda M, nn, F, x, a: nn.MSELoss()(x, a), "normal", "normal"),
    ("MSELoss_sum", lambda M, nn, F, x, a: nn.MSELoss(reduction="sum")(x, a), "normal",
     "normal"),
    ("mse_loss_none", lambda M, nn, F, x, a: F.mse_loss(x, a, reduction="none"), "normal",
     "normal"),
    ("CrossEntropyLoss", lambda M, nn, F, x, a: nn.CrossEntropyLoss()(x, a), "normal",
     "classes"),
    ("cross_entropy_sum", lambda M, nn, F, x, a: F.cross_entropy(x, a, reduction="sum"),
     "normal", "classes"),
    ("cross_entropy_none", lambda M, nn, F, x, a: F.cross_entropy(x, a, reduction="none"),
     "normal", "classes"),
    ("cross_entropy_large_logits", lambda M, nn, F, x, a: F.cross_entropy(x * 500.0, a),
     "normal", "classes"),
    ("BCELoss", lambda M, nn, F, x, a: nn.BCELoss()(x, a), "prob", "prob"),
    ("binary_cross_entropy_sum",
     lambda M, nn, F, x, a: F.binary_cross_entropy(x, a, reduction="sum"), "prob", "prob"),
    ("BCE_of_sigmoid", lambda M, nn, F, x, a: nn.BCELoss()(nn.Sigmoid()(x), a), "normal",
     "binary"),
    ("relu", lambda M, nn, F, x, a: F.relu(x) * a, "normal", "normal"),
    ("tanh", lambda M, nn, F, x, a: F.tanh(x) * a, "normal", "normal"),
    ("sigmoid", lambda M, nn, F, x, a: F.sigmoid(x) * a, "normal", "normal"),
    ("ReLU_module", lambda M, nn, F, x, a: nn.ReLU()(x) * a, "normal", "normal"),
    ("Tanh_module", lambda M, nn, F, x, a: nn.Tanh()(x) * a, "normal", "normal"),
    ("Sigmoid_module", lambda M, nn, F, x, a: nn.Sigmoid()(x) * a, "normal", "normal"),
    ("softmax", lambda M, nn, F, x, a: F.softmax(x, dim=1) * a, "normal", "normal"),
    ("log_softmax", lambda M, nn, F, x, a: F.log_softmax(x, dim=-1) * a, "normal", "normal"),
    ("linear", lambda M, nn, F, x, a: F.linear(x, a[:3], a[4, :3]), "normal", "normal"),
    ("linear_no_bias", lambda M, nn, F, x, a: F.linear(x, a), "normal", "normal"),
    ("linear_1d_input", lambda M, nn, F, x, a: F.linear(x[0], a, a[:, 1]), "normal",
     "normal"),
]


def _aux(rng, kind, shape):
    if kind == "normal":
        return rng.standard_normal(shape), None
    if kind == "prob":
        return rng.uniform(0.05, 0.95, shape), None
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(np.float64), None
    if kind == "classes":
        return None, rng.integers(0, shape[1], shape[0])
    raise AssertionError(kind)


@pytest.mark.parametrize("name,fn,xkind,akind", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_losses_and_functional_against_torch(engine, libs, torch, name, fn, xkind, akind,
                                             dtype):
    rng = np.random.default_rng(11)
    shape = (5, 4)
    x, _ = _aux(rng, xkind, shape)
    a, cls = _aux(rng, akind, shape)
    if dtype == "float32":
        x = x.astype(np.float32).astype(np.float64)
        a = None if a is None else a.astype(np.float32).astype(np.float64)
    results = []
    for M, nn, F in ((engine, libs.nn, libs.F), (torch, torch.nn, torch.nn.functional)):
        dt = getattr(M, dtype)
        xt = M.tensor(x.tolist(), dtype=dt, requires_grad=True)
        at = M.tensor(cls.tolist()) if cls is not None else M.tensor(a.tolist(), dtype=dt)
        out = fn(M, nn, F, xt, at)
        g = np.random.default_rng(3).standard_normal(tuple(out.shape))
        out.backward(M.tensor(g.tolist(), dtype=out.dtype))
        results.append((npy(out), npy(xt.grad), out.dtype))
    (v, gx, odt), (tv, tgx, _) = results
    assert odt == getattr(engine, dtype)
    rtol, atol = (1e-12, 1e-13) if dtype == "float64" else (2e-6, 1e-6)
    scale = max(1.0, float(np.abs(tv).max()))
    assert_close(v, tv, rtol=rtol, atol=atol * scale, what=f"{name} value")
    gscale = max(1.0, float(np.abs(tgx).max()))
    assert_close(gx, tgx, rtol=rtol * 10, atol=atol * gscale, what=f"{name} grad")


# ---------------------------------------------------------------------------- optimizers

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.99), eps=1e-8, weight_decay=0.01, amsgrad=False)),
]


def _trajectory(M, nn, optim, model, opt_name, kwargs, X, Y, steps=10):
    opt = getattr(optim, opt_name)(model.parameters(), **kwargs)
    loss_fn = nn.MSELoss()
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
        history.append([npy(p).copy() for p in model.parameters()] + [npy(loss)])
    return history


@pytest.mark.parametrize("opt_name,kwargs", OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, kw in OPTIMIZERS])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer_trajectory_matches_torch(engine, libs, torch, opt_name, kwargs, dtype):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3))
    Y = rng.standard_normal((6, 2))
    engine.manual_seed(5)
    model = libs.nn.Linear(3, 2, dtype=getattr(engine, dtype))
    tmodel = torch.nn.Linear(3, 2, dtype=getattr(torch, dtype))
    copy_params_to_torch(torch, model, tmodel)
    dt, tdt = getattr(engine, dtype), getattr(torch, dtype)
    ours = _trajectory(engine, libs.nn, libs.optim, model, opt_name, kwargs,
                       engine.tensor(X.tolist(), dtype=dt), engine.tensor(Y.tolist(), dtype=dt))
    theirs = _trajectory(torch, torch.nn, torch.optim, tmodel, opt_name, kwargs,
                         torch.tensor(X.tolist(), dtype=tdt), torch.tensor(Y.tolist(), dtype=tdt))
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (2e-6, 1e-7)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for k, (p, q) in enumerate(zip(a, b)):
            assert_close(p, q, rtol=rtol, atol=atol, what=f"step {step + 1} tensor {k}")


def test_sgd_closed_form(engine, libs):
    """One parameter, gradient 2w: the textbook momentum and nesterov recursions."""
    w = libs.nn.Parameter(engine.tensor([1.0], dtype=engine.float64))
    opt = libs.optim.SGD([w], lr=0.1, momentum=0.5, nesterov=True)
    ref_w, buf = 1.0, None
    for _ in range(4):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        g = 2 * ref_w
        buf = g if buf is None else 0.5 * buf + g
        ref_w -= 0.1 * (g + 0.5 * buf)
        assert abs(w.item() - ref_w) < 1e-15


def test_adam_closed_form_first_step(engine, libs):
    """Adam's first step moves each parameter by lr (times the sign of its gradient)."""
    w = libs.nn.Parameter(engine.tensor([1.0, -2.0, 3.0], dtype=engine.float64))
    opt = libs.optim.Adam([w], lr=0.01, eps=0.0)
    (w * engine.tensor([1.0, 3.0, -0.5], dtype=engine.float64)).sum().backward()
    opt.step()
    assert_close(npy(w.detach()), [0.99, -2.01, 3.01], rtol=1e-15)


# ---------------------------------------------------------------------------- MLP


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-9), ("float32", 1e-4)])
def test_mlp_training_matches_torch(engine, libs, torch, dtype, rtol):
    nn, tnn = libs.nn, torch.nn
    dt, tdt = getattr(engine, dtype), getattr(torch, dtype)
    engine.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 16, dtype=dt), nn.Tanh(), nn.Linear(16, 4, dtype=dt))
    tmodel = tnn.Sequential(tnn.Linear(8, 16, dtype=tdt), tnn.Tanh(),
                            tnn.Linear(16, 4, dtype=tdt))
    copy_params_to_torch(torch, model, tmodel)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((32, 8))
    Y = np.tanh(X[:, :4] - X[:, 4:]) * 0.5

    def train(M, net, optim, lossf):
        x = M.tensor(X.tolist(), dtype=getattr(M, dtype))
        y = M.tensor(Y.tolist(), dtype=getattr(M, dtype))
        opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
        losses = []
        for _ in range(100):
            opt.zero_grad()
            loss = lossf(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    ours = train(engine, model, libs.optim, nn.MSELoss())
    theirs = train(torch, tmodel, torch.optim, tnn.MSELoss())
    assert ours[-1] < 0.5 * ours[0]
    assert abs(ours[-1] - theirs[-1]) <= rtol * abs(theirs[-1]), (ours[-1], theirs[-1])
    assert_close(ours, theirs, rtol=rtol * 10, what="loss curve")
