"""The MNIST-size MLP step (issue 11, item 8): 784-512-512-10, batch 64, ReLU,
``F.cross_entropy`` and ``optim.SGD``, float32, from the same initial weights and
batches in every engine. BLAS-bound: its floor is the sgemm each engine calls, which
``sgemm_times`` measures bare (the forward and backward products of one step)."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple

from .settings import SEED
from .timing import Case, median, training_case

MNIST_SHAPE = (64, 784, 512, 512, 10)    # batch, in, hidden, hidden, classes
MNIST_LR = 0.01
N_BATCHES = 4


def mnist_data(seed: int = SEED) -> Tuple[List[Any], List[Tuple[Any, Any]]]:
    """Initial weights (float32 numpy arrays, torch's Linear scale) and N_BATCHES
    (X, Y) batches of pixel-like inputs and class labels."""
    import numpy as np
    rng = np.random.default_rng(seed)
    batch, *widths = MNIST_SHAPE
    weights = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        bound = 1.0 / fan_in ** 0.5
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    batches = [(rng.uniform(0, 1, (batch, widths[0])).astype(np.float32),
                rng.integers(0, widths[-1], batch)) for _ in range(N_BATCHES)]
    return weights, batches


def mnist_step(T: Any, F: Any, optim: Any, seed: int = SEED) -> Callable[[int], Any]:
    """step(i) -> the loss of batch i (before the update), for tensor module T
    (tapegrad, an engine or torch), its functional F and its optim."""
    weights, batches = mnist_data(seed)
    params = [T.tensor(w, requires_grad=True) for w in weights]
    data = [(T.tensor(X), T.tensor(Y)) for X, Y in batches]
    opt = optim.SGD(params, lr=MNIST_LR)

    def step(i: int) -> Any:
        X, Y = data[i % len(data)]
        h = X
        for k in range(0, len(params) - 2, 2):
            h = (h @ params[k] + params[k + 1]).relu()
        loss = F.cross_entropy(h @ params[-2] + params[-1], Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def mnist_case(api: Any, steps: int, gc_off: bool = False, warmup_steps: int = 3) -> Case:
    """One engine's MNIST-size run: ``run()`` trains from the initial weights for
    ``steps`` steps; ``{"us_per_step", "loss", "losses"}`` (losses of the first 3)."""
    return training_case(lambda: mnist_step(api.T, api.nn.functional, api.optim), steps,
                         warmup_steps, gc_off, first=3)


def sgemm_shapes() -> List[Tuple[int, int, int]]:
    """(m, k, n) of every product of one step: forward X @ W, the input gradient
    G @ W^T and the weight gradient X^T @ G of each layer (as plain products)."""
    batch, *widths = MNIST_SHAPE
    shapes = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        shapes += [(batch, fan_in, fan_out), (fan_in, batch, fan_out)]
        if fan_in != widths[0]:
            shapes.append((batch, fan_out, fan_in))
    return shapes


def sgemm_times(T: Any, repeats: int = 200) -> Dict[str, float]:
    """Microseconds per float32 product (median of 5 blocks of ``repeats``) of each
    (m, k, n) of ``sgemm_shapes`` through T's matmul, no graph recorded."""
    import numpy as np
    rng = np.random.default_rng(SEED)
    out = {}
    for m, k, n in sgemm_shapes():
        a = T.tensor(rng.standard_normal((m, k)).astype(np.float32))
        b = T.tensor(rng.standard_normal((k, n)).astype(np.float32))
        blocks = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(repeats):
                a @ b
            blocks.append((time.perf_counter() - t0) / repeats * 1e6)
        out[f"{m}x{k}x{n}"] = median(blocks)
    return out
