# grad_fn objects (PyTorch's names for the nodes that made tensors), included by
# _engine.pyx.

_TORCH_NAMES = {
    TT_ADD: "AddBackward0", TT_SUB: "SubBackward0", TT_MUL: "MulBackward0",
    TT_DIV: "DivBackward0", TT_POW: "PowBackward1", TT_ADD_C: "AddBackward0",
    TT_SUB_C: "SubBackward0", TT_MUL_C: "MulBackward0", TT_RSUB_C: "RsubBackward1",
    TT_DIV_C: "DivBackward0", TT_RDIV_C: "DivBackward0", TT_POW_C: "PowBackward0",
    TT_RPOW_C: "PowBackward1", TT_NEG: "NegBackward0", TT_EXP: "ExpBackward0",
    TT_LOG: "LogBackward0", TT_TANH: "TanhBackward0", TT_RELU: "ReluBackward0",
    TT_SIGMOID: "SigmoidBackward0", TT_ABS: "AbsBackward0", TT_SQRT: "SqrtBackward0",
    TT_CLAMP: "ClampBackward1", TT_SUM: "SumBackward0", TT_MEAN: "MeanBackward0",
    TT_MAX_ALL: "MaxBackward1", TT_MAX_DIM: "MaxBackward0", TT_MM: "MmBackward0",
    TT_VIEW: "ViewBackward0", TT_GATHER: "SliceBackward0", TT_SOFTMAX: "SoftmaxBackward0",
    TT_LOG_SOFTMAX: "LogSoftmaxBackward0", TT_PICK: "GatherBackward0",
    TT_MSE: "MseLossBackward0", TT_ADDMM: "AddmmBackward0", TT_BMM: "BmmBackward0",
    TT_MIN_ALL: "MinBackward1", TT_MIN_DIM: "MinBackward0",
}
# a node's grad_fn field picks one of these instead of the op's default name
_NAME_OVERRIDES = (None, "SumBackward1", "MeanBackward1", "DotBackward0", "MvBackward0",
                   "UnsqueezeBackward0", "SqueezeBackward0", "SelectBackward0",
                   "TransposeBackward0", "PermuteBackward0", "MvBackward0", "ExpandBackward0",
                   "SqueezeBackward1", "ViewBackward0", "UnsafeViewBackward0", "TBackward0")
cdef enum:
    NAME_SUM_DIM = 1
    NAME_MEAN_DIM = 2
    NAME_DOT = 3
    NAME_MV = 4
    NAME_UNSQUEEZE = 5
    NAME_SQUEEZE = 6
    NAME_SELECT = 7
    NAME_TRANSPOSE = 8
    NAME_PERMUTE = 9
    NAME_VM = 10
    NAME_EXPAND = 11
    NAME_SQUEEZE_DIM = 12
    NAME_UNSAFE_VIEW = 14
    NAME_T = 15


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

    @property
    def next_functions(self):
        if self.tape.t.epoch != self.epoch:
            raise RuntimeError("this grad_fn refers to a graph the tape has since compacted; "
                               "read tensor.grad_fn again")
        cdef tg_tape *t = &self.tape.t
        cdef tg_index a = t.a[self.index], b = t.b[self.index]
        cdef uint8_t op = t.op[self.index]
        if op == TT_ADDMM:
            return _addmm_next_functions(self.tape, a, b)
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
        elif op == TT_ADD_C or op == TT_SUB_C or op == TT_MUL_C or op == TT_DIV_C:
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


_GRAD_FN_CLASSES = {}     # one class per torch name, so type(grad_fn).__name__ reads right


cdef object _grad_fn_of(_Tape tape, tg_index i):
    cdef tg_tape *t = &tape.t
    if t.op[i] == TT_LEAF:
        return AccumulateGrad()
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
