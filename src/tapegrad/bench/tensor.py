"""Tensor workloads: engines given as a namespace with ``T`` (the tensor
module: ``tapegrad._engine``, ``tapegrad.reference`` or ``torch``), ``nn`` and
``optim``, with numpy "by hand" twins (``mlp_numpy``, ``matmul_numpy``).

overhead
    Per-op overhead: ``(x * w + b).sum().backward()`` on float32 tensors of 1
    and of 8 elements (w and b require grad; grads accumulate, as in a loop
    without ``zero_grad``). Reports microseconds per iteration: the median over
    repeats of a block of iterations sized to last ``op_block_s`` seconds.
mlp
    One training step of a small MLP: batch 64, ``Linear(32, 64)``, tanh,
    ``Linear(64, 10)``, ``MSELoss``, ``SGD(lr=0.01)``, float32, written with
    the engine's ``nn`` and ``optim`` (``Sequential``, ``zero_grad``,
    ``backward``, ``step``). The numpy peer does the same step by hand
    (forward, manual backward, update). Every engine starts from the same
    weights (copied in) and data, so the loss after the run's last step must
    agree. Reports microseconds per step (median over repeats of runs of
    ``mlp_steps`` steps) and the time of each phase.
matmul
    ``relu(A @ B).sum()`` forward + backward on n x n float32 matrices (A and
    B require grad, their grads reset to None before each step), against numpy
    doing the same math by hand (C = A@B; R = relu(C); s = R.sum();
    G = (C > 0); gA = G @ B.T; gB = A.T @ G). A and B hold small integers, so
    every engine's products and gradients are exact and are checked against
    float64 numpy. BLAS runs with the same number of threads everywhere
    (``--blas-threads``, default 1: numpy's OpenBLAS, SciPy's OpenBLAS that
    the compiled engine calls, torch's intra-op threads). Reports ms per step.

mlp and matmul run their engines interleaved (``timing.interleave``: one run of
each engine in turn), so that a change of load hits every engine alike.
"""

import builtins
import gc
import math

from . import timing
from .checks import rel
from .settings import FULL, MLP_LR, MLP_SHAPE, SEED
from .timing import Case, autorange, gc_mode, interleave, median


def overhead(api, n=1, block_s=FULL.op_block_s, repeats=FULL.op_repeats, gc_off=False):
    """Time ``(x * w + b).sum().backward()`` on float32 tensors of ``n`` elements.

    Returns ``{"us_per_iter", "runs_us", "iters", "check"}``: the median over
    ``repeats`` blocks of ``iters`` iterations, and ``[y, w.grad..., b.grad...]``
    of one fresh iteration (to compare engines). The values are exact in float32.
    """
    now = timing.now
    T = api.T
    x = T.tensor([0.5 + 0.25 * k for k in range(n)], dtype=T.float32)
    w = T.tensor([1.5 - 0.125 * k for k in range(n)], dtype=T.float32, requires_grad=True)
    b = T.tensor([0.25 * k for k in range(n)], dtype=T.float32, requires_grad=True)

    def block(iters):
        with gc_mode(gc_off):
            t0 = now()
            for _ in range(iters):
                (x * w + b).sum().backward()
            dt = now() - t0
        if gc_off:
            gc.collect()
        return dt

    gc.collect()
    iters = autorange(block, block_s)
    runs = [block(iters) * 1e6 / iters for _ in range(repeats)]
    w.grad = None
    b.grad = None
    y = (x * w + b).sum()
    y.backward()
    check = [float(y.item())] + [float(v) for v in w.grad.tolist()] + \
        [float(v) for v in b.grad.tolist()]
    return {"us_per_iter": median(runs), "runs_us": runs, "iters": iters, "check": check}


def mlp_data(seed=SEED):
    """(X, Y, [W1, b1, W2, b2]) as float32 numpy arrays: inputs and targets from
    a standard normal, weights from torch's default Linear init distribution
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), all from ``numpy.random.RandomState(seed)``."""
    import numpy as np

    batch, nin, nhid, nout = MLP_SHAPE
    rs = np.random.RandomState(seed)
    X = rs.standard_normal((batch, nin)).astype(np.float32)
    Y = rs.standard_normal((batch, nout)).astype(np.float32)
    params = []
    for fan_in, fan_out in ((nin, nhid), (nhid, nout)):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(rs.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rs.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return X, Y, params


MLP_PHASES = ("zero_grad", "forward", "backward", "step")


def mlp_case(api, steps=FULL.mlp_steps, seed=SEED, gc_off=False, warmup_steps=10):
    """One engine's mlp (``api`` None: numpy by hand). ``run()`` trains a fresh
    model from the shared initial weights for ``steps`` steps and returns
    ``{"us_per_step", "phases_us", "loss"}`` (``loss`` after the last update)."""
    if api is None:
        make_step, final_loss = _mlp_numpy_parts(seed)
    else:
        make_step, final_loss = _mlp_parts(api, seed)

    def train(n):
        state, step = make_step()
        ph = [0.0] * len(MLP_PHASES)
        # gc off: for the whole run (tensors make no reference cycles; a collection
        # after every ~100 us step would leave the caches cold for the next one)
        with gc_mode(gc_off):
            for _ in range(n):
                step(state, ph)
        return state, ph

    def warmup():
        if warmup_steps:
            train(warmup_steps)

    def run():
        state, ph = train(steps)
        return {"us_per_step": builtins.sum(ph) * 1e6 / steps,
                "phases_us": {k: t * 1e6 / steps for k, t in zip(MLP_PHASES, ph)},
                "loss": final_loss(state)}

    return Case(warmup, run)


def mlp_summary(runs, steps):
    ordered = sorted(runs, key=lambda r: r["us_per_step"])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    mid["us_per_step"] = median([r["us_per_step"] for r in runs])
    mid["runs_us"] = [r["us_per_step"] for r in runs]
    mid["losses"] = [r["loss"] for r in runs]
    mid["steps"] = steps
    return mid


def mlp_setup(api, seed):
    """The mlp workload's batch as ``api`` tensors, and a maker of its model with the
    seeded initial weights: ``(x, y, make_model)``."""
    T, nn = api.T, api.nn
    X, Y, params0 = mlp_data(seed)
    _, nin, nhid, nout = MLP_SHAPE

    def make_model():
        model = nn.Sequential(nn.Linear(nin, nhid), nn.Tanh(), nn.Linear(nhid, nout))
        with T.no_grad():
            for p, a in zip(model.parameters(), params0):
                p.copy_(T.from_numpy(a.copy()))
        return model

    return T.from_numpy(X.copy()), T.from_numpy(Y.copy()), make_model


def _mlp_parts(api, seed):
    now = timing.now
    T, nn, optim = api.T, api.nn, api.optim
    x, y, make_model = mlp_setup(api, seed)

    def make_step():
        model = make_model()
        return (model, nn.MSELoss(), optim.SGD(model.parameters(), lr=MLP_LR)), _step

    def _step(state, ph):
        model, loss_fn, opt = state
        t0 = now()
        opt.zero_grad()
        t1 = now()
        loss = loss_fn(model(x), y)
        t2 = now()
        loss.backward()
        t3 = now()
        opt.step()
        t4 = now()
        ph[0] += t1 - t0
        ph[1] += t2 - t1
        ph[2] += t3 - t2
        ph[3] += t4 - t3

    def final_loss(state):
        model, loss_fn, _ = state
        with T.no_grad():
            return float(loss_fn(model(x), y).item())

    return make_step, final_loss


def _mlp_numpy_parts(seed):
    now = timing.now
    import numpy as np

    X, Y, params0 = mlp_data(seed)
    lr = np.float32(MLP_LR)

    def make_step():
        return [a.copy() for a in params0], _step

    def _step(state, ph):
        W1, b1, W2, b2 = state
        t0 = now()
        h = X @ W1.T + b1                # forward
        a = np.tanh(h)
        out = a @ W2.T + b2
        d = out - Y
        loss = (d * d).mean()            # noqa: F841 (computed, as every engine does)
        t1 = now()
        g_out = d * np.float32(2.0 / d.size)   # backward
        gW2 = g_out.T @ a
        gb2 = g_out.sum(axis=0)
        g_h = (g_out @ W2) * (1 - a * a)
        gW1 = g_h.T @ X
        gb1 = g_h.sum(axis=0)
        t2 = now()
        W1 -= lr * gW1                   # update
        b1 -= lr * gb1
        W2 -= lr * gW2
        b2 -= lr * gb2
        t3 = now()
        ph[1] += t1 - t0
        ph[2] += t2 - t1
        ph[3] += t3 - t2

    def final_loss(state):
        W1, b1, W2, b2 = state
        d = np.tanh(X @ W1.T + b1) @ W2.T + b2 - Y
        return float((d * d).mean())

    return make_step, final_loss


def mlp(api, steps=FULL.mlp_steps, repeats=FULL.mlp_repeats, seed=SEED, gc_off=False,
        warmup_steps=10):
    """Train the MLP 32-64-10 (tanh) with the engine's nn and optim.

    Each of ``repeats`` runs starts from the weights of ``mlp_data(seed)``
    and takes ``steps`` steps ``zero_grad; loss = MSELoss()(model(x), y);
    backward; step``, after ``warmup_steps`` untimed ones on a separate model.
    Returns ``{"us_per_step", "phases_us", "loss", "losses", "runs_us",
    "steps"}``; ``loss`` is the loss after the last update.
    """
    case = mlp_case(api, steps, seed, gc_off, warmup_steps)
    return mlp_summary(interleave([case], repeats)[0], steps)


def mlp_numpy(steps=FULL.mlp_steps, repeats=FULL.mlp_repeats, seed=SEED, gc_off=False,
              warmup_steps=10):
    """``mlp`` written by hand in numpy: forward, manual backward, SGD update."""
    case = mlp_case(None, steps, seed, gc_off, warmup_steps)
    return mlp_summary(interleave([case], repeats)[0], steps)


def _matmul_data(n, seed=SEED):
    """Two n x n float32 matrices of integers in [-2, 2]: every product and
    gradient of the workload is an exact float32 integer in any summation order."""
    import numpy as np

    rs = np.random.RandomState(seed)
    A = rs.randint(-2, 3, size=(n, n)).astype(np.float32)
    B = rs.randint(-2, 3, size=(n, n)).astype(np.float32)
    return A, B


def _matmul_check(A, B, s, gA, gB):
    """Compare a run's ``s``, ``gA``, ``gB`` with float64 numpy: gradients must
    be exact, ``s`` (a float32 sum of integers up to ~1e8) within rounding."""
    import numpy as np

    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    C = A64 @ B64
    G = (C > 0).astype(np.float64)
    s_true = float(np.maximum(C, 0).sum())
    err = builtins.max(float(np.abs(np.asarray(gA, np.float64) - G @ B64.T).max()),
                       float(np.abs(np.asarray(gB, np.float64) - A64.T @ G).max()))
    return {"s": float(s), "s_rel_err": rel(float(s), s_true), "grad_max_abs_err": err}


def matmul_case(api, n=FULL.matmul_n, steps=FULL.matmul_steps, seed=SEED, gc_off=False,
                 warmup_steps=2):
    """One engine's matmul (``api`` None: numpy by hand). ``run()`` times
    ``steps`` steps and returns ms per step; ``finish()`` the check of the
    last step's result."""
    now = timing.now
    A0, B0 = _matmul_data(n, seed)
    if api is None:
        import numpy as np

        def step():
            C = A0 @ B0
            R = np.maximum(C, 0)          # relu
            s = R.sum()
            G = (C > 0).astype(C.dtype)   # ds/dC
            gA = G @ B0.T
            gB = A0.T @ G
            return s, gA, gB

        def finish(out):
            return _matmul_check(A0, B0, *out)
    else:
        T = api.T
        A = T.from_numpy(A0.copy()).requires_grad_()
        B = T.from_numpy(B0.copy()).requires_grad_()

        def step():
            A.grad = None
            B.grad = None
            s = T.relu(A @ B).sum()
            s.backward()
            return s

        def finish(out):
            return _matmul_check(A0, B0, out.item(), A.grad.numpy(), B.grad.numpy())

    box = {}

    def timed(k):
        total = 0.0
        with gc_mode(gc_off):   # for the whole run, as in mlp
            for _ in range(k):
                t0 = now()
                out = step()
                total += now() - t0
        box["out"] = out
        return total

    def warmup():
        if warmup_steps:
            timed(warmup_steps)

    def run():
        return {"ms_per_step": timed(steps) * 1e3 / steps}

    return Case(warmup, run, lambda: finish(box["out"]))


def matmul_summary(case, runs, steps):
    ms = [r["ms_per_step"] for r in runs]
    return {"ms_per_step": median(ms), "runs_ms": ms, "steps": steps, "check": case.finish()}


def matmul(api, n=FULL.matmul_n, steps=FULL.matmul_steps, repeats=FULL.matmul_repeats,
           seed=SEED, gc_off=False, warmup_steps=2):
    """Time ``A.grad = B.grad = None; relu(A @ B).sum().backward()`` on n x n
    float32. Returns ``{"ms_per_step", "runs_ms", "steps", "check"}``."""
    case = matmul_case(api, n, steps, seed, gc_off, warmup_steps)
    return matmul_summary(case, interleave([case], repeats)[0], steps)


def matmul_numpy(n=FULL.matmul_n, steps=FULL.matmul_steps,
                 repeats=FULL.matmul_repeats, seed=SEED, gc_off=False, warmup_steps=2):
    """``matmul`` by hand in numpy."""
    case = matmul_case(None, n, steps, seed, gc_off, warmup_steps)
    return matmul_summary(case, interleave([case], repeats)[0], steps)


