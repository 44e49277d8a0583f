# Indexing with advanced indices and the indexing functions (index_select, gather,
# take_along_dim, masked_select, where, masked_fill, nonzero, embedding, one_hot):
# reads through an offset table (TT_INDEX) and selections by a mask (TT_WHERE), kernels
# in csrc/tg_index.c. torch's placement rules live in _index_plan (shared with the
# reference engine). Included by _engine.pyx after _tensor_ops.pxi.

from . import _index_plan as _ixp

cdef extern from "tg_index.h" nogil:
    enum:
        TG_IX_HAS_SKIP, TG_IX_SKIP, TG_IX_SCALE, TG_IX_WRAP

cdef str _INDEX_DTYPES = "tensors used as indices must be long, int, byte or bool tensors"


cdef bint _is_basic_key(object key):
    """key has only ints, slices, None and ... (0-d int64 tensors count as ints)."""
    for k in (key if isinstance(key, tuple) else (key,)):
        if k is None or k is Ellipsis or isinstance(k, slice):
            continue
        if isinstance(k, Tensor):
            if (<Tensor>k).v.ndim == 0 and ((<Tensor>k).v.dtype == TG_I64 or
                                            (<Tensor>k).v.dtype == TG_I32):
                continue
            return False
        if isinstance(k, (bool, np.bool_, list, range, np.ndarray)):
            return False
    return True


cdef object _plan_key_item(object k):
    """A key item as _index_plan reads it: tensors, lists and ranges as numpy arrays."""
    cdef Tensor t
    if isinstance(k, Tensor):
        t = <Tensor>k
        _check_live(t)
        if t.v.dtype == TG_F32 or t.v.dtype == TG_F64:
            raise IndexError(_INDEX_DTYPES)
        _note_arg_use(t)
        a = _ixp.tensor_key_array(_as_numpy(&t.v))
        if a.ndim == 0 and a.dtype.kind == "i":
            return int(a)
        return a
    if isinstance(k, (list, range, np.ndarray)):
        return _ixp.as_index_array(k)
    return k


cdef Tensor _take(Tensor x, Tensor table, object shape, int64_t base, int p, int q,
                  object strides, int name, int64_t scale=1, int64_t wrap=0,
                  int64_t skip=-1):
    """A TT_INDEX read of x (see csrc/tg_index.h) with grad_fn name id `name`."""
    _check_live(x)
    cdef tg_tnode *n = _node(x, table)
    try:
        _set_shape(&n.out, shape, x.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.ip[0] = base
    n.ip[1] = p
    n.ip[2] = q
    for d in range(len(strides)):
        n.ip[3 + d] = strides[d]
    n.ip[TG_IX_SCALE] = scale
    n.ip[TG_IX_WRAP] = wrap
    n.ip[TG_IX_HAS_SKIP] = skip >= 0
    n.ip[TG_IX_SKIP] = skip
    n.grad_fn = name
    return _run(TT_INDEX, n, x, None)


cdef Tensor _take_plan(Tensor x, object pl, int name):
    return _take(x, _from_numpy(pl.table, TG_I64), pl.shape, pl.base, pl.p, pl.q,
                 pl.strides, name)


cdef Tensor _rows(Tensor x, Tensor idx, int name, int64_t skip=-1, str oob=None,
                  bint negative=True):
    """x[idx] for an int64 idx and x with >= 1 dim: idx is the table itself, its entries
    scaled by x's row size in C (no Python lists: the embedding lookup's fast path); an
    entry out of range raises torch's IndexError (or `oob`)."""
    cdef int nd = idx.v.ndim + x.v.ndim - 1, q = idx.v.ndim, d
    if nd > TG_MAXDIM:
        raise ValueError(f"tapegrad tensors have at most {TG_MAXDIM} dimensions, not {nd}")
    cdef int64_t row = 1
    cdef tg_tnode *n = _node(x, idx)
    for d in range(x.v.ndim - 1, 0, -1):
        n.out.shape[q + d - 1] = x.v.shape[d]
        n.ip[3 + q + d - 1] = row
        row *= x.v.shape[d]
    for d in range(q):
        n.out.shape[d] = idx.v.shape[d]
    n.out.ndim = nd
    n.out.dtype = x.v.dtype
    n.out.numel = idx.v.numel * row
    n.ip[2] = q
    n.ip[TG_IX_SCALE] = row
    n.ip[TG_IX_WRAP] = x.v.shape[0] if negative else 0
    n.ip[TG_IX_HAS_SKIP] = skip >= 0
    n.ip[TG_IX_SKIP] = skip
    n.grad_fn = name
    if _recordings_active:
        _note_arg_use(idx)
    try:
        return _run(TT_INDEX, n, x, None)
    except RuntimeError:
        if oob is not None:
            raise IndexError(oob) from None
        _ixp.plan(_shape_of(&x.v), (_as_numpy(&idx.v),))   # raises torch's error
        raise


cdef Tensor _index_read(Tensor x, object key):
    """x[key] for a key with advanced indices: one TT_INDEX node (IndexBackward0)."""
    if isinstance(key, Tensor) and (<Tensor>key).v.dtype == TG_I64 and x.v.ndim > 0:
        _check_live(<Tensor>key)
        return _rows(x, <Tensor>key, NAME_INDEX)
    items = key if isinstance(key, tuple) else (key,)
    pl = _ixp.plan(_shape_of(&x.v), tuple([_plan_key_item(k) for k in items]))
    if len(pl.shape) > TG_MAXDIM:
        raise ValueError(f"tapegrad tensors have at most {TG_MAXDIM} dimensions")
    return _take_plan(x, pl, NAME_INDEX)


cdef Tensor _long_arg(object index, str what):
    if not isinstance(index, Tensor):
        raise TypeError(f"{what}(): argument 'index' must be Tensor, not "
                        f"{type(index).__name__}")
    if (<Tensor>index).v.dtype != TG_I64:
        raise RuntimeError(f"{what}(): Expected dtype int64 for index")
    _check_live(<Tensor>index)
    return <Tensor>index


def index_select(input, dim, index):
    """input's entries at `index` (1-D int64) along dim (IndexSelectBackward0)."""
    cdef Tensor x = _tensor_arg(input, "index_select")
    cdef Tensor idx = _long_arg(index, "index_select")
    if idx.v.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    cdef int d = _norm_dim(dim, x.v.ndim)
    a = _as_numpy(&idx.v).reshape(-1)
    size = x.v.shape[d] if x.v.ndim else 1
    bad = (a < 0) | (a >= size)
    if bad.any():
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(a[bad][0])} "
                           f"axis_dim={size}")
    _note_arg_use(idx)
    if x.v.ndim == 0:
        return _take(x, _from_numpy(a, TG_I64), (a.size,) if idx.v.ndim else (), 0, 0,
                     1 if idx.v.ndim else 0, [0], 0)
    strides = _contiguous_strides(&x.v)
    shape = list(_shape_of(&x.v))
    shape[d] = a.size
    return _take(x, _from_numpy(a * strides[d], TG_I64), shape, 0, d, 1, strides, 0)


cdef Tensor _gather_table(Tensor x, int d, object ix, object xstrides, int name):
    """out[i...] = x[..., ix[i...], ...] along d: a full table (x's dims broadcast
    where xstrides are 0)."""
    ix = np.asarray(ix, dtype=np.int64)
    table = ix * xstrides[d]
    for j in range(ix.ndim):
        if j != d:
            shape = [1] * ix.ndim
            shape[j] = ix.shape[j]
            table = table + (np.arange(ix.shape[j], dtype=np.int64) * xstrides[j]).reshape(shape)
    return _take(x, _from_numpy(table.reshape(-1), TG_I64), ix.shape, 0, 0, ix.ndim,
                 [0] * ix.ndim, name)


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j][k] = input[i][index[i][j][k]][k] along dim (GatherBackward0)."""
    cdef Tensor x = _tensor_arg(input, "gather")
    cdef Tensor idx = _long_arg(index, "gather")
    cdef int d = _norm_dim(dim, x.v.ndim)
    xs, ixs = _shape_of(&x.v), _shape_of(&idx.v)
    if len(ixs) != len(xs) and not (len(ixs) <= 1 and len(xs) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    for j in range(len(ixs)):
        if j != d and ixs[j] > xs[j]:
            raise RuntimeError(f"Size does not match at dimension {j} expected index "
                               f"{list(ixs)} to be no larger than self {list(xs)} apart "
                               f"from dimension {d}")
    a = _as_numpy(&idx.v)
    size = xs[d] if xs else 1
    bad = (a < 0) | (a >= size)
    if bad.any():
        raise RuntimeError(f"index {int(a[bad].flat[0])} is out of bounds for dimension {d} "
                           f"with size {size}")
    _note_arg_use(idx)
    if not xs or not ixs:
        return _take(x, _from_numpy(np.where(a < 0, a + size, a).reshape(-1), TG_I64), ixs,
                     0, 0, len(ixs), [0] * len(ixs), NAME_GATHER)
    return _gather_table(x, d, np.where(a < 0, a + size, a), _contiguous_strides(&x.v),
                         NAME_GATHER)


def take_along_dim(input, indices, dim=None):
    """input's values at `indices` along dim (broadcast elsewhere); without dim, of the
    flattened input (torch records a gather: GatherBackward0)."""
    cdef Tensor x = _tensor_arg(input, "take_along_dim")
    cdef Tensor idx = _long_arg(indices, "take_along_dim")
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    cdef int d = _norm_dim(dim, x.v.ndim)
    if idx.v.ndim != x.v.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {x.v.ndim} dimensions for input, "
                           f"and {idx.v.ndim} dimensions for indices")
    xs, ixs = list(_shape_of(&x.v)), list(_shape_of(&idx.v))
    try:
        out = list(np.broadcast_shapes(tuple(xs[:d] + xs[d + 1:]),
                                       tuple(ixs[:d] + ixs[d + 1:])))
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {xs} and {ixs}") from None
    a = _as_numpy(&idx.v)
    bad = (a < 0) | (a >= xs[d])
    if bad.any():
        raise RuntimeError(f"index {int(a[bad].flat[0])} is out of bounds for dimension {d} "
                           f"with size {xs[d]}")
    _note_arg_use(idx)
    ishape = out[:d] + [ixs[d]] + out[d:]
    a = np.broadcast_to(np.where(a < 0, a + xs[d], a), ishape)
    strides = [s if xs[j] != 1 or ishape[j] == 1 or j == d else 0
               for j, s in enumerate(_contiguous_strides(&x.v))]
    return _gather_table(x, d, a, strides, NAME_GATHER)


cdef Tensor _bool_arg(object mask, str message):
    if not isinstance(mask, Tensor) or (<Tensor>mask).v.dtype != TG_BOOL:
        got = _DTYPES[(<Tensor>mask).v.dtype] if isinstance(mask, Tensor) else \
            type(mask).__name__
        raise RuntimeError(message.format(_C_TYPE_NAMES.get(str(got), got)))
    _check_live(<Tensor>mask)
    return <Tensor>mask

cdef dict _C_TYPE_NAMES = {"tapegrad.float32": "float", "tapegrad.float64": "double",
                           "tapegrad.int64": "long int"}


def masked_select(input, mask):
    """The elements of input (broadcast with mask) where mask is True, as a 1-D tensor."""
    cdef Tensor x = _tensor_arg(input, "masked_select")
    cdef Tensor m = _bool_arg(mask, "masked_select: expected BoolTensor for mask")
    xs, ms = _shape_of(&x.v), _shape_of(&m.v)
    try:
        shape = np.broadcast_shapes(xs, ms)
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {list(xs)} and {list(ms)}") from None
    _note_arg_use(m)
    where = np.nonzero(np.broadcast_to(_as_numpy(&m.v), shape))
    strides = _contiguous_strides(&x.v)
    lead = len(shape) - len(xs)
    table = np.zeros(where[0].shape if where else (int(_as_numpy(&m.v)),), dtype=np.int64)
    for j in range(len(xs)):
        if xs[j] != 1:
            table = table + where[lead + j] * strides[j]
    return _take(x, _from_numpy(table, TG_I64), (table.size,), 0, 0, 1, [0],
                 NAME_MASKED_SELECT)


def nonzero(input, *, as_tuple=False):
    """The indices of input's non-zero elements: (n, ndim) int64, or a tuple of 1-D."""
    cdef Tensor x = _tensor_arg(input, "nonzero")
    _note_tensor_read(x)
    a = _as_numpy(&x.v)
    if as_tuple:
        return tuple(_from_numpy(w, TG_I64) for w in np.nonzero(np.atleast_1d(a)))
    return _from_numpy(np.argwhere(a), TG_I64)


cdef Tensor _scalar_tensor(object value, int code):
    return _from_numpy(np.asarray(value), code)


cdef int _where_dtype(object a, object b) except -1:
    """torch's result dtype of where(c, a, b) for tensors and Python numbers."""
    from ._dtype import result_type, scalar_dtype, DIM, ZERO_DIM, SCALAR
    ops = [(_DTYPES[(<Tensor>v).v.dtype], DIM if (<Tensor>v).v.ndim else ZERO_DIM)
           if isinstance(v, Tensor) else (scalar_dtype(v), SCALAR) for v in (a, b)]
    return _dtype_code(result_type(ops))


cdef Tensor _where_operand(object v, int code, str what):
    if isinstance(v, Tensor):
        _check_live(<Tensor>v)
        return _cast(<Tensor>v, code) if (<Tensor>v).v.dtype != code else <Tensor>v
    if isinstance(v, (bool, int, float, np.number, np.bool_)):
        return _scalar_tensor(v, code)
    raise TypeError(f"where(): argument '{what}' must be Tensor or Number, not "
                    f"{type(v).__name__}")


cdef Tensor _select(Tensor m, Tensor a, Tensor b, object shape, int name):
    """out = m ? a : b broadcast to shape (a TT_WHERE node), parents a and b."""
    cdef Tensor mask = _from_numpy(np.broadcast_to(_as_numpy(&m.v), shape), TG_BOOL)
    cdef tg_tnode *n = _node(a, b)
    try:
        _set_shape(&n.out, shape, a.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.aux = mask.v.buf
    tg_buf_incref(mask.v.buf)
    n.grad_fn = name
    _note_arg_use(m)
    return _run(TT_WHERE, n, a, b)


def where(condition, input=_NO_DIM, other=_NO_DIM):
    """input where condition else other (broadcast); where(condition) is
    nonzero(condition, as_tuple=True)."""
    if input is _NO_DIM and other is _NO_DIM:
        return nonzero(condition, as_tuple=True)
    if input is _NO_DIM or other is _NO_DIM:
        raise TypeError("where() takes 1 or 3 arguments")
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not "
                        f"{type(condition).__name__}")
    cdef Tensor c = <Tensor>condition
    if c.v.dtype != TG_BOOL:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {_TORCH_DTYPE_NAMES[c.v.dtype]}")
    code = _where_dtype(input, other)
    cdef Tensor a = _where_operand(input, code, "input")
    cdef Tensor b = _where_operand(other, code, "other")
    try:
        shape = np.broadcast_shapes(_shape_of(&c.v), _shape_of(&a.v), _shape_of(&b.v))
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {list(_shape_of(&c.v))}, "
                           f"{list(_shape_of(&a.v))} and {list(_shape_of(&b.v))}") from None
    return _select(c, a, b, shape, 0)

cdef tuple _TORCH_DTYPE_NAMES = ("Float", "Double", "Long", "Bool")


cdef Tensor _masked_fill(Tensor x, object mask, object value):
    cdef Tensor m = _bool_arg(mask, "masked_fill_ only supports boolean masks, but got mask "
                                    "with dtype {}")
    cdef Tensor v
    if isinstance(value, Tensor):
        v = <Tensor>value
        if v.v.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {v.v.ndim} dimension(s).")
        v = _cast(v, x.v.dtype) if v.v.dtype != x.v.dtype else v
        name = NAME_MASKED_FILL_TENSOR
    elif isinstance(value, (bool, int, float, np.number, np.bool_)):
        if isinstance(value, float) and _integral_code(x.v.dtype):
            value = bool(value) if x.v.dtype == TG_BOOL else int(value)
        v = _scalar_tensor(value, x.v.dtype)
        name = NAME_MASKED_FILL
    else:
        raise TypeError(f"masked_fill(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    try:
        shape = np.broadcast_shapes(_shape_of(&x.v), _shape_of(&m.v))
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                           f"non-singleton dimensions: {list(_shape_of(&x.v))} and "
                           f"{list(_shape_of(&m.v))}") from None
    return _select(m, v, x, shape, name)


def masked_fill(input, mask, value):
    """input with value where mask is True (MaskedFillBackward0 / 1)."""
    return _masked_fill(_tensor_arg(input, "masked_fill"), mask, value)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight's rows at the int64 indices input (EmbeddingBackward0); the row
    padding_idx gets no gradient."""
    cdef Tensor w = _tensor_arg(weight, "embedding")
    if not isinstance(input, Tensor):
        raise TypeError(f"embedding(): argument 'indices' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    cdef Tensor idx = <Tensor>input
    if idx.v.dtype != TG_I64:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"tapegrad.{_TORCH_DTYPE_NAMES[idx.v.dtype]}Tensor instead (while "
                           f"checking arguments for embedding)")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("tapegrad: embedding() supports neither max_norm, "
                                  "scale_grad_by_freq nor sparse")
    if w.v.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    cdef int64_t pad = -1 if padding_idx is None else padding_idx
    if pad < 0 and padding_idx is not None:
        pad += w.v.shape[0]
    _check_live(idx)
    return _rows(w, idx, NAME_EMBEDDING, pad, "index out of range in self", False)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot rows of the class indices in tensor (num_classes=-1: max + 1)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    cdef Tensor t = <Tensor>tensor
    if t.v.dtype != TG_I64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    _note_tensor_read(t)
    return _from_numpy(_ixp.one_hot(_as_numpy(&t.v), num_classes), TG_I64)


# ----------------------------------------------------------------------------
# Assignment: x[key] = value and masked_fill_ (into x's own buffer)

cdef bint _records_write(Tensor x, object value):
    return tg_grad_enabled() and (x.index >= 0 or (isinstance(value, Tensor) and
                                                   (<Tensor>value).index >= 0))


cdef object _value_array(object value, int code):
    if isinstance(value, Tensor):
        _check_live(<Tensor>value)
        _note_tensor_read(<Tensor>value)
        return _as_numpy(&(<Tensor>value).v)
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return np.asarray(value)
    raise TypeError(f"can't assign a {type(value).__name__} to a "
                    f"tapegrad.{_TORCH_DTYPE_NAMES[code]}Tensor")


cdef int _setitem(Tensor x, object key, object value) except -1:
    """x[key] = value written into x's buffer (torch's index rules, values broadcast to
    the indexed shape and converted to x's dtype)."""
    items = key if isinstance(key, tuple) else (key,)
    pl = _ixp.plan(_shape_of(&x.v), tuple([_plan_key_item(k) for k in items]))
    if isinstance(value, Tensor):
        _ixp.check_index_put_dtypes(pl, _DTYPES[x.v.dtype], _DTYPES[(<Tensor>value).v.dtype])
    if _records_write(x, value):
        _setitem_recorded(x, pl, value, pl.advanced)
        return 0
    _check_inplace(x, "__setitem__")
    src = _value_array(value, x.v.dtype)
    try:
        src = np.broadcast_to(src, pl.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(src))} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(pl.shape)}") from None
    flat = _as_numpy(&x.v).reshape(-1)
    with np.errstate(all="ignore"):
        flat[pl.offsets().reshape(-1)] = src.reshape(-1)
    x.v.buf.version += 1
    return 0


cdef Tensor _masked_fill_inplace(Tensor x, object mask, object value):
    cdef Tensor r = _masked_fill(x.detach(), mask, value.detach() if isinstance(value, Tensor)
                                 else value)
    if _shape_of(&r.v) != _shape_of(&x.v):
        raise RuntimeError(f"masked_fill_: mask of shape {list(_shape_of(&(<Tensor>mask).v))} "
                           f"cannot be broadcast to the in-place target's shape "
                           f"{list(_shape_of(&x.v))}")
    if _records_write(x, value):
        return _rebind(x, _masked_fill(_write_clone(x, "masked_fill_"), mask, value),
                       "masked_fill_")
    _check_inplace(x, "masked_fill_")
    memcpy(x.v.buf.data, r.v.buf.data, r.v.buf.nbytes)
    x.v.buf.version += 1
    return x


_embedding = embedding
_one_hot = one_hot


# ----------------------------------------------------------------------------
# In-place writes that record: x becomes the result r of an out-of-place op on a
# clone of x, its values written into x's buffer (torch's version bump: nodes that
# saved x's old values refuse backward), the handle moved to r's node.

cdef bint _recording_write(Tensor x, object other):
    return tg_grad_enabled() and (x.index >= 0 or (isinstance(other, Tensor) and
                                                   (<Tensor>other).index >= 0))


cdef int _check_write_target(Tensor x) except -1:
    """x is no view (a reshape, slice or transpose node): torch refuses a view of a leaf
    that requires grad; tapegrad records in-place ops on no view."""
    if x.index < 0:
        return 0
    cdef tg_index i = x.index
    while x.tp.op[i] == TT_VIEW or x.tp.op[i] == TT_GATHER:
        i = x.tp.a[i]
    if i != x.index and x.tp.op[i] == TT_LEAF:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if i != x.index:
        raise NotImplementedError("tapegrad: in-place operations that record gradients are "
                                  "not supported on views; use the out-of-place op")
    return 0


cdef Tensor _rebind(Tensor x, Tensor r, str name):
    """x := r (see above); r has x's shape."""
    if _shape_of(&r.v) != _shape_of(&x.v):
        raise RuntimeError(f"output with shape {list(_shape_of(&x.v))} doesn't match the "
                           f"broadcast shape {list(_shape_of(&r.v))}")
    if r.v.dtype != x.v.dtype:
        r = _cast(r, x.v.dtype)
    if r.v.numel:
        memcpy(x.v.buf.data, r.v.buf.data, <size_t>r.v.numel * tg_dtype_size(r.v.dtype))
    x.v.buf.version += 1
    if r.index < 0:
        return x
    # (r's node keeps its own copy of the values: later writes into x do not touch
    # what it may have saved)
    if x.index >= 0:
        tg_tape_release(x.tp, x.index)
    x.tape = r.tape
    x.tp = r.tp
    x.index = r.index
    r.tp.owner[r.index] = &x.index
    r.index = -1
    return x


cdef Tensor _write_clone(Tensor x, str name):
    """The clone of x an in-place op records on (after torch's checks)."""
    _check_inplace(x, name, True)
    _check_write_target(x)
    return x.clone()


cdef Tensor _inplace_recorded(Tensor x, uint8_t op, object other, str name):
    cdef Tensor old = _write_clone(x, name)
    r = (old + other if op == TT_ADD else old - other if op == TT_SUB else
         old * other if op == TT_MUL else old / other)
    return _rebind(x, r, name)


cdef Tensor _all_true(Tensor x):
    return _from_numpy(np.ones(_shape_of(&x.v), dtype=np.bool_), TG_BOOL)


cdef Tensor _overwrite_recorded(Tensor x, object src, int name, str what):
    """x.copy_(src) / x.fill_(v) / x.zero_() while recording: where(True, src, clone)."""
    cdef Tensor old = _write_clone(x, what)
    cdef Tensor s = _where_operand(src, x.v.dtype, "src")
    try:
        np.broadcast_shapes(_shape_of(&s.v), _shape_of(&x.v))
    except ValueError:
        raise RuntimeError(f"output with shape {list(_shape_of(&x.v))} doesn't match the "
                           f"broadcast shape {list(_shape_of(&s.v))}") from None
    return _rebind(x, _select(_all_true(x), s, old, _shape_of(&x.v), name), what)


cdef Tensor _clamp_inplace(Tensor x, object lo, object hi):
    if _recording_write(x, None):
        return _rebind(x, _write_clone(x, "clamp_").clamp(lo, hi), "clamp_")
    _check_inplace(x, "clamp_")
    cdef Tensor r = x.detach().clamp(lo, hi)
    memcpy(x.v.buf.data, r.v.buf.data, <size_t>r.v.numel * tg_dtype_size(r.v.dtype))
    x.v.buf.version += 1
    return x


cdef Tensor _setitem_recorded(Tensor x, object pl, object value, bint advanced):
    """x[key] = value while recording: where(written, value read at each written
    position, clone of x), named CopySlices (basic key) or IndexPutBackward0."""
    cdef Tensor old = _write_clone(x, "index_put_" if advanced else "copy_")
    cdef Tensor v = _where_operand(value, x.v.dtype, "value")
    vs = _shape_of(&v.v)
    try:
        voffs = np.broadcast_to(np.arange(v.v.numel, dtype=np.int64).reshape(vs), pl.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be "
                           f"broadcast to indexing result of shape {list(pl.shape)}") from None
    written = np.zeros(x.v.numel, dtype=np.bool_)
    table = np.zeros(x.v.numel, dtype=np.int64)
    offs = pl.offsets().reshape(-1)
    written[offs] = True
    table[offs] = voffs.reshape(-1)
    shape = _shape_of(&x.v)
    cdef Tensor spread = _take(v, _from_numpy(table, TG_I64), shape, 0, 0, len(shape),
                               [0] * len(shape), NAME_INDEX)
    cdef Tensor mask = _from_numpy(written.reshape(shape), TG_BOOL)
    return _rebind(x, _select(mask, spread, old, shape,
                              NAME_INDEX_PUT if advanced else NAME_COPY_SLICES), "setitem")
