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

Replay workloads (``tapegrad.compile`` / ``tapegrad.record``)
--------------------------------------------------------------
Each engine's replay is timed against the same engine eager, in one process.
Labels: ``c`` / ``reference`` for eager, ``c replay`` / ``reference replay``
for the replay (the reference's replay runs fn again on every call). The first
call of a replay records fn: it is timed apart (``record``) and left out of the
per-step figures.

demo-replay
    The demo step replayed: ``model.zero_grad(); loss = step(Xb, yb)`` then
    the SGD update, with ``step = compile(fn)``, ``fn(Xb, yb)`` building the
    demo's loss (without the accuracy, which would read ``.data`` and become a
    guard) from X as a list of lists of floats and y as a list of floats (fn
    receives them as Values; the eager rows wrap them in Values too, so both
    build the same graph). Two neuron styles: ``ops``, micrograd's own neuron
    ``sum((wi*xi for wi, xi in zip(w, x)), b)`` (a node per op, ~65k nodes,
    as micrograd's demo step), and ``dot``, the demo's ``engine.dot(w, x) + b``
    (~10.5k nodes). Reports ms per step (``step``) and ms per call of the
    replay alone, forward + backward without the Python loops of zero_grad
    and update (``call``; for eager rows the forward + backward), against
    micrograd with its gc off (micrograd's demo step, i.e. the ``ops`` style).
    The replay's loss at every step and after the last update must equal the
    eager run's (relative difference <= 1e-12).
mlp-replay
    The mlp step replayed: ``step = compile(lambda x, y: loss_fn(model(x),
    y))``; a step is ``opt.zero_grad(); step(x, y); opt.step()``. Eager rows
    and the torch / numpy peers are the mlp workload's step. Reports us per
    step and per call (replay: ``step(x, y)``; eager: forward + backward).
chain-replay
    The chain recorded once with ``record(fn, x0, y0)`` (fn repeats ``x = x*y;
    x = x + y; x = x.tanh(); x = x**2``), then ``tape.forward(x0, y0)`` and
    ``tape.backward()`` timed apart (a forward comes before every backward).
    Reports ns per recorded node for each, and the ratio backward / forward.

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
import traceback
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
# Targets of the replay (its issue), for rows other than plain "c":
# (workload, phase, label) -> largest value.
LABEL_TARGETS = {
    ("demo-replay", "step ops", "c replay"): 1.0,    # ms per step
    ("mlp-replay", "step", "c replay"): 40.0,        # us per step
}
# (workload, phase, label) -> (other phase, other label, "faster" or "at most", k):
# the row must be k times faster than the other row, or at most k times its time.
RELATIVE_TARGETS = {
    ("demo-replay", "step ops", "c replay"): ("step ops", "micrograd gc off", "faster", 100.0),
    ("mlp-replay", "step", "c replay"): ("step", "torch", "faster", 4.0),
    ("chain-replay", "backward", "c replay"): ("forward", "c replay", "at most", 3.0),
}

# Sizes. A 100-step demo run is itself an average over 100 steps; peers get
# one run by default (micrograd with gc enabled needs minutes for one).
FULL = {"chain_ops": 100_000, "chain_repeats": 5, "demo_steps": 100, "demo_repeats": 3,
        "peer_demo_repeats": 1, "peer_demo_warmup": 2,
        "op_block_s": 0.2, "op_repeats": 7, "mlp_steps": 200, "mlp_repeats": 5,
        "matmul_n": 512, "matmul_steps": 10, "matmul_repeats": 5,
        "demo_replay_steps": 100, "demo_replay_repeats": 5}
QUICK = {"chain_ops": 20_000, "chain_repeats": 3, "demo_steps": 3, "demo_repeats": 1,
         "peer_demo_repeats": 1, "peer_demo_warmup": 0,
         "op_block_s": 0.05, "op_repeats": 3, "mlp_steps": 50, "mlp_repeats": 3,
         "matmul_n": 512, "matmul_steps": 3, "matmul_repeats": 3,
         "demo_replay_steps": 5, "demo_replay_repeats": 3}

ALL_ENGINES = ("c", "reference", "micrograd", "torch", "numpy")
SCALAR_WORKLOADS = ("chain", "demo")
TENSOR_WORKLOADS = ("overhead", "mlp", "matmul")
REPLAY_WORKLOADS = ("demo-replay", "mlp-replay", "chain-replay")
ALL_WORKLOADS = SCALAR_WORKLOADS + TENSOR_WORKLOADS + REPLAY_WORKLOADS
# Which workloads each engine runs (numpy is only a peer of the tensor ones it
# can do by hand; micrograd has no tensors; micrograd with gc off is the peer
# of demo-replay, as in the issue).
ENGINE_WORKLOADS = {
    "c": ALL_WORKLOADS,
    "reference": ALL_WORKLOADS,
    "micrograd": SCALAR_WORKLOADS,
    "micrograd-gcoff": SCALAR_WORKLOADS + ("demo-replay",),
    "torch": ("chain",) + TENSOR_WORKLOADS + ("mlp-replay",),
    "numpy": ("mlp", "matmul", "mlp-replay"),
}
# Workloads that multiply matrices (BLAS threads are set for them).
BLAS_WORKLOADS = TENSOR_WORKLOADS + ("mlp-replay",)

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


class OpsNeuron(Neuron):
    """micrograd's own neuron: ``sum((wi*xi for wi, xi in zip(w, x)), b)``, a
    node per multiply and per add (the dot-product Neuron makes one node)."""

    def __call__(self, x):
        act = builtins.sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act


class Layer(object):
    def __init__(self, engine, nin, nout, rng, nonlin=True, neuron=Neuron):
        self.neurons = [neuron(engine, nin, rng, nonlin=nonlin) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP(object):
    """micrograd's MLP; the last layer is linear. Same init order as micrograd.
    ``neuron``: Neuron (``engine.dot``) or OpsNeuron (micrograd's per-op sum)."""

    def __init__(self, engine, nin, nouts, seed=SEED, neuron=Neuron):
        rng = random.Random(seed)
        sz = [nin] + list(nouts)
        self.layers = [Layer(engine, sz[i], sz[i + 1], rng, nonlin=i != len(nouts) - 1,
                             neuron=neuron)
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
# Replay workloads: tapegrad.compile / tapegrad.record against the same engine eager


def _replay_api(engine):
    """``compile``/``record`` for this engine (the objects ``tapegrad.compile`` and
    ``tapegrad.reference.compile`` are)."""
    from . import _replay
    return _replay.build(engine)


DEMO_STYLES = ("ops", "dot")
_DEMO_NEURONS = {"ops": OpsNeuron, "dot": Neuron}
# phases of a demo-replay / mlp-replay step; "call" is forward + backward for eager
# steps and the replayed call for replay steps (which have no forward/backward apart)
_DEMO_REPLAY_PHASES = ("forward", "backward", "call", "zero_grad", "update")
_MLP_REPLAY_PHASES = ("forward", "backward", "call", "zero_grad", "step")


def _demo_data(seed=SEED, n_samples=N_SAMPLES):
    X, y = make_moons(n_samples, seed=seed)
    return X.tolist(), [float(v) for v in (y * 2 - 1)]   # labels -1 / +1


def _demo_replay_loss(engine, model, Xv, yv):
    """The demo's loss from inputs and labels that are Values already (as a
    replayed fn receives them), without the accuracy: reading ``score.data``
    inside a replayed fn would make a guard."""
    esum = engine.sum
    scores = list(map(model, Xv))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yv, scores)]
    data_loss = esum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * esum((p * p for p in model.parameters()))
    return data_loss + reg_loss


def _demo_replay_run(engine, replay, style, steps, seed=SEED, n_samples=N_SAMPLES,
                     gc_off=False):
    """Train the demo MLP (neurons of ``style``) for ``steps`` steps from fresh
    weights, eager or replayed (``replay``: the engine's compile/record).

    A step is ``model.zero_grad()``, the loss and its gradients (eager:
    ``loss = fn(Values of Xb, Values of yb); loss.backward()``; replay:
    ``loss = step(Xb, yb)``), then ``p.data -= lr * p.grad``. The replay's first
    call records fn: it is timed apart (``record_s``) and not in ``phases``.
    Returns ``{"phases": seconds summed over the timed steps, "timed_steps",
    "record_s", "losses": the loss of every step, "loss": after the last update,
    "nodes", "recordings"}``.
    """
    Xb, yb = _demo_data(seed, n_samples)
    Value = engine.Value
    model = MLP(engine, 2, [16, 16, 1], seed, neuron=_DEMO_NEURONS[style])
    params = model.parameters()

    def fn(Xv, yv):
        return _demo_replay_loss(engine, model, Xv, yv)

    step = replay.compile(fn) if replay is not None else None
    ph = dict.fromkeys(_DEMO_REPLAY_PHASES, 0.0)
    losses = []
    record_s = None
    for k in range(steps):
        with _gc_mode(gc_off):
            t0 = _now()
            model.zero_grad()
            t1 = _now()
            if step is not None:
                loss = step(Xb, yb)
                t2 = t3 = _now()
            else:
                loss = fn([list(map(Value, row)) for row in Xb], list(map(Value, yb)))
                t2 = _now()
                loss.backward()
                t3 = _now()
            learning_rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= learning_rate * p.grad
            t4 = _now()
        losses.append(float(loss.data))
        del loss
        if step is not None and k == 0:
            record_s = t4 - t0
        else:
            ph["zero_grad"] += t1 - t0
            ph["forward"] += t2 - t1
            ph["backward"] += t3 - t2
            ph["call"] += t3 - t1
            ph["update"] += t4 - t3
        if gc_off:
            gc.collect()
    with _gc_mode(True):  # untimed
        final = float(fn([list(map(Value, row)) for row in Xb], list(map(Value, yb))).data)
    return {"phases": ph, "timed_steps": steps - 1 if step is not None else steps,
            "record_s": record_s, "losses": losses, "loss": final,
            "nodes": step.tape.nodes if step is not None else None,
            "recordings": step.recordings if step is not None else None}


def _demo_replay_summary(runs, replay):
    """Median ms per step over runs, with the phases, losses and so on of the median run."""
    per = []
    for r in runs:
        n = r["timed_steps"]
        ph = {k: (v * 1e3 / n if (replay is None or k not in ("forward", "backward")) else None)
              for k, v in r["phases"].items()}
        per.append(dict(r, phases_ms=ph,
                        ms_per_step=builtins.sum(ph[k] for k in ("zero_grad", "call", "update"))))
    ordered = sorted(per, key=lambda r: r["ms_per_step"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    del out["phases"]
    out["ms_per_step"] = _median([r["ms_per_step"] for r in per])
    out["call_ms"] = _median([r["phases_ms"]["call"] for r in per])
    out["runs_ms_per_step"] = [r["ms_per_step"] for r in per]
    out["runs_call_ms"] = [r["phases_ms"]["call"] for r in per]
    out["record_ms"] = None if replay is None else _median([r["record_s"] * 1e3 for r in per])
    out["recordings"] = None if replay is None else builtins.max(r["recordings"] for r in per)
    out["final_losses"] = [r["loss"] for r in per]
    return out


def demo_replay(engine, style="ops", steps=FULL["demo_replay_steps"],
                repeats=FULL["demo_replay_repeats"], seed=SEED, n_samples=N_SAMPLES,
                gc_off=False, warmup_steps=2):
    """The demo step eager and replayed (``engine``'s own compile), neurons of
    ``style`` ("ops": micrograd's per-op sum, "dot": ``engine.dot``).

    After ``warmup_steps`` untimed steps of each (on separate models), runs
    ``repeats`` rounds of one eager and one replayed run of ``steps`` steps,
    each from the same initial weights. Returns ``{"eager": ..., "replay": ...}``,
    each with ``ms_per_step`` (median over runs), ``call_ms`` (forward +
    backward / the replayed call alone, per step), ``phases_ms``, ``losses``
    (every step's loss), ``loss`` (after the last update), and for the replay
    ``record_ms`` (its first call, which records fn), ``nodes`` and ``recordings``.
    """
    replay = _replay_api(engine)
    steps = builtins.max(2, steps)   # a replay's first step records: one more to time
    if warmup_steps:
        for rp in (None, replay):
            gc.collect()
            _demo_replay_run(engine, rp, style, builtins.max(2, warmup_steps), seed, n_samples,
                             gc_off)
    runs = {"eager": [], "replay": []}
    for _ in range(repeats):
        for name, rp in (("eager", None), ("replay", replay)):
            gc.collect()
            runs[name].append(_demo_replay_run(engine, rp, style, steps, seed, n_samples,
                                               gc_off))
    gc.collect()
    out = {name: _demo_replay_summary(runs[name], None if name == "eager" else replay)
           for name in runs}
    for m in out.values():
        m["steps"] = steps
        m["style"] = style
    return out


def graph_nodes(root, parents="_prev"):
    """How many Values a micrograd-style graph holds (every Value reachable from
    ``root`` through ``parents``, leaves and constants included)."""
    seen = {id(root)}
    stack = [root]
    keep = [root]   # ids stay unique while the objects live
    while stack:
        v = stack.pop()
        for c in getattr(v, parents):
            if id(c) not in seen:
                seen.add(id(c))
                keep.append(c)
                stack.append(c)
    return len(seen)


def _mlp_replay_case(api, replay, steps=FULL["mlp_steps"], seed=SEED, gc_off=False,
                     warmup_steps=10):
    """The mlp step replayed: ``step = replay.compile(lambda x, y: loss_fn(model(x),
    y))``; a step is ``opt.zero_grad(); step(x, y); opt.step()``. ``run()`` trains a
    fresh model (and a fresh compile: its first call, which records, is timed
    apart) for ``steps`` steps and returns ``{"us_per_step", "phases_us", "loss",
    "record_us", "nodes", "recordings"}``."""
    T, nn, optim = api.T, api.nn, api.optim
    X, Y, params0 = _mlp_data(seed)
    _, nin, nhid, nout = MLP_SHAPE
    x = T.from_numpy(X.copy())
    y = T.from_numpy(Y.copy())
    steps = builtins.max(2, steps)

    def make():
        model = nn.Sequential(nn.Linear(nin, nhid), nn.Tanh(), nn.Linear(nhid, nout))
        with T.no_grad():
            for p, a in zip(model.parameters(), params0):
                p.copy_(T.from_numpy(a.copy()))
        loss_fn = nn.MSELoss()
        opt = optim.SGD(model.parameters(), lr=MLP_LR)
        step = replay.compile(lambda xb, yb: loss_fn(model(xb), yb))
        return model, loss_fn, opt, step

    def train(n):
        model, loss_fn, opt, step = state = make()
        ph = {"zero_grad": 0.0, "call": 0.0, "step": 0.0}
        record = None
        with _gc_mode(gc_off):   # for the whole run, as in mlp
            for k in range(n):
                t0 = _now()
                opt.zero_grad()
                t1 = _now()
                step(x, y)
                t2 = _now()
                opt.step()
                t3 = _now()
                if k == 0:
                    record = t3 - t0
                    continue
                ph["zero_grad"] += t1 - t0
                ph["call"] += t2 - t1
                ph["step"] += t3 - t2
        return state, ph, record

    def warmup():
        if warmup_steps:
            train(builtins.max(2, warmup_steps))

    def run():
        (model, loss_fn, _, step), ph, record = train(steps)
        with T.no_grad():
            loss = float(loss_fn(model(x), y).item())
        n = steps - 1
        phases = dict.fromkeys(_MLP_REPLAY_PHASES)
        phases.update({k: v * 1e6 / n for k, v in ph.items()})
        return {"us_per_step": builtins.sum(ph.values()) * 1e6 / n, "phases_us": phases,
                "loss": loss, "record_us": record * 1e6, "nodes": step.tape.nodes,
                "recordings": step.recordings}

    return _Case(warmup, run)


def _mlp_replay_summary(runs, steps):
    """_mlp_summary, with the call's time and (for a replay) the record's."""
    out = _mlp_summary(runs, steps)
    ph = dict.fromkeys(_MLP_REPLAY_PHASES)
    ph.update(out["phases_us"])
    if ph["call"] is None:   # eager: the call is forward + backward
        ph["call"] = ph["forward"] + ph["backward"]
        calls = [r["phases_us"]["forward"] + r["phases_us"]["backward"] for r in runs]
    else:
        calls = [r["phases_us"]["call"] for r in runs]
        out["record_us"] = _median([r["record_us"] for r in runs])
        out["recordings"] = builtins.max(r["recordings"] for r in runs)
    out["phases_us"] = ph
    out["call_us"] = _median(calls)
    out["runs_call_us"] = calls
    return out


def mlp_replay(api, replay, steps=FULL["mlp_steps"], repeats=FULL["mlp_repeats"], seed=SEED,
               gc_off=False, warmup_steps=10):
    """The mlp step eager and replayed, interleaved. Returns ``{"eager": ...,
    "replay": ...}`` with ``us_per_step``, ``call_us``, ``phases_us``, ``loss``
    (after the last update) and, for the replay, ``record_us``, ``nodes`` and
    ``recordings``."""
    steps = builtins.max(2, steps)
    cases = [_mlp_case(api, steps, seed, gc_off, warmup_steps),
             _mlp_replay_case(api, replay, steps, seed, gc_off, warmup_steps)]
    runs = _interleave(cases, repeats)
    out = {"eager": _mlp_replay_summary(runs[0], steps),
           "replay": _mlp_replay_summary(runs[1], steps)}
    out["replay"]["timed_steps"] = steps - 1   # the first call records
    return out


def chain_replay(engine, n_ops=FULL["chain_ops"], repeats=FULL["chain_repeats"], warmup=2,
                 gc_off=False):
    """Record the chain once (``record(fn, 0.5, 0.7)``), then time ``tape.forward``
    and ``tape.backward`` apart, ``warmup + repeats`` times (a forward before
    every backward).

    Returns ``{"n_ops", "nodes", "forward_ns_per_node", "backward_ns_per_node",
    "backward_over_forward", "forward_ns", "backward_ns", "record_ns_per_node",
    "recordings", "check", "eager_check"}``: medians over the timed repeats, every
    repeat's figures, the time of the recording, ``(loss, dx, dy)`` of the replay
    and of the same engine eager (the chain workload's ``check``).
    """
    replay = _replay_api(engine)
    iters = builtins.max(1, n_ops // 4)
    n = 4 * iters

    def fn(x, y):
        for _ in range(iters):
            x = x * y
            x = x + y
            x = x.tanh()
            x = x ** 2
        return x

    eager_check = chain(engine, n, repeats=1, warmup=0)["check"]
    gc.collect()
    with _gc_mode(gc_off):
        t0 = _now()
        tape = replay.record(fn, 0.5, 0.7)
        record_s = _now() - t0
    nodes = tape.nodes or n   # the reference replays nothing: it runs fn again
    fwd, back = [], []
    out = None
    for r in range(warmup + repeats):
        gc.collect()
        with _gc_mode(gc_off):
            t0 = _now()
            out = tape.forward(0.5, 0.7)
            t1 = _now()
            tape.backward()
            t2 = _now()
        if r >= warmup:
            fwd.append((t1 - t0) * 1e9 / nodes)
            back.append((t2 - t1) * 1e9 / nodes)
    gx, gy = tape.grads
    check = (float(out.data), float(gx), float(gy))
    recordings = tape.recordings
    del tape, out
    gc.collect()
    f, b = _median(fwd), _median(back)
    return {"n_ops": n, "nodes": nodes, "forward_ns_per_node": f, "backward_ns_per_node": b,
            "backward_over_forward": b / f if f else float("nan"),
            "forward_ns": fwd, "backward_ns": back, "record_ns_per_node": record_s * 1e9 / nodes,
            "recordings": recordings, "check": check, "eager_check": eager_check}


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
            workloads = ENGINE_WORKLOADS.get(key, ENGINE_WORKLOADS.get(key.split("-")[0], ()))
        self.workloads = workloads
        self.version = version
        self.path = path


def _replay_row(row):
    """The row of ``row``'s engine replayed: label "c replay" ("c replay gc off")."""
    import copy
    out = copy.copy(row)
    out.label = row.key + " replay" + (" gc off" if row.gc_off else "")
    return out


def _micrograd_demo_nodes(engine, seed=SEED, n_samples=N_SAMPLES):
    """Values in one micrograd demo step's graph (loss as in ``_demo_loss``),
    inputs, weights and constants included."""
    Xb, yb = _demo_data(seed, n_samples)
    model = engine.make_mlp(2, [16, 16, 1], seed)
    with _gc_mode(True):
        loss, _ = _demo_loss(engine, model, Xb, yb)
        n = graph_nodes(loss)
        del loss, model
    gc.collect()
    return n


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
        blas=1, clock="wall", demo_replay_steps=FULL["demo_replay_steps"],
        demo_replay_repeats=FULL["demo_replay_repeats"]):
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
                    matmul_repeats, blas, clock, demo_replay_steps, demo_replay_repeats)
    finally:
        _now = old_clock


def _run(engines, chain_ops, chain_repeats, demo_steps, demo_repeats, peer_demo_repeats,
         peer_demo_warmup, workloads, gc_off_all, progress, op_block_s, op_repeats, mlp_steps,
         mlp_repeats, matmul_n, matmul_steps, matmul_repeats, blas, clock, demo_replay_steps,
         demo_replay_repeats):
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
              "loadavg_start": loadavg_start, "clock": clock,
              "demo_replay_steps": builtins.max(2, demo_replay_steps),
              "demo_replay_repeats": demo_replay_repeats}
    if builtins.any(w in BLAS_WORKLOADS for w in workloads):
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

    # Replay workloads: each engine eager and replayed (labels "c" and "c replay").
    def do_demo_replay(row):
        if row.key in ("c", "reference"):
            reps = demo_replay_repeats if row.key == "c" else \
                builtins.min(demo_replay_repeats, peer_demo_repeats)
            for style in DEMO_STYLES:
                say("demo-replay %s: %s eager and replayed ..." % (style, row.label))
                m = demo_replay(row.engine, style, demo_replay_steps, reps, gc_off=row.gc_off)
                recs = []
                for name, r in (("eager", row), ("replay", _replay_row(row))):
                    mm = m[name]
                    extra = dict(loss=mm["loss"], losses=mm["losses"],
                                 final_losses=mm["final_losses"], steps=mm["steps"],
                                 phases_ms=mm["phases_ms"], style=style, replay=name == "replay",
                                 eager_label=row.label)
                    if name == "replay":
                        extra.update(record_ms=mm["record_ms"], nodes=mm["nodes"],
                                     recordings=mm["recordings"])
                    recs.append(_record("demo-replay", "step " + style, r, mm["ms_per_step"],
                                        "ms/step", mm, runs=mm["runs_ms_per_step"], **extra))
                    recs.append(_record("demo-replay", "call " + style, r, mm["call_ms"],
                                        "ms/call", mm, runs=mm["runs_call_ms"], style=style,
                                        replay=name == "replay"))
                results.extend(recs)
            return
        # micrograd with gc off: micrograd's own demo step (its neuron is the ops style);
        # the demo workload's figure when it ran the same number of steps
        steps = builtins.max(2, demo_replay_steps)
        prev = next((r for r in results if r["workload"] == "demo" and r["label"] == row.label
                     and r["steps"] == steps), None)
        if prev is None:
            say("demo-replay: %s ..." % row.label)
            reps = builtins.min(demo_replay_repeats, peer_demo_repeats)
            m = demo(row.engine, steps, reps, gc_off=row.gc_off, warmup_steps=peer_demo_warmup)
            ms, runs, source = m["ms_per_step"], m["runs_ms_per_step"], None
        else:
            m, ms, runs, source = prev, prev["value"], prev["runs"], "demo"
        say("demo-replay: counting %s's graph ..." % row.label)
        nodes = _micrograd_demo_nodes(row.engine)
        call = m["phases_ms"]["forward"] + m["phases_ms"]["backward"]
        extra = dict(loss=m["loss"], final_losses=m["losses"], steps=steps,
                     phases_ms=m["phases_ms"], style="ops", replay=False, nodes=nodes,
                     measured_by=source)
        results.append(_record("demo-replay", "step ops", row, ms, "ms/step", {}, runs=runs,
                               **extra))
        results.append(_record("demo-replay", "call ops", row, call, "ms/call", {}, runs=[call],
                               style="ops", replay=False))

    def do_mlp_replay(row):
        if row.key in ("c", "reference"):
            say("mlp-replay: %s eager and replayed ..." % row.label)
            m = mlp_replay(row.tensor, _replay_api(row.engine), mlp_steps, mlp_repeats,
                           gc_off=row.gc_off)
        else:  # a peer: its eager mlp step
            say("mlp-replay: %s ..." % row.label)
            case = _mlp_case(None if row.key == "numpy" else row.tensor, mlp_steps,
                             gc_off=row.gc_off)
            m = {"eager": _mlp_replay_summary(_interleave([case], mlp_repeats)[0], mlp_steps)}
        recs = []
        for name, mm in m.items():
            r = row if name == "eager" else _replay_row(row)
            extra = dict(loss=mm["loss"], losses=mm["losses"], steps=mm["steps"],
                         phases_us=mm["phases_us"], replay=name == "replay",
                         eager_label=row.label)
            if name == "replay":
                extra.update(record_us=mm["record_us"], nodes=mm["nodes"],
                             recordings=mm["recordings"], timed_steps=mm["timed_steps"])
            recs.append(_record("mlp-replay", "step", r, mm["us_per_step"], "us/step", mm,
                                runs=mm["runs_us"], **extra))
            recs.append(_record("mlp-replay", "call", r, mm["call_us"], "us/call", mm,
                                runs=mm["runs_call_us"], replay=name == "replay"))
        results.extend(recs)

    def do_chain_replay(row):
        say("chain-replay: %s ..." % row.label)
        m = chain_replay(row.engine, chain_ops, chain_repeats, gc_off=row.gc_off)
        r = _replay_row(row)
        extra = dict(n_ops=m["n_ops"], nodes=m["nodes"], check=m["check"],
                     eager_check=m["eager_check"], recordings=m["recordings"],
                     record_ns_per_node=m["record_ns_per_node"],
                     backward_over_forward=m["backward_over_forward"], replay=True,
                     eager_label=row.label)
        results.append(_record("chain-replay", "forward", r, m["forward_ns_per_node"],
                               "ns/node", m, runs=m["forward_ns"], **extra))
        results.append(_record("chain-replay", "backward", r, m["backward_ns_per_node"],
                               "ns/node", m, runs=m["backward_ns"], **extra))

    def needs_numpy(w):
        return w not in ("chain", "chain-replay")

    have_numpy = True
    if builtins.any(needs_numpy(w) for w in workloads):
        try:
            import numpy  # noqa: F401  (make_moons and the tensor data need it)
        except ImportError:
            missing["numpy"] = "not installed (pip install numpy): only the chain runs"
            have_numpy = False
    doers = {"chain": do_chain, "demo": do_demo, "overhead": do_overhead, "mlp": do_mlp,
             "matmul": do_matmul, "demo-replay": do_demo_replay, "mlp-replay": do_mlp_replay,
             "chain-replay": do_chain_replay}

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
            if w in REPLAY_WORKLOADS:
                for row in todo:
                    try:
                        doers[w](row)
                    except Exception as exc:  # report it (a failure: exit status 1), run the others
                        missing["%s %s" % (row.label, w)] = "failed: %s: %s" % (
                            type(exc).__name__, exc)
                        if progress is not None:
                            progress("%s %s FAILED:\n%s" % (row.label, w,
                                                            traceback.format_exc().rstrip()))
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
    if builtins.any(w in BLAS_WORKLOADS for w in workloads):
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
    # replay workloads, eager rows and peers against the reference's eager row
    "demo-replay": 1e-6,
    "mlp-replay": 1e-4,
}
# A replay against the same engine eager: the same operations on the same numbers.
REPLAY_RTOL = {
    "demo-replay": 1e-12,   # float64: the loss at every step and after the last update
    "mlp-replay": 1e-6,     # float32: the loss after the last update
    "chain-replay": 1e-12,  # float64: the result and both gradients
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
        if w in REPLAY_WORKLOADS:
            continue
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
    return out + _replay_checks(results, by)


_REPLAY_WORDS = {
    "demo-replay": "demo-replay loss at every step and after the last update",
    "mlp-replay": "mlp-replay loss after the last step",
    "chain-replay": "chain-replay result and gradients",
}


def _replay_checks(results, by):
    """A replay computes what the same engine computes eagerly (REPLAY_RTOL) and
    records fn once; eager rows and peers agree with the reference (CHECK_RTOL)."""
    out = []
    for r in results:
        w = r["workload"]
        if w not in REPLAY_WORKLOADS or r["phase"].split(" ")[0] not in ("step", "forward"):
            continue
        if r.get("replay"):
            vs = r["eager_label"]
            if w == "chain-replay":
                d = builtins.max(_rel(a, b) for a, b in zip(r["check"], r["eager_check"]))
                what = "chain-replay out, dx, dy (%d nodes)" % r["nodes"]
            else:
                eager = by.get((w, r["phase"], vs))
                if eager is None:
                    continue
                if w == "demo-replay":
                    a, b = r["losses"] + [r["loss"]], eager["losses"] + [eager["loss"]]
                    d = builtins.max(_rel(x, y) for x, y in zip(a, b)) \
                        if len(a) == len(b) else math.inf
                    what = "demo-replay (%s) loss at each of %d steps and after the last" % (
                        r["style"], r["steps"])
                else:
                    d = _rel(r["loss"], eager["loss"])
                    what = "mlp-replay loss after %d steps" % r["steps"]
            out.append({"what": what, "engine": r["label"], "vs": vs + " (eager)",
                        "max_rel_diff": d, "recordings": r["recordings"],
                        "group": "%s, replay vs the same engine eager" % _REPLAY_WORDS[w],
                        "ok": d <= REPLAY_RTOL[w] and r["recordings"] == 1})
            continue
        base = next((b for b in ("reference", "c") if (w, r["phase"], b) in by), None)
        if base is None or base == r["label"]:
            continue
        d = _rel(r["loss"], by[(w, r["phase"], base)]["loss"])
        what = "%s (%s) loss after %d steps" % (w, r["phase"], r["steps"])
        out.append({"what": what, "engine": r["label"], "vs": base, "max_rel_diff": d,
                    "group": "%s final loss, eager, vs %s" % (w, base),
                    "ok": d <= CHECK_RTOL[w]})
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


_PHASE_ORDER = {"build": 0, "forward": 0, "backward": 1, "step": 0, "call": 1,
                "step ops": 0, "call ops": 1, "step dot": 2, "call dot": 3}


def _sort_key(r):
    phase = _PHASE_ORDER.get(r["phase"], r.get("n", 0))
    w = r["workload"]
    return (ALL_WORKLOADS.index(w) if w in ALL_WORKLOADS else len(ALL_WORKLOADS), phase)


def _target_note(r, values):
    key = (r["workload"], r["phase"])
    notes = []
    tgt = LABEL_TARGETS.get(key + (r["label"],))
    if tgt is not None:
        notes.append("target <= %g %s: %s" % (tgt, r["unit"].split("/")[0],
                                              "met" if r["value"] <= tgt else "MISSED"))
    rel = RELATIVE_TARGETS.get(key + (r["label"],))
    if rel is not None:
        phase, other, how, k = rel
        base = values.get((r["workload"], phase, other))
        if base and r["value"]:
            if how == "faster":
                notes.append("%s faster than %s (target >= %gx): %s" % (
                    _ratio(base / r["value"]), other, k,
                    "met" if base >= k * r["value"] else "MISSED"))
            else:
                notes.append("%s / %s %s (target <= %gx): %s" % (
                    r["phase"], phase, _ratio(r["value"] / base), k,
                    "met" if r["value"] <= k * base else "MISSED"))
    if notes:
        return "; ".join(notes)
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
    sizes = []
    if "demo-replay" in present:
        sizes.append("demo-replay: demo step eager and replayed (neurons: ops = micrograd's "
                     "per-op sum, dot = engine.dot), %d steps (the replay's first, which "
                     "records, timed apart), median of %d runs for c, %d for the others" % (
                         cfg["demo_replay_steps"], cfg["demo_replay_repeats"],
                         builtins.min(cfg["demo_replay_repeats"], cfg["peer_demo_repeats"])))
    if "mlp-replay" in present:
        sizes.append("mlp-replay: the mlp step eager and replayed, %d steps, median of %d runs"
                     % (cfg["mlp_steps"], cfg["mlp_repeats"]))
    if "chain-replay" in present:
        sizes.append("chain-replay: %d ops recorded once, forward and backward timed apart, "
                     "median of %d after 2 warm-up" % (cfg["chain_ops"], cfg["chain_repeats"]))
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
        notes.extend(_replay_notes(r))
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
             ("reference", "micrograd gc off"), ("reference", "torch"), ("reference", "numpy"),
             ("c replay", "c"), ("c replay", "reference replay"), ("c replay", "micrograd gc off"),
             ("c replay", "torch"), ("c replay", "numpy"), ("reference replay", "reference"))
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

    for w, unit, names, fmt1 in (
            ("demo-replay", "ms", _DEMO_REPLAY_PHASES, "%9.3f"),
            ("mlp-replay", "us", _MLP_REPLAY_PHASES, "%9.1f")):
        rs = [r for r in results if r["workload"] == w and r["phase"].startswith("step")]
        if not rs:
            continue
        lines.append("")
        lines.append("%s step by phase (%s per step; call = the replayed call, or eager forward "
                     "+ backward%s):" % (w, unit, "; micrograd's forward includes its inputs"
                                         if w == "demo-replay" else ""))
        key = "phases_ms" if w == "demo-replay" else "phases_us"
        lab = ["%s%s" % (r["label"], (" " + r["phase"].split(" ")[1]) if " " in r["phase"]
                         else "") for r in rs]
        wd = builtins.max(len(x) for x in lab + ["engine"])
        lines.append("  %-*s  %s" % (wd, "engine", "  ".join("%9s" % n for n in names)))
        for label, r in zip(lab, rs):
            ph = dict(r[key])
            if ph.get("call") is None and ph.get("forward") is not None:
                ph["call"] = ph["forward"] + ph["backward"]
            lines.append("  %-*s  %s" % (wd, label, "  ".join(
                fmt1 % ph[n] if ph.get(n) is not None else "%9s" % "-" for n in names)))
    chains = [r for r in results if r["workload"] == "chain-replay" and r["phase"] == "forward"]
    if chains:
        lines.append("")
        lines.append("chain-replay: gradient cost vs forward cost (ns per recorded node):")
        for r in chains:
            f, b = r["value"], r["value"] * r["backward_over_forward"]
            lines.append("  %s: forward %.2f, backward %.2f, backward / forward %.2fx, "
                         "(forward + backward) / forward %.2fx" % (
                             r["label"], f, b, r["backward_over_forward"],
                             1 + r["backward_over_forward"]))

    checks = report.get("checks", [])
    bad = [c for c in checks if not c["ok"]]
    if checks:
        lines.append("")
        for c in bad:
            extra = ""
            if "grad_max_abs_err" in c:
                extra = ", gradients' largest difference %.3g" % c["grad_max_abs_err"]
            if c.get("recordings") not in (None, 1):
                extra += ", fn recorded %d times instead of once" % c["recordings"]
            lines.append("CHECK FAILED: %s differs between %s and %s (relative difference "
                         "%.3g%s)" % (c["what"], c["engine"], c["vs"], c["max_rel_diff"], extra))
        ok = [c for c in checks if c["ok"]]
        words = {"chain": "chain result and gradients", "demo": "demo final loss",
                 "overhead": "overhead result and gradients", "mlp": "mlp final loss"}
        by_group = {}
        for w in ALL_WORKLOADS:
            for c in ok:
                if c["what"].split(" ")[0] == w:
                    g = c.get("group") or ("matmul" if w == "matmul" else
                                           "%s vs %s" % (words[w], c["vs"]))
                    by_group.setdefault(g, []).append(c)
        groups = []
        for g, cs in by_group.items():
            d = builtins.max(c["max_rel_diff"] for c in cs)
            engines = []
            for c in cs:
                if c["engine"] not in engines:
                    engines.append(c["engine"])
            if g == "matmul":
                groups.append("matmul vs float64 numpy: gradients exact, s within %.2g (%s)"
                              % (d, ", ".join(engines)))
            else:
                groups.append("%s: within %.2g (%s)" % (g, d, ", ".join(engines)))
        if groups:
            lines.append("checks passed (relative differences):")
            lines.extend("  " + g for g in groups)
    for name, why in sorted(report.get("missing", {}).items()):
        lines.append("not run: %s: %s" % (name, why))
    return "\n".join(lines)


def _replay_notes(r):
    """Notes of a replay workload's row: loss, graph size, recording time."""
    w, out = r["workload"], []
    if w == "demo-replay" and r["phase"].startswith("step"):
        out.append("loss %.6g" % r["loss"])
        if r.get("nodes"):
            out.append("%d nodes%s" % (r["nodes"], "" if r.get("replay") else
                                       " (micrograd's graph, leaves included)"))
        if r.get("record_ms") is not None:
            out.append("first call (records) %.1f ms" % r["record_ms"])
        if r.get("measured_by"):
            out.append("figure of the %s workload" % r["measured_by"])
    elif w == "mlp-replay" and r["phase"] == "step":
        out.append("loss %.7g" % r["loss"])
        if r.get("record_us") is not None:
            out.append("first call (records) %.0f us" % r["record_us"])
    elif w == "chain-replay" and r["phase"] == "forward":
        out.append("%d nodes; record %.1f ns/node" % (r["nodes"], r["record_ns_per_node"]))
    if r.get("recordings", 1) not in (None, 1):
        out.append("RECORDED %d TIMES" % r["recordings"])
    return out


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
                             "%(matmul_repeats)d, %(demo_replay_steps)d demo-replay steps x "
                             "%(demo_replay_repeats)d" % QUICK)
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
    parser.add_argument("--demo-replay-steps", type=int, default=None,
                        help="training steps per demo-replay run, the replay's recording "
                             "first call included (default %d)" % FULL["demo_replay_steps"])
    parser.add_argument("--demo-replay-repeats", type=int, default=None,
                        help="demo-replay runs for the compiled engine (default %d; the "
                             "reference and micrograd get --peer-demo-repeats)"
                             % FULL["demo_replay_repeats"])
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
    if any(why.startswith("failed") for why in report["missing"].values()):
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
