"""The makemore MLP step (issue 11, item 8): Karpathy's makemore part 2 network.

Embedding lookup ``C[X]`` (C 27x10, block 3), ``W1`` 30x200 + tanh, ``W2`` 200x27,
batch 32, ``F.cross_entropy``, and the SGD update by hand (``p.data += -lr *
p.grad``), float32, from the same initial weights and batches in every engine.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from .settings import SEED
from .timing import Case, training_case

MAKEMORE_LR = 0.1
N_BATCHES = 16


def makemore_data(seed: int = SEED) -> Tuple[Dict[str, Any], List[Tuple[Any, Any]]]:
    """Initial weights (float32 numpy arrays) and N_BATCHES (X, Y) batches."""
    import numpy as np
    rng = np.random.default_rng(seed)
    weights = {"C": rng.standard_normal((27, 10)),
               "W1": rng.standard_normal((30, 200)) * 0.2,
               "b1": rng.standard_normal(200) * 0.01,
               "W2": rng.standard_normal((200, 27)) * 0.01,
               "b2": np.zeros(27)}
    batches = [(rng.integers(0, 27, (32, 3)), rng.integers(0, 27, 32))
               for _ in range(N_BATCHES)]
    return {k: v.astype(np.float32) for k, v in weights.items()}, batches


def makemore_step(T: Any, F: Any, seed: int = SEED) -> Callable[[int], Any]:
    """step(i) -> the loss of batch i (before the update), for tensor module T
    (tapegrad, an engine or torch) and its functional F."""
    weights, batches = makemore_data(seed)
    params = [T.tensor(weights[k].tolist(), dtype=T.float32, requires_grad=True)
              for k in ("C", "W1", "b1", "W2", "b2")]
    C, W1, b1, W2, b2 = params
    data = [(T.tensor(X.tolist(), dtype=T.int64), T.tensor(Y.tolist(), dtype=T.int64))
            for X, Y in batches]

    def step(i: int) -> Any:
        X, Y = data[i % len(data)]
        emb = C[X]
        h = (emb.view(-1, 30) @ W1 + b1).tanh()
        loss = F.cross_entropy(h @ W2 + b2, Y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -MAKEMORE_LR * p.grad
        return loss
    return step


def makemore_case(api: Any, steps: int, gc_off: bool = False, warmup_steps: int = 5) -> Case:
    """One engine's makemore run: ``run()`` trains from the initial weights for
    ``steps`` steps; ``{"us_per_step", "loss", "losses"}`` (losses of the first 5)."""
    return training_case(lambda: makemore_step(api.T, api.nn.functional), steps,
                         warmup_steps, gc_off)
