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


def test_size_beyond_int64_is_type_error_as_torch(engine):
    """torch 2.13: TypeError "argument 'size' failed to unpack ... Overflow when unpacking
    long long", raised while parsing, before any size is checked for being negative."""
    for call in (lambda: engine.zeros(2 ** 64), lambda: engine.full([2 ** 63, 2], 1.0),
                 lambda: engine.full([10 ** 30, -2 ** 63 - 1], 2.0),
                 lambda: engine.ones(2).view(2 ** 64), lambda: engine.ones(2).reshape(2 ** 64)):
        with pytest.raises(TypeError, match="Overflow when unpacking long long"):
            call()


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


def test_tensor_times_ndarray_is_a_tensor_with_the_graph(engine, torch):
    """torch converts the ndarray (tensor * ndarray); the compiled engine handed back a
    numpy array, silently dropping the graph. ndarray * tensor is torch's TypeError."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    r = x * np.array([3.0, 4.0])
    assert isinstance(r, engine.Tensor) and r.dtype == engine.float64 and r.requires_grad
    r.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    tr = torch.tensor([1.0, 2.0]) * np.array([3.0, 4.0])
    assert tr.dtype == torch.float64
    with pytest.raises(TypeError):
        np.array([3.0, 4.0]) * x
    with pytest.raises(TypeError):
        np.array([3.0, 4.0]) * torch.tensor([1.0, 2.0])


@pytest.mark.parametrize("np_dtype", [object, np.complex64])
def test_ndarray_of_unsupported_dtype_is_type_error(engine, np_dtype):
    """The compiled engine computed int_tensor * object-array as Python floats and raised
    NoTensorError for a complex array; both now raise torch's TypeError."""
    a = np.array([1.5], dtype=np_dtype)
    for call in (lambda: engine.tensor(a), lambda: engine.tensor([3]) * a,
                 lambda: engine.ones(1) + a):
        with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy"):
            call()


@pytest.mark.parametrize("other", [[], (), object(), "x"])
def test_in_place_with_no_operand_is_type_error_first(engine, other):
    """An int tensor -= []: the compiled engine checked the dtype first (DtypeError)."""
    for x in (engine.tensor([1, 2]), engine.ones(2, requires_grad=True)):
        with pytest.raises(TypeError, match="argument 'other' must be a Tensor or a number"):
            x.sub_(other)


def test_repeated_and_out_of_range_dims_as_torch(engine, torch):
    """sum((2, 2)): the compiled engine reduced once; a 0-d sum((2,)): the reference
    accepted it."""
    for lib in (engine, torch):
        with pytest.raises(RuntimeError, match="dim 2 appears multiple times"):
            lib.ones(4, 4, 5).sum((2, 2))
        with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
            lib.tensor(1.0).sum((0, -1))
        with pytest.raises(IndexError, match="Dimension out of range"):
            lib.tensor(1.0).sum((2, 1))
        assert float(lib.tensor(3.0).sum((0,))) == 3.0


def test_fill_value_must_be_a_number(engine, torch):
    for lib in (engine, torch):
        with pytest.raises(TypeError, match="fill_value"):
            lib.full((2,), lib.float32)
        assert lib.full((2,), lib.tensor(3.0)).tolist() == [3.0, 3.0]


def test_stale_tensor_agrees_between_engines(engine):
    """After clear_tape() the compiled engine cut an intermediate from the graph (it read
    requires_grad False and refused ops); the reference kept it as if nothing happened."""
    x = engine.ones(2, 3, requires_grad=True)
    y = x * 2
    engine.clear_tape()
    assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    assert y.detach().tolist() == [[2.0] * 3] * 2 and "grad_fn" not in repr(y)
    for use in (lambda: y + 1, lambda: x * y, lambda: y.sum(), lambda: y.backward(y),
                lambda: y.item(), lambda: y.add_(1), lambda: y.clone(), lambda: y[0]):
        with pytest.raises(RuntimeError, match="freed by tapegrad.clear_tape"):
            use()
    z = x * 3                                # leaves survive: new graphs work
    z.sum().backward()
    assert x.grad.tolist() == [[3.0] * 3] * 2


def test_nll_loss_weight_checked_as_torch(engine, torch):
    """A float target with class weights: the compiled engine raised NotImplementedError
    for the weights before looking at the target."""
    import tapegrad.nn.functional as tF
    for lib, F in ((engine, tF), (torch, torch.nn.functional)):
        x = lib.zeros(2, 3)
        with pytest.raises(RuntimeError, match="Long"):
            F.nll_loss(x, lib.ones(2), lib.ones(1))
        with pytest.raises(RuntimeError, match="for all 3 classes or no classes"):
            F.nll_loss(x, lib.tensor([0, 1]), lib.ones(1))
        with pytest.raises(TypeError, match="'weight'"):
            F.cross_entropy(x, lib.tensor([0, 1]), [1.0, 2.0, 3.0])
        with pytest.raises(TypeError):
            F.binary_cross_entropy(lib.full((2,), 0.5), lib.ones(2), np.float32)


def test_index_beyond_int64_is_value_error_as_torch(engine, torch):
    """x[2**64]: the reference raised IndexError (out of bounds) where torch and the
    compiled engine raise ValueError (Overflow when unpacking long long)."""
    for lib in (engine, torch):
        for call in (lambda: lib.ones(4, 4)[2 ** 64], lambda: lib.ones(5, 3, 2)[2, -3, 2 ** 64]):
            with pytest.raises(ValueError, match="Overflow when unpacking long long"):
                call()
        with pytest.raises(IndexError, match="out of bounds"):
            lib.ones(4)[-5]


def test_arange_reads_one_element_tensors_as_torch(engine, torch):
    """arange(tensor(4)): the compiled engine made float32 [0., 1., 2., 3.] (and took a
    (1, 1) tensor too); torch gives int64 and refuses tensors of any dims. Float values
    are start + step * i in float64 on both."""
    for lib in (engine, torch):
        r = lib.arange(lib.tensor(4))
        assert str(r.dtype).endswith("int64") and r.tolist() == [0, 1, 2, 3]
        with pytest.raises(TypeError, match="must be Number"):
            lib.arange(lib.tensor([[4]]))
        f = lib.arange(0.1, 1.0, 0.3)
        assert str(f.dtype).endswith("float32")
    assert engine.arange(0.1, 1.0, 0.3).tolist() == torch.arange(0.1, 1.0, 0.3).tolist()


def test_tensor_parses_its_dtype_before_the_data(engine, torch):
    """tensor(10**30, dtype=<a tensor>): the compiled engine complained about the data."""
    for lib in (engine, torch):
        with pytest.raises(TypeError) as info:
            lib.as_tensor(10 ** 30, dtype=lib.ones(2))
        assert "dtype" in str(info.value)


# -- the disagreements of the other hypothesis sequence (6.170.17, 1500 cases) --------------

def test_zero_dim_transpose_checks_its_dims(engine, torch):
    """x.transpose(object(), 0) on a 0-d tensor: the compiled engine returned x."""
    for lib in (engine, torch):
        x = lib.tensor(2.0)
        with pytest.raises(TypeError):
            x.transpose(object(), 0)
        with pytest.raises(IndexError, match="Dimension out of range"):
            x.transpose(0, 1)
        assert x.transpose(0, -1).item() == 2.0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 3.0])
def test_zero_dim_softmax_of_nan_and_inf_as_torch(engine, torch, value):
    """log_softmax(tensor(nan), 0): the reference gave 0 where torch gives nan."""
    want = torch.tensor(value, dtype=torch.float64)
    x = engine.tensor(value, dtype=engine.float64)
    for name in ("log_softmax", "softmax"):
        got, exp = getattr(x, name)(0).item(), getattr(want, name)(0).item()
        assert got == exp or (np.isnan(got) and np.isnan(exp)), (name, got, exp)


def test_dot_with_a_non_tensor_is_type_error(engine, torch):
    for lib in (engine, torch):
        with pytest.raises(TypeError, match="Tensor"):
            lib.ones(2).dot(np.float32)


def test_integral_inplace_that_does_not_broadcast_is_runtime_error(engine, torch):
    """bool += bool of shapes (4, 1) and (5, 1): the compiled engine leaked numpy's
    ValueError."""
    import tapegrad
    for lib in (engine, torch):
        for dt in ((tapegrad if lib is engine else torch).bool, lib.int64):
            x = lib.zeros(4, 1, dtype=dt)
            with pytest.raises(RuntimeError, match="must match the size"):
                x += lib.zeros(5, 1, dtype=dt)
            with pytest.raises(RuntimeError, match="must match the size"):
                x + lib.zeros(5, 1, dtype=dt)


def test_inplace_with_a_stale_operand_is_the_stale_error(engine):
    """bool *= <stale float tensor>: the reference checked the cast first."""
    stale = engine.ones(3, requires_grad=True) * 2
    engine.clear_tape()
    import tapegrad
    x = engine.zeros(3, dtype=tapegrad.bool)
    with pytest.raises(RuntimeError, match="freed by tapegrad.clear_tape"):
        x *= stale


def test_clamp_with_tensor_bounds_as_torch(engine, torch):
    """clamp(x, tensor): the reference refused, the compiled engine read one element."""
    rng = np.random.default_rng(5)
    xv, lo, hi = rng.normal(size=(3, 4)), rng.normal(size=(4,)) - 0.5, rng.normal(size=(3, 1)) + 0.5
    results = {}
    for lib in (engine, torch):
        x = lib.tensor(xv, dtype=lib.float64, requires_grad=True)
        a = lib.tensor(lo, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(hi, dtype=lib.float64, requires_grad=True)
        outs = [lib.clamp(x, a, b), x.clamp(min=a), x.clamp(max=b), x.clamp_min(a),
                x.clamp_max(b), lib.clamp(x, None, b)]
        with pytest.raises(TypeError, match="invalid combination"):
            lib.clamp(x, -0.2, b)
        sum(((k + 1) * o).sum() for k, o in enumerate(outs)).backward()
        results[lib] = ([o.detach().numpy() for o in outs],
                        [t.grad.numpy() for t in (x, a, b)])
        assert lib.clamp(lib.ones(1), lib.zeros(0)).shape == (0,)
    (ve, ge), (vt, gt) = results[engine], results[torch]
    for e, t in zip(ve + ge, vt + gt):
        np.testing.assert_allclose(e, t, rtol=1e-15)


def test_permute_with_a_lone_ndarray_is_type_error(engine, torch):
    for lib in (engine, torch):
        with pytest.raises(TypeError, match="tuple of ints"):
            lib.ones(2, 3).permute(np.array([1, 0]))
        with pytest.raises(TypeError, match="tuple of ints"):
            lib.permute(lib.tensor(1.0), np.array(0, dtype=np.int32))
        assert lib.ones(2, 3).permute(np.int64(1), 0).shape == (3, 2)


def test_matmul_of_empty_batches_that_do_not_broadcast(engine, torch):
    for lib in (engine, torch):
        with pytest.raises(RuntimeError, match="must match the size"):
            lib.zeros(4, 1, 0).matmul(lib.zeros(0, 1, 0))


def test_argmin_dim_beyond_int32_is_index_error(engine, torch):
    """argmin(x, 2**40): the compiled engine's "integer won't fit into a C int"."""
    for lib in (engine, torch):
        for fn in (lib.argmin, lib.argmax):
            with pytest.raises(IndexError, match="Dimension out of range"):
                fn(lib.tensor(1.0), 2 ** 40)


# -- fuzz seeds 1-3 (hypothesis 6.155.2, 1500 cases each) ---------------------------------

@pytest.mark.parametrize("sa,sb,want", [((2,), (), "float32"), ((), (2,), "float64"),
                                        ((), (), "float64"), ((2,), (2,), "float64")])
def test_float32_with_float64_promotes_as_torch(engine, torch, sa, sb, want):
    """float32 (2,) * float64 0-d: the compiled engine gave float64; torch float32."""
    for lib in (engine, torch):
        a = lib.ones(sa, dtype=lib.float32)
        b = lib.ones(sb, dtype=lib.float64, requires_grad=True)
        r = a * b
        assert str(r.dtype).endswith(want) and str((b + a).dtype).endswith(want)
        r.sum().backward()
        assert str(b.grad.dtype).endswith("float64")


def test_inplace_float64_result_into_float32_is_allowed(engine, torch):
    """float32.div_(float64 0-d that requires grad): the reference refused the cast."""
    for lib in (engine, torch):
        a = lib.tensor(1.0)
        b = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        a.div_(b)
        a.backward()
        assert a.item() == 0.5 and b.grad.item() == -0.25
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.ones(2, dtype=lib.int64).add_(lib.ones(2))


def test_inplace_on_a_view_of_a_leaf_is_refused_as_torch(engine, torch):
    """w[::2] *= ... with w a leaf that requires grad: the compiled engine wrote it."""
    for lib in (engine, torch):
        for view in (lambda w: w[::2], lambda w: w.t()):
            w = lib.ones(4, 2, requires_grad=True)
            with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
                view(w).mul_(2.0)
            assert w.detach().numpy().tolist() == [[1.0, 1.0]] * 4


def test_mse_loss_of_integers_is_not_implemented(engine, torch):
    import tapegrad.nn.functional as tF
    for lib, F in ((engine, tF), (torch, torch.nn.functional)):
        with pytest.raises(NotImplementedError, match="mse_cpu"):
            F.mse_loss(lib.tensor([1, 2]), lib.tensor([1, 3]))


def test_eq_converts_an_ndarray_the_other_comparisons_do_not(engine, torch):
    a = np.array([1.0, 2.0, 3.0])
    for lib in (engine, torch):
        t = lib.tensor([1.0, 5.0, 3.0])
        assert (t == a).tolist() == [True, False, True]
        with pytest.raises(TypeError):
            assert t > a


def test_non_tensor_operands_are_type_errors(engine, torch):
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.ones(2, 2).mm(object())
        with pytest.raises(TypeError):
            lib.tensor(1.0).copy_([])
        with pytest.raises(TypeError):
            lib.tensor(1.0).size(lib.tensor(0.0))
        with pytest.raises(TypeError):
            lib.tensor([[1], 1], dtype=lib.float64)


def test_argmin_parses_its_dim_before_the_tensor(engine):
    stale = engine.ones(2, 3, requires_grad=True) * 2
    engine.clear_tape()
    with pytest.raises(TypeError, match="must be int"):
        engine.argmin(stale, int)
