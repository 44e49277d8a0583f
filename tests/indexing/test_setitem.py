"""x[key] = value and in-place writes against torch: plain tensors, no_grad, graph
tensors (CopySlices / IndexPutBackward0 / MulBackward0 ...), and torch's refusals."""

import numpy as np
import pytest

from tests._tensors import npy
from tests.indexing._keys import KEYS, SHAPE, bool_dtype, key_for

_X = np.random.default_rng(8).standard_normal(SHAPE)


def _value(M, shape, kind):
    """A value for an indexing result of `shape`: a number, a 0-d, a full or a
    broadcast tensor."""
    if kind == "number":
        return -2.5
    if kind == "0d":
        return M.tensor(7.25, dtype=M.float64)
    full = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 100
    if kind == "bcast":
        full = full[(0,) * (len(shape) - 1)] if len(shape) > 0 else full
    return M.tensor(full.tolist(), dtype=M.float64)


def _unique_key(M, key):
    """True when torch's result for key writes every position once (duplicates: the
    last write is unspecified in torch)."""
    offs = np.arange(int(np.prod(SHAPE))).reshape(SHAPE)
    return len(set(offs[key].reshape(-1).tolist())) == offs[key].size


@pytest.mark.parametrize("kind", ["number", "0d", "full", "bcast"])
@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_assignment_table_as_torch(engine, torch, key, kind):
    tx = torch.tensor(_X)
    tkey = key_for(torch, key)
    if not _unique_key(torch, tkey):
        pytest.skip("duplicate positions: torch leaves the winner unspecified")
    shape = tuple(tx[tkey].shape)
    if kind == "bcast" and not shape or kind in ("full", "bcast") and 0 in shape:
        pytest.skip("no dims to broadcast / no elements to give")
    tx[tkey] = _value(torch, shape, kind)
    x = engine.tensor(_X.tolist(), dtype=engine.float64)
    before = x._version if hasattr(x, "_version") else None
    x[key_for(engine, key)] = _value(engine, shape, kind)
    np.testing.assert_array_equal(npy(x), npy(tx))
    if before is not None:
        assert x._version == before + 1


def test_counting_and_masked_zeroing(engine, torch):
    for M in (torch, engine):
        N = M.zeros(3, 4)
        for i, j in [(0, 1), (2, 3), (0, 1), (1, 0)]:
            N[i, j] += 1
        x = M.tensor([[1.0, -2.0], [-3.0, 4.0]])
        x[x < 0] = 0
        assert N.tolist() == [[0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
        assert x.tolist() == [[1.0, 0.0], [0.0, 4.0]]


def test_under_no_grad_a_leaf_takes_writes(engine, torch):
    for M in (torch, engine):
        w = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with M.no_grad():
            w[M.tensor([0, 2])] = 0.5
            w[1] *= 2
            w.masked_fill_(w > 3, -1.0)
        assert w.tolist() == [0.5, -1.0, 0.5] and w.is_leaf and w.requires_grad


def test_value_shape_mismatch(engine, torch):
    with pytest.raises(RuntimeError) as texc:
        torch.zeros(3, 4)[torch.tensor([0, 1])] = torch.ones(3)
    with pytest.raises(RuntimeError) as exc:
        engine.zeros(3, 4)[engine.tensor([0, 1])] = engine.ones(3)
    assert str(exc.value) == str(texc.value)


def _graph_writes(M):
    """A chain of writes into graph tensors; returns (leaves, result, grad_fn names)."""
    a = M.tensor([1.0, -2.0, 3.0, 4.0, 0.5, -1.5], dtype=M.float64, requires_grad=True)
    w = M.tensor([0.25, 2.0, -3.0], dtype=M.float64, requires_grad=True)
    names = []
    h = a * 2
    for write in (lambda: h.mul_(3), lambda: h.add_(w.sum()), lambda: h.sub_(0.5),
                  lambda: h.div_(w[1]), lambda: h.clamp_(-4.0, 5.0),
                  lambda: h.__setitem__(slice(1, 3), w[:2] * 2),
                  lambda: h.__setitem__(M.tensor([5, 0]), w[2]),
                  lambda: h.__setitem__(M.tensor([True, False] * 3, dtype=bool_dtype(M)),
                                        w[0] * 10),
                  lambda: h.masked_fill_(h > 4, 1.5),
                  lambda: h.masked_fill_(h < -10, w[1])):
        write()
        names.append(type(h.grad_fn).__name__)
    out = (h * M.tensor([1.0, 2, 3, 4, 5, 6], dtype=M.float64)).sum()
    g = a * 1
    g.copy_(w[0] * 2)
    names.append(type(g.grad_fn).__name__)
    z = a * 1
    z.zero_()
    names.append(type(z.grad_fn).__name__)
    f = a * 1
    f.fill_(3.0)
    names.append(type(f.grad_fn).__name__)
    out = out + (g * 3).sum() + (z + f).sum()
    out.backward()
    return a, w, out, names


def test_recorded_writes_as_torch(engine, torch):
    ta, tw, tout, tnames = _graph_writes(torch)
    a, w, out, names = _graph_writes(engine)
    assert names == tnames
    assert names[:10] == ["MulBackward0", "AddBackward0", "SubBackward0", "DivBackward0",
                          "ClampBackward1", "CopySlices", "IndexPutBackward0",
                          "IndexPutBackward0", "MaskedFillBackward0", "MaskedFillBackward1"]
    assert out.item() == pytest.approx(tout.item(), rel=1e-12)
    np.testing.assert_allclose(npy(a.grad), npy(ta.grad), rtol=1e-12)
    np.testing.assert_allclose(npy(w.grad), npy(tw.grad), rtol=1e-12)


def test_write_after_save_is_refused_as_torch(engine, torch):
    for M in (torch, engine):
        a = M.tensor([0.5, -1.0], requires_grad=True)
        h = a.tanh()                  # TanhBackward0 saves its result h
        h[0] = 1.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()
        h = a.exp()
        h.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()
        h = a * 3                     # MulBackward0 by a number saves nothing: allowed
        h.add_(1)
        h.sum().backward()
        assert a.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("write", ["setitem", "mul_", "add_", "clamp_", "copy_", "fill_",
                                   "zero_", "masked_fill_"])
def test_leaf_that_requires_grad_refuses(engine, torch, write):
    def go(M):
        w = M.tensor([1.0, 2.0], requires_grad=True)
        {"setitem": lambda: w.__setitem__(0, 3.0), "mul_": lambda: w.mul_(2),
         "add_": lambda: w.add_(1), "clamp_": lambda: w.clamp_(0, 1),
         "copy_": lambda: w.copy_(M.zeros(2)), "fill_": lambda: w.fill_(1),
         "zero_": lambda: w.zero_(),
         "masked_fill_": lambda: w.masked_fill_(M.tensor([True, False],
                                                         dtype=bool_dtype(M)), 0.0)}[write]()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        go(torch)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        go(engine)


def test_a_plain_tensor_joins_the_graph_through_a_write(engine, torch):
    for M in (torch, engine):
        w = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = M.zeros(3)
        x[M.tensor([0, 2])] = w[:2] * 2
        assert x.requires_grad and type(x.grad_fn).__name__ == "IndexPutBackward0"
        (x * M.tensor([1.0, 10.0, 100.0])).sum().backward()
        assert w.grad.tolist() == [2.0, 200.0, 0.0]
