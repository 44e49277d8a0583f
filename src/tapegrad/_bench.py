"""Benchmark workloads for tapegrad's engines, and the table they print.

Every workload is a function that takes an *engine* and runs it from Python
the way a user would, returning a dict of measurements. The scalar workloads
(chain, demo) take anything with ``Value``, ``sum`` and ``dot``
(``tapegrad._engine``, ``tapegrad.reference``, or an adapter for micrograd or
PyTorch); the tensor workloads (overhead, mlp, matmul) take a namespace with
``T`` (the tensor module: ``tapegrad._engine``, ``tapegrad.reference`` or
``torch``), ``nn`` and ``optim``, and have numpy "by hand" twins
(``mlp_numpy``, ``matmul_numpy``). All engines are timed in one process with
``time.perf_counter`` (or, with ``--clock cpu``, ``time.thread_time``), so the
table can show ratios.

Scalar workloads (issue 2)
--------------------------
chain
    Build one expression of ``n_ops`` scalar operations from Python,
    repeating ``x = x*y; x = x + y; x = x.tanh(); x = x**2`` (values stay in
    [0.36, 0.8]), then call ``backward()`` on the result. Reports ns per op
    for the build and ns per node for the backward sweep (median of repeats,
    after two untimed warm-up runs).
demo
    One training step of micrograd's ``demo.ipynb``: an MLP 2-16-16-1 of
    scalar Values (micrograd-style ``Neuron``/``Layer``/``MLP`` classes, a
    neuron is ``engine.dot(self.w, x) + self.b`` then relu except in the last
    layer) on 100 two-moons points, max-margin loss
    ``mean(relu(1 - y_i*score_i)) + 1e-4 * sum(p*p)``, zero grads, backward,
    SGD ``p.data -= lr * p.grad`` with ``lr = 1.0 - 0.9*k/100``. Reports the mean
    time of a step over ``steps`` steps (median over repeats), the time of
    each phase, and the loss after the last step. Weights come from
    ``random.Random(seed).uniform(-1, 1)`` in micrograd's order, so every
    engine, micrograd included, starts from the same weights.

Tensor workloads (issue 3)
--------------------------
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

mlp and matmul run their engines interleaved (``_interleave``: one run of each
engine in turn), so that a change of load hits every engine alike.

Garbage collection is left as the user has it (enabled) except in the rows
labelled ``gc off``: there ``gc.disable()`` is in force during the timed
region and the garbage is collected, untimed, between steps and repeats (the
figure is then the cost of the work itself, without the collector). The tensor
workloads collect only between runs and blocks: their steps are short, and a
collection after each would leave the caches cold for the next.
"""

import argparse
import builtins
import gc
import json
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
import types
from time import perf_counter

# The clock every workload reads (``set_clock``): wall time by default; with
# ``--clock cpu`` the calling thread's CPU time (user + system), which other
# processes competing for the CPUs disturb less. BLAS runs in the calling
# thread when it has one thread, so the CPU clock sees its work too.
CLOCKS = {"wall": perf_counter, "cpu": time.thread_time}
_now = perf_counter


def set_clock(name):
    """Select the clock of every workload: "wall" (time.perf_counter) or "cpu"
    (time.thread_time)."""
    global _now
    _now = CLOCKS[name]

# The figures issue 2 asks for (compiled engine), and its rule for the reference.
TARGETS = {
    ("chain", "build"): 40.0,     # ns per op
    ("chain", "backward"): 8.0,   # ns per node
    ("demo", "step"): 6.0,        # ms per step
    # issue 3 (compiled engine)
    ("overhead", "n=1"): 2.0,     # us per iteration
    ("overhead", "n=8"): 2.0,     # us per iteration
    ("mlp", "step"): 80.0,        # us per step
}
# Targets relative to a peer: workload -> (peer label, largest ratio c / peer).
TARGET_RATIOS = {
    "matmul": ("numpy", 1.15),
}

# Sizes. A 100-step demo run is itself an average over 100 steps; peers get
# one run by default (micrograd with gc enabled needs minutes for one).
FULL = {"chain_ops": 100_000, "chain_repeats": 5, "demo_steps": 100, "demo_repeats": 3,
        "peer_demo_repeats": 1, "peer_demo_warmup": 2,
        "op_block_s": 0.2, "op_repeats": 7, "mlp_steps": 200, "mlp_repeats": 5,
        "matmul_n": 512, "matmul_steps": 10, "matmul_repeats": 5}
QUICK = {"chain_ops": 20_000, "chain_repeats": 3, "demo_steps": 3, "demo_repeats": 1,
         "peer_demo_repeats": 1, "peer_demo_warmup": 0,
         "op_block_s": 0.05, "op_repeats": 3, "mlp_steps": 50, "mlp_repeats": 3,
         "matmul_n": 512, "matmul_steps": 3, "matmul_repeats": 3}

ALL_ENGINES = ("c", "reference", "micrograd", "torch", "numpy")
SCALAR_WORKLOADS = ("chain", "demo")
TENSOR_WORKLOADS = ("overhead", "mlp", "matmul")
ALL_WORKLOADS = SCALAR_WORKLOADS + TENSOR_WORKLOADS
# Which workloads each engine runs (numpy is only a peer of the tensor ones it
# can do by hand; micrograd has no tensors).
ENGINE_WORKLOADS = {
    "c": ALL_WORKLOADS,
    "reference": ALL_WORKLOADS,
    "micrograd": SCALAR_WORKLOADS,
    "torch": ("chain",) + TENSOR_WORKLOADS,
    "numpy": ("mlp", "matmul"),
}

SEED = 1337          # micrograd's demo.ipynb seeds numpy and random with 1337
N_SAMPLES = 100
NOISE = 0.1
ALPHA = 1e-4
OVERHEAD_SIZES = (1, 8)
MLP_SHAPE = (64, 32, 64, 10)   # batch, in, hidden, out
MLP_LR = 0.01


# ----------------------------------------------------------------------------
# Helpers


class _gc_mode(object):
    """Context manager: disable the collector if ``off``, restore afterwards."""

    def __init__(self, off):
        self.off = off
        self.was = gc.isenabled()

    def __enter__(self):
        if self.off:
            gc.disable()
        return self

    def __exit__(self, *exc):
        if self.off and self.was:
            gc.enable()
        return False


def _run_with_deep_stack(fn, depth):
    """Run ``fn()`` in a thread whose stack and recursion limit allow ``depth``
    nested Python calls (micrograd's ``backward`` is recursive)."""
    box = {}

    def target():
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, depth + 1000))
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size()
    threading.stack_size(min(max(64 << 20, depth * 4096), 1 << 30))
    try:
        thread = threading.Thread(target=target, name="tapegrad-bench-deep")
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _median(xs):
    return statistics.median(xs) if xs else float("nan")


# ----------------------------------------------------------------------------
# Workload a: a long chain of scalar ops


def chain(engine, n_ops=FULL["chain_ops"], repeats=FULL["chain_repeats"], warmup=2,
          gc_off=False):
    """Build ``n_ops`` ops (``* + tanh **2`` repeated) and backward through them.

    Returns ``{"n_ops", "build_ns_per_op", "backward_ns_per_node", "build_ns",
    "backward_ns", "check"}``: the medians over ``repeats`` timed runs, every
    run's figures, and ``(out.data, x.grad, y.grad)`` to compare engines.
    The ``warmup`` untimed runs come first: the first runs of a process pay
    one-time costs (growing buffers, first touch of fresh pages).
    """
    Value = engine.Value
    iters = max(1, n_ops // 4)
    n = 4 * iters
    deep = getattr(engine, "recursive_backward", False)
    build, back = [], []
    check = None
    for r in range(warmup + repeats):
        gc.collect()
        with _gc_mode(gc_off):
            x0 = Value(0.5)
            y = Value(0.7)
            x = x0
            t0 = _now()
            for _ in range(iters):
                x = x * y
                x = x + y
                x = x.tanh()
                x = x ** 2
            t1 = _now()
            if deep:
                dt = _run_with_deep_stack(lambda: _timed_backward(x), n + 10)
            else:
                dt = _timed_backward(x)
            check = (float(x.data), float(x0.grad), float(y.grad))
            del x, x0, y
        if r >= warmup:
            build.append((t1 - t0) * 1e9 / n)
            back.append(dt * 1e9 / n)
    gc.collect()
    return {
        "n_ops": n,
        "build_ns_per_op": _median(build),
        "backward_ns_per_node": _median(back),
        "build_ns": build,
        "backward_ns": back,
        "check": check,
    }


def _timed_backward(root):
    t0 = _now()
    root.backward()
    return _now() - t0


# ----------------------------------------------------------------------------
# Workload b: micrograd's demo.ipynb training step


def make_moons(n_samples=N_SAMPLES, noise=NOISE, seed=SEED):
    """Two interleaving half circles, like scikit-learn's ``make_moons``.

    Returns ``(X, y)``: X float64 of shape (n_samples, 2), y in {0, 1}.
    Deterministic for a given seed (numpy's default_rng).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.vstack([
        np.append(np.cos(t_out), 1.0 - np.cos(t_in)),
        np.append(np.sin(t_out), 1.0 - np.sin(t_in) - 0.5),
    ]).T
    y = np.hstack([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


class Neuron(object):
    """micrograd's Neuron, written for any engine: ``dot(w, x) + b``, then relu."""

    def __init__(self, engine, nin, rng, nonlin=True):
        self.engine = engine
        self.w = [engine.Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = engine.Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = self.engine.dot(self.w, x) + self.b
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer(object):
    def __init__(self, engine, nin, nout, rng, nonlin=True):
        self.neurons = [Neuron(engine, nin, rng, nonlin=nonlin) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP(object):
    """micrograd's MLP; the last layer is linear. Same init order as micrograd."""

    def __init__(self, engine, nin, nouts, seed=SEED):
        rng = random.Random(seed)
        sz = [nin] + list(nouts)
        self.layers = [Layer(engine, sz[i], sz[i + 1], rng, nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


def _demo_loss(engine, model, Xb, yb):
    """micrograd demo.ipynb's ``loss()`` (full batch), with the engine's sum."""
    Value, esum = engine.Value, engine.sum
    inputs = [list(map(Value, xrow)) for xrow in Xb]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = esum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * esum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, builtins.sum(accuracy) / len(accuracy)


def demo(engine, steps=FULL["demo_steps"], repeats=FULL["demo_repeats"], seed=SEED,
         n_samples=N_SAMPLES, gc_off=False, warmup_steps=2):
    """Train micrograd's demo MLP for ``steps`` steps, ``repeats`` times.

    Returns ``{"ms_per_step", "phases_ms", "loss", "accuracy", "last_step_loss",
    "runs_ms_per_step", "steps", "params"}``; ``ms_per_step`` is the median over
    repeats of (time of all steps) / steps, ``phases_ms`` the mean time per step
    of forward (inputs, model, loss, accuracy), zero_grad, backward and update
    in the median run, ``loss``/``accuracy`` are evaluated with the weights
    after the last update. ``warmup_steps`` untimed steps on a separate model
    come first (they let an engine size its buffers, as in a long training run).
    """
    X, y = make_moons(n_samples, seed=seed)
    Xb = X.tolist()
    yb = [float(v) for v in (y * 2 - 1)]   # labels -1 / +1 as in the demo
    make = getattr(engine, "make_mlp", None)
    runs = []
    for r in range(-1 if warmup_steps else 0, repeats):
        gc.collect()
        model = make(2, [16, 16, 1], seed) if make else MLP(engine, 2, [16, 16, 1], seed)
        ph = [0.0, 0.0, 0.0, 0.0]
        last = None
        for k in range(warmup_steps if r < 0 else steps):
            with _gc_mode(gc_off):
                t0 = _now()
                total_loss, acc = _demo_loss(engine, model, Xb, yb)
                t1 = _now()
                model.zero_grad()
                t2 = _now()
                total_loss.backward()
                t3 = _now()
                learning_rate = 1.0 - 0.9 * k / 100
                for p in model.parameters():
                    p.data -= learning_rate * p.grad
                t4 = _now()
            ph[0] += t1 - t0
            ph[1] += t2 - t1
            ph[2] += t3 - t2
            ph[3] += t4 - t3
            last = float(total_loss.data)
            del total_loss
            if gc_off:
                gc.collect()
        if r < 0:
            del model
            continue
        with _gc_mode(True):  # untimed: no need to wait for the collector here
            final_loss, final_acc = _demo_loss(engine, model, Xb, yb)
        runs.append({
            "ms_per_step": builtins.sum(ph) * 1e3 / steps,
            "phases_ms": {name: t * 1e3 / steps for name, t in
                          zip(("forward", "zero_grad", "backward", "update"), ph)},
            "loss": float(final_loss.data),
            "accuracy": final_acc,
            "last_step_loss": last,
            "params": len(model.parameters()),
        })
        del model, final_loss
    gc.collect()
    ordered = sorted(runs, key=lambda r: r["ms_per_step"])
    mid = ordered[(len(ordered) - 1) // 2]
    out = dict(mid)
    out["ms_per_step"] = _median([r["ms_per_step"] for r in runs])
    out["runs_ms_per_step"] = [r["ms_per_step"] for r in runs]
    out["steps"] = steps
    out["losses"] = [r["loss"] for r in runs]
    return out


# ----------------------------------------------------------------------------
# Tensor workloads (issue 3)


def _autorange(block, min_s):
    """Iterations ``n`` for which ``block(n)`` (returning seconds) lasts at least
    ``min_s``; the calibration runs double as warm-up."""
    n = 1
    while True:
        dt = block(n)
        if dt >= min_s:
            return n
        # aim 20% past min_s, but never jump more than 100x on a short sample
        guess = int(n * 1.2 * min_s / builtins.max(dt, 1e-9))
        n = builtins.max(n * 2, builtins.min(n * 100, guess))


def overhead(api, n=1, block_s=FULL["op_block_s"], repeats=FULL["op_repeats"], gc_off=False):
    """Time ``(x * w + b).sum().backward()`` on float32 tensors of ``n`` elements.

    Returns ``{"us_per_iter", "runs_us", "iters", "check"}``: the median over
    ``repeats`` blocks of ``iters`` iterations, and ``[y, w.grad..., b.grad...]``
    of one fresh iteration (to compare engines). The values are exact in float32.
    """
    T = api.T
    x = T.tensor([0.5 + 0.25 * k for k in range(n)], dtype=T.float32)
    w = T.tensor([1.5 - 0.125 * k for k in range(n)], dtype=T.float32, requires_grad=True)
    b = T.tensor([0.25 * k for k in range(n)], dtype=T.float32, requires_grad=True)

    def block(iters):
        with _gc_mode(gc_off):
            t0 = _now()
            for _ in range(iters):
                (x * w + b).sum().backward()
            dt = _now() - t0
        if gc_off:
            gc.collect()
        return dt

    gc.collect()
    iters = _autorange(block, block_s)
    runs = [block(iters) * 1e6 / iters for _ in range(repeats)]
    w.grad = None
    b.grad = None
    y = (x * w + b).sum()
    y.backward()
    check = [float(y.item())] + [float(v) for v in w.grad.tolist()] + \
        [float(v) for v in b.grad.tolist()]
    return {"us_per_iter": _median(runs), "runs_us": runs, "iters": iters, "check": check}


def _mlp_data(seed=SEED):
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


_MLP_PHASES = ("zero_grad", "forward", "backward", "step")


def _interleave(cases, repeats):
    """Warm every case up, then run ``repeats`` rounds in which each case runs
    once: a change of load during the bench (other processes) then hits every
    engine alike, and the ratios hold up better than the absolute figures.
    Each case has ``warmup()`` and ``run()`` (one timed run, returns a dict).
    Returns one list of run results per case."""
    for case in cases:
        gc.collect()
        case.warmup()
    out = [[] for _ in cases]
    for _ in range(repeats):
        for i, case in enumerate(cases):
            gc.collect()
            out[i].append(case.run())
    gc.collect()
    return out


class _Case(object):
    def __init__(self, warmup, run, finish=None):
        self.warmup = warmup
        self.run = run
        self.finish = finish


def _mlp_case(api, steps=FULL["mlp_steps"], seed=SEED, gc_off=False, warmup_steps=10):
    """One engine's mlp (``api`` None: numpy by hand). ``run()`` trains a fresh
    model from the shared initial weights for ``steps`` steps and returns
    ``{"us_per_step", "phases_us", "loss"}`` (``loss`` after the last update)."""
    if api is None:
        make_step, final_loss = _mlp_numpy_parts(seed)
    else:
        make_step, final_loss = _mlp_parts(api, seed)

    def train(n):
        state, step = make_step()
        ph = [0.0] * len(_MLP_PHASES)
        # gc off: for the whole run (tensors make no reference cycles; a collection
        # after every ~100 us step would leave the caches cold for the next one)
        with _gc_mode(gc_off):
            for _ in range(n):
                step(state, ph)
        return state, ph

    def warmup():
        if warmup_steps:
            train(warmup_steps)

    def run():
        state, ph = train(steps)
        return {"us_per_step": builtins.sum(ph) * 1e6 / steps,
                "phases_us": {k: t * 1e6 / steps for k, t in zip(_MLP_PHASES, ph)},
                "loss": final_loss(state)}

    return _Case(warmup, run)


def _mlp_summary(runs, steps):
    ordered = sorted(runs, key=lambda r: r["us_per_step"])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    mid["us_per_step"] = _median([r["us_per_step"] for r in runs])
    mid["runs_us"] = [r["us_per_step"] for r in runs]
    mid["losses"] = [r["loss"] for r in runs]
    mid["steps"] = steps
    return mid


def _mlp_parts(api, seed):
    T, nn, optim = api.T, api.nn, api.optim
    X, Y, params0 = _mlp_data(seed)
    _, nin, nhid, nout = MLP_SHAPE
    x = T.from_numpy(X.copy())
    y = T.from_numpy(Y.copy())

    def make_step():
        model = nn.Sequential(nn.Linear(nin, nhid), nn.Tanh(), nn.Linear(nhid, nout))
        with T.no_grad():
            for p, a in zip(model.parameters(), params0):
                p.copy_(T.from_numpy(a.copy()))
        return (model, nn.MSELoss(), optim.SGD(model.parameters(), lr=MLP_LR)), _step

    def _step(state, ph):
        model, loss_fn, opt = state
        t0 = _now()
        opt.zero_grad()
        t1 = _now()
        loss = loss_fn(model(x), y)
        t2 = _now()
        loss.backward()
        t3 = _now()
        opt.step()
        t4 = _now()
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
    import numpy as np

    X, Y, params0 = _mlp_data(seed)
    lr = np.float32(MLP_LR)

    def make_step():
        return [a.copy() for a in params0], _step

    def _step(state, ph):
        W1, b1, W2, b2 = state
        t0 = _now()
        h = X @ W1.T + b1                # forward
        a = np.tanh(h)
        out = a @ W2.T + b2
        d = out - Y
        loss = (d * d).mean()            # noqa: F841 (computed, as every engine does)
        t1 = _now()
        g_out = d * np.float32(2.0 / d.size)   # backward
        gW2 = g_out.T @ a
        gb2 = g_out.sum(axis=0)
        g_h = (g_out @ W2) * (1 - a * a)
        gW1 = g_h.T @ X
        gb1 = g_h.sum(axis=0)
        t2 = _now()
        W1 -= lr * gW1                   # update
        b1 -= lr * gb1
        W2 -= lr * gW2
        b2 -= lr * gb2
        t3 = _now()
        ph[1] += t1 - t0
        ph[2] += t2 - t1
        ph[3] += t3 - t2

    def final_loss(state):
        W1, b1, W2, b2 = state
        d = np.tanh(X @ W1.T + b1) @ W2.T + b2 - Y
        return float((d * d).mean())

    return make_step, final_loss


def mlp(api, steps=FULL["mlp_steps"], repeats=FULL["mlp_repeats"], seed=SEED, gc_off=False,
        warmup_steps=10):
    """Train the MLP 32-64-10 (tanh) with the engine's nn and optim.

    Each of ``repeats`` runs starts from the weights of ``_mlp_data(seed)``
    and takes ``steps`` steps ``zero_grad; loss = MSELoss()(model(x), y);
    backward; step``, after ``warmup_steps`` untimed ones on a separate model.
    Returns ``{"us_per_step", "phases_us", "loss", "losses", "runs_us",
    "steps"}``; ``loss`` is the loss after the last update.
    """
    case = _mlp_case(api, steps, seed, gc_off, warmup_steps)
    return _mlp_summary(_interleave([case], repeats)[0], steps)


def mlp_numpy(steps=FULL["mlp_steps"], repeats=FULL["mlp_repeats"], seed=SEED, gc_off=False,
              warmup_steps=10):
    """``mlp`` written by hand in numpy: forward, manual backward, SGD update."""
    case = _mlp_case(None, steps, seed, gc_off, warmup_steps)
    return _mlp_summary(_interleave([case], repeats)[0], steps)


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
    return {"s": float(s), "s_rel_err": _rel(float(s), s_true), "grad_max_abs_err": err}


def _matmul_case(api, n=FULL["matmul_n"], steps=FULL["matmul_steps"], seed=SEED, gc_off=False,
                 warmup_steps=2):
    """One engine's matmul (``api`` None: numpy by hand). ``run()`` times
    ``steps`` steps and returns ms per step; ``finish()`` the check of the
    last step's result."""
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
        with _gc_mode(gc_off):   # for the whole run, as in mlp
            for _ in range(k):
                t0 = _now()
                out = step()
                total += _now() - t0
        box["out"] = out
        return total

    def warmup():
        if warmup_steps:
            timed(warmup_steps)

    def run():
        return {"ms_per_step": timed(steps) * 1e3 / steps}

    return _Case(warmup, run, lambda: finish(box["out"]))


def _matmul_summary(case, runs, steps):
    ms = [r["ms_per_step"] for r in runs]
    return {"ms_per_step": _median(ms), "runs_ms": ms, "steps": steps, "check": case.finish()}


def matmul(api, n=FULL["matmul_n"], steps=FULL["matmul_steps"], repeats=FULL["matmul_repeats"],
           seed=SEED, gc_off=False, warmup_steps=2):
    """Time ``A.grad = B.grad = None; relu(A @ B).sum().backward()`` on n x n
    float32. Returns ``{"ms_per_step", "runs_ms", "steps", "check"}``."""
    case = _matmul_case(api, n, steps, seed, gc_off, warmup_steps)
    return _matmul_summary(case, _interleave([case], repeats)[0], steps)


def matmul_numpy(n=FULL["matmul_n"], steps=FULL["matmul_steps"],
                 repeats=FULL["matmul_repeats"], seed=SEED, gc_off=False, warmup_steps=2):
    """``matmul`` by hand in numpy."""
    case = _matmul_case(None, n, steps, seed, gc_off, warmup_steps)
    return _matmul_summary(case, _interleave([case], repeats)[0], steps)


# ----------------------------------------------------------------------------
# Engines and peers


class Row(object):
    """One engine as a row of the table: the engine object and the gc mode."""

    def __init__(self, key, label, engine, gc_off=False, workloads=None,
                 version="", path="", tensor=None):
        self.key = key
        self.label = label
        self.engine = engine          # scalar API (chain, demo)
        self.tensor = tensor          # tensor API: namespace(T, nn, optim) (overhead, mlp, matmul)
        self.gc_off = gc_off
        if workloads is None:
            workloads = ENGINE_WORKLOADS.get(key.split("-")[0], ())
        self.workloads = workloads
        self.version = version
        self.path = path


def _micrograd_engine():
    import micrograd
    from micrograd import engine as mg_engine
    from micrograd import nn as mg_nn

    MgValue = mg_engine.Value
    if not hasattr(MgValue, "tanh"):
        # micrograd 0.1.0 on PyPI has no tanh; this is the one from its lecture,
        # in its own style (a closure per node), with math.tanh for the value.
        def tanh(self):
            t = math.tanh(self.data)
            out = MgValue(t, (self,), "tanh")

            def _backward():
                self.grad += (1 - t ** 2) * out.grad
            out._backward = _backward
            return out
        MgValue.tanh = tanh

    def make_mlp(nin, nouts, seed):
        # micrograd.nn draws from the global `random`: seed it like the demo, then
        # restore the caller's state. Same sequence as random.Random(seed).
        state = random.getstate()
        random.seed(seed)
        try:
            return mg_nn.MLP(nin, list(nouts))
        finally:
            random.setstate(state)

    eng = types.SimpleNamespace(
        Value=MgValue, sum=builtins.sum, dot=None, make_mlp=make_mlp,
        recursive_backward=True, ENGINE="micrograd")
    return eng, _dist_version("micrograd"), os.path.dirname(micrograd.__file__)


def _torch_engine(threads=None):
    import torch

    if threads:
        torch.set_num_threads(threads)

    def Value(x):
        return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)

    eng = types.SimpleNamespace(Value=Value, sum=None, dot=None, ENGINE="torch")
    tensor = types.SimpleNamespace(T=torch, nn=torch.nn, optim=torch.optim)
    return eng, tensor, torch.__version__, os.path.dirname(torch.__file__)


def _tapegrad_tensor_api(engine):
    """The tensor workloads' view of a tapegrad engine: the engine's own nn and
    optim (``tapegrad.nn``/``tapegrad.optim`` when it is the active engine)."""
    from . import _nn, _optim
    return types.SimpleNamespace(T=engine, nn=_nn.build(engine), optim=_optim.build(engine))


# ----------------------------------------------------------------------------
# BLAS threads: the same number for numpy, the compiled engine and torch


_OPENBLAS_API = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _openblas_libs():
    """``[(label, get, set)]`` for every OpenBLAS loaded in this process.

    Linux only (reads /proc/self/maps); elsewhere the environment variables set
    before numpy's import are all there is. OPENBLAS_NUM_THREADS is read once,
    when a library loads, and ``import tapegrad`` already imports numpy, so the
    bench also sets the count through each library's own API.
    """
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f
                            if "openblas" in line.lower() and "/" in line})
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _OPENBLAS_API:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get_fn, set_fn = getattr(lib, get_name), getattr(lib, set_name)
                get_fn.restype = ctypes.c_int
                set_fn.argtypes = [ctypes.c_int]
                set_fn.restype = None
                parts = path.split(os.sep)
                owner = next((p[:-len(".libs")] for p in parts if p.endswith(".libs")),
                             os.path.basename(path))
                out.append((owner, get_fn, set_fn))
                break
    return out


def blas_threads(threads=None):
    """Set (if ``threads``) and report the thread count of every loaded BLAS:
    ``{"numpy": n, "scipy": n, "torch": n}`` (scipy's OpenBLAS is the one the
    compiled engine's matmul calls; torch only once it has been imported)."""
    info = {}
    for owner, get_fn, set_fn in _openblas_libs():
        if threads:
            set_fn(threads)
        info[owner] = int(get_fn())
    torch = sys.modules.get("torch")
    if torch is not None:
        if threads:
            torch.set_num_threads(threads)
        info["torch"] = int(torch.get_num_threads())
    return info


def _load_blas_libraries():
    """Load the BLAS libraries the tensor workloads use, so that their threads
    can be set before anything is timed."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        pass
    try:  # the compiled engine's matmul calls SciPy's BLAS, loaded on first use
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return ""


def load_rows(engines=ALL_ENGINES, gc_off_all=False):
    """The rows to run, in order, and ``{name: reason}`` for engines not available.

    Peers (micrograd, numpy) are imported only here; torch is imported by
    ``run()`` after the others have run, so that importing it does not change
    the heap the other engines are timed with.
    """
    rows, missing = [], {}
    for name in engines:
        if name == "c":
            try:
                from . import _engine
            except Exception as exc:
                missing["c"] = "compiled engine not importable (%s: %s); build it with "\
                    "`pip install -e .`" % (type(exc).__name__, exc)
                continue
            modes = (False, True) if gc_off_all else (False,)
            for off in modes:
                rows.append(Row("c", "c" + (" gc off" if off else ""), _engine, off,
                                path=getattr(_engine, "__file__", ""),
                                tensor=_tapegrad_tensor_api(_engine)))
        elif name == "reference":
            from . import reference
            modes = (False, True) if gc_off_all else (False,)
            for off in modes:
                rows.append(Row("reference", "reference" + (" gc off" if off else ""),
                                reference, off,
                                path=os.path.dirname(getattr(reference, "__file__", "")),
                                tensor=_tapegrad_tensor_api(reference)))
        elif name == "micrograd":
            try:
                eng, ver, path = _micrograd_engine()
            except ImportError as exc:
                missing["micrograd"] = "not installed (pip install micrograd==0.1.0): %s" % exc
                continue
            rows.append(Row("micrograd", "micrograd", eng, False, version=ver, path=path))
            rows.append(Row("micrograd-gcoff", "micrograd gc off", eng, True,
                            version=ver, path=path))
        elif name == "numpy":
            try:
                import numpy
            except ImportError as exc:
                missing["numpy"] = "not installed: %s" % exc
                continue
            rows.append(Row("numpy", "numpy", None, False, version=numpy.__version__,
                            path=os.path.dirname(numpy.__file__)))
        elif name == "torch":
            pass  # imported lazily by run(), after the others
        else:
            raise ValueError("unknown engine %r (choose from %s)" % (name, ", ".join(ALL_ENGINES)))
    return rows, missing


# ----------------------------------------------------------------------------
# Running everything


def environment():
    from ._version import __version__
    info = {
        "tapegrad": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
        "gc_enabled": gc.isenabled(),
        "loadavg": _loadavg(),
        "gc_threshold": list(gc.get_threshold()),
        "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                           "OMP_NUM_THREADS", "TAPEGRAD_PURE_PYTHON")
                if k in os.environ},
    }
    try:
        import numpy
        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def run(engines=ALL_ENGINES, chain_ops=FULL["chain_ops"], chain_repeats=FULL["chain_repeats"],
        demo_steps=FULL["demo_steps"], demo_repeats=FULL["demo_repeats"],
        peer_demo_repeats=FULL["peer_demo_repeats"], peer_demo_warmup=FULL["peer_demo_warmup"],
        workloads=ALL_WORKLOADS,
        gc_off_all=False, progress=None, op_block_s=FULL["op_block_s"],
        op_repeats=FULL["op_repeats"], mlp_steps=FULL["mlp_steps"],
        mlp_repeats=FULL["mlp_repeats"], matmul_n=FULL["matmul_n"],
        matmul_steps=FULL["matmul_steps"], matmul_repeats=FULL["matmul_repeats"],
        blas=1, clock="wall"):
    """Run the workloads on every available engine. Returns a JSON-able dict.

    ``blas``: BLAS threads for numpy, SciPy (the compiled engine's matmul) and
    torch, set through each library (None: leave them as they are).
    ``clock``: "wall" or "cpu" (see ``set_clock``).
    """
    global _now
    old_clock = _now
    set_clock(clock)
    try:
        return _run(engines, chain_ops, chain_repeats, demo_steps, demo_repeats,
                    peer_demo_repeats, peer_demo_warmup, workloads, gc_off_all, progress,
                    op_block_s, op_repeats, mlp_steps, mlp_repeats, matmul_n, matmul_steps,
                    matmul_repeats, blas, clock)
    finally:
        _now = old_clock


def _run(engines, chain_ops, chain_repeats, demo_steps, demo_repeats, peer_demo_repeats,
         peer_demo_warmup, workloads, gc_off_all, progress, op_block_s, op_repeats, mlp_steps,
         mlp_repeats, matmul_n, matmul_steps, matmul_repeats, blas, clock):
    def say(msg):
        if progress is not None:
            progress(msg)

    loadavg_start = _loadavg()
    rows, missing = load_rows([e for e in engines if e != "torch"], gc_off_all)
    results = []
    config = {"engines": list(engines), "chain_ops": 4 * max(1, chain_ops // 4),
              "chain_repeats": chain_repeats, "demo_steps": demo_steps,
              "demo_repeats": demo_repeats, "peer_demo_repeats": peer_demo_repeats,
              "peer_demo_warmup": peer_demo_warmup,
              "workloads": list(workloads),
              "seed": SEED, "n_samples": N_SAMPLES, "noise": NOISE,
              "op_block_s": op_block_s, "op_repeats": op_repeats, "op_sizes": list(OVERHEAD_SIZES),
              "mlp_steps": mlp_steps, "mlp_repeats": mlp_repeats, "mlp_shape": list(MLP_SHAPE),
              "mlp_lr": MLP_LR, "matmul_n": matmul_n, "matmul_steps": matmul_steps,
              "matmul_repeats": matmul_repeats, "blas_threads_requested": blas,
              "loadavg_start": loadavg_start, "clock": clock}
    if builtins.any(w in TENSOR_WORKLOADS for w in workloads):
        _load_blas_libraries()
        blas_threads(blas)

    def do_chain(row):
        say("chain: %s ..." % row.label)
        m = chain(row.engine, chain_ops, chain_repeats, gc_off=row.gc_off)
        results.append(_record("chain", "build", row, m["build_ns_per_op"], "ns/op", m,
                               runs=m["build_ns"]))
        results.append(_record("chain", "backward", row, m["backward_ns_per_node"],
                               "ns/node", m, runs=m["backward_ns"]))

    def do_demo(row):
        say("demo: %s ..." % row.label)
        reps, warm = demo_repeats, 2
        if row.key not in ("c", "reference"):
            # micrograd with gc on needs seconds per step: fewer runs (and, with
            # --quick, no warm-up steps)
            reps = builtins.min(demo_repeats, peer_demo_repeats)
            warm = peer_demo_warmup
        m = demo(row.engine, demo_steps, reps, gc_off=row.gc_off, warmup_steps=warm)
        results.append(_record("demo", "step", row, m["ms_per_step"], "ms/step",
                               m, runs=m["runs_ms_per_step"]))

    def do_overhead(row):
        recs = []
        for n in OVERHEAD_SIZES:
            say("overhead n=%d: %s ..." % (n, row.label))
            m = overhead(row.tensor, n, op_block_s, op_repeats, gc_off=row.gc_off)
            recs.append(_record("overhead", "n=%d" % n, row, m["us_per_iter"], "us/iter",
                                m, runs=m["runs_us"], iters=m["iters"], check=m["check"], n=n))
        results.extend(recs)

    def do_mlp(rows):
        say("mlp: %s ..." % ", ".join(r.label for r in rows))
        cases = [_mlp_case(None if r.key == "numpy" else r.tensor, mlp_steps, gc_off=r.gc_off)
                 for r in rows]
        recs = []
        for row, case, runs in zip(rows, cases, _interleave(cases, mlp_repeats)):
            m = _mlp_summary(runs, mlp_steps)
            recs.append(_record("mlp", "step", row, m["us_per_step"], "us/step", m,
                                runs=m["runs_us"], loss=m["loss"], losses=m["losses"],
                                phases_us=m["phases_us"], steps=m["steps"]))
        results.extend(recs)

    def do_matmul(rows):
        say("matmul %d: %s ..." % (matmul_n, ", ".join(r.label for r in rows)))
        cases = [_matmul_case(None if r.key == "numpy" else r.tensor, matmul_n, matmul_steps,
                              gc_off=r.gc_off) for r in rows]
        recs = []
        for row, case, runs in zip(rows, cases, _interleave(cases, matmul_repeats)):
            m = _matmul_summary(case, runs, matmul_steps)
            recs.append(_record("matmul", "%dx%d" % (matmul_n, matmul_n), row,
                                m["ms_per_step"], "ms/step", m, runs=m["runs_ms"],
                                check=m["check"], steps=m["steps"], n=matmul_n))
        results.extend(recs)

    def needs_numpy(w):
        return w != "chain"

    have_numpy = True
    if builtins.any(needs_numpy(w) for w in workloads):
        try:
            import numpy  # noqa: F401  (make_moons and the tensor data need it)
        except ImportError:
            missing["numpy"] = "not installed (pip install numpy): only the chain runs"
            have_numpy = False
    doers = {"chain": do_chain, "demo": do_demo, "overhead": do_overhead, "mlp": do_mlp,
             "matmul": do_matmul}

    # mlp and matmul run their engines interleaved (one run of each in turn)
    interleaved = ("mlp", "matmul")

    def do_all(rows):
        for w in ALL_WORKLOADS:
            if w not in workloads or (needs_numpy(w) and not have_numpy):
                continue
            todo = [row for row in rows if w in row.workloads]
            if w in SCALAR_WORKLOADS:
                for row in todo:
                    doers[w](row)
                continue
            groups = [todo] if w in interleaved else [[row] for row in todo]
            for group in groups:
                while group:
                    try:
                        doers[w](group if w in interleaved else group[0])
                        break
                    except Exception as exc:  # report it, run the others
                        bad = _failing_row(w, group)
                        missing["%s %s" % (bad.label, w)] = "failed: %s: %s" % (
                            type(exc).__name__, exc)
                        group = [row for row in group if row is not bad]

    do_all(rows)
    if "torch" in engines and builtins.any(w in ENGINE_WORKLOADS["torch"] for w in workloads):
        try:
            eng, tensor, ver, path = _torch_engine(blas)
        except ImportError as exc:
            missing["torch"] = "not installed: %s" % exc
        else:
            do_all([Row("torch", "torch", eng, False, version=ver, path=path, tensor=tensor)])

    env = environment()
    if builtins.any(w in TENSOR_WORKLOADS for w in workloads):
        env["blas_threads"] = blas_threads()
    return {"env": env, "config": config, "results": results,
            "missing": missing, "checks": _checks(results)}


def _failing_row(workload, rows):
    """The row of ``rows`` whose engine cannot run ``workload`` (a tiny trial
    run of each); the first row if every trial passes."""
    for row in rows:
        api = None if row.key == "numpy" else row.tensor
        try:
            if workload == "mlp":
                _mlp_case(api, 1, warmup_steps=0).run()
            elif workload == "matmul":
                _matmul_case(api, 8, 1, warmup_steps=0).run()
            elif workload == "overhead":
                overhead(api, 1, 0.0, 1)
        except Exception:
            return row
    return rows[0]


def _record(workload, phase, row, value, unit, m, runs, **extra):
    rec = {"workload": workload, "phase": phase, "engine": row.key, "label": row.label,
           "repeats": len(runs),
           "gc": "off" if row.gc_off else "on", "value": value, "unit": unit,
           "runs": runs, "version": row.version, "path": row.path}
    if workload == "chain":
        rec["n_ops"] = m["n_ops"]
        rec["check"] = m["check"]
    elif workload == "demo":
        for k in ("loss", "accuracy", "last_step_loss", "phases_ms", "steps", "params",
                  "losses"):
            rec[k] = m[k]
    rec.update(extra)
    return rec


def _rel(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# Tolerances of the checks (relative differences).
CHECK_RTOL = {
    "chain": 1e-9,      # float64, same ops in the same order
    "demo": 1e-6,       # float64, 100 steps
    "overhead": 1e-6,   # float32 values that are exact
    "mlp": 1e-4,        # float32, different BLAS and summation orders over the run
    "matmul": 1e-4,     # the float32 sum s; the gradients must be exact
}


def _checks(results):
    """Do the engines compute the same numbers? Compared with the reference
    (with the compiled engine if the reference did not run); matmul's
    gradients are compared with float64 numpy."""
    out = []
    by = {}
    for r in results:
        by[(r["workload"], r["phase"], r["label"])] = r
    labels = [r["label"] for r in results]
    for r in results:
        w = r["workload"]
        if w == "matmul":
            c = r["check"]
            d = c["s_rel_err"]
            out.append({"what": "matmul s and gradients", "engine": r["label"],
                        "vs": "float64 numpy", "max_rel_diff": d,
                        "grad_max_abs_err": c["grad_max_abs_err"],
                        "ok": d <= CHECK_RTOL[w] and c["grad_max_abs_err"] == 0})
            continue
        base_label = next((b for b in ("reference", "c") if b in labels
                           and (w, r["phase"], b) in by), None)
        if base_label is None or r["label"] == base_label:
            continue
        ref = by[(w, r["phase"], base_label)]
        if w == "chain" and r["phase"] == "build":
            d = builtins.max(_rel(a, b) for a, b in zip(r["check"], ref["check"]))
            out.append({"what": "chain out.data, x.grad, y.grad", "engine": r["label"],
                        "vs": base_label, "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "demo":
            d = _rel(r["loss"], ref["loss"])
            out.append({"what": "demo loss after %d steps" % r["steps"], "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "overhead":
            d = builtins.max(_rel(a, b) for a, b in zip(r["check"], ref["check"]))
            out.append({"what": "overhead %s y, w.grad, b.grad" % r["phase"], "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "mlp":
            d = _rel(r["loss"], ref["loss"])
            out.append({"what": "mlp loss after %d steps" % r["steps"], "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
    return out


# ----------------------------------------------------------------------------
# The table


def _fmt_value(v, unit):
    if v != v:
        return "n/a"
    if v >= 100:
        s = "%.0f" % v
    elif v >= 10:
        s = "%.1f" % v
    else:
        s = "%.2f" % v
    return "%s %s" % (s, unit)


def _ratio(x):
    if x != x or x == math.inf:
        return ""
    if x >= 100:
        return "%.0fx" % x
    if x >= 10:
        return "%.1fx" % x
    return "%.2fx" % x


def _blas_line(env, cfg):
    bt = env.get("blas_threads")
    if bt is None:
        return None
    names = {"numpy": "numpy", "scipy": "scipy (the compiled engine's matmul)",
             "torch": "torch (set_num_threads)"}
    counts = ", ".join("%s %d" % (names.get(k, k), v) for k, v in sorted(bt.items()))
    req = cfg.get("blas_threads_requested")
    same = len(set(bt.values())) <= 1
    head = ("BLAS threads: %d everywhere" % list(bt.values())[0]) if bt and same \
        else "BLAS threads NOT THE SAME"
    env_var = env.get("env", {}).get("OPENBLAS_NUM_THREADS")
    return "%s (--blas-threads %s; OPENBLAS_NUM_THREADS=%s, and set through each library's " \
        "API): %s" % (head, req if req else "unset", env_var or "unset", counts or "none loaded")


def _sort_key(r):
    phase = {"build": 0, "backward": 1}.get(r["phase"], r.get("n", 0))
    w = r["workload"]
    return (ALL_WORKLOADS.index(w) if w in ALL_WORKLOADS else len(ALL_WORKLOADS), phase)


def _target_note(r, values):
    key = (r["workload"], r["phase"])
    if r["label"] != "c":
        return None
    if key in TARGETS:
        tgt = TARGETS[key]
        return "target <= %g %s: %s" % (tgt, r["unit"], "met" if r["value"] <= tgt else "MISSED")
    if r["workload"] in TARGET_RATIOS:
        peer, limit = TARGET_RATIOS[r["workload"]]
        base = values.get(key + (peer,))
        if base:
            return "target <= %gx %s: %s" % (limit, peer, "met" if r["value"] <= limit * base
                                             else "MISSED")
    return None


def format_table(report):
    env, cfg, results = report["env"], report["config"], report["results"]
    lines = []
    lines.append("tapegrad %s benchmark: Python %s (%s), %s, %s" % (
        env["tapegrad"], env["python"], env["implementation"], env["machine"],
        env.get("cpu") or "?"))
    sizes = []
    present = set(r["workload"] for r in results)
    if "chain" in present:
        sizes.append("chain: %d ops, median of %d runs after 2 warm-up runs" % (
            cfg["chain_ops"], cfg["chain_repeats"]))
    if "demo" in present:
        sizes.append("demo: %d steps, median of %d runs (%d for peers) after 2 warm-up steps "
                     "(%d for peers)" % (
                         cfg["demo_steps"], cfg["demo_repeats"],
                         builtins.min(cfg["demo_repeats"], cfg["peer_demo_repeats"]),
                         cfg.get("peer_demo_warmup", 2)))
    if sizes:
        lines.append("; ".join(sizes))
    sizes = []
    if "overhead" in present:
        sizes.append("overhead: (x*w + b).sum().backward(), float32, median of %d blocks of "
                     ">= %g s" % (cfg["op_repeats"], cfg["op_block_s"]))
    if "mlp" in present:
        b, i, h, o = cfg["mlp_shape"]
        sizes.append("mlp: batch %d, Linear %d->%d, tanh, Linear %d->%d, MSE, SGD lr %g, "
                     "float32; %d steps, median of %d runs" % (
                         b, i, h, h, o, cfg["mlp_lr"], cfg["mlp_steps"], cfg["mlp_repeats"]))
    if sizes:
        lines.append("; ".join(sizes))
    if "matmul" in present:
        lines.append("matmul: relu(A @ B).sum() forward + backward, %dx%d float32; %d steps, "
                     "median of %d runs" % (cfg["matmul_n"], cfg["matmul_n"],
                                            cfg["matmul_steps"], cfg["matmul_repeats"]))
    blas = _blas_line(env, cfg)
    if blas:
        lines.append(blas)
    load = [cfg.get("loadavg_start"), env.get("loadavg")]
    if all(load) and env.get("cpus"):
        busy = builtins.max(load[0][0], load[1][0]) > 0.5 * env["cpus"]
        lines.append("load average %.2f at start, %.2f at end, %d CPUs%s" % (
            load[0][0], load[1][0], env["cpus"],
            ": OTHER PROCESSES COMPETE FOR THE CPUS, figures are noisy (compare ratios, "
            "rerun on an idle machine)" if busy else ""))
    lines.append("clock: %s" % {
        "wall": "wall time (time.perf_counter)",
        "cpu": "CPU time of the calling thread (time.thread_time; --clock cpu)"}[
            cfg.get("clock", "wall")])
    lines.append("gc enabled (as the user has it) unless the row says gc off: then disabled "
                 "while timed, garbage collected untimed (between steps for demo, between "
                 "runs and blocks for the tensor workloads)")
    versions = []
    for r in results:
        v = "%s %s" % (r["engine"].split("-")[0], r["version"])
        if r["version"] and v not in versions:
            versions.append(v)
    if versions:
        lines.append("peers: " + ", ".join(versions))
    lines.append("")
    results = sorted(results, key=_sort_key)

    values = {}
    for r in results:
        values[(r["workload"], r["phase"], r["label"])] = r["value"]

    with_numpy = any(r["label"] == "numpy" for r in results)
    header = ("workload", "engine", "figure", "time / c", "time / ref") + \
        (("time / numpy",) if with_numpy else ()) + ("notes",)
    table = []
    for r in results:
        key = (r["workload"], r["phase"])
        bases = [values.get(key + (b,)) for b in ("c", "reference") +
                 (("numpy",) if with_numpy else ())]
        notes = []
        tgt = _target_note(r, values)
        if tgt:
            notes.append(tgt)
        if r["workload"] == "demo":
            notes.append("loss %.6g acc %.0f%%" % (r["loss"], 100 * r["accuracy"]))
        if r["workload"] == "mlp":
            notes.append("loss %.7g" % r["loss"])
        table.append((
            "%s %s" % (r["workload"], r["phase"]), r["label"], _fmt_value(r["value"], r["unit"]))
            + tuple(_ratio(r["value"] / b) if b else "" for b in bases)
            + ("; ".join(notes),))
    widths = [builtins.max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(header)]
    fmt = "  ".join("%%-%ds" % w for w in widths[:-1]) + "  %s"
    lines.append((fmt % header).rstrip())
    lines.append((fmt % (tuple("-" * w for w in widths[:-1]) + ("-" * 5,))).rstrip())
    prev = None
    for t in table:
        if prev is not None and t[0] != prev:
            lines.append("")
        prev = t[0]
        lines.append((fmt % t).rstrip())

    # Ratios in words.
    lines.append("")
    pairs = (("c", "reference"), ("c", "micrograd"), ("c", "micrograd gc off"),
             ("c", "torch"), ("c", "numpy"), ("reference", "micrograd"),
             ("reference", "micrograd gc off"), ("reference", "torch"), ("reference", "numpy"))
    keys = []
    for r in results:
        k = (r["workload"], r["phase"])
        if k not in keys:
            keys.append(k)
    for fast, slow in pairs:
        parts = []
        for k in keys:
            a, b = values.get(k + (fast,)), values.get(k + (slow,))
            if a and b:
                parts.append("%s %s %s" % (k[0], k[1], _speed(b / a)))
        if parts:
            lines.append("%s vs %s: %s" % (fast, slow, ", ".join(parts)))
    if values.get(("demo", "step", "reference")) and values.get(("demo", "step", "micrograd")):
        ok = values[("demo", "step", "reference")] <= values[("demo", "step", "micrograd")]
        lines.append("target: reference demo step no slower than micrograd: %s"
                     % ("met" if ok else "MISSED"))

    demos = [r for r in results if r["workload"] == "demo"]
    if demos:
        lines.append("")
        lines.append("demo step by phase (ms per step; forward = inputs + model + loss + "
                     "accuracy):")
        names = ("forward", "zero_grad", "backward", "update")
        w = builtins.max(len(r["label"]) for r in demos)
        lines.append("  %-*s  %s" % (w, "engine", "  ".join("%9s" % n for n in names)))
        for r in demos:
            lines.append("  %-*s  %s" % (w, r["label"], "  ".join(
                "%9.3f" % r["phases_ms"][n] for n in names)))
    mlps = [r for r in results if r["workload"] == "mlp"]
    if mlps:
        lines.append("")
        lines.append("mlp step by phase (us per step; forward = model + loss; numpy: by hand, "
                     "no zero_grad):")
        w = builtins.max(len(r["label"]) for r in mlps)
        lines.append("  %-*s  %s" % (w, "engine", "  ".join("%9s" % n for n in _MLP_PHASES)))
        for r in mlps:
            lines.append("  %-*s  %s" % (w, r["label"], "  ".join(
                "%9.1f" % r["phases_us"][n] if r["phases_us"][n] else "%9s" % "-"
                for n in _MLP_PHASES)))

    checks = report.get("checks", [])
    bad = [c for c in checks if not c["ok"]]
    if checks:
        lines.append("")
        for c in bad:
            extra = ""
            if "grad_max_abs_err" in c:
                extra = ", gradients' largest difference %.3g" % c["grad_max_abs_err"]
            lines.append("CHECK FAILED: %s differs between %s and %s (relative difference "
                         "%.3g%s)" % (c["what"], c["engine"], c["vs"], c["max_rel_diff"], extra))
        ok = [c for c in checks if c["ok"]]
        words = {"chain": "chain result and gradients", "demo": "demo final loss",
                 "overhead": "overhead result and gradients", "mlp": "mlp final loss"}
        groups = []
        for w in ALL_WORKLOADS:
            cs = [c for c in ok if c["what"].split(" ")[0] == w]
            if not cs:
                continue
            d = builtins.max(c["max_rel_diff"] for c in cs)
            engines = []
            for c in cs:
                if c["engine"] not in engines:
                    engines.append(c["engine"])
            if w == "matmul":
                groups.append("matmul vs float64 numpy: gradients exact, s within %.2g (%s)"
                              % (d, ", ".join(engines)))
            else:
                groups.append("%s vs %s: within %.2g (%s)" % (words[w], cs[0]["vs"], d,
                                                              ", ".join(engines)))
        if groups:
            lines.append("checks passed (relative differences):")
            lines.extend("  " + g for g in groups)
    for name, why in sorted(report.get("missing", {}).items()):
        lines.append("not run: %s: %s" % (name, why))
    return "\n".join(lines)


def _speed(x):
    if x >= 1:
        return "%s faster" % _ratio(x)
    return "%s slower" % _ratio(1 / x)


# ----------------------------------------------------------------------------
# Command line (shared by `python -m tapegrad bench`, benchmarks/bench_scalar.py and
# benchmarks/bench_tensor.py)


def add_arguments(parser, default_workloads=ALL_WORKLOADS):
    parser.add_argument("--quick", action="store_true",
                        help="short run: %(chain_ops)d-op chain x %(chain_repeats)d, "
                             "%(demo_steps)d demo steps x %(demo_repeats)d, overhead blocks "
                             "of %(op_block_s)g s x %(op_repeats)d, %(mlp_steps)d mlp steps x "
                             "%(mlp_repeats)d, %(matmul_steps)d matmul steps x "
                             "%(matmul_repeats)d" % QUICK)
    parser.add_argument("--engines", default=",".join(ALL_ENGINES),
                        help="comma-separated subset of %s (default: all; missing peers "
                             "are left out)" % ",".join(ALL_ENGINES))
    parser.add_argument("--workloads", default=",".join(default_workloads),
                        help="comma-separated subset of %s (default: %s)"
                        % (",".join(ALL_WORKLOADS), ",".join(default_workloads)))
    parser.add_argument("--chain-ops", type=int, default=None,
                        help="ops in the chain (default %d)" % FULL["chain_ops"])
    parser.add_argument("--chain-repeats", type=int, default=None,
                        help="timed chain runs per engine (default %d)" % FULL["chain_repeats"])
    parser.add_argument("--demo-steps", type=int, default=None,
                        help="training steps per demo run (default %d)" % FULL["demo_steps"])
    parser.add_argument("--demo-repeats", type=int, default=None,
                        help="demo runs per engine (default %d)" % FULL["demo_repeats"])
    parser.add_argument("--peer-demo-repeats", type=int, default=None,
                        help="demo runs for micrograd (default %d)" % FULL["peer_demo_repeats"])
    parser.add_argument("--peer-demo-warmup", type=int, default=None,
                        help="untimed demo steps before micrograd's runs (default %d, %d with "
                             "--quick)" % (FULL["peer_demo_warmup"], QUICK["peer_demo_warmup"]))
    parser.add_argument("--op-block-s", type=float, default=None,
                        help="seconds per timed overhead block (default %g)" % FULL["op_block_s"])
    parser.add_argument("--op-repeats", type=int, default=None,
                        help="timed overhead blocks (default %d)" % FULL["op_repeats"])
    parser.add_argument("--mlp-steps", type=int, default=None,
                        help="training steps per mlp run (default %d)" % FULL["mlp_steps"])
    parser.add_argument("--mlp-repeats", type=int, default=None,
                        help="mlp runs per engine (default %d)" % FULL["mlp_repeats"])
    parser.add_argument("--matmul-n", type=int, default=None,
                        help="matrix size of the matmul workload (default %d)" % FULL["matmul_n"])
    parser.add_argument("--matmul-steps", type=int, default=None,
                        help="steps per matmul run (default %d)" % FULL["matmul_steps"])
    parser.add_argument("--matmul-repeats", type=int, default=None,
                        help="matmul runs per engine (default %d)" % FULL["matmul_repeats"])
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads for numpy, the compiled engine (SciPy's OpenBLAS) "
                             "and torch (default: $OPENBLAS_NUM_THREADS if set, else 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="what to time: wall time (default) or the CPU time of the "
                             "calling thread, less disturbed by other processes")
    parser.add_argument("--gc-off-all", action="store_true",
                        help="also time tapegrad's engines with gc disabled")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as JSON to PATH (or to stdout instead of "
                             "the table when no PATH is given)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser


def _single_threaded_blas():
    """Keep BLAS thread pools at one thread unless the user chose otherwise: set
    before numpy's import when possible (``python -m tapegrad`` imports numpy
    first; ``run()`` then also sets the count through each library)."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def _default_blas_threads():
    try:
        return builtins.max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    except ValueError:
        return 1


def main_from_args(args, command=None):
    _single_threaded_blas()
    sizes = dict(QUICK if args.quick else FULL)
    for k in sizes:
        v = getattr(args, k)
        if v is not None:
            sizes[k] = v
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for e in engines:
        if e not in ALL_ENGINES:
            sys.stderr.write("unknown engine %r (choose from %s)\n" % (e, ",".join(ALL_ENGINES)))
            return 2
    for w in workloads:
        if w not in ALL_WORKLOADS:
            sys.stderr.write("unknown workload %r (choose from %s)\n"
                             % (w, ",".join(ALL_WORKLOADS)))
            return 2
    blas = args.blas_threads if args.blas_threads else _default_blas_threads()
    t0 = time.time()
    progress = None if args.quiet else (lambda m: (sys.stderr.write(
        "[%6.1fs] %s\n" % (time.time() - t0, m)), sys.stderr.flush()))
    report = run(engines=engines, workloads=workloads, gc_off_all=args.gc_off_all,
                 progress=progress, blas=blas, clock=args.clock, **sizes)
    report["config"]["wall_s"] = round(time.time() - t0, 1)
    report["config"]["command"] = command or " ".join(sys.argv)
    if args.json and args.json != "-":
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.json == "-":
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_table(report))
    if "c" in engines and "c" in report["missing"]:
        return 1
    if any(not c["ok"] for c in report["checks"]):
        return 1
    return 0


def main(argv=None, prog=None, default_workloads=ALL_WORKLOADS):
    parser = argparse.ArgumentParser(
        prog=prog, description="Time tapegrad's compiled engine against the pure-Python "
        "reference and, where installed, micrograd, PyTorch and numpy by hand.")
    add_arguments(parser, default_workloads)
    if argv is None:
        argv = sys.argv[1:]
    command = " ".join([prog or os.path.basename(sys.argv[0])] + list(argv))
    return main_from_args(parser.parse_args(argv), command)
