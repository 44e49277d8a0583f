"""Scalar workloads: engines with ``Value``, ``sum`` and ``dot``
(``tapegrad._engine``, ``tapegrad.reference``, or an adapter for micrograd or
PyTorch), run from Python the way a user would.

chain
    Build one expression of ``n_ops`` scalar operations from Python,
    repeating ``x = x*y; x = x + y; x = x.tanh(); x = x**2`` from ``x = 0.5,
    y = 0.4`` (``settings.CHAIN_START``: values stay in [0.19, 0.5], gradients are
    normal or exactly 0), then call ``backward()`` on the result. Reports ns per
    op for the build and ns per node for the backward sweep (median of repeats,
    after two untimed warm-up runs).
chain relu (the compiled engine)
    The floor: ``y = (y*w + 0.1).relu() ** 2`` built with Values and computed on
    plain Python floats in the same process, runs interleaved; rows ``c`` and
    ``plain floats``, and the median ratio of the pairs in the notes.
chain subnormal (engines with ``set_flush_denormal``)
    The same chain from ``y = 0.7`` (``CHAIN_SUBNORMAL_START``), whose gradients
    stay subnormal along the sweep: its backward timed with subnormals kept and
    flushed (``set_flush_denormal(False)`` / ``(True)``, runs interleaved).
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
"""

import builtins
import gc
import random

from . import timing
from .settings import (ALPHA, CHAIN_START, CHAIN_SUBNORMAL_START, FULL, N_SAMPLES, NOISE,
                       SEED)
from .timing import gc_mode, median, run_with_deep_stack


def chain(engine, n_ops=FULL.chain_ops, repeats=FULL.chain_repeats, warmup=2,
          gc_off=False, start=CHAIN_START):
    """Build ``n_ops`` ops (``* + tanh **2`` repeated, from ``(x0, y) = start``) and
    backward through them.

    Returns ``{"n_ops", "build_ns_per_op", "backward_ns_per_node", "build_ns",
    "backward_ns", "check"}``: the medians over ``repeats`` timed runs, every
    run's figures, and ``(out.data, x.grad, y.grad)`` to compare engines.
    The ``warmup`` untimed runs come first: the first runs of a process pay
    one-time costs (growing buffers, first touch of fresh pages).
    """
    now = timing.now
    Value = engine.Value
    iters = max(1, n_ops // 4)
    n = 4 * iters
    deep = getattr(engine, "recursive_backward", False)
    build, back = [], []
    check = None
    for r in range(warmup + repeats):
        gc.collect()
        with gc_mode(gc_off):
            x0 = Value(start[0])
            y = Value(start[1])
            x = x0
            t0 = now()
            for _ in range(iters):
                x = x * y
                x = x + y
                x = x.tanh()
                x = x ** 2
            t1 = now()
            if deep:
                dt = run_with_deep_stack(lambda root=x: _timed_backward(root), n + 10)
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
        "build_ns_per_op": median(build),
        "backward_ns_per_node": median(back),
        "build_ns": build,
        "backward_ns": back,
        "check": check,
    }


def chain_subnormal(engine, n_ops=FULL.chain_ops, repeats=FULL.chain_repeats, warmup=2,
                    gc_off=False):
    """The chain from ``CHAIN_SUBNORMAL_START`` (gradients subnormal), its runs with
    ``engine.set_flush_denormal(False)`` and ``(True)`` interleaved; the mode is off
    afterwards. Returns ``{"kept": chain(...), "flushed": chain(...)}`` (their
    ``backward_ns`` are the interleaved runs), or None where the CPU cannot flush."""
    if not engine.set_flush_denormal(False):
        return None
    runs = {"kept": [], "flushed": []}
    try:
        for r in range(warmup + repeats):
            for mode, name in ((False, "kept"), (True, "flushed")):
                engine.set_flush_denormal(mode)
                m = chain(engine, n_ops, 1, 0, gc_off, CHAIN_SUBNORMAL_START)
                if r >= warmup:
                    runs[name].append(m)
    finally:
        engine.set_flush_denormal(False)
    out = {}
    for name, ms in runs.items():
        m = dict(ms[-1])
        for k in ("build_ns", "backward_ns"):
            m[k] = [x[k][0] for x in ms]
        m["build_ns_per_op"] = median(m["build_ns"])
        m["backward_ns_per_node"] = median(m["backward_ns"])
        out[name] = m
    return out


def relu_chain(engine, n_ops=FULL.chain_ops, repeats=FULL.chain_repeats, warmup=2,
               gc_off=False):
    """The floor: ``y = (y*w + 0.1).relu() ** 2`` repeated (4 ops each), built with
    ``engine.Value`` and computed on plain Python floats (relu as ``z if z > 0.0
    else 0.0``, the interpreter's cheapest form), runs interleaved.

    Returns ``{"n_ops", "build_ns_per_op", "floats_ns_per_op", "ratio", "build_ns",
    "floats_ns", "ratios", "check"}``: medians over ``repeats`` pairs of runs (after
    ``warmup`` pairs), every run, the median of the per-pair ratios Value / floats,
    and both results (equal: the same float operations)."""
    now = timing.now
    Value = engine.Value
    iters = max(1, n_ops // 4)
    build, floats, ratios = [], [], []
    check = None
    for r in range(warmup + repeats):
        gc.collect()
        with gc_mode(gc_off):
            y, w = Value(0.5), Value(0.9)
            t0 = now()
            for _ in range(iters):
                y = (y * w + 0.1).relu() ** 2
            t1 = now()
            yf, wf = 0.5, 0.9
            t2 = now()
            for _ in range(iters):
                z = yf * wf + 0.1
                yf = (z if z > 0.0 else 0.0) ** 2
            t3 = now()
            check = (float(y.data), yf)
            del y, w
        if r >= warmup:
            build.append((t1 - t0) * 1e9 / (4 * iters))
            floats.append((t3 - t2) * 1e9 / (4 * iters))
            ratios.append((t1 - t0) / (t3 - t2))
    gc.collect()
    return {"n_ops": 4 * iters, "build_ns_per_op": median(build),
            "floats_ns_per_op": median(floats), "ratio": median(ratios), "build_ns": build,
            "floats_ns": floats, "ratios": ratios, "check": check}


def _timed_backward(root):
    now = timing.now
    t0 = now()
    root.backward()
    return now() - t0


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


def demo_loss(engine, model, Xb, yb):
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


def demo(engine, steps=FULL.demo_steps, repeats=FULL.demo_repeats, seed=SEED,
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
    now = timing.now
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
            with gc_mode(gc_off):
                t0 = now()
                total_loss, acc = demo_loss(engine, model, Xb, yb)
                t1 = now()
                model.zero_grad()
                t2 = now()
                total_loss.backward()
                t3 = now()
                learning_rate = 1.0 - 0.9 * k / 100
                for p in model.parameters():
                    p.data -= learning_rate * p.grad
                t4 = now()
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
        with gc_mode(True):  # untimed: no need to wait for the collector here
            final_loss, final_acc = demo_loss(engine, model, Xb, yb)
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
    out["ms_per_step"] = median([r["ms_per_step"] for r in runs])
    out["runs_ms_per_step"] = [r["ms_per_step"] for r in runs]
    out["steps"] = steps
    out["losses"] = [r["loss"] for r in runs]
    return out


def demo_data(seed=SEED, n_samples=N_SAMPLES):
    X, y = make_moons(n_samples, seed=seed)
    return X.tolist(), [float(v) for v in (y * 2 - 1)]   # labels -1 / +1

