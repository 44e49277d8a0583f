"""Helpers for test_replay.py: the replay API of an engine, exact float comparison,
the micrograd demo model and the small tensor MLP, each run eagerly or replayed.

Every runner takes ``replay``: False runs ``loss = fn(*args); loss.backward()``
(what the user would write), True runs the same ``fn`` through
``compile(fn)``; the tests compare the two with ``==``.
"""

import math

import numpy as np

from tapegrad import _replay, bench


def replay_api(engine):
    """compile / record / Tape / GuardFailure for an engine module.

    ``tapegrad.reference`` has them itself; ``tapegrad._engine`` does not (they
    are ``tapegrad.compile`` etc. when it is the active engine), so they come
    from ``tapegrad._replay.api_for``, which binds the shared classes to it."""
    return _replay.api_for(engine)


def same(a, b):
    """Bit-identical floats: equal with the same sign of zero, or both nan."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same_array(a, b):
    """Same shape, dtype and elements (nan where nan)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def arr(t):
    """A numpy copy of an engine tensor (detached)."""
    return np.array(t.detach().numpy(), copy=True)


# ----------------------------------------------------------------------------
# micrograd's demo (src/tapegrad/bench/scalar.py): MLP 2-16-16-1 on two moons

def demo_data(n=100):
    X, y = bench.make_moons(n)
    return X.tolist(), [float(v) for v in (y * 2 - 1)]


class SumNeuron(bench.Neuron):
    """micrograd's own Neuron: ``sum((wi*xi for wi, xi in zip(self.w, x)), self.b)``."""

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act


def demo_model(engine, neuron="dot"):
    model = bench.MLP(engine, 2, [16, 16, 1])
    if neuron == "sum":
        for layer in model.layers:
            for n in layer.neurons:
                n.__class__ = SumNeuron
    return model


def demo_loss_fn(engine, model):
    """bench.demo_loss without the accuracy (which reads .data): fn(Xs, ys)."""

    def loss(Xs, ys):
        scores = [model(xrow) for xrow in Xs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
        data_loss = engine.sum(losses) * (1.0 / len(losses))
        reg_loss = bench.ALPHA * engine.sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    return loss


def train_demo(engine, api, replay, neuron="dot", steps=5, n=100):
    """The demo's SGD loop: (losses, final parameter values, compiled step or None)."""
    Xb, yb = demo_data(n)
    model = demo_model(engine, neuron)
    fn = demo_loss_fn(engine, model)
    step = api.compile(fn) if replay else None
    losses = []
    for k in range(steps):
        model.zero_grad()
        if replay:
            loss = step(Xb, yb)
        else:   # what fn receives: numbers as Values
            loss = fn([[engine.Value(x) for x in row] for row in Xb], [engine.Value(y) for y in yb])
            loss.backward()
        losses.append(loss.data)
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
    return losses, [p.data for p in model.parameters()], step


# ----------------------------------------------------------------------------
# The small tensor MLP (the bench's mlp workload): batch 64, Linear 32->64, Tanh, Linear 64->10

MLP_BATCH, MLP_IN, MLP_HID, MLP_OUT = 64, 32, 64, 10


def mlp_batches(steps, loss, np_dtype, seed=7):
    rs = np.random.RandomState(seed)
    out = []
    for _ in range(steps):
        x = rs.standard_normal((MLP_BATCH, MLP_IN)).astype(np_dtype)
        if loss == "ce":
            y = rs.randint(0, MLP_OUT, MLP_BATCH).astype(np.int64)
        else:
            y = rs.standard_normal((MLP_BATCH, MLP_OUT)).astype(np_dtype)
        out.append((x, y))
    return out


def train_mlp(engine, libs, api, replay, loss="mse", opt="sgd", dtype="float32", steps=5,
              zero_grad=True, seed=0):
    """Train the small MLP; returns (losses as floats, parameters as numpy arrays, step)."""
    nn, optim = libs.nn, libs.optim
    engine.manual_seed(seed)
    model = nn.Sequential(nn.Linear(MLP_IN, MLP_HID), nn.Tanh(), nn.Linear(MLP_HID, MLP_OUT))
    if dtype == "float64":
        model = model.double()
    loss_fn = nn.MSELoss() if loss == "mse" else nn.CrossEntropyLoss()
    if opt == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=0.05)
    else:
        optimizer = optim.Adam(model.parameters(), lr=0.01)

    def fn(x, y):
        return loss_fn(model(x), y)

    step = api.compile(fn) if replay else None
    losses = []
    for x, y in mlp_batches(steps, loss, np.float64 if dtype == "float64" else np.float32):
        if zero_grad:
            optimizer.zero_grad()
        xt, yt = engine.from_numpy(x), engine.from_numpy(y)
        if replay:
            out = step(xt, yt)
            assert out.grad_fn is None and not out.requires_grad
        else:
            out = fn(xt, yt)
            out.backward()
        losses.append(out.item())
        optimizer.step()
    return losses, [arr(p) for p in model.parameters()], step
