# grad_fn objects (PyTorch's names for the nodes that made tensors), included by
# _engine.pyx.

# _TORCH_NAMES (a kernel's default name) and _NAME_OVERRIDES (by a node's grad_fn id)
# come from _ops_table.pxi, generated from tools/ops.py.


# ----------------------------------------------------------------------------
# grad_fn objects

cdef class AccumulateGrad:
    cdef readonly object variable

    def name(self):
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


cdef class _GradFn:
    """The node that made a tensor (PyTorch's grad_fn), valid until the tape compacts."""
    cdef _Tape tape
    cdef tg_index index
    cdef int64_t epoch
    cdef readonly str _name

    def name(self):
        return self._name

    def __repr__(self):
        return f"<{self._name} object at {id(self):#x}>"

    cdef int _check_epoch(self) except -1:
        if self.tape.t.epoch != self.epoch:
            raise RuntimeError("this grad_fn refers to a graph the tape has since compacted; "
                               "read tensor.grad_fn again")
        return 0

    def _output(self):
        """The tensor this node computed (for ``tapegrad.draw`` / ``explain``)."""
        self._check_epoch()
        return _node_handle(self.tape, self.index)

    @property
    def next_functions(self):
        self._check_epoch()
        cdef tg_tape *t = &self.tape.t
        cdef tg_index a = t.a[self.index], b = t.b[self.index]
        cdef uint8_t op = t.op[self.index]
        if op == TT_ADDMM:
            out = _addmm_next_functions(self.tape, a, b)
            if t.tn[self.index].grad_fn in (NAME_BATCH_NORM, NAME_LAYER_NORM):
                return out[1:] + out[:1]        # torch's (input, weight, bias)
            return out
        if t.tn[self.index].grad_fn == NAME_NLL_LOSS:
            return _nll_next_functions(self.tape, self.index)
        out = []
        if a >= 0:
            out.append((_grad_fn_of(self.tape, a), 0))
        else:
            out.append((None, 0))
        if b >= 0:
            out.append((_grad_fn_of(self.tape, b), 0))
        elif (t.tn[self.index].in_[1].buf != NULL and op != TT_MAX_DIM and op != TT_MIN_DIM
              and op != TT_PICK):
            out.append((None, 0))
        elif ((op == TT_ADD_C or op == TT_SUB_C or op == TT_MUL_C or op == TT_DIV_C)
              and t.tn[self.index].grad_fn != NAME_CLONE):
            out.append((None, 0))      # the Python number, as torch shows it
        return tuple(out)


cdef tuple _addmm_next_functions(_Tape tape, tg_index product, tg_index bias):
    """torch's (bias, mat1, mat2) for an addmm node: its parents are the bias and
    the product slot (TT_MM), whose own parents are mat1 and mat2."""
    cdef tg_tape *t = &tape.t
    out = [(_grad_fn_of(tape, bias) if bias >= 0 else None, 0)]
    cdef tg_index pa = t.a[product] if product >= 0 else -1
    cdef tg_index pb = t.b[product] if product >= 0 else -1
    out.append((_grad_fn_of(tape, pa) if pa >= 0 else None, 0))
    out.append((_grad_fn_of(tape, pb) if pb >= 0 else None, 0))
    return tuple(out)


cdef tuple _nll_next_functions(_Tape tape, tg_index i):
    """torch's (input,) for nll_loss's last node: down its chain (mean / sum, neg) to
    the pick, whose parent is the input."""
    cdef tg_tape *t = &tape.t
    while i >= 0 and t.op[i] != TT_PICK:
        i = t.a[i]
    cdef tg_index x = t.a[i] if i >= 0 else -1
    return ((_grad_fn_of(tape, x) if x >= 0 else None, 0),)


_GRAD_FN_CLASSES = {}     # one class per torch name, so type(grad_fn).__name__ reads right


cdef object _node_handle(_Tape tape, tg_index i):
    """The Value or Tensor that owns slot i. When none does (an intermediate whose
    handle is gone), a new one, made the slot's owner as the op's result was."""
    cdef tg_tape *t = &tape.t
    if t.owner[i] != NULL:
        return _handle_of(t, i)
    cdef Value v
    cdef Tensor r
    if t.tn[i] == NULL:
        v = Value.__new__(Value)
        v.tape = tape
        v.t = t
        v.index = i
        t.owner[i] = &v.index
        return v
    r = Tensor.__new__(Tensor)
    r.v = t.tn[i].out
    tg_buf_incref(r.v.buf)
    r.tape = tape
    r.tp = t
    r.index = i
    t.owner[i] = &r.index
    return r


cdef object _grad_fn_of(_Tape tape, tg_index i):
    cdef tg_tape *t = &tape.t
    cdef AccumulateGrad acc
    if t.op[i] == TT_LEAF:
        acc = AccumulateGrad()
        acc.variable = _node_handle(tape, i)
        return acc
    if t.op[i] == TT_PYFUNC_OUT or t.op[i] == TT_PYFUNC:
        return _pyfunc_ctx(t, i)
    cdef int override = t.tn[i].grad_fn
    name = _NAME_OVERRIDES[override] if override else _TORCH_NAMES.get(t.op[i], "Backward")
    cls = _GRAD_FN_CLASSES.get(name)
    if cls is None:
        cls = _GRAD_FN_CLASSES[name] = type(name, (_GradFn,), {"__module__": "tapegrad"})
    cdef _GradFn f = _GradFn.__new__(cls)
    f.tape = tape
    f.index = i
    f.epoch = t.epoch
    f._name = name
    return f
