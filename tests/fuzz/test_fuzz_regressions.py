"""Disagreements between the engines that the fuzzer found (issue 10, item 16), each
pinned on both engines with torch's exception type."""

import numpy as np
import pytest


def test_uninitialised_value_raises_runtime_error(engine):
    """Value.__new__(Value) used anyway: the reference raised AttributeError '_seq'."""
    v = engine.Value.__new__(engine.Value)
    for use in (lambda: v.backward(), lambda: v.data, lambda: v + 1.0, lambda: repr(v)):
        with pytest.raises(RuntimeError, match="not initialised"):
            use()


@pytest.mark.parametrize("dim", [2 ** 63, -2 ** 63 - 1, 10 ** 30])
def test_dim_beyond_int64_is_value_error(engine, dim):
    """The compiled engine leaked OverflowError, the reference raised IndexError; torch
    raises ValueError (Overflow when unpacking long long)."""
    x = engine.ones(2, 3)
    for call in (lambda: x.sum(dim), lambda: x.mean(dim), lambda: x.unsqueeze(dim),
                 lambda: x.transpose(0, dim), lambda: x.softmax(dim), lambda: x.size(dim)):
        with pytest.raises(ValueError, match="64-bit"):
            call()


def test_tensor_dim_is_type_error(engine):
    """A float tensor as dim: the compiled engine converted it (or raised RuntimeError)."""
    x = engine.ones(2, 3)
    d = engine.tensor([1.0])
    for call in (lambda: x.sum(d), lambda: x.unsqueeze(d), lambda: x.log_softmax(d),
                 lambda: x.flatten(d)):
        with pytest.raises(TypeError, match="dim must be an int"):
            call()


def test_float_index_is_index_error(engine):
    with pytest.raises(IndexError, match="valid indices"):
        engine.ones(3)[1.5]
    with pytest.raises(IndexError, match="valid indices"):
        engine.ones(3, 2)[0, 1.5]


def test_huge_slice_step_reads_one_element(engine):
    """A step beyond 64 bits once the index is applied: the compiled engine leaked
    OverflowError."""
    x = engine.arange(8.0).reshape(2, 2, 2)
    r = x[2 ** 62::2 ** 63 - 1]
    assert tuple(r.shape) == (0, 2, 2)
    r = x[0::2 ** 63 - 1]
    assert tuple(r.shape) == (1, 2, 2) and np.array_equal(np.asarray(r), np.asarray(x)[:1])


def test_matmul_dtype_mismatch_is_runtime_error(engine):
    """torch: RuntimeError (the compiled engine raised TypeError). Both engines raise
    tapegrad's one DtypeError, a RuntimeError that is also a TypeError."""
    a, b = engine.ones(2, 3), engine.ones(3, dtype=engine.float64)
    for call in (lambda: a @ b, lambda: a.mm(b.reshape(3, 1)), lambda: b @ a.t()):
        with pytest.raises(RuntimeError, match="same dtype") as info:
            call()
        assert isinstance(info.value, TypeError)


def test_float_of_many_elements_is_value_error(engine):
    x = engine.ones(2, 2)
    with pytest.raises(ValueError, match="only one element"):
        float(x)
    with pytest.raises(ValueError, match="only one element"):
        int(x)


@pytest.mark.parametrize("bad", [np.zeros(3), "ones", 1])
def test_non_dtype_dtype_is_type_error(engine, bad):
    """dtype=ndarray compared elementwise in the compiled engine (ValueError); a tensor
    as dtype made the reference's numpy raise ValueError."""
    for call in (lambda: engine.zeros(2, dtype=bad), lambda: engine.tensor([1.0], dtype=bad),
                 lambda: engine.tensor([1.0], dtype=engine.ones(2))):
        with pytest.raises(TypeError):
            call()


def test_size_beyond_int64_is_value_error(engine):
    with pytest.raises(ValueError):
        engine.zeros(2 ** 64)
    with pytest.raises(ValueError):
        engine.full([2 ** 63, 2], 1.0)


def test_numpy_operand_on_the_right(engine):
    """tensor * ndarray: the reference raised AttributeError '_requires_grad'."""
    x = engine.tensor([1.0, 2.0])
    r = x * np.array([3.0, 4.0], dtype=np.float32)
    assert np.array_equal(np.asarray(r), [3.0, 8.0])


def test_number_as_backward_gradient_is_type_error(engine):
    """torch: TypeError; the reference made a 0-d tensor of it."""
    x = engine.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="gradient must be a Tensor"):
        (x * 2).backward(1.0)


def test_dtype_errors_have_one_type_on_both_engines(engine):
    """The compiled engine raised plain RuntimeError or TypeError where the reference raised
    the shared DtypeError (torch's RuntimeError, also a TypeError)."""
    from tapegrad._dtype import DtypeError, NoTensorError

    ints = engine.tensor([1, 2])
    for call in (lambda: ints.requires_grad_(), lambda: ints.mean()):
        with pytest.raises(DtypeError):
            call()
    with pytest.raises(NoTensorError, match="Could not infer dtype"):
        engine.tensor([object()])


def test_matmul_of_a_0d_operand_is_runtime_error(engine):
    """The compiled engine raised NotImplementedError; torch raises RuntimeError."""
    for a, b in ((engine.tensor(2.0), engine.ones(3)), (engine.ones(3), engine.tensor(2.0))):
        with pytest.raises(RuntimeError, match="at least 1D"):
            a @ b


def test_binary_cross_entropy_with_weight(engine, libs, torch):
    """The compiled engine raised ImportError (a composed fallback that had gone)."""
    F = libs[3]
    x, t, w = [0.2, 0.9, 0.5], [0.0, 1.0, 1.0], [1.0, 2.0, 0.5]
    want = torch.nn.functional.binary_cross_entropy(
        torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64),
        weight=torch.tensor(w, dtype=torch.float64), reduction="sum").item()
    got = F.binary_cross_entropy(engine.tensor(x, dtype=engine.float64),
                                 engine.tensor(t, dtype=engine.float64),
                                 weight=engine.tensor(w, dtype=engine.float64), reduction="sum")
    assert abs(got.item() - want) <= 1e-12 * abs(want)
