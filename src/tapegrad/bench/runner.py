"""Running a benchmark: every workload of a ``BenchConfig`` on every engine
available, into a JSON-able report (``run``)."""

from __future__ import annotations

import builtins
import copy
import time
import traceback
from typing import Callable, Optional

from . import machine, timing
from .checks import run_checks
from .peers import Row, load_rows, replay_row, torch_engine
from .replay import (DEMO_STYLES, chain_replay, demo_replay, micrograd_demo_nodes,
                     mlp_replay, mlp_replay_summary, replay_api)
from .scalar import chain, chain_subnormal, demo, relu_chain
from .settings import (ALL_WORKLOADS, BLAS_WORKLOADS, ENGINE_WORKLOADS, HIGHER_WORKLOADS,
                       OVERHEAD_SIZES, REPLAY_WORKLOADS, SCALAR_WORKLOADS, BenchConfig)
from .charlstm import charlstm_case
from .makemore import makemore_case
from .makemore3 import makemore3_case
from .mnist import mnist_case
from .optim import adamw_case, adamw_summary
from .rng import randn_case, randn_summary
from .tensor import matmul_case, matmul_summary, mlp_case, mlp_summary, overhead
from .timing import interleave, training_summary


def run(config: Optional[BenchConfig] = None,
        progress: Optional[Callable[[str], object]] = None) -> dict:
    """Run the workloads of ``config`` (a ``BenchConfig``; default: everything,
    full sizes) on every available engine. Returns a JSON-able dict
    ``{"env", "config", "results", "missing", "checks"}``. ``progress``: a
    function called with a line of text as each workload starts (with how many
    runs are started of how many, and an estimate of the time left)."""
    config = config or BenchConfig()
    old_clock = timing.now
    timing.set_clock(config.clock)
    try:
        return _run(config, progress)
    finally:
        timing.now = old_clock


class _Session(object):
    """One run in progress: its config and sizes, the results so far and the
    engines or workloads that could not run (``missing``: name -> reason)."""

    def __init__(self, config, progress, missing):
        self.config = config
        self.sizes = config.sizes
        self.progress = progress
        self.results = []
        self.missing = missing
        self.total = 0          # (workload, engine) runs planned
        self.started = 0        # of them started
        self.t0 = 0.0           # when the first started

    def begin(self, n=1):
        """n (workload, engine) runs start now."""
        if self.started == 0:
            self.t0 = time.perf_counter()
        self.started += n

    def say(self, msg):
        if self.progress is not None:
            self.progress(msg + self.eta())

    def eta(self):
        """``  [3/12, about 1m05s left]``: the mean time of the runs done so far
        times the runs not done; empty before any run ends."""
        done = self.started - 1
        if self.total <= 0 or done <= 0:
            return ""
        left = (time.perf_counter() - self.t0) / done * builtins.max(0, self.total - done)
        return "  [%d/%d, about %dm%02ds left]" % (builtins.min(self.started, self.total),
                                                   self.total, left // 60, left % 60)

    def add(self, workload, phase, row, value, unit, m, runs, **extra):
        self.results.append(_record(workload, phase, row, value, unit, m, runs, **extra))


def _run(config, progress):
    loadavg_start = machine.loadavg()
    rows, missing = load_rows([e for e in config.engines if e != "torch"], config.gc_off_all)
    s = _Session(config, progress, missing)
    config_json = config.as_json(loadavg_start)
    workloads = config.workloads
    if builtins.any(w in BLAS_WORKLOADS for w in workloads):
        machine.load_blas_libraries()
        machine.blas_threads(config.blas)
    have_numpy = True
    if builtins.any(_needs_numpy(w) for w in workloads):
        try:
            import numpy  # noqa: F401  (make_moons and the tensor data need it)
        except ImportError:
            missing["numpy"] = "not installed (pip install numpy): only the chain runs"
            have_numpy = False
    torch_runs = builtins.sum(w in ENGINE_WORKLOADS["torch"] for w in workloads) \
        if "torch" in config.engines else 0
    s.total = builtins.sum(len(_todo(s, w, rows, have_numpy)) for w in ALL_WORKLOADS) \
        + torch_runs
    _run_rows(s, rows, have_numpy)
    if "torch" in config.engines and builtins.any(w in ENGINE_WORKLOADS["torch"]
                                                  for w in workloads):
        try:
            eng, tensor, ver, path = torch_engine(config.blas)
        except ImportError as exc:
            missing["torch"] = "not installed: %s" % exc
        else:
            _run_rows(s, [Row("torch", "torch", eng, False, version=ver, path=path,
                              tensor=tensor)], have_numpy)
    env = machine.environment()
    if builtins.any(w in BLAS_WORKLOADS for w in workloads):
        env["blas_threads"] = machine.blas_threads()
    return {"env": env, "config": config_json, "results": s.results,
            "missing": missing, "checks": run_checks(s.results)}


def _needs_numpy(w):
    return w not in ("chain", "chain-replay")


# mlp and matmul run their engines interleaved (one run of each in turn)
_INTERLEAVED = ("mlp", "matmul", "adamw", "makemore", "makemore3", "mnist", "randn",
                "char-lstm")


def _run_rows(s, rows, have_numpy):
    """Every workload of the run, in order, on the rows that run it. A workload
    that fails on an engine is reported in ``s.missing`` and the others go on."""
    for w in ALL_WORKLOADS:
        todo = _todo(s, w, rows, have_numpy)
        if not todo:
            continue
        doer = _DOERS[w]
        if w in SCALAR_WORKLOADS:
            for row in todo:
                s.begin()
                doer(s, row)
            continue
        if w in REPLAY_WORKLOADS or w in HIGHER_WORKLOADS:
            for row in todo:
                s.begin()
                try:
                    doer(s, row)
                except Exception as exc:  # report it (a failure: exit status 1), run the others
                    s.missing["%s %s" % (row.label, w)] = "failed: %s: %s" % (
                        type(exc).__name__, exc)
                    s.say("%s %s FAILED:\n%s" % (row.label, w, traceback.format_exc().rstrip()))
            continue
        groups = [todo] if w in _INTERLEAVED else [[row] for row in todo]
        for group in groups:
            s.begin(len(group))
            while group:
                try:
                    doer(s, group if w in _INTERLEAVED else group[0])
                    break
                except Exception as exc:  # report it, run the others
                    bad = _failing_row(w, group)
                    s.missing["%s %s" % (bad.label, w)] = "failed: %s: %s" % (
                        type(exc).__name__, exc)
                    group = [row for row in group if row is not bad]


def _todo(s, w, rows, have_numpy):
    """The rows that run workload w in this session."""
    if w not in s.config.workloads or (_needs_numpy(w) and not have_numpy):
        return []
    return [row for row in rows if w in row.workloads]


def _failing_row(workload, rows):
    """The row of ``rows`` whose engine cannot run ``workload`` (a tiny trial
    run of each); the first row if every trial passes."""
    for row in rows:
        api = None if row.key == "numpy" else row.tensor
        try:
            if workload == "mlp":
                mlp_case(api, 1, warmup_steps=0).run()
            elif workload == "matmul":
                matmul_case(api, 8, 1, warmup_steps=0).run()
            elif workload == "overhead":
                overhead(api, 1, 0.0, 1)
            elif workload == "adamw":
                adamw_case(api, 1, warmup_steps=0).run()
            elif workload == "makemore":
                makemore_case(api, 1, warmup_steps=0).run()
            elif workload == "makemore3":
                makemore3_case(api, 1, warmup_steps=0).run()
            elif workload == "mnist":
                mnist_case(api, 1, warmup_steps=0).run()
            elif workload == "randn":
                randn_case(api, 16, 1).run()
            elif workload == "char-lstm":
                charlstm_case(api, 1, warmup_steps=0).run()
        except Exception:
            return row
    return rows[0]


def _record(workload, phase, row, value, unit, m, runs, **extra):
    """One result of the report: a row's figure for a workload phase."""
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


# ----------------------------------------------------------------------------
# Scalar and tensor workloads


def _do_chain(s, row):
    s.say("chain: %s ..." % row.label)
    m = chain(row.engine, s.sizes.chain_ops, s.sizes.chain_repeats, gc_off=row.gc_off)
    s.add("chain", "build", row, m["build_ns_per_op"], "ns/op", m, runs=m["build_ns"])
    s.add("chain", "backward", row, m["backward_ns_per_node"], "ns/node", m,
          runs=m["backward_ns"])
    if row.key == "c":
        _do_relu_chain(s, row)
    if row.key == "c" and hasattr(row.engine, "set_flush_denormal"):
        _do_chain_subnormal(s, row)


def _do_relu_chain(s, row):
    """The floor: the relu chain with Values (row ``c``) and on plain Python floats
    (row ``plain floats``), interleaved; the median ratio of the pairs in a note."""
    s.say("chain relu: %s and plain floats ..." % row.label)
    m = relu_chain(row.engine, s.sizes.chain_ops, s.sizes.chain_repeats, gc_off=row.gc_off)
    floats = copy.copy(row)
    floats.key = floats.label = "plain floats"
    floats.version = floats.path = ""
    s.add("chain", "build relu", row, m["build_ns_per_op"], "ns/op", m, runs=m["build_ns"],
          ratios=m["ratios"], note="%.2fx plain floats (median of %d interleaved pairs)" % (
              m["ratio"], len(m["ratios"])))
    s.add("chain", "build relu", floats, m["floats_ns_per_op"], "ns/op", m,
          runs=m["floats_ns"])


def _do_chain_subnormal(s, row):
    """The underflowing chain's backward, subnormals kept (row ``c``) and flushed
    (row ``c flush``)."""
    s.say("chain subnormal: %s, subnormals kept and flushed ..." % row.label)
    ms = chain_subnormal(row.engine, s.sizes.chain_ops, s.sizes.chain_repeats,
                         gc_off=row.gc_off)
    if ms is None:
        s.missing["%s chain subnormal" % row.label] = "this CPU cannot flush subnormals"
        return
    flushed = copy.copy(row)
    flushed.label = row.label + " flush"
    for name, r in (("kept", row), ("flushed", flushed)):
        m = ms[name]
        s.add("chain", "backward subnormal", r, m["backward_ns_per_node"], "ns/node", m,
              runs=m["backward_ns"])


def _do_demo(s, row):
    s.say("demo: %s ..." % row.label)
    reps, warm = s.sizes.demo_repeats, 2
    if row.key not in ("c", "reference"):
        # micrograd with gc on needs seconds per step: fewer runs (and, with
        # --quick, no warm-up steps)
        reps = builtins.min(s.sizes.demo_repeats, s.sizes.peer_demo_repeats)
        warm = s.sizes.peer_demo_warmup
    m = demo(row.engine, s.sizes.demo_steps, reps, gc_off=row.gc_off, warmup_steps=warm)
    s.add("demo", "step", row, m["ms_per_step"], "ms/step", m, runs=m["runs_ms_per_step"])


def _do_overhead(s, row):
    recs = []
    for n in OVERHEAD_SIZES:
        s.say("overhead n=%d: %s ..." % (n, row.label))
        m = overhead(row.tensor, n, s.sizes.op_block_s, s.sizes.op_repeats, gc_off=row.gc_off)
        recs.append(_record("overhead", "n=%d" % n, row, m["us_per_iter"], "us/iter",
                            m, runs=m["runs_us"], iters=m["iters"], check=m["check"], n=n))
    s.results.extend(recs)


def _do_mlp(s, rows):
    s.say("mlp: %s ..." % ", ".join(r.label for r in rows))
    steps = s.sizes.mlp_steps
    cases = [mlp_case(None if r.key == "numpy" else r.tensor, steps, gc_off=r.gc_off)
             for r in rows]
    recs = []
    for row, runs in zip(rows, interleave(cases, s.sizes.mlp_repeats)):
        m = mlp_summary(runs, steps)
        recs.append(_record("mlp", "step", row, m["us_per_step"], "us/step", m,
                            runs=m["runs_us"], loss=m["loss"], losses=m["losses"],
                            phases_us=m["phases_us"], steps=m["steps"]))
    s.results.extend(recs)


def _do_makemore(s, rows):
    s.say("makemore: %s ..." % ", ".join(r.label for r in rows))
    steps = s.sizes.mlp_steps
    cases = [makemore_case(r.tensor, steps, gc_off=r.gc_off) for r in rows]
    recs = []
    for row, runs in zip(rows, interleave(cases, s.sizes.mlp_repeats)):
        m = training_summary(runs, steps)
        recs.append(_record("makemore", "step", row, m["us_per_step"], "us/step", m,
                            runs=m["runs_us"], loss=m["loss"], losses=m["losses"],
                            steps=m["steps"]))
    s.results.extend(recs)


def _do_mnist(s, rows):
    s.say("mnist: %s ..." % ", ".join(r.label for r in rows))
    steps = max(1, s.sizes.mlp_steps // 4)
    cases = [mnist_case(r.tensor, steps, gc_off=r.gc_off) for r in rows]
    recs = []
    for row, runs in zip(rows, interleave(cases, s.sizes.mlp_repeats)):
        m = training_summary(runs, steps)
        recs.append(_record("mnist", "step", row, m["us_per_step"], "us/step", m,
                            runs=m["runs_us"], loss=m["loss"], losses=m["losses"],
                            steps=m["steps"]))
    s.results.extend(recs)


def _do_char_lstm(s, rows):
    """The char-LSTM step: tapegrad's engines eager and replayed, torch eager,
    interleaved (one run of each in turn)."""
    steps = s.sizes.lstm_steps
    pairs = []
    for r in rows:
        pairs.append((r, None))
        if r.key in ("c", "reference"):
            pairs.append((replay_row(r), replay_api(r.engine)))
    s.say("char-lstm: %s ..." % ", ".join(r.label for r, _ in pairs))
    cases = [charlstm_case(r.tensor, steps, replay=rp, gc_off=r.gc_off) for r, rp in pairs]
    for (row, rp), runs in zip(pairs, interleave(cases, s.sizes.lstm_repeats)):
        m = training_summary(runs, steps)
        s.add("char-lstm", "step", row, m["us_per_step"], "us/step", m, runs=m["runs_us"],
              loss=m["loss"], losses=m["losses"], steps=m["steps"], replay=rp is not None)


def _do_makemore3(s, rows):
    """The makemore part-3 step (bench/makemore3.py), eager on every row and replayed
    (tapegrad.compile) on the compiled engine's, interleaved."""
    s.say("makemore3: %s ..." % ", ".join(r.label for r in rows))
    steps = s.sizes.mlp_steps
    cases = [makemore3_case(r.tensor, steps, gc_off=r.gc_off) for r in rows]
    labelled = list(rows)
    for r in rows:
        if r.key == "c":
            cases.append(makemore3_case(r.tensor, steps, gc_off=r.gc_off,
                                        replay=replay_api(r.engine).compile))
            labelled.append(replay_row(r))
    for row, runs in zip(labelled, interleave(cases, s.sizes.mlp_repeats)):
        m = training_summary(runs, steps)
        s.add("makemore3", "step", row, m["us_per_step"], "us/step", m, runs=m["runs_us"],
              loss=m["loss"], losses=m["losses"], steps=m["steps"])


def _do_matmul(s, rows):
    n, steps = s.sizes.matmul_n, s.sizes.matmul_steps
    s.say("matmul %d: %s ..." % (n, ", ".join(r.label for r in rows)))
    cases = [matmul_case(None if r.key == "numpy" else r.tensor, n, steps, gc_off=r.gc_off)
             for r in rows]
    recs = []
    for row, case, runs in zip(rows, cases, interleave(cases, s.sizes.matmul_repeats)):
        m = matmul_summary(case, runs, steps)
        recs.append(_record("matmul", "%dx%d" % (n, n), row, m["ms_per_step"], "ms/step", m,
                            runs=m["runs_ms"], check=m["check"], steps=m["steps"], n=n))
    s.results.extend(recs)


def _do_adamw(s, rows):
    s.say("adamw: %s ..." % ", ".join(r.label for r in rows))
    steps = s.sizes.mlp_steps
    cases = [adamw_case(r.tensor, steps, gc_off=r.gc_off) for r in rows]
    for row, runs in zip(rows, interleave(cases, s.sizes.mlp_repeats)):
        m = adamw_summary(runs, steps)
        s.add("adamw", "step", row, m["us_per_step"], "us/step", m, runs=m["runs_us"],
              check=m["check"], steps=m["steps"])


def _do_randn(s, rows):
    n = s.sizes.randn_n
    s.say("randn %d: %s ..." % (n, ", ".join(r.label for r in rows)))
    cases = [randn_case(r.tensor, n) for r in rows]
    recs = []
    for row, case, runs in zip(rows, cases, interleave(cases, s.sizes.randn_repeats)):
        m = randn_summary(case, runs, n)
        recs.append(_record("randn", "n=%d" % n, row, m["ms_per_call"], "ms/call", m,
                            runs=m["runs_ms"], check=m["check"], n=n))
    s.results.extend(recs)


# ----------------------------------------------------------------------------
# Replay workloads: each engine eager and replayed (labels "c" and "c replay")


def _do_demo_replay(s, row):
    if row.key in ("c", "reference"):
        for style in DEMO_STYLES:
            _demo_replay_style(s, row, style)
        return
    # micrograd with gc off: micrograd's own demo step (its neuron is the ops style);
    # the demo workload's figure when it ran the same number of steps
    sz = s.sizes
    steps = builtins.max(2, sz.demo_replay_steps)
    prev = next((r for r in s.results if r["workload"] == "demo" and r["label"] == row.label
                 and r["steps"] == steps), None)
    if prev is None:
        s.say("demo-replay: %s ..." % row.label)
        reps = builtins.min(sz.demo_replay_repeats, sz.peer_demo_repeats)
        m = demo(row.engine, steps, reps, gc_off=row.gc_off, warmup_steps=sz.peer_demo_warmup)
        ms, runs, source = m["ms_per_step"], m["runs_ms_per_step"], None
    else:
        m, ms, runs, source = prev, prev["value"], prev["runs"], "demo"
    s.say("demo-replay: counting %s's graph ..." % row.label)
    nodes = micrograd_demo_nodes(row.engine)
    call = m["phases_ms"]["forward"] + m["phases_ms"]["backward"]
    s.add("demo-replay", "step ops", row, ms, "ms/step", {}, runs=runs,
          loss=m["loss"], final_losses=m["losses"], steps=steps, phases_ms=m["phases_ms"],
          style="ops", replay=False, nodes=nodes, measured_by=source)
    s.add("demo-replay", "call ops", row, call, "ms/call", {}, runs=[call],
          style="ops", replay=False)


def _demo_replay_style(s, row, style):
    """demo-replay on a tapegrad engine, neurons of ``style``: eager and replayed."""
    sz = s.sizes
    reps = sz.demo_replay_repeats if row.key == "c" else \
        builtins.min(sz.demo_replay_repeats, sz.peer_demo_repeats)
    s.say("demo-replay %s: %s eager and replayed ..." % (style, row.label))
    m = demo_replay(row.engine, style, sz.demo_replay_steps, reps, gc_off=row.gc_off)
    recs = []
    for name, r in (("eager", row), ("replay", replay_row(row))):
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
    s.results.extend(recs)


def _do_mlp_replay(s, row):
    steps, repeats = s.sizes.mlp_steps, s.sizes.mlp_repeats
    if row.key in ("c", "reference"):
        s.say("mlp-replay: %s eager and replayed ..." % row.label)
        m = mlp_replay(row.tensor, replay_api(row.engine), steps, repeats, gc_off=row.gc_off)
    else:  # a peer: its eager mlp step
        s.say("mlp-replay: %s ..." % row.label)
        case = mlp_case(None if row.key == "numpy" else row.tensor, steps, gc_off=row.gc_off)
        m = {"eager": mlp_replay_summary(interleave([case], repeats)[0], steps)}
    recs = []
    for name, mm in m.items():
        r = row if name == "eager" else replay_row(row)
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
    s.results.extend(recs)


def _do_chain_replay(s, row):
    s.say("chain-replay: %s ..." % row.label)
    m = chain_replay(row.engine, s.sizes.chain_ops, s.sizes.chain_repeats, gc_off=row.gc_off)
    r = replay_row(row)
    extra = dict(n_ops=m["n_ops"], nodes=m["nodes"], check=m["check"],
                 eager_check=m["eager_check"], recordings=m["recordings"],
                 record_ns_per_node=m["record_ns_per_node"],
                 backward_over_forward=m["backward_over_forward"], replay=True,
                 eager_label=row.label)
    s.add("chain-replay", "forward", r, m["forward_ns_per_node"], "ns/node", m,
          runs=m["forward_ns"], **extra)
    s.add("chain-replay", "backward", r, m["backward_ns_per_node"], "ns/node", m,
          runs=m["backward_ns"], **extra)


def _do_higher(s, row, workload):
    """pinn / hvp (bench/higher.py): eager and replayed for tapegrad's engines, eager
    for torch; the replay is checked against the same engine eager."""
    from . import higher
    make = higher.pinn_case if workload == "pinn" else higher.hvp_case
    steps, repeats = s.sizes.higher_steps, s.sizes.higher_repeats
    s.say("%s: %s ..." % (workload, row.label))
    api = replay_api(row.engine) if row.key in ("c", "reference") else None
    m = higher.run_pair(lambda a, r=None: make(a, r, steps), row.tensor, api, repeats)
    unit = "us/step" if workload == "pinn" else "us/product"
    for name, mm in m.items():
        r = row if name == "eager" else replay_row(row)
        s.add(workload, "step", r, mm["us_per_step"], unit, mm, runs=mm["runs_us"],
              loss=mm["loss"], steps=steps, replay=name == "replay", eager_label=row.label,
              recordings=1)


_DOERS = {"pinn": lambda s, row: _do_higher(s, row, "pinn"),
          "hvp": lambda s, row: _do_higher(s, row, "hvp"),
          "chain": _do_chain, "demo": _do_demo, "overhead": _do_overhead, "mlp": _do_mlp,
          "matmul": _do_matmul, "demo-replay": _do_demo_replay, "mlp-replay": _do_mlp_replay,
          "chain-replay": _do_chain_replay, "adamw": _do_adamw,
          "makemore": _do_makemore, "randn": _do_randn, "char-lstm": _do_char_lstm,
          "makemore3": _do_makemore3, "mnist": _do_mnist}
