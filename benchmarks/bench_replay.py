#!/usr/bin/env python
"""Replay benchmarks: ``tapegrad.compile`` / ``tapegrad.record`` against the
same engine eager, micrograd (gc off) and PyTorch eager, all timed in one process.

A thin wrapper over ``tapegrad.bench`` (the same code as ``python -m tapegrad
bench``, plus the targets of targets.py) that runs the replay workloads by
default:

demo-replay   micrograd's demo step (MLP 2-16-16-1, 100 points) eager vs replayed,
              with micrograd-style per-op neurons (~65k nodes) and engine.dot neurons (ms/step)
mlp-replay    the small tensor MLP step (batch 64, 32->64->10) eager vs replayed (us/step)
chain-replay  10^5 recorded scalar ops: tape.forward and tape.backward timed apart (ns/node)

Examples::

    python benchmarks/bench_replay.py                    # full run (under two minutes)
    python benchmarks/bench_replay.py --quick            # short run (seconds, plus torch's import)
    python benchmarks/bench_replay.py --workloads demo-replay --demo-replay-steps 20
    python benchmarks/bench_replay.py --engines c,micrograd --clock cpu
    python benchmarks/bench_replay.py --json results.json

See benchmarks/README.md for what each workload measures.
"""

import os
import sys

# Before numpy's first import: one BLAS thread unless the user chose otherwise
# (mlp-replay multiplies matrices), as in bench_tensor.py.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _runner import run

if __name__ == "__main__":
    sys.exit(run("python benchmarks/bench_replay.py", "REPLAY_WORKLOADS"))
