#!/usr/bin/env python
"""makemore MLP step (issue 11, item 8): tapegrad's compiled engine vs torch eager.

One SGD step of Karpathy's makemore MLP: embedding lookup ``C[X]`` (C 27x10,
block 3), ``W1`` 30x200 + tanh, ``W2`` 200x27, batch 32, ``F.cross_entropy``,
and the update by hand (``p.data += -lr * p.grad``), float32. Both engines start
from the same weights and batches; their losses are checked equal (float32,
to 1e-5 relative) before timing. Timed in one process, interleaved, median of
repeats; prints microseconds per step and torch / tapegrad (the target: >= 3).

    python benchmarks/bench_makemore.py [--steps 200] [--repeats 7]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np


def make_data(seed=42, n_batches=16):
    rng = np.random.default_rng(seed)
    weights = {"C": rng.standard_normal((27, 10)), "W1": rng.standard_normal((30, 200)) * 0.2,
               "b1": rng.standard_normal(200) * 0.01, "W2": rng.standard_normal((200, 27)) * 0.01,
               "b2": np.zeros(27)}
    batches = [(rng.integers(0, 27, (32, 3)), rng.integers(0, 27, 32))
               for _ in range(n_batches)]
    return {k: v.astype(np.float32) for k, v in weights.items()}, batches


def make_step(M, F, weights, batches, lr=0.1):
    """(step(i) -> loss tensor, params) for module M (tapegrad or torch)."""
    params = [M.tensor(weights[k].tolist(), dtype=M.float32, requires_grad=True)
              for k in ("C", "W1", "b1", "W2", "b2")]
    C, W1, b1, W2, b2 = params
    data = [(M.tensor(X.tolist(), dtype=M.int64), M.tensor(Y.tolist(), dtype=M.int64))
            for X, Y in batches]

    def step(i):
        X, Y = data[i % len(data)]
        emb = C[X]
        h = (emb.view(-1, 30) @ W1 + b1).tanh()
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -lr * p.grad
        return loss
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import tapegrad
    import torch
    torch.set_num_threads(1)
    weights, batches = make_data()
    steps = {"tapegrad": make_step(tapegrad, tapegrad.nn.functional, weights, batches),
             "torch": make_step(torch, torch.nn.functional, weights, batches)}
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
