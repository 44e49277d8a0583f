"""int64 and bool tensor arithmetic as torch (issue 11 item 3, in part): torch's result
dtypes and values, its errors, on both engines. Before, the compiled engine computed
`int_tensor + 1` in float32 and refused `int + int`; both engines made int64 tensors of
Python bools and subtracted bool tensors."""

import numpy as np
import pytest

import tapegrad

CASES = {
    "i+i": lambda i, b, f: i + i, "i+1": lambda i, b, f: i + 1, "1+i": lambda i, b, f: 1 + i,
    "i+True": lambda i, b, f: i + True, "i*2.5": lambda i, b, f: i * 2.5,
    "i/i": lambda i, b, f: i / i, "i/2": lambda i, b, f: i / 2, "2/i": lambda i, b, f: 2 / i,
    "i**2": lambda i, b, f: i ** 2, "i**i": lambda i, b, f: i ** i, "2**i": lambda i, b, f: 2 ** i,
    "i**0.5": lambda i, b, f: i ** 0.5, "b+1": lambda i, b, f: b + 1,
    "b+True": lambda i, b, f: b + True, "b*True": lambda i, b, f: b * True,
    "b*2.5": lambda i, b, f: b * 2.5, "-i": lambda i, b, f: -i, "abs(i)": lambda i, b, f: abs(i),
    "b/b": lambda i, b, f: b / b, "i+f": lambda i, b, f: i + f, "f*i": lambda i, b, f: f * i,
    "b**2": lambda i, b, f: b ** 2, "b+b": lambda i, b, f: b + b, "b*b": lambda i, b, f: b * b,
    "i.sum": lambda i, b, f: i.sum(), "b.sum": lambda i, b, f: b.sum(),
    "i.sum(0)": lambda i, b, f: i.sum(0), "i.max": lambda i, b, f: i.max(),
    "b.max": lambda i, b, f: b.max(), "i.min": lambda i, b, f: i.min(),
    "i.max(0).values": lambda i, b, f: i.max(0)[0], "i.max(0).indices": lambda i, b, f: i.max(0)[1],
    "wrap": lambda i, b, f: i * (2 ** 62), "i.relu": lambda i, b, f: i.relu(),
    "i.clamp": lambda i, b, f: i.clamp(0, 1), "i.clamp(0.5)": lambda i, b, f: i.clamp(0.5),
    "b.clamp": lambda i, b, f: b.clamp(0, 1), "i.exp": lambda i, b, f: i.exp(),
    "i.abs": lambda i, b, f: i.abs(), "i.clone": lambda i, b, f: i.clone(),
    "b.clone": lambda i, b, f: b.clone(),
}

ERRORS = {
    "i**-1": (lambda i, b, f: i ** -1, RuntimeError, "negative integer powers"),
    "i-b": (lambda i, b, f: i - b, RuntimeError, "with a bool tensor is not supported"),
    "b-1": (lambda i, b, f: b - 1, RuntimeError, "with a bool tensor is not supported"),
    "1-b": (lambda i, b, f: 1 - b, RuntimeError, "with a bool tensor is not supported"),
    "b-b": (lambda i, b, f: b - b, RuntimeError, "with two bool tensors"),
    "-b": (lambda i, b, f: -b, RuntimeError, "Negation, the `-` operator, on a bool"),
    "b.relu": (lambda i, b, f: b.relu(), RuntimeError, "Boolean inputs not supported"),
    "b**b": (lambda i, b, f: b ** b, NotImplementedError, '"pow" not implemented'),
    "i.mean": (lambda i, b, f: i.mean(), RuntimeError, "could not infer output dtype"),
}


def _operands(lib):
    return (lib.tensor([3, -2, 7]), lib.tensor([True, False, True]),
            lib.tensor([1.5, 2.0, -0.5]))


def _plain(r):
    return str(r.dtype).split(".")[-1], np.asarray(r.tolist())


@pytest.mark.parametrize("name", sorted(CASES))
def test_dtype_and_values_as_torch(engine, torch, name):
    got = _plain(CASES[name](*_operands(engine)))
    want = _plain(CASES[name](*_operands(torch)))
    assert got[0] == want[0]
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    if got[0] != "float32":
        assert np.array_equal(got[1], want[1])


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_torch(engine, torch, name):
    call, kind, match = ERRORS[name]
    for lib in (engine, torch):
        with pytest.raises(kind, match=match):
            call(*_operands(lib))


def test_in_place_keeps_the_dtype_or_refuses(engine, torch):
    for lib in (engine, torch):
        x = lib.tensor([1, 2])
        x += 1
        x *= x
        x += lib.tensor([True, False])
        assert str(x.dtype).endswith("int64") and x.tolist() == [5, 9]
        b = lib.tensor([True, False])
        b += lib.tensor([False, False])
        assert str(b.dtype).endswith("bool") and b.tolist() == [True, False]
        for bad in (lambda: x.add_(1.5), lambda: x.div_(2), lambda: b.add_(1)):
            with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
                bad()
        f = lib.tensor([0.5, 1.0])
        f += lib.tensor([1, 2])
        assert str(f.dtype).endswith("float32") and f.tolist() == [1.5, 3.0]


def test_float_result_keeps_the_graph(engine):
    """int_tensor * float tensor that requires grad records as usual."""
    w = engine.tensor([0.5, 2.0], requires_grad=True)
    y = engine.tensor([3, 4]) * w
    assert y.dtype == engine.float32 and y.requires_grad
    y.sum().backward()
    assert w.grad.tolist() == [3.0, 4.0]


def test_bool_data_makes_bool_tensors(engine):
    assert engine.tensor([True, False]).dtype == tapegrad.bool
    assert engine.tensor([True, 2]).dtype == engine.int64
