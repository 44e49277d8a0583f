"""index_select, gather, take_along_dim, masked_select, where, masked_fill, nonzero,
embedding and one_hot against torch: values, gradients, grad_fn names, errors."""

import numpy as np
import pytest

from tests._tensors import npy
from tests.indexing._keys import bool_dtype

_rng = np.random.default_rng(5)
_X = _rng.standard_normal((3, 4, 5))
_MASK = (_rng.random((4, 5)) > 0.4)
_G1 = _rng.integers(0, 4, (3, 6, 5))
_G2 = _rng.integers(0, 5, (2, 3, 2))


def _x(M):
    dt = M.float64
    return M.tensor(_X.tolist(), dtype=dt, requires_grad=True)


def _mask(M, m=_MASK):
    return M.tensor(np.asarray(m).tolist(), dtype=bool_dtype(M))


def _long(M, a):
    return M.tensor(np.asarray(a).tolist(), dtype=M.int64)


CASES = {
    "index_select0": lambda M, x: M.index_select(x, 0, _long(M, [2, 0, 2])),
    "index_select1": lambda M, x: x.index_select(1, _long(M, [3, 3, 1, 0])),
    "index_select-1": lambda M, x: x.index_select(-1, _long(M, [4])),
    "gather1": lambda M, x: x.gather(1, _long(M, _G1)),
    "gather2": lambda M, x: M.gather(x, 2, _long(M, _G2)),
    "take_along_dim": lambda M, x: M.take_along_dim(x, _long(M, [[[0], [4], [4], [1]]]), 2),
    "take_along_dim_bcast": lambda M, x: M.take_along_dim(x, _long(M, [[[1, 1, 0, 2, 2]]]),
                                                          1),
    "take_along_dim_flat": lambda M, x: M.take_along_dim(x, _long(M, [59, 0, 0])),
    "masked_select": lambda M, x: x.masked_select(_mask(M)),
    "masked_select_bcast": lambda M, x: M.masked_select(x[0, 0], _mask(M)),
    "where": lambda M, x: M.where(_mask(M), x, x * 2),
    "where_scalar": lambda M, x: M.where(_mask(M), x, 0.0),
    "where_scalar_first": lambda M, x: M.where(_mask(M), -1.5, x),
    "where_bcast": lambda M, x: M.where(_mask(M), x[0, 0], x[:, :1]),
    "where_method": lambda M, x: x.where(_mask(M), x.exp()),
    "masked_fill": lambda M, x: x.masked_fill(_mask(M), -7.0),
    "masked_fill_tensor": lambda M, x: M.masked_fill(x, _mask(M), (x[0, 0, 0] * 3)),
    "masked_fill_bcast": lambda M, x: x[0, 0].masked_fill(_mask(M), 1.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradients_names_as_torch(engine, torch, name):
    tx, x = _x(torch), _x(engine)
    ty, y = CASES[name](torch, tx), CASES[name](engine, x)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(npy(y), npy(ty))
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__
    g = np.arange(ty.numel(), dtype=np.float64).reshape(tuple(ty.shape)) - 3
    (ty * torch.tensor(g)).sum().backward()
    (y * engine.tensor(g.tolist(), dtype=engine.float64)).sum().backward()
    np.testing.assert_array_equal(npy(x.grad), npy(tx.grad))


def test_where_dtypes_as_torch(engine, torch):
    for a, b in [(1, 2), (1.0, 2), (True, 3), ("int", 2.5), ("float", 2), ("int", "double")]:
        def arg(M, v):
            return {"int": M.tensor([1, 2, 3, 4]), "float": M.tensor([1.0, 2, 3, 4]),
                    "double": M.tensor([1.0, 2, 3, 4], dtype=M.float64)}.get(v, v) \
                if isinstance(v, str) else v
        t = torch.where(_mask(torch, [True, False, True, True]), arg(torch, a), arg(torch, b))
        r = engine.where(_mask(engine, [True, False, True, True]), arg(engine, a),
                         arg(engine, b))
        assert str(r.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert r.tolist() == t.tolist()


def test_nonzero_and_where_one_argument(engine, torch):
    a = [[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]
    assert engine.nonzero(engine.tensor(a)).tolist() == torch.nonzero(torch.tensor(a)).tolist()
    assert engine.tensor(a).nonzero().dtype == engine.int64
    got = engine.where(engine.tensor(a))
    want = torch.where(torch.tensor(a))
    assert isinstance(got, tuple) and [g.tolist() for g in got] == [w.tolist() for w in want]
    got = engine.tensor(a).nonzero(as_tuple=True)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_repeated_gather_indices_accumulate(engine):
    x = engine.zeros(2, 3, requires_grad=True)
    x.gather(1, engine.tensor([[2, 2, 2, 0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]]


ERRORS = {
    "index_select_oob": lambda M: M.zeros(2, 3).index_select(1, _long(M, [0, 5])),
    "index_select_2d": lambda M: M.zeros(2, 3).index_select(1, _long(M, [[0]])),
    "index_select_float": lambda M: M.zeros(2, 3).index_select(1, M.tensor([0.0])),
    "gather_oob": lambda M: M.zeros(2, 3).gather(1, _long(M, [[5]])),
    "gather_negative": lambda M: M.zeros(2, 3).gather(1, _long(M, [[-1]])),
    "gather_ndim": lambda M: M.zeros(2, 3).gather(1, _long(M, [0])),
    "gather_size": lambda M: M.zeros(2, 3).gather(1, _long(M, [[0], [0], [0]])),
    "take_along_dim_ndim": lambda M: M.take_along_dim(M.zeros(2, 3), _long(M, [0]), 1),
    "masked_select_long": lambda M: M.zeros(3).masked_select(_long(M, [1, 0, 1])),
    "where_long": lambda M: M.where(_long(M, [1, 0]), M.zeros(2), M.zeros(2)),
    "masked_fill_long": lambda M: M.zeros(3).masked_fill(_long(M, [1, 0, 1]), 1.0),
    "masked_fill_value_1d": lambda M: M.zeros(3).masked_fill(_mask(M, [True] * 3),
                                                             M.zeros(2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_torch(engine, torch, name):
    with pytest.raises(Exception) as texc:
        ERRORS[name](torch)
    with pytest.raises(type(texc.value)) as exc:
        ERRORS[name](engine)
    if name not in ("index_select_float",):
        assert str(exc.value) == str(texc.value)


def test_embedding_as_torch(engine, torch, libs):
    F, tF = libs.F, torch.nn.functional
    w0 = _rng.standard_normal((6, 3))
    idx = [[1, 5, 1], [0, 2, -1]]
    for pad in (None, 1, -1):
        tw = torch.tensor(w0, requires_grad=True)
        w = engine.tensor(w0.tolist(), dtype=engine.float64, requires_grad=True)
        ty = tF.embedding(torch.tensor(np.clip(idx, 0, None)), tw, padding_idx=pad)
        y = F.embedding(_long(engine, np.clip(idx, 0, None)), w, padding_idx=pad)
        np.testing.assert_array_equal(npy(y), npy(ty))
        assert type(y.grad_fn).__name__ == "EmbeddingBackward0"
        (ty * ty).sum().backward()
        (y * y).sum().backward()
        np.testing.assert_array_equal(npy(w.grad), npy(tw.grad))
    for bad in (6, -1):
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(_long(engine, [bad]), engine.zeros(6, 3))
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        F.embedding(engine.tensor([1.0]), engine.zeros(6, 3))


def test_embedding_module(engine, libs):
    nn = libs.nn
    emb = nn.Embedding(27, 10)
    assert repr(emb) == "Embedding(27, 10)"
    assert tuple(emb.weight.shape) == (27, 10) and emb.weight.requires_grad
    out = emb(_long(engine, [[1, 2, 3]] * 32))
    assert tuple(out.shape) == (32, 3, 10)
    p = nn.Embedding(5, 2, padding_idx=-1)
    assert repr(p) == "Embedding(5, 2, padding_idx=4)" and p.weight[4].tolist() == [0.0, 0.0]
    p(_long(engine, [4, 4, 0])).sum().backward()
    assert p.weight.grad[4].tolist() == [0.0, 0.0] and p.weight.grad[0].tolist() == [1.0, 1.0]
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 2, padding_idx=5)
    assert repr(nn.Embedding(5, 2, max_norm=1.0)) == "Embedding(5, 2, max_norm=1.0)"
    with pytest.raises(NotImplementedError):
        nn.Embedding(5, 2, max_norm=1.0)(_long(engine, [0]))
    assert [n for n, _ in emb.named_parameters()] == ["weight"]


@pytest.mark.parametrize("args", [([1, 2, 0], -1), ([[1], [3]], 5), ([], 3), (2, -1)])
def test_one_hot_as_torch(engine, torch, libs, args):
    data, n = args
    t = torch.nn.functional.one_hot(torch.tensor(data, dtype=torch.int64), n)
    r = libs.F.one_hot(engine.tensor(data, dtype=engine.int64), n)
    assert r.dtype == engine.int64 and r.tolist() == t.tolist()
    assert tuple(r.shape) == tuple(t.shape)


@pytest.mark.parametrize("args", [([], -1), ([-1], -1), ([3], 3), ([1], 0)])
def test_one_hot_errors_as_torch(engine, torch, libs, args):
    data, n = args
    with pytest.raises(RuntimeError) as texc:
        torch.nn.functional.one_hot(torch.tensor(data, dtype=torch.int64), n)
    with pytest.raises(RuntimeError) as exc:
        libs.F.one_hot(engine.tensor(data, dtype=engine.int64), n)
    assert str(exc.value) == str(texc.value)
    with pytest.raises(RuntimeError, match="only applicable to index tensor"):
        libs.F.one_hot(engine.tensor([1.0]))
