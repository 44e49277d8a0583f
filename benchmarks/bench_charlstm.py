#!/usr/bin/env python
"""char-LSTM step (issue 16, item 5): tapegrad eager and replayed vs torch eager.

One Adam step of a character-level LSTM language model (``tapegrad.bench.charlstm``):
embedding 27->16, ``nn.LSTM(16, 64, batch_first=True)``, sequence length 32, batch 8,
linear to 27, ``F.cross_entropy``, float32. All three start from the same weights
and batches; their losses are checked equal (1e-4 relative) over 10 steps before
timing. Timed in one process, interleaved, median of repeats; prints microseconds
per step and torch / tapegrad (targets: eager >= 1.5, replayed >= 4). The same
workload runs in ``python -m tapegrad bench --workloads char-lstm``.

    python benchmarks/bench_charlstm.py [--steps 50] [--repeats 5]
"""

import argparse
import os
import statistics
import sys
import time
import types

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import numpy as np
    import tapegrad
    import torch
    from tapegrad.bench.charlstm import charlstm_step
    torch.set_num_threads(1)
    tg = types.SimpleNamespace(T=tapegrad, nn=tapegrad.nn, optim=tapegrad.optim)
    th = types.SimpleNamespace(T=torch, nn=torch.nn, optim=torch.optim)
    makers = {"tapegrad eager": lambda: charlstm_step(tg),
              "tapegrad replayed": lambda: charlstm_step(tg, tapegrad),
              "torch eager": lambda: charlstm_step(th)}
    losses = {}
    for k, make in makers.items():
        step = make()
        losses[k] = [step(i).item() for i in range(10)]
    for k in losses:
        np.testing.assert_allclose(losses[k], losses["torch eager"], rtol=1e-4)
    print(f"losses equal over 10 steps (first {losses['torch eager'][0]:.6f}, "
          f"last {losses['torch eager'][-1]:.6f})")
    steps = {k: make() for k, make in makers.items()}
    for s in steps.values():
        s(0)                                  # (the replay records here)
    times = {k: [] for k in steps}
    for _ in range(args.repeats):
        for k, s in steps.items():
            t0 = time.perf_counter()
            for i in range(1, args.steps + 1):
                s(i)
            times[k].append((time.perf_counter() - t0) / args.steps * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:18s} {v:9.1f} us/step")
    t = med["torch eager"]
    print(f"torch eager / tapegrad eager:    {t / med['tapegrad eager']:.2f}x (target >= 1.5)")
    print(f"torch eager / tapegrad replayed: {t / med['tapegrad replayed']:.2f}x (target >= 4)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
