"""Tensor factories, dtype inference, attributes, numpy interop and Python conversions,
as in the contract (spec_tensor.md) and torch."""

import math

import numpy as np

import tapegrad
import pytest

from _tensors import npy


# ---------------------------------------------------------------------------- factories


def test_tensor_dtype_inference(engine):
    M = engine
    assert M.tensor(1.0).dtype == M.float32
    assert M.tensor([1.0, 2]).dtype == M.float32
    assert M.tensor(3).dtype == M.int64
    assert M.tensor([1, 2, 3]).dtype == M.int64
    # bools make bool tensors, as torch (tapegrad made int64 tensors of them before)
    assert M.tensor(True).dtype == tapegrad.bool and M.tensor(True).item() is True
    assert M.tensor([[True], [False]]).dtype == tapegrad.bool
    assert M.tensor(np.array([True, False])).dtype == tapegrad.bool
    assert M.tensor([True, 2]).dtype == M.int64
    assert M.tensor([[1, 2], [3, 4]]).dtype == M.int64
    assert M.tensor(np.array([1.0, 2.0], dtype=np.float32)).dtype == M.float32
    assert M.tensor(np.array([1.0, 2.0])).dtype == M.float64
    assert M.tensor(np.array([1, 2])).dtype == M.int64
    assert M.tensor(np.float64(2.5)).dtype in (M.float64, M.float32)
    assert M.tensor([1, 2], dtype=M.float32).dtype == M.float32
    assert M.tensor([1.5], dtype=M.float64).dtype == M.float64
    assert M.tensor(np.array([1.0, 2.0]), dtype=M.float32).dtype == M.float32


def test_tensor_values_and_shapes(engine):
    M = engine
    t = M.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.numel() == 6
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert M.tensor(2.5).shape == () and M.tensor(2.5).ndim == 0
    assert M.tensor([]).shape == (0,)
    assert M.tensor([[]]).shape == (1, 0)
    assert M.tensor(0.1).item() == float(np.float32(0.1))
    assert M.tensor(0.1, dtype=M.float64).item() == 0.1
    src = M.tensor([1.0, 2.0])
    copy = M.tensor(src.tolist())
    assert copy.tolist() == [1.0, 2.0]


def test_tensor_rejects_ragged_and_bad_data(engine):
    with pytest.raises((ValueError, TypeError)):
        engine.tensor([[1.0, 2.0], [3.0]])
    # "wrong types -> TypeError naming the type" (torch says RuntimeError for None)
    with pytest.raises(TypeError, match="str"):
        engine.tensor("abc")
    with pytest.raises(TypeError, match="None"):
        engine.tensor([1.0, None])
    with pytest.raises(TypeError, match="dict"):
        engine.tensor({"a": 1})


def test_legacy_Tensor_constructor(engine):
    t = engine.Tensor([1.0])
    assert t.dtype == engine.float32 and t.tolist() == [1.0]
    assert engine.Tensor([1, 2]).dtype == engine.float32
    u = engine.Tensor(2, 3)
    assert u.shape == (2, 3) and u.dtype == engine.float32
    assert isinstance(engine.tensor(1.0), engine.Tensor)


@pytest.mark.parametrize("factory,fill", [("zeros", 0.0), ("ones", 1.0)])
def test_zeros_ones(engine, factory, fill):
    f = getattr(engine, factory)
    for t in (f(2, 3), f((2, 3)), f([2, 3])):
        assert t.shape == (2, 3) and t.dtype == engine.float32
        assert npy(t).tolist() == np.full((2, 3), fill).tolist()
    assert f(3, dtype=engine.float64).dtype == engine.float64
    assert f(3, dtype=engine.int64).tolist() == [int(fill)] * 3
    assert f(()).shape == () and f(0).shape == (0,)
    t = f(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    like = getattr(engine, factory + "_like")(engine.tensor([[1.0], [2.0]], dtype=engine.float64))
    assert like.shape == (2, 1) and like.dtype == engine.float64
    assert npy(like).ravel().tolist() == [fill, fill]


def test_full_empty(engine):
    t = engine.full((2, 2), 7.5)
    assert t.dtype == engine.float32 and npy(t).tolist() == [[7.5, 7.5], [7.5, 7.5]]
    t = engine.full((3,), 2.0, dtype=engine.float64, requires_grad=True)
    assert t.dtype == engine.float64 and t.requires_grad
    e = engine.empty(2, 4)
    assert e.shape == (2, 4) and e.dtype == engine.float32
    assert engine.empty((3,)).shape == (3,)


def test_full_infers_torchs_dtype_and_keeps_ints_exact(engine, torch):
    """An int fill is int64 and exact past 2**53, a bool fill is bool, -0.0 stays
    -0.0 (issue 10, item 14)."""
    for fill in (2 ** 53 + 1, -(2 ** 62) - 3, True, False, 3, np.int64(2 ** 60 + 1), -0.0,
                 2.5):
        t, tt = engine.full((2,), fill), torch.full((2,), fill)
        assert str(t.dtype) == str(tt.dtype).replace("torch.", "tapegrad."), fill
        assert t.tolist() == tt.tolist(), fill
        assert [math.copysign(1, v) for v in t.tolist()] == \
            [math.copysign(1, v) for v in tt.tolist()]
    assert engine.full((1,), 2 ** 53 + 1, dtype=engine.float64).tolist() == [2.0 ** 53]


def test_arange(engine):
    M = engine
    a = M.arange(5)
    assert a.dtype == M.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert M.arange(2, 8, 2).tolist() == [2, 4, 6]
    f = M.arange(0.0, 1.0, 0.25)
    assert f.dtype == M.float32 and f.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert M.arange(3.0).tolist() == [0.0, 1.0, 2.0] and M.arange(3.0).dtype == M.float32
    assert M.arange(4, dtype=M.float64).dtype == M.float64
    assert M.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert M.arange(0).shape == (0,)


def test_randn_rand_and_manual_seed(engine):
    M = engine
    M.manual_seed(123)
    a = M.randn(1000)
    M.manual_seed(123)
    b = M.randn(1000)
    assert npy(a).tolist() == npy(b).tolist()
    assert a.dtype == M.float32 and a.shape == (1000,)
    x = npy(a)
    assert abs(x.mean()) < 0.15 and 0.85 < x.std() < 1.15
    M.manual_seed(7)
    u = M.rand(50, 20)
    assert u.shape == (50, 20)
    v = npy(u)
    assert v.min() >= 0.0 and v.max() < 1.0 and 0.4 < v.mean() < 0.6
    assert M.randn(2, 3, dtype=M.float64).dtype == M.float64
    assert M.randn((2, 3)).shape == (2, 3)
    r = M.randn(3, requires_grad=True)
    assert r.requires_grad and r.is_leaf
    M.manual_seed(8)
    c = M.randn(5)
    assert npy(c).tolist() != npy(a)[:5].tolist()


def test_from_numpy_shares_memory(engine):
    for dt, edt in ((np.float32, engine.float32), (np.float64, engine.float64),
                    (np.int64, engine.int64)):
        a = np.arange(6, dtype=dt).reshape(2, 3)
        t = engine.from_numpy(a)
        assert t.dtype == edt and t.shape == (2, 3)
        a[0, 0] = 42
        assert t.tolist()[0][0] == 42
        if edt != engine.int64:
            t.add_(1.0)
            assert a[0, 0] == 43


def test_numpy_shares_memory_and_refuses_requires_grad(engine):
    t = engine.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[1] = 20.0
    assert t.tolist() == [1.0, 20.0, 3.0]
    assert engine.tensor([1.0], dtype=engine.float64).numpy().dtype == np.float64
    assert engine.tensor([1, 2]).numpy().dtype == np.int64
    w = engine.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"
                                           r"\. Use tensor\.detach\(\)\.numpy\(\) instead\."):
        w.numpy()
    d = w.detach().numpy()
    d[0] = 5.0
    assert w.item() == 5.0
    assert np.asarray(engine.tensor([[1.0, 2.0]])).tolist() == [[1.0, 2.0]]


# ---------------------------------------------------------------------------- conversions


def test_item_tolist_float_int(engine):
    M = engine
    x = M.tensor(2.5)
    assert x.item() == 2.5 and type(x.item()) is float
    assert M.tensor([7]).item() == 7 and type(M.tensor([7]).item()) is int
    assert M.tensor([[1.5]]).item() == 1.5
    assert float(M.tensor(2.5)) == 2.5 and int(M.tensor(2.7)) == 2
    assert int(M.tensor([3])) == 3 and type(int(M.tensor([3]))) is int
    assert float(M.tensor([1.5])) == 1.5
    assert M.tensor(3.0, requires_grad=True).item() == 3.0
    with pytest.raises((RuntimeError, ValueError)):
        M.tensor([1.0, 2.0]).item()
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        float(M.tensor([1.0, 2.0]))
    assert M.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert all(type(v) is int for v in M.tensor([1, 2]).tolist())
    assert all(type(v) is float for v in M.tensor([1.0, 2.0]).tolist())
    assert M.tensor(4.0).tolist() == 4.0


def test_len(engine):
    assert len(engine.zeros(4, 2)) == 4
    assert len(engine.tensor([1.0, 2.0, 3.0])) == 3
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(engine.tensor(1.0))


def test_size_numel_dim(engine):
    t = engine.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4
    assert t.numel() == 24 and t.dim() == 3 and t.ndim == 3
    assert engine.tensor(1.0).numel() == 1 and engine.tensor(1.0).dim() == 0
    assert engine.zeros(0, 3).numel() == 0
    with pytest.raises(IndexError):
        t.size(3)


def test_bool_and_comparisons(engine):
    M = engine
    assert bool(M.tensor(1.0)) is True and bool(M.tensor(0.0)) is False
    assert bool(M.tensor([2.0])) is True
    with pytest.raises(RuntimeError):
        bool(M.tensor([1.0, 2.0]))
    x = M.tensor(3.0, requires_grad=True)
    if x > 2:
        pass
    else:  # pragma: no cover
        pytest.fail("x > 2 is False")
    assert bool(x < 4.0) and bool(x >= 3.0) and bool(x <= 3) and not bool(x > 3)
    assert bool(x == 3.0) and not bool(x != 3.0)
    assert bool(M.tensor(1.0) < M.tensor(2.0))


def test_hash_is_identity(engine):
    a, b = engine.tensor([1.0]), engine.tensor([1.0])
    assert len({a, b, a}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert hash(a) == hash(a)


def test_iteration_over_first_dim(engine):
    m = engine.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(m)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert [v.item() for v in engine.tensor([5.0, 6.0])] == [5.0, 6.0]


def test_nan_inf_values(engine):
    t = engine.tensor([math.nan, math.inf, -math.inf, 0.0])
    a = npy(t)
    assert math.isnan(a[0]) and a[1] == math.inf and a[2] == -math.inf
    e = npy(t.exp())
    assert math.isnan(e[0]) and e[1] == math.inf and e[2] == 0.0 and e[3] == 1.0
    assert math.isnan(npy(t.sum()).item())
    r = npy(engine.tensor([-1.0, 0.0]).log())
    assert math.isnan(r[0]) and r[1] == -math.inf
