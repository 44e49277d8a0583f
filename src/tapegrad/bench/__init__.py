"""Benchmark workloads for tapegrad's engines, and the table they print
(``python -m tapegrad bench``).

Every workload is a function that takes an *engine* and runs it from Python
the way a user would, returning a dict of measurements; all engines are timed
in one process, so the table can show ratios. The subpackage, by concern:

settings   what a run is: ``BenchConfig`` (engines, workloads, ``Sizes``, BLAS
           threads, clock), ``FULL`` and ``QUICK`` sizes, the shared constants
timing     the clock (``set_clock``), gc control, medians, interleaved runs
scalar     chain, demo (micrograd's demo.ipynb step) and micrograd-style MLP
tensor     overhead, mlp, matmul (and their numpy-by-hand twins)
replay     demo-replay, mlp-replay, chain-replay (``compile`` / ``record``)
peers      the engines as rows: tapegrad's two, micrograd, torch, numpy
machine    BLAS threads and the environment
checks     do the engines compute the same numbers?
runner     ``run(config)``: every workload on every engine, a JSON-able report
report     ``format_table(report, annotator)``: the text table
cli        ``main(argv)``: the command line

The package holds no per-issue targets: the repository's benchmarks/ scripts
add them to the table through a ``report.Annotator``.
"""

from .cli import main
from .peers import Row, load_rows
from .replay import chain_replay, demo_replay, graph_nodes, mlp_replay
from .report import Annotator, format_table
from .runner import run
from .scalar import MLP, Layer, Neuron, OpsNeuron, chain, demo, demo_loss, make_moons
from .settings import (ALL_ENGINES, ALL_WORKLOADS, ALPHA, FULL, HIGHER_WORKLOADS, N_SAMPLES,
                       QUICK, REPLAY_WORKLOADS, SCALAR_WORKLOADS, SEED, TENSOR_WORKLOADS,
                       BenchConfig, Sizes)
from .tensor import matmul, matmul_numpy, mlp, mlp_numpy, overhead
from .timing import CLOCKS, median, set_clock

__all__ = [
    "ALL_ENGINES", "ALL_WORKLOADS", "ALPHA", "Annotator", "BenchConfig", "CLOCKS", "FULL",
    "HIGHER_WORKLOADS",
    "Layer", "MLP", "N_SAMPLES", "Neuron", "OpsNeuron", "QUICK", "REPLAY_WORKLOADS", "Row",
    "SCALAR_WORKLOADS", "SEED", "Sizes", "TENSOR_WORKLOADS", "chain", "chain_replay", "demo",
    "demo_loss", "demo_replay", "format_table", "graph_nodes", "load_rows", "main",
    "make_moons", "matmul", "matmul_numpy", "median", "mlp", "mlp_numpy", "mlp_replay",
    "overhead", "run", "set_clock",
]
