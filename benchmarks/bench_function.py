#!/usr/bin/env python
"""Custom autograd.Function cost (issue 12 targets), compiled engine vs torch eager.

1. per call: forward + backward of ``Identity.apply(x)`` (x * 1 in forward, g in
   backward) against the same op without a Function; and the Python calls the engine
   makes per node: one into ``apply`` (the user's), one from the C sweep into
   ``ctx._engine_backward`` (counted with sys.setprofile).
2. sweep: backward of a chain of N small tensor ops, with and without one custom
   node in its middle; the time spent in the node's Python step is measured and
   subtracted, so the remainder shows what the other nodes cost (they stay in C).

    PYTHONPATH=src python benchmarks/bench_function.py [--quick]
"""

import argparse
import statistics
import sys
import time

import tapegrad as tg
from tapegrad.autograd import Function
from tapegrad.autograd.function import BackwardCFunction


class Identity(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        return g


def best(fn, repeats, inner):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return min(times)


def per_call(M, F, repeats, inner):
    x = M.ones(16, dtype=M.float64, requires_grad=True)

    def with_fn():
        F.apply(x).sum().backward()

    def without():
        (x * 1.0).sum().backward()
    return best(with_fn, repeats, inner), best(without, repeats, inner)


def python_calls_from_sweep():
    """Python functions entered directly from the engine during one backward."""
    x = tg.ones(16, dtype=tg.float64, requires_grad=True)
    loss = Identity.apply(x).sum()
    entered = []
    depth = [0]

    def prof(frame, event, arg):
        if event == "call":
            if depth[0] == 0:
                entered.append(frame.f_code.co_name)
            depth[0] += 1
        elif event == "return":
            depth[0] -= 1
    sys.setprofile(prof)
    try:
        loss.backward()
    finally:
        sys.setprofile(None)
    return entered


def chain(x, n, custom):
    h = x
    for k in range(n):
        h = (h * 1.0001).tanh() if k % 2 else h + 0.001
        if custom and k == n // 2:
            h = Identity.apply(h)
    return h.sum()


def sweep(n, repeats):
    x = tg.ones(16, dtype=tg.float64, requires_grad=True)
    spent = []
    original = BackwardCFunction._engine_backward

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            spent.append(time.perf_counter() - t0)
    out = {}
    for custom in (False, True):
        times = []
        for _ in range(repeats):
            loss = chain(x, n, custom)
            spent.clear()
            BackwardCFunction._engine_backward = timed
            try:
                t0 = time.perf_counter()
                loss.backward()
                times.append(time.perf_counter() - t0 - sum(spent))
            finally:
                BackwardCFunction._engine_backward = original
        out[custom] = (statistics.median(times), sum(spent))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--chain", type=int, default=4000)
    args = ap.parse_args()
    repeats, inner = (3, 200) if args.quick else (7, 1000)
    c_with, c_without = per_call(tg, Identity, repeats, inner)
    print(f"per call (fwd+bwd, 16 float64), compiled: Function {c_with * 1e6:.1f} us, "
          f"plain op {c_without * 1e6:.1f} us, Function node overhead "
          f"{(c_with - c_without) * 1e6:.1f} us")
    try:
        import torch

        class TIdentity(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1.0

            @staticmethod
            def backward(ctx, g):
                return g
        t_with, t_without = per_call(torch, TIdentity, repeats, inner)
        print(f"per call, torch eager: Function {t_with * 1e6:.1f} us, plain op "
              f"{t_without * 1e6:.1f} us, overhead {(t_with - t_without) * 1e6:.1f} us")
    except ImportError:
        print("torch not installed: no comparison")
    calls = python_calls_from_sweep()
    print(f"Python calls the C sweep makes for one custom node: {len(calls)} {calls}")
    res = sweep(args.chain, 5 if args.quick else 15)
    (plain, _), (custom, py) = res[False], res[True]
    print(f"sweep of {args.chain} nodes: without custom node {plain * 1e6:.0f} us; with one, "
          f"excluding its Python step ({py * 1e6:.0f} us), {custom * 1e6:.0f} us "
          f"({(custom / plain - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
