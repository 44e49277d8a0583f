"""The pure-Python reference engine for tensors: PyTorch's autograd over numpy.

A ``Tensor`` wraps a numpy array (float32, float64, int64 or bool) and is its
own graph node, like micrograd's ``Value``. A tensor made by a recorded
operation stores what its backward pass needs, and nothing callable:

    _data      the values (a numpy array; views share memory like torch's)
    _op        the op's name, a key of ``_rules.RULES``; None for a leaf
    _parents   the tensor inputs, None where an input needs no gradient (or is
               a Python number): the shape of torch's ``next_functions``
    _saved     the arrays the rule reads (inputs and/or the output)
    _ctx       the op's constants (a dim, an exponent, a shape, ...)
    _checks    (version box, version when saved, tensor or None) per saved
               array, so that backward catches in-place changes as torch does
    _seq       creation number: parents are always numbered below children

Every derivative lives in the op table, tools/ops.py, written with the
engine's own ops; tools/gen_ops.py generates ``_rules.RULES`` from it: op name
-> (torch's grad_fn name, what to save, backward function), evaluated by the
helpers of ``_derivatives``. ``backward()`` (``_tensor_ops._sweep``) collects
the nodes a root depends on without recursion, visits them by decreasing
creation number (a topological order), applies each rule and accumulates into
the leaves' ``.grad``. Nodes hold no closures and never refer to their
children, so graphs have no reference cycles and are freed by reference
counting.

The engine is split by concern, with the compiled engine's file names:
``_tensor`` (this file: the Tensor class, its storage and autograd state,
in-place updates, factories), ``_tensor_ops`` (recording, the op methods,
losses, the backward sweep), ``_grad_fn`` (grad_fn objects), ``_rules``
(generated), ``_optim`` (optimizer hooks) and ``_tensor_math`` (torch-order
sums and fused multiply-adds).

Arithmetic is done in the tensor's dtype as torch does it: a Python number
meets a float32 tensor as a float32, ``x ** 2`` is ``x * x``, ``2 / x`` is
``x.reciprocal() * 2``, sums add in the order of torch's CPU kernel, the
optimizer hooks fuse multiply-adds where torch's kernels do, and so on, so
that float32 results agree with torch to the bit except where torch calls
its own SIMD math (exp, log, tanh, pow, sqrt) or BLAS (matrix products),
which differ from numpy's in the last bit.

Views (reshape, transpose, indexing with ints and slices, ...) share memory
and the version counter with their base, as in torch; ``.data`` shares
memory with a fresh counter, ``detach()`` shares both.
"""

import builtins
import itertools
import operator
import warnings
from typing import Any, Optional

import numpy as np

from .. import _format, _functions_more as _FM, _integral, _random_api
from .._random import Generator, default_generator  # noqa: F401 - re-exported
from .._dtype import (
    ALL_DTYPES, C_TYPE_NAMES, SCALAR_TYPE_NAMES, DtypeError, NoTensorError, check_fill_value,
    unsupported_array, Size, bool_, dtype, float32, float64, int8, int16, int32, int64, uint8,
    scalar_dtype, tensor_type)
from .._grad_mode import _state as _grad_state
from ._grad_fn import _node_of
from ._tensor_math import _fma

_new = object.__new__
_next_seq = itertools.count(1).__next__
_bsum = builtins.sum
_bmax = builtins.max
_bmin = builtins.min
_babs = builtins.abs

_BY_NUMPY = {np.dtype(d.numpy): d for d in ALL_DTYPES}
_NUMBER = (int, float, bool, np.number, np.bool_)


_DtypeError = DtypeError          # one class for both engines (tapegrad._dtype)
_NoTensorError = NoTensorError
_INT64_LIMIT = 2 ** 63


# ----------------------------------------------------------------------------
# Small helpers

def _shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _dtype_of(a):
    try:
        return _BY_NUMPY[a.dtype]
    except KeyError:
        raise _DtypeError(f"unsupported dtype {a.dtype}: tapegrad tensors are float32, "
                          "float64, int64, int32, int16, int8, uint8 or bool") from None


def _as_dtype(d):
    """A tapegrad dtype from a dtype, a numpy dtype or a Python type."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return float32
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    if isinstance(d, str):
        raise TypeError(f"dtype must be tapegrad.float32, float64, int64 or bool, not the "
                        f"string {d!r}")
    try:
        return _BY_NUMPY[np.dtype(d)]
    except (TypeError, KeyError, ValueError):
        raise TypeError(f"dtype must be tapegrad.float32, float64, int64 or bool, "
                        f"not {d!r}") from None


def _int_arg(x, what):
    """Argument ``what`` as an int, as torch parses an int: a TypeError for what is no
    integer, a ValueError for an int beyond 64 bits."""
    try:
        x = operator.index(x)
    except TypeError:
        raise TypeError(f"{what} must be an int, not '{type(x).__name__}'") from None
    if not -_INT64_LIMIT <= x < _INT64_LIMIT:
        raise ValueError(f"{what} {x} does not fit in a 64-bit integer (Overflow when "
                         "unpacking long long)")
    return x


def _wrap_dim(d, ndim):
    """dim d (possibly negative) as an index in [0, ndim); 0-d tensors accept -1 and 0."""
    d = _int_arg(d, "dim")
    n = ndim if ndim > 0 else 1
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {d})")
    return d % n


def _dims(dim, ndim):
    """A tuple of distinct non-negative dims from an int or a sequence of ints."""
    if isinstance(dim, (tuple, list)):
        out = tuple(_wrap_dim(d, ndim) for d in dim)
        for k, d in enumerate(out):
            if d in out[:k]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return out
    return (_wrap_dim(dim, ndim),)


def _size_args(size, what="size"):
    """(2, 3), ((2, 3),) or ([2, 3],) -> (2, 3), checked."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        try:
            s = operator.index(s)
        except TypeError:
            raise TypeError(f"{what} must be a tuple of ints, but got an element of type "
                            f"'{type(s).__name__}'") from None
        if not -_INT64_LIMIT <= s < _INT64_LIMIT:
            raise TypeError(f"{what} must be a tuple of ints: {s} does not fit in a 64-bit "
                            "integer (Overflow when unpacking long long)")
        out.append(s)
    return tuple(out)


def _infer_shape(shape, numel):
    """A reshape target with at most one -1, checked against numel (torch's messages)."""
    shape = list(shape)
    unknown = [k for k, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {_bmin(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_shape_str(shape)}' is invalid for input of size {numel}")
        shape[unknown[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{_shape_str(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


# ----------------------------------------------------------------------------
# Recording

def _wrap(data, requires_grad=False):
    """A leaf Tensor around a numpy array (no copy)."""
    t = _new(Tensor)
    _init_leaf(t, data, False)
    t._requires_grad = requires_grad
    return t


def _wrap_view(data, base):
    """A tensor (recording nothing) viewing base's memory: shares its version counter."""
    t = _wrap(data)
    t._vbox = base._vbox
    t._base = base if base._base is None else base._base
    return t


def _stale(t):
    """t is an intermediate whose node its thread's tapegrad.clear_tape() freed: its
    values stay readable, but it is cut from the graph (as in the compiled engine)."""
    return t._tape is not None and t._seq < t._tape.tensor_cutoff


def _check_live(t):
    if t._tape is not None and t._seq < t._tape.tensor_cutoff:
        raise RuntimeError(
            "this tensor's node was freed by tapegrad.clear_tape(); recompute it from its inputs")


_CPU = _FM.device("cpu")


# ----------------------------------------------------------------------------
# Tensor

class Tensor:
    """An n-dimensional array that records operations for reverse-mode autodiff.

    Make tensors with ``tensor(data, requires_grad=...)`` and the factories;
    ``Tensor([...])`` is torch's legacy constructor (always float32) and
    ``Tensor(2, 3)`` an uninitialised (here: zero) 2x3 float32 tensor.
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "_op", "_parents", "_saved", "_ctx",
                 "_checks", "_seq", "_tape", "_vbox", "_base", "_retains_grad", "_layouts",
                 "__weakref__")

    __array_ufunc__ = None      # numpy operands on the left defer to our reflected ops

    def __new__(cls, *args, **kwargs):
        if kwargs:
            raise TypeError(f"Tensor() got unexpected keyword arguments {sorted(kwargs)}")
        if not args:
            arr = np.zeros((0,), dtype=np.float32)
        elif len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = args[0]
            if isinstance(data, Tensor):
                arr = data._data.astype(np.float32)
            else:
                arr = _to_array(data, float32)
        else:
            arr = zeros(*args)._data          # (negative sizes: RuntimeError, as torch)
        t = _new(cls)
        _init_leaf(t, arr, False)
        return t

    @staticmethod
    def _make_subclass(cls, data, requires_grad=False):
        """An instance of Tensor subclass ``cls`` that is a leaf sharing ``data``'s
        memory (torch.Tensor._make_subclass; used by nn.Parameter)."""
        if not isinstance(data, Tensor):
            raise TypeError(f"expected a Tensor, not '{type(data).__name__}'")
        t = _new(cls)
        _init_leaf(t, data._data, requires_grad)
        t._vbox = data._vbox
        return t

    def __deepcopy__(self, memo):
        if self._op is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        import copy
        t = _new(type(self))
        _init_leaf(t, self._data.copy(), self._requires_grad)
        memo[id(self)] = t
        if self._grad is not None:
            t._grad = copy.deepcopy(self._grad, memo)
        if hasattr(self, "__dict__"):
            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return t

    def __reduce_ex__(self, protocol):
        from ..serialization import _reduce_tensor     # (serialization imports the engines)
        return _reduce_tensor(self)

    # -- properties -------------------------------------------------------------

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        if isinstance(dim, Tensor) or not hasattr(dim, "__index__"):
            raise TypeError(f"size(): argument 'dim' (position 1) must be int, not "
                            f"{type(dim).__name__}")
        if self._data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return self._data.size

    nelement = numel

    @property
    def dtype(self):
        return _dtype_of(self._data)

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def element_size(self):
        return self._data.itemsize

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    @property
    def _version(self):
        return self._vbox[0]

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        x = self._data
        return iter([self._view_result(x[i], "unbind", (x.shape, (i,)))
                     for i in range(x.shape[0])])

    __hash__ = object.__hash__

    # -- conversions ------------------------------------------------------------

    def numpy(self):
        """A numpy array sharing this tensor's memory."""
        if self._requires_grad and not _grad_state.off:   # torch: allowed under no_grad
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        """The single value as a Python number."""
        _check_live(self)
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be "
                               "converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self._data.reshape(()).item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self._data.reshape(()).item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted "
                            "to an index")
        return int(self._data.reshape(()).item())

    def __bool__(self):
        n = self._data.size
        if n != 1:
            what = "no values" if n == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self._data.reshape(()).item())

    def __format__(self, spec):
        """0-d tensors format as their number (f"{loss:.4f}"); others as str(t)."""
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return format(str(self), spec)

    def __repr__(self):
        cls = type(self)
        plain = cls is Tensor or getattr(cls, "_is_parameter", False)
        node = self.grad_fn
        return _format.tensor_repr(
            self._data, dtype_name=self.dtype.name,
            grad_fn=None if node is None else node.name(),
            requires_grad=self.requires_grad,
            prefix="tensor(" if plain else f"{cls.__name__}(")

    def __str__(self):
        return repr(self)          # a subclass's __repr__ (nn.Parameter's) applies too

    def to(self, *args, **kwargs):
        """A copy in another dtype (self if it already has it); device 'cpu' only."""
        dt = _FM.to_args(args, kwargs, Tensor)
        if dt is None:
            return self
        dt = _as_dtype(dt)
        if dt is self.dtype:
            return self
        out = _result(self._data.astype(dt.numpy), "to_copy", (self,))
        if not dt.is_floating_point:      # integer results are not differentiable
            return _wrap(out._data)
        return out

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def bool(self):
        return self.to(bool_)

    def int(self):
        return self.to(int32)

    def short(self):
        return self.to(int16)

    def char(self):
        return self.to(int8)

    def byte(self):
        return self.to(uint8)

    def type(self, dtype=None, non_blocking=False):
        return tensor_type(self, dtype, non_blocking)

    def cpu(self):
        return self

    def clone(self):
        return _result(self._data.copy(), "clone", (self,))

    def contiguous(self):
        if self._data.flags.c_contiguous:
            return self
        return _result(np.ascontiguousarray(self._data), "clone", (self,))

    # -- autograd state -----------------------------------------------------------

    @property
    def requires_grad(self):
        return self._requires_grad and not _stale(self)

    @requires_grad.setter
    def requires_grad(self, flag):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be a bool, not '{type(flag).__name__}'")
        self.requires_grad_(bool(flag))

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on a leaf (in place); returns self."""
        _check_live(self)
        requires_grad = bool(requires_grad)
        if self._op is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want "
                    "to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise _DtypeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self._op is None or _stale(self)

    @property
    def grad_fn(self):
        return None if self._op is None or _stale(self) else _node_of(self)

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor during backward()."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._op is not None:
            self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value._data.dtype != self._data.dtype:
                raise _DtypeError("assigned grad has data of a different type")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def data(self):
        """A tensor sharing this one's memory that is not part of any graph."""
        return _wrap(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(value).__name__}")
        if self._op is None and self._grad is not None and (
                value._data.shape != self._data.shape or value._data.dtype != self._data.dtype):
            self._grad = None       # a leaf's .grad has its value's layout (as compiled)
        self._data = value._data

    def detach(self):
        """A new leaf sharing memory (and the version counter) with this tensor."""
        t = _wrap(self._data)
        t._vbox = self._vbox
        return t

    def detach_(self):
        if self._base is not None and self._op is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._op = None
        self._parents = ()
        self._saved = ()
        self._ctx = None
        self._checks = ()
        self._requires_grad = False
        self._retains_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's .grad (times ``gradient``)."""
        _check_live(self)
        if create_graph:            # the recording sweep (tapegrad/autograd/_higher.py)
            from ..autograd import backward as _backward_recorded
            return _backward_recorded(self, gradient, retain_graph, True, inputs)
        _backward([self], [gradient], inputs=inputs, retain=bool(retain_graph))

    # -- in place -----------------------------------------------------------------

    def _check_inplace(self):
        """Raise like torch if this tensor may not be modified in place now."""
        _check_live(self)
        if not _grad_state.off and self._requires_grad:
            if self._op is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            if self._base is not None and self._base._op is None and \
                    self._base._requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used "
                                   "in an in-place operation.")
            if self._base is not None:
                raise NotImplementedError(
                    "tapegrad: in-place operations on a view of a tensor that requires grad "
                    "are not supported; use the out-of-place operation")

    def _inplace(self, other, op, fn):
        if not isinstance(other, (Tensor, np.ndarray) + _NUMBER) or isinstance(other, complex):
            raise TypeError(f"{op}_(): argument 'other' must be a Tensor or a number, not "
                            f"'{type(other).__name__}'")
        self._check_inplace()
        if isinstance(other, Tensor):
            _check_live(other)
        c = _common(self, other)
        x, y, b, dt = c
        if op == "div" and not dt.is_floating_point:
            dt = float32
        _integral.check_cast(dt, _dtype_of(self._data))
        try:
            shape = np.broadcast_shapes(self._data.shape, np.shape(y))
        except ValueError:
            raise _broadcast_error(op, self._data, np.asarray(y)) from None
        if shape != self._data.shape:
            raise RuntimeError(f"output with shape {_shape_str(self._data.shape)} doesn't match "
                               f"the broadcast shape {_shape_str(shape)}")
        records = not _grad_state.off and (
            self._requires_grad or (b is not None and b._requires_grad))
        if records and self._base is not None:
            raise NotImplementedError("tapegrad: in-place operations that record gradients "
                                      "are not supported on views; use the out-of-place op")
        if not records:
            with np.errstate(all="ignore"):
                if x is self._data:
                    fn(self._data, y, out=self._data, casting="unsafe")
                else:
                    self._data[...] = fn(x, y)
            self._vbox[0] += 1
            return self
        # Record "self (op) other" on a snapshot of self's node, then write the
        # result into self's memory and make self that result, as torch does.
        old = _wrap(self._data.copy(), self._requires_grad)
        for k in ("_op", "_parents", "_saved", "_ctx", "_checks", "_seq", "_tape", "_layouts"):
            setattr(old, k, getattr(self, k))
        res = {"add": Tensor.__add__, "sub": Tensor.__sub__, "mul": Tensor.__mul__,
               "div": Tensor.__truediv__}[op](old, other)
        self._data[...] = res._data
        self._vbox[0] += 1
        for k in ("_requires_grad", "_op", "_parents", "_saved", "_ctx", "_checks", "_seq",
                  "_tape", "_layouts"):
            setattr(self, k, getattr(res, k))
        return self

    def add_(self, other, alpha=1):
        if alpha != 1:
            if not isinstance(other, Tensor):
                return self._inplace(other * alpha, "add", np.add)
            return self._inplace_alpha(other, alpha)
        return self._inplace(other, "add", np.add)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            if not isinstance(other, Tensor):
                return self._inplace(other * alpha, "sub", np.subtract)
            return self._inplace_alpha(other, -alpha)
        return self._inplace(other, "sub", np.subtract)

    def _inplace_alpha(self, other, alpha):
        """self += alpha * other with one rounding, like torch's fused kernel."""
        if not _grad_state.off and (self._requires_grad or other._requires_grad):
            return self._inplace(other * alpha, "add", np.add)
        self._check_inplace()
        dt = self._data.dtype
        if dt.kind != "f":
            return self._inplace(other * alpha, "add", np.add)
        y = other._data.astype(dt)
        self._data[...] = _fma(y, dt.type(alpha), self._data, dt.type)
        self._vbox[0] += 1
        return self

    def mul_(self, other):
        return self._inplace(other, "mul", np.multiply)

    def div_(self, other):
        return self._inplace(other, "div", np.true_divide)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def _overwrite(self, values, what):
        self._check_inplace()
        if not _grad_state.off and self._requires_grad:
            raise NotImplementedError(f"tapegrad: {what}() on a tensor that requires grad is "
                                      "only supported under no_grad()")
        self._data[...] = values
        self._vbox[0] += 1
        return self

    def zero_(self):
        """Fill with zeros in place."""
        return self._overwrite(0, "zero_")

    def fill_(self, value):
        if isinstance(value, Tensor):
            value = value.item()
        return self._overwrite(value, "fill_")

    def copy_(self, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not "
                            f"'{type(src).__name__}'")
        if not _grad_state.off and src._requires_grad and not self._requires_grad:
            raise NotImplementedError("tapegrad: copy_() from a tensor that requires grad is "
                                      "only supported under no_grad()")
        try:
            np.broadcast_to(src._data, self._data.shape)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({self._data.shape}) must match the size "
                               f"of tensor b ({src._data.shape})") from None
        return self._overwrite(src._data, "copy_")

    def clamp_(self, min=None, max=None):
        return self._overwrite(self.clamp(min, max)._data, "clamp_")

    # in-place random fills (no-grad fills, torch's streams: _random_api.fill_values)
    def _random_fill(self, name, args, generator):
        return self._overwrite(_random_api.fill_values(name, self._data, args, generator), name)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return self._random_fill("uniform_", (a, b), generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._random_fill("normal_", (mean, std), generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        return self._random_fill("bernoulli_", (p,), generator)

    def random_(self, from_=0, to=None, *, generator=None):
        return self._random_fill("random_", (from_, to), generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._random_fill("exponential_", (lambd,), generator)

    # x[key] = value: reference/_tensor_index.py


_TORCH_NAMES = SCALAR_TYPE_NAMES
_C_NAMES = C_TYPE_NAMES


def _init_leaf(t, arr, requires_grad):
    t._data = arr
    t._requires_grad = False
    t._grad = None
    t._op = None
    t._parents = ()
    t._saved = ()
    t._ctx = None
    t._checks = ()
    t._seq = 0
    t._tape = None
    t._layouts = ()
    t._vbox = [0]
    t._base = None
    t._retains_grad = False
    if requires_grad:
        t.requires_grad_(True)


# ----------------------------------------------------------------------------
# Creating tensors

def _nested_error(data):
    _FM.nested_data_error(data, Tensor)


def _to_array(data, dt=None):
    """A fresh numpy array from numbers / nested sequences / arrays / tensors, in
    dtype dt or the inferred one (Python floats -> float32, ints and bools ->
    int64, as the spec says; numpy arrays keep float32/float64, other floats ->
    float32, ints and bools -> int64)."""
    if isinstance(data, Tensor):
        a = np.array(data._data, copy=True)
    elif isinstance(data, np.ndarray):
        a = np.array(data, copy=True)
        if dt is None:
            if a.dtype.kind == "f" and a.dtype not in (np.float32, np.float64):
                a = a.astype(np.float32)
            elif a.dtype.kind in "iu" and a.dtype not in _BY_NUMPY:
                a = a.astype(np.int64)
            elif a.dtype.kind not in "fbiu":
                raise unsupported_array(a.dtype)
    elif isinstance(data, (str, bytes)) or data is None:
        _nested_error(data)
    else:
        if isinstance(data, (list, tuple)):
            data = [x.item() if isinstance(x, Tensor) and x._data.ndim == 0 else x
                    for x in data] if any(isinstance(x, Tensor) for x in data) else data
        try:
            with warnings.catch_warnings():       # old numpy warns on ragged lists
                warnings.simplefilter("ignore")
                a = np.array(data)
        except (ValueError, TypeError, RuntimeError):
            _nested_error(data)
            raise
        if a.dtype == object or a.dtype.kind not in "biuf":
            _nested_error(data)
            raise TypeError(f"could not convert {type(data).__name__} to a tensor")
        if dt is None:
            if a.dtype.kind == "f":
                if isinstance(data, np.floating) and a.dtype in (np.float32, np.float64):
                    pass                                   # numpy scalars keep their dtype
                else:
                    a = a.astype(np.float32)
            elif a.dtype.kind in "iu":
                a = a.astype(np.int64)
    if dt is not None:
        a = a.astype(dt.numpy, copy=False)
    _dtype_of(a)
    return a


_DType = Optional[dtype]   # tapegrad.float32, ... (numpy dtypes are accepted too)


def tensor(data: Any, dtype: _DType = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``."""
    _FM.check_device(device)
    dt = None if dtype is None else _as_dtype(dtype)
    arr = _to_array(data, dt)
    t = _wrap(arr)
    if requires_grad:
        if arr.dtype.kind != "f":
            raise _DtypeError("Only Tensors of floating point and complex dtype can require "
                              "gradients")
        t._requires_grad = True
    return t


def as_tensor(data: Any, dtype: _DType = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or _as_dtype(dtype) is data.dtype):
        return data
    if isinstance(data, np.ndarray) and dtype is None and data.dtype in _BY_NUMPY:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with numpy array ``a``; a misaligned array is copied
    into an aligned one (as the compiled engine must: its kernels load aligned
    elements), so writes to one are not seen by the other."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    if a.dtype not in _BY_NUMPY:
        raise unsupported_array(a.dtype)
    return _wrap(a if a.flags.aligned else a.copy())


def _factory(size, dt, requires_grad, device, fill):
    _FM.check_device(device)
    dt = float32 if dt is None else _as_dtype(dt)
    shape = _size_args(size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{_bmin(shape)}: {_shape_str(shape)}")
    arr = fill(shape, dt.numpy)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*sizes: Any, size: Any = None, dtype: _DType = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    return _factory(_FM.size_kwarg(sizes, size, "zeros"), dtype, requires_grad, device, np.zeros)


def ones(*sizes: Any, size: Any = None, dtype: _DType = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    return _factory(_FM.size_kwarg(sizes, size, "ones"), dtype, requires_grad, device, np.ones)


def empty(*sizes: Any, size: Any = None, dtype: _DType = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    return _factory(_FM.size_kwarg(sizes, size, "empty"), dtype, requires_grad, device, np.zeros)


def full(size: Any, fill_value: Any, dtype: _DType = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    check_fill_value(fill_value, "full")
    if dtype is None:
        dtype = scalar_dtype(fill_value)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _factory((tuple(size),), dtype, requires_grad, device,
                    lambda s, d: np.full(s, fill_value, dtype=d))


def _like(t, dtype, requires_grad, factory):
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, not '{type(t).__name__}'")
    return factory(*t._data.shape, dtype=t.dtype if dtype is None else dtype,
                   requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: _DType = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    return _like(t, dtype, requires_grad, zeros)


def ones_like(t: Tensor, dtype: _DType = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    return _like(t, dtype, requires_grad, ones)


def empty_like(t: Tensor, dtype: _DType = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    return _like(t, dtype, requires_grad, zeros)


def full_like(t: Tensor, fill_value: Any, dtype: _DType = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, not '{type(t).__name__}'")
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: _DType = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """Values from start (default 0) up to end, step apart, like torch.arange."""
    arr, dt = _FM.arange_values(start, end, step, dtype)
    dt = _as_dtype(dt)
    arr = arr.astype(dt.numpy)
    return _factory((arr.shape,), dt, requires_grad, device, lambda s, d: arr)


_RANDOM = _random_api.make(tensor)
rand, randn, randint, randperm = _RANDOM.rand, _RANDOM.randn, _RANDOM.randint, _RANDOM.randperm
multinomial, normal, bernoulli = _RANDOM.multinomial, _RANDOM.normal, _RANDOM.bernoulli
rand_like, randn_like, randint_like = _RANDOM.rand_like, _RANDOM.randn_like, _RANDOM.randint_like
manual_seed, seed, initial_seed = _RANDOM.manual_seed, _RANDOM.seed, _RANDOM.initial_seed
get_rng_state, set_rng_state = _RANDOM.get_rng_state, _RANDOM.set_rng_state


# ----------------------------------------------------------------------------
# The op methods (arithmetic, math, reductions, products, shapes, indexing)

from ._tensor_ops import (  # noqa: E402 - _tensor_ops needs the names above
    _backward, _broadcast_error, _common, _result, _TensorOps)

# (not __hash__: _TensorOps defines __eq__, which leaves it None; Tensor keeps its own)
for _name, _member in list(vars(_TensorOps).items()):
    if _name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
                     "__hash__"):
        setattr(Tensor, _name, _member)
del _name, _member
