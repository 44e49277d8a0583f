#!/usr/bin/env python
"""makemore MLP step (issue 11, item 8): tapegrad's compiled engine vs torch eager.

One SGD step of Karpathy's makemore MLP (``tapegrad.bench.makemore``): embedding
lookup ``C[X]`` (C 27x10, block 3), ``W1`` 30x200 + tanh, ``W2`` 200x27, batch
32, ``F.cross_entropy``, the update by hand, float32. Both start from the same
weights and batches; their losses are checked equal (1e-5 relative) over 20 steps
before timing. Timed in one process, interleaved, median of repeats; prints
microseconds per step and torch / tapegrad (the target: >= 3). The same workload
runs in ``python -m tapegrad bench --workloads makemore``.

    python benchmarks/bench_makemore.py [--steps 200] [--repeats 7]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import numpy as np
    import tapegrad
    import torch
    from tapegrad.bench.makemore import makemore_step
    torch.set_num_threads(1)
    steps = {"tapegrad": makemore_step(tapegrad, tapegrad.nn.functional),
             "torch": makemore_step(torch, torch.nn.functional)}
    losses = {k: [s(i).item() for i in range(20)] for k, s in steps.items()}
    np.testing.assert_allclose(losses["tapegrad"], losses["torch"], rtol=1e-5)
    print(f"losses equal over 20 steps (first {losses['torch'][0]:.6f}, "
          f"last {losses['torch'][-1]:.6f})")
    times = {k: [] for k in steps}
    for _ in range(args.repeats):
        for k, s in steps.items():
            t0 = time.perf_counter()
            for i in range(args.steps):
                s(i)
            times[k].append((time.perf_counter() - t0) / args.steps * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:9s} {v:8.1f} us/step")
    print(f"torch eager / tapegrad eager: {med['torch'] / med['tapegrad']:.2f}x (target >= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
