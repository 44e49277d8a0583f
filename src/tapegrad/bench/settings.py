"""What a benchmark run is: the engines, the workloads, their sizes, and the
constants every workload shares (seed, data sizes)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Tuple

ALL_ENGINES = ("c", "reference", "micrograd", "torch", "numpy")
SCALAR_WORKLOADS = ("chain", "demo")
TENSOR_WORKLOADS = ("overhead", "mlp", "matmul", "adamw", "makemore", "makemore3", "mnist",
                    "char-lstm")
REPLAY_WORKLOADS = ("demo-replay", "mlp-replay", "chain-replay")
HIGHER_WORKLOADS = ("pinn", "hvp")      # gradients of gradients, eager and replayed
RANDOM_WORKLOADS = ("randn",)
ALL_WORKLOADS = (SCALAR_WORKLOADS + TENSOR_WORKLOADS + REPLAY_WORKLOADS + HIGHER_WORKLOADS
                 + RANDOM_WORKLOADS)
# Which workloads each engine runs (numpy is only a peer of the tensor ones it
# can do by hand; micrograd has no tensors; micrograd with gc off is the peer
# of demo-replay).
ENGINE_WORKLOADS = {
    "c": ALL_WORKLOADS,
    "reference": tuple(w for w in ALL_WORKLOADS if w != "char-lstm"),   # minutes there
    "micrograd": SCALAR_WORKLOADS,
    "micrograd-gcoff": SCALAR_WORKLOADS + ("demo-replay",),
    "torch": ("chain",) + TENSOR_WORKLOADS + ("mlp-replay",) + HIGHER_WORKLOADS
              + RANDOM_WORKLOADS,
    "numpy": ("mlp", "matmul", "mlp-replay"),   # adamw: no numpy twin
}
# Workloads that multiply matrices (BLAS threads are set for them).
BLAS_WORKLOADS = TENSOR_WORKLOADS + ("mlp-replay",) + HIGHER_WORKLOADS

# The chain's (x0, y). Its gradients shrink about e-fold per 4 ops, so past ~700
# ops they leave the normal range; with y < 0.5 every g*y rounds the smallest
# subnormal to 0, so they reach exact zero within ~40 nodes (the true values, e^-n,
# round to 0) and the sweep times normal arithmetic.
CHAIN_START = (0.5, 0.4)
# The underflowing chain (the old start): from y = 0.7 the gradients stick at the
# smallest subnormals (0.7 * 5e-324 rounds back up) all along the sweep, which is
# 10-15x slower on many x86 CPUs unless subnormals are flushed (set_flush_denormal).
CHAIN_SUBNORMAL_START = (0.5, 0.7)

SEED = 1337          # micrograd's demo.ipynb seeds numpy and random with 1337
N_SAMPLES = 100
NOISE = 0.1
ALPHA = 1e-4
OVERHEAD_SIZES = (1, 8)
MLP_SHAPE = (64, 32, 64, 10)   # batch, in, hidden, out
MLP_LR = 0.01


@dataclass
class Sizes:
    """How long each workload runs. The defaults are the full run. A 100-step
    demo run is itself an average over 100 steps; peers get one run by default
    (micrograd with gc enabled needs minutes for one)."""

    chain_ops: int = 100_000
    chain_repeats: int = 5
    demo_steps: int = 100
    demo_repeats: int = 3
    peer_demo_repeats: int = 1
    peer_demo_warmup: int = 2
    op_block_s: float = 0.2
    op_repeats: int = 7
    mlp_steps: int = 200
    mlp_repeats: int = 5
    matmul_n: int = 512
    matmul_steps: int = 10
    matmul_repeats: int = 5
    demo_replay_steps: int = 100
    demo_replay_repeats: int = 5
    higher_steps: int = 50
    higher_repeats: int = 5
    randn_n: int = 1_000_000
    randn_repeats: int = 7
    lstm_steps: int = 50
    lstm_repeats: int = 5

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "Sizes":
        return dataclasses.replace(self, **changes)


FULL = Sizes()
QUICK = Sizes(chain_ops=20_000, chain_repeats=3, demo_steps=3, demo_repeats=1,
              peer_demo_repeats=1, peer_demo_warmup=0,
              op_block_s=0.05, op_repeats=3, mlp_steps=50, mlp_repeats=3,
              matmul_n=512, matmul_steps=3, matmul_repeats=3,
              demo_replay_steps=5, demo_replay_repeats=3, higher_steps=5, higher_repeats=2,
              randn_repeats=3, lstm_steps=10, lstm_repeats=3)


@dataclass
class BenchConfig:
    """One benchmark run: which engines and workloads, how long (``sizes``),
    ``gc_off_all`` (also time tapegrad's engines with gc disabled), ``blas``
    (BLAS threads for numpy, SciPy and torch; None: leave them as they are) and
    ``clock`` ("wall" or "cpu", see ``timing.set_clock``)."""

    engines: Tuple[str, ...] = ALL_ENGINES
    workloads: Tuple[str, ...] = ALL_WORKLOADS
    sizes: Sizes = field(default_factory=Sizes)
    gc_off_all: bool = False
    blas: Optional[int] = 1
    clock: str = "wall"

    def __post_init__(self):
        self.engines = tuple(self.engines)
        self.workloads = tuple(self.workloads)

    def as_json(self, loadavg_start=None) -> dict:
        """The ``config`` section of the report (the keys of the JSON output)."""
        s = self.sizes
        return {"engines": list(self.engines), "chain_ops": 4 * max(1, s.chain_ops // 4),
                "chain_repeats": s.chain_repeats, "demo_steps": s.demo_steps,
                "demo_repeats": s.demo_repeats, "peer_demo_repeats": s.peer_demo_repeats,
                "peer_demo_warmup": s.peer_demo_warmup,
                "workloads": list(self.workloads),
                "seed": SEED, "n_samples": N_SAMPLES, "noise": NOISE,
                "op_block_s": s.op_block_s, "op_repeats": s.op_repeats,
                "op_sizes": list(OVERHEAD_SIZES),
                "mlp_steps": s.mlp_steps, "mlp_repeats": s.mlp_repeats,
                "mlp_shape": list(MLP_SHAPE),
                "mlp_lr": MLP_LR, "matmul_n": s.matmul_n, "matmul_steps": s.matmul_steps,
                "matmul_repeats": s.matmul_repeats, "randn_n": s.randn_n,
                "randn_repeats": s.randn_repeats, "blas_threads_requested": self.blas,
                "loadavg_start": loadavg_start, "clock": self.clock,
                "demo_replay_steps": max(2, s.demo_replay_steps),
                "demo_replay_repeats": s.demo_replay_repeats,
                "lstm_steps": s.lstm_steps, "lstm_repeats": s.lstm_repeats}
