# The Tensor class, its storage (views, dtypes, buffers shared with numpy), the
# backward entry point and the factories (included by _engine.pyx). The ops that
# record nodes are in _tensor_ops.pxi; kernels are in csrc/tg_tensor.c.

from libc.math cimport copysign
from libc.string cimport memcpy, memset
from libc.stdint cimport int64_t

import collections
import numpy as np

from ._dtype import (ALL_DTYPES, Size, bool_, dtype as _dtype_cls, float32, float64, int64,
                     from_numpy_dtype, result_type, scalar_dtype, scalar_type_name,
                     tensor_type, NoKernelError, no_kernel)
from cpython.ref cimport Py_INCREF, Py_DECREF

cdef object _NO_DIM = object()      # softmax() called without dim (before Tensor: a default)
cdef tuple _DTYPES = ALL_DTYPES   # indexed by the dtype codes TG_F32, TG_F64, TG_I64, ...
cdef tuple _NP_DTYPES = tuple(d.numpy for d in ALL_DTYPES)
cdef dict _DTYPE_CODES = {d: k for k, d in enumerate(ALL_DTYPES)}


def get_default_dtype():
    return float32

# ----------------------------------------------------------------------------
# Views and dtypes

cdef int _dtype_code(object dt) except -1:
    if dt is None:
        return TG_F32
    code = _DTYPE_CODES.get(dt) if isinstance(dt, _dtype_cls) else None
    if code is not None:
        return code
    if isinstance(dt, str):
        raise TypeError(f"dtype must be a tapegrad dtype (tapegrad.float32, ...), not the "
                        f"string {dt!r}")
    if not isinstance(dt, (np.dtype, type)):    # an array or a tensor compares elementwise
        raise TypeError(f"dtype must be a tapegrad dtype (tapegrad.float32, ...), not "
                        f"'{type(dt).__name__}'")
    for k in range(len(_NP_DTYPES)):
        if dt == _NP_DTYPES[k] or dt is _NP_DTYPES[k].type:
            return k
    raise TypeError(f"unsupported dtype {dt!r}: tapegrad has float32, float64, int64, int32, "
                    "int16, int8, uint8 and bool")


cdef int _set_shape(tg_view *v, object shape, int dtype) except -1:
    cdef int64_t numel = 1, size
    cdef tuple dims = tuple(shape)
    if len(dims) > TG_MAXDIM:
        raise ValueError(f"tapegrad tensors have at most {TG_MAXDIM} dimensions, not {len(dims)}")
    for d in range(len(dims)):
        size = _int_arg(dims[d], "size")
        if size < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {size}: "
                               f"{list(dims)}")
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


cdef object _one_element(Tensor x):
    """x's only element, for float(x) / int(x) (torch's ValueError for more than one)."""
    if x.v.numel != 1:
        raise ValueError(f"only one element tensors can be converted to Python scalars "
                         f"(this one has shape {_shape_str(&x.v)}); use .item() on one element")
    return x.item()


cdef int _check_float(Tensor x, str what) except -1:
    if _integral_code(x.v.dtype):
        raise no_kernel(what, _DTYPES[x.v.dtype])
    return 0

cdef int _refuse_numpy_of_grad(Tensor x) except -1:
    """numpy() and np.asarray() hand out a writable view the version counter cannot
    see: torch refuses them on a tensor that requires grad while grad mode is on."""
    if x.index >= 0 and tg_grad_enabled():
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                           "Use tensor.detach().numpy() instead.")
    return 0

cdef int _check_live(Tensor x) except -1:
    if x.index == TG_FREED:
        raise RuntimeError(
            "this tensor's node was freed by tapegrad.clear_tape(); recompute it from its inputs")
    return 0

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

# ----------------------------------------------------------------------------
# Tensor

cdef class Tensor:
    """An n-d array of float32/float64 (or int64) that records operations for autograd.

    Create tensors with ``tapegrad.tensor(data, requires_grad=...)`` or the
    factories; ``Tensor([...])`` is the legacy float32 constructor.
    """

    __array_priority__ = 1000

    def __cinit__(self):
        self.index = TG_UNSET

    def __init__(self, *args, **kwargs):
        """object.__init__'s rule (torch's Tensor has no __init__): __new__ made the
        tensor (_legacy_new), so arguments are refused only from a subclass's own
        __init__."""
        if (args or kwargs) and type(self).__init__ is not Tensor.__init__:
            raise TypeError("object.__init__() takes exactly one argument (the instance "
                            "to initialize)")

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
        _refuse_numpy_of_grad(self)
        return _as_numpy(&self.v)

    def __array__(self, dtype=None, copy=None):
        _refuse_numpy_of_grad(self)
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
        if self.v.dtype == TG_I64:
            return (<int64_t *>self.v.buf.data)[0]
        return int(_as_numpy(&self.v).reshape(-1)[0])

    def tolist(self):
        _note_tensor_read(self)
        return _as_numpy(&self.v).tolist()

    def __float__(self):
        return float(_one_element(self))

    def __int__(self):
        return int(_one_element(self))

    def __index__(self):
        if not _integral_code(self.v.dtype) or self.v.dtype == TG_BOOL or self.v.numel != 1:
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

    def int(self):
        return self.to(_DTYPES[TG_I32])

    def short(self):
        return self.to(_DTYPES[TG_I16])

    def char(self):
        return self.to(_DTYPES[TG_I8])

    def byte(self):
        return self.to(_DTYPES[TG_U8])

    def bool(self):
        return self.to(bool_)

    def type(self, dtype=None, non_blocking=False):
        return tensor_type(self, dtype, non_blocking)

    def to(self, *args, **kwargs):
        """A copy converted to dtype (self when it already has it; device "cpu" only).
        Not differentiable across dtypes."""
        dtype = _FM.to_args(args, kwargs, Tensor)
        return self if dtype is None else _cast(self, _dtype_code(dtype))

    def clone(self):
        if _integral_code(self.v.dtype):
            return _from_numpy(_as_numpy(&self.v), self.v.dtype)
        return _unary(TT_MUL_C, self, "clone", 1.0, 0.0, 0, 0, NAME_CLONE)   # exact: x * 1.0

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
            if self.v.dtype != TG_F32 and self.v.dtype != TG_F64:
                raise DtypeError("only Tensors of floating point dtype can require gradients")
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

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement, when this tensor's gradient is computed."""
        return _register_tensor_hook(self, hook)

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
        graph_grad = _graph_grad_of(buf)       # set by backward(create_graph=True)
        if graph_grad is not None:
            return graph_grad
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
        _wait_for_sweep(self.tape)          # it may be writing the buffer this frees
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
        cdef tg_tnode *n
        if self.index >= 0:
            _wait_for_sweep(self.tape)      # it may be reading the buffers this frees
        tg_buf_incref(src.v.buf)
        tg_buf_decref(self.v.buf)
        if self.index >= 0 and self.tp.op[self.index] == TT_LEAF:
            # A leaf's record is its value: its .grad keeps the value's shape and dtype,
            # so another layout drops it. A node keeps the value its graph recorded (its
            # backward reads that, as torch's); a graph that used this tensor with its
            # old layout raises in backward (tg_tensor_backward's TG_EGRAD).
            n = self.tp.tn[self.index]
            tg_buf_incref(src.v.buf)
            tg_buf_decref(n.out.buf)
            if n.grad != NULL and not _same_layout(&n.out, &src.v):
                tg_buf_decref(n.grad)
                n.grad = NULL
            n.out = src.v
        self.v = src.v

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
        from .serialization import _reduce_tensor     # (serialization imports the engines)
        return _reduce_tensor(self)

    def detach_(self):
        return self.requires_grad_(False)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Reverse sweep from this tensor: leaves' .grad accumulate."""
        _check_live(self)
        if create_graph:                # the recording sweep (tapegrad/autograd/_higher.py)
            from .autograd import backward as _backward_recorded
            return _backward_recorded(self, gradient, retain_graph, True, inputs)
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
        if inputs is not None:          # only the inputs' .grad accumulate
            if isinstance(inputs, Tensor):
                inputs = [inputs]
            _sweep_into([self], [gradient], list(inputs), False, bool(retain_graph))
            return
        _backward_from(self, seed)
        if not retain_graph:            # torch frees the saved tensors (tg_higher.h)
            tg_tensor_free_graph(self.tp, self.index)

    # -- arithmetic -------------------------------------------------------------

    def __add__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "add", False)
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_ADD_C, self, "add", c) if o is None else _binary(TT_ADD, self, o, "add")

    def __radd__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "add", True)
        if _real(other, &c):
            return _unary(TT_ADD_C, self, "add", c)
        return NotImplemented

    def __sub__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "sub", False)
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_SUB_C, self, "sub", c) if o is None else _binary(TT_SUB, self, o, "sub")

    def __rsub__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "sub", True)
        if _real(other, &c):
            return _unary(TT_RSUB_C, self, "rsub", c)
        return NotImplemented

    def __mul__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "mul", False)
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_MUL_C, self, "mul", c) if o is None else _binary(TT_MUL, self, o, "mul")

    def __rmul__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "mul", True)
        if _real(other, &c):
            return _unary(TT_MUL_C, self, "mul", c)
        return NotImplemented

    def __truediv__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "div", False)
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_DIV_C, self, "div", c) if o is None else _binary(TT_DIV, self, o, "div")

    def __rtruediv__(self, other):
        cdef double c
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "div", True)
        if _real(other, &c):
            return _unary(TT_RDIV_C, self, "div", c)
        return NotImplemented

    def __pow__(self, other, mod):
        cdef double c
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for tensors")
        if _integral_code(self.v.dtype):
            return _integral_arith(self, other, "pow", False)
        o = _scalar_or_tensor(other, &c)
        if o is NotImplemented:
            return NotImplemented
        return _unary(TT_POW_C, self, "pow", c) if o is None else _binary(TT_POW, self, o, "pow")

    def __rpow__(self, other, mod):
        cdef double c
        if mod is None and _integral_code(self.v.dtype):
            return _integral_arith(self, other, "pow", True)
        if mod is None and _real(other, &c):
            return _unary(TT_RPOW_C, self, "pow", c)
        return NotImplemented

    def __neg__(self):
        if _integral_code(self.v.dtype):
            return _integral_unary(self, "neg")
        return _unary(TT_NEG, self, "neg")

    def __abs__(self):
        return self.abs()

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
        if _recording_write(self, None):
            return _overwrite_recorded(self, 0, NAME_ZERO, "zero_")
        _check_inplace(self, "zero_")
        memset(self.v.buf.data, 0, self.v.buf.nbytes)
        self.v.buf.version += 1
        return self

    def fill_(self, value):
        if _recording_write(self, value):
            return _overwrite_recorded(self, value, NAME_FILL, "fill_")
        _check_inplace(self, "fill_")
        _as_numpy(&self.v)[...] = value
        self.v.buf.version += 1
        return self

    def copy_(self, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not "
                            f"'{type(src).__name__}'")
        if _recording_write(self, src):
            return _overwrite_recorded(self, src, NAME_COPY, "copy_")
        _check_inplace(self, "copy_")
        _as_numpy(&self.v)[...] = src.detach().numpy()
        self.v.buf.version += 1
        return self

    # in-place random fills (no-grad fills, torch's streams: _random_api.fill_values)
    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return _random_fill(self, "uniform_", (a, b), generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return _random_fill(self, "normal_", (mean, std), generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        return _random_fill(self, "bernoulli_", (p,), generator)

    def random_(self, from_=0, to=None, *, generator=None):
        return _random_fill(self, "random_", (from_, to), generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return _random_fill(self, "exponential_", (lambd,), generator)

    # -- elementwise functions ------------------------------------------------------

    def exp(self):
        return _unary(TT_EXP, self, "exp")

    def log(self):
        return _unary(TT_LOG, self, "log")

    def tanh(self):
        return _unary(TT_TANH, self, "tanh")

    def relu(self):
        if _integral_code(self.v.dtype):
            return _integral_unary(self, "relu")
        return _unary(TT_RELU, self, "relu")

    def sigmoid(self):
        return _unary(TT_SIGMOID, self, "sigmoid")

    def abs(self):
        if _integral_code(self.v.dtype):
            return _integral_unary(self, "abs")
        return _unary(TT_ABS, self, "abs")

    def sqrt(self):
        return _unary(TT_SQRT, self, "sqrt")

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _FM.clamp_tensors(self, min, max)
        if _integral_code(self.v.dtype):
            return _integral_clamp(self, min, max)
        return _unary(TT_CLAMP, self, "clamp", 0.0 if min is None else float(min),
                      0.0 if max is None else float(max), min is not None, max is not None)

    def clamp_min(self, min):
        if min is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor):
            return _FM.clamp_tensors(self, min, None)
        return _unary(TT_CLAMP, self, "clamp_min", float(min), 0.0, 1, 0, NAME_CLAMP_MIN)

    def clamp_max(self, max):
        if max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(max, Tensor):
            return _FM.clamp_tensors(self, None, max)
        return _unary(TT_CLAMP, self, "clamp_max", 0.0, float(max), 0, 1, NAME_CLAMP_MAX)

    def reciprocal(self):
        """1 / x, with torch's backward -grad * result * result (ip[0] set)."""
        return _unary(TT_RDIV_C, self, "reciprocal", 1.0, 0.0, 1, 0, NAME_RECIPROCAL)

    # -- reductions ----------------------------------------------------------------

    def sum(self, dim=None, keepdim=False):
        if _integral_code(self.v.dtype):
            return _integral_sum(self, dim, keepdim)
        return _reduce(TT_SUM, self, dim, keepdim, "sum")

    def mean(self, dim=None, keepdim=False):
        if _integral_code(self.v.dtype):
            raise DtypeError(f"mean(): could not infer output dtype. Input dtype must be "
                             f"either a floating point or complex dtype. Got: "
                             f"{scalar_type_name(_DTYPES[self.v.dtype])}")
        return _reduce(TT_MEAN, self, dim, keepdim, "mean")

    def max(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):          # torch.max(a, b): elementwise
            return self.maximum(dim)
        if _integral_code(self.v.dtype):
            return _integral_extreme(self, dim, keepdim, False)
        return _extreme(self, dim, keepdim, False)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):          # torch.min(a, b): elementwise
            return self.minimum(dim)
        if _integral_code(self.v.dtype):
            return _integral_extreme(self, dim, keepdim, True)
        return _extreme(self, dim, keepdim, True)

    def softmax(self, dim=_NO_DIM, dtype=None):
        x = self if dtype is None else _cast(self, _dtype_code(dtype))   # torch: cast first
        return _along_dim(TT_SOFTMAX, x, _softmax_dim(x, dim, "softmax"),
                          list(_shape_of(&self.v)))

    def log_softmax(self, dim=_NO_DIM, dtype=None):
        x = self if dtype is None else _cast(self, _dtype_code(dtype))
        return _along_dim(TT_LOG_SOFTMAX, x, _softmax_dim(x, dim, "log_softmax"),
                          list(_shape_of(&self.v)))

    # -- products ---------------------------------------------------------------

    def matmul(self, other):
        return _matmul(self, other)

    def mm(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"mm(): argument 'mat2' (position 1) must be Tensor, not "
                            f"{type(other).__name__}")
        if self.v.ndim != 2 or other.ndim != 2:
            raise RuntimeError("mm: both arguments must be 2-D")
        return _matmul(self, other)

    def dot(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"dot(): argument 'tensor' (position 1) must be Tensor, not "
                            f"{type(other).__name__}")
        if self.v.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.v.ndim}D and "
                               f"{other.ndim}D tensors")
        return _matmul(self, other)

    def mv(self, other):
        return _matmul(self, other)

    def bmm(self, other):
        return _bmm(self, other)

    # -- shapes ------------------------------------------------------------------

    def reshape(self, *shape):
        shape = list(_parse_sizes(shape))
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
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self                  # torch: nothing to flatten, the tensor itself
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
        _FM.check_lone_dims(dims, "permute")
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
        a, b = _norm_dim(dim0, self.v.ndim), _norm_dim(dim1, self.v.ndim)
        if self.v.ndim == 0:
            return self
        order = list(range(self.v.ndim))
        order[a], order[b] = order[b], order[a]
        strides = _contiguous_strides(&self.v)
        return _gather(self, [self.v.shape[d] for d in order], 0, [strides[d] for d in order],
                       NAME_TRANSPOSE)

    def t(self):
        if self.v.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.v.ndim}D")
        if self.v.ndim == 2:
            return _swap_last2(self, NAME_T)
        return _view(self, _shape_of(&self.v), NAME_T)     # torch: a TBackward0 view

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
        if not _is_basic_key(key):
            return _index_read(self, key)
        cdef list shape = [], strides = []
        cdef int64_t offset = 0
        cdef int name = _index_plan(self, key if isinstance(key, tuple) else (key,),
                                    shape, strides, &offset)
        return _gather(self, shape, offset, strides, name)

    def clamp_(self, min=None, max=None): return _clamp_inplace(self, min, max)

    # indexing functions (_tensor_index.pxi)
    def index_select(self, dim, index): return index_select(self, dim, index)
    def gather(self, dim, index, *, sparse_grad=False): return gather(self, dim, index)
    def take_along_dim(self, indices, dim=None): return take_along_dim(self, indices, dim)
    def masked_select(self, mask): return masked_select(self, mask)
    def masked_fill(self, mask, value): return _masked_fill(self, mask, value)
    def masked_fill_(self, mask, value): return _masked_fill_inplace(self, mask, value)
    def nonzero(self, *, as_tuple=False): return nonzero(self, as_tuple=as_tuple)
    def where(self, condition, other): return where(condition, self, other)

    def __setitem__(self, key, value):
        _setitem(self, key, value)

    # -- issue 11 item 5: the primitives (_tensor_more.pxi) and the shared methods
    # (tapegrad/_functions_more.py) built on them
    _more_unary, _more_binary, _more_along, _more_cat2 = _tm_unary, _tm_binary, _tm_along, _tm_cat2
    _more_take, _more_roll1, _more_tile, _more_flip = _tm_take, _tm_roll1, _tm_tile, _tm_flip
    _more_part, _more_expand = _tm_part, _tm_expand
    (sin, cos, tan, log10, log2, log1p, expm1, rsqrt, sign, floor, ceil, square, round, maximum,
     minimum, var, std, norm, logsumexp, prod, cumsum, all, any, isclose, allclose, argmax,
     argmin, sort, argsort, topk, split, chunk, unbind, flip, roll, repeat, expand, expand_as,
     view_as, reshape_as, nelement, cpu, cuda, new_tensor, new_zeros, new_ones, new_empty,
     new_full) = [_FM.METHODS[_k] for _k in _FM.COMPILED_METHODS]
    def erf(self): return _activation(self, "erf")   # issue 12 (_tensor_act.pxi)
    add, sub, mul, div, pow, neg, eq, ne, lt, le, gt, ge = [
        _FM.ARITH[_k] for _k in ("add", "sub", "mul", "div", "pow", "neg", "eq", "ne", "lt",
                                 "le", "gt", "ge")]

# ----------------------------------------------------------------------------
# Basic indexing (ints, 0-d int64 tensors, slices, None, ...): a strided read.
# Every other key goes to _index_read (_tensor_index.pxi).

cdef int64_t _int_index(object k, int64_t size, int d) except? -1:
    if isinstance(k, Tensor) and (<Tensor>k).v.dtype == TG_I64 and (<Tensor>k).v.numel == 1:
        k = (<Tensor>k).item()
    cdef int64_t i
    try:
        i = _int_arg(k, "index")
    except TypeError:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and "
                         "long or byte Variables are valid indices (got "
                         f"{type(k).__name__})") from None
    if i < -size or i >= size:
        raise IndexError(f"index {i} is out of bounds for dimension {d} with size {size}")
    return i + size if i < 0 else i


cdef int _index_plan(Tensor x, tuple key, list out_shape, list out_strides,
                     int64_t *offset) except -1:
    """x[key] for a basic key (see _is_basic_key) as a strided read: fills out_shape,
    out_strides and offset; returns the grad_fn name id (that of the last index applied,
    as torch names it)."""
    cdef int n_real = len([k for k in key if k is not None and k is not Ellipsis])
    if n_real > x.v.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.v.ndim}")
    if len([k for k in key if k is Ellipsis]) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    cdef list strides = _contiguous_strides(&x.v)
    cdef int64_t size
    cdef int d = 0
    cdef int name = 0
    for k in key:
        if k is Ellipsis:
            for j in range(x.v.ndim - n_real):
                out_shape.append(x.v.shape[d + j])
                out_strides.append(strides[d + j])
            d += x.v.ndim - n_real
        elif k is None:
            out_shape.append(1)
            out_strides.append(0)
            name = NAME_UNSQUEEZE
        elif isinstance(k, slice):
            size = x.v.shape[d]
            start, stop, step = k.indices(size)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            length = len(range(start, stop, step))
            out_shape.append(length)
            out_strides.append(strides[d] * step if length > 1 else 0)   # (a huge step)
            if length > 0:
                offset[0] += start * strides[d]
            if length != size:           # a full slice records nothing in torch
                name = 0
            d += 1
        else:
            offset[0] += _int_index(k, x.v.shape[d], d) * strides[d]
            name = NAME_SELECT
            d += 1
    for j in range(d, x.v.ndim):
        out_shape.append(x.v.shape[j])
        out_strides.append(strides[j])
    return name


# Tensor.__new__ for Python callers (T.Tensor(...), T.Tensor.__new__(cls), a subclass's
# construction) runs torch's legacy constructor, as torch and the reference do, so a
# subclass whose __init__ skips Tensor.__init__ still has storage. The engine's own
# Tensor.__new__(Tensor) calls go to the generated tp_new directly and set .v themselves.
cdef extern from *:
    """
    static newfunc tg_tensor_new_generated;
    static PyObject *tg_tensor_legacy_new;      /* _legacy_new(self, args, kwargs) */
    static PyObject *tg_tensor_new(PyTypeObject *cls, PyObject *args, PyObject *kwds) {
        PyObject *self = tg_tensor_new_generated(cls, args, kwds);
        if (self == NULL) return NULL;
        PyObject *r = PyObject_CallFunctionObjArgs(tg_tensor_legacy_new, self, args,
                                                   kwds != NULL ? kwds : Py_None, NULL);
        if (r == NULL) { Py_DECREF(self); return NULL; }
        Py_DECREF(r);
        return self;
    }
    static void tg_install_tensor_new(PyTypeObject *tp, PyObject *legacy_new) {
        Py_INCREF(legacy_new);
        tg_tensor_legacy_new = legacy_new;
        tg_tensor_new_generated = tp->tp_new;
        tp->tp_new = tg_tensor_new;
        tp->tp_vectorcall = NULL;        /* calls of the type go through tp_new */
        PyType_Modified(tp);
    }
    """
    void tg_install_tensor_new(PyTypeObject *tp, object legacy_new)


def _legacy_new(Tensor self, tuple args, kwargs):
    """torch.Tensor's legacy constructor: Tensor() is empty, Tensor(data) float32 data,
    Tensor(*sizes) zeros (torch: uninitialised)."""
    if kwargs:
        raise TypeError(f"Tensor() got unexpected keyword arguments {sorted(kwargs)}")
    cdef Tensor src
    if not args:
        src = zeros(0)
    elif len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        data = args[0]
        if isinstance(data, (str, bytes)) or data is None:
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        src = _from_numpy(np.asarray(_as_numpy(&(<Tensor>data).v) if isinstance(data, Tensor)
                                     else data, dtype=np.float32), TG_F32)
    else:
        src = zeros(*args)
    self.v = src.v
    tg_buf_incref(self.v.buf)


tg_install_tensor_new(<PyTypeObject *>Tensor, _legacy_new)

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
    # the shape recorded (the root's .data may have been replaced since); the implicit
    # seed of backward() is 0-d, for any one-element root
    if not (_same_shape(&seed.v, &n.out) or (seed.v.ndim == 0 and n.out.numel == 1)):
        from ._format import invalid_gradient
        raise RuntimeError(invalid_gradient(None, 0, _layout_of(&seed.v), _layout_of(&n.out)))
    if seed.v.dtype != n.out.dtype:
        seed = seed.to(_DTYPES[n.out.dtype])
    g = tg_buf_new(n.out.buf.nbytes)
    if g == NULL:
        raise MemoryError("tapegrad: out of memory")
    memcpy(g.data, seed.v.buf.data, g.nbytes)
    tg_buf_decref(n.grad)
    n.grad = g
    cdef list hooked = _stash_hooked_leaves(t) if _tensor_hooks else None
    if i - t.low[i] < 64:               # small graphs: releasing the GIL costs more
        status = tg_tape_backward(t, i)
    else:
        _sweep_begin(root.tape)
        try:
            with nogil:
                status = tg_tape_backward(t, i)
        finally:
            _sweep_end(root.tape)
    if hooked:                          # register_hook() on leaves: before accumulating
        _finish_hooked_leaves(t, hooked, status == 0)
    if status == -2:
        _raise_modified(root.tape, t.error_node)
    if status == TG_EGRAD:
        _raise_invalid_gradient(root.tape, t.error_node)
    if status == TG_EFREED:
        _raise_freed()
    if status == TG_EPYFUNC:
        _raise_pyfunc_error()
    if status != 0:
        raise MemoryError("tapegrad: out of memory during backward")
    return 0


cdef dict _graph_leaves(list roots):
    """{(tape, slot): tensor record} of the tensor leaves the roots' graphs reach: the
    leaf parents of the nodes in each root's slot range (and a root that is a leaf)."""
    cdef dict out = {}
    cdef Tensor r
    cdef tg_tape *t
    cdef tg_index i, p, lo
    for obj in roots:
        r = <Tensor>obj
        if r.index < 0:
            continue
        t = r.tp
        if t.op[r.index] == TT_LEAF:
            out[(id(r.tape), r.index)] = r.tape
            continue
        lo = t.low[r.index]
        for i in range(lo, r.index + 1):
            if t.tn[i] == NULL:
                continue
            for p in _slot_parents(t, i):
                if 0 <= p < t.leaf_cap and t.op[p] == TT_LEAF and t.tn[p] != NULL:
                    out[(id(r.tape), p)] = r.tape
    return out


cdef list _mute_off_path(list roots, dict wanted):
    """Clear retain_grad on the nodes of the roots' graphs that lead to no input
    (torch runs only the nodes on a path to an input); returns [(tape, slot)] to set
    back."""
    cdef list muted = []
    cdef Tensor r
    cdef tg_tape *t
    cdef tg_index i, p, lo
    cdef set leads = set()               # (tape id, slot) of the nodes an input is reachable from
    for obj in roots:
        r = <Tensor>obj
        t = r.tp
        if t.op[r.index] == TT_LEAF:
            continue
        lo = t.low[r.index]
        for i in range(lo, r.index + 1):                 # parents first
            if t.tn[i] == NULL or (id(r.tape), i) in leads:
                continue
            if (id(r.tape), i) in wanted or any(
                    p >= 0 and ((id(r.tape), p) in wanted or (id(r.tape), p) in leads)
                    for p in _slot_parents(t, i)):
                leads.add((id(r.tape), i))
            elif t.tn[i].retain_grad:
                t.tn[i].retain_grad = 0
                muted.append((r.tape, i))
    return muted


cdef object _sweep_into(list roots, list grads, list inputs, bint collect, bint retain):
    """The sweeps from roots (one each, seeded by grads) with only ``inputs``' .grad
    changed: collect=False accumulates into them (backward(inputs=)); collect=True
    (autograd.grad) changes no .grad and returns the inputs' gradients (None: unused).
    Without retain, the roots' graphs are freed after the sweeps."""
    cdef Tensor x
    cdef tg_tnode *n
    cdef dict wanted = {}
    for obj in inputs:
        if not isinstance(obj, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, not '{type(obj).__name__}'")
        x = <Tensor>obj
        if x.index < 0:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        wanted[(id(x.tape), x.index)] = x
    for k, obj in enumerate(roots):
        if not isinstance(obj, Tensor):
            raise TypeError(f"backward(): expected a Tensor, not '{type(obj).__name__}'")
        if (<Tensor>obj).index < 0:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not "
                               "have a grad_fn")
    cdef dict leaves = _graph_leaves(roots)
    for tp in leaves.values():
        _wait_for_sweep(<_Tape>tp)           # the stash below swaps their grad buffers
    cdef list stash = []         # (tape, slot, is_leaf, saved buffer, saved retain flag)
    cdef _Tape tape
    cdef tg_index i
    for key, tp in leaves.items():
        if key in wanted and not collect:
            continue                                   # accumulates in place
        tape = <_Tape>tp
        i = key[1]
        n = tape.t.tn[i]
        stash.append((tape, i, True, <size_t>n.grad, 0))
        n.grad = NULL
    for key, obj in wanted.items():
        x = <Tensor>obj
        if x.tp.op[x.index] == TT_LEAF:
            continue
        n = x.tp.tn[x.index]
        stash.append((x.tape, x.index, False, <size_t>n.retained, n.retain_grad))
        if collect:
            n.retained = NULL
        n.retain_grad = 1
    cdef list result = []
    cdef tg_view g
    cdef tg_buf *buf, *kept
    cdef list muted = _mute_off_path(roots, wanted)
    try:
        for r, seed in zip(roots, grads):
            r.backward(seed, retain_graph=True)
        if not retain:
            _free_graphs(roots)
        if collect:
            for obj in inputs:
                x = <Tensor>obj
                n = x.tp.tn[x.index]
                buf = n.grad if x.tp.op[x.index] == TT_LEAF else n.retained
                if buf == NULL:
                    result.append(None)
                else:
                    g = n.out
                    g.buf = buf
                    result.append(_from_numpy(np.array(_as_numpy(&g)), g.dtype))
    finally:
        for tape, i in muted:
            if (<_Tape>tape).t.tn[<tg_index>i] != NULL:
                (<_Tape>tape).t.tn[<tg_index>i].retain_grad = 1
        for tape, i, is_leaf, saved, flag in stash:
            n = (<_Tape>tape).t.tn[<tg_index>i]
            if n == NULL:
                continue
            if is_leaf:
                tg_buf_decref(n.grad)
                n.grad = <tg_buf *><size_t>saved
            else:
                if collect:      # a retain_grad() input's .grad takes its gradient, as torch
                    kept = <tg_buf *><size_t>saved
                    if flag and kept != NULL and n.retained != NULL:
                        _as_numpy_buf(kept, &n.out)[...] += _as_numpy_buf(n.retained, &n.out)
                    if flag and kept == NULL:
                        kept = n.retained
                    else:
                        tg_buf_decref(n.retained)
                    n.retained = kept
                n.retain_grad = flag
    return tuple(result) if collect else None


def _grad(outputs, inputs, grad_outputs=None, allow_unused=False, retain_graph=False):
    """autograd.grad's engine hook: d(outputs)/d(inputs) as a tuple of Tensors (None
    for an unused input when allow_unused); no .grad changes."""
    outputs = list(outputs)
    grads = [None] * len(outputs) if grad_outputs is None else list(grad_outputs)
    result = _sweep_into(outputs, grads, list(inputs), True, retain_graph)
    if not allow_unused and any(g is None for g in result):
        raise RuntimeError(UNUSED_INPUT)
    return result


def _run_backward(tensors, grad_tensors=None, inputs=None, retain_graph=False):
    """autograd.backward's engine hook: one sweep per root; with inputs, only their
    .grad accumulate."""
    tensors = list(tensors)
    grads = [None] * len(tensors) if grad_tensors is None else list(grad_tensors)
    if inputs is not None:
        _sweep_into(tensors, grads, list(inputs), False, retain_graph)
        return
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward(): expected a Tensor, not '{type(t).__name__}'")
        if (<Tensor>t).index < 0:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not "
                               "have a grad_fn")
    for t, g in zip(tensors, grads):
        t.backward(g, retain_graph=True)
    if not retain_graph:
        _free_graphs(tensors)


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


cdef tuple _layout_of(const tg_view *v):
    return (_shape_of(v), _DTYPES[v.dtype])


cdef int _raise_invalid_gradient(_Tape tape, tg_index i) except -1:
    """Node i's backward stopped before writing: the gradient it sends a parent has
    the shape and dtype the parent had when i was recorded, not the parent's now."""
    from ._format import invalid_gradient
    cdef tg_tnode *n = tape.t.tn[i]
    cdef tg_tnode *pn
    for k, p in enumerate((tape.t.a[i], tape.t.b[i])):
        if p >= 0 and not _same_layout(&tape.t.tn[<tg_index>p].out, &n.in_[k]):
            pn = tape.t.tn[<tg_index>p]
            raise RuntimeError(invalid_gradient(_grad_fn_of(tape, i).name(), k,
                                                _layout_of(&n.in_[k]), _layout_of(&pn.out)))
    raise RuntimeError(f"Function {_grad_fn_of(tape, i).name()} returned an invalid gradient")


cdef object _as_numpy_buf(tg_buf *buf, const tg_view *like):
    cdef tg_view v = like[0]
    v.buf = buf
    return _as_numpy(&v)


# ----------------------------------------------------------------------------
# Factories

def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor copying data (numbers, nested lists, numpy arrays, tensors)."""
    cdef int code
    _FM.check_device(device, "tensor")
    if dtype is not None:
        _dtype_code(dtype)              # torch parses the dtype before it reads the data
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
            _FM.nested_data_error(data, Tensor)
            raise ValueError(f"tensor(): {exc}") from None
        if isinstance(data, np.ndarray) and arr.dtype.kind not in "biuf":
            raise unsupported_array(arr.dtype)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise NoTensorError(f"Could not infer dtype of {_first_bad_item(data)} "
                                f"(tensor() takes numbers, sequences of numbers or arrays)")
        if dtype is not None:
            code = _dtype_code(dtype)
        elif arr.dtype.kind == "f":
            code = TG_F64 if (isinstance(data, np.ndarray) and arr.dtype == np.float64) else TG_F32
        else:
            code = TG_BOOL if arr.dtype.kind == "b" else (
                _DTYPE_CODES.get(from_numpy_dtype(arr.dtype), TG_I64)
                if isinstance(data, np.ndarray) else TG_I64)
    cdef Tensor r = _from_numpy(arr, code)
    if requires_grad:
        r.requires_grad_(True)
    return r


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
    """A tensor sharing the array's memory (C-contiguous, writable, aligned arrays;
    others are copied), with its dtype: float32, float64, int64 or bool.

    torch shares a misaligned array too, but the kernels would then load and store
    unaligned elements (undefined behaviour in C), so such an array is copied into an
    aligned buffer: writes to one are not seen by the other."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    cdef int code = _dtype_code(a.dtype)
    if not (a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
            and a.dtype == _NP_DTYPES[code]):
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


cdef tuple _parse_sizes(tuple size):
    """(2, 3), ((2, 3),) or ([2, 3],) -> (2, 3), with torch's TypeError for a non-int or
    an int beyond 64 bits (raised while parsing, before any size is checked)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, not {type(s).__name__}")
        if not -_INT64_LIMIT <= s < _INT64_LIMIT:
            raise TypeError(f"size must be a tuple of ints: {s} does not fit in a 64-bit "
                            "integer (Overflow when unpacking long long)")
    return size


cdef tuple _size_args(tuple size):
    """A factory's sizes: parsed, then none negative."""
    size = _parse_sizes(size)
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return size


cdef Tensor _filled(tuple size, object dtype, object requires_grad, object value):
    """A new tensor of value (a Python number: an int fills int64 exactly)."""
    cdef Tensor r = Tensor.__new__(Tensor)
    cdef int code = _dtype_code(dtype)
    _set_shape(&r.v, _size_args(size), code)
    cdef bint zero = value == 0 and not (isinstance(value, float) and copysign(1.0, value) < 0)
    _alloc(&r.v, zero)
    if not zero:
        _as_numpy(&r.v)[...] = value
    if requires_grad:
        r.requires_grad_(True)
    return r


def zeros(*sizes, size=None, dtype=None, requires_grad=False, device=None):
    _FM.check_device(device, "zeros")
    return _filled(_FM.size_kwarg(sizes, size, "zeros"), dtype, requires_grad, 0.0)


def ones(*sizes, size=None, dtype=None, requires_grad=False, device=None):
    _FM.check_device(device, "ones")
    return _filled(_FM.size_kwarg(sizes, size, "ones"), dtype, requires_grad, 1.0)


def empty(*sizes, size=None, dtype=None, requires_grad=False, device=None):
    _FM.check_device(device, "empty")
    return _filled(_FM.size_kwarg(sizes, size, "empty"), dtype, requires_grad, 0.0)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    _FM.check_device(device, "full")
    check_fill_value(fill_value, "full")
    cdef bint integral = isinstance(fill_value, (int, np.integer, np.bool_))
    if dtype is None and integral:
        dtype = scalar_dtype(fill_value)           # int64 (kept exact) or bool, as torch
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _filled(tuple(size), dtype, requires_grad,
                   fill_value if integral else float(fill_value))


def zeros_like(t, dtype=None, requires_grad=False):
    _tensor_arg(t, "zeros_like")
    return zeros(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    _tensor_arg(t, "ones_like")
    return ones(*t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start (default 0) up to end, step apart, like torch.arange."""
    _FM.check_device(device, "arange")
    arr, dt = _FM.arange_values(start, end, step, dtype)
    return tensor(arr, dtype=dt, requires_grad=requires_grad)


from . import _random_api


cdef object _random_fill(Tensor self, str name, tuple args, object generator):
    _check_inplace(self, name)
    arr = _as_numpy(&self.v)
    arr[...] = _random_api.fill_values(name, arr, args, generator)
    self.v.buf.version += 1
    return self

from ._random import Generator, default_generator

_RANDOM = _random_api.make(tensor, lambda name: _note_random(name))
rand, randn, randint, randperm = _RANDOM.rand, _RANDOM.randn, _RANDOM.randint, _RANDOM.randperm
multinomial, normal, bernoulli = _RANDOM.multinomial, _RANDOM.normal, _RANDOM.bernoulli
rand_like, randn_like, randint_like = _RANDOM.rand_like, _RANDOM.randn_like, _RANDOM.randint_like
manual_seed, seed, initial_seed = _RANDOM.manual_seed, _RANDOM.seed, _RANDOM.initial_seed
get_rng_state, set_rng_state = _RANDOM.get_rng_state, _RANDOM.set_rng_state

# ----------------------------------------------------------------------------
# More of torch's functions, composed from the ops above

from ._format import get_printoptions, set_printoptions


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or _dtype_code(dtype) == (<Tensor>data).v.dtype):
        return data
    return tensor(data, dtype=dtype)


def empty_like(t, dtype=None, requires_grad=False):
    _tensor_arg(t, "empty_like")
    return zeros_like(t, dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    _tensor_arg(t, "full_like")
    return full(tuple(t.shape), fill_value, dtype=t.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


