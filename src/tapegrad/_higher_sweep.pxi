# create_graph=True on the compiled engine: the recording sweep's walk in Cython
# (included by _engine.pyx after _higher.pxi). It does what the shared Python sweep
# (tapegrad/autograd/_higher.py: sweep, kept as the reference engine's path and as
# this one's oracle) does, over the tape's slots instead of handles: which nodes the
# roots depend on and which of them lead to an input are byte marks over the slot
# range, pending gradients are keyed by slot, and a node's row, operands and handles
# are read only when a gradient reaches it. Each node's derivative is still its
# table row's generated graph rule: the Cython one (_graph_rules_c.pxi) for rows of
# plain tensor arithmetic, sum_to, mm and t, else the Python one
# (autograd/_graph_rules.py via _higher._apply); both record with this engine's ops
# the nodes the oracle records.
# No collection runs during the sweep (slots stay put while it records).

cdef object _higher_py = None

# False: every row runs its Python rule (tests compare the generated Cython rules,
# _graph_rules_c.pxi, with them)
USE_CYTHON_RULES = [True]


cdef object _higher_module():
    global _higher_py
    if _higher_py is None:
        from .autograd import _higher
        _higher_py = _higher
    return _higher_py


cdef void _mark_ancestors(tg_tape *t, unsigned char[:] mark, tg_index lo, tg_index hi):
    """mark[i - lo] = 1 for the non-leaf slots the marked roots depend on."""
    cdef tg_index i, p, k
    for i in range(hi, lo - 1, -1):
        if not mark[i - lo]:
            continue
        for k in range(2):
            p = t.a[i] if k == 0 else t.b[i]
            if p >= t.leaf_cap:
                mark[p - lo] = 1


cdef int _mark_leads(tg_tape *t, unsigned char[:] mark, unsigned char[:] leads,
                     tg_index lo, tg_index hi, set wanted) except -1:
    """leads[i - lo] = 1 for the marked slots an input (a slot of wanted) is reachable
    from: parents first."""
    cdef tg_index i, p, k
    for i in range(lo, hi + 1):
        if not mark[i - lo]:
            continue
        for k in range(2):
            p = t.a[i] if k == 0 else t.b[i]
            if p >= 0 and (p in wanted or (p >= lo and p >= t.leaf_cap and leads[p - lo])):
                leads[i - lo] = 1
                break
    return 0


# the table's functions the generated Cython rules call (_graph_rules_c.pxi), as the
# Python helpers (autograd/_graph_helpers.py) compute them

cdef Tensor _graph_sum_to(Tensor g, object parent):
    if _same_shape(&g.v, &(<Tensor>parent).v):
        return g
    from .autograd import _graph_helpers
    return <Tensor>_graph_helpers.sum_to(g, parent)


cdef Tensor _graph_mm(Tensor a, Tensor b):
    return <Tensor>a.mm(b)


cdef Tensor _graph_t(Tensor x):
    return <Tensor>x.t()


cdef object _fit_to(object gp, tg_tape *t, tg_index p, object parent):
    """A parent's gradient in its shape and dtype (the oracle's _fit)."""
    cdef Tensor g = <Tensor>gp
    cdef tg_tnode *n = t.tn[p]
    if not _same_shape(&g.v, &n.out):
        from .autograd import _graph_helpers
        gp = _graph_helpers.sum_to(gp, parent)
        g = <Tensor>gp
    if g.v.dtype != n.out.dtype:
        gp = gp.to(_DTYPES[n.out.dtype])
    return gp


cdef bint _has_custom_function(tg_tape *t, list roots):
    """A custom autograd.Function node lies in the slot range the roots depend on."""
    cdef tg_index i, slot, lo = -1, hi = -1
    for obj in roots:
        slot = (<Tensor>obj).index
        if slot >= t.leaf_cap:
            hi = slot if slot > hi else hi
            lo = t.low[slot] if lo < 0 or t.low[slot] < lo else lo
    if hi < 0:
        return False
    for i in range(lo, hi + 1):
        if t.op[i] == TT_PYFUNC or t.op[i] == TT_PYFUNC_OUT:
            return True
    return False


def _record_sweep(list roots, list seeds, inputs):
    """The recording sweep (autograd/_higher.py: sweep's contract): {id(handle):
    (handle, gradient)} for the leaves (inputs None) or the inputs given. None when
    the roots are not all tensors of one tape (the caller then runs the oracle)."""
    cdef _Tape tape = None
    cdef Tensor r
    for obj in roots:
        if not isinstance(obj, Tensor) or (<Tensor>obj).index < 0:
            return None
        r = <Tensor>obj
        _check_live(r)
        if tape is None:
            tape = r.tape
        elif r.tape is not tape:
            return None
    cdef tg_tape *t = &tape.t
    if _has_custom_function(t, roots):
        return None                     # its n-ary call node: the oracle's walk handles it
    cdef int no_collect = t.no_collect
    t.no_collect = 1
    try:
        return _record_sweep_on(tape, roots, seeds, inputs)
    finally:
        t.no_collect = no_collect


cdef dict _record_sweep_on(_Tape tape, list roots, list seeds, inputs):
    higher = _higher_module()
    eng = _engine_module()
    cdef tg_tape *t = &tape.t
    cdef dict pending = {}
    cdef tg_index i, lo = -1, hi = -1, slot
    for k, (obj, g) in enumerate(zip(roots, seeds)):
        slot = (<Tensor>obj).index
        g = higher._seed(eng, obj, g, k)
        pending[slot] = pending[slot] + g if slot in pending else g
        if slot >= t.leaf_cap:
            hi = slot if hi < 0 or slot > hi else hi
            lo = t.low[slot] if lo < 0 or t.low[slot] < lo else lo
    cdef set wanted = None
    if inputs is not None:
        wanted = {(<Tensor>x).index for x in inputs}
    cdef dict done = {}
    if hi >= 0:
        _sweep_slots(tape, pending, done, wanted, lo, hi, higher)
    for key, g in pending.items():        # leaves (and roots that are leaves)
        done.setdefault(key, g)
    out = {}
    for key, g in done.items():
        if wanted is None or key in wanted:
            h = _node_handle(tape, key)
            out[id(h)] = (h, g)
    return out


cdef int _sweep_slots(_Tape tape, dict pending, dict done, set wanted, tg_index lo,
                      tg_index hi, object higher) except -1:
    """The nodes in [lo, hi] the roots (pending) depend on, children first."""
    cdef tg_tape *t = &tape.t
    cdef tg_index i, k, p
    cdef tg_tnode *n
    mark_buf = bytearray(hi - lo + 1)
    cdef unsigned char[:] mark = mark_buf
    for slot in pending:
        if slot >= t.leaf_cap:
            mark[<tg_index>slot - lo] = 1
    _mark_ancestors(t, mark, lo, hi)
    cdef unsigned char[:] leads = mark
    if wanted is not None:
        leads_buf = bytearray(hi - lo + 1)
        leads = leads_buf
        _mark_leads(t, mark, leads, lo, hi, wanted)
    cdef list parents
    for i in range(hi, lo - 1, -1):
        if not mark[i - lo]:
            continue
        g = pending.pop(i, None)
        if g is None:
            continue
        if wanted is not None and i in wanted:
            done[i] = g
        if not leads[i - lo]:
            continue
        n = t.tn[i]
        if n == NULL:
            raise NotImplementedError("create_graph=True through a scalar Value node")
        if n.freed:
            _raise_freed()
        for k in range(2):
            if n.in_[k].buf != NULL and n.in_[k].buf.version != n.in_version[k]:
                _raise_modified(tape, i)
        parents = [None, None]
        all_parents = [None, None]
        for k in range(2):
            p = t.a[i] if k == 0 else t.b[i]
            if p < 0:
                continue
            all_parents[k] = _node_handle(tape, p)
            if wanted is None or p in wanted or (p >= t.leaf_cap and leads[p - lo]):
                parents[k] = all_parents[k]
        if parents[0] is None and parents[1] is None:
            continue
        grads = None
        if USE_CYTHON_RULES[0]:
            grads = _fast_graph_rule(tape, i, <Tensor>g, tuple(parents))
        if grads is None:                  # the row's Python rule
            name, ctx = _row_of(tape, i)
            if t.op[i] == TT_ADDMM:        # (product, bias): add's (self, other)
                operands = tuple(all_parents)
            else:
                operands = (_operand(tape, i, 0), _operand(tape, i, 1))
            grads = higher._apply(name, g, tuple(parents), operands, _node_handle(tape, i),
                                  ctx)
        for k in range(len(grads)):
            gp = grads[k]
            if k > 1 or parents[k] is None or gp is None:
                continue
            p = t.a[i] if k == 0 else t.b[i]
            gp = _fit_to(gp, t, p, parents[k])
            pending[p] = pending[p] + gp if p in pending else gp
    return 0
