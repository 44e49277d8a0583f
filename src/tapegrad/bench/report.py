"""The table a benchmark run prints (``format_table``): what ran and on what
machine, one row per workload phase and engine with ratios, the ratios in
words, each workload's phases, and the checks.

Whoever runs the bench can add notes to the rows and lines under the ratios
with an ``Annotator`` (benchmarks/targets.py marks the targets of each issue
this way; the shipped package has no targets).
"""

from __future__ import annotations

import builtins
import math
from typing import List, Optional

from .replay import DEMO_REPLAY_PHASES, MLP_REPLAY_PHASES
from .settings import ALL_WORKLOADS, CHAIN_SUBNORMAL_START
from .tensor import MLP_PHASES


class Annotator(object):
    """Extra notes for the table; this one adds none."""

    def row_note(self, r: dict, values: dict) -> Optional[str]:
        """A note for result ``r`` (first in its notes column), or None.
        ``values``: ``{(workload, phase, label): value}`` of every result."""
        return None

    def summary_lines(self, values: dict) -> List[str]:
        """Lines printed after the ratios in words."""
        return []


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


def ratio(x: float) -> str:
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


_PHASE_ORDER = {"build": 0, "forward": 0, "backward": 1, "backward subnormal": 2, "build relu": 3,
                "step": 0, "call": 1,
                "step ops": 0, "call ops": 1, "step dot": 2, "call dot": 3}


def _sort_key(r):
    phase = _PHASE_ORDER.get(r["phase"], r.get("n", 0))
    w = r["workload"]
    return (ALL_WORKLOADS.index(w) if w in ALL_WORKLOADS else len(ALL_WORKLOADS), phase)


def format_table(report: dict, annotator: Optional[Annotator] = None) -> str:
    """The report of ``runner.run`` as text."""
    annotator = annotator or Annotator()
    env, cfg = report["env"], report["config"]
    lines = _preamble(env, cfg, report["results"])
    lines.append("")
    results = sorted(report["results"], key=_sort_key)
    values = {}
    for r in results:
        values[(r["workload"], r["phase"], r["label"])] = r["value"]
    lines.extend(_table_lines(results, values, annotator))
    lines.append("")
    lines.extend(_ratio_lines(results, values))
    lines.extend(annotator.summary_lines(values))
    lines.extend(_scalar_phase_lines(results))
    lines.extend(_replay_phase_lines(results))
    lines.extend(_check_lines(report.get("checks", [])))
    for name, why in sorted(report.get("missing", {}).items()):
        lines.append("not run: %s: %s" % (name, why))
    return "\n".join(lines)


def _preamble(env, cfg, results):
    """What ran, how long, on what machine, with which clock and peers."""
    lines = []
    lines.append("tapegrad %s benchmark: Python %s (%s), %s, %s" % (
        env["tapegrad"], env["python"], env["implementation"], env["machine"],
        env.get("cpu") or "?"))
    lines.extend(_size_lines(cfg, {r["workload"] for r in results}, results))
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
    return lines


def _size_lines(cfg, present, results):
    """The sizes of the workloads that ran, a line per family."""
    lines = []
    sizes = []
    if "chain" in present:
        sizes.append("chain: %d ops, median of %d runs after 2 warm-up runs" % (
            cfg["chain_ops"], cfg["chain_repeats"]))
        if any(r["phase"] == "backward subnormal" for r in results):
            sizes.append("chain backward subnormal: from (x0, y) = %s, gradients subnormal; "
                         "c flush: set_flush_denormal(True), runs interleaved with c's"
                         % (CHAIN_SUBNORMAL_START,))
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
    if "adamw" in present:
        sizes.append("adamw: AdamW(lr %g).step() over the mlp's parameters, gradients "
                     "fixed; %d steps, median of %d runs" % (
                         cfg["mlp_lr"], cfg["mlp_steps"], cfg["mlp_repeats"]))
    if "mnist" in present:
        sizes.append("mnist: batch 64, 784-512-512-10, ReLU, cross-entropy, SGD, float32; "
                     "%d steps, median of %d runs" % (
                         builtins.max(1, cfg["mlp_steps"] // 4), cfg["mlp_repeats"]))
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
    if "randn" in present:
        lines.append("randn: randn(%d) float32 after manual_seed (torch's stream: equal "
                     "checks mean the same numbers), median of %d runs of 5 calls"
                     % (cfg["randn_n"], cfg["randn_repeats"]))
    if "matmul" in present:
        lines.append("matmul: relu(A @ B).sum() forward + backward, %dx%d float32; %d steps, "
                     "median of %d runs" % (cfg["matmul_n"], cfg["matmul_n"],
                                            cfg["matmul_steps"], cfg["matmul_repeats"]))
    return lines


def _table_lines(results, values, annotator):
    """The table: a row per result (sorted), a blank line between workload phases."""
    with_numpy = any(r["label"] == "numpy" for r in results)
    header = ("workload", "engine", "figure", "time / c", "time / ref") + \
        (("time / numpy",) if with_numpy else ()) + ("notes",)
    table = []
    for r in results:
        key = (r["workload"], r["phase"])
        bases = [values.get(key + (b,)) for b in ("c", "reference") +
                 (("numpy",) if with_numpy else ())]
        notes = []
        note = annotator.row_note(r, values)
        if note:
            notes.append(note)
        if r["workload"] == "demo":
            notes.append("loss %.6g acc %.0f%%" % (r["loss"], 100 * r["accuracy"]))
        if r["workload"] == "mlp":
            notes.append("loss %.7g" % r["loss"])
        notes.extend(_replay_notes(r))
        if r.get("note"):
            notes.append(r["note"])
        table.append((
            "%s %s" % (r["workload"], r["phase"]), r["label"], _fmt_value(r["value"], r["unit"]))
            + tuple(ratio(r["value"] / b) if b else "" for b in bases)
            + ("; ".join(notes),))
    widths = [builtins.max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(header)]
    fmt = "  ".join("%%-%ds" % w for w in widths[:-1]) + "  %s"
    lines = [(fmt % header).rstrip(),
             (fmt % (tuple("-" * w for w in widths[:-1]) + ("-" * 5,))).rstrip()]
    prev = None
    for t in table:
        if prev is not None and t[0] != prev:
            lines.append("")
        prev = t[0]
        lines.append((fmt % t).rstrip())
    return lines


# Engine pairs whose ratios are spelled out in words, fast engine first.
_RATIO_PAIRS = (
    ("c", "reference"), ("c", "micrograd"), ("c", "micrograd gc off"),
    ("c flush", "c"), ("c", "torch"), ("c", "numpy"), ("reference", "micrograd"),
    ("reference", "micrograd gc off"), ("reference", "torch"), ("reference", "numpy"),
    ("c replay", "c"), ("c replay", "reference replay"), ("c replay", "micrograd gc off"),
    ("c replay", "torch"), ("c replay", "numpy"), ("reference replay", "reference"))


def _ratio_lines(results, values):
    """Ratios in words: "c vs reference: chain build 30x faster, ..."."""
    lines = []
    keys = []
    for r in results:
        k = (r["workload"], r["phase"])
        if k not in keys:
            keys.append(k)
    for fast, slow in _RATIO_PAIRS:
        parts = []
        for k in keys:
            a, b = values.get(k + (fast,)), values.get(k + (slow,))
            if a and b:
                parts.append("%s %s %s" % (k[0], k[1], _speed(b / a)))
        if parts:
            lines.append("%s vs %s: %s" % (fast, slow, ", ".join(parts)))
    return lines


def _scalar_phase_lines(results):
    """The demo and mlp steps by phase."""
    lines = []
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
        lines.append("  %-*s  %s" % (w, "engine", "  ".join("%9s" % n for n in MLP_PHASES)))
        for r in mlps:
            lines.append("  %-*s  %s" % (w, r["label"], "  ".join(
                "%9.1f" % r["phases_us"][n] if r["phases_us"][n] else "%9s" % "-"
                for n in MLP_PHASES)))
    return lines


def _replay_phase_lines(results):
    """The demo-replay and mlp-replay steps by phase, and chain-replay's gradient cost."""
    lines = []
    for w, unit, names, fmt1 in (
            ("demo-replay", "ms", DEMO_REPLAY_PHASES, "%9.3f"),
            ("mlp-replay", "us", MLP_REPLAY_PHASES, "%9.1f")):
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
    return lines


def _check_lines(checks):
    """The failed checks one by one, the passed ones grouped by what they compare."""
    lines = []
    if not checks:
        return lines
    lines.append("")
    for c in checks:
        if c["ok"]:
            continue
        extra = ""
        if "grad_max_abs_err" in c:
            extra = ", gradients' largest difference %.3g" % c["grad_max_abs_err"]
        if c.get("recordings") not in (None, 1):
            extra += ", fn recorded %d times instead of once" % c["recordings"]
        lines.append("CHECK FAILED: %s differs between %s and %s (relative difference "
                     "%.3g%s)" % (c["what"], c["engine"], c["vs"], c["max_rel_diff"], extra))
    groups = _passed_groups([c for c in checks if c["ok"]])
    if groups:
        lines.append("checks passed (relative differences):")
        lines.extend("  " + g for g in groups)
    return lines


def _passed_groups(ok):
    """One line per group of passed checks: the largest difference and the engines."""
    words = {"chain": "chain result and gradients", "demo": "demo final loss",
             "overhead": "overhead result and gradients", "mlp": "mlp final loss",
             "adamw": "adamw parameters",
             "makemore": "makemore final loss", "char-lstm": "char-lstm losses",
             "makemore3": "makemore3 final loss", "mnist": "mnist final loss"}
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
    return groups


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
        return "%s faster" % ratio(x)
    return "%s slower" % ratio(1 / x)

