#!/usr/bin/env python
"""Scalar-engine benchmarks: tapegrad's compiled engine vs the pure-Python
reference, and micrograd / PyTorch where installed.

A thin wrapper over ``tapegrad.bench`` (the same code as ``python -m tapegrad
bench``, plus the targets of targets.py) that runs the scalar workloads
(chain, demo) by default; the tensor ones are in bench_tensor.py. Examples::

    python benchmarks/bench_scalar.py                 # full run (a few minutes)
    python benchmarks/bench_scalar.py --quick         # short run
    python benchmarks/bench_scalar.py --chain-ops 1000000 --chain-repeats 3 --workloads chain
    python benchmarks/bench_scalar.py --engines reference,micrograd   # no compiled engine needed
    python benchmarks/bench_scalar.py --json results.json             # table + JSON file

See benchmarks/README.md for what each workload measures.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _runner import run

if __name__ == "__main__":
    sys.exit(run("python benchmarks/bench_scalar.py", "SCALAR_WORKLOADS"))
