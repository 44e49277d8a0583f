# Tensors on the tape (included by _engine.pyx). Kernels are in csrc/tg_tensor.c;
# this file parses arguments, checks shapes and builds nodes.

from libc.string cimport memcpy, memset
from libc.stdint cimport int64_t

import collections
import numpy as np

from ._dtype import Size, bool_, float32, float64, int64
from cpython.ref cimport Py_INCREF, Py_DECREF

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define TG_TLS __declspec(thread)
    #else
    #define TG_TLS _Thread_local
    #endif
    static TG_TLS int tg_grad_off = 0;      /* no_grad() depth on this thread */
    static int tg_grad_enabled(void) { return tg_grad_off == 0; }
    static int tg_grad_mode_set(int off) { int old = tg_grad_off; tg_grad_off = off; return old; }
    """
    int tg_grad_enabled() nogil
    int tg_grad_mode_set(int off) nogil

cdef tuple _DTYPES = (float32, float64, int64, bool_)   # indexed by TG_F32, TG_F64, TG_I64, TG_BOOL
cdef tuple _NP_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64),
                         np.dtype(np.bool_))
cdef int64_t TENSOR_BYTES_BEFORE_COLLECT = 8 << 20     # reclaim dead buffers this often

_TORCH_NAMES = {
    TT_ADD: "AddBackward0", TT_SUB: "SubBackward0", TT_MUL: "MulBackward0",
    TT_DIV: "DivBackward0", TT_POW: "PowBackward1", TT_ADD_C: "AddBackward0",
    TT_SUB_C: "SubBackward0", TT_MUL_C: "MulBackward0", TT_RSUB_C: "RsubBackward1",
    TT_DIV_C: "DivBackward0", TT_RDIV_C: "DivBackward0", TT_POW_C: "PowBackward0",
    TT_RPOW_C: "PowBackward1", TT_NEG: "NegBackward0", TT_EXP: "ExpBackward0",
    TT_LOG: "LogBackward0", TT_TANH: "TanhBackward0", TT_RELU: "ReluBackward0",
    TT_SIGMOID: "SigmoidBackward0", TT_ABS: "AbsBackward0", TT_SQRT: "SqrtBackward0",
    TT_CLAMP: "ClampBackward1", TT_SUM: "SumBackward0", TT_MEAN: "MeanBackward0",
    TT_MAX_ALL: "MaxBackward1", TT_MAX_DIM: "MaxBackward0", TT_MM: "MmBackward0",
    TT_VIEW: "ViewBackward0", TT_GATHER: "SliceBackward0", TT_SOFTMAX: "SoftmaxBackward0",
    TT_LOG_SOFTMAX: "LogSoftmaxBackward0", TT_PICK: "GatherBackward0",
    TT_MSE: "MseLossBackward0",
}
# ip[19] of a node picks one of these instead of the op's default name
_NAME_OVERRIDES = (None, "SumBackward1", "MeanBackward1", "DotBackward0", "MvBackward0",
                   "UnsqueezeBackward0", "SqueezeBackward0", "SelectBackward0",
                   "TransposeBackward0", "PermuteBackward0", "MvBackward0", "ExpandBackward0",
                   "SqueezeBackward1", "ViewBackward0")
cdef enum:
    NAME_SUM_DIM = 1
    NAME_MEAN_DIM = 2
    NAME_DOT = 3
    NAME_MV = 4
    NAME_UNSQUEEZE = 5
    NAME_SQUEEZE = 6
    NAME_SELECT = 7
    NAME_TRANSPOSE = 8
    NAME_PERMUTE = 9
    NAME_VM = 10
    NAME_SQUEEZE_DIM = 12


# ----------------------------------------------------------------------------
# Grad mode

class no_grad:
    """Context manager and decorator: operations inside record nothing (this thread)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)            # used bare: @no_grad

    def __enter__(self):
        self._prev = tg_grad_mode_set(1)
        return self

    def __exit__(self, *exc):
        tg_grad_mode_set(self._prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager and decorator: record operations again inside no_grad()."""

    def __enter__(self):
        self._prev = tg_grad_mode_set(0)
        return self


class set_grad_enabled(no_grad):
    """set_grad_enabled(mode): switch recording on or off (also as a context manager)."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self._prev = tg_grad_mode_set(0 if mode else 1)

    def __enter__(self):
        return self


def is_grad_enabled():
    return bool(tg_grad_enabled())


def get_default_dtype():
    return float32


# ----------------------------------------------------------------------------
# BLAS from SciPy (the same OpenBLAS family numpy uses), loaded on first use

cdef extern from "Python.h":
    void *PyCapsule_GetPointer(object capsule, const char *name) except? NULL
    const char *PyCapsule_GetName(object capsule) except? NULL

cdef int _load_blas() except -1:
    global tg_sgemm, tg_dgemm
    if tg_sgemm != NULL:
        return 0
    try:
        from scipy.linalg import cython_blas
    except ImportError as exc:
        raise ImportError("tapegrad's matrix products need SciPy's BLAS: pip install scipy") from exc
    caps = cython_blas.__pyx_capi__
    tg_sgemm = <tg_sgemm_fn>PyCapsule_GetPointer(caps["sgemm"], PyCapsule_GetName(caps["sgemm"]))
    tg_dgemm = <tg_dgemm_fn>PyCapsule_GetPointer(caps["dgemm"], PyCapsule_GetName(caps["dgemm"]))
    return 0


# ----------------------------------------------------------------------------
# Views and dtypes

cdef int _dtype_code(object dt) except -1:
    if dt is None or dt is float32:
        return TG_F32
    if dt is float64:
        return TG_F64
    if dt is int64:
        return TG_I64
    if dt is bool_:
        return TG_BOOL
    if isinstance(dt, str):
        raise TypeError(f"dtype must be a tapegrad dtype (tapegrad.float32, ...), not the "
                        f"string {dt!r}")
    for k in range(4):
        if dt == _NP_DTYPES[k] or dt is _NP_DTYPES[k].type:
            return k
    raise TypeError(f"unsupported dtype {dt!r}: tapegrad has float32, float64 and int64")


cdef int _set_shape(tg_view *v, object shape, int dtype) except -1:
    cdef int64_t numel = 1, size
    cdef tuple dims = tuple(shape)
    if len(dims) > TG_MAXDIM:
        raise ValueError(f"tapegrad tensors have at most {TG_MAXDIM} dimensions, not {len(dims)}")
    for d in range(len(dims)):
        size = dims[d]
        if size < 0:
            raise ValueError(f"negative dimension {size} in shape {dims}")
        v.shape[d] = size
        if size != 0 and numel > (<int64_t>1 << 48) // size:
            raise ValueError(f"shape {dims} is too large")
        numel *= size
    v.ndim = len(dims)
    v.numel = numel
    v.dtype = dtype
    return 0


cdef int _alloc(tg_view *v, bint zero=False) except -1:
    cdef size_t nbytes = <size_t>v.numel * tg_dtype_size(v.dtype)
    v.buf = tg_buf_zeros(nbytes) if zero else tg_buf_new(nbytes)
    if v.buf == NULL:
        raise MemoryError(f"tapegrad: cannot allocate {nbytes} bytes")
    return 0


cdef tuple _shape_of(const tg_view *v):
    return tuple([v.shape[d] for d in range(v.ndim)])


cdef str _shape_str(const tg_view *v):
    return str(_shape_of(v)) if v.ndim != 1 else f"({v.shape[0]},)"


cdef Tensor _wrap(const tg_view *v):
    """An unrecorded tensor viewing v's buffer (takes a new reference)."""
    cdef Tensor r = Tensor.__new__(Tensor)
    r.v = v[0]
    tg_buf_incref(r.v.buf)
    return r


cdef Tensor _from_numpy(object arr, int dtype):
    cdef Tensor r = Tensor.__new__(Tensor)
    a = np.asarray(arr, dtype=_NP_DTYPES[dtype])
    if not a.flags.c_contiguous:
        a = a.copy(order="C")        # (np.ascontiguousarray would make 0-d arrays 1-d)
    _set_shape(&r.v, a.shape, dtype)
    _alloc(&r.v)
    cdef const unsigned char[::1] raw
    if r.v.numel > 0:
        raw = a.reshape(-1).view(np.uint8)
        memcpy(r.v.buf.data, &raw[0], r.v.buf.nbytes)
    return r


cdef class _Storage:
    """Exposes a tensor buffer to numpy through the buffer protocol."""
    cdef tg_buf *buf
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __dealloc__(self):
        tg_buf_decref(self.buf)

    def __getbuffer__(self, Py_buffer *view, int flags):
        self.shape[0] = <Py_ssize_t>self.buf.nbytes
        self.strides[0] = 1
        view.buf = self.buf.data
        view.obj = self
        view.len = <Py_ssize_t>self.buf.nbytes
        view.readonly = 0
        view.itemsize = 1
        view.format = "B"
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer *view):
        pass


cdef object _as_numpy(const tg_view *v):
    cdef _Storage s = _Storage.__new__(_Storage)
    s.buf = v.buf
    tg_buf_incref(v.buf)
    arr = np.frombuffer(s, dtype=_NP_DTYPES[v.dtype], count=v.numel)
    return arr.reshape(_shape_of(v))


cdef int _check_float(Tensor x, str what) except -1:
    if x.v.dtype == TG_I64 or x.v.dtype == TG_BOOL:
        raise TypeError(f"{what}: integer tensor arithmetic is not supported by tapegrad; "
                        "convert with .float() or create them with dtype=tapegrad.float32")
    return 0


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


cdef int _check_live(Tensor x) except -1:
    if x.index == TG_FREED:
        raise RuntimeError(
            "this tensor's node was freed by tapegrad.clear_tape(); recompute it from its inputs")
    return 0


# ----------------------------------------------------------------------------
# Recording

cdef Tensor _finish(uint8_t op, tg_tnode *n, Tensor x, Tensor y):
    """Wrap node n (forward done, inputs referenced) as the result of op on x (and y).
    It is recorded on the tape when grad mode is on and an input requires grad."""
    cdef bint xg = x is not None and x.index >= 0
    cdef bint yg = y is not None and y.index >= 0
    cdef Tensor r
    if not (tg_grad_enabled() and (xg or yg)):
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


cdef int _attach_leaf(Tensor x, _Tape tape) except -1:
    """Make x (not yet on a tape) a leaf of tape that requires grad."""
    _check_idle(tape)
    cdef tg_tnode *n = tg_tnode_new()
    if n == NULL:
        raise MemoryError("tapegrad: out of memory")
    n.out = x.v
    tg_buf_incref(x.v.buf)
    cdef tg_index i = tg_tape_new_tensor_leaf(&tape.t, n, &x.index)
    if i < 0:
        tg_tnode_free(n)
        raise MemoryError("tapegrad: cannot grow the tape")
    x.tape = tape
    x.tp = &tape.t
    x.index = i
    return 0


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
        if op == TT_MM:
            _load_blas()
        if tg_tensor_forward(n, op, NULL) != 0:
            raise RuntimeError("tapegrad: tensor kernel failed")
    except BaseException:
        tg_tnode_free(n)
        raise
    return _finish(op, n, x, y)


cdef Tensor _binary(uint8_t op, Tensor x, Tensor y, str name):
    _check_live(x)
    _check_live(y)
    if x.v.dtype != y.v.dtype:          # torch's promotion: float64 > float32 > int64
        code = TG_F64 if (x.v.dtype == TG_F64 or y.v.dtype == TG_F64) else TG_F32
        x = _cast(x, code)
        y = _cast(y, code)
    elif x.v.dtype == TG_I64:
        _check_float(x, name)
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
                   int has_lo=0, int has_hi=0):
    _check_live(x)
    if x.v.dtype == TG_I64 or x.v.dtype == TG_BOOL:   # meet floats in float32, as in torch
        x = _cast(x, TG_F32)
    cdef tg_tnode *n = _node(x, None)
    n.out = x.v
    n.out.buf = NULL
    n.dp[0] = c
    n.dp[1] = c1
    n.ip[0] = has_lo
    n.ip[1] = has_hi
    return _run(op, n, x, None)


cdef object _scalar_or_tensor(object other, double *c):
    """Tensor -> itself; a real number -> None with *c set; else NotImplemented."""
    if isinstance(other, Tensor):
        return other
    if _real(other, c):
        return None
    return NotImplemented


cdef int _norm_dim(int64_t dim, int ndim) except -100:
    cdef int n = ndim if ndim > 0 else 1
    if dim < -n or dim >= n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return <int>(dim + n if dim < 0 else dim)


cdef Tensor _reduce(uint8_t op, Tensor x, object dim, bint keepdim, str name):
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
        return _run(op, n, x, None)
    if isinstance(dim, (tuple, list)):
        dims = {_norm_dim(k, x.v.ndim) for k in dim}
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
        n.ip[19] = NAME_SUM_DIM if op == TT_SUM else NAME_MEAN_DIM
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
    n.ip[19] = name
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
    n.ip[19] = name
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
    n.ip[19] = name
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
    _check_float(x, "matmul")
    _check_float(y, "matmul")
    if x.v.dtype != y.v.dtype:
        raise TypeError(f"matmul: tensors of different dtypes ({_DTYPES[x.v.dtype]} and "
                        f"{_DTYPES[y.v.dtype]})")
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
    n.ip[19] = name
    return _run(TT_MM, n, x, y)


cdef Tensor _along_dim(uint8_t op, Tensor x, object dim, list out_shape, Tensor extra=None):
    """softmax / log_softmax / max over dim: outer x size x inner in ip[1..3]."""
    _check_live(x)
    _check_float(x, "op")
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


# ----------------------------------------------------------------------------
# grad_fn objects

cdef class AccumulateGrad:
    cdef readonly object variable

    def name(self):
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


cdef class _GradFn:
    """The node that made a tensor (PyTorch's grad_fn), valid until the tape compacts."""
    cdef _Tape tape
    cdef tg_index index
    cdef int64_t epoch
    cdef readonly str _name

    def name(self):
        return self._name

    def __repr__(self):
        return f"<{self._name} object at {id(self):#x}>"

    @property
    def next_functions(self):
        if self.tape.t.epoch != self.epoch:
            raise RuntimeError("this grad_fn refers to a graph the tape has since compacted; "
                               "read tensor.grad_fn again")
        cdef tg_tape *t = &self.tape.t
        cdef tg_index a = t.a[self.index], b = t.b[self.index]
        cdef uint8_t op = t.op[self.index]
        out = []
        if a >= 0:
            out.append((_grad_fn_of(self.tape, a), 0))
        else:
            out.append((None, 0))
        if b >= 0:
            out.append((_grad_fn_of(self.tape, b), 0))
        elif t.tn[self.index].in_[1].buf != NULL and op != TT_MAX_DIM and op != TT_PICK:
            out.append((None, 0))
        elif op == TT_ADD_C or op == TT_SUB_C or op == TT_MUL_C or op == TT_DIV_C:
            out.append((None, 0))      # the Python number, as torch shows it
        return tuple(out)


_GRAD_FN_CLASSES = {}     # one class per torch name, so type(grad_fn).__name__ reads right


cdef object _grad_fn_of(_Tape tape, tg_index i):
    cdef tg_tape *t = &tape.t
    if t.op[i] == TT_LEAF:
        return AccumulateGrad()
    cdef int64_t override = t.tn[i].ip[19]
    name = _NAME_OVERRIDES[override] if override else _TORCH_NAMES.get(t.op[i], "Backward")
    cls = _GRAD_FN_CLASSES.get(name)
    if cls is None:
        cls = _GRAD_FN_CLASSES[name] = type(name, (_GradFn,), {"__module__": "tapegrad"})
    cdef _GradFn f = _GradFn.__new__(cls)
    f.tape = tape
    f.index = i
    f.epoch = t.epoch
    f._name = name
    return f


MaxResult = collections.namedtuple("max", ["values", "indices"])


# ----------------------------------------------------------------------------
# Tensor

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


cdef int _check_inplace(Tensor x, str name) except -1:
    _check_live(x)
    if _recordings_active:
        _refuse_inplace_while_recording(x, name)
    if x.index >= 0 and tg_grad_enabled():
        if x.tp.op[x.index] == TT_LEAF:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               f"operation ({name}).")
        raise NotImplementedError(
            f"{name}: in-place operations on tensors that require grad are not recorded by "
            "tapegrad; use the out-of-place form")
    return 0


cdef Tensor _inplace(Tensor x, uint8_t op, object other, str name):
    """x op= other, elementwise, in x's buffer (other broadcast to x's shape)."""
    _check_inplace(x, name)
    _check_float(x, name)
    cdef Tensor y
    cdef double c
    if isinstance(other, Tensor):
        y = <Tensor>other
        _check_float(y, name)
        if y.v.dtype != x.v.dtype:
            y = y.to(_DTYPES[x.v.dtype])
    elif _real(other, &c):
        y = _as_operand(x, other)
    else:
        raise TypeError(f"{name}: expected a tensor or a number, not '{type(other).__name__}'")
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
    tg_tensor_forward(&n, op, NULL)     # writes into x's buffer: same index, read first
    x.v.buf.version += 1
    return x


cdef class Tensor:
    """An n-d array of float32/float64 (or int64) that records operations for autograd.

    Create tensors with ``tapegrad.tensor(data, requires_grad=...)`` or the
    factories; ``Tensor([...])`` is the legacy float32 constructor.
    """

    __array_priority__ = 1000

    def __cinit__(self):
        self.index = TG_UNSET

    def __init__(self, *args, **kwargs):
        if self.v.buf != NULL:
            return                     # made by a factory or by a subclass's __new__
        cdef Tensor src
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = args[0]
            src = _from_numpy(np.asarray(data.numpy() if isinstance(data, Tensor) else data,
                                         dtype=np.float32), TG_F32)
        else:
            src = zeros(*args)
        self.v = src.v
        tg_buf_incref(self.v.buf)

    def __dealloc__(self):
        tg_buf_decref(self.v.buf)
        if self.index >= 0:
            tg_tape_release(self.tp, self.index)

    # -- basic properties -----------------------------------------------------

    @property
    def shape(self):
        return Size(_shape_of(&self.v))

    def size(self, dim=None):
        if dim is None:
            return Size(_shape_of(&self.v))
        return self.v.shape[_norm_dim(dim, self.v.ndim)]

    @property
    def ndim(self):
        return self.v.ndim

    def dim(self):
        return self.v.ndim

    def numel(self):
        return self.v.numel

    @property
    def dtype(self):
        return _DTYPES[self.v.dtype]

    @property
    def device(self):
        return "cpu"

    def __len__(self):
        if self.v.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.v.shape[0]

    def __hash__(self):
        return id(self)

    # -- conversions -----------------------------------------------------------

    def numpy(self):
        """A numpy array sharing this tensor's memory."""
        if self.index >= 0:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return _as_numpy(&self.v)

    def __array__(self, dtype=None, copy=None):
        _note_tensor_read(self)
        arr = _as_numpy(&self.v)
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        _check_live(self)
        _note_tensor_read(self)
        if self.v.numel != 1:
            raise RuntimeError(f"a Tensor with {self.v.numel} elements cannot be converted "
                               "to Scalar")
        if self.v.dtype == TG_F32:
            return <double>(<float *>self.v.buf.data)[0]
        if self.v.dtype == TG_F64:
            return (<double *>self.v.buf.data)[0]
        if self.v.dtype == TG_BOOL:
            return (<unsigned char *>self.v.buf.data)[0] != 0
        return (<int64_t *>self.v.buf.data)[0]

    def tolist(self):
        _note_tensor_read(self)
        return _as_numpy(&self.v).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.v.dtype != TG_I64 or self.v.numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.v.numel != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __lt__(self, other):
        return _compare(self, other, 0)

    def __le__(self, other):
        return _compare(self, other, 1)

    def __gt__(self, other):
        return _compare(self, other, 2)

    def __ge__(self, other):
        return _compare(self, other, 3)

    def __eq__(self, other):
        return _compare(self, other, 4)

    def __ne__(self, other):
        return _compare(self, other, 5)

    def __format__(self, spec):
        if self.v.ndim == 0:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        from . import _format
        _note_tensor_read(self)
        grad_fn = self.grad_fn
        return _format.tensor_repr(
            _as_numpy(&self.v), dtype_name=_DTYPES[self.v.dtype].name,
            grad_fn=grad_fn.name() if grad_fn is not None else None,
            requires_grad=self.index >= 0 and grad_fn is None)

    def __iter__(self):
        if self.v.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter([self[i] for i in range(self.v.shape[0])])

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def to(self, dtype):
        """A copy converted to dtype (self when it already has it). Not differentiable
        across dtypes."""
        return _cast(self, _dtype_code(dtype))

    def clone(self):
        return self * 1.0 if self.v.dtype != TG_I64 else _from_numpy(_as_numpy(&self.v), TG_I64)

    def contiguous(self):
        return self

    # -- autograd state ---------------------------------------------------------

    @property
    def requires_grad(self):
        return self.index >= 0

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        _check_live(self)
        cdef tg_tnode *n
        cdef _Tape tape
        if bool(requires_grad) == (self.index >= 0):
            return self
        if self.index >= 0 and self.tp.op[self.index] != TT_LEAF:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad:
            if self.v.dtype == TG_I64:
                raise RuntimeError("Only Tensors of floating point dtype can require gradients")
            _attach_leaf(self, _current_tape())
        else:
            tg_tape_release(self.tp, self.index)
            self.index = TG_UNSET
            self.tape = None
            self.tp = NULL
        return self

    @property
    def is_leaf(self):
        return self.index < 0 or self.tp.op[self.index] == TT_LEAF

    @property
    def grad_fn(self):
        if self.index < 0 or self.tp.op[self.index] == TT_LEAF:
            return None
        return _grad_fn_of(self.tape, self.index)

    def retain_grad(self):
        if self.index < 0:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self.tp.tn[self.index].retain_grad = 1

    @property
    def grad(self):
        if self.index < 0:
            return None
        cdef tg_tnode *n = self.tp.tn[self.index]
        cdef tg_buf *buf = n.grad if self.tp.op[self.index] == TT_LEAF else n.retained
        if buf == NULL:
            return None
        if _recordings_active:
            _note_grad_handed_out(buf)
        cdef tg_view g = n.out
        g.buf = buf
        return _wrap(&g)

    @grad.setter
    def grad(self, value):
        _refuse_while_recording("setting .grad")
        if self.index < 0:
            if value is None:
                return
            raise RuntimeError("tapegrad: .grad can only be set on tensors that require grad")
        cdef tg_tnode *n = self.tp.tn[self.index]
        cdef Tensor g
        cdef tg_buf **slot = &n.grad if self.tp.op[self.index] == TT_LEAF else &n.retained
        if value is None:
            tg_buf_decref(slot[0])
            slot[0] = NULL
            return
        if not isinstance(value, Tensor):
            raise TypeError(f"assigned grad expected to be a Tensor or None, not "
                            f"'{type(value).__name__}'")
        g = <Tensor>value
        if not _same_layout(&g.v, &self.v):
            raise RuntimeError(f"assigned grad has data of shape {_shape_str(&g.v)} and dtype "
                               f"{_DTYPES[g.v.dtype]}, but the tensor has shape "
                               f"{_shape_str(&self.v)} and dtype {_DTYPES[self.v.dtype]}")
        tg_buf_incref(g.v.buf)
        tg_buf_decref(slot[0])
        slot[0] = g.v.buf

    @property
    def data(self):
        _note_tensor_read(self)
        return _wrap(&self.v)

    @data.setter
    def data(self, value):
        _refuse_while_recording("setting .data")
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not '{type(value).__name__}'")
        cdef Tensor src = <Tensor>value
        tg_buf_incref(src.v.buf)
        tg_buf_decref(self.v.buf)
        self.v = src.v
        cdef tg_tnode *n
        if self.index >= 0:
            n = self.tp.tn[self.index]
            tg_buf_incref(src.v.buf)
            tg_buf_decref(n.out.buf)
            n.out = src.v
            if n.grad != NULL and n.grad.nbytes != src.v.buf.nbytes:
                tg_buf_decref(n.grad)
                n.grad = NULL

    def detach(self):
        _note_tensor_read(self)
        return _wrap(&self.v)

    @staticmethod
    def _make_subclass(cls, data, requires_grad=False):
        """An instance of Tensor subclass cls: a leaf sharing data's memory
        (torch.Tensor._make_subclass; nn.Parameter uses it)."""
        if not isinstance(data, Tensor):
            raise TypeError(f"expected a Tensor, not '{type(data).__name__}'")
        cdef Tensor r = Tensor.__new__(cls)
        r.v = (<Tensor>data).v
        tg_buf_incref(r.v.buf)
        if requires_grad:
            r.requires_grad_(True)
        return r

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        import copy
        cdef Tensor r = Tensor.__new__(type(self))
        src = _from_numpy(_as_numpy(&self.v), self.v.dtype)
        r.v = src.v
        tg_buf_incref(r.v.buf)
        memo[id(self)] = r
        if self.index >= 0:
            r.requires_grad_(True)
            if self.grad is not None:
                r.grad = self.grad.clone()
        if hasattr(self, "__dict__"):
            r.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return r

    def __reduce_ex__(self, protocol):
        return (_rebuild, (np.array(_as_numpy(&self.v)), self.v.dtype, self.index >= 0))

    def detach_(self):
        return self.requires_grad_(False)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Reverse sweep from this tensor: leaves' .grad accumulate."""
        _check_live(self)
        if self.index < 0:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        cdef Tensor seed
        if gradient is None:
            if self.v.numel != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = _as_operand(self, 1.0)
        else:
            if not isinstance(gradient, Tensor):
                raise TypeError(f"gradient must be a Tensor, not '{type(gradient).__name__}'")
            seed = <Tensor>gradient
            if _shape_of(&seed.v) != _shape_of(&self.v):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                                   f"{Size(_shape_of(&seed.v))} and output[0] has a shape of "
                                   f"{Size(_shape_of(&self.v))}.")
            seed = seed.to(_DTYPES[self.v.dtype])
        _backward_from(self, seed)

    # -- arithmetic -------------------------------------------------------------

    def __add__(self, other):
        cdef double c
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_ADD_C, self, "add", c) if o is None else _binary(TT_ADD, self, o, "add")

    def __radd__(self, other):
        cdef double c
        if _real(other, &c):
            return _unary(TT_ADD_C, self, "add", c)
        return NotImplemented

    def __sub__(self, other):
        cdef double c
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_SUB_C, self, "sub", c) if o is None else _binary(TT_SUB, self, o, "sub")

    def __rsub__(self, other):
        cdef double c
        if _real(other, &c):
            return _unary(TT_RSUB_C, self, "rsub", c)
        return NotImplemented

    def __mul__(self, other):
        cdef double c
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_MUL_C, self, "mul", c) if o is None else _binary(TT_MUL, self, o, "mul")

    def __rmul__(self, other):
        cdef double c
        if _real(other, &c):
            return _unary(TT_MUL_C, self, "mul", c)
        return NotImplemented

    def __truediv__(self, other):
        cdef double c
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_DIV_C, self, "div", c) if o is None else _binary(TT_DIV, self, o, "div")

    def __rtruediv__(self, other):
        cdef double c
        if _real(other, &c):
            return _unary(TT_RDIV_C, self, "div", c)
        return NotImplemented

    def __pow__(self, other, mod):
        cdef double c
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for tensors")
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_POW_C, self, "pow", c) if o is None else _binary(TT_POW, self, o, "pow")

    def __rpow__(self, other, mod):
        cdef double c
        if mod is None and _real(other, &c):
            return _unary(TT_RPOW_C, self, "pow", c)
        return NotImplemented

    def __neg__(self):
        return _unary(TT_NEG, self, "neg")

    def __pos__(self):
        return self

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return NotImplemented

    def __iadd__(self, other):
        return _inplace(self, TT_ADD, other, "add_")

    def __isub__(self, other):
        return _inplace(self, TT_SUB, other, "sub_")

    def __imul__(self, other):
        return _inplace(self, TT_MUL, other, "mul_")

    def __itruediv__(self, other):
        return _inplace(self, TT_DIV, other, "div_")

    def add_(self, other, alpha=1):
        return _inplace(self, TT_ADD, other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        return _inplace(self, TT_SUB, other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other):
        return _inplace(self, TT_MUL, other, "mul_")

    def div_(self, other):
        return _inplace(self, TT_DIV, other, "div_")

    def zero_(self):
        _check_inplace(self, "zero_")
        memset(self.v.buf.data, 0, self.v.buf.nbytes)
        self.v.buf.version += 1
        return self

    def fill_(self, value):
        _check_inplace(self, "fill_")
        _as_numpy(&self.v)[...] = value
        self.v.buf.version += 1
        return self

    def copy_(self, src):
        _check_inplace(self, "copy_")
        _as_numpy(&self.v)[...] = np.asarray(src.detach().numpy() if isinstance(src, Tensor) else src)
        self.v.buf.version += 1
        return self

    # -- elementwise functions ------------------------------------------------------

    def exp(self):
        return _unary(TT_EXP, self, "exp")

    def log(self):
        return _unary(TT_LOG, self, "log")

    def tanh(self):
        return _unary(TT_TANH, self, "tanh")

    def relu(self):
        return _unary(TT_RELU, self, "relu")

    def sigmoid(self):
        return _unary(TT_SIGMOID, self, "sigmoid")

    def abs(self):
        return _unary(TT_ABS, self, "abs")

    def sqrt(self):
        return _unary(TT_SQRT, self, "sqrt")

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return _unary(TT_CLAMP, self, "clamp", 0.0 if min is None else float(min),
                      0.0 if max is None else float(max), min is not None, max is not None)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    # -- reductions ----------------------------------------------------------------

    def sum(self, dim=None, keepdim=False):
        return _reduce(TT_SUM, self, dim, keepdim, "sum")

    def mean(self, dim=None, keepdim=False):
        return _reduce(TT_MEAN, self, dim, keepdim, "mean")

    def max(self, dim=None, keepdim=False):
        _check_live(self)
        _check_float(self, "max")
        cdef tg_tnode *n
        cdef Tensor idx
        if dim is None:
            if self.v.numel == 0:
                raise RuntimeError("max(): Expected reduction dim to be specified for "
                                   "input.numel() == 0.")
            n = _node(self, None)
            _set_shape(&n.out, (), self.v.dtype)
            return _run(TT_MAX_ALL, n, self, None)
        d = _norm_dim(dim, self.v.ndim)
        shape = list(_shape_of(&self.v))
        if shape and shape[d] == 0:
            raise IndexError("max(): Expected reduction dim to have non-zero size.")
        if shape:
            if keepdim:
                shape[d] = 1
            else:
                del shape[d]
        idx = Tensor.__new__(Tensor)
        _set_shape(&idx.v, shape, TG_I64)
        _alloc(&idx.v)
        values = _along_dim(TT_MAX_DIM, self, dim, shape, idx)
        return MaxResult(values, idx)

    def softmax(self, dim):
        return _along_dim(TT_SOFTMAX, self, dim, list(_shape_of(&self.v)))

    def log_softmax(self, dim):
        return _along_dim(TT_LOG_SOFTMAX, self, dim, list(_shape_of(&self.v)))

    # -- products ---------------------------------------------------------------

    def matmul(self, other):
        return _matmul(self, other)

    def mm(self, other):
        if self.v.ndim != 2 or other.ndim != 2:
            raise RuntimeError("mm: both arguments must be 2-D")
        return _matmul(self, other)

    def dot(self, other):
        if self.v.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.v.ndim}D and "
                               f"{other.ndim}D tensors")
        return _matmul(self, other)

    def mv(self, other):
        return _matmul(self, other)

    # -- shapes ------------------------------------------------------------------

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = list(shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = 1
            for s in shape:
                if s != -1:
                    known *= s
            if known == 0 or self.v.numel % known:
                raise RuntimeError(f"shape '{shape}' is invalid for input of size {self.v.numel}")
            shape[shape.index(-1)] = self.v.numel // known
        return _view(self, shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.v.ndim == 0:
            return _view(self, [1])
        s = _norm_dim(start_dim, self.v.ndim)
        e = _norm_dim(end_dim, self.v.ndim)
        shape = list(_shape_of(&self.v))
        flat = 1
        for k in shape[s:e + 1]:
            flat *= k
        return _view(self, shape[:s] + [flat] + shape[e + 1:])

    def unsqueeze(self, dim):
        d = _norm_dim(dim, self.v.ndim + 1)
        shape = list(_shape_of(&self.v))
        shape.insert(d, 1)
        return _view(self, shape, NAME_UNSQUEEZE)

    def squeeze(self, dim=None):
        shape = list(_shape_of(&self.v))
        if dim is None:
            return _view(self, [s for s in shape if s != 1], NAME_SQUEEZE)
        if self.v.ndim == 0:
            return _view(self, [], NAME_SQUEEZE_DIM)
        d = _norm_dim(dim, self.v.ndim)
        if shape[d] == 1:
            del shape[d]
        return _view(self, shape, NAME_SQUEEZE_DIM)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if sorted(_norm_dim(d, self.v.ndim) for d in dims) != list(range(self.v.ndim)):
            raise RuntimeError(f"permute: dims {dims} are not a permutation of the tensor's "
                               f"{self.v.ndim} dimensions")
        strides = _contiguous_strides(&self.v)
        order = [_norm_dim(d, self.v.ndim) for d in dims]
        return _gather(self, [self.v.shape[d] for d in order], 0, [strides[d] for d in order],
                       NAME_PERMUTE)

    def transpose(self, dim0, dim1):
        if self.v.ndim < 2 and self.v.ndim == 0:
            return self
        order = list(range(self.v.ndim))
        a, b = _norm_dim(dim0, self.v.ndim), _norm_dim(dim1, self.v.ndim)
        order[a], order[b] = order[b], order[a]
        strides = _contiguous_strides(&self.v)
        return _gather(self, [self.v.shape[d] for d in order], 0, [strides[d] for d in order],
                       NAME_TRANSPOSE)

    def t(self):
        if self.v.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.v.ndim}D")
        return _swap_last2(self, NAME_TRANSPOSE) if self.v.ndim == 2 else self

    @property
    def T(self):
        if self.v.ndim < 2:
            return self
        if self.v.ndim == 2:
            return _swap_last2(self, NAME_PERMUTE)
        return self.permute(*reversed(range(self.v.ndim)))

    # -- indexing ---------------------------------------------------------------

    def __getitem__(self, key):
        _check_live(self)
        if not isinstance(key, tuple):
            key = (key,)
        cdef int n_real = len([k for k in key if k is not None and k is not Ellipsis])
        if n_real > self.v.ndim:
            raise IndexError(f"too many indices for tensor of dimension {self.v.ndim}")
        if len([k for k in key if k is Ellipsis]) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        expanded = []
        for k in key:
            if k is Ellipsis:
                expanded.extend([slice(None)] * (self.v.ndim - n_real))
            else:
                expanded.append(k)
        cdef list strides = _contiguous_strides(&self.v)
        cdef list out_shape = [], out_strides = []
        cdef int64_t offset = 0, size, i
        cdef int d = 0
        cdef int name = 0                 # torch's name: that of the last index applied
        for k in expanded:
            if k is None:
                out_shape.append(1)
                out_strides.append(0)
                name = NAME_UNSQUEEZE
                continue
            size = self.v.shape[d]
            if isinstance(k, slice):
                start, stop, step = k.indices(size)
                if step <= 0:
                    raise ValueError("step must be greater than zero")
                length = len(range(start, stop, step))
                out_shape.append(length)
                out_strides.append(strides[d] * step)
                if length > 0:
                    offset += start * strides[d]
                if length != size:        # a full slice records nothing in torch
                    name = 0
            else:
                if isinstance(k, Tensor) and (<Tensor>k).v.dtype == TG_I64 and (<Tensor>k).v.numel == 1:
                    k = (<Tensor>k).item()
                try:
                    i = k.__index__()
                except (AttributeError, TypeError):
                    raise TypeError(f"tensor indices must be ints, slices, None or Ellipsis, "
                                    f"not '{type(k).__name__}'") from None
                if i < -size or i >= size:
                    raise IndexError(f"index {i} is out of bounds for dimension {d} with size {size}")
                offset += (i + size if i < 0 else i) * strides[d]
                name = NAME_SELECT
            d += 1
        while d < self.v.ndim:
            out_shape.append(self.v.shape[d])
            out_strides.append(strides[d])
            d += 1
        return _gather(self, out_shape, offset, out_strides, name)


# ----------------------------------------------------------------------------
# Backward

cdef int _backward_from(Tensor root, Tensor seed) except -1:
    _refuse_backward_while_recording(root.tape)
    cdef tg_tape *t = root.tp
    cdef tg_tnode *n = t.tn[root.index]
    cdef tg_buf *g
    cdef int status
    cdef tg_index i = root.index
    _check_idle(root.tape)
    if t.op[i] == TT_LEAF:             # a leaf: its grad accumulates the seed
        if n.grad == NULL:
            n.grad = tg_buf_zeros(n.out.buf.nbytes)
            if n.grad == NULL:
                raise MemoryError("tapegrad: out of memory")
        _as_numpy_buf(n.grad, &n.out)[...] += _as_numpy(&seed.v)
        return 0
    g = tg_buf_new(n.out.buf.nbytes)
    if g == NULL:
        raise MemoryError("tapegrad: out of memory")
    memcpy(g.data, seed.v.buf.data, g.nbytes)
    tg_buf_decref(n.grad)
    n.grad = g
    if i - t.low[i] < 64:               # small graphs: releasing the GIL costs more
        status = tg_tape_backward(t, i)
    else:
        root.tape.busy = True
        try:
            with nogil:
                status = tg_tape_backward(t, i)
        finally:
            root.tape.busy = False
    if status == -2:
        _raise_modified(root.tape, t.error_node)
    if status != 0:
        raise MemoryError("tapegrad: out of memory during backward")
    return 0


cdef int _raise_modified(_Tape tape, tg_index i) except -1:
    cdef tg_tnode *n = tape.t.tn[i]
    cdef const tg_view *v = &n.out
    cdef int64_t saved = n.out_version
    for k in range(2):
        if n.in_[k].buf != NULL and n.in_[k].buf.version != n.in_version[k]:
            v = &n.in_[k]
            saved = n.in_version[k]
            break
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{_DTYPES[v.dtype]} {list(_shape_of(v))}], which is saved by "
        f"{_grad_fn_of(tape, i).name()}, is at version {v.buf.version}; expected version "
        f"{saved} instead.")


cdef object _as_numpy_buf(tg_buf *buf, const tg_view *like):
    cdef tg_view v = like[0]
    v.buf = buf
    return _as_numpy(&v)


# ----------------------------------------------------------------------------
# Factories

def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor copying data (numbers, nested lists, numpy arrays, tensors)."""
    cdef int code
    if isinstance(data, Tensor):
        arr = _as_numpy(&(<Tensor>data).v)
        code = (<Tensor>data).v.dtype if dtype is None else _dtype_code(dtype)
    else:
        if isinstance(data, (str, bytes)) or data is None:
            raise TypeError(f"tensor(): data must be a number, a sequence or an array, not "
                            f"'{type(data).__name__}'")
        try:
            arr = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"tensor(): {exc}") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor(): could not infer a numeric dtype from "
                            f"'{_first_bad_item(data)}' data")
        if dtype is not None:
            code = _dtype_code(dtype)
        elif arr.dtype.kind == "f":
            code = TG_F64 if (isinstance(data, np.ndarray) and arr.dtype == np.float64) else TG_F32
        else:
            code = TG_I64
    cdef Tensor r = _from_numpy(arr, code)
    if requires_grad:
        r.requires_grad_(True)
    return r


def _rebuild(array, int code, requires_grad):
    """Unpickle a tensor."""
    return tensor(array, dtype=_DTYPES[code], requires_grad=requires_grad)


def _first_bad_item(data):
    """The type name of the first item of nested data that is not a number."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif not isinstance(item, (int, float, np.number, Tensor)):
            return type(item).__name__
    return type(data).__name__


cdef void _release_array(void *owner) noexcept with gil:
    Py_DECREF(<object>owner)


def from_numpy(a):
    """A tensor sharing the array's memory (C-contiguous, writable arrays; others are
    copied), with its dtype: float32, float64, int64 or bool."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    cdef int code = _dtype_code(a.dtype)
    if not (a.flags.c_contiguous and a.flags.writeable and a.dtype == _NP_DTYPES[code]):
        return tensor(a, dtype=_DTYPES[code])
    cdef Tensor r = Tensor.__new__(Tensor)
    _set_shape(&r.v, a.shape, code)
    cdef size_t addr = a.__array_interface__["data"][0]
    Py_INCREF(a)
    r.v.buf = tg_buf_borrow(<void *>addr, a.nbytes, _release_array, <void *>a)
    if r.v.buf == NULL:
        Py_DECREF(a)
        raise MemoryError("tapegrad: out of memory")
    return r


cdef tuple _size_args(tuple size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return size


cdef Tensor _filled(tuple size, object dtype, object requires_grad, double value):
    cdef Tensor r = Tensor.__new__(Tensor)
    cdef int code = _dtype_code(dtype)
    _set_shape(&r.v, _size_args(size), code)
    _alloc(&r.v, value == 0.0)
    if value != 0.0:
        _as_numpy(&r.v)[...] = value
    if requires_grad:
        r.requires_grad_(True)
    return r


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _filled(size, dtype, requires_grad, 0.0)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _filled(size, dtype, requires_grad, 1.0)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _filled(size, dtype, requires_grad, 0.0)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None and isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool):
        dtype = int64
    return _filled(tuple(size), dtype, requires_grad, float(fill_value))


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if dtype is None:
        dtype = int64 if is_int else float32
    return tensor(np.arange(start, end, step), dtype=dtype, requires_grad=requires_grad)


from . import _random


def manual_seed(seed):
    """Seed tapegrad's random generator (randn, rand, nn.Linear's initialisation)."""
    _random.manual_seed(seed)


def randn(*size, dtype=None, requires_grad=False, device=None):
    _note_random("randn")
    return tensor(_random.normal(_size_args(size)), dtype=float32 if dtype is None else dtype,
                  requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad=False, device=None):
    _note_random("rand")
    return tensor(_random.uniform(_size_args(size)), dtype=float32 if dtype is None else dtype,
                  requires_grad=requires_grad)


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
def clamp(x, min=None, max=None): return x.clamp(min, max)
def softmax(x, dim): return x.softmax(dim)
def log_softmax(x, dim): return x.log_softmax(dim)
def matmul(x, y): return _matmul(x, y)
def mm(x, y): return x.mm(y)
def mean(x, dim=None, keepdim=False): return x.mean(dim, keepdim)
def max(x, dim=None, keepdim=False): return x.max(dim, keepdim)
def reshape(x, *shape): return x.reshape(*shape)
def flatten(x, start_dim=0, end_dim=-1): return x.flatten(start_dim, end_dim)
def transpose(x, d0, d1): return x.transpose(d0, d1)
def unsqueeze(x, d): return x.unsqueeze(d)
def squeeze(x, d=None): return x.squeeze(d)
def is_tensor(x): return isinstance(x, Tensor)


def _pick(Tensor x, Tensor target):
    """out[i] = x[i, target[i]] for a 2-D x and int64 targets (cross entropy's gather)."""
    if x.v.ndim != 2 or target.v.ndim != 1 or target.v.dtype != TG_I64 or \
            target.v.shape[0] != x.v.shape[0]:
        raise RuntimeError(f"expected input (N, C) and int64 targets (N,), got "
                           f"{_shape_str(&x.v)} and {_shape_str(&target.v)}")
    t = _as_numpy(&target.v)
    if t.size and (t.min() < 0 or t.max() >= x.v.shape[1]):
        raise IndexError(f"Target {int(t.max()) if t.max() >= x.v.shape[1] else int(t.min())} "
                         f"is out of bounds.")
    cdef tg_tnode *n = _node(x, target)
    _set_shape(&n.out, (x.v.shape[0],), x.v.dtype)
    return _run(TT_PICK, n, x, None)


# ----------------------------------------------------------------------------
# Optimizer updates in C

def _sgd_update(params, lr, momentum, dampening, weight_decay, nesterov, buffers, first_step):
    """p -= lr * d for each parameter with a grad (torch.optim.SGD's formula)."""
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, buf
    cdef tg_tnode *n
    for k, p in enumerate(params):
        if p.index < 0 or p.tp.tn[p.index].grad == NULL:
            continue
        n = p.tp.tn[p.index]
        buf = buffers[k] if momentum != 0 else None
        tg_sgd_update(p.v.dtype, p.v.buf.data, n.grad.data,
                      buf.v.buf.data if buf is not None else NULL, p.v.numel, lr, momentum,
                      dampening, weight_decay, nesterov, first_step)
        p.v.buf.version += 1


def _adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs, exp_avg_sqs, step):
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, m, v
    cdef tg_tnode *n
    for k, p in enumerate(params):
        if p.index < 0 or p.tp.tn[p.index].grad == NULL:
            continue
        n = p.tp.tn[p.index]
        m = exp_avgs[k]
        v = exp_avg_sqs[k]
        tg_adam_update(p.v.dtype, p.v.buf.data, n.grad.data, m.v.buf.data, v.v.buf.data,
                       p.v.numel, lr, beta1, beta2, eps, weight_decay, step)
        p.v.buf.version += 1


# ----------------------------------------------------------------------------
# More of torch's functions, composed from the ops above

from ._format import get_printoptions, set_printoptions


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or _dtype_code(dtype) == (<Tensor>data).v.dtype):
        return data
    return tensor(data, dtype=dtype)


def empty_like(t, dtype=None, requires_grad=False):
    return zeros_like(t, dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(tuple(t.shape), fill_value, dtype=t.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def add(x, y, alpha=1): return x + (y if alpha == 1 else y * alpha)
def sub(x, y, alpha=1): return x - (y if alpha == 1 else y * alpha)
def mul(x, y): return x * y
def div(x, y): return x / y
def neg(x): return -x
def pow(x, e): return x ** e
def reciprocal(x): return 1.0 / x
def t(x): return x.t()
def permute(x, *dims): return x.permute(*dims)
def mv(x, y): return x.mv(y)
def numel(x): return x.numel()
def clone(x): return x.clone()
def clamp_min(x, min): return x.clamp(min=min)
def is_floating_point(x): return x.dtype.is_floating_point


def min(x, dim=None, keepdim=False):
    """Minimum: max of -x, negated (gradients flow the same way)."""
    if dim is None:
        return -((-x).max())
    values, indices = (-x).max(dim, keepdim)
    return MaxResult(-values, indices)


def argmax(x, dim=None, keepdim=False):
    _note_tensor_read(x)
    a = _as_numpy(&(<Tensor>x).v)
    if dim is None:
        return tensor(np.int64(np.argmax(a)))
    r = np.argmax(a, axis=dim)
    return tensor(np.expand_dims(r, dim) if keepdim else r, dtype=int64)


def argmin(x, dim=None, keepdim=False):
    return argmax(-x.detach(), dim, keepdim)


# ----------------------------------------------------------------------------
# Hooks for the shared nn layer (tapegrad._nn)

from ._nn import reduce_loss

def _mse_loss(Tensor input, Tensor target, reduction):
    """torch's mse_loss as one node (same shapes), with its backward formula."""
    if reduction == "none" or input.v.dtype != target.v.dtype:
        d = input - target
        return reduce_loss(d * d, reduction)
    _check_live(input)
    _check_live(target)
    _check_float(input, "mse_loss")
    cdef tg_tnode *n = _node(input, target)
    _set_shape(&n.out, (), input.v.dtype)
    n.ip[0] = reduction == "mean"
    return _run(TT_MSE, n, input, target)


def _nll_loss(input, target, weight, ignore_index, reduction):
    """-log p[target] averaged (or summed) over the batch, one C node for the pick."""
    if weight is not None:
        raise NotImplementedError("nll_loss: class weights are not supported by tapegrad")
    if input.dim() == 1:
        return _nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
    if input.dim() != 2:
        raise NotImplementedError("nll_loss: tapegrad supports (N, C) inputs")
    if target.dtype is not int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype}")
    if (target.numpy() == ignore_index).any():
        raise NotImplementedError("nll_loss: ignore_index among the targets is not supported")
    return reduce_loss(-_pick(input, target), reduction)
