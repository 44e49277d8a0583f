"""Benchmark workloads for tapegrad's scalar engines, and the table they print.

Every workload is a function that takes an *engine*: anything with ``Value``,
``sum`` and ``dot`` (``tapegrad._engine``, ``tapegrad.reference``, or an adapter
for a peer such as micrograd or PyTorch), runs it from Python the way a user
would, and returns a dict of measurements. All engines are timed in one
process with ``time.perf_counter``, so the table can show ratios.

Workloads
---------
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

Garbage collection is left as the user has it (enabled) except in the rows
labelled ``gc off``: there ``gc.disable()`` is in force during the timed
region and the garbage is collected, untimed, between steps and repeats (the
figure is then the cost of the work itself, without the collector).
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

# The figures issue 2 asks for (compiled engine), and its rule for the reference.
TARGETS = {
    ("chain", "build"): 40.0,     # ns per op
    ("chain", "backward"): 8.0,   # ns per node
    ("demo", "step"): 6.0,        # ms per step
}

# Sizes. A 100-step demo run is itself an average over 100 steps; peers get
# one run by default (micrograd with gc enabled needs minutes for one).
FULL = {"chain_ops": 100_000, "chain_repeats": 5, "demo_steps": 100, "demo_repeats": 3,
        "peer_demo_repeats": 1}
QUICK = {"chain_ops": 20_000, "chain_repeats": 3, "demo_steps": 5, "demo_repeats": 1,
         "peer_demo_repeats": 1}

ALL_ENGINES = ("c", "reference", "micrograd", "torch")

SEED = 1337          # micrograd's demo.ipynb seeds numpy and random with 1337
N_SAMPLES = 100
NOISE = 0.1
ALPHA = 1e-4


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
            t0 = perf_counter()
            for _ in range(iters):
                x = x * y
                x = x + y
                x = x.tanh()
                x = x ** 2
            t1 = perf_counter()
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
    t0 = perf_counter()
    root.backward()
    return perf_counter() - t0


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
                t0 = perf_counter()
                total_loss, acc = _demo_loss(engine, model, Xb, yb)
                t1 = perf_counter()
                model.zero_grad()
                t2 = perf_counter()
                total_loss.backward()
                t3 = perf_counter()
                learning_rate = 1.0 - 0.9 * k / 100
                for p in model.parameters():
                    p.data -= learning_rate * p.grad
                t4 = perf_counter()
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
# Engines and peers


class Row(object):
    """One engine as a row of the table: the engine object and the gc mode."""

    def __init__(self, key, label, engine, gc_off=False, workloads=("chain", "demo"),
                 version="", path=""):
        self.key = key
        self.label = label
        self.engine = engine
        self.gc_off = gc_off
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


def _torch_engine():
    import torch

    def Value(x):
        return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)

    eng = types.SimpleNamespace(Value=Value, sum=None, dot=None, ENGINE="torch")
    return eng, torch.__version__, os.path.dirname(torch.__file__)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return ""


def load_rows(engines=ALL_ENGINES, gc_off_all=False):
    """The rows to run, in order, and ``{name: reason}`` for engines not available.

    Peers (micrograd, torch) are imported only here, and torch last, so that
    importing it does not change the heap the other engines are timed with.
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
                                path=getattr(_engine, "__file__", "")))
        elif name == "reference":
            from . import reference
            modes = (False, True) if gc_off_all else (False,)
            for off in modes:
                rows.append(Row("reference", "reference" + (" gc off" if off else ""),
                                reference, off,
                                path=os.path.dirname(getattr(reference, "__file__", ""))))
        elif name == "micrograd":
            try:
                eng, ver, path = _micrograd_engine()
            except ImportError as exc:
                missing["micrograd"] = "not installed (pip install micrograd==0.1.0): %s" % exc
                continue
            rows.append(Row("micrograd", "micrograd", eng, False, version=ver, path=path))
            rows.append(Row("micrograd-gcoff", "micrograd gc off", eng, True,
                            version=ver, path=path))
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
        peer_demo_repeats=FULL["peer_demo_repeats"], workloads=("chain", "demo"),
        gc_off_all=False, progress=None):
    """Run the workloads on every available engine. Returns a JSON-able dict."""
    def say(msg):
        if progress is not None:
            progress(msg)

    rows, missing = load_rows([e for e in engines if e != "torch"], gc_off_all)
    results = []
    config = {"engines": list(engines), "chain_ops": 4 * max(1, chain_ops // 4),
              "chain_repeats": chain_repeats, "demo_steps": demo_steps,
              "demo_repeats": demo_repeats, "peer_demo_repeats": peer_demo_repeats,
              "workloads": list(workloads),
              "seed": SEED, "n_samples": N_SAMPLES, "noise": NOISE}

    def do_chain(row):
        say("chain: %s ..." % row.label)
        m = chain(row.engine, chain_ops, chain_repeats, gc_off=row.gc_off)
        results.append(_record("chain", "build", row, m["build_ns_per_op"], "ns/op", m,
                               runs=m["build_ns"]))
        results.append(_record("chain", "backward", row, m["backward_ns_per_node"],
                               "ns/node", m, runs=m["backward_ns"]))

    if "chain" in workloads:
        for row in rows:
            if "chain" in row.workloads:
                do_chain(row)
    if "demo" in workloads:
        try:
            import numpy  # noqa: F401  (make_moons needs it)
            have_numpy = True
        except ImportError:
            missing["demo"] = "numpy not installed (pip install numpy): demo skipped"
            have_numpy = False
        if have_numpy:
            for row in rows:
                if "demo" in row.workloads:
                    say("demo: %s ..." % row.label)
                    reps = demo_repeats
                    if row.key not in ("c", "reference"):
                        reps = builtins.min(demo_repeats, peer_demo_repeats)
                    m = demo(row.engine, demo_steps, reps, gc_off=row.gc_off)
                    results.append(_record("demo", "step", row, m["ms_per_step"], "ms/step",
                                           m, runs=m["runs_ms_per_step"]))
    if "torch" in engines and "chain" in workloads:
        try:
            eng, ver, path = _torch_engine()
        except ImportError as exc:
            missing["torch"] = "not installed: %s" % exc
        else:
            do_chain(Row("torch", "torch", eng, False, workloads=("chain",),
                         version=ver, path=path))

    return {"env": environment(), "config": config, "results": results,
            "missing": missing, "checks": _checks(results)}


def _record(workload, phase, row, value, unit, m, runs):
    rec = {"workload": workload, "phase": phase, "engine": row.key, "label": row.label,
           "repeats": len(runs),
           "gc": "off" if row.gc_off else "on", "value": value, "unit": unit,
           "runs": runs, "version": row.version, "path": row.path}
    if workload == "chain":
        rec["n_ops"] = m["n_ops"]
        rec["check"] = m["check"]
    else:
        for k in ("loss", "accuracy", "last_step_loss", "phases_ms", "steps", "params",
                  "losses"):
            rec[k] = m[k]
    return rec


def _rel(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _checks(results):
    """Do the engines compute the same numbers? Compared with the reference."""
    out = []
    by = {}
    for r in results:
        by[(r["workload"], r["phase"], r["label"])] = r
    base_label = "reference" if any(r["label"] == "reference" for r in results) else None
    if base_label is None:
        return out
    for r in results:
        if r["label"] == base_label:
            continue
        if r["workload"] == "chain" and r["phase"] == "build":
            ref = by.get(("chain", "build", base_label))
            if ref:
                d = builtins.max(_rel(a, b) for a, b in zip(r["check"], ref["check"]))
                out.append({"what": "chain out.data, x.grad, y.grad", "engine": r["label"],
                            "max_rel_diff": d, "ok": d <= 1e-9})
        if r["workload"] == "demo":
            ref = by.get(("demo", "step", base_label))
            if ref:
                d = _rel(r["loss"], ref["loss"])
                out.append({"what": "demo loss after %d steps" % r["steps"],
                            "engine": r["label"], "max_rel_diff": d, "ok": d <= 1e-6})
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


def format_table(report):
    env, cfg, results = report["env"], report["config"], report["results"]
    lines = []
    lines.append("tapegrad %s benchmark: Python %s (%s), %s, %s" % (
        env["tapegrad"], env["python"], env["implementation"], env["machine"],
        env.get("cpu") or "?"))
    sizes = []
    if any(r["workload"] == "chain" for r in results):
        sizes.append("chain: %d ops, median of %d runs after 2 warm-up runs" % (
            cfg["chain_ops"], cfg["chain_repeats"]))
    if any(r["workload"] == "demo" for r in results):
        sizes.append("demo: %d steps, median of %d runs (%d for peers)" % (
            cfg["demo_steps"], cfg["demo_repeats"],
            builtins.min(cfg["demo_repeats"], cfg["peer_demo_repeats"])))
    if sizes:
        lines.append("; ".join(sizes))
    lines.append("gc enabled (as the user has it) unless the row says gc off: then disabled "
                 "while timed, garbage collected untimed")
    versions = []
    for r in results:
        v = "%s %s" % (r["engine"].split("-")[0], r["version"])
        if r["version"] and v not in versions:
            versions.append(v)
    if versions:
        lines.append("peers: " + ", ".join(versions))
    lines.append("")
    order = [("chain", "build"), ("chain", "backward"), ("demo", "step")]
    results = sorted(results, key=lambda r: order.index((r["workload"], r["phase"])))

    values = {}
    for r in results:
        values[(r["workload"], r["phase"], r["label"])] = r["value"]

    header = ("workload", "engine", "figure", "time / c", "time / ref", "notes")
    table = []
    for r in results:
        key = (r["workload"], r["phase"])
        c = values.get(key + ("c",))
        ref = values.get(key + ("reference",))
        label = r["label"]
        notes = []
        if r["label"] == "c" and key in TARGETS:
            tgt = TARGETS[key]
            notes.append("target <= %g %s: %s" % (tgt, r["unit"],
                                                   "met" if r["value"] <= tgt else "MISSED"))
        if r["workload"] == "demo":
            notes.append("loss %.6g acc %.0f%%" % (r["loss"], 100 * r["accuracy"]))
        table.append((
            "%s %s" % (r["workload"], r["phase"]), label, _fmt_value(r["value"], r["unit"]),
            _ratio(r["value"] / c) if c else "", _ratio(r["value"] / ref) if ref else "",
            "; ".join(notes)))
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
             ("c", "torch"), ("reference", "micrograd"), ("reference", "micrograd gc off"))
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

    bad = [c for c in report.get("checks", []) if not c["ok"]]
    if report.get("checks"):
        lines.append("")
        if bad:
            for c in bad:
                lines.append("CHECK FAILED: %s differs between %s and reference "
                             "(relative difference %.3g)" % (c["what"], c["engine"],
                                                             c["max_rel_diff"]))
        else:
            what = sorted(set(c["what"].split(" ")[0] for c in report["checks"]))
            lines.append("checks: every engine agrees with the reference on the %s "
                         "(max relative difference %.2g)" % (
                             " and ".join({"chain": "chain's result and gradients",
                                           "demo": "demo's final loss"}[w] for w in what),
                             builtins.max(c["max_rel_diff"] for c in report["checks"])))
    for name, why in sorted(report.get("missing", {}).items()):
        lines.append("not run: %s: %s" % (name, why))
    return "\n".join(lines)


def _speed(x):
    if x >= 1:
        return "%s faster" % _ratio(x)
    return "%s slower" % _ratio(1 / x)


# ----------------------------------------------------------------------------
# Command line (shared by `python -m tapegrad bench` and benchmarks/bench_scalar.py)


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="short run: %(chain_ops)d-op chain x %(chain_repeats)d, "
                             "%(demo_steps)d demo steps x %(demo_repeats)d" % QUICK)
    parser.add_argument("--engines", default=",".join(ALL_ENGINES),
                        help="comma-separated subset of %s (default: all; missing peers "
                             "are left out)" % ",".join(ALL_ENGINES))
    parser.add_argument("--workloads", default="chain,demo",
                        help="comma-separated subset of chain,demo (default: both)")
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
    parser.add_argument("--gc-off-all", action="store_true",
                        help="also time tapegrad's engines with gc disabled")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as JSON to PATH (or to stdout instead of "
                             "the table when no PATH is given)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser


def _single_threaded_blas():
    """numpy is only used to make the data set; keep its BLAS thread pool from
    spinning on the cores the benchmark runs on (set before numpy's import)."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


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
        if w not in ("chain", "demo"):
            sys.stderr.write("unknown workload %r (choose from chain,demo)\n" % w)
            return 2
    progress = None if args.quiet else (lambda m: (sys.stderr.write(m + "\n"),
                                                   sys.stderr.flush()))
    t0 = time.time()
    report = run(engines=engines, workloads=workloads, gc_off_all=args.gc_off_all,
                 progress=progress, **sizes)
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
    return 0


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(
        prog=prog, description="Time tapegrad's compiled engine against the pure-Python "
        "reference and, where installed, micrograd and PyTorch.")
    add_arguments(parser)
    if argv is None:
        argv = sys.argv[1:]
    command = " ".join([prog or os.path.basename(sys.argv[0])] + list(argv))
    return main_from_args(parser.parse_args(argv), command)
