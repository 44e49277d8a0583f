"""Tensor ops of the reference engine: recording and the backward sweep.

``_result`` records an op on its output tensor (the op's name, a key of the
generated ``_rules.RULES``, its parents, saved arrays and constants); the
``Tensor`` methods for arithmetic, elementwise math, reductions, matrix products,
shapes and indexing (``_TensorOps``, attached to ``Tensor`` by ``_tensor``), the
one-node functions the nn layer uses (losses, ``addmm``), and ``_sweep``: the
reverse pass that applies each node's rule and accumulates into the leaves.
"""

import builtins

import numpy as np

from .._dtype import (
    DIM, SCALAR, SCALAR_TYPE_NAMES, ZERO_DIM, no_kernel, Size, bool_, dtype, promote_types,
    result_type, scalar_dtype)
from .._grad_mode import _state as _grad_state
from .. import _format
from .._format import UNUSED_INPUT, invalid_gradient
from .._freed import FreedSaved, raise_freed
from .._grad_fn_names import HOLDS_SAVED
from ._derivatives import OUT as _OUT, exp_array
from .. import _integral, _functions_more as _FM
from .._index_plan import int_index
from . import _function
from ._rules import RULES
from ._value import _local as _tapes
from ._tensor import (
    _C_NAMES, _NUMBER, _TORCH_NAMES, Tensor, _as_dtype, _check_live, _bmax, _bsum, _dims, _dtype_of,
    _DtypeError, _infer_shape, _next_seq, _shape_str, _size_args, _wrap, _wrap_dim,
    _wrap_view, tensor)
from ._tensor_math import _fsum, _pow_scalar_array, _sum_to

def _result(data, op, inputs, ctx=None, view_of=None):
    """The output of op: a Tensor around ``data`` that records op when grad mode
    is on and an input requires grad. ``inputs`` are Tensors or None (a Python
    number); ``view_of`` is the tensor whose memory ``data`` shares."""
    for p in inputs:
        if p is not None and p._tape is not None:
            _check_live(p)
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    out = _wrap(data)
    if view_of is not None:
        out._vbox = view_of._vbox           # views share the version counter
        out._base = view_of if view_of._base is None else view_of._base
    if _grad_state.off:
        return out
    for p in inputs:
        if p is not None and p._requires_grad:
            break
    else:
        return out
    rule = RULES[op]
    out._requires_grad = True
    out._op = op
    out._parents = tuple(p if p is not None and p._requires_grad else None for p in inputs)
    # (shape, dtype) of the output and of each parent as recorded: a later `.data =` of
    # another layout makes backward raise (_check_layout) instead of reshaping gradients
    out._layouts = ((data.shape, data.dtype),) + tuple(
        None if p is None else (p._data.shape, p._data.dtype) for p in out._parents)
    out._ctx = ctx
    out._seq = _next_seq()
    out._tape = _tapes.tape
    if rule.save:
        saved = []
        checks = []
        for i in rule.save:
            if i == _OUT:
                saved.append(data)
                checks.append((out._vbox, out._vbox[0], None))
            else:
                p = inputs[i]
                saved.append(p._data)
                checks.append((p._vbox, p._vbox[0], p))
        out._saved = tuple(saved)
        out._checks = tuple(checks)
    return out


# ----------------------------------------------------------------------------
# Operands

def _integral_arith(x, other, op, reflected):
    """x op other (other op x when reflected) for an int64/bool tensor x, by the rules
    both engines share (tapegrad._integral); a floating result records as usual."""
    if isinstance(other, np.ndarray):
        other = tensor(other)
    if isinstance(other, Tensor):
        b, b_dt, b_prio = other._data, _dtype_of(other._data), _integral.priority(other._data.ndim)
    elif isinstance(other, _NUMBER) and not isinstance(other, complex):
        b, b_dt, b_prio = other, scalar_dtype(other), _integral.SCALAR
    else:
        return NotImplemented
    data, dt = _integral.binary(op, x._data, _dtype_of(x._data), b, b_dt, b_prio, reflected)
    if data is not None:
        return _wrap(np.asarray(data))
    xf = x.to(dt)
    if isinstance(other, Tensor) and _dtype_of(other._data) is not dt:
        other = other.to(dt)
    fn = _integral.PY_OPS[op]
    return fn(other, xf) if reflected else fn(xf, other)

def _operand_priority(t):
    return DIM if t._data.ndim else ZERO_DIM


def _common(a, b):
    """(x, y, b_tensor, dt): a (a Tensor) and b (a Tensor or a number) as numpy
    operands of torch's result dtype; None if b is not an operand."""
    if isinstance(b, Tensor):
        da, db = _dtype_of(a._data), _dtype_of(b._data)
        if da is db:
            return a._data, b._data, b, da
        dt = result_type([(da, _operand_priority(a)), (db, _operand_priority(b))])
        x = a._data if da is dt else a._data.astype(dt.numpy)
        y = b._data if db is dt else b._data.astype(dt.numpy)
        return x, y, b, dt
    if isinstance(b, _NUMBER) and not isinstance(b, complex):
        da = _dtype_of(a._data)
        if da.is_floating_point:
            dt = da
        else:
            dt = result_type([(da, DIM), (scalar_dtype(b), SCALAR)])
        x = a._data if da is dt else a._data.astype(dt.numpy)
        return x, dt.numpy.type(b), None, dt
    if isinstance(b, np.ndarray):
        return _common(a, tensor(b))
    return None


def _broadcast_error(op, x, y):
    return _format.broadcast_error(op, getattr(x, "shape", x), getattr(y, "shape", y))


_NO_DIM = object()      # softmax() called without dim (torch: a TypeError)


class _ReturnType(tuple):
    """(values, indices), printed like torch.return_types.max."""

    __slots__ = ()
    _name = ""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return (f"tapegrad.return_types.{self._name}(\nvalues={self[0]!r},\n"
                f"indices={self[1]!r})")


class max_return(_ReturnType):
    _name = "max"


class min_return(_ReturnType):
    _name = "min"


# ----------------------------------------------------------------------------
# The op methods of Tensor (copied onto Tensor by _tensor; self is a Tensor)

class _TensorOps:
    """Tensor's op methods, kept apart from its storage and autograd state."""

    # -- arithmetic -----------------------------------------------------------------

    def _arith(self, other, op, fn, reverse=False):
        if self._data.dtype.kind != "f":
            return _integral_arith(self, other, op, reverse)
        c = _common(self, other)
        if c is None:
            return NotImplemented
        x, y, b, dt = c                      # (self is floating: so is dt)
        try:
            with np.errstate(all="ignore"):
                data = fn(y, x) if reverse else fn(x, y)
        except ValueError:
            raise (_broadcast_error(op, y, x) if reverse else _broadcast_error(op, x, y)) \
                from None
        if b is None:
            return _result(data, op + "_scalar", (self, None), y)
        return _result(data, op, (b, self) if reverse else (self, b))   # b: other as a Tensor

    def __add__(self, other):
        return self._arith(other, "add", np.add)

    def __radd__(self, other):
        if isinstance(other, np.ndarray):      # torch: ndarray + tensor is a TypeError
            return NotImplemented
        return self._arith(other, "add", np.add, reverse=isinstance(other, Tensor))

    def __sub__(self, other):
        return self._arith(other, "sub", np.subtract)

    def __rsub__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        if self._data.dtype.kind != "f":
            return _integral_arith(self, other, "sub", True)
        if isinstance(other, Tensor):
            return other._arith(self, "sub", np.subtract)
        c = _common(self, other)
        if c is None:
            return NotImplemented
        x, y, _, dt = c
        with np.errstate(all="ignore"):
            return _result(np.subtract(y, x), "rsub", (self,), y)

    def __mul__(self, other):
        return self._arith(other, "mul", np.multiply)

    def __rmul__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self._arith(other, "mul", np.multiply, reverse=isinstance(other, Tensor))

    def __truediv__(self, other):
        return self._arith(other, "div", np.true_divide)

    def __rtruediv__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        if self._data.dtype.kind != "f":
            return _integral_arith(self, other, "div", True)
        if isinstance(other, Tensor):
            return other._arith(self, "div", np.true_divide)
        if _common(self, other) is None:
            return NotImplemented
        return self.reciprocal() * other      # torch computes number / x this way

    def reciprocal(self):
        x = self._data
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        with np.errstate(all="ignore"):
            return _result(x.dtype.type(1) / x, "reciprocal", (self,))

    def __pow__(self, other, mod=None):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for tensors")
        if self._data.dtype.kind != "f":
            return _integral_arith(self, other, "pow", False)
        if isinstance(other, Tensor):
            c = _common(self, other)
            x, y, _, dt = c
            if dt is bool_:
                raise NotImplementedError('"pow" not implemented for \'Bool\'')
            if not dt.is_floating_point and np.any(y < 0):
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            try:
                with np.errstate(all="ignore"):
                    data = np.power(x, y)
            except ValueError:
                raise _broadcast_error("pow", x, y) from None
            return _result(data, "pow", (self, other))
        if not isinstance(other, _NUMBER) or isinstance(other, complex):
            return NotImplemented
        x = self._data
        if x.dtype.kind != "f":
            if isinstance(other, (float, np.floating)):
                x = x.astype(np.float32)
            elif other < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            else:
                return _wrap(np.power(x, np.int64(other)))
        with np.errstate(all="ignore"):
            data = _pow_scalar_array(x, other)
        return _result(data, "pow_scalar", (self,), other)

    def __rpow__(self, other, mod=None):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for tensors")
        if isinstance(other, np.ndarray):
            return NotImplemented
        if self._data.dtype.kind != "f" and not isinstance(other, Tensor):
            return _integral_arith(self, other, "pow", True)
        if isinstance(other, Tensor):
            return other.__pow__(self)
        c = _common(self, other)
        if c is None:
            return NotImplemented
        x, y, _, dt = c
        with np.errstate(all="ignore"):
            data = np.ones_like(x) if other == 1 else np.power(y, x)
        return _result(data, "rpow", (self,), builtins.float(other))

    def pow(self, exponent):
        return self.__pow__(exponent)

    def __neg__(self):
        if self._data.dtype.kind != "f":
            return _wrap(_integral.unary("neg", self._data, _dtype_of(self._data)))
        return _result(-self._data, "neg", (self,))

    def __abs__(self):
        return self.abs()

    def __pos__(self):
        return self

    # -- comparisons (bool tensors, no gradient) ------------------------------------

    def _compare(self, other, fn):
        if isinstance(other, np.ndarray) and fn is not np.equal:
            return NotImplemented          # torch: == converts an ndarray, the others do not
        c = _common(self, other)
        if c is None:
            return NotImplemented
        x, y, _, _ = c
        try:
            return _wrap(np.asarray(fn(x, y)))
        except ValueError:
            raise _broadcast_error("comparison", x, y) from None

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    # -- elementwise math -------------------------------------------------------------

    def _unary(self, op, fn, float_only=True):
        x = self._data
        if float_only and x.dtype.kind != "f":
            x = x.astype(np.float32)
        with np.errstate(all="ignore"):
            return _result(fn(x), op, (self,))

    def exp(self):
        return self._unary("exp", exp_array)

    def log(self):
        return self._unary("log", np.log)

    def tanh(self):
        return self._unary("tanh", np.tanh)

    def sigmoid(self):
        one = self._data.dtype.type(1) if self._data.dtype.kind == "f" else np.float32(1)
        return self._unary("sigmoid", lambda x: one / (one + np.exp(-x)))

    def relu(self):
        x = self._data
        if x.dtype.kind != "f":
            return _wrap(_integral.unary("relu", x, _dtype_of(x)))
        return _result(np.where(x < 0, x.dtype.type(0), x), "relu", (self,))   # nan stays

    def abs(self):
        if self._data.dtype.kind != "f":
            return _wrap(_integral.unary("abs", self._data, _dtype_of(self._data)))
        return self._unary("abs", np.abs, float_only=False)

    def sqrt(self):
        return self._unary("sqrt", np.sqrt)

    def clamp(self, min=None, max=None):
        """Limit the values to [min, max] (either may be None)."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _FM.clamp_tensors(self, min, max)
        x = self._data
        if x.dtype.kind != "f":
            res = _integral.clamp_dtype(_dtype_of(x), x.ndim, min, max)
            if res.is_floating_point:
                return self.to(res).clamp(min, max)
            return _wrap(np.clip(x.astype(res.numpy), min, max))
        dt = x.dtype.type
        lo = None if min is None else dt(min)
        hi = None if max is None else dt(max)
        out = x
        if lo is not None:
            out = np.where(out < lo, lo, out)      # nan stays nan, as in torch
        if hi is not None:
            out = np.where(out > hi, hi, out)
        if out is x:
            out = x.copy()
        return _result(out.astype(x.dtype), "clamp", (self,), (lo, hi))

    def clamp_min(self, min):
        out = self.clamp(min=min)
        if out._op is not None and not isinstance(min, Tensor):
            out._op = "clamp_min"
        return out

    def clamp_max(self, max):
        out = self.clamp(max=max)
        if out._op is not None and not isinstance(max, Tensor):
            out._op = "clamp_max"
        return out

    clip = clamp

    # -- reductions -----------------------------------------------------------------

    def sum(self, dim=None, keepdim=False, dtype=None):
        """Sum of all elements, or over dim (an int or a tuple of ints)."""
        x = self._data
        if dtype is not None:
            x = x.astype(_as_dtype(dtype).numpy)
        elif x.dtype.kind in "biu":            # torch sums every integral dtype in int64
            x = x.astype(np.int64)
        if dim is None:
            return _result(_fsum(x), "sum", (self,), x.shape)
        dims = _reduce_dims(dim, x.ndim)
        return _result(_fsum(x, dims, keepdim), "sum_dim", (self,), (x.shape, dims, keepdim))

    def mean(self, dim=None, keepdim=False, dtype=None):
        """Mean of all elements, or over dim (an int or a tuple of ints)."""
        x = self._data
        if dtype is not None:
            x = x.astype(_as_dtype(dtype).numpy)
        if x.dtype.kind != "f":
            raise _DtypeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_TORCH_NAMES[_dtype_of(x).name]}")
        if dim is None:
            n = x.size
            with np.errstate(all="ignore"):
                out = _fsum(x) / x.dtype.type(n)
            return _result(out, "mean", (self,), (x.shape, n))
        dims = _reduce_dims(dim, x.ndim)
        n = 1
        for d in dims:
            n *= x.shape[d]
        with np.errstate(all="ignore"):
            out = _fsum(x, dims, keepdim) / x.dtype.type(n)
        return _result(out, "mean_dim", (self,), (x.shape, dims, keepdim, n))

    def _extreme(self, name, dim, keepdim, reduce, arg):
        x = self._data
        if isinstance(dim, Tensor):        # torch.max(a, b): elementwise
            return self.maximum(dim) if name == "max" else self.minimum(dim)
        if dim is None:
            if x.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the "
                                   "'dim' argument.")
            return _result(reduce(x), name, (self,))
        d = _wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            idx = np.zeros((), dtype=np.int64)
            values = _result(x.copy(), name + "_dim", (self,), ((), 0, True, idx))
            return (max_return if name == "max" else min_return)(values, _wrap(idx))
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        idx = arg(x, axis=d)
        vals = np.take_along_axis(x, np.expand_dims(idx, d), axis=d)
        if not keepdim:
            vals = np.squeeze(vals, d)
        else:
            idx = np.expand_dims(idx, d)
        idx = idx.astype(np.int64)
        values = _result(vals, name + "_dim", (self,), (x.shape, d, keepdim, idx))
        return (max_return if name == "max" else min_return)(values, _wrap(idx))

    def max(self, dim=None, keepdim=False):
        """Largest element (0-d), or (values, indices) along dim."""
        return self._extreme("max", dim, keepdim, np.max, np.argmax)

    def min(self, dim=None, keepdim=False):
        """Smallest element (0-d), or (values, indices) along dim."""
        return self._extreme("min", dim, keepdim, np.min, np.argmin)

    def softmax(self, dim=_NO_DIM, dtype=None):
        """exp(x) / sum(exp(x)) along dim, computed stably (dim=None: torch's legacy
        implicit dim, what F.softmax(x) uses)."""
        if dim is _NO_DIM:
            raise TypeError('softmax() missing 1 required positional arguments: "dim"')
        x = self._float_data(dtype)
        d = _softmax_dim(dim, x.ndim)
        if x.ndim == 0 or x.size == 0:             # exp(x - x): 1, or nan for nan and inf
            with np.errstate(all="ignore"):
                out = np.exp(x - x)
            return _result(out, "softmax", (self,), d if x.ndim else None)
        with np.errstate(all="ignore"):
            e = np.exp(x - np.max(x, axis=d, keepdims=True))
            out = e / _fsum(e, d, keepdims=True)
        return _result(out, "softmax", (self,), d)

    def log_softmax(self, dim=_NO_DIM, dtype=None):
        """log(softmax(x)) along dim, computed stably."""
        if dim is _NO_DIM:
            raise TypeError('log_softmax() missing 1 required positional arguments: "dim"')
        x = self._float_data(dtype)
        d = _softmax_dim(dim, x.ndim)
        if x.ndim == 0 or x.size == 0:             # x - x: 0, or nan for nan and inf
            with np.errstate(all="ignore"):
                out = x - x
            return _result(out, "log_softmax", (self,), d if x.ndim else None)
        with np.errstate(all="ignore"):
            shifted = x - np.max(x, axis=d, keepdims=True)
            out = shifted - np.log(_fsum(np.exp(shifted), d, keepdims=True))
        return _result(out, "log_softmax", (self,), d)

    def _float_data(self, dtype):
        """softmax's operand: in dtype if given; torch has no integer kernel otherwise."""
        x = self._data
        if dtype is not None:
            return x.astype(_as_dtype(dtype).numpy)
        if x.dtype.kind != "f":
            raise no_kernel("softmax", _dtype_of(x))
        return x

    # -- matrix products -----------------------------------------------------------

    def _check_matmul_dtypes(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"expected Tensor as element 1 in argument 0, but got "
                            f"{type(other).__name__}")
        if self._data.dtype != other._data.dtype:
            raise _DtypeError(f"expected m1 and m2 to have the same dtype, but got: "
                              f"{_C_NAMES[self.dtype.name]} != {_C_NAMES[other.dtype.name]}")
        if self.dtype is bool_:
            raise no_kernel("addmm_impl_cpu_", bool_)

    def dot(self, other):
        """Inner product of two 1-D tensors (0-d result)."""
        self._check_matmul_dtypes(other)
        x, y = self._data, other._data
        if x.ndim != 1 or y.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors")
        if x.shape[0] != y.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{x.shape[0]}] and "
                               f"src [{y.shape[0]}] to have the same number of elements, but "
                               f"got {x.shape[0]} and {y.shape[0]} elements respectively")
        return _result(np.asarray(np.dot(x, y)), "dot", (self, other))

    def mm(self, other):
        """Matrix product of two 2-D tensors."""
        self._check_matmul_dtypes(other)
        x, y = self._data, other._data
        if x.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if y.ndim != 2:
            raise RuntimeError("mat2 must be a matrix")
        if x.shape[1] != y.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({x.shape[0]}x{x.shape[1]} and {y.shape[0]}x{y.shape[1]})")
        return _result(x @ y, "mm", (self, other))

    def bmm(self, mat2):
        """Batched matrix product: (b, n, k) @ (b, k, m)."""
        if not isinstance(mat2, Tensor):
            raise TypeError(f"bmm(): argument 'mat2' must be Tensor, not {type(mat2).__name__}")
        self._check_matmul_dtypes(mat2)
        x, y = self._data, mat2._data
        if x.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if y.ndim != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        if y.shape[0] != x.shape[0] or y.shape[1] != x.shape[2]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{x.shape[0]}, {x.shape[2]}] but got: [{y.shape[0]}, "
                               f"{y.shape[1]}].")
        return _result(np.matmul(x, y), "bmm", (self, mat2))

    def mv(self, vec):
        """Matrix-vector product."""
        self._check_matmul_dtypes(vec)
        m, v = self._data, vec._data
        if m.ndim != 2 or v.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {m.ndim}, {v.ndim}")
        if m.shape[1] != v.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({m.shape[0]}), mat "
                               f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
        return _result(m @ v, "mv", (self, vec))

    def matmul(self, other):
        """torch.matmul: dot, mv, mm or a batched product, by the operands' ranks."""
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        a, b = self._data.ndim, other._data.ndim
        if a == 0 or b == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they "
                               f"are {a}D and {b}D")
        if a == 1 and b == 1:
            return self.dot(other)
        if a == 2 and b == 2:
            return self.mm(other)
        if a == 2 and b == 1:
            return self.mv(other)
        if a == 1 and b == 2:                  # torch: unsqueeze, mm, squeeze
            r = self.unsqueeze(0).mm(other)
            return _result(r._data.reshape(r._data.shape[1:]), "squeeze_mm", (r,),
                           r._data.shape, view_of=r)
        self._check_matmul_dtypes(other)
        x, y = self._data, other._data
        if a >= 3 and b <= 2:                  # fold the batch into the rows of one mm / mv
            flat = self.reshape(-1, x.shape[-1])
            r = flat.mv(other) if b == 1 else flat.mm(other)
            return r._unsafe_view(x.shape[:-1] + y.shape[1:])
        if a == 1:                             # (k,) @ (..., k, m) = (..., m, k) @ (k,)
            return other.transpose(-1, -2).matmul(self)
        n, k = x.shape[-2:]
        k2, m = y.shape[-2:]
        try:
            batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise _broadcast_error("matmul", x.shape[:-2], y.shape[:-2]) from None
        if k != k2:
            nb = int(np.prod(batch))
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{nb}, {k}] but got: [{nb}, {k2}].")
        a3 = self.expand(batch + (n, k)).reshape(-1, n, k)
        b3 = other.expand(batch + (k, m)).reshape(-1, k, m)
        return a3.bmm(b3)._unsafe_view(batch + (n, m))

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return self.matmul(other)

    def __rmatmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return other.matmul(self)

    # -- shapes (views share memory and the version counter) -------------------------

    def _view_result(self, data, op, ctx):
        return _result(data, op, (self,), ctx, view_of=self)

    def reshape(self, *shape):
        shape = _infer_shape(_size_args(shape, "shape"), self._data.size)
        data = self._data.view()
        try:
            data.shape = shape                 # a view when the strides allow it
        except AttributeError:
            c = self.clone()                   # else torch copies: Clone, then UnsafeView
            return c._unsafe_view(shape)
        return self._view_result(data, "view", self._data.shape)

    def _unsafe_view(self, shape):
        return self._view_result(self._data.reshape(shape), "unsafe_view", self._data.shape)

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (dtype, type)):
            raise NotImplementedError("tapegrad: view(dtype) is not supported")
        shape = _infer_shape(_size_args(shape, "shape"), self._data.size)
        data = self._data.view()
        try:
            data.shape = shape
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and "
                               "stride (at least one dimension spans across two contiguous "
                               "subspaces). Use .reshape(...) instead.") from None
        return self._view_result(data, "view", self._data.shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        x = self._data
        if x.ndim == 0:
            return self.reshape(1)
        s = _wrap_dim(start_dim, x.ndim)
        e = _wrap_dim(end_dim, x.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self
        n = 1
        for k in range(s, e + 1):
            n *= x.shape[k]
        return self.reshape(x.shape[:s] + (n,) + x.shape[e + 1:])

    def transpose(self, dim0, dim1):
        nd = self._data.ndim
        d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
        data = self._data.view() if nd == 0 else np.swapaxes(self._data, d0, d1)
        return self._view_result(data, "transpose", (d0, d1))

    swapaxes = transpose

    def t(self):
        nd = self._data.ndim
        if nd > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
        return self._view_result(self._data.T, "t", None)

    @property
    def T(self):
        nd = self._data.ndim
        return self.permute(*range(nd - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def permute(self, *dims):
        _FM.check_lone_dims(dims, "permute")
        dims = _size_args(dims, "dims") if not (len(dims) == 1 and isinstance(
            dims[0], (tuple, list))) else tuple(dims[0])
        nd = self._data.ndim
        if len(dims) != nd:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of "
                               f"dimensions i.e. input.dim() = {nd} is not equal to "
                               f"len(dims) = {len(dims)}")
        perm = tuple(_wrap_dim(d, nd) for d in dims) if nd else ()
        if len(set(perm)) != len(perm):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return self._view_result(np.transpose(self._data, perm), "permute", perm)

    def unsqueeze(self, dim):
        nd = self._data.ndim
        d = _wrap_dim(dim, nd + 1)
        return self._view_result(np.expand_dims(self._data, d), "unsqueeze", self._data.shape)

    def squeeze(self, dim=None):
        x = self._data
        if dim is None:
            return self._view_result(x.reshape(tuple(s for s in x.shape if s != 1)),
                                     "squeeze", x.shape)
        dims = _dims(dim, x.ndim) if x.ndim else ()
        keep = tuple(s for k, s in enumerate(x.shape) if not (k in dims and s == 1))
        return self._view_result(x.reshape(keep), "squeeze_dim", x.shape)

    def expand(self, *sizes):
        sizes = _size_args(sizes, "size")
        x = self._data
        if len(sizes) < x.ndim:
            raise RuntimeError(f"expand({self.type()}{{{_shape_str(x.shape)}}}, "
                               f"size={_shape_str(sizes)}): the number of sizes provided "
                               f"({len(sizes)}) must be greater or equal to the number of "
                               f"dimensions in the tensor ({x.ndim})")
        lead = len(sizes) - x.ndim
        target = tuple(x.shape[k - lead] if (s == -1 and k >= lead) else s
                       for k, s in enumerate(sizes))
        try:
            data = np.broadcast_to(x, target)
        except ValueError:
            raise RuntimeError(f"The expanded size of the tensor ({_shape_str(target)}) must "
                               f"match the existing size ({_shape_str(x.shape)}) at "
                               f"non-singleton dimensions.") from None
        return self._view_result(data, "expand", x.shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    # -- indexing -----------------------------------------------------------------

    def __getitem__(self, key):
        steps = _basic_steps(key, self._data.shape)
        if steps is None:                      # advanced indexing: lists, arrays, tensors
            from ._tensor_index import getitem_advanced
            return getitem_advanced(self, key)
        if not steps:                          # x[:], x[...]: an alias
            return self._view_result(self._data.view(), "alias", None)
        if _grad_state.off or not self._requires_grad:
            x = self._data                     # no graph: plain numpy views
            for kind, dim, arg in steps:
                x = np.expand_dims(x, dim) if kind == "unsqueeze" else \
                    x[(slice(None),) * dim + (arg, Ellipsis)]   # 0-d: a view, not a scalar
            return _wrap_view(x, self)
        t = self                               # torch's chain of Select/Slice/Unsqueeze nodes
        for kind, dim, arg in steps:
            x = t._data
            if kind == "unsqueeze":
                t = t._view_result(np.expand_dims(x, dim), "unsqueeze", x.shape)
            else:
                index = (slice(None),) * dim + (arg,)
                t = t._view_result(x[index], kind, (x.shape, index))
        return t


def _reduce_dims(dim, ndim):
    """The dims a sum or mean over ``dim`` reduces; torch reads an empty list as all."""
    if isinstance(dim, (tuple, list)) and not dim:
        return tuple(range(ndim))
    dims = _dims(dim, ndim)         # checked on a 0-d tensor too (its dims are -1 and 0)
    return dims if ndim else ()


def _softmax_dim(dim, ndim):
    if dim is None:        # torch's legacy implicit choice (with a warning there)
        dim = 0 if ndim in (0, 1, 3) else 1
    return _wrap_dim(dim, ndim)


# ----------------------------------------------------------------------------
# Indexing helpers

def _is_int_index(k):
    if isinstance(k, (bool, np.bool_)):
        return False
    if isinstance(k, (int, np.integer)):
        return True
    return isinstance(k, Tensor) and k._data.ndim == 0 and k._data.dtype.kind in "iu"


def _basic_steps(key, shape):
    """Decompose a basic index (ints, slices, None, ...) into torch's chain of
    (kind, dim, arg) steps, with dims of the intermediate results; None for
    advanced indexing. Like torch, full slices inside a tuple are skipped, but a
    lone slice (``x[:]``) is always a slice."""
    bare_slice = isinstance(key, slice)
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, slice) or _is_int_index(k)):
            if isinstance(k, (float, np.floating)) or isinstance(k, str):
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and "
                                 "long or byte Variables are valid indices (got "
                                 f"{type(k).__name__})")
            return None
    consumed = _bsum(1 for k in key if k is not None and k is not Ellipsis)
    if _bsum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    ndim = len(shape)
    if consumed > ndim:
        if ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    steps = []
    dim = 0        # dim in the current (partially indexed) result
    src = 0        # dim in the original tensor
    for k in key:
        if k is Ellipsis:
            skip = ndim - consumed
            dim += skip
            src += skip
        elif k is None:
            steps.append(("unsqueeze", dim, None))
            dim += 1
        elif isinstance(k, slice):
            size = shape[src]
            start, stop, step = k.indices(size)
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            if bare_slice or not (start == 0 and stop == size and step == 1):
                steps.append(("slice", dim, slice(start, _bmax(stop, start), step)))
            dim += 1
            src += 1
        else:
            i = int_index(k)
            size = shape[src]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {src} with "
                                 f"size {size}")
            steps.append(("select", dim, i % size))
            src += 1
    return steps


# ----------------------------------------------------------------------------
# Backward

def _describe(t, arr, node_op):
    kind = SCALAR_TYPE_NAMES[_dtype_of(arr).name]
    desc = f"[tapegrad.{kind}Tensor {_shape_str(arr.shape)}]"
    op = node_op if t is None else t._op
    if op is not None:
        name = RULES[op].torch_name
        desc += f", which is output 0 of {name[:name.rindex('Backward')]},"
    return desc


def _check_versions(n):
    for k, (box, version, t) in enumerate(n._checks):
        if box[0] != version:
            arr = n._saved[k]
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {_describe(t, arr, n._op)} is at version {box[0]}; "
                f"expected version {version} instead. Hint: the operation that failed was "
                f"{RULES[n._op].torch_name}; modify tensors in place only after backward(), "
                "or modify a clone().")


def _seed_grad(root, gradient, k):
    """The gradient array that starts the sweep at root."""
    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return np.ones(root._data.shape, dtype=root._data.dtype)
    if not isinstance(gradient, Tensor):        # torch: a TypeError, numbers included
        raise TypeError(f"gradient must be a Tensor, not '{type(gradient).__name__}'")
    if gradient._data.shape != root._data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of "
                           f"{Size(gradient._data.shape)!r} and output[{k}] has a shape of "
                           f"{Size(root._data.shape)!r}.")
    return gradient._data.astype(root._data.dtype, copy=False)


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _layout(recorded):
    """(shape, tapegrad dtype) of a recorded (shape, numpy dtype)."""
    return recorded[0], _dtype_of(np.empty(0, recorded[1]))


def _check_layout(n, k, p):
    """Refuse, like the compiled sweep, a gradient for parent p of node n whose value
    no longer has the layout n recorded for it (a `.data =` since): a leaf's gradient
    must have its value's layout, a node's the layout it was recorded with."""
    got = n._layouts[1 + k]
    want = p._layouts[0] if p._op is not None else (p._data.shape, p._data.dtype)
    if got != want:
        raise RuntimeError(invalid_gradient(n.grad_fn.name(), k, _layout(got), _layout(want)))


def _backward(roots, gradients, inputs=None, accumulate=True, retain=False):
    """The reverse sweep from ``roots`` seeded with ``gradients``.

    accumulate=True (``backward()``): leaves' (or ``inputs``') .grad
    accumulate; retain_grad() tensors get theirs. accumulate=False
    (``autograd.grad``): nothing is stored; returns {id(input): grad array}.
    Without retain, the nodes swept that hold saved tensors are freed
    (tapegrad/_freed.py). IEEE results (inf, nan) pass silently, as in torch.
    """
    with np.errstate(all="ignore"):
        return _sweep(roots, gradients, inputs, accumulate, retain)


def _retaining(nodes, wanted, accumulate):
    """The seqs of the retain_grad() nodes whose .grad this sweep accumulates. Torch
    runs only the nodes on a path to an input (all of them without inputs), and a
    node's retain_grad hook with it; a non-leaf input of backward(inputs=) gets its
    .grad as an input instead."""
    if wanted is None:
        return {s for s, n in nodes.items() if n._retains_grad}
    leads = set()                       # seqs of the nodes an input is reachable from
    for s in sorted(nodes):             # parents first
        n = nodes[s]
        if id(n) in wanted or any(p is not None and (id(p) in wanted or (
                p._op is not None and p._seq in leads)) for p in n._parents):
            leads.add(s)
    return {s for s in leads if nodes[s]._retains_grad
            and not (accumulate and id(nodes[s]) in wanted)}


def _sweep(roots, gradients, inputs, accumulate, retain):
    pending = {}            # seq -> gradient of a non-leaf node
    leaf_grads = {}         # id(leaf) -> [leaf, gradient]
    nodes = {}              # seq -> non-leaf tensor
    stack = []
    for k, (r, g) in enumerate(zip(roots, gradients)):
        if not isinstance(r, Tensor):
            raise TypeError(f"backward(): expected a Tensor, not '{type(r).__name__}'")
        if not r._requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not "
                               "have a grad_fn")
        g = _seed_grad(r, g, k)
        if r._op is not None:           # the layout recorded (.data may have changed)
            shape, dt = r._layouts[0]
            if gradients[k] is None and g.size == 1 and _prod(shape) == 1:
                g = g.reshape(shape)    # the implicit seed fits any one-element root
            if g.shape != shape:
                raise RuntimeError(invalid_gradient(None, 0, (g.shape, _dtype_of(g)),
                                                    _layout(r._layouts[0])))
            g = g.astype(dt, copy=False)
        if r._op is None:
            entry = leaf_grads.get(id(r))
            if entry is None:
                leaf_grads[id(r)] = [r, g]
            else:
                entry[1] = entry[1] + g
        else:
            s = r._seq
            pending[s] = pending[s] + g if s in pending else g
            if s not in nodes:
                nodes[s] = r
                stack.append(r)

    # 1. Every non-leaf node the roots depend on (iterative: no recursion limit).
    while stack:
        n = stack.pop()
        for p in n._parents:
            if p is not None and p._op is not None and p._seq not in nodes:
                nodes[p._seq] = p
                stack.append(p)

    wanted = None if inputs is None else {id(t): t for t in inputs}
    captured = {}
    retaining = _retaining(nodes, wanted, accumulate)

    # 2. Children before parents: decreasing creation numbers.
    for s in sorted(nodes, reverse=True):
        g = pending.pop(s, None)
        if g is None:
            continue
        n = nodes[s]
        if _function.HOOKS:             # register_hook(): before retain_grad and backward
            g = _function.hooked(n, g)
        if wanted is not None and id(n) in wanted:
            captured[id(n)] = g
        if s in retaining:
            n._grad = _wrap(np.array(g, copy=True)) if n._grad is None \
                else _wrap(n._grad._data + g)
        if type(n._saved) is FreedSaved:    # freed by a sweep without retain_graph
            raise_freed()
        parents = n._parents
        if n._op in _function.OPS:      # a custom Function's output or call
            grads = _function.sweep_step(n, g, pending)
            if grads is None:
                continue
        else:
            if n._checks:
                _check_versions(n)
            for k, p in enumerate(parents):
                if p is not None:
                    _check_layout(n, k, p)
            grads = RULES[n._op].backward(g, n._saved, n._ctx, parents)
            if not retain and n._op in HOLDS_SAVED:
                n._saved = FreedSaved(n._saved)
        for k, (p, gp) in enumerate(zip(parents, grads)):
            if p is None or gp is None:
                continue
            shape, dt = n._layouts[1 + k]
            if gp.shape != shape:
                gp = _sum_to(gp, shape)
            if gp.dtype != dt:
                gp = gp.astype(dt)
            if p._op is None:
                entry = leaf_grads.get(id(p))
                if entry is None:
                    leaf_grads[id(p)] = [p, gp]
                else:
                    entry[1] = entry[1] + gp
            else:
                ps = p._seq
                pending[ps] = pending[ps] + gp if ps in pending else gp

    if _function.HOOKS:                 # leaves' hooks, before accumulation
        for entry in leaf_grads.values():
            entry[1] = _function.hooked(entry[0], entry[1])
    if not accumulate:
        for key, (_leaf, g) in leaf_grads.items():
            if key in wanted:
                captured[key] = g
        return captured

    for leaf, g in leaf_grads.values():
        if wanted is not None and id(leaf) not in wanted:
            continue
        if leaf._grad is None:
            leaf._grad = _wrap(np.array(g, dtype=leaf._data.dtype, copy=True))
        else:
            gd = leaf._grad._data
            if gd.flags.writeable:
                np.add(gd, g, out=gd, casting="unsafe")
            else:
                leaf._grad = _wrap(gd + g)
    if wanted is not None:       # non-leaf inputs get .grad too (torch's backward(inputs=))
        for key, g in captured.items():
            t = wanted[key]
            t._grad = _wrap(np.array(g, copy=True)) if t._grad is None \
                else _wrap(t._grad._data + g)
    return None


def _grad(outputs, inputs, grad_outputs=None, allow_unused=False, retain_graph=False):
    """autograd.grad's engine hook: d(outputs)/d(inputs) as a tuple of Tensors
    (None for an unused input when allow_unused), accumulating nothing."""
    outputs = list(outputs)
    inputs = list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, not '{type(t).__name__}'")
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    captured = _backward(outputs, list(grad_outputs), inputs=inputs, accumulate=False,
                         retain=retain_graph)
    result = []
    for t in inputs:
        g = captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(UNUSED_INPUT)
            result.append(None)
        else:
            result.append(_wrap(np.array(g, dtype=t._data.dtype, copy=True)))
    return tuple(result)


def _run_backward(tensors, grad_tensors=None, inputs=None, retain_graph=False):
    """autograd.backward's engine hook: one sweep from several roots."""
    tensors = list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    _backward(tensors, list(grad_tensors), inputs=inputs, retain=retain_graph)


# ----------------------------------------------------------------------------
# Graph-level functions used by nn.functional (one node each, like torch)

def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _mse_loss(input, target, reduction="mean"):
    """torch's mse_loss: one MseLossBackward0 node (operands broadcast)."""
    _check_reduction(reduction)
    x, t = input._data, target._data
    dt = promote_types(_dtype_of(x), _dtype_of(t))
    try:
        xb, tb = np.broadcast_arrays(x.astype(dt.numpy, copy=False),
                                     t.astype(dt.numpy, copy=False))
    except ValueError:
        raise _broadcast_error("mse_loss", x, t) from None
    diff = xb - tb
    sq = diff * diff
    if reduction == "none":
        out = sq
    else:
        out = _fsum(sq)
        if reduction == "mean":
            out = out / sq.dtype.type(sq.size)
    return _result(out, "mse_loss", (input, target), reduction)


def _nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """torch's nll_loss on log-probabilities (N, C) or (C,): one NllLossBackward0 node."""
    _check_reduction(reduction)
    x = input._data
    if not isinstance(target, Tensor) or target._data.dtype.kind not in "iu":
        got = _TORCH_NAMES[target.dtype.name] if isinstance(target, Tensor) \
            else type(target).__name__
        raise _DtypeError(f"expected scalar type Long but found {got}")
    t = target._data
    if x.ndim == 1:
        if t.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        x2, t2 = x[None, :], t.reshape(1)
    elif x.ndim == 2:
        if t.ndim != 1 or t.shape[0] != x.shape[0]:
            raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                             f"batch_size ({t.shape[0] if t.ndim else 0}).")
        x2, t2 = x, t
    else:
        raise NotImplementedError("tapegrad: nll_loss/cross_entropy take (N, C) or (C,) inputs")
    keep = t2 != ignore_index
    bad = keep & ((t2 < 0) | (t2 >= x2.shape[1]))
    if bad.any():
        raise IndexError(f"Target {int(t2[bad][0])} is out of bounds.")
    rows = np.nonzero(keep)[0]
    cols = t2[keep]
    w = None if weight is None else weight._data.astype(x.dtype)[cols]
    key = (rows, cols) if x.ndim == 2 else (cols,)
    if reduction == "none":
        out = np.zeros(x2.shape[0], dtype=x.dtype)
        out[rows] = -x2[rows, cols] if w is None else -x2[rows, cols] * w
        if x.ndim == 1:
            out = out.reshape(())
        return _result(out, "nll_loss", (input,), (x.shape, key, rows, w, None, "none"))
    out, total_weight = _nll_sums(rows, x2[rows, cols], w, x.dtype.type)
    if reduction == "mean":
        with np.errstate(all="ignore"):
            out = out / total_weight
    return _result(out, "nll_loss", (input,), (x.shape, key, rows, w, total_weight, reduction))


def _nll_sums(rows, data, w, f):
    """(loss sum, weight sum) accumulated as torch's nll_loss does: eight levels of
    partial sums, moved up every 16 samples (ignored samples are skipped)."""
    loss = [f(0)] * 8
    wsum = [f(0)] * 8
    for k, b in enumerate(rows.tolist()):
        if w is None:
            loss[0] = loss[0] - data[k]
        else:
            loss[0] = loss[0] - data[k] * w[k]
            wsum[0] = wsum[0] + w[k]
        for j in range(7):
            if b & (15 << (4 * j)):
                break
            loss[j + 1] = loss[j + 1] + loss[j]
            wsum[j + 1] = wsum[j + 1] + wsum[j]
            loss[j] = wsum[j] = f(0)
    total = f(0)
    for v in loss:
        total = total + v
    if w is None:
        return total, f(len(rows))
    tw = f(0)
    for v in wsum:
        tw = tw + v
    return total, tw


def _binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """torch's binary_cross_entropy (logs clamped at -100): one node."""
    _check_reduction(reduction)
    x, t = input._data, target._data
    if x.shape != t.shape:
        raise ValueError(f"Using a target size ({Size(t.shape)!r}) that is different to the "
                         f"input size ({Size(x.shape)!r}) is deprecated. Please ensure they "
                         "have the same size.")
    if x.dtype.kind != "f":
        raise no_kernel("binary_cross_entropy", _dtype_of(x))
    t = t.astype(x.dtype, copy=False)
    if np.any((x < 0) | (x > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    one = x.dtype.type(1)
    lo = x.dtype.type(-100)
    with np.errstate(all="ignore"):
        loss = (t - one) * np.maximum(np.log1p(-x), lo) - t * np.maximum(np.log(x), lo)
    w = None
    if weight is not None:
        w = np.broadcast_to(weight._data.astype(x.dtype), x.shape)
        loss = loss * w
    if reduction == "none":
        out = loss
    else:
        out = _fsum(loss)
        if reduction == "mean":
            out = out / x.dtype.type(x.size)
    return _result(out, "binary_cross_entropy", (input, target), (reduction, w))


def _addmm(bias, mat1, mat2):
    """bias + mat1 @ mat2 as one AddmmBackward0 node (nn.functional.linear)."""
    for t in (bias, mat2):
        mat1._check_matmul_dtypes(t)
    x, y = mat1._data, mat2._data
    if x.ndim != 2 or y.ndim != 2:
        raise RuntimeError("mat1 and mat2 must be matrices")
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({x.shape[0]}x{x.shape[1]} and {y.shape[0]}x{y.shape[1]})")
    try:
        out = x @ y + bias._data
    except ValueError:
        raise _broadcast_error("addmm", x @ y, bias._data) from None
    if out.shape != (x.shape[0], y.shape[1]):
        raise _broadcast_error("addmm", x @ y, bias._data)
    return _result(out, "addmm", (bias, mat1, mat2))
