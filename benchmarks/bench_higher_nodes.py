#!/usr/bin/env python
"""Issue 13's per-node target: a second-order step costs no more than 4x the
first-order step on the same graph, measured as replayed time per recorded node.

Both steps use the PINN network of ``python -m tapegrad bench --workloads pinn``
(MLP 1-32-32-1, tanh, 256 float32 points) and are replayed with
``tapegrad.compile`` (forward and backward in C), in one process, interleaved:

first   loss = mean((u + s)^2) + sum(u(ends)^2), backward: a first-order sweep
second  the PINN step: u'' from two nested autograd.grad(create_graph=True) in the
        loss, then backward: a sweep through the double-backward nodes

Prints us/step, recorded nodes and ns/node for each, and the ratio of ns/node.

    python benchmarks/bench_higher_nodes.py [--steps 200] [--repeats 5]
"""

import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import tapegrad
from tapegrad import nn
from tapegrad.bench.higher import PINN_HIDDEN, PINN_POINTS, _pinn_params


def _model():
    model = nn.Sequential(nn.Linear(1, PINN_HIDDEN), nn.Tanh(),
                          nn.Linear(PINN_HIDDEN, PINN_HIDDEN), nn.Tanh(),
                          nn.Linear(PINN_HIDDEN, 1))
    with tapegrad.no_grad():
        for p, a in zip(model.parameters(), _pinn_params(0)):
            p.copy_(tapegrad.from_numpy(a.copy()))
    return model


def steps():
    model = _model()
    ends = tapegrad.tensor([[0.0], [1.0]])

    def first(x, src):
        r = model(x) + src
        ub = model(ends)
        return (r * r).mean() + (ub * ub).sum()

    def second(x, src):
        u = model(x)
        (du,) = tapegrad.autograd.grad(u.sum(), [x], create_graph=True)
        (d2u,) = tapegrad.autograd.grad(du.sum(), [x], create_graph=True)
        r = d2u + src
        ub = model(ends)
        return (r * r).mean() + (ub * ub).sum()

    xs = np.linspace(0.0, 1.0, PINN_POINTS, dtype=np.float32).reshape(-1, 1)
    x = tapegrad.from_numpy(xs.copy()).requires_grad_(True)
    src = tapegrad.from_numpy((math.pi ** 2 * np.sin(math.pi * xs)).astype(np.float32))
    return model, {"first": tapegrad.compile(first), "second": tapegrad.compile(second)}, x, src


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    model, compiled, x, src = steps()
    for step in compiled.values():
        step(x, src)                                    # records
    times = {name: [] for name in compiled}
    for _ in range(args.repeats):
        for name, step in compiled.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(x, src)
            times[name].append((time.perf_counter() - t0) / args.steps)
    per_node = {}
    for name, step in compiled.items():
        us = statistics.median(times[name]) * 1e6
        nodes = step.tape.nodes
        per_node[name] = us * 1e3 / nodes
        print(f"{name:7s} {us:9.1f} us/step  {nodes:4d} nodes  {per_node[name]:8.1f} ns/node")
    ratio = per_node["second"] / per_node["first"]
    print(f"second-order / first-order, replayed time per recorded node: {ratio:.2f}x "
          f"(target <= 4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
