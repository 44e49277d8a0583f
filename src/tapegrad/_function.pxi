# Custom autograd.Function calls on the compiled tape (included by _engine.pyx):
# recording a call (the hook of tapegrad/autograd/function.py) and the one step of
# the C sweep that calls Python (csrc/tg_pyfunc.c takes the GIL for it only).

cdef extern from "tg_pyfunc.h":
    ctypedef struct tg_pyfunc:
        void *ctx
        int64_t n_out
        tg_buf **out_grads
    enum: TG_EPYFUNC
    int (*tg_pyfunc_backward_hook)(tg_tape *t, tg_index i) noexcept nogil
    void (*tg_pyfunc_release_hook)(void *ctx) noexcept nogil
    tg_pyfunc *tg_pyfunc_new(void *ctx, int64_t n_out)
    void tg_pyfunc_free(tg_pyfunc *f)
    tg_index tg_tape_push_pyfunc(tg_tape *t, tg_index nargs, tg_tnode *tnode)
    int tg_pyfunc_send(tg_tape *t, tg_index p, const void *g) nogil
    void tg_pyfunc_drop_out_grads(tg_pyfunc *f) nogil

cdef extern from "Python.h":
    void Py_INCREF(object o)
    void Py_DECREF(object o)

cdef object _pyfunc_errors = threading.local()   # the exception a backward raised in a sweep


def _tensor_version(Tensor x):
    """x's version counter (bumped by each in-place change of its memory)."""
    return x.v.buf.version if x.v.buf != NULL else 0


cdef class _CallSlot:
    """Holds a call slot's index while its outputs are appended (a reserve may move it)."""
    cdef tg_index index


def _function_refuse_replay(str name):
    """A custom Function inside a function being recorded for replay is refused."""
    if _recordings_active and getattr(_thread_tapes, "recording", None) is not None:
        raise RuntimeError(
            f"the custom autograd.Function {name} cannot be recorded for replay "
            "(tapegrad.compile / record): its forward and backward are Python, which a "
            "replayed program does not re-run. Call it outside the compiled function, or "
            "run this step eagerly.")


def _function_record(ctx, list inputs, list outputs, list dirty):
    """Record a call of ctx's Function: one TT_PYFUNC slot over ``inputs`` (Tensors
    requiring grad, or None) and one TT_PYFUNC_OUT slot per tensor of ``outputs``;
    returns the outputs' handles (a dirty one is re-attached in place)."""
    cdef Tensor x, r
    cdef _Tape tape = None
    for obj in inputs:
        if obj is None:
            continue
        x = <Tensor?>obj
        _check_live(x)
        if tape is None:
            tape = x.tape
        elif x.tape is not tape:
            _raise_mixed()
    cdef tg_tape *t = &tape.t
    cdef tg_index nargs = len(inputs)
    cdef _CallSlot call = _CallSlot()
    _reserve(tape, nargs)
    cdef tg_tnode *n = tg_tnode_new()
    cdef tg_pyfunc *f = tg_pyfunc_new(<void *>ctx, len(outputs))
    if n == NULL or f == NULL:
        tg_tnode_free(n)
        raise MemoryError("tapegrad: out of memory")
    Py_INCREF(ctx)                              # the record's reference
    n.pyfunc = f
    for obj in inputs:
        tg_tape_push_arg(t, (<Tensor>obj).index if obj is not None else -1, 0.0)
    call.index = tg_tape_push_pyfunc(t, nargs, n)
    t.owner[call.index] = &call.index           # kept while its outputs are appended
    cdef list result = []
    try:
        for k, obj in enumerate(outputs):
            x = <Tensor?>obj
            _reserve(tape, 0)
            n = tg_tnode_new()
            if n == NULL:
                raise MemoryError("tapegrad: out of memory")
            n.out = x.v
            tg_buf_incref(n.out.buf)
            n.ip[0] = k
            n.out_version = x.v.buf.version
            if dirty[k]:                        # mark_dirty: the input's handle moves on
                r = x
                if r.index >= 0:
                    t.owner[r.index] = NULL
            else:
                r = Tensor.__new__(Tensor)
                r.v = x.v
                tg_buf_incref(r.v.buf)
            r.tape = tape
            r.tp = t
            r.index = tg_tape_push_tensor(t, TT_PYFUNC_OUT, call.index, -1, n, &r.index)
            result.append(r)
    finally:
        t.owner[call.index] = NULL
    return result


cdef void _pyfunc_release(void *ctx) noexcept with gil:
    Py_DECREF(<object>ctx)


cdef int _pyfunc_backward_hook(tg_tape *t, tg_index i) noexcept nogil:
    with gil:
        return _pyfunc_backward(t, i)


cdef int _pyfunc_backward(tg_tape *t, tg_index i) noexcept:
    """The sweep's step for call slot i, with the GIL: ctx's backward (one Python
    call), its gradients added to the parents'. An exception is kept for the caller."""
    global _pyfunc_sweeping
    cdef tg_pyfunc *f = <tg_pyfunc *>t.tn[i].pyfunc
    cdef tg_tape *outer = _pyfunc_sweeping
    _pyfunc_sweeping = t                        # no recording on t meanwhile (_check_idle)
    try:
        return _pyfunc_step(t, i, f)
    except BaseException as exc:
        _pyfunc_errors.error = exc
        return TG_EPYFUNC
    finally:
        tg_pyfunc_drop_out_grads(f)
        _pyfunc_sweeping = outer


cdef int _pyfunc_step(tg_tape *t, tg_index i, tg_pyfunc *f) except -9:
    ctx = <object>f.ctx
    cdef list grads = []
    cdef tg_view v
    for k in range(f.n_out):
        if f.out_grads[k] == NULL:
            grads.append(None)
            continue
        shape, dtype = ctx._slot_layouts[k]
        _set_shape(&v, shape, _dtype_code(dtype))
        v.buf = f.out_grads[k]
        grads.append(_wrap(&v))
    result = ctx._engine_backward(grads)
    cdef const tg_arg *args = t.args + t.a[i]   # (read after Python ran: t cannot grow)
    cdef tg_index p
    cdef Tensor g
    cdef tg_tnode *pn
    for k in range(t.b[i]):
        p = args[k].index
        if p < 0 or result[k] is None:
            continue
        g = <Tensor>result[k]
        pn = t.tn[p]
        if pn == NULL or pn.out.buf == NULL or not _same_layout(&pn.out, &g.v):
            from ._format import invalid_gradient
            raise RuntimeError(invalid_gradient(ctx.name(), k, _layout_of(&g.v),
                                                _layout_of(&pn.out)))
        if tg_pyfunc_send(t, p, g.v.buf.data) != 0:
            return -1
    return 0


cdef int _raise_pyfunc_error() except -1:
    exc = getattr(_pyfunc_errors, "error", None)
    _pyfunc_errors.error = None
    if exc is None:
        raise RuntimeError("tapegrad: a custom Function's backward failed")
    raise exc


cdef object _pyfunc_ctx(tg_tape *t, tg_index i):
    """The ctx (grad_fn) of a TT_PYFUNC_OUT or TT_PYFUNC slot."""
    if t.op[i] == TT_PYFUNC_OUT:
        i = t.a[i]
    return <object>(<tg_pyfunc *>t.tn[i].pyfunc).ctx


tg_pyfunc_backward_hook = _pyfunc_backward_hook
tg_pyfunc_release_hook = _pyfunc_release


cdef tuple _slot_parents(tg_tape *t, tg_index i):
    """The parent slots of node i (-1: none): a call's are its tape args."""
    if t.op[i] == TT_PYFUNC:
        return tuple(t.args[t.a[i] + k].index for k in range(t.b[i]))
    return (t.a[i], t.b[i])


cdef tuple _function_row(_Tape tape, tg_index i):
    """A call or output slot as the shared recording sweep reads it
    (tapegrad/autograd/function.py: graph_step)."""
    cdef tg_tape *t = &tape.t
    me = _node_handle(tape, i)
    ctx = _pyfunc_ctx(t, i)
    if t.op[i] == TT_PYFUNC_OUT:
        call = (_node_handle(tape, t.a[i]),)
        return (me, "_function_output", call, call, me, (ctx, t.tn[i].ip[0]))
    parents = tuple(_node_handle(tape, p) if p >= 0 else None for p in _slot_parents(t, i))
    return (me, "_function", parents, parents, me, ctx)
