#!/usr/bin/env python
"""Batched replay (``Tape.vmap``) against replaying row by row and eager code.

The per-point max-margin loss of micrograd's demo MLP (2-16-16-1, ``engine.dot``
neurons) on the 100 two-moons points, forward and backward for every point:

vmap      ``tape.vmap(X, Y, backward=True)``: one C loop over the rows
vmap xN   the same with ``threads=N`` (--threads, default 2): rows split across N threads
loop      ``tape.forward(x, y); tape.backward()`` per row
eager     ``loss = sample_loss([Value(v) for v in x], y); loss.backward()`` per row

All accumulate the same parameter gradients (checked exactly). Reports
microseconds per row (median of --repeats) and the ratios, in one process, and
the speed-up of N threads over one (the median of the per-round ratios; wall
clock: the CPU clock of the calling thread does not see the other threads).
--rows repeats the 100 points to that many rows.

    PYTHONPATH=src python benchmarks/bench_vmap.py [--repeats N] [--threads N] [--rows N]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

import numpy as np

import tapegrad
from tapegrad import bench


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=tuple(bench.CLOCKS), default="wall")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=100)
    opts = parser.parse_args()
    now = bench.CLOCKS[opts.clock]
    many = "vmap x%d" % opts.threads

    X, y = bench.make_moons()
    Y = (y * 2 - 1).astype(float)
    reps = -(-opts.rows // len(X))
    X, Y = np.tile(X, (reps, 1))[:opts.rows], np.tile(Y, reps)[:opts.rows]
    rows_x, rows_y = X.tolist(), Y.tolist()
    model = bench.MLP(tapegrad, 2, [16, 16, 1], bench.SEED)
    params = model.parameters()

    def sample_loss(x, yi):
        return (1 + -yi * model(x)).relu()

    tape = tapegrad.record(sample_loss, [0.0, 0.0], 1.0)

    def run_vmap():
        tape.vmap(X, Y, backward=True)

    def run_vmap_threads():
        tape.vmap(X, Y, backward=True, threads=opts.threads)

    def run_loop():
        for xr, yr in zip(rows_x, rows_y):
            tape.forward(xr, yr)
            tape.backward()

    def run_eager():
        for xr, yr in zip(rows_x, rows_y):
            sample_loss([tapegrad.Value(v) for v in xr], yr).backward()

    grads = {}
    runs = {"vmap": run_vmap, many: run_vmap_threads, "loop": run_loop, "eager": run_eager}
    times = {name: [] for name in runs}
    for r in range(opts.repeats + 1):
        for name, run in runs.items():
            for p in params:
                p.grad = 0.0
            t0 = now()
            run()
            elapsed = now() - t0
            if r:                                  # the first round warms up
                times[name].append(elapsed / len(rows_x) * 1e6)
            grads[name] = [p.grad for p in params]
    ok = grads["vmap"] == grads[many] == grads["loop"] == grads["eager"]
    med = {name: bench.median(ts) for name, ts in times.items()}
    speedup = bench.median([a / b for a, b in zip(times["vmap"], times[many])])
    print(f"per-point demo loss, {len(rows_x)} rows, {tape.nodes} nodes per row, "
          f"median of {opts.repeats} ({opts.clock} clock)")
    for name in runs:
        print(f"  {name:8s} {med[name]:8.2f} us/row   eager / {name}: "
              f"{med['eager'] / med[name]:6.1f}x")
    print(f"  {many} vs vmap: {speedup:.2f}x faster (median of the rounds' ratios; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"  recordings: {tape.recordings}; parameter gradients equal: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
