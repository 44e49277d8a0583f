#!/usr/bin/env python
"""makemore part-3 step (issue 12 item 9): tapegrad eager and replayed vs torch eager.

One SGD step of Karpathy's makemore part-3 network (``tapegrad.bench.makemore3``):
Embedding(27, 10) over a block of 3, six Linear(bias=False) -> BatchNorm1d layers with
Tanh between them, ``F.cross_entropy``, ``optim.SGD(lr=0.1)``, batch 32, float32, from
torch's initial weights (the seeded generators agree). The three runs' losses are
checked equal (1e-4 relative) over 20 steps before timing. Timed in one process,
interleaved, median of repeats; prints microseconds per step and torch / tapegrad
(targets: eager >= 3x, replayed >= 5x). The same workload runs in
``python -m tapegrad bench --workloads makemore3``.

    python benchmarks/bench_makemore3.py [--steps 200] [--repeats 7]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

TARGETS = {"tapegrad": 3.0, "tapegrad replay": 5.0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import numpy as np
    import tapegrad
    import torch
    from tapegrad.bench.makemore3 import makemore3_step
    torch.set_num_threads(1)
    makers = {"tapegrad": lambda: makemore3_step(tapegrad, tapegrad.nn, tapegrad.optim)[0],
              "tapegrad replay": lambda: makemore3_step(tapegrad, tapegrad.nn, tapegrad.optim,
                                                        replay=tapegrad.compile)[0],
              "torch": lambda: makemore3_step(torch, torch.nn, torch.optim)[0]}
    losses = {}
    for k, make in makers.items():
        step = make()
        losses[k] = [step(i).item() for i in range(20)]
    for k in makers:
        np.testing.assert_allclose(losses[k], losses["torch"], rtol=1e-4, err_msg=k)
    print(f"losses equal over 20 steps (first {losses['torch'][0]:.6f}, "
          f"last {losses['torch'][-1]:.6f})")
    times = {k: [] for k in makers}
    for _ in range(args.repeats):
        for k, make in makers.items():
            step = make()
            step(0)                      # (a replay records at its first call)
            t0 = time.perf_counter()
            for i in range(1, args.steps + 1):
                step(i)
            times[k].append((time.perf_counter() - t0) / args.steps * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:16s} {v:8.1f} us/step")
    for k, target in TARGETS.items():
        r = med["torch"] / med[k]
        print(f"torch eager / {k}: {r:.2f}x (target >= {target:g}x): "
              f"{'met' if r >= target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
