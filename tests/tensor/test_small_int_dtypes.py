"""int8, int16, int32 and uint8 tensors (issue 11 item 3): torch's type promotion
between every pair of dtypes (tensors, 0-d tensors, Python numbers), wrapping integer
arithmetic, integer reductions, conversions (.to, .type, .int() ...), printing,
from_numpy, indexing with them, and the refusal of gradients; on both engines."""

import numpy as np
import pytest

import tapegrad
from tapegrad import _dtype

NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
SMALL = ("uint8", "int8", "int16", "int32")
# values every dtype holds (bool: 0/1); a non-zero divisor everywhere
VALUES = {"bool": [True, False, True]}
DEFAULT_VALUES = [3, 1, 7]


def _dt(lib, name):
    return getattr(tapegrad if lib.__name__.startswith("tapegrad") else lib, name)


def _make(lib, name, zero_dim=False):
    values = VALUES.get(name, DEFAULT_VALUES)
    return lib.tensor(values[0] if zero_dim else values, dtype=_dt(lib, name))


def _plain(r):
    return str(r.dtype).split(".")[-1], r.tolist()


def test_promote_types_table_is_torchs(torch):
    for a in NAMES:
        for b in NAMES:
            got = _dtype.promote_types(getattr(tapegrad, a), getattr(tapegrad, b))
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert got.name == str(want).split(".")[-1], (a, b)


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@pytest.mark.parametrize("a", NAMES)
def test_binary_result_dtype_and_values_as_torch(engine, torch, op, a):
    """a op b for b of every dtype, as a tensor, a 0-d tensor, and Python numbers."""
    for b in NAMES:
        for zero_dim in (False, True):
            got = getattr(_make(engine, a), op)(_make(engine, b, zero_dim))
            want = getattr(_make(torch, a), op)(_make(torch, b, zero_dim))
            assert _plain(got)[0] == _plain(want)[0], (a, op, b, zero_dim)
            np.testing.assert_allclose(got.tolist(), want.tolist(), rtol=1e-6)
    for scalar in (2, 2.5, True, -3):
        got, want = getattr(_make(engine, a), op)(scalar), getattr(_make(torch, a), op)(scalar)
        assert _plain(got)[0] == _plain(want)[0], (a, op, scalar)
        np.testing.assert_allclose(got.tolist(), want.tolist(), rtol=1e-6)


CASES = {
    "wrap add": lambda L, d: L.tensor([100, 120], dtype=d) + L.tensor([100, 127], dtype=d),
    "wrap mul": lambda L, d: L.tensor([100, -7], dtype=d) * 3,
    "wrap int scalar": lambda L, d: L.tensor([1, 2], dtype=d) + 1000,
    "neg": lambda L, d: -L.tensor([1, 0, 5], dtype=d),
    "abs": lambda L, d: L.tensor([3, 0, 5], dtype=d).abs(),
    "pow": lambda L, d: L.tensor([3, 2, 5], dtype=d) ** 2,
    "sub": lambda L, d: L.tensor([3, 2, 5], dtype=d) - L.tensor([1, 2, 6], dtype=d),
    "sum": lambda L, d: L.tensor([[100, 100], [100, 7]], dtype=d).sum(),
    "sum(0)": lambda L, d: L.tensor([[100, 100], [100, 7]], dtype=d).sum(0),
    "sum(1, keepdim)": lambda L, d: L.tensor([[100, 100], [100, 7]], dtype=d).sum(1, True),
    "max": lambda L, d: L.tensor([4, 9, 2], dtype=d).max(),
    "min": lambda L, d: L.tensor([4, 9, 2], dtype=d).min(),
    "max(0).values": lambda L, d: L.tensor([[4, 9], [5, 1]], dtype=d).max(0)[0],
    "max(0).indices": lambda L, d: L.tensor([[4, 9], [5, 1]], dtype=d).max(0)[1],
    "argmax": lambda L, d: L.tensor([4, 9, 2, 9], dtype=d).argmax(),
    "all": lambda L, d: L.tensor([4, 0, 2], dtype=d).all(),
    "any": lambda L, d: L.tensor([0, 0, 2], dtype=d).any(),
    "eq": lambda L, d: L.tensor([4, 9, 2], dtype=d) == 9,
    "lt tensor": lambda L, d: L.tensor([4, 9, 2], dtype=d) < L.tensor([5, 1, 2]),
    "float": lambda L, d: L.tensor([4, 9, 2], dtype=d).float(),
    "long": lambda L, d: L.tensor([4, 9, 2], dtype=d).long(),
    "bool": lambda L, d: L.tensor([4, 0, 2], dtype=d).bool(),
    "int": lambda L, d: L.tensor([4, 0, 2], dtype=d).int(),
    "short": lambda L, d: L.tensor([4, 0, 2], dtype=d).short(),
    "char": lambda L, d: L.tensor([4, 0, 2], dtype=d).char(),
    "byte": lambda L, d: L.tensor([4, 0, 2], dtype=d).byte(),
    "exp": lambda L, d: L.tensor([1, 0, 2], dtype=d).exp(),
    "clone": lambda L, d: L.tensor([1, 0, 2], dtype=d).clone(),
    "transpose": lambda L, d: L.tensor([[1, 0], [2, 3]], dtype=d).t().contiguous(),
    "slice": lambda L, d: L.tensor([1, 0, 2, 5], dtype=d)[1::2],
    "index": lambda L, d: L.tensor([1, 0, 2, 5], dtype=d)[L.tensor([3, 0, 3])],
    "mask": lambda L, d: L.tensor([1, 0, 2, 5], dtype=d)[L.tensor([True, False, True, False])],
    "where": lambda L, d: L.where(L.tensor([True, False]), L.tensor([1, 2], dtype=d),
                                  L.tensor([7, 8], dtype=d)),
    "cat": lambda L, d: L.cat([L.tensor([1, 2], dtype=d), L.tensor([3], dtype=d)]),
    "reshape": lambda L, d: L.tensor([1, 2, 3, 4], dtype=d).reshape(2, 2),
    "item": lambda L, d: L.tensor([7], dtype=d).item(),
    "int()": lambda L, d: int(L.tensor(7, dtype=d)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dt", SMALL)
def test_ops_as_torch(engine, torch, dt, name):
    got = CASES[name](engine, getattr(tapegrad, dt))
    want = CASES[name](torch, getattr(torch, dt))
    if isinstance(want, (int, float, bool)):
        assert got == want and type(got) is type(want)
        return
    assert _plain(got) == _plain(want)


@pytest.mark.parametrize("dt", SMALL)
def test_in_place_keeps_the_dtype_or_refuses(engine, torch, dt):
    for lib in (engine, torch):
        x = lib.tensor([100, 2], dtype=_dt(lib, dt))
        x += 100
        x *= 2
        assert _plain(x) == _plain(lib.tensor([100, 2], dtype=_dt(lib, dt)) * 0 +
                                   (lib.tensor([100, 2], dtype=_dt(lib, dt)) + 100) * 2)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            x.add_(1.5)


@pytest.mark.parametrize("dt", SMALL)
def test_conversions_from_float_truncate_as_torch(engine, torch, dt):
    got, want = (lib.tensor([-3.7, 2.9, 0.0, 100.5]).to(_dt(lib, dt)).tolist()
                 for lib in (engine, torch))
    assert got == want


def test_type_strings_and_conversions(engine):
    x = engine.tensor([1.5, -2.0])
    assert x.type() == "tapegrad.FloatTensor"
    for name, scalar in (("int8", "Char"), ("int16", "Short"), ("int32", "Int"),
                         ("uint8", "Byte"), ("int64", "Long"), ("bool", "Bool")):
        dt = getattr(tapegrad, name)
        assert x.to(dt).type() == f"tapegrad.{scalar}Tensor"
        assert x.type(dt).dtype is dt
        assert x.type(f"torch.{scalar}Tensor").dtype is dt
        assert x.type(f"tapegrad.{scalar}Tensor").dtype is dt
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NoSuchTensor")


@pytest.mark.parametrize("dt", SMALL)
def test_printing_as_torch(engine, torch, dt):
    for make in (lambda L, d: L.tensor([1, 2, 100], dtype=d), lambda L, d: L.tensor(5, dtype=d),
                 lambda L, d: L.tensor([], dtype=d), lambda L, d: L.zeros(2, 2, dtype=d)):
        got = repr(make(engine, getattr(tapegrad, dt)))
        want = repr(make(torch, getattr(torch, dt))).replace("torch.", "tapegrad.")
        assert got == want


@pytest.mark.parametrize("dt", SMALL)
def test_from_numpy_shares_memory_and_keeps_the_dtype(engine, dt):
    a = np.array([1, 2, 3], dtype=dt)
    t = engine.from_numpy(a)
    assert t.dtype is getattr(tapegrad, dt)
    a[0] = 9
    assert t.tolist() == [9, 2, 3]
    assert engine.tensor(a).dtype is getattr(tapegrad, dt)


@pytest.mark.parametrize("dt", SMALL)
def test_only_floating_tensors_require_grad(engine, torch, dt):
    for lib in (engine, torch):
        with pytest.raises(RuntimeError, match="floating point"):
            lib.tensor([1, 2], dtype=_dt(lib, dt), requires_grad=True)
        with pytest.raises(RuntimeError, match="floating point"):
            lib.tensor([1, 2], dtype=_dt(lib, dt)).requires_grad_()


def test_integer_results_of_float_graphs_are_off_the_graph(engine):
    w = engine.tensor([1.5, 2.5], requires_grad=True)
    for dt in SMALL:
        i = (w * 2).to(getattr(tapegrad, dt))
        assert not i.requires_grad and i.grad_fn is None
    y = (w * engine.tensor([2, 3], dtype=tapegrad.int8)).sum()
    y.backward()
    assert w.grad.tolist() == [2.0, 3.0]


def test_index_tensors_of_every_integer_dtype_as_torch(engine, torch):
    """int32 indexes as int64; uint8 masks (torch's deprecation warning); int8 and int16
    are torch's IndexError."""
    results = []
    for lib in (engine, torch):
        x = lib.arange(10.0)
        got = [x[lib.tensor([1, 2], dtype=_dt(lib, "int32"))].tolist(),
               x[lib.tensor(3, dtype=_dt(lib, "int32"))].tolist()]
        with pytest.warns(UserWarning, match="uint8 is now deprecated"):
            got.append(x[lib.tensor([1] + [0] * 8 + [1], dtype=_dt(lib, "uint8"))].tolist())
        for bad in ("int8", "int16"):
            with pytest.raises(IndexError, match="must be long, int, byte or bool"):
                x[lib.tensor([1, 2], dtype=_dt(lib, bad))]
        results.append(got)
    assert results[0] == results[1]


@pytest.mark.parametrize("dt", SMALL)
def test_mean_refuses_integers_as_torch(engine, torch, dt):
    for lib in (engine, torch):
        with pytest.raises(RuntimeError, match="could not infer output dtype"):
            lib.tensor([1, 2], dtype=_dt(lib, dt)).mean()
