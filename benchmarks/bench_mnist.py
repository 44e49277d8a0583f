#!/usr/bin/env python
"""MNIST-size MLP step (issue 11, item 8): tapegrad's compiled engine vs torch eager.

One step of a 784-512-512-10 MLP (``tapegrad.bench.mnist``): batch 64, ReLU,
``F.cross_entropy``, ``optim.SGD``, float32, from the same weights and batches; the
losses are checked equal (1e-4 relative) over 10 steps before timing. Timed in one
process, interleaved, median of repeats; prints microseconds per step and tapegrad /
torch (the target: <= 1.1). The step is BLAS-bound, so the bare float32 products of
one step are timed too, through each engine's matmul (tapegrad: SciPy's OpenBLAS;
torch: its own BLAS): their sum is each engine's floor. Also in
``python -m tapegrad bench --workloads mnist``.

    python benchmarks/bench_mnist.py [--steps 50] [--repeats 7] [--threads 1]
"""

import argparse
import os
import statistics
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads of both")
    args = ap.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(args.threads))
    import numpy as np
    import tapegrad
    import torch
    from tapegrad.bench.mnist import mnist_step, sgemm_times
    torch.set_num_threads(args.threads)
    steps = {"tapegrad": mnist_step(tapegrad, tapegrad.nn.functional, tapegrad.optim),
             "torch": mnist_step(torch, torch.nn.functional, torch.optim)}
    losses = {k: [s(i).item() for i in range(10)] for k, s in steps.items()}
    np.testing.assert_allclose(losses["tapegrad"], losses["torch"], rtol=1e-4)
    print(f"losses equal over 10 steps (first {losses['torch'][0]:.6f}, "
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
    print(f"tapegrad eager / torch eager: {med['tapegrad'] / med['torch']:.2f}x "
          "(target <= 1.1)")
    gemm = {"tapegrad": sgemm_times(tapegrad), "torch": sgemm_times(torch)}
    print("bare float32 products of one step (us, each engine's matmul, no graph):")
    for shape in gemm["torch"]:
        print(f"  {shape:12s} tapegrad {gemm['tapegrad'][shape]:7.1f}   "
              f"torch {gemm['torch'][shape]:7.1f}")
    total = {k: sum(v.values()) for k, v in gemm.items()}
    print(f"  {'sum':12s} tapegrad {total['tapegrad']:7.1f}   torch {total['torch']:7.1f}"
          f"   ({total['tapegrad'] / total['torch']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
