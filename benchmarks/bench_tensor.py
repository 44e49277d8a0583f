#!/usr/bin/env python
"""Tensor benchmarks (issue 3): tapegrad's compiled engine vs the pure-Python
reference, numpy by hand and PyTorch eager, all timed in one process.

A thin wrapper over ``tapegrad.bench`` (the same code as ``python -m tapegrad
bench``, plus the targets of targets.py) that runs the tensor workloads by
default:

overhead  ``(x * w + b).sum().backward()`` on 1- and 8-element float32 tensors (us/iter)
mlp       one SGD step of Linear 32->64, tanh, Linear 64->10, MSE, batch 64 (us/step)
matmul    ``relu(A @ B).sum()`` forward + backward, 512x512 float32 (ms/step)
adamw     ``AdamW.step()`` over the mlp's parameters, gradients fixed (us/step)

Examples::

    python benchmarks/bench_tensor.py                    # full run (under a minute)
    python benchmarks/bench_tensor.py --quick            # short run (seconds, plus torch's import)
    python benchmarks/bench_tensor.py --workloads matmul --matmul-n 1024
    python benchmarks/bench_tensor.py --blas-threads 2   # same BLAS threads for every engine
    python benchmarks/bench_tensor.py --engines reference,numpy   # no compiled engine needed
    python benchmarks/bench_tensor.py --json results.json

See benchmarks/README.md for what each workload measures.
"""

import os
import sys

# Before numpy's first import (``import tapegrad`` imports it): one BLAS thread
# unless the user chose otherwise. The bench also sets the count through each
# library's API, so this is belt and braces.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _runner import run

if __name__ == "__main__":
    sys.exit(run("python benchmarks/bench_tensor.py", "TENSOR_WORKLOADS"))
