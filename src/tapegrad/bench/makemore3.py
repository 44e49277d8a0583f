"""The makemore part-3 step (issue 12, items 8-9): Karpathy's nn-zero-to-hero part 3
network with batch normalisation.

``Embedding(27, 10)`` over a block of 3 characters, flattened, then
``Linear(30, 100, bias=False) -> BatchNorm1d(100) -> Tanh`` and four more
``Linear(100, 100, bias=False) -> BatchNorm1d(100) -> Tanh``, then
``Linear(100, 27, bias=False) -> BatchNorm1d(27)``; the last BatchNorm's weight
scaled by 0.1 and the Linear weights by 5/3 (the lecture's init), ``F.cross_entropy``,
``optim.SGD(lr=0.1)``, batch 32, float32. The data: a deterministic synthetic name
list (no download). ``torch.manual_seed`` and ``tapegrad.manual_seed`` give the
same initial weights (torch's streams), so every engine starts from torch's.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from .settings import SEED
from .timing import Case, training_case

VOCAB = 27          # '.' and a-z
BLOCK = 3
N_EMBD = 10
N_HIDDEN = 100
HIDDEN_LAYERS = 4   # after the first; 6 Linear + 6 BatchNorm1d in all
BATCH = 32
LR = 0.1

_SYLLABLES = ("an", "na", "el", "la", "ma", "ri", "is", "ja", "ke", "ly", "mi", "ya", "ro",
              "sa", "th", "ev", "ie", "or", "da", "li", "ch", "zo", "bu", "qu", "ex", "fo",
              "gw", "ph", "ve", "n", "a", "e", "y", "h")


def names(count: int = 2000, seed: int = SEED) -> List[str]:
    """count pseudo-names of 2 to 4 syllables, the same for a seed."""
    import numpy as np
    rng = np.random.default_rng(seed)
    return ["".join(_SYLLABLES[k] for k in rng.integers(0, len(_SYLLABLES), rng.integers(2, 5)))
            for _ in range(count)]


def dataset(words: List[str]) -> Tuple[Any, Any]:
    """(X, Y) int64 numpy arrays: each BLOCK-character context and its next character."""
    import numpy as np
    xs, ys = [], []
    for w in words:
        context = [0] * BLOCK
        for ch in w + ".":
            ix = 0 if ch == "." else ord(ch) - ord("a") + 1
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]
    return np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)


def batches(steps: int, seed: int = SEED) -> List[Tuple[Any, Any]]:
    """steps (X, Y) minibatches of BATCH rows drawn from the dataset."""
    import numpy as np
    X, Y = dataset(names(seed=seed))
    rng = np.random.default_rng(seed + 1)
    out = []
    for _ in range(steps):
        ix = rng.integers(0, X.shape[0], BATCH)
        out.append((X[ix], Y[ix]))
    return out


def build_model(T: Any, nn: Any, seed: int = 42) -> Any:
    """The network, seeded with T.manual_seed(seed) (torch's weights on every engine)."""
    T.manual_seed(seed)
    layers = [nn.Embedding(VOCAB, N_EMBD), nn.Flatten(),
              nn.Linear(N_EMBD * BLOCK, N_HIDDEN, bias=False), nn.BatchNorm1d(N_HIDDEN),
              nn.Tanh()]
    for _ in range(HIDDEN_LAYERS):
        layers += [nn.Linear(N_HIDDEN, N_HIDDEN, bias=False), nn.BatchNorm1d(N_HIDDEN),
                   nn.Tanh()]
    layers += [nn.Linear(N_HIDDEN, VOCAB, bias=False), nn.BatchNorm1d(VOCAB)]
    model = nn.Sequential(*layers)
    with T.no_grad():
        model[-1].weight *= 0.1
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight *= 5 / 3
    return model


def makemore3_step(T: Any, nn: Any, optim: Any, steps: int = 64, dtype: Any = None,
                   replay: Any = None, seed: int = SEED) -> Tuple[Callable[[int], Any], Any]:
    """(step, model): step(i) trains on batch i (mod steps) and returns the loss before
    the update; eager, or through replay (a compile function) when given.

    A replay cannot take index tensors as arguments yet (their values are read off the
    graph, so each new batch would record again): the replayed step feeds the
    embedding as one_hot(X) @ C (Karpathy's part-2 identity, the same values) with the
    one-hot rows prepared with the batches, and the rest of the network unchanged."""
    model = build_model(T, nn)
    if dtype is not None:
        model.to(dtype)
    F = nn.functional
    opt = optim.SGD(model.parameters(), lr=LR)
    raw = batches(steps, seed)
    data = [(T.tensor(X.tolist(), dtype=T.int64), T.tensor(Y.tolist(), dtype=T.int64))
            for X, Y in raw]
    call: Callable[[Any, Any], Any]
    if replay is None:
        def call(xb: Any, yb: Any) -> Any:
            return F.cross_entropy(model(xb), yb)
    else:
        import numpy as np
        eye = np.eye(VOCAB, dtype=np.float32 if dtype is None else None)
        data = [(T.tensor(eye[X.reshape(-1)].tolist(), dtype=model[0].weight.dtype), yb)
                for (X, _), (_, yb) in zip(raw, data)]
        emb, body = model[0], model[2:]

        def loss_of(xoh: Any, yb: Any) -> Any:
            return F.cross_entropy(body((xoh @ emb.weight).view(-1, N_EMBD * BLOCK)), yb)
        call = replay(loss_of)

    def step(i: int) -> Any:
        xb, yb = data[i % len(data)]
        opt.zero_grad()
        loss = call(xb, yb)
        if replay is None:
            loss.backward()
        opt.step()
        return loss
    return step, model


def makemore3_case(api: Any, steps: int, gc_off: bool = False, warmup_steps: int = 5,
                   replay: Any = None) -> Case:
    """One engine's run: ``run()`` trains a fresh model for ``steps`` steps;
    ``{"us_per_step", "loss", "losses"}`` (losses of the first 5 steps)."""
    return training_case(lambda: makemore3_step(api.T, api.nn, api.optim, replay=replay)[0],
                         steps, warmup_steps, gc_off, record_first=True)
