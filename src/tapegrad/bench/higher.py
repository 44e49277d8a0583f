"""Higher-order workloads (issue 13): gradients of gradients, eager and replayed,
against PyTorch eager, in one process.

pinn
    A physics-informed step for the 1-D Poisson problem u'' = -pi^2 sin(pi x) on
    [0, 1]: MLP 1 -> 32 -> 32 -> 1 with tanh on 256 collocation points, float32;
    u'' from two nested ``autograd.grad(create_graph=True)``; loss
    mean((u'' + pi^2 sin(pi x))^2) + u(0)^2 + u(1)^2, then ``backward()`` and an
    SGD update. Every engine starts from the same seeded weights; the losses
    after the last step must agree (relative 1e-4, float32). Reports us per step.
hvp
    A Hessian-vector product of the small MLP's loss (batch 64, 32 -> 64 -> 10,
    tanh, MSE, float32) with respect to all parameters, v = 0.5 everywhere:
    eager ``autograd.functional.hvp`` (torch: ``torch.autograd.functional.hvp``);
    replayed: ``compile`` of the step whose loss is sum(grad . v) with the
    gradient taken with create_graph=True, so that its backward leaves H v in the
    parameters' ``.grad``. The products must agree (relative 1e-4). Reports us per
    product.
"""

import math

from . import timing
from .settings import SEED
from .tensor import mlp_data
from .timing import Case, interleave, median

PINN_POINTS = 256
PINN_HIDDEN = 32
PINN_LR = 1e-4


def _autograd(api):
    import tapegrad
    return getattr(api.T, "autograd", tapegrad.autograd)


def _pinn_params(seed):
    import numpy as np
    rs = np.random.RandomState(seed)
    out = []
    for fan_in, fan_out in ((1, PINN_HIDDEN), (PINN_HIDDEN, PINN_HIDDEN), (PINN_HIDDEN, 1)):
        bound = 1.0 / math.sqrt(fan_in)
        out.append(rs.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        out.append(rs.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return out


def pinn_case(api, replay_api=None, steps=50, seed=SEED, warmup_steps=3):
    """One engine's pinn training (``replay_api``: replayed with its compile)."""
    import numpy as np
    T, nn, optim = api.T, api.nn, api.optim
    ag = _autograd(api)
    xs = np.linspace(0.0, 1.0, PINN_POINTS, dtype=np.float32).reshape(-1, 1)
    src_np = (math.pi ** 2 * np.sin(math.pi * xs)).astype(np.float32)
    ends_np = np.array([[0.0], [1.0]], dtype=np.float32)
    params0 = _pinn_params(seed)

    def build():
        model = nn.Sequential(nn.Linear(1, PINN_HIDDEN), nn.Tanh(),
                              nn.Linear(PINN_HIDDEN, PINN_HIDDEN), nn.Tanh(),
                              nn.Linear(PINN_HIDDEN, 1))
        ends = T.from_numpy(ends_np.copy())

        def fn(x, src):
            u = model(x)
            (du,) = ag.grad(u.sum(), [x], create_graph=True)
            (d2u,) = ag.grad(du.sum(), [x], create_graph=True)
            r = d2u + src
            ub = model(ends)
            return (r * r).mean() + (ub * ub).sum()

        x = T.from_numpy(xs.copy()).requires_grad_(True)
        src = T.from_numpy(src_np.copy())
        # one compiled step for every run, recorded once (the weights are reset in place)
        step = replay_api.compile(fn) if replay_api is not None else None
        return model, fn, step, x, src

    built = []

    def make():
        if not built:
            built.append(build())
        model, fn, step, x, src = built[0]
        with T.no_grad():
            for p, a in zip(model.parameters(), params0):
                p.copy_(T.from_numpy(a.copy()))
        opt = optim.SGD(model.parameters(), lr=PINN_LR)

        def one():
            opt.zero_grad()
            if step is not None:
                loss = step(x, src)
            else:
                loss = fn(x, src)
                loss.backward()
            opt.step()
            return loss
        return one

    def train(n):
        one = make()
        loss = one()                    # untimed: a replay's first call records
        t0 = timing.now()
        for _ in range(n):
            loss = one()
        return timing.now() - t0, float(loss.item())

    def run():
        dt, loss = train(steps)
        return {"us_per_step": dt * 1e6 / steps, "loss": loss}

    return Case(lambda: train(warmup_steps), run)


def hvp_case(api, replay_api=None, products=50, seed=SEED, warmup=3):
    """One engine's Hessian-vector products of the small MLP's loss."""
    T = api.T
    ag = _autograd(api)
    functional = ag.functional
    X, Y, params0 = mlp_data(seed)
    x, y = T.from_numpy(X.copy()), T.from_numpy(Y.copy())
    mse = api.nn.functional.mse_loss
    linear = api.nn.functional.linear

    def loss_of(w1, b1, w2, b2):
        return mse(linear(linear(x, w1, b1).tanh(), w2, b2), y)

    def make():
        params = [T.from_numpy(a.copy()) for a in params0]
        vs = tuple(T.ones_like(p) * 0.5 for p in params)
        if replay_api is None:
            def one():
                return functional.hvp(loss_of, tuple(params), vs)[1]
            return one
        for p in params:
            p.requires_grad_(True)

        def fn(xb, yb):
            gs = ag.grad(mse(linear(linear(xb, params[0], params[1]).tanh(), params[2],
                                    params[3]), yb), params, create_graph=True)
            total = (gs[0] * vs[0]).sum()
            for g, v in zip(gs[1:], vs[1:]):
                total = total + (g * v).sum()
            return total
        step = replay_api.compile(fn)

        def one():
            for p in params:
                p.grad = None
            step(x, y)
            return [p.grad for p in params]
        return one

    def timed(n):
        one = make()
        out = one()                     # untimed: a replay's first call records
        t0 = timing.now()
        for _ in range(n):
            out = one()
        return timing.now() - t0, [a.detach().numpy().copy() for a in out]

    def run():
        dt, hv = timed(products)
        return {"us_per_step": dt * 1e6 / products, "hv": hv}

    return Case(lambda: timed(warmup), run)


def summary(runs):
    us = [r["us_per_step"] for r in runs]
    out = {"us_per_step": median(us), "runs_us": us}
    last = runs[-1]
    # pinn: the loss after the last step; hvp: the sum of |H v|'s elements
    out["loss"] = last["loss"] if "loss" in last else \
        float(sum(abs(a).sum(dtype="float64") for a in last["hv"]))
    return out


def run_pair(make_case, api, replay_api, repeats):
    """{"eager": summary, "replay": summary} for a tapegrad engine (interleaved), or
    {"eager": summary} for a peer (replay_api None)."""
    cases = [make_case(api)] + ([make_case(api, replay_api)] if replay_api else [])
    runs = interleave(cases, repeats)
    names = ("eager", "replay")
    return {names[k]: summary(r) for k, r in enumerate(runs)}
