# Integer and bool tensors (included by _engine.pyx after _tensor_ops.pxi).
#
# The float kernels of csrc/ never see their elements: each op whose operand is an
# int64 or bool tensor comes here first, and torch's promotion (tapegrad._integral)
# decides. An integral result is computed by numpy in its dtype, recording nothing
# (such tensors never require grad); a floating result converts the operands and runs
# the float kernels, which record the graph of a float operand that requires grad.

from . import _integral


cdef inline bint _integral_code(int code):
    """1 for the integer and bool dtypes (every code but TG_F32 and TG_F64)."""
    return code != TG_F32 and code != TG_F64


cdef object _integral_arith(Tensor x, object other, str op, bint reflected):
    """x op other (other op x when reflected) for an integral tensor x, as torch."""
    cdef Tensor o
    _check_live(x)
    if isinstance(other, np.ndarray):
        if reflected:                       # torch: ndarray op tensor is a TypeError
            return NotImplemented
        other = tensor(other)
    if isinstance(other, Tensor):
        o = <Tensor>other
        _check_live(o)
        _note_tensor_read(o)
        b, b_dt, b_prio = _as_numpy(&o.v), _DTYPES[o.v.dtype], _integral.priority(o.v.ndim)
    elif isinstance(other, (bool, int, float, np.bool_, np.integer, np.floating)):
        b, b_dt, b_prio = other, scalar_dtype(other), _integral.SCALAR
    else:
        return NotImplemented
    _note_tensor_read(x)
    data, dt = _integral.binary(op, _as_numpy(&x.v), _DTYPES[x.v.dtype], b, b_dt, b_prio,
                                reflected)
    if data is not None:
        return _from_numpy(data, _dtype_code(dt))
    xf = x.to(dt)
    if isinstance(other, Tensor) and other.dtype is not dt:
        other = other.to(dt)
    fn = _integral.PY_OPS[op]
    return fn(other, xf) if reflected else fn(xf, other)


cdef Tensor _integral_unary(Tensor x, str op):
    """neg, abs or relu of an integral tensor, in its dtype."""
    _check_live(x)
    _note_tensor_read(x)
    return _from_numpy(_integral.unary(op, _as_numpy(&x.v), _DTYPES[x.v.dtype]), x.v.dtype)


cdef Tensor _integral_inplace(Tensor x, object other, str op, str name):
    """x op= other for an integral tensor x: torch refuses a result of a higher kind."""
    if not isinstance(other, (Tensor, np.ndarray, bool, int, float, np.number)) or \
            isinstance(other, complex):
        raise TypeError(f"{name}(): argument 'other' must be a Tensor or a number, not "
                        f"'{type(other).__name__}'")
    _check_inplace(x, name)
    r = _integral_arith(x, other, op, False)
    _integral.check_cast(r.dtype, _DTYPES[x.v.dtype])
    out = _as_numpy(&x.v)
    out[...] = np.broadcast_to(_as_numpy(&(<Tensor>r).v), out.shape).astype(out.dtype)
    x.v.buf.version += 1
    return x


cdef object _integral_sum(Tensor x, object dim, bint keepdim):
    """torch sums int64 and bool tensors in int64."""
    _note_tensor_read(x)
    a = _as_numpy(&x.v)
    if dim is None:
        return _from_numpy(a.sum(dtype=np.int64), TG_I64)
    axes = tuple(_distinct_dims(dim, x.v.ndim) if isinstance(dim, (tuple, list)) and dim
                 else (range(x.v.ndim) if isinstance(dim, (tuple, list))
                       else (_norm_dim(dim, x.v.ndim),)))
    if x.v.ndim == 0:
        axes = ()
    return _from_numpy(a.sum(axis=axes, dtype=np.int64, keepdims=keepdim), TG_I64)


cdef object _integral_extreme(Tensor x, object dim, bint keepdim, bint is_min):
    """max / min of an integral tensor in its dtype: a 0-d tensor, or (values, indices)
    along dim with the first extreme's index."""
    cdef str name = "min" if is_min else "max"
    _note_tensor_read(x)
    a = _as_numpy(&x.v)
    if dim is None:
        if x.v.numel == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        return _from_numpy(a.min() if is_min else a.max(), x.v.dtype)
    d = _norm_dim(dim, x.v.ndim)
    if x.v.ndim == 0:
        return (MinResult if is_min else MaxResult)(_from_numpy(a, x.v.dtype),
                                                    _from_numpy(np.int64(0), TG_I64))
    if a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim to have non-zero size.")
    idx = np.argmin(a, axis=d) if is_min else np.argmax(a, axis=d)
    values = np.take_along_axis(a, np.expand_dims(idx, d), axis=d)
    if not keepdim:
        values = np.squeeze(values, axis=d)
    else:
        idx = np.expand_dims(idx, d)
    return (MinResult if is_min else MaxResult)(_from_numpy(values, x.v.dtype),
                                                _from_numpy(idx, TG_I64))


cdef object _integral_clamp(Tensor x, object lo, object hi):
    """clamp of an integral tensor: integral bounds keep an integral dtype, a float
    bound makes it float (torch's promotion)."""
    dt = _integral.clamp_dtype(_DTYPES[x.v.dtype], x.v.ndim, lo, hi)
    if dt.is_floating_point:
        return x.to(dt).clamp(lo, hi)
    _note_tensor_read(x)
    return _from_numpy(np.clip(_as_numpy(&x.v).astype(dt.numpy), lo, hi), _dtype_code(dt))


cdef Tensor _integral_matmul(Tensor x, Tensor y, str name):
    """matmul / mm / bmm of two integer tensors of one dtype, as torch: in that dtype,
    wrapping; bool has no kernel (torch's NotImplementedError)."""
    if x.v.dtype == TG_BOOL:
        raise no_kernel("addmm_impl_cpu_" if name == "matmul" else name, bool_)
    _note_tensor_read(x)
    _note_tensor_read(y)
    a, b = _as_numpy(&x.v), _as_numpy(&y.v)
    try:
        out = np.matmul(a, b)
    except ValueError:
        raise RuntimeError(f"{name}: shapes {_shape_str(&x.v)} and {_shape_str(&y.v)} cannot "
                           "be multiplied") from None
    return _from_numpy(np.asarray(out, dtype=a.dtype), x.v.dtype)
