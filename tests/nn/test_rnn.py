"""nn.RNN / LSTM / GRU and their cells against torch 2.13, on both engines: outputs,
final states and every gradient (float64 and float32, random shapes, layers,
directions, batch_first, initial states), torch's seeded initialisation, dropout
between layers, unbatched input, reprs, errors, padding + mask, replay, and the
PyTorch tutorial's LSTM part-of-speech tagger trained 100 steps to torch's losses."""

import warnings

import numpy as np
import pytest

from _tensors import assert_close, npy

LAYERS = ("RNN", "LSTM", "GRU")
TOL = {"float64": (1e-10, 1e-12), "float32": (2e-4, 2e-5)}


def to_engine(engine, t, requires_grad=None):
    rg = t.requires_grad if requires_grad is None else requires_grad
    return engine.tensor(t.detach().numpy().copy(), requires_grad=rg)


def copy_weights(engine, module, tmodule):
    """The engine module gets the torch module's parameter values (by name)."""
    module.load_state_dict({k: to_engine(engine, v, False)
                            for k, v in tmodule.state_dict().items()})


def random_config(seed, cls):
    rng = np.random.default_rng(seed)
    kw = dict(num_layers=int(rng.integers(1, 4)), bidirectional=bool(rng.integers(2)),
              batch_first=bool(rng.integers(2)), bias=bool(rng.random() < 0.8))
    if cls == "RNN":
        kw["nonlinearity"] = ["tanh", "relu"][int(rng.integers(2))]
    if cls == "LSTM" and rng.random() < 0.25:
        kw["proj_size"] = 2
    sizes = dict(input_size=int(rng.integers(1, 7)), hidden_size=int(rng.integers(3, 9)),
                 steps=int(rng.integers(1, 7)), batch=int(rng.integers(1, 5)),
                 with_state=bool(rng.integers(2)))
    return kw, sizes


def states_of(cls, hx):
    return list(hx) if cls == "LSTM" else [hx]


def check_grads(module, tmodule, pairs, tol, what):
    rtol, atol = tol
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        assert_close(npy(p.grad), npy(tparams[name].grad), rtol, atol, f"{what} {name}.grad")
    for ours, theirs, label in pairs:
        assert_close(npy(ours.grad), npy(theirs.grad), rtol, atol, f"{what} {label}.grad")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cls", LAYERS)
def test_layer_matches_torch(engine, libs, torch, cls, seed, dtype):
    kw, sz = random_config(seed * 7 + len(cls), cls)
    tdt, edt = getattr(torch, dtype), getattr(engine, dtype)
    torch.manual_seed(seed)
    tm = getattr(torch.nn, cls)(sz["input_size"], sz["hidden_size"], dtype=tdt, **kw)
    m = getattr(libs.nn, cls)(sz["input_size"], sz["hidden_size"], dtype=edt, **kw)
    copy_weights(engine, m, tm)
    shape = (sz["steps"], sz["batch"], sz["input_size"])
    if kw["batch_first"]:
        shape = (shape[1], shape[0], shape[2])
    tx = torch.randn(*shape, dtype=tdt, requires_grad=True)
    x = to_engine(engine, tx)
    pairs = [(x, tx, "input")]
    targs, args = [tx], [x]
    if sz["with_state"]:
        dirs = 2 if kw["bidirectional"] else 1
        rows = kw["num_layers"] * dirs
        h_size = kw.get("proj_size") or sz["hidden_size"]
        ths = [torch.randn(rows, sz["batch"], h_size, dtype=tdt, requires_grad=True)]
        if cls == "LSTM":
            ths.append(torch.randn(rows, sz["batch"], sz["hidden_size"], dtype=tdt,
                                   requires_grad=True))
        hs = [to_engine(engine, h) for h in ths]
        pairs += [(h, th, f"h0[{k}]") for k, (h, th) in enumerate(zip(hs, ths))]
        targs.append(tuple(ths) if cls == "LSTM" else ths[0])
        args.append(tuple(hs) if cls == "LSTM" else hs[0])
    tout, thx = tm(*targs)
    out, hx = m(*args)
    what = f"{cls}{kw}{sz}"
    rtol, atol = TOL[dtype]
    assert out.dtype == edt
    assert_close(npy(out), npy(tout), rtol, atol, what + " output")
    for k, (h, th) in enumerate(zip(states_of(cls, hx), states_of(cls, thx))):
        assert_close(npy(h), npy(th), rtol, atol, f"{what} state {k}")
    # a loss reading the output and every final state, with distinct weights
    wout = torch.randn(*tout.shape, dtype=tdt)
    tloss = (tout * wout).sum() + sum((k + 2) * s.sum() for k, s in
                                      enumerate(states_of(cls, thx)))
    loss = (out * to_engine(engine, wout)).sum() + sum((k + 2) * s.sum() for k, s in
                                                       enumerate(states_of(cls, hx)))
    tloss.backward()
    loss.backward()
    check_grads(m, tm, pairs, TOL[dtype], what)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ["batched", "batched-state", "unbatched", "no-bias"])
def test_cell_matches_torch(engine, libs, torch, cls, dtype, case):
    tdt, edt = getattr(torch, dtype), getattr(engine, dtype)
    torch.manual_seed(4)
    kw = {"bias": False} if case == "no-bias" else {}
    if cls == "RNNCell" and case == "no-bias":
        kw["nonlinearity"] = "relu"
    tm = getattr(torch.nn, cls)(5, 6, dtype=tdt, **kw)
    m = getattr(libs.nn, cls)(5, 6, dtype=edt, **kw)
    copy_weights(engine, m, tm)
    batch = () if case == "unbatched" else (3,)
    tx = torch.randn(*batch, 5, dtype=tdt, requires_grad=True)
    x = to_engine(engine, tx)
    pairs = [(x, tx, "input")]
    targs, args = [tx], [x]
    if case != "batched":
        ths = [torch.randn(*batch, 6, dtype=tdt, requires_grad=True)
               for _ in range(2 if cls == "LSTMCell" else 1)]
        hs = [to_engine(engine, h) for h in ths]
        pairs += [(h, th, "state") for h, th in zip(hs, ths)]
        targs.append(tuple(ths) if cls == "LSTMCell" else ths[0])
        args.append(tuple(hs) if cls == "LSTMCell" else hs[0])
    tres, res = tm(*targs), m(*args)
    touts = list(tres) if cls == "LSTMCell" else [tres]
    outs = list(res) if cls == "LSTMCell" else [res]
    rtol, atol = TOL[dtype]
    for k, (o, to) in enumerate(zip(outs, touts)):
        assert_close(npy(o), npy(to), rtol, atol, f"{cls} {case} output {k}")
    sum(o.sum() * (k + 1) for k, o in enumerate(outs)).backward()
    sum(o.sum() * (k + 1) for k, o in enumerate(touts)).backward()
    check_grads(m, tm, pairs, TOL[dtype], f"{cls} {case}")


@pytest.mark.parametrize("cls", LAYERS + ("RNNCell", "LSTMCell", "GRUCell"))
def test_seeded_initialisation_is_torchs(engine, libs, torch, cls):
    kw = {"num_layers": 2, "bidirectional": True} if cls in LAYERS else {}
    engine.manual_seed(11)
    torch.manual_seed(11)
    m = getattr(libs.nn, cls)(7, 5, **kw)
    tm = getattr(torch.nn, cls)(7, 5, **kw)
    names = [n for n, _ in m.named_parameters()]
    assert names == [n for n, _ in tm.named_parameters()]
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        assert p.dtype == engine.float32 and tuple(p.shape) == tuple(tp.shape)
        assert np.array_equal(npy(p), npy(tp)), name
    np.testing.assert_array_equal(npy(engine.rand(4)), npy(torch.rand(4)))   # in step


def test_parameter_names_and_shapes(libs, torch):
    for kw in ({}, {"num_layers": 3, "bidirectional": True, "bias": False},
               {"proj_size": 3, "num_layers": 2}):
        m, tm = libs.nn.LSTM(4, 6, **kw), torch.nn.LSTM(4, 6, **kw)
        assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
        assert m._flat_weights_names == tm._flat_weights_names
        assert [[tuple(w.shape) for w in ws] for ws in m.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
    assert [n for n, _ in libs.nn.GRUCell(3, 4).named_parameters()] == \
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert libs.nn.RNNCell(3, 4, bias=False).bias_ih is None


def test_reprs_are_torchs(libs, torch):
    cases = [("LSTM", (16, 64), {"batch_first": True}),
             ("GRU", (3, 4, 2), {"bias": False, "dropout": 0.5, "bidirectional": True}),
             ("RNN", (3, 4), {"nonlinearity": "relu"}), ("RNN", (3, 4, 2, "relu"), {}),
             ("LSTM", (3, 4), {"proj_size": 2}), ("LSTMCell", (3, 4), {"bias": False}),
             ("RNNCell", (3, 4), {"nonlinearity": "relu"}), ("GRUCell", (3, 4), {})]
    for cls, args, kw in cases:
        assert repr(getattr(libs.nn, cls)(*args, **kw)) == \
            repr(getattr(torch.nn, cls)(*args, **kw))
    assert repr(libs.nn.LSTM(16, 64, batch_first=True)) == "LSTM(16, 64, batch_first=True)"


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(engine, libs, torch, cls, batch_first):
    torch.manual_seed(2)
    kw = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    tm = getattr(torch.nn, cls)(3, 4, dtype=torch.float64, **kw)
    m = getattr(libs.nn, cls)(3, 4, dtype=engine.float64, **kw)
    copy_weights(engine, m, tm)
    tx = torch.randn(5, 3, dtype=torch.float64)
    ths = [torch.randn(4, 4, dtype=torch.float64) for _ in range(2 if cls == "LSTM" else 1)]
    targ = tuple(ths) if cls == "LSTM" else ths[0]
    arg = tuple(to_engine(engine, h) for h in ths) if cls == "LSTM" else \
        to_engine(engine, ths[0])
    for t_in, e_in in ((tm(tx), m(to_engine(engine, tx))),
                       (tm(tx, targ), m(to_engine(engine, tx), arg))):
        (tout, thx), (out, hx) = t_in, e_in
        assert tuple(out.shape) == tuple(tout.shape) == (5, 8)
        assert_close(npy(out), npy(tout), 1e-12, 1e-12, f"{cls} unbatched output")
        for h, th in zip(states_of(cls, hx), states_of(cls, thx)):
            assert tuple(h.shape) == tuple(th.shape) == (4, 4)
            assert_close(npy(h), npy(th), 1e-12, 1e-12, f"{cls} unbatched state")


@pytest.mark.parametrize("cls", LAYERS)
def test_dropout_between_layers_is_torchs(engine, libs, torch, cls):
    kw = {"num_layers": 3, "dropout": 0.4, "bidirectional": cls == "GRU"}
    torch.manual_seed(6)
    tm = getattr(torch.nn, cls)(4, 5, dtype=torch.float64, **kw)
    m = getattr(libs.nn, cls)(4, 5, dtype=engine.float64, **kw)
    copy_weights(engine, m, tm)
    tx = torch.randn(6, 3, 4, dtype=torch.float64)
    x = to_engine(engine, tx)
    engine.manual_seed(21)
    torch.manual_seed(21)
    tout, out = tm(tx)[0], m(x)[0]
    assert_close(npy(out), npy(tout), 1e-12, 1e-12, f"{cls} dropout output")
    tout.sum().backward()
    out.sum().backward()
    check_grads(m, tm, [], (1e-10, 1e-12), f"{cls} dropout")
    np.testing.assert_array_equal(npy(engine.rand(3)), npy(torch.rand(3)))
    # eval: no dropout, no draws
    m.eval()
    tm.eval()
    engine.manual_seed(1)
    torch.manual_seed(1)
    assert_close(npy(m(x)[0]), npy(tm(tx)[0]), 1e-12, 1e-12, f"{cls} eval output")
    np.testing.assert_array_equal(npy(engine.rand(3)), npy(torch.rand(3)))  # seed 1 draws
    m.train()
    with torch.no_grad():
        engine.manual_seed(21)
        torch.manual_seed(21)
        a = m(x)[0]
        torch.manual_seed(22)
        b = tm(tx)[0]
    assert not np.allclose(npy(a), npy(b))       # another stream, another mask


def _raises(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as exc:
        return type(exc), str(exc)
    return None, None


def test_errors_are_torchs(engine, libs, torch):
    def cases(M, nn):
        lstm, gru, rnn = nn.LSTM(4, 5), nn.GRU(4, 5), nn.RNN(4, 5)
        cell, gcell, rcell = nn.LSTMCell(4, 5), nn.GRUCell(4, 5), nn.RNNCell(4, 5)
        z = M.zeros
        return {
            "lstm 4D": lambda: lstm(z(2, 3, 4, 1)),
            "lstm 1D": lambda: lstm(z(4)),
            "gru 4D": lambda: gru(z(2, 3, 4, 1)),
            "rnn 4D": lambda: rnn(z(2, 3, 4, 1)),
            "input size": lambda: lstm(z(2, 3, 5)),
            "lstm h size": lambda: lstm(z(2, 3, 4), (z(1, 3, 6), z(1, 3, 5))),
            "lstm c size": lambda: lstm(z(2, 3, 4), (z(1, 3, 5), z(1, 2, 5))),
            "lstm h 2D batched": lambda: lstm(z(2, 3, 4), (z(3, 5), z(3, 5))),
            "lstm h 3D unbatched": lambda: lstm(z(2, 4), (z(1, 1, 5), z(1, 1, 5))),
            "gru h size": lambda: gru(z(2, 3, 4), z(1, 3, 6)),
            "gru h 2D": lambda: gru(z(2, 3, 4), z(3, 5)),
            "gru h 3D unbatched": lambda: gru(z(2, 4), z(1, 1, 5)),
            "rnn h size": lambda: rnn(z(2, 3, 4), z(2, 3, 5)),
            "nonlinearity": lambda: nn.RNN(4, 5, nonlinearity="sig"),
            "dropout range": lambda: nn.LSTM(4, 5, dropout=1.5),
            "dropout bool": lambda: nn.GRU(4, 5, dropout=True),
            "hidden 0": lambda: nn.LSTM(4, 0),
            "layers 0": lambda: nn.LSTM(4, 5, 0),
            "hidden float": lambda: nn.LSTM(4, 5.0),
            "proj gru": lambda: nn.GRU(4, 5, proj_size=2),
            "proj too big": lambda: nn.LSTM(4, 5, proj_size=5),
            "cell 3D": lambda: cell(z(2, 3, 4)),
            "cell 0D": lambda: rcell(z(())),
            "cell input size": lambda: gcell(z(2, 5)),
            "cell h size": lambda: cell(z(2, 4), (z(2, 6), z(2, 5))),
            "cell c size": lambda: cell(z(2, 4), (z(2, 5), z(2, 6))),
            "cell batch": lambda: gcell(z(2, 4), z(3, 5)),
            "cell nonlinearity": lambda: nn.RNNCell(4, 5, nonlinearity="x")(z(2, 4)),
        }
    ours, theirs = cases(engine, libs.nn), cases(torch, torch.nn)
    for name in ours:
        got, want = _raises(ours[name]), _raises(theirs[name])
        assert want[0] is not None, name
        assert got == want, name
    with pytest.raises(ValueError, match="does not match weight dtype"):
        libs.nn.LSTM(4, 5)(engine.zeros(2, 3, 4, dtype=engine.float64))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater"):
        libs.nn.LSTM(4, 5, dropout=0.5)


@pytest.mark.parametrize("cls", LAYERS)
def test_padding_and_mask(engine, libs, torch, cls):
    """Variable lengths: pad, run the batch, read each sequence's last real step with a
    one-hot time mask: equal to running each sequence alone, gradients to torch's."""
    lengths = [5, 2, 4]
    torch.manual_seed(8)
    tm = getattr(torch.nn, cls)(3, 4, batch_first=True, dtype=torch.float64)
    m = getattr(libs.nn, cls)(3, 4, batch_first=True, dtype=engine.float64)
    copy_weights(engine, m, tm)
    data = torch.randn(3, 5, 3, dtype=torch.float64)
    mask_np = np.zeros((3, 5, 1))
    for b, n in enumerate(lengths):
        data[b, n:] = 0.0
        mask_np[b, n - 1] = 1.0

    def last_steps(M, module, x, mask):
        out = module(x)[0]
        return (out * mask).sum(1)

    tx = data.clone().requires_grad_(True)
    x = to_engine(engine, tx)
    tlast = last_steps(torch, tm, tx, torch.tensor(mask_np))
    last = last_steps(engine, m, x, engine.tensor(mask_np))
    assert_close(npy(last), npy(tlast), 1e-12, 1e-12, "masked last steps")
    for b, n in enumerate(lengths):
        alone = m(to_engine(engine, data[b:b + 1, :n], False))[0]
        assert_close(npy(last)[b], npy(alone)[0, -1], 1e-12, 1e-12, f"sequence {b}")
    tlast.pow(2).sum().backward()
    last.pow(2).sum().backward()
    check_grads(m, tm, [(x, tx, "input")], (1e-10, 1e-12), "masked")
    assert np.all(npy(x.grad)[1, 2:] == 0)       # padding gets no gradient


def test_replay_trains_like_eager(engine, libs):
    """A recorded LSTM training step (compile) replays to the eager losses and grads."""
    from tapegrad._replay import api_for
    replay = api_for(engine)

    def build():
        engine.manual_seed(3)
        return (libs.nn.Embedding(10, 4), libs.nn.LSTM(4, 6, batch_first=True),
                libs.nn.Linear(6, 10))

    def loss_fn(mods, x, y):
        emb, lstm, lin = mods
        out = lin(lstm(emb(x))[0])
        return libs.F.cross_entropy(out.reshape(-1, 10), y.reshape(-1))

    rng = np.random.default_rng(0)
    batches = [(engine.tensor(rng.integers(0, 10, (2, 7))),
                engine.tensor(rng.integers(0, 10, (2, 7)))) for _ in range(5)]
    runs = []
    for compiled in (False, True):
        mods = build()
        params = [p for mod in mods for p in mod.parameters()]
        opt = libs.optim.Adam(params, lr=0.01)
        step = replay.compile(lambda x, y: loss_fn(mods, x, y)) if compiled else None
        losses = []
        for x, y in batches:
            opt.zero_grad()
            if compiled:
                loss = step(x, y)
            else:
                loss = loss_fn(mods, x, y)
                loss.backward()
            losses.append(loss.item())
            opt.step()
        runs.append((losses, [npy(p) for p in params]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0][-1] < runs[0][0][0]


# ---------------------------------------------------------------- the tutorial's tagger

TRAINING_DATA = [("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
                 ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])]


def tagger_losses(M, nn, optim, steps=100):
    """PyTorch's "Sequence Models and LSTMs" tagger: embedding -> LSTM -> linear ->
    log_softmax -> NLL, SGD lr 0.1, one sentence per step."""
    word_to_ix, tag_to_ix = {}, {"DET": 0, "NN": 1, "V": 2}
    for sent, _ in TRAINING_DATA:
        for word in sent:
            word_to_ix.setdefault(word, len(word_to_ix))
    M.manual_seed(1)
    emb, lstm, lin = nn.Embedding(len(word_to_ix), 6), nn.LSTM(6, 6), nn.Linear(6, 3)
    params = [p for mod in (emb, lstm, lin) for p in mod.parameters()]
    opt = optim.SGD(params, lr=0.1)
    loss_fn = nn.NLLLoss()
    losses = []
    for step in range(steps):
        sent, tags = TRAINING_DATA[step % 2]
        sentence = M.tensor([word_to_ix[w] for w in sent], dtype=M.long)
        targets = M.tensor([tag_to_ix[t] for t in tags], dtype=M.long)
        opt.zero_grad()
        embeds = emb(sentence)
        lstm_out, _ = lstm(embeds.view(len(sent), 1, -1))
        tag_space = lin(lstm_out.view(len(sent), -1))
        loss = loss_fn(nn.functional.log_softmax(tag_space, dim=1), targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_lstm_tagger_trains_to_torchs_losses(engine, libs, torch):
    ours = tagger_losses(engine, libs.nn, libs.optim)
    theirs = tagger_losses(torch, torch.nn, torch.optim)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5)
    assert ours[-1] < 0.9 * ours[0]     # (it learns; 100 of the tutorial's 600 steps)
