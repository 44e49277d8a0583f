#!/usr/bin/env python
"""Batched replay (``Tape.vmap``) against replaying row by row and eager code.

The per-point max-margin loss of micrograd's demo MLP (2-16-16-1, ``engine.dot``
neurons) on the 100 two-moons points, forward and backward for every point:

vmap      ``tape.vmap(X, Y, backward=True)``: one C loop over the rows
loop      ``tape.forward(x, y); tape.backward()`` per row
eager     ``loss = sample_loss([Value(v) for v in x], y); loss.backward()`` per row

All three accumulate the same parameter gradients (checked exactly). Reports
microseconds per row (median of --repeats) and the ratios, in one process.

    PYTHONPATH=src python benchmarks/bench_vmap.py [--repeats N] [--clock cpu]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

import tapegrad
from tapegrad import bench


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=tuple(bench.CLOCKS), default="wall")
    opts = parser.parse_args()
    now = bench.CLOCKS[opts.clock]

    X, y = bench.make_moons()
    Y = (y * 2 - 1).astype(float)
    rows_x, rows_y = X.tolist(), Y.tolist()
    model = bench.MLP(tapegrad, 2, [16, 16, 1], bench.SEED)
    params = model.parameters()

    def sample_loss(x, yi):
        return (1 + -yi * model(x)).relu()

    tape = tapegrad.record(sample_loss, [0.0, 0.0], 1.0)

    def run_vmap():
        tape.vmap(X, Y, backward=True)

    def run_loop():
        for xr, yr in zip(rows_x, rows_y):
            tape.forward(xr, yr)
            tape.backward()

    def run_eager():
        for xr, yr in zip(rows_x, rows_y):
            sample_loss([tapegrad.Value(v) for v in xr], yr).backward()

    grads = {}
    times = {name: [] for name in ("vmap", "loop", "eager")}
    runs = {"vmap": run_vmap, "loop": run_loop, "eager": run_eager}
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
    ok = grads["vmap"] == grads["loop"] == grads["eager"]
    med = {name: bench.median(ts) for name, ts in times.items()}
    print(f"per-point demo loss, {len(rows_x)} rows, {tape.nodes} nodes per row, "
          f"median of {opts.repeats} ({opts.clock} clock)")
    for name in ("vmap", "loop", "eager"):
        print(f"  {name:6s} {med[name]:8.2f} us/row   eager / {name}: "
              f"{med['eager'] / med[name]:6.1f}x")
    print(f"  recordings: {tape.recordings}; parameter gradients equal: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
