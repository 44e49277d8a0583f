"""torch's indexing rules as a plan of reads, shared by both engines.

``plan(shape, key)`` turns ``x[key]`` (x of ``shape``) into a read through an
offset table: the result's dims are [outer basic dims][index block][inner basic
dims]; a basic dim reads x with a stride, the block through ``table`` (one
offset per block element). The key holds ints, slices, None, ..., Python bools
and numpy arrays (int64 or bool) standing for index tensors and lists.

torch's placement rule: ints select first (they never separate advanced
indices); None is a new dim read like a full slice; the advanced indices
broadcast together and their dims go where the first of them stands when they
are adjacent, else in front.
"""

import operator

import warnings

import numpy as np

_TYPES_MSG = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
              "Variables are valid indices (got {})")


class Plan:
    __slots__ = ("shape", "base", "p", "q", "strides", "table", "advanced")

    def __init__(self, shape, base, p, q, strides, table, advanced):
        self.shape = shape          # the result's shape
        self.base = base            # offset of the first element read
        self.p = p                  # first dim of the index block
        self.q = q                  # its number of dims (0: no advanced index)
        self.strides = strides      # element stride in x per result dim (0 in the block)
        self.table = table          # int64 offsets, one per block element (block order)
        self.advanced = advanced    # an advanced index took part

    def offsets(self):
        """The offset in x of every result element (row-major), as an int64 array."""
        out = np.full(self.shape, self.base, dtype=np.int64)
        nd = len(self.shape)
        for d in range(nd):
            if self.p <= d < self.p + self.q:
                continue
            shape = [1] * nd
            shape[d] = self.shape[d]
            out += (np.arange(self.shape[d], dtype=np.int64) * self.strides[d]).reshape(shape)
        if self.q:
            block = self.table.reshape(self.shape[self.p:self.p + self.q])
            out += block.reshape((1,) * self.p + block.shape + (1,) * (nd - self.p - self.q))
        return out


def int_index(k):
    """An int index as torch parses it: beyond 64 bits is a ValueError, as for any int
    argument, before the bounds are checked."""
    i = operator.index(k)
    if not -2 ** 63 <= i < 2 ** 63:
        raise ValueError(f"index {i} does not fit in a 64-bit integer (Overflow when "
                         "unpacking long long)")
    return i


def is_int(k):
    if isinstance(k, (bool, np.bool_)):
        return False
    return isinstance(k, (int, np.integer)) or (
        isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu")


def as_index_array(k):
    """A list / range / array index as a numpy int64 or bool array (torch's errors)."""
    if isinstance(k, range):
        k = list(k)
    a = np.asarray(k)
    if a.dtype == object:
        raise IndexError(_TYPES_MSG.format(type(k).__name__))
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(np.int64)       # [] indexes nothing: an empty long index
    if a.dtype.kind == "b":
        return a
    if a.dtype.kind not in "iu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return a.astype(np.int64, copy=False)


def tensor_key_array(a):
    """A tensor index's elements (a numpy array) as torch reads them: long and int
    tensors index, bool tensors mask, byte (uint8) tensors mask with torch's deprecation
    warning; other dtypes are torch's IndexError."""
    if a.dtype.kind == "b" or a.dtype == np.int64:
        return a
    if a.dtype == np.int32:
        return a.astype(np.int64)
    if a.dtype == np.uint8:
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=3)
        return a.astype(np.bool_)
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def check_index_put_dtypes(pl, x_dtype, value_dtype):
    """x[advanced key] = tensor is torch's index_put_, which converts no dtype."""
    if pl.advanced and value_dtype is not None and value_dtype is not x_dtype:
        from ._dtype import scalar_type_name
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{scalar_type_name(x_dtype)} for the destination and "
                           f"{scalar_type_name(value_dtype)} for the source.")


def _contiguous_strides(shape):
    strides, s = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = s
        s *= shape[d]
    return strides


def _check_key_item(k):
    if k is None or k is Ellipsis or isinstance(k, (slice, bool, np.bool_, np.ndarray)):
        return
    if is_int(k):
        return
    raise IndexError(_TYPES_MSG.format(type(k).__name__))


def _consumed(k):
    """How many dims of x index k reads."""
    if k is None or k is Ellipsis or isinstance(k, (bool, np.bool_)):
        return 0
    if isinstance(k, np.ndarray) and k.dtype.kind == "b":
        return k.ndim
    return 1


def plan(shape, key):
    """The plan of x[key] for x of ``shape`` (see the module docstring)."""
    shape = tuple(shape)
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        _check_key_item(k)
    ndim = len(shape)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_consumed(k) for k in key)
    if used > ndim:
        if ndim == 0 and all(is_int(k) or isinstance(k, slice) for k in key):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    strides = _contiguous_strides(shape)
    slots = []          # (size, stride) per basic result dim, or "A" for an advanced index
    arrays = []         # (index array, stride) of the advanced indices
    base = 0
    d = 0
    pending = None      # an index out of bounds (raised when the result has elements)
    for k in key:
        if k is Ellipsis:
            for _ in range(ndim - used):
                slots.append((shape[d], strides[d]))
                d += 1
        elif k is None:
            slots.append((1, 0))
        elif isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.ndim == 0
                                                 and k.dtype.kind == "b"):
            slots.append("A")
            arrays.append((np.zeros(1 if k else 0, dtype=np.int64), 0))
        elif isinstance(k, slice):
            start, stop, step = k.indices(shape[d])
            if step <= 0:
                raise ValueError("step must be greater than zero")
            length = len(range(start, stop, step))
            slots.append((length, strides[d] * step))
            if length > 0:
                base += start * strides[d]
            d += 1
        elif is_int(k):
            i = int_index(k)
            if not -shape[d] <= i < shape[d]:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size "
                                 f"{shape[d]}")
            base += (i % shape[d]) * strides[d]
            d += 1
        elif k.dtype.kind == "b":
            for j in range(k.ndim):
                if k.shape[j] != shape[d + j]:
                    raise IndexError(
                        f"The shape of the mask {list(k.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {list(shape)} at index {d + j}")
            slots.append("A")
            for j, where in enumerate(np.nonzero(k)):
                arrays.append((where.astype(np.int64), strides[d + j]))
            d += k.ndim
        else:
            bad = (k < -shape[d]) | (k >= shape[d])
            if bad.any():     # torch's kernel checks while it reads: not for an empty result
                if pending is None:
                    pending = IndexError(f"index {int(k[bad].flat[0])} is out of bounds for "
                                         f"dimension {d} with size {shape[d]}")
                k = np.where(bad, 0, k)
            arrays.append((np.where(k < 0, k + shape[d], k), strides[d]))
            slots.append("A")
            d += 1
    slots.extend((shape[j], strides[j]) for j in range(d, ndim))
    if not arrays:
        return Plan(tuple(s for s, _ in slots), base, len(slots), 0,
                    [st for _, st in slots], np.zeros(1, dtype=np.int64), False)
    try:
        block = np.broadcast_shapes(*[a.shape for a, _ in arrays])
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a, _ in arrays)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    table = np.zeros(block, dtype=np.int64)
    for a, stride in arrays:
        table = table + a * stride
    if pending is not None and 0 not in block and all(s == "A" or s[0] for s in slots):
        raise pending
    marks = [j for j, s in enumerate(slots) if s == "A"]
    p = marks[0] if marks[-1] - marks[0] == len(marks) - 1 else 0
    basic = [s for s in slots if s != "A"]
    out = basic[:p] + [(n, 0) for n in block] + basic[p:]
    return Plan(tuple(n for n, _ in out), base, p, len(block), [st for _, st in out],
                np.ascontiguousarray(table, dtype=np.int64).reshape(-1), True)


def one_hot(a, num_classes=-1):
    """torch.nn.functional.one_hot of the int64 array a, as an int64 array."""
    num_classes = operator.index(num_classes)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if a.size and a.max() >= num_classes or num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(a.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return out
