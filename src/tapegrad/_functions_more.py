"""Issue 11 item 5 and issue 16 item 3, written once for both engines: the tensor
methods and functions with torch's names, defaults and errors, on top of each
engine's primitives (``Tensor._more_unary``, ``_more_binary``, ``_more_along``,
``_more_cat2``, ``_more_take``, ``_more_roll1``, ``_more_tile``, ``_more_flip``,
``_more_part``: compiled in ``_tensor_more.pxi`` over ``csrc/tg_math.c``, pure
Python in ``reference/_tensor_more.py``).

``METHODS`` are bound into each engine's Tensor class; :func:`functions` gives an
engine module its module-level functions (factories need the engine)."""

import builtins
import operator

import numpy as np

from . import _backend
from ._dtype import NoTensorError, bool_, float32, float64, int32, int64, no_kernel, uint8

_UNARY = ("sin", "cos", "tan", "log10", "log2", "log1p", "expm1", "rsqrt", "sign", "floor",
          "ceil")


# ----------------------------------------------------------------------------
# Devices

class device:
    """torch.device: tapegrad tensors live on the CPU only."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name, _, num = str(type).partition(":")
        if num:
            index = int(num)
        if name not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta, xpu device type at start "
                               f"of device string: {type}")
        self.type = name
        self.index = index

    def __repr__(self):
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        return str(other) == str(self)

    def __hash__(self):
        return hash(str(self))


def arange_values(start, end, step, dtype):
    """torch.arange's values (float64 or int64) and dtype, for both engines: one-element
    tensors count as their number, all-int arguments give int64 and others the default
    float32, and float values are start + step * i computed in float64, as torch does."""
    import math
    names = ("start", "end", "step")
    if end is None:
        start, end, names = 0, start, ("", "end", "step")
    vals = []
    for k, v in enumerate((start, end, step)):
        if _backend.tensor_engine(v) is not None and v.dim() == 0:
            v = v.item()                              # a 0-d tensor is its number
        if isinstance(v, builtins.bool) or not isinstance(v, (int, float, np.integer,
                                                                 np.floating)):
            raise TypeError(f"arange(): argument '{names[k]}' (position {k}) must be "
                            f"Number, not {type(v).__name__}")
        vals.append(v)
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = int64 if builtins.all(isinstance(v, (int, np.integer)) for v in vals) else float32
    n = builtins.max(int(math.ceil((end - start) / step)), 0)
    if getattr(dtype, "is_floating_point", True):
        return np.float64(start) + np.float64(step) * np.arange(n, dtype=np.float64), dtype
    return start + step * np.arange(n, dtype=np.int64), dtype


def check_device(dev, what="tensor"):
    """None or the CPU; any other device a RuntimeError naming it."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(f"{what}: tapegrad tensors live on the CPU only; device '{d}' is not "
                           "available (use device='cpu', or leave device= out)")


class _Cuda:
    """tapegrad.cuda: no CUDA device, as torch on a CPU-only machine."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def manual_seed(seed):
        return None

    manual_seed_all = manual_seed


cuda = _Cuda()


def size_kwarg(sizes, size, what):
    """zeros(2, 3) or zeros(size=(2, 3)): the sizes as the factories' *size tuple."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{what}() got multiple values for argument 'size'")
    return (tuple(size) if isinstance(size, (tuple, list)) else size,)


def set_default_device(dev):
    check_device(dev, "set_default_device")


def set_default_dtype(d):
    if d is not float32:
        raise NotImplementedError(
            f"set_default_dtype({d}): tapegrad's default dtype is float32 and cannot change "
            "yet; pass dtype= to the factories (or .double()) instead")


# ----------------------------------------------------------------------------
# Helpers

def _engine(x):
    return _backend.engine_of(x)


def _is_float(x):
    return x.dtype in (float32, float64)


def _array(x):
    return x.detach().numpy()


def _from(x, arr):
    a = np.asarray(arr)
    if not a.flags.c_contiguous:
        a = a.copy(order="C")        # (np.ascontiguousarray would make 0-d arrays 1-d)
    return _engine(x).from_numpy(a)


def _dim(d, ndim):
    n = builtins.max(ndim, 1)
    d = operator.index(d)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {d})")
    return d + n if d < 0 else d


def _dim_alias(dim, kwargs, what):
    """torch's aliases: axis= for dim=, keepdims= for keepdim=."""
    if "axis" in kwargs:
        dim = kwargs.pop("axis")
    keepdim = kwargs.pop("keepdim", False)
    if "keepdims" in kwargs:
        keepdim = kwargs.pop("keepdims")
    if kwargs:
        raise TypeError(f"{what}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return dim, keepdim


def _reduce(x, name, dim, keepdim, param=0.0):
    """x reduced by name over dim: an int, a tuple / list of ints, or None (all)."""
    if isinstance(dim, (tuple, list)):
        dims = sorted({_dim(d, x.ndim) for d in dim}) if dim else list(range(x.ndim))
        if len(dims) == 1:
            return x._more_along(name, dims[0], keepdim, param)
        if len(dims) == x.ndim:
            return x._more_along(name, None, keepdim, param)
        # the reduced dims moved last and merged, then one reduction (drift: the graph
        # shows the permute and view below torch's single node)
        rest = [d for d in range(x.ndim) if d not in dims]
        moved = x.permute(*rest, *dims).reshape(*[x.shape[d] for d in rest], -1)
        out = moved._more_along(name, len(rest), False, param)
        if keepdim:
            out = out.reshape(*[1 if d in dims else x.shape[d] for d in range(x.ndim)])
        return out
    return x._more_along(name, None if dim is None else _dim(dim, x.ndim), keepdim, param)


# ----------------------------------------------------------------------------
# Elementwise

# torch keeps an integer tensor's dtype in these (bool: no kernel, but sign)
_INTEGRAL_UNARY = {"floor": lambda a: a.copy(), "ceil": lambda a: a.copy(),
                   "round": lambda a: a.copy(),
                   "sign": lambda a: a.copy() if a.dtype == np.bool_ else np.sign(a)}


def _integral_unary(self, name):
    if self.dtype is bool_ and name != "sign":
        raise no_kernel(f"{name}_vml_cpu", bool_)
    return _from(self, _INTEGRAL_UNARY[name](_array(self)))


def _unary_method(name):
    def method(self):
        if name in _INTEGRAL_UNARY and not _is_float(self):
            return _integral_unary(self, name)
        return self._more_unary(name)
    method.__name__ = name
    method.__doc__ = f"{name} of each element (torch.{name})."
    return method


def square(self):
    return self ** 2         # torch: pow(x, 2), PowBackward0


def round(self, decimals=0):
    if decimals != 0:
        raise NotImplementedError("tapegrad: round(decimals=) is not supported; round(x * 10**d)"
                                  " / 10**d does the same")
    if not _is_float(self):
        return _integral_unary(self, "round")
    return self._more_unary("round")


def _as_operand(self, other, what):
    if hasattr(other, "_more_binary"):
        return other
    if isinstance(other, (int, float, bool, np.number)):
        return _engine(self).tensor(other, dtype=self.dtype if _is_float(self)
                                    else None)
    raise TypeError(f"{what}(): argument 'other' must be Tensor, not {type(other).__name__}")


def _extremum(self, other, name):
    other = _as_operand(self, other, name)
    if not (_is_float(self) or _is_float(other)):     # integers and bools stay exact
        fn = np.maximum if name == "maximum" else np.minimum
        return _from(self, fn(_array(self), _array(other)))
    return self._more_binary(other, name)


def maximum(self, other):
    return _extremum(self, other, "maximum")


def minimum(self, other):
    return _extremum(self, other, "minimum")


def nested_data_error(data, tensor_type):
    """Raise torch's error for data numpy could not turn into a numeric array."""
    def walk(d, depth):
        if isinstance(d, tensor_type):
            return list(d.shape)
        if isinstance(d, (list, tuple)):
            if not d:
                return [0]
            shapes = [walk(x, depth + 1) for x in d]
            for x, sh in zip(d, shapes):
                if sh != shapes[0]:
                    if not isinstance(x, (list, tuple)):
                        raise TypeError(f"expected a sequence at dim {depth + 1} (got "
                                        f"'{type(x).__name__}')")
                    raise ValueError(f"expected sequence of length {shapes[0][0]} at dim "
                                     f"{depth + 1} (got {len(x)})")
            return [len(d)] + shapes[0]
        if isinstance(d, (int, float, np.number, np.bool_)) and not isinstance(d, complex):
            return []
        if isinstance(d, str):
            raise TypeError(f"new(): invalid data type '{type(d).__name__}'")
        raise NoTensorError(f"Could not infer dtype of {type(d).__name__}")
    walk(data, 0)


def check_lone_dims(dims, what):
    """torch reads one argument as the whole dims sequence: an ndarray there is its
    TypeError (an ndarray among several ints is an int)."""
    if len(dims) == 1 and isinstance(dims[0], np.ndarray):
        raise TypeError(f"{what}(): argument 'dims' (position 1) must be tuple of ints, "
                        f"not numpy.ndarray")


def clamp_tensors(self, min, max):
    """clamp with a tensor bound: min(max(x, min), max) as torch, built of where-nodes so
    each bound receives the gradient where it is the result (grad_fn WhereBackward0, where
    torch names one ClampBackward0 node)."""
    eng = _engine(self)
    bounds = (min, max)
    if not builtins.all(b is None or isinstance(b, eng.Tensor) for b in bounds):
        kinds = ", ".join("Tensor" if isinstance(b, eng.Tensor) else type(b).__name__
                          for b in (self,) + bounds)
        raise TypeError(f"clamp() received an invalid combination of arguments - got "
                        f"({kinds}): the bounds are both tensors (or None) or both numbers")
    out = self
    if bounds[0] is not None:
        out = eng.where(out < bounds[0], bounds[0], out)
    if bounds[1] is not None:
        out = eng.where(out > bounds[1], bounds[1], out)
    if out is self:
        out = self.clone()
    return out


# ----------------------------------------------------------------------------
# Reductions

def _correction(unbiased, correction, what):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{what}() received an invalid combination of arguments: unbiased "
                        "and correction cannot both be given")
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def _var_args(self, dim, unbiased, keepdim, correction, kwargs, what):
    if isinstance(dim, bool):            # var(unbiased) (torch's old positional form)
        dim, unbiased = None, dim
    dim, kd = _dim_alias(dim, dict(kwargs, keepdim=keepdim), what)
    return dim, kd, _correction(unbiased, correction, what)


def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **kwargs):
    dim, keepdim, c = _var_args(self, dim, unbiased, keepdim, correction, kwargs, "var")
    return _reduce(self, "var", dim, keepdim, c)


def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **kwargs):
    dim, keepdim, c = _var_args(self, dim, unbiased, keepdim, correction, kwargs, "std")
    return _reduce(self, "std", dim, keepdim, c)


def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        self = self.to(dtype)
    if p == "fro" or p is None:
        p = 2.0
    elif p == "nuc" or isinstance(p, str):
        raise NotImplementedError(f"tapegrad: norm(p={p!r}) is not supported (p: a number, "
                                  "inf or 'fro')")
    return _reduce(self, "norm", dim, keepdim, float(p))


def logsumexp(self, dim, keepdim=False):
    if not _is_float(self):              # torch: integers meet it in the default dtype
        self = self.to(float32)
    return _reduce(self, "logsumexp", dim, keepdim)


def prod(self, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        self = self.to(dtype)
    if not _is_float(self):
        out = np.prod(_array(self), axis=None if dim is None else _dim(dim, self.ndim),
                      keepdims=keepdim if dim is not None else False)
        return _from(self, np.asarray(out, dtype=np.int64))
    return self._more_along("prod", None if dim is None else _dim(dim, self.ndim), keepdim, 0.0)


def cumsum(self, dim, dtype=None):
    if dtype is not None:
        self = self.to(dtype)
    d = _dim(dim, self.ndim)
    if not _is_float(self):
        a = _array(self)
        return _from(self, np.cumsum(a, axis=d if a.ndim else None, dtype=np.int64)
                     .reshape(a.shape))
    return self._more_along("cumsum", d, False, 0.0)


def _bool_reduce(self, fn, dim, keepdim):
    """all / any: bool, except of a uint8 tensor, which torch answers in uint8."""
    a = _array(self)
    out_type = np.uint8 if a.dtype == np.uint8 else np.bool_
    a = a.astype(bool)
    if dim is None:
        return _from(self, np.asarray(fn(a)).astype(out_type))
    d = _dim(dim, self.ndim) if not isinstance(dim, (tuple, list)) else tuple(
        _dim(k, self.ndim) for k in dim)
    return _from(self, np.asarray(fn(a, axis=d if a.ndim else None, keepdims=keepdim))
                 .astype(out_type))


def all(self, dim=None, keepdim=False, **kwargs):
    dim, keepdim = _dim_alias(dim, dict(kwargs, keepdim=keepdim), "all")
    return _bool_reduce(self, np.all, dim, keepdim)


def any(self, dim=None, keepdim=False, **kwargs):
    dim, keepdim = _dim_alias(dim, dict(kwargs, keepdim=keepdim), "any")
    return _bool_reduce(self, np.any, dim, keepdim)


def _other_array(self, other):
    return _array(other) if hasattr(other, "_more_binary") else np.asarray(other)


def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    if hasattr(other, "dtype") and hasattr(other, "_more_binary") and other.dtype != self.dtype:
        raise RuntimeError(f"{self.dtype} did not match {other.dtype}")
    a, b = _array(self), _other_array(self, other)
    return _from(self, np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.all(_array(isclose(self, other, rtol, atol, equal_nan))))


def _compare(fn):
    def method(self, other):
        return fn(self, other)
    return method


def _int_dim(dim, what):
    """dim as an int (torch parses it before it reads the tensor)."""
    if dim is None or isinstance(dim, (int, np.integer)) and not isinstance(dim, builtins.bool):
        return dim
    try:
        return operator.index(dim)
    except TypeError:
        raise TypeError(f"{what}(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}") from None


def argmax(self, dim=None, keepdim=False):
    dim = _int_dim(dim, "argmax")
    a = _array(self)
    if dim is None:
        return _from(self, np.asarray(np.argmax(a), dtype=np.int64))
    return self.max(dim, keepdim).indices


def argmin(self, dim=None, keepdim=False):
    dim = _int_dim(dim, "argmin")
    a = _array(self)
    if dim is None:
        return _from(self, np.asarray(np.argmin(a), dtype=np.int64))
    return self.min(dim, keepdim).indices


# ----------------------------------------------------------------------------
# Sorting

class _ValuesIndices(tuple):
    """torch.return_types.sort / topk: a (values, indices) pair with names."""

    _name = "sort"

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    values = property(operator.itemgetter(0))
    indices = property(operator.itemgetter(1))

    def __repr__(self):
        return (f"torch.return_types.{self._name}(\nvalues={self[0]!r},\n"
                f"indices={self[1]!r})")


class sort_return(_ValuesIndices):
    _name = "sort"


class topk_return(_ValuesIndices):
    _name = "topk"


def _order(a, d, descending):
    """Stable order along d (nan last ascending, first descending, as torch)."""
    if a.ndim == 0:
        return np.zeros((), dtype=np.int64)
    if descending:
        # descending: negate floats, invert integers (~ reverses signed and unsigned
        # orders alike), invert bools
        key = -a if a.dtype.kind == "f" else (~a if a.dtype.kind in "iu" else ~a.astype(bool))
        if a.dtype.kind == "f":
            key = np.where(np.isnan(a), -np.inf, key)
            # nan first: stable argsort of (not nan, key)
            return np.lexsort((key, ~np.isnan(a)), axis=d).astype(np.int64) if a.ndim == 1 \
                else _lexsort_along(key, ~np.isnan(a), d)
        return np.argsort(key, axis=d, kind="stable").astype(np.int64)
    return np.argsort(a, axis=d, kind="stable").astype(np.int64)


def _lexsort_along(key, first, d):
    k = np.moveaxis(key, d, -1)
    f = np.moveaxis(first, d, -1)
    out = np.empty(k.shape, dtype=np.int64)
    for idx in np.ndindex(k.shape[:-1]):
        out[idx] = np.lexsort((k[idx], f[idx]))
    return np.moveaxis(out, -1, d)


def _take(self, idx_arr, d, name):
    idx = _engine(self).from_numpy(np.ascontiguousarray(idx_arr, dtype=np.int64))
    if self.ndim == 0:
        return self.clone() if name == "sort" else self * 1, idx
    return self._more_take(idx, d, name), idx


def sort(self, dim=-1, descending=False, *, stable=False):
    d = _dim(dim, self.ndim)
    order = _order(_array(self), d, descending)
    values, idx = _take(self, order, d, "sort")
    return sort_return(values, idx)


def argsort(self, dim=-1, descending=False, *, stable=False):
    d = _dim(dim, self.ndim)
    return _from(self, _order(_array(self), d, descending))


def topk(self, k, dim=-1, largest=True, sorted=True):
    d = _dim(dim, self.ndim)
    size = self.shape[d] if self.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range (k = {k}, size along dim {d} is "
                           f"{size})")
    if self.dtype is bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    order = _order(_array(self), d, largest)
    order = np.take(order, np.arange(k), axis=d) if self.ndim else order
    values, idx = _take(self, order, d, "topk")
    return topk_return(values, idx)


# ----------------------------------------------------------------------------
# Shapes

def _sizes(args, what):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(operator.index(a) for a in args)


def _check_cat(tensors, what):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{what}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        if what == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"torch.{what}(): expected a non-empty list of Tensors")


def _promote_all(tensors):
    dts = {t.dtype for t in tensors}
    if len(dts) == 1:
        return list(tensors)
    to = float64 if float64 in dts else (float32 if float32 in dts else int64)
    return [t.to(to) for t in tensors]


def _cat_tree(parts, d, name):
    """A balanced tree of two-operand cats (each node CatBackward0; the root named name)."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0]._more_cat2(parts[1], d, name)
    mid = len(parts) // 2
    return _cat_tree([_cat_tree(parts[:mid], d, "cat"), _cat_tree(parts[mid:], d, "cat")],
                     d, name)


def cat(tensors, dim=0, **kwargs):
    dim, _ = _dim_alias(dim, kwargs, "cat")
    _check_cat(tensors, "cat")
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or [tensors[0]]
    ref = parts[0]
    d = _dim(dim, ref.ndim)
    for k, t in enumerate(parts):
        if t.ndim != ref.ndim or ref.ndim == 0:
            if ref.ndim == 0 or t.ndim == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {k}) cannot be "
                                   "concatenated")
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for a in range(ref.ndim):
            if a != d and t.shape[a] != ref.shape[a]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[a]} but got size {t.shape[a]} for tensor number {k} in the list.")
    parts = _promote_all(parts)
    if len(parts) == 1:
        return _cat_tree([parts[0], parts[0][(slice(None),) * d + (slice(0, 0),)]], d, "cat")
    return _cat_tree(parts, d, "cat")


def stack(tensors, dim=0, **kwargs):
    dim, _ = _dim_alias(dim, kwargs, "stack")
    _check_cat(tensors, "stack")
    ref = tensors[0]
    d = _dim(dim, ref.ndim + 1)
    for k, t in enumerate(tensors):
        if tuple(t.shape) != tuple(ref.shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref.shape)} at entry 0 and {list(t.shape)} at entry {k}")
    parts = [t.unsqueeze(d) for t in _promote_all(tensors)]
    if len(parts) == 1:
        return _cat_tree([parts[0], parts[0][(slice(None),) * d + (slice(0, 0),)]], d, "stack")
    return _cat_tree(parts, d, "stack")


def split(self, split_size_or_sections, dim=0):
    d = _dim(dim, self.ndim)
    size = self.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != size or builtins.any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
        name = "split_with_sizes"
    else:
        step = operator.index(split_size_or_sections)
        if step < 0 or (step == 0 and size != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sizes = [builtins.min(step, size - s) for s in range(0, size, step)] if step else [0]
        name = "split"
    out, start = [], 0
    for s in sizes:
        out.append(self._more_part(d, start, s, False, name))
        start += s
    return tuple(out)


def chunk(self, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = _dim(dim, self.ndim)
    size = self.shape[d]
    return split(self, builtins.max(-(-size // chunks), 1) if size else 0, d) if size else \
        split(self, [0] * chunks if chunks else [], d)


def unbind(self, dim=0):
    d = _dim(dim, self.ndim)
    return tuple(self._more_part(d, i, 1, True, "unbind") for i in range(self.shape[d]))


def flip(self, *dims):
    dims = _sizes(dims, "flip")
    norm = tuple(_dim(d, self.ndim) for d in dims)
    if len(set(norm)) != len(norm):
        raise RuntimeError(f"dims has duplicates, original flip dims size={len(dims)}, but "
                           f"unique flip dims size={len(set(norm))}")
    return self._more_flip(norm)


def roll(self, shifts, dims=None):
    if dims is None:
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                                   "dims:0")
            shifts = shifts[0]
        return self._more_roll1(operator.index(shifts), -1)
    shifts = (shifts,) if not isinstance(shifts, (tuple, list)) else tuple(shifts)
    dims = (dims,) if not isinstance(dims, (tuple, list)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    out = self
    for s, d in zip(shifts, dims):
        out = out._more_roll1(operator.index(s), _dim(d, self.ndim))
    return out


def repeat(self, *sizes):
    reps = _sizes(sizes, "repeat")
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if builtins.any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(reps)}")
    return self._more_tile(reps)


def expand(self, *sizes):
    sizes = _sizes(sizes, "expand")
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise RuntimeError(f"expand(torch.{self.dtype}{{{list(self.shape)}}}, size={list(sizes)}):"
                           " the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({self.ndim})")
    shape = []
    for k, s in enumerate(sizes):
        own = self.shape[k - lead] if k >= lead else None
        if s == -1:
            if own is None:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                   f"leading, non-existing dimension {k}")
            s = own
        elif own is not None and own != 1 and own != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({own}) at non-singleton dimension {k}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
        shape.append(s)
    return self._more_expand(shape)


def expand_as(self, other):
    return expand(self, tuple(other.shape))


def view_as(self, other):
    return self.view(*other.shape)


def reshape_as(self, other):
    return self.reshape(*other.shape)


def nelement(self):
    return self.numel()


def cpu(self):
    return self


def _cuda_method(self, device=None, non_blocking=False):
    raise RuntimeError("cuda(): tapegrad tensors live on the CPU only; device 'cuda' is not "
                       "available (Torch not compiled with CUDA enabled)")


def to_args(args, kwargs, tensor_type):
    """The dtype .to(...) asks for (None: keep), refusing devices other than the CPU."""
    dt = kwargs.pop("dtype", None)
    check_device(kwargs.pop("device", None), "to")
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, tensor_type):
            dt = a.dtype
        elif isinstance(a, (str, device)):
            check_device(a, "to")
        else:
            dt = a
    return dt


# ----------------------------------------------------------------------------
# Tensor.new_* (issue 16 item 3): the dtype of self unless dtype= is given

def _new_kw(self, dtype, device, requires_grad):
    check_device(device, "new")
    return dict(dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    if hasattr(data, "_more_binary"):
        data = _array(data)
    return _engine(self).tensor(data, **_new_kw(self, dtype, device, requires_grad))


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return _engine(self).zeros(*size, **_new_kw(self, dtype, device, requires_grad))


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return _engine(self).ones(*size, **_new_kw(self, dtype, device, requires_grad))


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return _engine(self).empty(*size, **_new_kw(self, dtype, device, requires_grad))


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return _engine(self).full(size, fill_value, **_new_kw(self, dtype, device, requires_grad))


# ----------------------------------------------------------------------------
# Matrix products

def einsum(equation, *operands):
    """torch.einsum for one or two operands, composed of the engine's differentiable
    ops (transpose/permute, diagonal sums, broadcasting mul, sum, matmul)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise NotImplementedError("tapegrad: einsum with '...' is not supported")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise RuntimeError(f"einsum(): {len(ins)} operands in the equation but "
                           f"{len(operands)} given")
    if not arrow:
        counts = {}
        for s in ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted(c for c, k in counts.items() if k == 1))
    terms = []
    for spec, x in zip(ins, operands):
        if len(spec) != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(spec)}) does not match the number of dimensions "
                               f"({x.ndim}) for operand {len(terms)}")
        terms.append(_einsum_diag(spec, x))
    if len(terms) == 1:
        spec, x = terms[0]
        return _einsum_finish(x, spec, out)
    (sa, a), (sb, b) = terms
    letters = list(dict.fromkeys(sa + sb))
    full = "".join(letters)
    a = _einsum_align(a, sa, full)
    b = _einsum_align(b, sb, full)
    return _einsum_finish(a * b, full, out)


def _einsum_diag(spec, x):
    """A repeated letter in one operand: its diagonal (as torch: x.diagonal())."""
    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        i = spec.index(c)
        j = spec.index(c, i + 1)
        n = x.shape[i]
        eye = _engine(x).from_numpy(np.eye(n, dtype=_array(x).dtype).reshape(
            [n if k in (i, j) else 1 for k in range(x.ndim)]))
        x = (x * eye).sum(j)
        spec = spec[:j] + spec[j + 1:]
    return spec, x


def _einsum_align(x, spec, full):
    order = sorted(range(len(spec)), key=lambda k: full.index(spec[k]))
    if order != list(range(len(spec))):
        x = x.permute(*order)
    spec = "".join(spec[k] for k in order)
    shape = []
    for c in full:
        shape.append(x.shape[spec.index(c)] if c in spec else 1)
    return x.reshape(*shape)


def _einsum_finish(x, spec, out):
    drop = [k for k, c in enumerate(spec) if c not in out]
    if drop:
        x = x.sum(tuple(drop)) if len(drop) > 1 else x.sum(drop[0])
        spec = "".join(c for c in spec if c in out)
    for c in out:
        if c not in spec:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                               "equation for any input operand")
    order = [spec.index(c) for c in out]
    if order != list(range(len(order))):
        x = x.permute(*order)
    return x


# ----------------------------------------------------------------------------
# Arithmetic methods (torch's Tensor.add & co)

def add(self, other, alpha=1):
    return self + (other if alpha == 1 else other * alpha)


def sub(self, other, alpha=1):
    return self - (other if alpha == 1 else other * alpha)


def mul(self, other):
    return self * other


def div(self, other, rounding_mode=None):
    if rounding_mode is not None:
        raise NotImplementedError(f"tapegrad: div(rounding_mode={rounding_mode!r}) is not "
                                  "supported")
    return self / other


def pow(self, exponent):
    return self ** exponent


def neg(self):
    return -self


ARITH = dict(add=add, sub=sub, mul=mul, div=div, pow=pow, neg=neg,
             eq=lambda self, other: self == other, ne=lambda self, other: self != other,
             lt=lambda self, other: self < other, le=lambda self, other: self <= other,
             gt=lambda self, other: self > other, ge=lambda self, other: self >= other)


# ----------------------------------------------------------------------------
# The tables

METHODS = {name: _unary_method(name) for name in _UNARY}
METHODS.update(
    square=square, round=round, maximum=maximum, minimum=minimum, var=var, std=std, norm=norm,
    logsumexp=logsumexp, prod=prod, cumsum=cumsum, all=all, any=any, isclose=isclose,
    allclose=allclose, argmax=argmax, argmin=argmin, sort=sort, argsort=argsort, topk=topk,
    split=split, chunk=chunk, unbind=unbind, flip=flip, roll=roll, repeat=repeat,
    expand=expand, expand_as=expand_as, view_as=view_as, reshape_as=reshape_as,
    nelement=nelement, cpu=cpu, cuda=_cuda_method, new_tensor=new_tensor, new_zeros=new_zeros,
    new_ones=new_ones, new_empty=new_empty, new_full=new_full,
)


# the shared methods the compiled Tensor binds (in this order, _tensor.pxi)
COMPILED_METHODS = _UNARY + (
    "square", "round", "maximum", "minimum", "var", "std", "norm", "logsumexp", "prod",
    "cumsum", "all", "any", "isclose", "allclose", "argmax", "argmin", "sort", "argsort", "topk",
    "split", "chunk", "unbind", "flip", "roll", "repeat", "expand", "expand_as", "view_as",
    "reshape_as", "nelement", "cpu", "cuda", "new_tensor", "new_zeros", "new_ones", "new_empty",
    "new_full")


def _tensor_fn(name):
    method = METHODS[name]

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = method.__doc__
    return fn


# module-level functions that take the tensor first (torch.sin(x), torch.var(x, 0), ...)
TENSOR_FUNCTIONS = _UNARY + (
    "square", "round", "maximum", "minimum", "var", "std", "norm", "logsumexp", "prod",
    "cumsum", "all", "any", "isclose", "allclose", "sort", "argsort", "topk", "split", "chunk",
    "unbind", "flip", "roll")


def functions(engine):
    """The module-level functions of issue 11 item 5 for engine (its factories)."""
    out = {name: _tensor_fn(name) for name in TENSOR_FUNCTIONS}

    def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
        check_device(device, "linspace")
        dt = float32 if dtype is None else dtype
        arr = np.linspace(float(start), float(end), operator.index(steps))
        return engine.tensor(arr, dtype=dt, requires_grad=requires_grad)

    def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
        check_device(device, "logspace")
        dt = float32 if dtype is None else dtype
        arr = np.power(float(base), np.linspace(float(start), float(end), operator.index(steps)))
        return engine.tensor(arr, dtype=dt, requires_grad=requires_grad)

    def eye(n, m=None, dtype=None, requires_grad=False, device=None):
        check_device(device, "eye")
        dt = float32 if dtype is None else dtype
        arr = np.eye(operator.index(n), None if m is None else operator.index(m))
        return engine.tensor(arr, dtype=dt, requires_grad=requires_grad)

    out.update(cat=cat, concat=cat, concatenate=cat, stack=stack, einsum=einsum,
               linspace=linspace, logspace=logspace, eye=eye, device=device, cuda=cuda,
               set_default_device=set_default_device, set_default_dtype=set_default_dtype)
    out.update(legacy_constructors(engine))
    return out


def legacy_constructors(engine):
    """torch.FloatTensor & co (issue 16 item 3): data (a sequence or array) or sizes."""

    def make(name, dt):
        def ctor(*args, device=None):
            check_device(device, name)
            if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
                data = args[0]
                if hasattr(data, "_more_binary"):
                    return data.to(dt)
                if not isinstance(data, (tuple, list, np.ndarray)):
                    raise TypeError(f"new(): data must be a sequence (got "
                                    f"{type(data).__name__})")
                return engine.tensor(data, dtype=dt)
            sizes = _sizes(args, name)
            if builtins.any(s < 0 for s in sizes):
                raise RuntimeError(f"Trying to create tensor with negative dimension "
                                   f"{builtins.min(sizes)}: {list(sizes)}")
            return engine.zeros(*sizes, dtype=dt)
        ctor.__name__ = name
        ctor.__doc__ = f"torch.{name}: a {dt} tensor from data, or of the given sizes."
        return ctor

    return dict(FloatTensor=make("FloatTensor", float32),
                DoubleTensor=make("DoubleTensor", float64),
                LongTensor=make("LongTensor", int64), BoolTensor=make("BoolTensor", bool_),
                IntTensor=make("IntTensor", int32), ByteTensor=make("ByteTensor", uint8))


MODULE_FUNCTIONS = TENSOR_FUNCTIONS + (
    "cat", "concat", "concatenate", "stack", "einsum", "linspace", "logspace", "eye", "device",
    "cuda", "set_default_device", "set_default_dtype", "FloatTensor", "DoubleTensor",
    "LongTensor", "BoolTensor", "IntTensor", "ByteTensor")

