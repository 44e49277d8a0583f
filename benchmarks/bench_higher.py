#!/usr/bin/env python
"""Higher-order benchmarks (issue 13): gradients of gradients, eager and replayed
(``tapegrad.compile``), against PyTorch eager, all timed in one process.

pinn   1-D Poisson PINN step: MLP 1-32-32-1 (tanh), 256 points, u'' from two nested
       autograd.grad(create_graph=True), backward and SGD (us/step)
hvp    Hessian-vector product of the small MLP's loss (batch 64, 32-64-10) with
       respect to all parameters (us/product)

Examples::

    python benchmarks/bench_higher.py                # full run
    python benchmarks/bench_higher.py --quick        # short run
    python benchmarks/bench_higher.py --engines c,torch --workloads pinn

See benchmarks/README.md for what each workload measures.
"""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _runner import run

if __name__ == "__main__":
    sys.exit(run("python benchmarks/bench_higher.py", "HIGHER_WORKLOADS"))
