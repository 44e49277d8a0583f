# cython: language_level=3
"""The compiled engine: scalar ``Value`` handles on a C tape (csrc/tg_tape.c)."""

cimport cython
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.object cimport PyObject, PyTypeObject
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from libc.stdint cimport uint8_t

import numbers
import threading

from ._format import UNUSED_INPUT, broadcast_error as _broadcast_error, value_op_label
from ._ops import OPS
from ._denormal import flush_mode_arg as _flush_mode_arg
from . import _functions_more as _FM
import sys as _sys_more

ENGINE = "c"

include "_ops_table.pxi"   # op codes and grad_fn names, generated from tools/ops.py

# Sweeps over fewer nodes than this keep the GIL: releasing it costs more.
cdef tg_index NOGIL_MIN_NODES = 2048


# ----------------------------------------------------------------------------
# Tapes: one per thread

cdef class _Tape:
    def __cinit__(self):
        if tg_tape_init(&self.t, 256, 1024) != 0:
            raise MemoryError("tapegrad: cannot allocate a tape")
        self.busy = False
        self.sweep_lock = threading.Lock()

    def __dealloc__(self):
        tg_tape_free(&self.t)


cdef extern from "Python.h":
    ctypedef struct PyThreadState
    PyThreadState *PyThreadState_Get()
    unsigned long long PyThreadState_GetID(PyThreadState *tstate)


cdef object _thread_tapes = threading.local()
cdef unsigned long long _cached_thread = 0     # thread-state ids are never reused
cdef _Tape _cached_tape = None


cdef _Tape _current_tape():
    """This thread's tape, created on first use."""
    global _cached_thread, _cached_tape
    cdef unsigned long long ident = PyThreadState_GetID(PyThreadState_Get())
    if ident == _cached_thread and _cached_tape is not None:
        return _cached_tape
    tape = getattr(_thread_tapes, "tape", None)
    if tape is None:
        tape = _Tape()
        _thread_tapes.tape = tape
    _cached_thread = ident
    _cached_tape = tape
    return tape


# ----------------------------------------------------------------------------
# Checks

cdef int _real(object o, double *out) except -1:
    """Store o as a double and return 1 if o is a real number, else return 0."""
    if type(o) is float:
        out[0] = PyFloat_AS_DOUBLE(o)
        return 1
    if type(o) is int or type(o) is bool or (
            isinstance(o, numbers.Real) and not isinstance(o, Value)):
        out[0] = float(o)
        return 1
    return 0


cdef double _as_real(object o, str what) except? -1.0:
    cdef double x
    if _real(o, &x):
        return x
    raise TypeError(f"{what} must be a real number, not '{type(o).__name__}'")


cdef int _raise_unusable(Value v) except -1:
    if v.index == TG_FREED:
        raise RuntimeError(
            "this Value's node was freed by tapegrad.clear_tape(); recompute it from "
            "its inputs (leaf Values survive clear_tape)")
    raise RuntimeError("this Value is not initialised: create Values with Value(data)")


cdef inline int _check(Value v) except -1:
    if v.index < 0:
        _raise_unusable(v)
    return 0


cdef tg_tape *_pyfunc_sweeping = NULL     # the tape whose sweep runs a Function's backward
cdef dict _tensor_hooks = {}     # register_hook(): address of a hooked slot's tg_tnode ->
                                 # (hooks, leaf slot or -1, address of its tg_tape)


cdef int _check_idle(_Tape tape) except -1:
    """Moving or freeing slots must wait for a GIL-free sweep on another thread.
    (Appending within capacity and reading or setting values need not: the
    sweep only reads the range below its root and no array moves.)"""
    if _pyfunc_sweeping == &tape.t:
        raise RuntimeError(
            "tapegrad: a custom autograd.Function's backward cannot record on the graph "
            "being differentiated (grad mode is off in backward unless create_graph=True)")
    if tape.busy:
        raise RuntimeError(
            "tapegrad: this tape is running backward() on another thread; "
            "wait for it to finish")
    return 0


cdef int _sweep_begin(_Tape tape) except -1:
    """Mark tape busy for a sweep that releases the GIL (holding its sweep_lock)."""
    _check_idle(tape)
    tape.sweep_lock.acquire()           # free: busy is False, and only a sweep holds it
    tape.busy = True
    return 0


cdef void _sweep_end(_Tape tape) noexcept:
    tape.busy = False
    tape.sweep_lock.release()


cdef int _wait_for_sweep(_Tape tape) except -1:
    """Wait until no GIL-free sweep runs on tape (another thread's backward()): a
    gradient or value buffer it writes or reads must not be freed or replaced under
    it, so such changes (grad = None, .data =) happen before or after it, never
    during. Busy implies the sweep holds sweep_lock; both change under the GIL."""
    if tape is not None and _pyfunc_sweeping == &tape.t:     # (this thread's own sweep)
        raise RuntimeError(
            "tapegrad: a custom autograd.Function's backward or a tensor hook cannot replace "
            "the .grad or .data of a tensor of the graph being differentiated")
    while tape is not None and tape.busy:
        tape.sweep_lock.acquire()       # blocks, without the GIL, until the sweep ends
        tape.sweep_lock.release()
    return 0


cdef int _reserve(_Tape tape, tg_index nargs) except -1:
    _check_idle(tape)
    if tg_tape_reserve(&tape.t, nargs) != 0:
        raise MemoryError("tapegrad: cannot grow the tape")
    return 0


cdef int _attach_value(Value v, _Tape tape, double x) except -1:
    """Make v a new leaf of tape holding x."""
    _check_idle(tape)
    cdef tg_index i = tg_tape_new_leaf(&tape.t, x, &v.index)
    if i < 0:
        raise MemoryError("tapegrad: cannot grow the tape")
    v.tape = tape
    v.t = &tape.t
    v.index = i
    return 0


cdef int _raise_mixed() except -1:
    raise RuntimeError(
        "tapegrad: these Values are on different threads' tapes; each thread records "
        "on its own tape, so combine only Values created on the same thread")


# ----------------------------------------------------------------------------
# Recording

cdef Value _unop(uint8_t op, Value x, double c):
    """x op c: the unary methods, and the operators' general path (csrc/tg_value.h)."""
    if not tg_value_ready(x):
        _check(x)
        _reserve(x.tape, 0)                   # may move x: tg_value_unary reads its index
    return <Value>tg_value_unary(op, x, c)


cdef inline Value _binop(uint8_t op, Value x, Value y):
    _check(x)
    _check(y)
    cdef tg_tape *t = x.t
    if y.t != t:
        _raise_mixed()
    if t.node_count >= t.node_cap:
        _reserve(x.tape, 0)
    cdef tg_index a = x.index, b = y.index
    return <Value>tg_value_push(x.tape, t, op, a, b, 0.0,
                                tg_eval_binary_in_mode(op, t.value[a], t.value[b]))


cdef inline object _arg(list items, list partners, Py_ssize_t k):
    """Operand k: items[k], or for a dot product items and partners interleaved."""
    if partners is None:
        return <object>PyList_GET_ITEM(items, k)
    return <object>PyList_GET_ITEM(partners if k & 1 else items, k >> 1)


cdef Value _nary(uint8_t op, list items, list partners, Py_ssize_t nargs):
    """Record an n-ary node over items (and partners, for dot): Values and Python
    floats only, checked by the caller, so no Python code runs between
    reserving and pushing."""
    cdef _Tape tape = None
    cdef Py_ssize_t k
    cdef object o
    for k in range(nargs):
        o = _arg(items, partners, k)
        if type(o) is Value:
            _check(<Value>o)
            if tape is None:
                tape = (<Value>o).tape
            elif (<Value>o).tape is not tape:
                _raise_mixed()
    if tape is None:
        tape = _current_tape()
    _reserve(tape, nargs)
    cdef tg_index i
    for k in range(nargs):
        o = _arg(items, partners, k)
        if type(o) is Value:
            i = (<Value>o).index
            tg_tape_push_arg(&tape.t, i, 0.0)
        else:
            tg_tape_push_arg(&tape.t, -1, PyFloat_AS_DOUBLE(o))
    cdef double acc = tg_eval_nary_in_mode(op, tape.t.args + tape.t.arg_count - nargs, nargs,
                                   tape.t.value)
    return <Value>tg_value_attach(tape, &tape.t, tg_tape_push_nary(&tape.t, op, nargs, acc, NULL))


cdef list _operands(object items, str what):
    """A new list of items as Values and Python floats (a copy: nothing the
    caller does can change it under us); anything else is a TypeError."""
    cdef Py_ssize_t k
    cdef object o
    cdef list out = list(items)
    for k in range(len(out)):
        o = out[k]
        if type(o) is not Value and type(o) is not float:
            out[k] = _as_real(o, what)
    return out


def sum(values, dim=None, keepdim=False):
    """One node holding the sum of an iterable of Values and numbers; on a
    Tensor, the tensor sum (over dim)."""
    if isinstance(values, Tensor):
        return values.sum(dim, keepdim)
    cdef list items = _operands(values, "tapegrad.sum() items")
    return _nary(TG_SUM, items, None, len(items))


def dot(xs, ws):
    """One node holding sum(xs[i] * ws[i]) over two equally long sequences; on
    two 1-D Tensors, their dot product."""
    if isinstance(xs, Tensor):
        return xs.dot(ws)
    cdef list x = _operands(xs, "tapegrad.dot() items")
    cdef list w = _operands(ws, "tapegrad.dot() items")
    if len(x) != len(w):
        raise ValueError(
            f"tapegrad.dot(): the sequences differ in length ({len(x)} and {len(w)})")
    return _nary(TG_DOT, x, w, 2 * len(x))


def clear_tape():
    """Free every intermediate node of this thread's tape now; leaves survive.
    Values that referred to the freed nodes raise RuntimeError afterwards."""
    cdef _Tape tape = _current_tape()
    _check_idle(tape)
    _refuse_clear_while_recording(tape)
    tg_tape_clear(&tape.t)


def set_flush_denormal(mode):
    """Flush subnormal floats to zero (True) or keep them (False) in every later
    C sweep and kernel of this engine, on every thread (torch.set_flush_denormal).
    Returns True, or False where the CPU has no such mode. Each C entry point sets
    the CPU bits on entry and restores them on return: Python's own float
    arithmetic keeps subnormals (torch changes the calling thread's mode)."""
    return bool(tg_set_flush_denormal(_flush_mode_arg(mode)))


def tape_stats():
    """Counts about this thread's tape (for tests and curious users)."""
    cdef _Tape tape = _current_tape()
    return {
        "engine": ENGINE,
        "nodes": tape.t.node_count,
        "node_capacity": tape.t.node_cap,
        "leaves": tape.t.leaf_live,
        "leaf_capacity": tape.t.leaf_cap,
        "args": tape.t.arg_count,
        "arg_capacity": tape.t.arg_cap,
        "collections": tape.t.collections,
    }


cdef int _compare_data(Value v, object other, double *x, double *y) except -1:
    """Load both sides' data; return 0 if other is neither a Value nor a number."""
    _check(v)
    x[0] = v.t.value[v.index]
    if type(other) is Value:
        _check(<Value>other)
        y[0] = (<Value>other).t.value[(<Value>other).index]
        return 1
    return _real(other, y)


cdef object _value_compare(Value v, object other, int how):
    """v < other (how 0), <=, >, >= (3) on the data; noted as a guard while recording."""
    cdef double x, y
    if not _compare_data(v, other, &x, &y):
        return NotImplemented
    cdef bint r = (x < y if how == 0 else x <= y if how == 1 else x > y if how == 2 else x >= y)
    if v.tape.recorder is not None:
        _note_value_compare(v, other, how, r)
    return r


include "_grad_mode.pxi"
include "_tensor_more.pxi"
include "_tensor.pxi"
include "_tensor_ops.pxi"
include "_tensor_int.pxi"
include "_tensor_index.pxi"
include "_tensor_act.pxi"
include "_tensor_norm.pxi"   # issue 12 item 4: batch / layer norm nodes
include "_grad_fn.pxi"
include "_optim.pxi"
include "_replay.pxi"
include "_higher.pxi"
include "_graph_rules_c.pxi"   # generated from tools/ops.py
include "_higher_sweep.pxi"
include "_function.pxi"   # custom autograd.Function calls

from operator import index as _operator_index
from ._dtype import DtypeError, NoTensorError, check_fill_value, unsupported_array
_INT64_LIMIT = 2 ** 63
from ._dtype import double as _dtype_double, float as _dtype_float, long as _dtype_long


# ----------------------------------------------------------------------------
# Value

# Values are made and die by the million: csrc/tg_value.h allocates them (with
# its own freelist), attaches them to their nodes and releases them, and takes the
# common cases of the arithmetic operators before the methods below.
cdef extern from "tg_value.h":
    object tg_value_push(object tape, tg_tape *t, uint8_t op, tg_index a, tg_index b,
                         double c, double value)
    object tg_value_attach(object tape, tg_tape *t, tg_index index)
    bint tg_value_ready(object v)
    object tg_value_unary(uint8_t op, object v, double c)
    PyObject *tg_value_of_index(tg_index *field)
    int tg_value_install(PyTypeObject *type, PyObject *probe, Py_ssize_t t_offset,
                         Py_ssize_t index_offset) except -1


@cython.no_gc
@cython.final
cdef class Value:
    """A scalar that records the operations applied to it (micrograd's API).

    ``Value(data)`` creates a leaf; arithmetic and the methods below record
    intermediate nodes; ``backward()`` fills ``.grad`` by reverse mode.
    """

    __array_ufunc__ = None   # numpy scalars on the left defer to our reflected ops

    def __cinit__(self):
        self.index = TG_UNSET

    def __init__(self, data):
        if self.index != TG_UNSET:
            raise TypeError("Value is already initialised")
        _attach_value(self, _current_tape(), _as_real(data, "Value() data"))

    @property
    def data(self):
        _check(self)
        if self.tape.recorder is not None:
            _note_value_read(self)
        return self.t.value[self.index]

    @data.setter
    def data(self, x):
        cdef double v = _as_real(x, "Value.data")
        if _recordings_active:
            _refuse_while_recording("setting Value.data")
        _check(self)
        self.t.value[self.index] = v

    @property
    def grad(self):
        _check(self)
        if _value_graph_grads:          # after backward(create_graph=True)
            return _value_graph_grad(self)
        return self.t.grad[self.index]

    @grad.setter
    def grad(self, g):
        cdef double v = _as_real(g, "Value.grad")
        if _recordings_active:
            _refuse_while_recording("setting Value.grad")
        _check(self)
        self.t.grad[self.index] = v
        if _value_graph_grads:
            _value_graph_grads.pop(<size_t>self.t + <size_t>self.index, None)

    @property
    def _op(self):
        """micrograd's op label ('' for a leaf, '**2' for x ** 2)."""
        _check(self)
        return value_op_label(OPS[self.t.op[self.index]], self.t.c[self.index])

    @property
    def _prev(self):
        """micrograd's set of parent Values (empty for a leaf)."""
        return {p for p in self._inputs()[1] if type(p) is Value}

    def _inputs(self):
        """(op, operands, c): the ``_ops.Op`` that made this Value, its operands in
        recording order (the Value parents; for dot, x0, w0, x1, w1, ... with constant
        operands as floats) and the constant operand. Read by ``tapegrad.draw``."""
        _check(self)
        cdef tg_tape *t = self.t
        cdef tg_index i = self.index, k
        cdef uint8_t op = t.op[i]
        cdef list operands = []
        if op == TG_SUM or op == TG_DOT:
            for k in range(t.a[i], t.a[i] + t.b[i]):
                if t.args[k].index >= 0:
                    operands.append(_node_handle(self.tape, t.args[k].index))
                elif op == TG_DOT:
                    operands.append(t.args[k].constant)
        elif op != TG_LEAF:
            operands.append(_node_handle(self.tape, t.a[i]))
            if t.b[i] >= 0:
                operands.append(_node_handle(self.tape, t.b[i]))
        return OPS[op], tuple(operands), t.c[i]

    def backward(self, create_graph=False):
        """Reverse sweep from this Value: leaf grads accumulate, intermediates are reset.
        create_graph=True: each leaf's .grad becomes a Value with history."""
        _check(self)
        if create_graph:
            return _value_backward_recorded(self)
        cdef _Tape tape = self.tape
        _check_idle(tape)
        _refuse_backward_while_recording(tape)
        cdef tg_index root = self.index
        if root - tape.t.low[root] < NOGIL_MIN_NODES:  # leaves: low is huge, negative span
            tg_tape_backward(&tape.t, root)
            return
        _sweep_begin(tape)
        try:
            with nogil:
                tg_tape_backward(&tape.t, root)
        finally:
            _sweep_end(tape)

    # -- arithmetic ---------------------------------------------------------

    def __add__(self, other):
        cdef double c
        if type(other) is Value:
            return _binop(TG_ADD, self, <Value>other)
        if _real(other, &c):
            return _unop(TG_ADD_CONST, self, c)
        return NotImplemented

    def __radd__(self, other):
        cdef double c
        if _real(other, &c):
            return _unop(TG_ADD_CONST, self, c)
        return NotImplemented

    def __sub__(self, other):
        cdef double c
        if type(other) is Value:
            return _binop(TG_SUB, self, <Value>other)
        if _real(other, &c):
            return _unop(TG_ADD_CONST, self, -c)
        return NotImplemented

    def __rsub__(self, other):
        cdef double c
        if _real(other, &c):
            return _unop(TG_RSUB_CONST, self, c)
        return NotImplemented

    def __mul__(self, other):
        cdef double c
        if type(other) is Value:
            return _binop(TG_MUL, self, <Value>other)
        if _real(other, &c):
            return _unop(TG_MUL_CONST, self, c)
        return NotImplemented

    def __rmul__(self, other):
        cdef double c
        if _real(other, &c):
            return _unop(TG_MUL_CONST, self, c)
        return NotImplemented

    def __truediv__(self, other):
        cdef double c
        if type(other) is Value:
            return _binop(TG_DIV, self, <Value>other)
        if _real(other, &c):
            return _unop(TG_DIV_CONST, self, c)
        return NotImplemented

    def __rtruediv__(self, other):
        cdef double c
        if _real(other, &c):
            return _unop(TG_RDIV_CONST, self, c)
        return NotImplemented

    def __pow__(self, other, mod):
        cdef double c
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if type(other) is Value:
            return _binop(TG_POW, self, <Value>other)
        if _real(other, &c):
            return _unop(TG_POW_CONST, self, c)
        return NotImplemented

    def __rpow__(self, other, mod):
        cdef double c
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if _real(other, &c):
            return _unop(TG_RPOW_CONST, self, c)
        return NotImplemented

    def __neg__(self):
        return _unop(TG_NEG, self, 0.0)

    # Plain C methods (binding=False), which CPython calls without a function object
    # in between; the clinic format gives them a signature (self, /) for inspect.
    @cython.binding(False)
    @cython.embedsignature.format("clinic")
    def exp(self):
        return _unop(TG_EXP, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature.format("clinic")
    def log(self):
        return _unop(TG_LOG, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature.format("clinic")
    def tanh(self):
        return _unop(TG_TANH, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature.format("clinic")
    def relu(self):
        return _unop(TG_RELU, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature.format("clinic")
    def sigmoid(self):
        return _unop(TG_SIGMOID, self, 0.0)

    # -- comparisons and conversions ----------------------------------------

    def __lt__(self, other):
        return _value_compare(self, other, 0)

    def __le__(self, other):
        return _value_compare(self, other, 1)

    def __gt__(self, other):
        return _value_compare(self, other, 2)

    def __ge__(self, other):
        return _value_compare(self, other, 3)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __hash__(self):
        return object.__hash__(self)

    def __float__(self):
        return self.data

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self):
        from .serialization import _reduce_value      # (serialization imports the engines)
        return _reduce_value(self)


cdef _install_value_fast_paths():
    cdef Value probe = Value.__new__(Value)
    cdef char *base = <char *><PyObject *>probe
    tg_value_install(<PyTypeObject *>Value, <PyObject *>probe, <char *>&probe.t - base,
                     <char *>&probe.index - base)


_install_value_fast_paths()


# dtype aliases named like Python builtins, set after compilation so that this
# module's own float(...) and bool(...) stay Python's
globals().update(float=_dtype_float, double=_dtype_double, long=_dtype_long)

# The user-facing grad mode, shared with the reference (it drives _set_grad_off /
# _grad_off above in every loaded engine). Imported last: tapegrad.autograd imports
# tapegrad._backend, which must not see a half-built engine.
from .autograd.grad_mode import (
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled)
from . import _backend as _backend_module
_backend_module.engine_imported()     # grad mode switches this engine too from now on
del _backend_module

globals().update(_FM.functions(_sys_more.modules[__name__]))   # issue 11 item 5
