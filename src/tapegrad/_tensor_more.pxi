# The compiled engine's primitives for issue 11 item 5 (kernels in csrc/tg_math.c):
# module-level functions bound as Tensor methods in _tensor.pxi's class body. The
# argument parsing, composition and torch's errors are shared with the reference
# engine (tapegrad/_functions_more.py), which calls these.

cdef dict _MORE_UNARY = {
    "sin": TT_SIN, "cos": TT_COS, "tan": TT_TAN, "log10": TT_LOG10, "log2": TT_LOG2,
    "log1p": TT_LOG1P, "expm1": TT_EXPM1, "rsqrt": TT_RSQRT, "sign": TT_SIGN,
    "floor": TT_FLOOR, "ceil": TT_CEIL, "round": TT_ROUND,
}
# name -> (kernel, grad_fn name id with dim, without dim)
cdef dict _MORE_ALONG = {
    "logsumexp": (TT_LOGSUMEXP, 0, 0), "var": (TT_VAR, 0, 0), "std": (TT_VAR, NAME_STD, NAME_STD),
    "norm": (TT_NORM, 0, 0), "prod": (TT_PROD, NAME_PROD_DIM, 0), "cumsum": (TT_CUMSUM, 0, 0),
}


cdef tuple _outer_inner(const tg_view *v, int d):
    cdef int64_t outer = 1, inner = 1
    for k in range(d):
        outer *= v.shape[k]
    for k in range(d + 1, v.ndim):
        inner *= v.shape[k]
    return outer, inner


def _tm_unary(Tensor self, str name):
    """An elementwise function of tg_math.c (float; integers meet it in float32)."""
    return _unary(_MORE_UNARY[name], self, name)


def _tm_binary(Tensor self, Tensor other, str name):
    """maximum / minimum, broadcasting, in the promoted floating dtype."""
    _check_live(self)
    _check_live(other)
    if self.v.dtype != other.v.dtype or _integral_code(self.v.dtype):
        code = TG_F64 if (self.v.dtype == TG_F64 or other.v.dtype == TG_F64) else TG_F32
        self = _cast(self, code)
        other = _cast(other, code)
    cdef int64_t shape[8]
    cdef int nd
    if tg_broadcast_shape(&self.v, &other.v, shape, &nd) != 0:
        raise RuntimeError(f"The size of tensor a ({_shape_of(&self.v)}) must match the size of "
                           f"tensor b ({_shape_of(&other.v)}) in {name}: shapes "
                           f"{_shape_str(&self.v)} and {_shape_str(&other.v)} cannot be "
                           "broadcast together")
    cdef tg_tnode *n = _node(self, other)
    _set_shape(&n.out, [shape[d] for d in range(nd)], self.v.dtype)
    return _run(TT_MAXIMUM if name == "maximum" else TT_MINIMUM, n, self, other)


def _tm_along(Tensor self, str name, object dim, bint keepdim, double param):
    """A reduction (or cumsum) of tg_math.c along one dim, or over every element
    (dim None). param: the correction (var, std) or p (norm)."""
    _check_live(self)
    _check_float(self, name)
    op, name_dim, name_all = _MORE_ALONG[name]
    cdef int d = -1
    cdef int64_t outer = 1, inner = 1, size = self.v.numel
    cdef list out_shape
    if dim is not None:
        d = _norm_dim(dim, self.v.ndim)
        if self.v.ndim > 0:
            outer, inner = _outer_inner(&self.v, d)
            size = self.v.shape[d]
    shape = list(_shape_of(&self.v))
    if op == TT_CUMSUM:
        out_shape = shape
    elif d < 0 or self.v.ndim == 0:
        out_shape = [1] * len(shape) if keepdim else []
    else:
        out_shape = shape[:d] + ([1] if keepdim else []) + shape[d + 1:]
    cdef tg_tnode *n = _node(self, None)
    try:
        _set_shape(&n.out, out_shape, self.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.ip[0], n.ip[1], n.ip[2] = outer, size, inner
    n.ip[3] = 1 if name == "std" else 0
    n.ip[4], n.ip[5] = d, keepdim           # for create_graph (_tm_row_of)
    n.dp[0] = param
    n.grad_fn = name_all if d < 0 else name_dim
    return _run(op, n, self, None)


def _tm_cat2(Tensor self, Tensor other, int dim, str name):
    """self and other (same dtype and ndim, checked by the caller) joined along dim."""
    _check_live(self)
    _check_live(other)
    outer, inner = _outer_inner(&self.v, dim)
    shape = list(_shape_of(&self.v))
    shape[dim] = self.v.shape[dim] + other.v.shape[dim]
    cdef tg_tnode *n = _node(self, other)
    _set_shape(&n.out, shape, self.v.dtype)
    n.ip[0], n.ip[1], n.ip[2], n.ip[3] = outer, self.v.shape[dim], inner, other.v.shape[dim]
    n.ip[4] = dim
    n.grad_fn = NAME_STACK if name == "stack" else 0
    return _run(TT_CAT, n, self, other)


def _tm_take(Tensor self, Tensor indices, int dim, str name):
    """out[..., j, ...] = self[..., indices[..., j, ...], ...] along dim (sort, topk)."""
    _check_live(self)
    outer, inner = _outer_inner(&indices.v, dim) if self.v.ndim else (1, 1)
    cdef tg_tnode *n = _node(self, indices)
    _set_shape(&n.out, _shape_of(&indices.v), self.v.dtype)
    n.ip[0], n.ip[2] = outer, inner
    n.ip[1] = self.v.shape[dim] if self.v.ndim else 1
    n.ip[3] = indices.v.shape[dim] if indices.v.ndim else 1
    n.ip[4] = dim
    n.grad_fn = NAME_TOPK if name == "topk" else 0
    return _run(TT_TAKE, n, self, indices)


def _tm_roll1(Tensor self, int64_t shift, int dim):
    """self rolled by shift along dim (dim -1: over the flattened elements)."""
    _check_live(self)
    cdef int64_t outer = 1, inner = 1, size = self.v.numel
    if dim >= 0:
        outer, inner = _outer_inner(&self.v, dim)
        size = self.v.shape[dim]
    cdef tg_tnode *n = _node(self, None)
    n.out = self.v
    n.out.buf = NULL
    n.ip[0], n.ip[1], n.ip[2] = outer, size, inner
    n.ip[3] = ((shift % size) + size) % size if size > 0 else 0     # (C remainder)
    n.ip[4], n.ip[5] = dim, shift
    return _run(TT_ROLL, n, self, None)


def _tm_tile(Tensor self, tuple repeats):
    """torch's repeat: self tiled repeats times (len(repeats) >= ndim, checked)."""
    _check_live(self)
    cdef int lead = len(repeats) - self.v.ndim
    shape = [repeats[k] * (self.v.shape[k - lead] if k >= lead else 1)
             for k in range(len(repeats))]
    cdef tg_tnode *n = _node(self, None)
    try:
        _set_shape(&n.out, shape, self.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    return _run(TT_TILE, n, self, None)


def _tm_flip(Tensor self, tuple dims):
    """self reversed along dims (normalised, distinct): a strided read backwards."""
    strides = _contiguous_strides(&self.v)
    cdef int64_t offset = 0
    if self.v.ndim == 0:
        dims = ()
    for d in dims:
        offset += (self.v.shape[d] - 1) * strides[d]
        strides[d] = -strides[d]
    if self.v.numel == 0:
        offset = 0
    return _gather(self, list(_shape_of(&self.v)), offset, strides, NAME_FLIP)


cdef dict _PART_NAMES = {"split": NAME_SPLIT, "split_with_sizes": NAME_SPLIT_WITH_SIZES,
                         "unbind": NAME_UNBIND}


def _tm_part(Tensor self, int dim, int64_t start, int64_t length, bint drop, str name):
    """self[start:start + length] along dim (drop: self[start], the dim removed), a
    strided read named as torch names split / unbind outputs."""
    strides = _contiguous_strides(&self.v)
    shape = list(_shape_of(&self.v))
    cdef int64_t offset = start * strides[dim]
    shape[dim] = length
    if drop:
        del shape[dim]
        del strides[dim]
    return _gather(self, shape, offset, strides, _PART_NAMES[name])


def _tm_expand(Tensor self, list shape):
    _check_live(self)
    return _expand(self, shape)


cdef dict _TM_UNARY_ROWS = {code: name for name, code in _MORE_UNARY.items()}


cdef object _tm_row_of(const tg_tnode *n, uint8_t op, tuple sizes):
    """(row, ctx) of a tg_math.c slot for create_graph=True (_higher.pxi), or None."""
    cdef int64_t d = n.ip[4]
    dim = None if d < 0 else d
    if op in _TM_UNARY_ROWS:
        return _TM_UNARY_ROWS[op], None
    if op == TT_MAXIMUM or op == TT_MINIMUM:
        return ("maximum" if op == TT_MAXIMUM else "minimum"), None
    if op == TT_LOGSUMEXP:
        return "logsumexp", (dim, bool(n.ip[5]))
    if op == TT_VAR:
        return ("std" if n.ip[3] else "var"), (dim, n.dp[0], bool(n.ip[5]))
    if op == TT_NORM:
        return "norm", (n.dp[0], dim, bool(n.ip[5]))
    if op == TT_PROD:
        return ("prod" if dim is None else "prod_dim"), (dim, bool(n.ip[5]))
    if op == TT_CUMSUM:
        return "cumsum", (0 if dim is None else dim)
    if op == TT_CAT:
        return ("stack" if n.grad_fn == NAME_STACK else "cat"), (d, n.ip[1], n.ip[3])
    if op == TT_TAKE:
        return ("topk" if n.grad_fn == NAME_TOPK else "sort"), (sizes, d, _as_numpy(&n.in_[1]))
    if op == TT_ROLL:
        return "roll", ((n.ip[5], None) if d < 0 else ((n.ip[5],), (d,)))
    if op == TT_TILE:
        lead = n.out.ndim - n.in_[0].ndim
        reps = tuple(n.out.shape[k] // (n.in_[0].shape[k - lead] if k >= lead else 1)
                     if n.out.shape[k] else 0 for k in range(n.out.ndim))
        return "repeat", (reps, sizes)
    return None
