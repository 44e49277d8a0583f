# Batch and layer normalisation as torch's single nodes (issue 12 item 4; included by
# _engine.pyx): the normalised input times the weight is one TT_BATCH_NORM /
# TT_LAYER_NORM slot (csrc/tg_norm.c), a bias a TT_ADDMM slot (the broadcast add) shown
# with the same name, as addmm's two slots show as one AddmmBackward0.

from libc.string cimport memcpy

cdef extern from "tg_norm.h" nogil:
    int tg_norm_update_running(const tg_buf *stats_buf, int64_t groups, double count,
                               tg_buf *running_mean_buf, tg_buf *running_var_buf, int dtype,
                               double momentum)


def _native_norm(input, weight, bias, bint layer, stats, double eps, tuple layout,
                 running_mean=None, running_var=None, double momentum=0.0,
                 bint want_stats=False):
    """(out, statistics): the normalised input (NativeBatchNormBackward0 or
    NativeLayerNormBackward0). layout: batch norm (N, C, L), a group per channel;
    layer norm (rows, D), a group per row. weight / bias: None or tensors of the
    group's C (batch norm) or D (layer norm) elements, bias already shaped to
    broadcast. stats: None for the batch's own statistics, else (mean, invstd)
    float64 arrays of C values (batch norm, eval). running_mean / running_var (batch
    norm on the batch's statistics): tensors of C elements in the input's dtype,
    updated in place as torch's (momentum; the variance unbiased) by the kernel, so a
    replayed step updates them too. statistics (when
    want_stats, else None): a (3, groups) float64 array of each group's mean, invstd
    and biased variance (the variance only for the batch's own statistics)."""
    cdef Tensor x = _tensor_arg(input, "layer_norm" if layer else "batch_norm")
    cdef Tensor w = <Tensor>weight if weight is not None else None
    _check_live(x)
    if w is not None:
        _check_live(w)
    cdef int64_t groups = layout[0] if layer else layout[1]
    cdef tg_tnode *n = _node(x, w)
    n.out = x.v
    n.out.buf = NULL
    for k in range(3 if not layer else 2):
        n.ip[k] = layout[k]
    n.ip[3] = stats is None
    n.dp[0] = eps
    n.aux = tg_buf_zeros(<size_t>(3 * groups + 1) * sizeof(double))
    if n.aux == NULL:
        tg_tnode_free(n)
        raise MemoryError("tapegrad: out of memory")
    cdef double[::1] given
    if stats is not None:
        given = np.ascontiguousarray(np.concatenate([np.ravel(s) for s in stats]),
                                     dtype=np.float64)
        if given.shape[0] != 2 * groups:
            tg_tnode_free(n)
            raise RuntimeError(f"batch_norm: expected {groups} running statistics per "
                               f"buffer, got {given.shape[0] // 2}")
        memcpy(n.aux.data, &given[0], <size_t>(2 * groups) * sizeof(double))
    cdef Tensor rm, rv
    try:
        rm = _running_arg(running_mean, x, groups)
        rv = _running_arg(running_var, x, groups)
    except BaseException:
        tg_tnode_free(n)
        raise
    cdef bint recording = _recordings_active and \
        getattr(_thread_tapes, "recording", None) is not None
    if not layer and stats is None:     # the kernel updates them (and so does a replay)
        n.dp[1] = momentum
        n.ip[4] = recording             # a replay's forward will: not this recording run
        if rm is not None:
            n.running[0] = rm.v.buf
            tg_buf_incref(rm.v.buf)
        if rv is not None:
            n.running[1] = rv.v.buf
            tg_buf_incref(rv.v.buf)
    cdef tg_buf *aux = n.aux
    cdef Tensor res
    statistics = None
    tg_buf_incref(aux)
    try:
        out = _run(TT_LAYER_NORM if layer else TT_BATCH_NORM, n, x, w)
        res = <Tensor>out
        if recording and (rm is not None or rv is not None):
            if res.index >= 0:          # on the recorded graph: its replays update them
                res.tape.t.tn[res.index].ip[4] = 0
            else:                       # off the graph (nothing to replay): update now
                tg_norm_update_running(aux, groups,
                                       <double>(x.v.numel // groups) if groups > 0 else 0.0,
                                       rm.v.buf if rm is not None else NULL,
                                       rv.v.buf if rv is not None else NULL, x.v.dtype,
                                       momentum)
        if want_stats:
            statistics = np.array(<double[:3 * groups]>(<double *>aux.data), copy=True) \
                if groups > 0 else np.zeros(0)
            statistics = statistics.reshape(3, groups)
    finally:
        tg_buf_decref(aux)
    if bias is not None:
        out = _norm_bias(out, <Tensor>bias, NAME_LAYER_NORM if layer else NAME_BATCH_NORM)
    return out, statistics


cdef Tensor _running_arg(object t, Tensor x, int64_t groups):
    """A running-statistics buffer: a tensor of groups elements in x's dtype, or None."""
    if t is None:
        return None
    cdef Tensor r = <Tensor>t
    _check_live(r)
    if r.v.dtype != x.v.dtype or r.v.numel != groups:
        raise RuntimeError(f"batch_norm: running statistics of {groups} elements in "
                           f"{_DTYPES[x.v.dtype]} expected, got {r.v.numel} in "
                           f"{_DTYPES[r.v.dtype]}")
    return r


cdef Tensor _norm_bias(Tensor out, Tensor b, int name):
    _check_live(b)
    if b.v.dtype != out.v.dtype:
        raise DtypeError(f"expected bias of dtype {_DTYPES[out.v.dtype]}, got "
                         f"{_DTYPES[b.v.dtype]}")
    cdef int64_t shape[8]
    cdef int nd
    if (tg_broadcast_shape(&out.v, &b.v, shape, &nd) != 0 or nd != out.v.ndim):
        raise RuntimeError(f"bias of shape {_shape_of(&b.v)} does not broadcast to the "
                           f"output's {_shape_of(&out.v)}")
    cdef tg_tnode *n = _node(out, b)
    n.out = out.v
    n.out.buf = NULL
    n.grad_fn = name
    return _run(TT_ADDMM, n, out, b)


cdef tuple _norm_row(const tg_tnode *n, uint8_t op):
    """The table row and ctx (dims, eps, stats, layer) of a normalisation slot."""
    cdef int nd = n.in_[0].ndim
    cdef int64_t groups, size = 1
    cdef int d
    if op == TT_BATCH_NORM:
        groups = n.ip[1]
        dims = (0,) + tuple(range(2, nd))
        stats = None
        if not n.ip[3]:
            arr = np.array(<double[:2 * groups]>(<double *>n.aux.data), copy=True) \
                if groups > 0 else np.zeros(0)
            stats = (arr[:groups], arr[groups:])
        return "native_batch_norm", (dims, n.dp[0], stats, False)
    d = nd
    while d > 0 and size < n.ip[1]:
        d -= 1
        size *= n.in_[0].shape[d]
    return "native_layer_norm", (tuple(range(d, nd)), n.dp[0], None, True)
