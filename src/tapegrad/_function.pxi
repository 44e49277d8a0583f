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
    void (*tg_unhook_hook)(tg_tnode *n) noexcept nogil
    int (*tg_grad_hook_fn)(tg_tape *t, tg_index i) noexcept nogil

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


# ----------------------------------------------------------------------------
# Tensor.register_hook (the running of hooks: tapegrad/autograd/_tensor_hooks.py)



cdef object _register_tensor_hook(Tensor x, hook):
    from .autograd import _tensor_hooks as th
    th.refuse_without_grad(x)
    _check_live(x)
    cdef tg_tnode *n = x.tp.tn[x.index]
    entry = _tensor_hooks.get(<size_t>n)
    if entry is None:
        leaf = x.index if x.tp.op[x.index] == TT_LEAF else -1
        entry = _tensor_hooks[<size_t>n] = (th.new_hooks(), leaf, <size_t>x.tp)
        n.hooked = 1
    return th.add(entry[0], x, hook)


cdef void _unhook(tg_tnode *n) noexcept with gil:
    _tensor_hooks.pop(<size_t>n, None)


cdef int _grad_hook(tg_tape *t, tg_index i) noexcept nogil:
    with gil:
        return _grad_hook_gil(t, i)


cdef int _grad_hook_gil(tg_tape *t, tg_index i) noexcept:
    """Node i's gradient is complete: its hooks may replace it (copied in place)."""
    global _pyfunc_sweeping
    cdef tg_tape *outer = _pyfunc_sweeping
    _pyfunc_sweeping = t
    try:
        _run_node_hooks(t.tn[i])
        return 0
    except BaseException as exc:
        _pyfunc_errors.error = exc
        return TG_EPYFUNC
    finally:
        _pyfunc_sweeping = outer


cdef int _run_node_hooks(tg_tnode *n) except -1:
    entry = _tensor_hooks.get(<size_t>n)
    if entry is None or not entry[0]:
        return 0
    from .autograd import _tensor_hooks as th
    cdef tg_view v = n.out
    v.buf = n.grad
    g = _wrap(&v)
    out = th.run(entry[0], g)
    if out is not g:
        memcpy(n.grad.data, (<Tensor>out).v.buf.data,
               <size_t>n.out.numel * tg_dtype_size(n.out.dtype))
    return 0


cdef list _stash_hooked_leaves(tg_tape *t):
    """Before a sweep: the hooked leaves of t start from no gradient, so that their
    hooks see this sweep's gradient alone. [(slot, their .grad buffer)]."""
    cdef list out = []
    cdef tg_tnode *n
    for hooks, leaf, tape in list(_tensor_hooks.values()):
        if leaf < 0 or tape != <size_t>t or not hooks:
            continue
        n = t.tn[<tg_index>leaf]
        out.append((leaf, <size_t>n.grad))
        n.grad = NULL
    return out


cdef int _finish_hooked_leaves(tg_tape *t, list stash, bint ok) except -1:
    """After the sweep: each hooked leaf's new gradient through its hooks, then
    accumulated into the .grad it had (torch's AccumulateGrad after the hooks)."""
    cdef tg_tnode *n
    cdef tg_buf *old
    cdef tg_buf *new
    cdef tg_view v
    error = None
    for leaf, saved in stash:
        n = t.tn[<tg_index>leaf]
        old = <tg_buf *><size_t>saved
        new = n.grad
        n.grad = old
        if new == NULL:
            continue
        try:
            if ok and error is None:
                v = n.out
                v.buf = new
                _run_node_hooks_into(n, v)
        except BaseException as exc:
            error = exc
        finally:
            tg_buf_decref(new)
    if error is not None:
        raise error
    return 0


cdef int _run_node_hooks_into(tg_tnode *n, tg_view v) except -1:
    """Leaf n's gradient v through its hooks, added to n.grad (or made it)."""
    from .autograd import _tensor_hooks as th
    entry = _tensor_hooks.get(<size_t>n)
    g = _wrap(&v)
    out = th.run(entry[0], g) if entry is not None else g
    cdef Tensor r = <Tensor>out
    if n.grad == NULL:
        n.grad = tg_buf_new(v.buf.nbytes)
        if n.grad == NULL:
            raise MemoryError("tapegrad: out of memory")
        memcpy(n.grad.data, r.v.buf.data, v.buf.nbytes)
    else:
        _as_numpy_buf(n.grad, &n.out)[...] += _as_numpy(&r.v)
    return 0


tg_unhook_hook = _unhook
tg_grad_hook_fn = _grad_hook
