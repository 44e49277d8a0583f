"""Indexing with advanced indices and the indexing functions of the reference engine:
index_select, gather, take_along_dim, masked_select, where, masked_fill, nonzero,
embedding, one_hot, and assignment (``x[key] = value``). torch's placement rules
live in ``tapegrad._index_plan``, shared with the compiled engine."""

import numpy as np

from .. import _index_plan
from .._dtype import (
    C_TYPE_NAMES, DIM, SCALAR, SCALAR_TYPE_NAMES, ZERO_DIM, result_type, scalar_dtype)
from .._grad_mode import _state as _grad_state
from ._tensor import Tensor, _dtype_of, _NUMBER, _wrap, _wrap_dim
from ._tensor_ops import _result

_INDEX_DTYPES = "tensors used as indices must be long, int, byte or bool tensors"
_C_NAMES = C_TYPE_NAMES
_TORCH_NAMES = SCALAR_TYPE_NAMES


def _key_item(k):
    if isinstance(k, Tensor):
        if k._data.dtype.kind == "f":
            raise IndexError(_INDEX_DTYPES)
        a = _index_plan.tensor_key_array(k._data)
        if a.ndim == 0 and a.dtype.kind == "i":
            return int(a)
        return a
    if isinstance(k, (list, range, np.ndarray)):
        return _index_plan.as_index_array(k)
    return k


def _plan(shape, key):
    items = key if isinstance(key, tuple) else (key,)
    return _index_plan.plan(shape, tuple(_key_item(k) for k in items))


def _take(x, offsets, op, ctx_extra=()):
    """x's elements at flat offsets (an int64 array shaped like the result), recorded
    as op with ctx (x's shape, the unravelled offsets, *ctx_extra)."""
    data = x._data.reshape(-1)[offsets] if offsets.size else \
        np.zeros(offsets.shape, dtype=x._data.dtype)
    where = np.unravel_index(offsets, x._data.shape) if x._data.ndim else ()
    return _result(data, op, (x,), (x._data.shape, where) + tuple(ctx_extra))


def getitem_advanced(x, key):
    """x[key] for a key with advanced indices (IndexBackward0). Like torch, the node
    keeps its index tensors: changing one in place before backward is refused."""
    out = _take(x, _plan(x._data.shape, key).offsets(), "index")
    if out._op is not None:
        idx = [k for k in (key if isinstance(key, tuple) else (key,))
               if isinstance(k, Tensor) and k._data.ndim > 0]
        out._saved = tuple(out._saved) + tuple(k._data for k in idx)
        out._checks = tuple(out._checks) + tuple((k._vbox, k._vbox[0], k) for k in idx)
    return out


def _long(index, fn):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not "
                        f"{type(index).__name__}")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{fn}(): Expected dtype int64 for index")
    return index._data


def _tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def index_select(input, dim, index):
    x = _tensor(input, "index_select")
    a = _long(index, "index_select")
    if a.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _wrap_dim(dim, x._data.ndim)
    size = x._data.shape[d] if x._data.ndim else 1
    flat = a.reshape(-1)
    bad = (flat < 0) | (flat >= size)
    if bad.any():
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(flat[bad][0])} "
                           f"axis_dim={size}")
    if x._data.ndim == 0:
        return _take(x, np.zeros(a.shape, dtype=np.int64), "index_select")
    key = (slice(None),) * d + (flat,)
    data = x._data[key]
    return _result(data, "index_select", (x,), (x._data.shape, key))


def _check_gather_index(a, d, size):
    bad = (a < 0) | (a >= size)
    if bad.any():
        raise RuntimeError(f"index {int(a[bad].flat[0])} is out of bounds for dimension {d} "
                           f"with size {size}")
    return np.where(a < 0, a + size, a)


def _gather_key(a, d, xshape):
    """The numpy key reading x at a along d (x's size-1 dims broadcast)."""
    key = []
    for j in range(a.ndim):
        if j == d:
            key.append(a)
            continue
        shape = [1] * a.ndim
        shape[j] = a.shape[j]
        r = np.arange(a.shape[j]).reshape(shape)
        key.append(np.zeros_like(r) if xshape[j] == 1 else r)
    return tuple(key)


def gather(input, dim, index, *, sparse_grad=False):
    x = _tensor(input, "gather")
    a = _long(index, "gather")
    d = _wrap_dim(dim, x._data.ndim)
    xs, ixs = x._data.shape, a.shape
    if len(ixs) != len(xs) and not (len(ixs) <= 1 and len(xs) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    for j in range(len(ixs)):
        if j != d and ixs[j] > xs[j]:
            raise RuntimeError(f"Size does not match at dimension {j} expected index "
                               f"{list(ixs)} to be no larger than self {list(xs)} apart "
                               f"from dimension {d}")
    a = _check_gather_index(a, d, xs[d] if xs else 1)
    if not xs or not ixs:
        return _take(x, np.zeros(a.shape, dtype=np.int64) + a, "gather")
    key = _gather_key(a, d, xs)
    return _result(x._data[key], "gather", (x,), (xs, key))


def take_along_dim(input, indices, dim=None):
    x = _tensor(input, "take_along_dim")
    a = _long(indices, "take_along_dim")
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    d = _wrap_dim(dim, x._data.ndim)
    if a.ndim != x._data.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {x._data.ndim} dimensions for "
                           f"input, and {a.ndim} dimensions for indices")
    xs, ixs = list(x._data.shape), list(a.shape)
    try:
        out = list(np.broadcast_shapes(tuple(xs[:d] + xs[d + 1:]),
                                       tuple(ixs[:d] + ixs[d + 1:])))
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {xs} and {ixs}") from None
    a = _check_gather_index(a, d, xs[d])
    a = np.broadcast_to(a, out[:d] + [ixs[d]] + out[d:])
    key = _gather_key(a, d, xs)
    return _result(x._data[key], "gather", (x,), (x._data.shape, key))


def _bool_mask(mask, message):
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = _dtype_of(mask._data).name if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(message.format(_C_NAMES.get(got, got)))
    return mask._data


def masked_select(input, mask):
    x = _tensor(input, "masked_select")
    m = _bool_mask(mask, "masked_select: expected BoolTensor for mask")
    try:
        shape = np.broadcast_shapes(x._data.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {list(x._data.shape)} and "
                           f"{list(m.shape)}") from None
    where = np.nonzero(np.broadcast_to(m, shape))
    lead = len(shape) - x._data.ndim
    if x._data.ndim == 0:
        count = int(where[0].size) if where else int(m)
        return _take(x, np.zeros(count, dtype=np.int64), "masked_select")
    key = tuple(np.zeros_like(w) if x._data.shape[j] == 1 else w
                for j, w in enumerate(where[lead:]))
    return _result(x._data[key], "masked_select", (x,), (x._data.shape, key))


def nonzero(input, *, as_tuple=False):
    a = _tensor(input, "nonzero")._data
    if as_tuple:
        return tuple(_wrap(w.astype(np.int64)) for w in np.nonzero(np.atleast_1d(a)))
    return _wrap(np.argwhere(a).astype(np.int64))


def _where_dtype(a, b):
    ops = [(_dtype_of(v._data), DIM if v._data.ndim else ZERO_DIM) if isinstance(v, Tensor)
           else (scalar_dtype(v), SCALAR) for v in (a, b)]
    return result_type(ops)


def _operand(v, dt, what):
    if isinstance(v, Tensor):
        return v if v._data.dtype == dt.numpy else v.to(dt)
    if isinstance(v, _NUMBER) and not isinstance(v, complex):
        return _wrap(np.asarray(v, dtype=dt.numpy))
    raise TypeError(f"where(): argument '{what}' must be Tensor or Number, not "
                    f"{type(v).__name__}")


def _broadcast(*arrays):
    try:
        return np.broadcast_shapes(*[a.shape for a in arrays])
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a in arrays)
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {shapes}") from None


_NO_ARG = object()


def where(condition, input=_NO_ARG, other=_NO_ARG):
    """input where condition else other; where(condition): nonzero(as_tuple=True)."""
    if input is _NO_ARG and other is _NO_ARG:
        return nonzero(condition, as_tuple=True)
    if input is _NO_ARG or other is _NO_ARG:
        raise TypeError("where() takes 1 or 3 arguments")
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not "
                        f"{type(condition).__name__}")
    c = condition._data
    if c.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {_TORCH_NAMES[_dtype_of(c).name]}")
    dt = _where_dtype(input, other)
    a, b = _operand(input, dt, "input"), _operand(other, dt, "other")
    _broadcast(c, a._data, b._data)
    return _result(np.where(c, a._data, b._data), "where", (a, b), c)


def _fill_value(x, value):
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        return value if value._data.dtype == x._data.dtype else value.to(_dtype_of(x._data))
    if isinstance(value, _NUMBER) and not isinstance(value, complex):
        return _wrap(np.asarray(value).astype(x._data.dtype))
    raise TypeError(f"masked_fill(): argument 'value' must be Number or Tensor, not "
                    f"{type(value).__name__}")


def masked_fill(input, mask, value):
    x = _tensor(input, "masked_fill")
    m = _bool_mask(mask, "masked_fill_ only supports boolean masks, but got mask with "
                         "dtype {}")
    v = _fill_value(x, value)
    _broadcast(x._data, m)
    data = np.where(m, v._data, x._data)
    if isinstance(value, Tensor):
        return _result(data, "masked_fill_tensor", (x, v), m)
    return _result(data, "masked_fill", (x,), m)


def masked_fill_(x, mask, value):
    r = masked_fill(x.detach(), mask, value.detach() if isinstance(value, Tensor) else value)
    if r._data.shape != x._data.shape:
        raise RuntimeError(f"masked_fill_: mask of shape {list(mask._data.shape)} cannot be "
                           f"broadcast to the in-place target's shape {list(x._data.shape)}")
    if _records_write(x, value):
        return _become(x, masked_fill(_snapshot(x), mask, value))
    x._check_inplace()
    x._data[...] = r._data
    x._vbox[0] += 1
    return x


def _embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
               scale_grad_by_freq=False, sparse=False):
    w = _tensor(weight, "embedding")
    if not isinstance(input, Tensor):
        raise TypeError(f"embedding(): argument 'indices' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    a = input._data
    if a.dtype != np.int64:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"tapegrad.{_TORCH_NAMES[_dtype_of(a).name]}Tensor instead (while "
                           f"checking arguments for embedding)")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("tapegrad: embedding() supports neither max_norm, "
                                  "scale_grad_by_freq nor sparse")
    if w._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = w._data.shape[0]
    if ((a < 0) | (a >= n)).any():
        raise IndexError("index out of range in self")
    pad = -1 if padding_idx is None else (padding_idx + n if padding_idx < 0 else padding_idx)
    return _result(w._data[a], "embedding", (w,), (w._data.shape, a, pad))


def _one_hot(tensor, num_classes=-1):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    return _wrap(_index_plan.one_hot(tensor._data, num_classes))


# ----------------------------------------------------------------------------
# Assignment

def _records_write(x, value):
    return not _grad_state.off and (x._requires_grad or (
        isinstance(value, Tensor) and value._requires_grad))


_NODE_FIELDS = ("_requires_grad", "_op", "_parents", "_saved", "_ctx", "_checks", "_seq",
                "_layouts")


def _snapshot(x):
    """x's current value and node as a tensor of its own: what an in-place op that
    records reads (after torch's checks: a leaf that requires grad refuses)."""
    x._check_inplace()
    old = _wrap(x._data.copy(), x._requires_grad)
    for k in _NODE_FIELDS:
        setattr(old, k, getattr(x, k))
    return old


def _become(x, res):
    """x := res: res's values written into x's memory (its version bumped: nodes that
    saved the old values refuse backward), x takes res's node."""
    if res._data.shape != x._data.shape:
        raise RuntimeError(f"output with shape {list(x._data.shape)} doesn't match the "
                           f"broadcast shape {list(res._data.shape)}")
    x._data[...] = res._data
    x._vbox[0] += 1
    for k in _NODE_FIELDS:
        setattr(x, k, getattr(res, k))
    return x


def _overwrite_recorded(x, src, op):
    """copy_ / fill_ / zero_ while recording: where(True, src, old) named op."""
    old = _snapshot(x)
    s = _operand(src, _dtype_of(x._data), "src")
    _broadcast(s._data, x._data)
    mask = np.ones(x._data.shape, dtype=np.bool_)
    data = np.broadcast_to(s._data, x._data.shape).copy()
    parents = (s, old) if op == "copy_" else (old, None)
    return _become(x, _result(data, op, parents, mask))


def _setitem_recorded(x, pl, value):
    """x[key] = value while recording: where(written, value spread to x's shape, old),
    named CopySlices (basic key) or IndexPutBackward0."""
    old = _snapshot(x)
    v = _operand(value, _dtype_of(x._data), "value")
    try:
        voffs = np.broadcast_to(np.arange(v._data.size).reshape(v._data.shape), pl.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v._data.shape)} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(pl.shape)}") from None
    written = np.zeros(x._data.size, dtype=np.bool_)
    table = np.zeros(x._data.size, dtype=np.int64)
    offs = pl.offsets().reshape(-1)
    written[offs] = True
    table[offs] = voffs.reshape(-1)
    shape = x._data.shape
    spread = v.expand(shape) if v._data.ndim == 0 else _take(v, table.reshape(shape), "index")
    mask = written.reshape(shape)
    res = _result(np.where(mask, spread._data, old._data),
                  "index_put" if pl.advanced else "copy_slices", (spread, old), mask)
    return _become(x, res)


def setitem(x, key, value):
    """x[key] = value in x's memory (torch's index rules; values broadcast to the
    indexed shape, converted to x's dtype)."""
    pl = _plan(x._data.shape, key)
    if isinstance(value, Tensor):
        _index_plan.check_index_put_dtypes(pl, _dtype_of(x._data), _dtype_of(value._data))
    if _records_write(x, value):
        _setitem_recorded(x, pl, value)
        return
    if isinstance(value, Tensor):
        src = value._data
    elif isinstance(value, _NUMBER) and not isinstance(value, complex):
        src = np.asarray(value)
    else:
        raise TypeError(f"can't assign a {type(value).__name__} to a "
                        f"tapegrad.{_TORCH_NAMES[_dtype_of(x._data).name]}Tensor")
    try:
        src = np.broadcast_to(src, pl.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(src))} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(pl.shape)}") from None
    with np.errstate(all="ignore"):
        if x._data.ndim == 0:
            if src.size:
                x._data[...] = src.reshape(-1)[-1]
        else:
            x._data[np.unravel_index(pl.offsets(), x._data.shape)] = src
    x._vbox[0] += 1


def _attach():
    """The indexing methods of the reference Tensor."""
    Tensor.index_select = lambda self, dim, index: index_select(self, dim, index)
    Tensor.gather = lambda self, dim, index, *, sparse_grad=False: gather(self, dim, index)
    Tensor.take_along_dim = lambda self, indices, dim=None: take_along_dim(self, indices, dim)
    Tensor.masked_select = lambda self, mask: masked_select(self, mask)
    Tensor.masked_fill = lambda self, mask, value: masked_fill(self, mask, value)
    Tensor.masked_fill_ = masked_fill_
    Tensor.nonzero = lambda self, *, as_tuple=False: nonzero(self, as_tuple=as_tuple)
    Tensor.where = lambda self, condition, other: where(condition, self, other)
    Tensor.__setitem__ = setitem
    _record_when_needed("zero_", lambda x: _overwrite_recorded(x, 0, "zero_"))
    _record_when_needed("fill_", lambda x, value: _overwrite_recorded(
        x, value.item() if isinstance(value, Tensor) else value, "fill_"))
    _record_when_needed("copy_", lambda x, src: _overwrite_recorded(x, src, "copy_"))
    _record_when_needed("clamp_", lambda x, min=None, max=None: _become(
        x, _snapshot(x).clamp(min, max)))


def _record_when_needed(name, recorded):
    """Tensor.name, recorded by `recorded` when the write records gradients."""
    plain = getattr(Tensor, name)

    def method(self, *args, **kwargs):
        if _records_write(self, args[0] if args else None):
            return recorded(self, *args, **kwargs)
        return plain(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = plain.__doc__
    setattr(Tensor, name, method)


_attach()
