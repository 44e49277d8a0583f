"""x[key] with advanced indices against torch (values, gradients, grad_fn, errors)."""

import numpy as np
import pytest

from tests._tensors import npy
from tests.indexing._keys import KEYS, SHAPE, key_for

_X = np.random.default_rng(3).standard_normal(SHAPE)


def _read(M, key, dtype):
    x = M.tensor(_X.tolist(), dtype=dtype, requires_grad=True)
    y = x[key_for(M, key)]
    g = np.arange(int(np.prod(y.shape)), dtype=np.float64).reshape(tuple(y.shape)) + 1
    if y.numel():
        (y * M.tensor(g.tolist(), dtype=dtype)).sum().backward()
    return x, y


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_values_and_gradients_as_torch(engine, torch, key):
    tx, ty = _read(torch, key, torch.float64)
    x, y = _read(engine, key, engine.float64)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(npy(y), npy(ty))
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__ == "IndexBackward0"
    if ty.numel():
        np.testing.assert_array_equal(npy(x.grad), npy(tx.grad))


@pytest.mark.parametrize("key", KEYS[:12], ids=[str(i) for i in range(12)])
def test_float32_and_int_tensors(engine, torch, key):
    tx = torch.tensor(_X, dtype=torch.float32)
    x = engine.tensor(_X.tolist(), dtype=engine.float32)
    np.testing.assert_array_equal(npy(x[key_for(engine, key)]), npy(tx[key_for(torch, key)]))
    ti = torch.arange(120).reshape(SHAPE)
    i = engine.arange(120).reshape(SHAPE)
    got = i[key_for(engine, key)]
    assert got.dtype == engine.int64
    np.testing.assert_array_equal(npy(got), npy(ti[key_for(torch, key)]))


def test_repeated_indices_accumulate(engine):
    x = engine.zeros(3, requires_grad=True)
    x[engine.tensor([0, 2, 2, 2, 0])].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 3.0]


def test_makemore_lookup(engine, torch):
    rng = np.random.default_rng(0)
    C0 = rng.standard_normal((27, 10))
    X0 = rng.integers(0, 27, (32, 3))
    tC = torch.tensor(C0, requires_grad=True)
    C = engine.tensor(C0.tolist(), dtype=engine.float64, requires_grad=True)
    temb, emb = tC[torch.tensor(X0)], C[engine.tensor(X0.tolist())]
    assert tuple(emb.shape) == (32, 3, 10)
    np.testing.assert_array_equal(npy(emb), npy(temb))
    w = rng.standard_normal((30,))
    (temb.view(32, 30) @ torch.tensor(w)).tanh().sum().backward()
    (emb.view(32, 30) @ engine.tensor(w.tolist(), dtype=engine.float64)).tanh().sum().backward()
    np.testing.assert_allclose(npy(C.grad), npy(tC.grad), rtol=1e-12, atol=1e-14)


def test_probs_at_arange_targets(engine, torch):
    rng = np.random.default_rng(1)
    p0, ys = rng.random((5, 27)), [3, 0, 26, 3, 9]
    tp = torch.tensor(p0, requires_grad=True)
    p = engine.tensor(p0.tolist(), dtype=engine.float64, requires_grad=True)
    tl = -tp[torch.arange(5), torch.tensor(ys)].log().mean()
    loss = -p[engine.arange(5), engine.tensor(ys)].log().mean()
    assert loss.item() == tl.item()
    tl.backward()
    loss.backward()
    np.testing.assert_array_equal(npy(p.grad), npy(tp.grad))


ERRORS = [
    (("t", [4]),), (("t", [0, -5]),), ([0, 1], [1, 5]), (("m", [True, False]),),
    (slice(None), ("m", [True, False])), (("t", [0, 1]), ("t", [0, 1, 2])), (0, 0, 0, 0),
    (("t", [[0, 9]]),),
]


@pytest.mark.parametrize("key", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_as_torch(engine, torch, key):
    tx = torch.zeros(SHAPE)
    with pytest.raises(Exception) as texc:
        tx[key_for(torch, key)]
    x = engine.zeros(*SHAPE)
    with pytest.raises(type(texc.value)) as exc:
        x[key_for(engine, key)]
    assert str(exc.value) == str(texc.value)


def test_float_index_refused(engine, torch):
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        engine.zeros(3)[engine.tensor([0.0])]
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        torch.zeros(3)[torch.tensor([0.0])]


def test_index_saved_indices_modified_in_place(engine, torch):
    """torch saves the indices of x[idx]: changing them before backward is refused."""
    for M in (torch, engine):
        x = M.ones(3, requires_grad=True)
        idx = M.tensor([0, 1])
        y = x[idx]
        idx[0] = 2
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
