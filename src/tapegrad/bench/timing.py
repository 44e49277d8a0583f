"""Clocks and the timing helpers every workload shares.

All engines are timed in one process with ``time.perf_counter`` (or, with
``--clock cpu``, ``time.thread_time``), so the table can show ratios.

Garbage collection is left as the user has it (enabled) except in the rows
labelled ``gc off``: there ``gc.disable()`` is in force during the timed region
and the garbage is collected, untimed, between steps and repeats (the figure is
then the cost of the work itself, without the collector). The tensor workloads
collect only between runs and blocks: their steps are short, and a collection
after each would leave the caches cold for the next.
"""

import gc
import statistics
import sys
import threading
import time
from time import perf_counter

# The clock every workload reads (``set_clock``): wall time by default; with
# ``--clock cpu`` the calling thread's CPU time (user + system), which other
# processes competing for the CPUs disturb less. BLAS runs in the calling
# thread when it has one thread, so the CPU clock sees its work too.
# Workloads read ``timing.now`` when they start (after ``set_clock``).
CLOCKS = {"wall": perf_counter, "cpu": time.thread_time}
now = perf_counter


def set_clock(name: str) -> None:
    """Select the clock of every workload: "wall" (time.perf_counter) or "cpu"
    (time.thread_time)."""
    global now
    now = CLOCKS[name]


class gc_mode(object):
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


def run_with_deep_stack(fn, depth):
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


def median(xs) -> float:
    """The median of ``xs`` (nan if empty)."""
    return statistics.median(xs) if xs else float("nan")


def autorange(block, min_s):
    """Iterations ``n`` for which ``block(n)`` (returning seconds) lasts at least
    ``min_s``; the calibration runs double as warm-up."""
    n = 1
    while True:
        dt = block(n)
        if dt >= min_s:
            return n
        # aim 20% past min_s, but never jump more than 100x on a short sample
        guess = int(n * 1.2 * min_s / max(dt, 1e-9))
        n = max(n * 2, min(n * 100, guess))


def interleave(cases, repeats):
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


class Case(object):
    """A workload of ``interleave``: ``warmup()``, ``run()`` (one timed run) and
    ``finish()`` (what to check once the runs are over)."""

    def __init__(self, warmup, run, finish=None):
        self.warmup = warmup
        self.run = run
        self.finish = finish


def training_case(make_step, steps, warmup_steps, gc_off, first=5, record_first=False):
    """A training workload as a Case: ``run()`` takes a fresh ``step = make_step()`` and
    times ``steps`` calls ``step(i)``, giving ``{"us_per_step", "loss", "losses"}``
    (losses of the steps before ``first``, loss of the last). ``record_first``: step 0
    runs untimed first (a replay records there), then steps 1.. are timed."""
    start = 1 if record_first else 0

    def train(n):
        step = make_step()
        losses = [step(0).item()] if record_first else []
        with gc_mode(gc_off):
            t0 = time.perf_counter()
            for i in range(start, n + start):
                loss = step(i)
                if i < first:
                    losses.append(loss.item())
            elapsed = time.perf_counter() - t0
        return elapsed, losses + [loss.item()]

    def warmup():
        if warmup_steps:
            train(warmup_steps)

    def run():
        elapsed, losses = train(steps)
        return {"us_per_step": elapsed * 1e6 / steps, "loss": losses[-1],
                "losses": losses[:-1]}

    return Case(warmup, run)


def training_summary(runs, steps):
    """The runs of a training_case: the first run's losses, the median time per step."""
    out = dict(runs[0])
    out["us_per_step"] = median([r["us_per_step"] for r in runs])
    out["runs_us"] = [r["us_per_step"] for r in runs]
    out["steps"] = steps
    return out
