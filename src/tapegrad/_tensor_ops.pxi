# Tensor ops: argument parsing, shape checks and node recording for math,
# reductions, linalg, shapes and losses (included by _engine.pyx after
# _tensor.pxi). Kernels are in csrc/tg_tensor.c.

cdef int64_t TENSOR_BYTES_BEFORE_COLLECT = 8 << 20     # reclaim dead buffers this often


# ----------------------------------------------------------------------------
# BLAS from SciPy (the same OpenBLAS family numpy uses), loaded on first use

cdef extern from "Python.h":
    void *PyCapsule_GetPointer(object capsule, const char *name) except? NULL
    const char *PyCapsule_GetName(object capsule) except? NULL

cdef int _load_blas() except -1:
    global tg_sgemm, tg_dgemm
    if tg_sgemm != NULL:
        return 0
    from ._blas import cython_blas_capi
    caps = cython_blas_capi()
    tg_sgemm = <tg_sgemm_fn>PyCapsule_GetPointer(caps["sgemm"], PyCapsule_GetName(caps["sgemm"]))
    tg_dgemm = <tg_dgemm_fn>PyCapsule_GetPointer(caps["dgemm"], PyCapsule_GetName(caps["dgemm"]))
    return 0


# ----------------------------------------------------------------------------
# Recording

cdef Tensor _finish(uint8_t op, tg_tnode *n, Tensor x, Tensor y):
    """Wrap node n (forward done, inputs referenced) as the result of op on x (and y).
    It is recorded on the tape when grad mode is on and an input requires grad."""
    cdef bint xg = x is not None and x.index >= 0
    cdef bint yg = y is not None and y.index >= 0
    cdef Tensor r
    # only a floating point result is recorded (torch: other dtypes cannot require grad,
    # and no backward kernel was written for them)
    cdef bint float_out = n.out.dtype == TG_F32 or n.out.dtype == TG_F64
    if not (tg_grad_enabled() and (xg or yg) and float_out):
        if xg or yg:                    # a recorded value used off the graph
            _note_tensor_read(x if xg else y)
            if xg and yg:
                _note_tensor_read(y)
        elif _recordings_active:
            if x is not None:
                _note_arg_use(x)
            if y is not None:
                _note_arg_use(y)
        r = _wrap(&n.out)
        tg_tnode_free(n)
        return r
    cdef _Tape tape = x.tape if xg else y.tape
    if xg and yg and y.tape is not tape:
        tg_tnode_free(n)
        _note_other_tape(x.tape, y.tape)
        _raise_mixed()
    cdef tg_tape *t = &tape.t
    try:
        if t.tensor_bytes > TENSOR_BYTES_BEFORE_COLLECT:
            _check_idle(tape)
            if tg_tape_collect(t) != 0:
                raise MemoryError("tapegrad: cannot collect the tape")
        if t.node_count >= t.node_cap:
            _reserve(tape, 0)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.in_version[0] = n.in_[0].buf.version if n.in_[0].buf != NULL else 0
    n.in_version[1] = n.in_[1].buf.version if n.in_[1].buf != NULL else 0
    n.out_version = n.out.buf.version
    r = Tensor.__new__(Tensor)
    r.v = n.out
    tg_buf_incref(r.v.buf)
    r.tape = tape
    r.tp = t
    r.index = tg_tape_push_tensor(t, op, x.index if xg else -1, y.index if yg else -1,
                                  n, &r.index)
    if tape.recorder is not None and (not xg or (y is not None and not yg)):
        _note_constant(tape, y if xg else x)
    return r

cdef Tensor _cast(Tensor x, int code):
    """x in dtype code; recorded, so gradients flow back converted to x's dtype."""
    if x.v.dtype == code:
        return x
    _check_live(x)
    cdef tg_tnode *n = _node(x, None)
    n.out = x.v
    n.out.buf = NULL
    n.out.dtype = code
    return _run(TT_CAST, n, x, None)

cdef tg_tnode *_node(Tensor x, Tensor y) except NULL:
    cdef tg_tnode *n = tg_tnode_new()
    if n == NULL:
        raise MemoryError("tapegrad: out of memory")
    n.in_[0] = x.v
    tg_buf_incref(x.v.buf)
    if y is not None:
        n.in_[1] = y.v
        tg_buf_incref(y.v.buf)
    return n


cdef Tensor _run(uint8_t op, tg_tnode *n, Tensor x, Tensor y, bint zero=False):
    """Allocate n's output (shape already set), run the forward kernel, finish."""
    try:
        if op != TT_VIEW:
            _alloc(&n.out, zero)
        if op == TT_MM or op == TT_BMM:
            _load_blas()
        _check_kernel(tg_tensor_forward(n, op, NULL), op, n)
    except BaseException:
        tg_tnode_free(n)
        raise
    return _finish(op, n, x, y)


cdef int _check_kernel(int rc, uint8_t op, const tg_tnode *n) except -1:
    """Raise for a forward kernel's non-zero answer rc (the kernel refuses, before it
    reads anything, operands of a dtype it was not written for)."""
    if rc == 0:
        return 0
    cdef str name = _TORCH_NAMES.get(op, str(op))
    if rc == TG_EDTYPE:
        raise NoKernelError(f"{name}: no tapegrad kernel for dtype {_DTYPES[n.in_[0].dtype]} "
                        f"(operands {_DTYPES[n.in_[0].dtype]}, {_DTYPES[n.in_[1].dtype]}; result "
                        f"{_DTYPES[n.out.dtype]}); convert with .float() or .double()")
    raise RuntimeError(f"tapegrad: tensor kernel {name} failed")


cdef Tensor _binary(uint8_t op, Tensor x, Tensor y, str name):
    _check_live(x)
    _check_live(y)
    if _integral_code(x.v.dtype):       # (the dunders send these to _integral_arith)
        return _integral_arith(x, y, name, False)
    if x.v.dtype != y.v.dtype:          # torch's promotion: a 0-d operand does not widen
        code = _dtype_code(_integral.result_type([           # a dimensioned one's float
            (_DTYPES[x.v.dtype], _integral.priority(x.v.ndim)),
            (_DTYPES[y.v.dtype], _integral.priority(y.v.ndim))]))
        x = _cast(x, code)
        y = _cast(y, code)
    cdef int64_t shape[8]
    cdef int nd
    if tg_broadcast_shape(&x.v, &y.v, shape, &nd) != 0:
        raise RuntimeError(f"{name}: shapes {_shape_str(&x.v)} and {_shape_str(&y.v)} "
                           "cannot be broadcast together")
    cdef tg_tnode *n = _node(x, y)
    n.out.dtype = x.v.dtype
    n.out.ndim = nd
    n.out.numel = 1
    for d in range(nd):
        n.out.shape[d] = shape[d]
        n.out.numel *= shape[d]
    return _run(op, n, x, y)


cdef Tensor _unary(uint8_t op, Tensor x, str name, double c=0.0, double c1=0.0,
                   int has_lo=0, int has_hi=0, int grad_fn=0):
    _check_live(x)
    if _integral_code(x.v.dtype):   # meet floats in float32, as in torch
        x = _cast(x, TG_F32)
    cdef tg_tnode *n = _node(x, None)
    n.out = x.v
    n.out.buf = NULL
    n.dp[0] = c
    n.dp[1] = c1
    n.ip[0] = has_lo
    n.ip[1] = has_hi
    n.grad_fn = grad_fn
    return _run(op, n, x, None)


cdef object _scalar_or_tensor(object other, double *c):
    """Tensor -> itself; a real number -> None with *c set; else NotImplemented."""
    if isinstance(other, Tensor):
        return other
    if _real(other, c):
        return None
    if isinstance(other, np.ndarray):       # torch converts it (tensor * ndarray, not reflected)
        return tensor(other)
    return NotImplemented


cdef int64_t _int_arg(object x, str what) except? -1:
    """Argument ``what`` as a 64-bit int, as torch parses an int: a TypeError for what is
    no integer (a float, a float tensor), a ValueError for an int beyond 64 bits."""
    if type(x) is not int:
        try:
            x = _operator_index(x)
        except TypeError:
            raise TypeError(f"{what} must be an int, not '{type(x).__name__}'") from None
    if not -_INT64_LIMIT <= x < _INT64_LIMIT:
        raise ValueError(f"{what} {x} does not fit in a 64-bit integer (Overflow when "
                         "unpacking long long)")
    return <int64_t>x


cdef int _norm_dim(object dim_arg, int ndim) except -100:
    cdef int64_t dim = _int_arg(dim_arg, "dim")
    cdef int n = ndim if ndim > 0 else 1
    if dim < -n or dim >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return <int>(dim + n if dim < 0 else dim)


cdef set _distinct_dims(object dim, int ndim):
    """The dims of a sequence, each checked, none twice (torch's RuntimeError)."""
    cdef set dims = set()
    cdef int d
    for k in dim:
        d = _norm_dim(k, ndim)
        if d in dims:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        dims.add(d)
    return dims


cdef Tensor _reduce(uint8_t op, Tensor x, object dim, bint keepdim, str name, int grad_fn=0):
    _check_live(x)
    _check_float(x, name)
    cdef tg_tnode *n
    cdef list out_shape = []
    cdef int d
    cdef set dims
    if dim is None:                     # the common case, without Python sets
        n = _node(x, None)
        for d in range(x.v.ndim):
            n.ip[d] = 1
        n.out = x.v
        n.out.buf = NULL
        if keepdim:
            for d in range(x.v.ndim):
                n.out.shape[d] = 1
        else:
            n.out.ndim = 0
        n.out.numel = 1
        n.grad_fn = grad_fn
        return _run(op, n, x, None)
    if isinstance(dim, (tuple, list)):
        # torch reads an empty list as every dim
        dims = _distinct_dims(dim, x.v.ndim) if dim else set(range(x.v.ndim))
    else:
        dims = {_norm_dim(dim, x.v.ndim)}
    n = _node(x, None)
    for d in range(x.v.ndim):
        n.ip[d] = 1 if d in dims else x.v.shape[d]
        if d not in dims:
            out_shape.append(x.v.shape[d])
        elif keepdim:
            out_shape.append(1)
    if dim is not None:
        n.grad_fn = NAME_SUM_DIM if op == TT_SUM else NAME_MEAN_DIM
    _set_shape(&n.out, out_shape, x.v.dtype)
    return _run(op, n, x, None)


cdef Tensor _view(Tensor x, object shape, int name=0):
    """Same elements, new shape: shares x's buffer."""
    _check_live(x)
    cdef tg_tnode *n = _node(x, None)
    try:
        _set_shape(&n.out, shape, x.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    if n.out.numel != x.v.numel:
        tg_tnode_free(n)
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.v.numel}")
    n.out.buf = x.v.buf
    tg_buf_incref(x.v.buf)
    n.grad_fn = name
    return _run(TT_VIEW, n, x, None)


cdef Tensor _gather(Tensor x, list shape, int64_t offset, list strides, int name):
    """A strided read of x: out[i0, i1, ...] = x.flat[offset + sum(i_d * strides[d])]."""
    _check_live(x)
    cdef tg_tnode *n = _node(x, None)
    try:
        _set_shape(&n.out, shape, x.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.ip[0] = offset
    for d in range(len(strides)):
        n.ip[1 + d] = strides[d]
    n.grad_fn = name
    return _run(TT_GATHER, n, x, None)


cdef Tensor _swap_last2(Tensor x, int name):
    """x with its last two dimensions swapped (a strided read, no Python lists)."""
    _check_live(x)
    cdef tg_tnode *n = _node(x, None)
    cdef int nd = x.v.ndim, d
    cdef int64_t s = 1
    n.out = x.v
    n.out.buf = NULL
    n.out.shape[nd - 2] = x.v.shape[nd - 1]
    n.out.shape[nd - 1] = x.v.shape[nd - 2]
    for d in range(nd - 1, -1, -1):      # x's contiguous strides, last two swapped
        n.ip[1 + d] = s
        s *= x.v.shape[d]
    n.ip[1 + nd - 2], n.ip[1 + nd - 1] = n.ip[1 + nd - 1], n.ip[1 + nd - 2]
    n.ip[0] = 0
    n.grad_fn = name
    return _run(TT_GATHER, n, x, None)


cdef list _contiguous_strides(const tg_view *v):
    cdef list strides = [0] * v.ndim
    cdef int64_t s = 1
    for d in range(v.ndim - 1, -1, -1):
        strides[d] = s
        s *= v.shape[d]
    return strides


cdef Tensor _matmul(Tensor x, Tensor y):
    _check_live(x)
    _check_live(y)
    if x.v.ndim == 0 or y.v.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they "
                           f"are {x.v.ndim}D and {y.v.ndim}D")
    if x.v.dtype != y.v.dtype:
        raise DtypeError(f"expected m1 and m2 to have the same dtype, but got: "
                         f"{_DTYPES[x.v.dtype]} != {_DTYPES[y.v.dtype]} (matmul of shapes "
                         f"{_shape_str(&x.v)} and {_shape_str(&y.v)}); convert one with .to()")
    if _integral_code(x.v.dtype):        # numpy, in the dtype (bool: no kernel, as torch)
        return _integral_matmul(x, y, "matmul")
    if (x.v.ndim >= 3 or y.v.ndim >= 3) and x.v.ndim > 0 and y.v.ndim > 0:
        return _batched_matmul(x, y)
    cdef int64_t m, k, k2, nn
    cdef int name = 0
    cdef list out_shape
    if x.v.ndim == 1 and y.v.ndim == 1:
        m, k, k2, nn, out_shape, name = 1, x.v.shape[0], y.v.shape[0], 1, [], NAME_DOT
    elif x.v.ndim == 2 and y.v.ndim == 2:
        m, k, k2, nn = x.v.shape[0], x.v.shape[1], y.v.shape[0], y.v.shape[1]
        out_shape = [m, nn]
    elif x.v.ndim == 2 and y.v.ndim == 1:
        m, k, k2, nn, out_shape, name = x.v.shape[0], x.v.shape[1], y.v.shape[0], 1, [x.v.shape[0]], NAME_MV
    elif x.v.ndim == 1 and y.v.ndim == 2:
        m, k, k2, nn, out_shape, name = 1, x.v.shape[0], y.v.shape[0], y.v.shape[1], [y.v.shape[1]], NAME_VM
    else:
        raise NotImplementedError(
            f"matmul of shapes {_shape_str(&x.v)} and {_shape_str(&y.v)}: tapegrad supports "
            "1-D and 2-D operands")
    if k != k2:
        raise RuntimeError(f"matmul: shapes {_shape_str(&x.v)} and {_shape_str(&y.v)} cannot be "
                           f"multiplied ({k} != {k2})")
    if m > 2**31 - 1 or nn > 2**31 - 1 or k > 2**31 - 1:
        raise ValueError("matmul: dimensions too large for BLAS")
    cdef tg_tnode *n = _node(x, y)
    _set_shape(&n.out, out_shape, x.v.dtype)
    n.ip[0], n.ip[1], n.ip[2] = m, k, nn
    n.grad_fn = name
    return _run(TT_MM, n, x, y)


cdef tuple _broadcast_batch(tuple sa, tuple sb):
    """The broadcast of two batch shapes, or a RuntimeError naming both."""
    try:
        return tuple(np.broadcast_shapes(sa, sb))
    except ValueError:
        raise _broadcast_error("matmul", sa, sb) from None


cdef Tensor _expand(Tensor x, list shape):
    """x read as shape (trailing dims aligned; size-1 and missing dims repeat):
    a strided read with stride 0 where x broadcasts (ExpandBackward0)."""
    cdef list strides = _contiguous_strides(&x.v)
    cdef int lead = len(shape) - x.v.ndim
    cdef list out_strides = [0] * lead
    for d in range(x.v.ndim):
        out_strides.append(0 if x.v.shape[d] == 1 and shape[lead + d] != 1 else strides[d])
    return _gather(x, shape, 0, out_strides, NAME_EXPAND)


cdef Tensor _batched_matmul(Tensor x, Tensor y):
    """torch.matmul with an operand of 3 or more dims, recorded as the reference and
    torch record it: a batch folded into the rows of one mm / mv, or expand, view,
    bmm and an unsafe view back to the batch shape."""
    cdef list xs = list(_shape_of(&x.v)), ys = list(_shape_of(&y.v))
    cdef int a = x.v.ndim, b = y.v.ndim      # (no negative indices: wraparound is off)
    cdef int64_t rows = 1, nb = 1
    if b <= 2:                                 # (..., n, k) @ (k, m) or (k,)
        for s in xs[:a - 1]:
            rows *= s
        flat = _view(x, [rows, xs[a - 1]])
        r = flat.mv(y) if b == 1 else flat.mm(y)
        return _view(r, xs[:a - 1] + ys[1:], NAME_UNSAFE_VIEW)
    if a == 1:                                 # (k,) @ (..., k, m) = (..., m, k) @ (k,)
        return _matmul(y.transpose(b - 1, b - 2), x)
    n, k = xs[a - 2], xs[a - 1]
    k2, m = ys[b - 2], ys[b - 1]
    batch = list(_broadcast_batch(tuple(xs[:a - 2]), tuple(ys[:b - 2])))
    for s in batch:
        nb *= s
    if k != k2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {k}] but got: [{nb}, {k2}].")
    a3 = _view(_expand(x, batch + [n, k]), [nb, n, k])
    b3 = _view(_expand(y, batch + [k, m]), [nb, k, m])
    return _view(_bmm(a3, b3), batch + [n, m], NAME_UNSAFE_VIEW)


cdef Tensor _bmm(Tensor x, object other):
    """torch.bmm: (b, n, k) @ (b, k, m) as one BmmBackward0 node."""
    if not isinstance(other, Tensor):
        raise TypeError(f"bmm(): argument 'mat2' must be Tensor, not {type(other).__name__}")
    cdef Tensor y = <Tensor>other
    _check_live(x)
    _check_live(y)
    if x.v.dtype != y.v.dtype:
        raise DtypeError(f"expected m1 and m2 to have the same dtype, but got: "
                         f"{_DTYPES[x.v.dtype]} != {_DTYPES[y.v.dtype]}")
    if x.v.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if y.v.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    cdef int64_t b = x.v.shape[0], m = x.v.shape[1], k = x.v.shape[2], nn = y.v.shape[2]
    if y.v.shape[0] != b or y.v.shape[1] != k:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {k}] but got: [{y.v.shape[0]}, {y.v.shape[1]}].")
    if _integral_code(x.v.dtype):        # numpy, in the dtype (bool: no kernel, as torch)
        return _integral_matmul(x, y, "bmm")
    if m > 2**31 - 1 or nn > 2**31 - 1 or k > 2**31 - 1:
        raise ValueError("bmm: dimensions too large for BLAS")
    cdef tg_tnode *n = _node(x, y)
    _set_shape(&n.out, [b, m, nn], x.v.dtype)
    n.ip[0], n.ip[1], n.ip[2], n.ip[3] = b, m, k, nn
    return _run(TT_BMM, n, x, y)


cdef Tensor _along_dim(uint8_t op, Tensor x, object dim, list out_shape, Tensor extra=None):
    """softmax / log_softmax / max over dim: outer x size x inner in ip[1..3]."""
    _check_live(x)
    _check_float(x, "softmax" if op == TT_SOFTMAX else
                 ("log_softmax" if op == TT_LOG_SOFTMAX else "max"))
    if x.v.ndim == 0:
        out_shape = []
    cdef int d = _norm_dim(dim, x.v.ndim)
    cdef int64_t outer = 1, inner = 1, size = x.v.shape[d] if x.v.ndim > 0 else 1
    for k in range(d):
        outer *= x.v.shape[k]
    for k in range(d + 1, x.v.ndim):
        inner *= x.v.shape[k]
    cdef tg_tnode *n = _node(x, extra)
    _set_shape(&n.out, out_shape, x.v.dtype)
    n.ip[0], n.ip[1], n.ip[2], n.ip[3] = d, outer, size, inner
    return _run(op, n, x, None)

MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


cdef object _extreme(Tensor x, object dim, bint keepdim, bint is_min):
    """max / min over everything (0-d; ties share the gradient) or along dim
    ((values, indices); the index takes the gradient)."""
    cdef str name = "min" if is_min else "max"
    _check_live(x)
    _check_float(x, name)
    cdef tg_tnode *n
    cdef Tensor idx
    if dim is None:
        if x.v.numel == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        n = _node(x, None)
        _set_shape(&n.out, (), x.v.dtype)
        return _run(TT_MIN_ALL if is_min else TT_MAX_ALL, n, x, None)
    d = _norm_dim(dim, x.v.ndim)
    shape = list(_shape_of(&x.v))
    if shape and shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim to have non-zero size.")
    if shape:
        if keepdim:
            shape[d] = 1
        else:
            del shape[d]
    idx = Tensor.__new__(Tensor)
    _set_shape(&idx.v, shape, TG_I64)
    _alloc(&idx.v)
    values = _along_dim(TT_MIN_DIM if is_min else TT_MAX_DIM, x, dim, shape, idx)
    return (MinResult if is_min else MaxResult)(values, idx)


cdef int _softmax_dim(Tensor x, object dim, str name) except -100:
    """softmax's dim: required, as torch's method has it; None picks torch's legacy
    implicit dim (what F.softmax(x) does), as the reference does."""
    if dim is _NO_DIM:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    if dim is None:
        return 0 if x.v.ndim in (0, 1, 3) else 1
    return _norm_dim(dim, x.v.ndim)

cdef inline Tensor _as_operand(Tensor like, object other):
    """A Python number as a 0-d tensor of like's dtype (for tensor-tensor kernels)."""
    cdef Tensor r = Tensor.__new__(Tensor)
    _set_shape(&r.v, (), like.v.dtype)
    _alloc(&r.v)
    if like.v.dtype == TG_F32:
        (<float *>r.v.buf.data)[0] = <float>float(other)
    else:
        (<double *>r.v.buf.data)[0] = <double>float(other)
    return r


# numpy's elementwise comparisons, by `how`: <, <=, >, >=, ==, !=
cdef tuple _NP_COMPARISONS = (np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                              np.not_equal)


cdef bint _same_shape(const tg_view *a, const tg_view *b):
    if a.ndim != b.ndim:
        return False
    for d in range(a.ndim):
        if a.shape[d] != b.shape[d]:
            return False
    return True


cdef bint _same_layout(const tg_view *a, const tg_view *b):
    """Same dtype and shape."""
    cdef int d
    if a.ndim != b.ndim or a.dtype != b.dtype:
        return False
    for d in range(a.ndim):
        if a.shape[d] != b.shape[d]:
            return False
    return True


cdef object _compare(Tensor x, object other, int how):
    """Elementwise comparison as a bool tensor (not differentiable, like torch's)."""
    cdef double c
    if how == 4 and isinstance(other, np.ndarray):    # torch: == converts an ndarray;
        other = tensor(other)                          # the others leave it to numpy
    if isinstance(other, Tensor):
        b = _as_numpy(&(<Tensor>other).v)
    elif _real(other, &c):
        b = other
    else:
        return NotImplemented
    a = _as_numpy(&x.v)
    try:
        r = _NP_COMPARISONS[how](a, b)
    except ValueError:
        raise RuntimeError(f"comparison: shapes {x.shape} and {other.shape} cannot be "
                           "broadcast together") from None
    result = _from_numpy(r, TG_BOOL)
    _note_tensor_compare(x, other, how, result)
    return result


cdef int _check_inplace(Tensor x, str name, bint record=False) except -1:
    _check_live(x)
    if _recordings_active:
        _refuse_inplace_while_recording(x, name)
    if x.index >= 0 and tg_grad_enabled():
        if x.tp.op[x.index] == TT_LEAF:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               f"operation ({name}).")
        if record:            # recorded by the caller (_tensor_index.pxi)
            return 0
        raise NotImplementedError(
            f"{name}: in-place operations on tensors that require grad are not recorded by "
            "tapegrad; use the out-of-place form")
    return 0


_INPLACE_OPS = {TT_ADD: "add", TT_SUB: "sub", TT_MUL: "mul", TT_DIV: "div"}


cdef Tensor _inplace(Tensor x, uint8_t op, object other, str name):
    """x op= other, elementwise, in x's buffer (other broadcast to x's shape)."""
    cdef Tensor y
    cdef double c
    if not isinstance(other, (Tensor, np.ndarray)) and not _real(other, &c):
        raise TypeError(f"{name}(): argument 'other' must be a Tensor or a number, not "
                        f"'{type(other).__name__}'")
    if _integral_code(x.v.dtype):
        return _integral_inplace(x, other, _INPLACE_OPS[op], name)
    if _recording_write(x, other):
        return _inplace_recorded(x, op, other, name)
    _check_inplace(x, name)
    if isinstance(other, np.ndarray):
        other = tensor(other)
    if isinstance(other, Tensor):
        y = <Tensor>other
        if y.v.dtype != x.v.dtype:
            y = y.to(_DTYPES[x.v.dtype])
    else:
        y = _as_operand(x, other)
    cdef int64_t shape[8]
    cdef int nd
    if tg_broadcast_shape(&x.v, &y.v, shape, &nd) != 0 or nd != x.v.ndim or any(
            shape[d] != x.v.shape[d] for d in range(nd)):
        raise RuntimeError(f"{name}: shape {_shape_str(&y.v)} cannot be broadcast to the "
                           f"in-place target's shape {_shape_str(&x.v)}")
    cdef tg_tnode n
    memset(&n, 0, sizeof(tg_tnode))
    n.in_[0] = x.v
    n.in_[1] = y.v
    n.out = x.v
    _check_kernel(tg_tensor_forward(&n, op, NULL), op, &n)   # writes into x's buffer: same index, read first
    x.v.buf.version += 1
    return x

# ----------------------------------------------------------------------------
# Functions mirroring the methods

cdef Tensor _tensor_arg(object x, str name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return <Tensor>x


def exp(x): return _tensor_arg(x, "exp").exp()
def log(x): return _tensor_arg(x, "log").log()
def tanh(x): return _tensor_arg(x, "tanh").tanh()
def relu(x): return _tensor_arg(x, "relu").relu()
def sigmoid(x): return _tensor_arg(x, "sigmoid").sigmoid()
def abs(x): return _tensor_arg(x, "abs").abs()
def sqrt(x): return _tensor_arg(x, "sqrt").sqrt()
def clamp(x, min=None, max=None): return _tensor_arg(x, "clamp").clamp(min, max)
def softmax(x, dim, dtype=None): return _tensor_arg(x, "softmax").softmax(dim, dtype)
def log_softmax(x, dim, dtype=None): return _tensor_arg(x, "log_softmax").log_softmax(dim, dtype)
def matmul(x, y): return _matmul(_tensor_arg(x, "matmul"), y)
def mm(x, y): return _tensor_arg(x, "mm").mm(y)
def bmm(x, y): return _bmm(_tensor_arg(x, "bmm"), y)
def mean(x, dim=None, keepdim=False): return _tensor_arg(x, "mean").mean(dim, keepdim)
def max(x, dim=None, keepdim=False): return _tensor_arg(x, "max").max(dim, keepdim)
def min(x, dim=None, keepdim=False): return _tensor_arg(x, "min").min(dim, keepdim)
def reshape(x, *shape): return _tensor_arg(x, "reshape").reshape(*shape)
def flatten(x, start_dim=0, end_dim=-1): return _tensor_arg(x, "flatten").flatten(start_dim, end_dim)
def transpose(x, d0, d1): return _tensor_arg(x, "transpose").transpose(d0, d1)
def unsqueeze(x, d): return _tensor_arg(x, "unsqueeze").unsqueeze(d)
def squeeze(x, d=None): return _tensor_arg(x, "squeeze").squeeze(d)
def is_tensor(x): return isinstance(x, Tensor)

cdef bint _targets_outside(Tensor target, int64_t classes) except -1:
    """1 when an int64 target lies outside [0, classes)."""
    if target.v.numel == 0 or target.v.buf == NULL:
        return False
    cdef const int64_t *t = <const int64_t *>target.v.buf.data
    cdef int64_t k
    for k in range(target.v.numel):
        if t[k] < 0 or t[k] >= classes:
            return True
    return False


def _pick(Tensor x, Tensor target):
    """out[i] = x[i, target[i]] for a 2-D x and int64 targets (cross entropy's gather)."""
    if x.v.ndim != 2 or target.v.ndim != 1 or target.v.dtype != TG_I64 or \
            target.v.shape[0] != x.v.shape[0]:
        raise RuntimeError(f"expected input (N, C) and int64 targets (N,), got "
                           f"{_shape_str(&x.v)} and {_shape_str(&target.v)}")
    if _targets_outside(target, x.v.shape[1]):
        t = _as_numpy(&target.v)
        raise IndexError(f"Target {int(t.max()) if t.max() >= x.v.shape[1] else int(t.min())} "
                         f"is out of bounds.")
    cdef tg_tnode *n = _node(x, target)
    _set_shape(&n.out, (x.v.shape[0],), x.v.dtype)
    return _run(TT_PICK, n, x, None)

# ----------------------------------------------------------------------------
# More of torch's functions, composed from the ops above

def add(x, y, alpha=1): return _tensor_arg(x, "add") + (y if alpha == 1 else y * alpha)
def sub(x, y, alpha=1): return _tensor_arg(x, "sub") - (y if alpha == 1 else y * alpha)
def mul(x, y): return _tensor_arg(x, "mul") * y
def div(x, y): return _tensor_arg(x, "div") / y
def neg(x): return -_tensor_arg(x, "neg")
def pow(x, e):
    if isinstance(e, Tensor) and not isinstance(x, Tensor):
        return x ** e                     # torch.pow(number, tensor): PowBackward2
    return _tensor_arg(x, "pow") ** e
def reciprocal(x): return _tensor_arg(x, "reciprocal").reciprocal()
def t(x): return _tensor_arg(x, "t").t()
def permute(x, *dims): return _tensor_arg(x, "permute").permute(*dims)
def mv(x, y): return _tensor_arg(x, "mv").mv(y)
def numel(x): return _tensor_arg(x, "numel").numel()
def clone(x): return _tensor_arg(x, "clone").clone()
def clamp_min(x, min): return _tensor_arg(x, "clamp_min").clamp_min(min)
def is_floating_point(x): return _tensor_arg(x, "is_floating_point").dtype.is_floating_point


def argmax(x, dim=None, keepdim=False):
    return _tensor_arg(x, "argmax").argmax(dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    return _tensor_arg(x, "argmin").argmin(dim, keepdim)

# ----------------------------------------------------------------------------
# Hooks for the shared nn layer (tapegrad.nn)

from .nn._reduction import reduce_loss

def _mse_loss(Tensor input, Tensor target, reduction):
    """torch's mse_loss as one MseLossBackward0 node: operands of different shapes are
    expanded to their broadcast shape first; reduction 'none' keeps the squares."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.v.dtype != target.v.dtype:
        d = input - target
        return reduce_loss(d * d, reduction)
    _check_live(input)
    _check_live(target)
    _check_float(input, "mse_loss")
    cdef int64_t shape[8]
    cdef int nd
    if not _same_shape(&input.v, &target.v):
        if tg_broadcast_shape(&input.v, &target.v, shape, &nd) != 0:
            raise RuntimeError(f"mse_loss: shapes {_shape_str(&input.v)} and "
                               f"{_shape_str(&target.v)} cannot be broadcast together")
        full = [shape[k] for k in range(nd)]
        if list(_shape_of(&input.v)) != full:
            input = _expand(input, full)
        if list(_shape_of(&target.v)) != full:
            target = _expand(target, full)
    cdef tg_tnode *n = _node(input, target)
    if reduction == "none":
        _set_shape(&n.out, _shape_of(&input.v), input.v.dtype)
        n.ip[0] = 2
    else:
        _set_shape(&n.out, (), input.v.dtype)
        n.ip[0] = reduction == "mean"
    return _run(TT_MSE, n, input, target)


def _binary_cross_entropy(Tensor input, Tensor target, weight, reduction):
    """torch's binary_cross_entropy (logs clamped at -100) as one
    BinaryCrossEntropyBackward0 node (TT_BCE). With weight= (a third operand, which a
    node cannot hold) it is composed from the ops above."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if _shape_of(&input.v) != _shape_of(&target.v):
        raise ValueError(f"Using a target size ({Size(_shape_of(&target.v))!r}) that is "
                         f"different to the input size ({Size(_shape_of(&input.v))!r}) is "
                         "deprecated. Please ensure they have the same size.")
    _check_live(input)
    _check_live(target)
    if input.v.dtype != TG_F32 and input.v.dtype != TG_F64:
        raise no_kernel("binary_cross_entropy", _DTYPES[input.v.dtype])
    a = _as_numpy(&input.v)
    if ((a < 0) | (a > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if weight is not None:
        loss = -(target * input.log().clamp(min=-100)
                 + (1 - target) * (1 - input).log().clamp(min=-100)) * weight
        return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()
    target = _cast(target, input.v.dtype)
    cdef tg_tnode *n = _node(input, target)
    if reduction == "none":
        _set_shape(&n.out, _shape_of(&input.v), input.v.dtype)
        n.ip[0] = 2
    else:
        _set_shape(&n.out, (), input.v.dtype)
        n.ip[0] = reduction == "mean"
    return _run(TT_BCE, n, input, target)


def _nll_loss_weighted(Tensor input, Tensor target, weight, ignore_index, reduction):
    """nll_loss with class weights or ignored targets (issue 12): -x[i, t_i] * w_i with
    w_i = weight[t_i] (0 where t_i == ignore_index), summed, over sum(w_i) for 'mean'.
    The chain pick, mul, neg (sum, div) ends in the node named NllLossBackward0."""
    t = _as_numpy(&target.v)
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= input.v.shape[1]))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    safe = np.where(keep, t, 0)
    w = np.ones(input.v.shape[1]) if weight is None else weight.detach().numpy()
    dt = _NP_DTYPES[input.v.dtype]
    wt = np.where(keep, w.astype(dt)[safe], dt.type(0)).astype(dt)
    picked = _pick(input, tensor(safe))
    prod = _binary(TT_MUL, picked, _from_numpy(wt, input.v.dtype), "mul")
    loss = _unary(TT_NEG, prod, "neg", 0.0, 0.0, 0, 0,
                  NAME_NLL_LOSS if reduction == "none" else 0)
    if reduction == "none":
        return loss
    total = _reduce(TT_SUM, loss, None, False, reduction,
                    NAME_NLL_LOSS if reduction == "sum" else 0)
    if reduction == "sum":
        return total
    cdef double total_weight = float(np.sum(wt, dtype=dt))
    return _unary(TT_DIV_C, total, "div", total_weight, 0.0, 0, 0, NAME_NLL_LOSS)


def _addmm(bias, mat1, mat2):
    """bias + mat1 @ mat2 as torch's one AddmmBackward0 node (nn.functional.linear).
    A tape node has two parents, so the product is its own TT_MM slot (values and
    gradients exactly mm's) and the TT_ADDMM slot adds the bias to it; the grad_fn
    shows the two as one node whose next_functions are (bias, mat1, mat2)."""
    for o in (bias, mat2):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element 1 in argument 0, but got "
                            f"{type(o).__name__}")
    cdef Tensor x = _tensor_arg(mat1, "addmm"), y = <Tensor>mat2, b = <Tensor>bias
    for o in (b, y):
        if (<Tensor>o).v.dtype != x.v.dtype:
            raise DtypeError(f"expected m1 and m2 to have the same dtype, but got: "
                             f"{_DTYPES[x.v.dtype]} != {_DTYPES[(<Tensor>o).v.dtype]}")
    if x.v.ndim != 2 or y.v.ndim != 2:
        raise RuntimeError("mat1 and mat2 must be matrices")
    if x.v.shape[1] != y.v.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.v.shape[0]}x"
                           f"{x.v.shape[1]} and {y.v.shape[0]}x{y.v.shape[1]})")
    _check_live(b)
    cdef tg_view prod_shape
    _set_shape(&prod_shape, (x.v.shape[0], y.v.shape[1]), x.v.dtype)
    cdef int64_t shape[8]
    cdef int nd
    if (tg_broadcast_shape(&prod_shape, &b.v, shape, &nd) != 0 or nd != 2
            or shape[0] != prod_shape.shape[0] or shape[1] != prod_shape.shape[1]):
        raise RuntimeError(f"addmm: shapes {_shape_of(&prod_shape)} and {_shape_of(&b.v)} "
                           "cannot be broadcast")
    cdef Tensor product = _matmul(x, y)
    cdef tg_tnode *n = _node(product, b)
    n.out = product.v
    n.out.buf = NULL
    return _run(TT_ADDMM, n, product, b)


def _nll_loss(input, target, weight, ignore_index, reduction):
    """-log p[target] averaged (or summed) over the batch, one C node for the pick."""
    if input.dim() == 1:
        return _nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
    if input.dim() != 2:
        raise NotImplementedError("nll_loss: tapegrad supports (N, C) inputs")
    if target.dtype is not int64:
        raise DtypeError(f"expected scalar type Long but found {target.dtype}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if weight is not None or (target.numpy() == ignore_index).any():
        return _nll_loss_weighted(input, target, weight, ignore_index, reduction)
    # -x[i, target[i]], then its mean or sum: the last node is named NllLossBackward0 and
    # shows the input as its next function (_nll_next_functions)
    loss = _unary(TT_NEG, _pick(input, target), "neg", 0.0, 0.0, 0, 0,
                  NAME_NLL_LOSS if reduction == "none" else 0)
    if reduction == "none":
        return loss
    return _reduce(TT_MEAN if reduction == "mean" else TT_SUM, loss, None, False, reduction,
                   NAME_NLL_LOSS)
