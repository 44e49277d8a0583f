"""The character-level LSTM language-model step (issue 16, item 5).

Embedding 27 -> 16, one ``nn.LSTM`` layer of hidden size 64 (batch_first), sequence
length 32, batch 8, ``nn.Linear`` 64 -> 27, ``F.cross_entropy`` over every position,
``optim.Adam`` (lr 1e-2), float32, from the same initial weights and batches in every
engine. Timed eager (``loss.backward()``) and, for tapegrad's engines, replayed
(``step = compile(loss_fn)``; a step is ``opt.zero_grad(); step(x, y); opt.step()``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from .settings import SEED
from .timing import Case, training_case

VOCAB, EMBED, HIDDEN, SEQ_LEN, BATCH = 27, 16, 64, 32, 8
LSTM_LR = 1e-2
N_BATCHES = 8


def charlstm_data(seed: int = SEED) -> Tuple[Dict[str, Any], List[Tuple[Any, Any]]]:
    """Initial weights (float32 numpy arrays by state_dict name, torch's init
    distributions) and N_BATCHES (X, Y) batches of character ids."""
    import numpy as np
    rng = np.random.default_rng(seed)
    k = 1.0 / HIDDEN ** 0.5
    lin = 1.0 / HIDDEN ** 0.5
    weights = {"emb.weight": rng.standard_normal((VOCAB, EMBED)),
               "lstm.weight_ih_l0": rng.uniform(-k, k, (4 * HIDDEN, EMBED)),
               "lstm.weight_hh_l0": rng.uniform(-k, k, (4 * HIDDEN, HIDDEN)),
               "lstm.bias_ih_l0": rng.uniform(-k, k, 4 * HIDDEN),
               "lstm.bias_hh_l0": rng.uniform(-k, k, 4 * HIDDEN),
               "lin.weight": rng.uniform(-lin, lin, (VOCAB, HIDDEN)),
               "lin.bias": rng.uniform(-lin, lin, VOCAB)}
    text = rng.integers(0, VOCAB, N_BATCHES * BATCH * (SEQ_LEN + 1))
    seqs = text.reshape(N_BATCHES, BATCH, SEQ_LEN + 1)
    batches = [(s[:, :-1], s[:, 1:]) for s in seqs]       # predict the next character
    return {k: v.astype(np.float32) for k, v in weights.items()}, batches


def charlstm_model(api: Any, seed: int = SEED) -> Tuple[Any, Any, List[Tuple[Any, Any]]]:
    """(model, loss_fn(x, y), batches as api tensors): the model's modules hold the
    charlstm_data weights."""
    T, nn = api.T, api.nn
    weights, batches = charlstm_data(seed)
    model = nn.Module()
    model.emb = nn.Embedding(VOCAB, EMBED)
    model.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
    model.lin = nn.Linear(HIDDEN, VOCAB)
    model.load_state_dict({k: T.tensor(v) for k, v in weights.items()})
    F = nn.functional

    def loss_fn(x: Any, y: Any) -> Any:
        out, _ = model.lstm(model.emb(x))
        logits = model.lin(out)
        return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))

    data = [(T.tensor(X, dtype=T.int64), T.tensor(Y, dtype=T.int64)) for X, Y in batches]
    return model, loss_fn, data


def charlstm_step(api: Any, replay: Any = None, seed: int = SEED) -> Callable[[int], Any]:
    """step(i) -> the loss of batch i (before the update). ``replay``: the engine's
    compile/record namespace to replay the step, None for eager."""
    model, loss_fn, data = charlstm_model(api, seed)
    opt = api.optim.Adam(model.parameters(), lr=LSTM_LR)
    compiled = replay.compile(loss_fn) if replay is not None else None

    def step(i: int) -> Any:
        x, y = data[i % len(data)]
        opt.zero_grad()
        if compiled is not None:
            loss = compiled(x, y)
        else:
            loss = loss_fn(x, y)
            loss.backward()
        opt.step()
        return loss
    return step


def charlstm_case(api: Any, steps: int, replay: Any = None, gc_off: bool = False,
                  warmup_steps: int = 3) -> Case:
    """One engine's run: ``run()`` trains from the initial weights for ``steps`` steps
    (a replayed run records in its first, untimed, step); ``{"us_per_step", "loss",
    "losses"}`` (losses of the first 5 steps, loss of the last)."""
    return training_case(lambda: charlstm_step(api, replay), steps, warmup_steps, gc_off,
                         record_first=True)
