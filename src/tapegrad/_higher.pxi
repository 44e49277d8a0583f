# create_graph=True on the compiled engine (included by _engine.pyx): the tape's nodes
# read back as the op table's rows, so that the shared recording sweep
# (tapegrad/autograd/_higher.py) evaluates each row's generated graph rule
# (autograd/_graph_rules.py) with this engine's own ops. Only the reading is here:
# which row a kernel slot is, its constants (ctx), its operands and its result.

cdef tuple _REDUCTIONS = ("sum", "mean", "none")      # ip[0] of TT_MSE / TT_BCE


cdef object _operand(_Tape tape, tg_index i, int k):
    """Operand k of node i: the parent's handle (with its history) when the parent is
    on the graph, else the value recorded (a constant)."""
    cdef tg_tnode *n = tape.t.tn[i]
    cdef tg_index p = tape.t.a[i] if k == 0 else tape.t.b[i]
    if p >= 0:
        return _node_handle(tape, p)
    if n.in_[k].buf == NULL:
        return None
    return _wrap(&n.in_[k])


cdef tuple _reduced_dims(const tg_tnode *n):
    """The dims a TT_SUM / TT_MEAN slot reduced (ip[d] is 1 there), as many as the
    output lost (a size-1 dim read either way is the same)."""
    cdef int nd = n.in_[0].ndim
    if n.out.ndim == nd:
        return tuple(d for d in range(nd) if n.ip[d] == 1)
    sure = [d for d in range(nd) if n.ip[d] == 1 and n.in_[0].shape[d] != 1]
    maybe = [d for d in range(nd) if n.ip[d] == 1 and n.in_[0].shape[d] == 1]
    return tuple(sorted(sure + maybe[:nd - n.out.ndim - len(sure)]))


cdef tuple _row_of(_Tape tape, tg_index i):
    """(the table row's name, its ctx) for tensor slot i."""
    cdef tg_tnode *n = tape.t.tn[i]
    cdef uint8_t op = tape.t.op[i]
    cdef int name = n.grad_fn
    cdef double c = n.dp[0]
    cdef tuple sizes = _shape_of(&n.in_[0])
    if op == TT_ADD or op == TT_ADDMM:
        return "add", None
    if op == TT_SUB:
        return "sub", None
    if op == TT_MUL:
        return "mul", None
    if op == TT_DIV:
        return "div", None
    if op == TT_POW:
        return "pow", None
    if op == TT_ADD_C:
        return "add_scalar", c
    if op == TT_SUB_C:
        return "sub_scalar", c
    if op == TT_MUL_C:
        return ("clone", None) if name == NAME_CLONE else ("mul_scalar", c)
    if op == TT_RSUB_C:
        return "rsub", c
    if op == TT_DIV_C:
        return "div_scalar", c
    if op == TT_RDIV_C:
        return ("reciprocal", None) if name == NAME_RECIPROCAL else ("rdiv_scalar", c)
    if op == TT_POW_C:
        return "pow_scalar", c
    if op == TT_RPOW_C:
        return "rpow", c
    if op in _UNARY_ROWS:
        return _UNARY_ROWS[op], None
    if op == TT_CLAMP:
        return "clamp", (c if n.ip[0] else None, n.dp[1] if n.ip[1] else None)
    if op == TT_SUM:
        return "sum_dim", (sizes, _reduced_dims(n), n.out.ndim == n.in_[0].ndim)
    if op == TT_MEAN:
        return "mean_dim", (sizes, _reduced_dims(n), n.out.ndim == n.in_[0].ndim,
                            n.in_[0].numel // (n.out.numel if n.out.numel > 0 else 1))
    if op == TT_MAX_ALL or op == TT_MIN_ALL:
        return ("max" if op == TT_MAX_ALL else "min"), None
    if op == TT_MAX_DIM or op == TT_MIN_DIM:
        return ("max_dim" if op == TT_MAX_DIM else "min_dim"), (
            sizes, n.ip[0], n.out.ndim == n.in_[0].ndim, _as_numpy(&n.in_[1]))
    if op == TT_MM:
        return {NAME_DOT: "dot", NAME_MV: "mv", NAME_VM: "vm"}.get(name, "mm"), None
    if op == TT_BMM:
        return "bmm", None
    if op == TT_VIEW:
        return "view", sizes
    if op == TT_GATHER:
        return "_gather", (sizes, n.ip[0], [n.ip[1 + d] for d in range(n.out.ndim)])
    if op == TT_SOFTMAX or op == TT_LOG_SOFTMAX:
        return ("softmax" if op == TT_SOFTMAX else "log_softmax"), n.ip[0]
    if op == TT_PICK:
        return "pick", (sizes, (np.arange(sizes[0]), _as_numpy(&n.in_[1])))
    if op == TT_MSE:
        return "mse_loss", _REDUCTIONS[n.ip[0]]
    if op == TT_BCE:
        return "binary_cross_entropy", (_REDUCTIONS[n.ip[0]], None)
    if op == TT_CAST:
        return "to_copy", None
    if op == TT_INDEX:
        return _index_rule(n, sizes, name)
    if op == TT_WHERE and name == 0:
        return "where", np.frombuffer(_aux_bytes(n), dtype=np.bool_).reshape(
            _shape_of(&n.out))
    if op == TT_BATCH_NORM or op == TT_LAYER_NORM:
        return _norm_row(n, op)
    row = _tm_row_of(n, op, sizes)             # issue 11 item 5's kernels
    if row is not None:
        return row
    row = _act_row_of(n, op)                   # issue 12's (tg_activation.c)
    if row is not None:
        return row
    raise NotImplementedError(
        f"create_graph=True: no graph rule for the compiled engine's kernel "
        f"{_TORCH_NAMES.get(op, op)} (code {op})")


cdef dict _UNARY_ROWS = {TT_NEG: "neg", TT_EXP: "exp", TT_LOG: "log", TT_TANH: "tanh",
                         TT_RELU: "relu", TT_SIGMOID: "sigmoid", TT_ABS: "abs",
                         TT_SQRT: "sqrt"}


def _graph_handle(x):
    """The handle owning x's node (one object per node), or None off the graph."""
    if not isinstance(x, Tensor) or (<Tensor>x).index < 0:
        return None
    _check_live(x)
    return _node_handle((<Tensor>x).tape, (<Tensor>x).index)


def _graph_nodes(list roots):
    """The non-leaf nodes the roots depend on, children first, as the shared recording
    sweep reads them: (handle, row name, parents, operands, result, ctx). parents[k]
    is the handle of a parent on the graph, else None; operands are the parents or
    the constants recorded. A saved operand changed in place since raises as torch."""
    cdef _Tape tape
    cdef tg_index i, p
    cdef list stack = []
    cdef set seen = set()
    cdef list out = []
    for r in roots:
        if isinstance(r, Tensor) and (<Tensor>r).index >= 0:
            tape = (<Tensor>r).tape
            if tape.t.op[(<Tensor>r).index] != TT_LEAF:
                stack.append((<Tensor>r).index)
                seen.add((<Tensor>r).index)
    if not stack:
        return out
    order = []
    while stack:
        i = stack.pop()
        order.append(i)
        for p in _slot_parents(&tape.t, i):
            if p >= 0 and p not in seen and tape.t.op[p] != TT_LEAF:
                seen.add(p)
                stack.append(p)
    order.sort(reverse=True)
    cdef tg_tnode *n
    for i in order:
        n = tape.t.tn[i]
        if n == NULL:
            raise NotImplementedError("create_graph=True through a scalar Value node")
        if tape.t.op[i] == TT_PYFUNC or tape.t.op[i] == TT_PYFUNC_OUT:
            out.append(_function_row(tape, i))
            continue
        for k in range(2):
            if n.in_[k].buf != NULL and n.in_[k].buf.version != n.in_version[k]:
                _raise_modified(tape, i)
        name, ctx = ("_freed", None) if n.freed else _row_of(tape, i)
        parents = tuple(_node_handle(tape, p) if p >= 0 else None
                        for p in (tape.t.a[i], tape.t.b[i]))
        operands = (_operand(tape, i, 0), _operand(tape, i, 1))
        if tape.t.op[i] == TT_ADDMM:           # (product, bias): add's (self, other)
            operands = parents
        out.append((_node_handle(tape, i), name, parents, operands,
                     _node_handle(tape, i), ctx))
    return out


cdef dict _graph_grads = {}     # address of a leaf's .grad buffer -> that grad with history


def _set_graph_grad(x, g):
    """Make g (a tensor with history) leaf x's .grad: the leaf holds g's buffer and
    .grad hands out g itself while the leaf still holds that buffer."""
    cdef Tensor leaf = <Tensor>x
    cdef Tensor gt = <Tensor>(g.clone())          # its own buffer (a recorded copy)
    _wait_for_sweep(leaf.tape)
    cdef tg_tnode *n = leaf.tp.tn[leaf.index]
    cdef tg_buf **slot = &n.grad if leaf.tp.op[leaf.index] == TT_LEAF else &n.retained
    tg_buf_incref(gt.v.buf)
    tg_buf_decref(slot[0])
    slot[0] = gt.v.buf
    for key in [k for k, v in _graph_grads.items() if (<Tensor>v).v.buf.refs <= 1]:
        del _graph_grads[key]                      # no leaf holds that buffer any more
    _graph_grads[<size_t>gt.v.buf] = gt


cdef object _graph_grad_of(tg_buf *buf):
    """The grad with history whose buffer a leaf holds, or None."""
    return _graph_grads.get(<size_t>buf) if _graph_grads else None


# Value.backward(create_graph=True): slot key -> (leaf, its numeric grad then, the Value)
cdef dict _value_graph_grads = {}


cdef object _value_graph_grad(Value v):
    """v's .grad: the Value with history a create_graph backward gave it, while its
    numeric gradient is still the one that backward left; else the number."""
    cdef double num = v.t.grad[v.index]
    entry = _value_graph_grads.get(<size_t>v.t + <size_t>v.index)
    if entry is not None and entry[0] is v and entry[1] == num:
        return entry[2]
    return num


def _value_backward_recorded(Value root):
    """root.backward(create_graph=True) (tapegrad/autograd/_higher_scalar.py): the
    numbers accumulate into the leaves' .grad; .grad hands out the Values."""
    from .autograd import _higher_scalar
    cdef Value leaf
    for leaf, g in _higher_scalar.backward(_engine_module(), root).values():
        old = _value_graph_grad(leaf)
        total = g if not isinstance(old, Value) and old == 0.0 else old + g
        leaf.t.grad[leaf.index] = (<Value>total).t.value[(<Value>total).index]
        _value_graph_grads[<size_t>leaf.t + <size_t>leaf.index] = (
            leaf, leaf.t.grad[leaf.index], total)


cdef object _engine_module():
    import sys
    return sys.modules[__name__]


cdef bytes _aux_bytes(tg_tnode *n):
    """The TT_WHERE node's mask (n.aux, one byte per element of out)."""
    return (<char *>n.aux.data)[:n.out.numel]


cdef tuple _index_rule(tg_tnode *n, tuple sizes, int name):
    """The row and ctx of a TT_INDEX node (csrc/tg_index.h): the offsets it read."""
    cdef int p = <int>n.ip[1], q = <int>n.ip[2], nd = n.out.ndim
    shape = _shape_of(&n.out)
    tab = _as_numpy(&n.in_[1]).reshape(-1)
    rows = np.where(tab < 0, tab + n.ip[TG_IX_WRAP], tab)
    if name == NAME_EMBEDDING:
        return "embedding", (sizes, rows.reshape(shape[:q]),
                             n.ip[TG_IX_SKIP] if n.ip[TG_IX_HAS_SKIP] else -1)
    off = np.full(shape, n.ip[0], dtype=np.int64)
    for d in range(nd):
        if p <= d < p + q:
            continue
        view = [1] * nd
        view[d] = shape[d]
        off = off + (np.arange(shape[d], dtype=np.int64) * n.ip[3 + d]).reshape(view)
    block = (rows * n.ip[TG_IX_SCALE]).reshape(shape[p:p + q])
    off = off + block.reshape((1,) * p + block.shape + (1,) * (nd - p - q))
    return "index", (sizes, np.unravel_index(off, sizes) if sizes else ())


# -- retain_graph=False (csrc/tg_higher.h, tapegrad/_freed.py) -------------------

cdef int _raise_freed() except -1:
    from ._freed import raise_freed
    raise_freed()
    return -1


cdef void _free_graphs(list roots):
    """Free the saved tensors of the roots' graphs (after their sweeps)."""
    cdef Tensor r
    for obj in roots:
        r = <Tensor>obj
        if r.index >= 0:
            tg_tensor_free_graph(r.tp, r.index)


def _free_graph(roots):
    """The engine hook of a create_graph sweep with retain_graph=False."""
    _free_graphs([r for r in roots if isinstance(r, Tensor)])


def _thaw_graph(roots):
    """Unfreeze the slots of the roots' graphs for an inspection sweep
    (tapegrad._freed.thawed): [(tape, slot)] for _refreeze_graph."""
    cdef list token = []
    cdef Tensor r
    cdef tg_index i
    for obj in roots:
        if not isinstance(obj, Tensor) or (<Tensor>obj).index < (<Tensor>obj).tp.leaf_cap:
            continue
        r = <Tensor>obj
        for i in range(r.tp.low[r.index], r.index + 1):
            if r.tp.tn[i] != NULL and r.tp.tn[i].freed:
                r.tp.tn[i].freed = 0
                token.append((r.tape, i))
    return token


def _refreeze_graph(list token):
    cdef _Tape tape
    cdef tg_index i
    for tp, slot in token:
        tape = <_Tape>tp
        i = slot
        if i < tape.t.leaf_cap + tape.t.node_count and tape.t.tn[i] != NULL:
            tape.t.tn[i].freed = 1
