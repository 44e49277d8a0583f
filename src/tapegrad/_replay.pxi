# Replay (included by _engine.pyx): record fn once, then re-run its graph in C
# on new inputs. The program lives in csrc/tg_replay.c; this file flattens
# arguments, notes guards while fn runs, and binds leaves before each run.
# The user-facing API (tapegrad.compile, tapegrad.record) is src/tapegrad/_replay.py.

from cpython.ref cimport PyObject
from libc.stdlib cimport calloc, malloc, free

cdef extern from "tg_replay.h" nogil:
    enum:
        TG_GUARD_LT, TG_GUARD_LE, TG_GUARD_GT, TG_GUARD_GE, TG_GUARD_READ
        TG_REPLAY_EBADTARGET

    ctypedef struct tg_program:
        tg_tape tape             # the program: leaves, then the recorded nodes in order
        tg_index nleaves         # leaf slots [0, nleaves)
        tg_index root            # slot of the loss
        int stale                # a binding changed: relink before forward
        tg_index nguards         # scalar guards
        int64_t bad_target       # after TG_REPLAY_EBADTARGET: the class target at fault

    tg_index tg_program_scan(tg_tape *live, const tg_index *roots, tg_index nroots,
                             tg_index first_node, tg_index *leaves)
    int tg_program_build(tg_program *p, tg_tape *live, const tg_index *roots, tg_index nroots,
                         const tg_index *leaves, const uint8_t *leaf_needs_grad,
                         tg_index nleaves, tg_index *map)
    void tg_program_free(tg_program *p)
    int tg_program_add_guard(tg_program *p, uint8_t how, uint8_t expected, tg_index a,
                             tg_index b, double c)
    int tg_program_forward(tg_program *p)
    tg_index tg_program_failed_guard(const tg_program *p)
    int tg_program_backward(tg_program *p)
    void tg_program_bind_tensor(tg_program *p, tg_index i, tg_buf *buf)
    void tg_program_replace_buffer(tg_program *p, tg_buf *old, tg_buf *buf)
    void tg_program_bind_grad(tg_program *p, tg_index i, tg_buf *grad)
    void tg_program_relink(tg_program *p)
    tg_index tg_program_map(tg_program *p, const double *inputs, tg_index nrows,
                            tg_index ninputs, const tg_index *slots, int backward,
                            double *losses, double *input_grads)
    tg_index tg_program_map_threads(tg_program *p, const double *inputs, tg_index nrows,
                                    tg_index ninputs, const tg_index *slots, int backward,
                                    double *losses, double *input_grads, int nthreads)


cdef enum:
    RUN_FORWARD = 0
    RUN_BACKWARD = 1
    RUN_MAP = 2


class _GuardFailed(Exception):
    """A replay's guard came out differently from the recording (message says which)."""


_CMP_SYMBOLS = ("<", "<=", ">", ">=", "==", "!=")


cdef int _recordings_active = 0     # recordings running on any thread (a cheap first test)


cdef class _Recording:
    """What fn did on this thread's tape that the graph alone does not show."""
    cdef list scalar_guards      # (how, Value a, Value b or None, constant, outcome)
    cdef list tensor_guards      # (how, Tensor a, Tensor/number b, numpy outcome); how 6 = read
    cdef dict arg_buffers        # buffer address -> position, of tensor arguments that are no
                                 # leaf (int64 targets): ops on them are not on the graph
    cdef set args_used           # positions of those whose values fn used off the graph
    cdef dict constants          # id -> Tensor: tensors off the graph that recorded nodes read
    cdef _Tape other_tape        # fn combined our arguments with another thread's tape
    cdef set grad_buffers        # addresses of gradient buffers fn was handed (.grad)

    def __cinit__(self):
        self.scalar_guards = []
        self.tensor_guards = []
        self.arg_buffers = {}
        self.args_used = set()
        self.constants = {}
        self.grad_buffers = set()


cdef int _note_other_tape(_Tape a, _Tape b) except -1:
    """Two tapes met in one op: if one is recording, the other is where the
    parameters live (made on another thread): record again there."""
    if a.recorder is not None:
        (<_Recording>a.recorder).other_tape = b
    elif b.recorder is not None:
        (<_Recording>b.recorder).other_tape = a
    return 0


cdef int _note_constant(_Tape tape, Tensor x) except -1:
    """A recorded node reads x, which is not on the graph: a replay reads x's buffer
    as it is then (x.data = ... included), unless x is an argument."""
    cdef _Recording rec = <_Recording>tape.recorder
    if <size_t>x.v.buf not in rec.arg_buffers:
        rec.constants[id(x)] = x
    return 0


cdef class _Constant:
    """A tensor off the graph that the program reads, and the buffer it reads now."""
    cdef Tensor handle
    cdef tg_buf *buf             # one reference held
    cdef tg_view recorded        # shape and dtype when recorded (no buffer)

    def __dealloc__(self):
        tg_buf_decref(self.buf)


cdef int _note_arg_use(Tensor x) except -1:
    """x, not on the graph, was used while recording: if it is a tensor argument, a
    replay is valid only for equal values of it."""
    cdef _Recording rec = getattr(_thread_tapes, "recording", None)
    if rec is not None:
        k = rec.arg_buffers.get(<size_t>x.v.buf)
        if k is not None:
            rec.args_used.add(k)
    return 0


cdef inline _Recording _recording_of(_Tape tape):
    return <_Recording>tape.recorder if tape is not None and tape.recorder is not None else None


cdef int _note_value_compare(Value v, object other, int how, bint outcome) except -1:
    cdef _Recording rec = _recording_of(v.tape)
    if rec is not None:
        if type(other) is Value:
            rec.scalar_guards.append((how, v, other, 0.0, outcome))
        else:
            rec.scalar_guards.append((how, v, None, float(other), outcome))
    return 0


cdef int _note_value_read(Value v) except -1:
    cdef _Recording rec = _recording_of(v.tape)
    if rec is not None:
        rec.scalar_guards.append((TG_GUARD_READ, v, None, v.t.value[v.index], True))
    return 0


cdef int _note_tensor_read(Tensor x) except -1:
    """x's value left the graph (item(), .data, detach(), an unrecorded op...):
    a replay must see the same value, or record again."""
    cdef _Recording rec
    if x.index >= 0:
        rec = _recording_of(x.tape)
        if rec is not None:
            rec.tensor_guards.append((6, x, None, _as_numpy(&x.v).copy()))
    elif _recordings_active:
        _note_arg_use(x)
    return 0


cdef int _note_tensor_compare(Tensor x, object other, int how, object outcome) except -1:
    cdef _Recording rec = None
    if x.index >= 0:
        rec = _recording_of(x.tape)
    elif isinstance(other, Tensor) and (<Tensor>other).index >= 0:
        rec = _recording_of((<Tensor>other).tape)
    elif _recordings_active:
        _note_arg_use(x)
        if isinstance(other, Tensor):
            _note_arg_use(<Tensor>other)
    if rec is not None:
        rec.tensor_guards.append((how, x, other, _as_numpy(&(<Tensor>outcome).v).copy()))
    return 0


cdef int _refuse_backward_while_recording(_Tape tape) except -1:
    if tape.recorder is not None:
        raise RuntimeError("backward() inside a function being recorded for replay: fn must "
                           "return the loss; the compiled step (or Tape.backward) runs backward")
    return 0


cdef int _refuse_while_recording(str what) except -1:
    """Changes of state that a replay would not repeat are errors inside fn."""
    if _recordings_active and getattr(_thread_tapes, "recording", None) is not None:
        raise RuntimeError(f"{what} inside a function being recorded for replay would not be "
                           "repeated by the replays; do it outside fn, before or after the "
                           "compiled call")
    return 0


cdef int _refuse_clear_while_recording(_Tape tape) except -1:
    """clear_tape() would free the nodes a recording is made of (and its guards' Values)."""
    _refuse_while_recording("tapegrad.clear_tape()")
    if tape.recorder is not None:
        raise RuntimeError("tapegrad.clear_tape(): this tape is recording for replay on "
                           "another thread; clear it after that recording ends")
    return 0


cdef int _refuse_inplace_while_recording(Tensor x, str name) except -1:
    """In place inside fn: a recorded tensor or a gradient changed in place would not
    be changed by the replays (a tensor fn makes and fills itself is fine)."""
    cdef _Recording rec = getattr(_thread_tapes, "recording", None)
    if rec is None:
        return 0
    if x.index >= 0:
        _refuse_while_recording(f"{name} on a tensor of the graph")
    if <size_t>x.v.buf in rec.grad_buffers:
        _refuse_while_recording(f"{name} on a gradient")
    return 0


cdef int _note_grad_handed_out(tg_buf *buf) except -1:
    """A .grad tensor left the engine while recording: changing it in place is refused."""
    cdef _Recording rec = getattr(_thread_tapes, "recording", None)
    if rec is not None:
        rec.grad_buffers.add(<size_t>buf)
    return 0


cdef int _note_random(str name) except -1:
    """Random numbers drawn while recording become constants of the recording."""
    if _recordings_active and getattr(_thread_tapes, "recording", None) is not None:
        import warnings
        warnings.warn(f"tapegrad.{name}() inside a function being recorded for replay: the "
                      "numbers drawn now are replayed unchanged on every call; draw them "
                      "outside and pass them as arguments", RuntimeWarning, stacklevel=3)
    return 0


# ----------------------------------------------------------------------------
# Arguments: nested lists/tuples of numbers, Values, Tensors and numpy arrays

cdef enum:
    ARG_NUMBER = 0               # a Python number: fn gets a Value
    ARG_VALUE = 1                # a Value: fn gets a Value; its .grad receives the gradient


cdef enum:
    MAX_ARG_NESTING = 100        # lists in lists: as the reference engine's (reference/_replay.py)

_TOO_DEEP = (f"replay arguments nest lists or tuples more than {MAX_ARG_NESTING} deep (a list "
             "that contains itself?)")


cdef object _flatten(object o, list scalars, list tensors, list sig, int depth=0):
    """Append o's leaves to scalars / tensors and its structure to sig."""
    cdef double c
    if type(o) is Value:
        scalars.append(o)
        sig.append(ARG_VALUE)
    elif type(o) is float or type(o) is int:
        scalars.append(o)
        sig.append(ARG_NUMBER)
    elif isinstance(o, Tensor):
        tensors.append(o)
        sig.append((_shape_of(&(<Tensor>o).v), (<Tensor>o).v.dtype, (<Tensor>o).index >= 0))
    elif isinstance(o, (list, tuple)):
        if depth == MAX_ARG_NESTING:
            raise RecursionError(_TOO_DEEP)
        sig.append((type(o), len(o)))
        for item in o:
            _flatten(item, scalars, tensors, sig, depth + 1)
    elif isinstance(o, np.ndarray):
        _flatten(as_tensor(o), scalars, tensors, sig, depth)
    elif isinstance(o, bool):
        raise TypeError("replay arguments may be numbers, Values, Tensors, numpy arrays and "
                        "lists or tuples of them, not 'bool'")
    elif _real(o, &c):
        scalars.append(c)
        sig.append(ARG_NUMBER)
    else:
        raise TypeError(f"replay arguments may be numbers, Values, Tensors, numpy arrays and "
                        f"lists or tuples of them, not '{type(o).__name__}'")


cdef object _unflatten(list sig, Py_ssize_t *k, list scalars, Py_ssize_t *ks,
                       list tensors, Py_ssize_t *kt):
    """Rebuild one argument from sig[k:], taking leaves from scalars / tensors."""
    entry = sig[k[0]]
    k[0] += 1
    if type(entry) is int:
        ks[0] += 1
        return scalars[ks[0] - 1]
    if type(entry[0]) is type:
        items = [_unflatten(sig, k, scalars, ks, tensors, kt) for _ in range(entry[1])]
        return items if entry[0] is list else tuple(items)
    kt[0] += 1
    return tensors[kt[0] - 1]


def _rebuild(list sig, list scalars, list tensors, Py_ssize_t nargs):
    """The argument tuple that sig describes, with these leaves."""
    cdef Py_ssize_t k = 0, ks = 0, kt = 0
    return tuple(_unflatten(sig, &k, scalars, &ks, tensors, &kt) for _ in range(nargs))


def _flatten_args(tuple args):
    cdef list scalars = [], tensors = [], sig = []
    for a in args:
        _flatten(a, scalars, tensors, sig)
    return scalars, tensors, sig


# ----------------------------------------------------------------------------
# Programs

cdef extern from *:
    """
    static Py_ssize_t tg_tensor_index_offset;
    """
    Py_ssize_t tg_tensor_index_offset


cdef object _handle_of(tg_tape *t, tg_index i):
    """The Value or Tensor whose index field owns slot i (a borrowed pointer made strong)."""
    cdef char *field = <char *>t.owner[i]
    if t.tn[i] == NULL:
        return <object>tg_value_of_index(t.owner[i])
    return <object><PyObject *>(field - tg_tensor_index_offset)


cdef class _Program:
    """One recording of fn, re-run by tg_program_forward / tg_program_backward."""
    cdef tg_program p
    cdef readonly list sig               # the arguments' structure, shapes and dtypes
    cdef readonly tuple parameters       # leaves fn read that are not arguments, bound by identity
    cdef tg_index *param_slot            # program slot of each parameter
    cdef tg_index **param_index          # address of each parameter handle's index field
    cdef tg_tape ***param_tape           # address of each parameter handle's tape field (a
                                         # tensor made to require grad again may be on another)
    cdef Py_ssize_t nparams
    cdef tg_index *scalar_slot           # program slot of each scalar argument, -1 if unused
    cdef tg_index *tensor_slot           # program slot of each tensor argument, -1 if unused
    cdef tg_buf **tensor_buf             # for tensor arguments that are no leaf (int64
                                         # targets): the buffer the nodes read now (a reference)
    cdef Py_ssize_t nscalars, ntensors
    cdef list tensor_guards              # (how, slot a, slot b or -1, constant b, outcome);
                                         # constant b: a number, a Tensor read when checked,
                                         # or ("arg", position)
    cdef list constants                  # _Constant: tensors off the graph the nodes read
    cdef list arg_guards                 # (position, values): tensor arguments fn used off
                                         # the graph must equal these
    cdef int root_is_tensor
    cdef bint busy                       # a replay runs (maybe without the GIL): one at a time
    cdef bint forwarded                  # forward() bound the leaves and ran: backward() may follow

    def __cinit__(self):
        self.param_slot = NULL
        self.param_index = NULL
        self.param_tape = NULL
        self.scalar_slot = NULL
        self.tensor_slot = NULL
        self.tensor_buf = NULL

    def __dealloc__(self):
        cdef Py_ssize_t k
        if self.tensor_buf != NULL:
            for k in range(self.ntensors):
                tg_buf_decref(self.tensor_buf[k])
        free(self.tensor_buf)
        tg_program_free(&self.p)
        free(self.param_slot)
        free(self.param_index)
        free(self.param_tape)
        free(self.scalar_slot)
        free(self.tensor_slot)

    @property
    def nodes(self):
        """Number of recorded nodes the program re-runs."""
        return self.p.tape.node_count

    @property
    def guards(self):
        """Number of guards checked after each forward pass."""
        return self.p.nguards + len(self.tensor_guards)

    # -- running ------------------------------------------------------------

    cdef int _bind_args(self, list scalars, list tensors) except -1:
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s
        cdef object o
        cdef tg_buf *buf
        for k in range(self.nscalars):
            s = self.scalar_slot[k]
            if s < 0:
                continue
            o = <object>PyList_GET_ITEM(scalars, k)
            if type(o) is Value:
                _check(<Value>o)
                t.value[s] = (<Value>o).t.value[(<Value>o).index]
            elif type(o) is float:
                t.value[s] = PyFloat_AS_DOUBLE(o)
            else:
                t.value[s] = _as_real(o, "argument")
        for k in range(self.ntensors):
            s = self.tensor_slot[k]
            buf = (<Tensor>tensors[k]).v.buf
            if s >= 0:
                tg_program_bind_tensor(&self.p, s, buf)
            elif self.tensor_buf[k] != buf:
                tg_program_replace_buffer(&self.p, self.tensor_buf[k], buf)
                tg_buf_incref(buf)
                tg_buf_decref(self.tensor_buf[k])
                self.tensor_buf[k] = buf
        return 0

    cdef int _bind_params(self) except -1:
        """Read every parameter's current value (and buffer) into the program."""
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s, i
        cdef tg_tape *live
        cdef tg_tnode *n
        cdef tg_tnode *mine
        for k in range(self.nparams):
            s = self.param_slot[k]
            live = self.param_tape[k][0]
            i = self.param_index[k][0]
            if i < 0:
                raise _GuardFailed("a parameter of the recording no longer requires grad")
            if i >= live.leaf_cap:
                raise _GuardFailed("a parameter of the recording is no longer a leaf (an "
                                   "in-place operation made it part of a graph)")
            n = live.tn[i]
            if n == NULL:
                t.value[s] = live.value[i]
                continue
            mine = t.tn[s]
            if not _same_layout(&n.out, &mine.out):
                raise _GuardFailed(f"a parameter's shape or dtype changed (now "
                                   f"{_shape_str(&n.out)}, {_DTYPES[n.out.dtype]})")
            tg_program_bind_tensor(&self.p, s, n.out.buf)
        cdef _Constant k_
        cdef tg_view *now
        for k_ in self.constants:
            now = &k_.handle.v
            if k_.handle.index >= 0:
                raise _GuardFailed("a tensor fn read as a constant now requires grad")
            if now.buf != k_.buf:
                if not _same_layout(now, &k_.recorded):
                    raise _GuardFailed("a constant tensor fn reads changed shape or dtype")
                tg_program_replace_buffer(&self.p, k_.buf, now.buf)
                tg_buf_incref(now.buf)
                tg_buf_decref(k_.buf)
                k_.buf = now.buf
        if self.p.stale:
            tg_program_relink(&self.p)
        return 0

    cdef int _params_grads_in(self) except -1:
        """Parameters' gradients into the program, so the sweep accumulates on them."""
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s, i
        cdef tg_tape *live
        for k in range(self.nparams):
            s = self.param_slot[k]
            live = self.param_tape[k][0]
            i = self.param_index[k][0]
            if live.tn[i] == NULL:
                t.grad[s] = live.grad[i]
            else:
                tg_program_bind_grad(&self.p, s, live.tn[i].grad)
        return 0

    cdef int _params_grads_out(self) except -1:
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s, i
        cdef tg_tape *live
        for k in range(self.nparams):
            s = self.param_slot[k]
            live = self.param_tape[k][0]
            i = self.param_index[k][0]
            if live.tn[i] == NULL:
                live.grad[i] = t.grad[s]
            elif live.tn[i].grad != t.tn[s].grad:
                tg_buf_incref(t.tn[s].grad)
                tg_buf_decref(live.tn[i].grad)
                live.tn[i].grad = t.tn[s].grad
        return 0

    cdef int _check_tensor_guards(self, list tensors) except -1:
        cdef tg_tape *t = &self.p.tape
        cdef tg_index a, b
        for how, a, b, constant, outcome in self.tensor_guards:
            x = _as_numpy(&t.tn[a].out)
            if how == 6:
                ok = np.array_equal(x, outcome, equal_nan=True) and x.dtype == outcome.dtype
            else:
                if b >= 0:
                    y = _as_numpy(&t.tn[b].out)
                elif isinstance(constant, Tensor):          # as it is now
                    y = _as_numpy(&(<Tensor>constant).v)
                elif type(constant) is tuple:               # ("arg", position)
                    y = _as_numpy(&(<Tensor>tensors[constant[1]]).v)
                else:
                    y = constant
                ok = np.array_equal(_NP_COMPARISONS[how](x, y), outcome)
            if not ok:
                what = "a value read out of the graph" if how == 6 else (
                    f"a tensor comparison ({_CMP_SYMBOLS[how]})")
                raise _GuardFailed(f"{what} came out differently from the recording")
        return 0

    def forward(self, list scalars, list tensors):
        """Bind the arguments and parameters, recompute the graph, check the guards;
        the loss as a new Value or Tensor without history."""
        return self._exclusively(RUN_FORWARD, scalars, tensors)

    def backward(self, list scalars, list tensors):
        """Sweep from the loss: parameters' and Value / requires-grad tensor
        arguments' .grad accumulate as after an eager backward(). Returns the
        gradients with respect to the flat scalar and tensor arguments."""
        return self._exclusively(RUN_BACKWARD, scalars, tensors)

    def map(self, inputs, bint backward, threads=1):
        """Replay over the rows of inputs (a float64 array, one row of flat scalar
        arguments per call) in one C loop, split across `threads` threads (the
        same results, bit for bit). Returns (losses, input gradients or None, rows
        done); rows done < len(inputs) when that row's guards failed. Raises
        NotImplementedError for programs with tensors."""
        return self._exclusively(RUN_MAP, inputs, (backward, threads))

    cdef object _exclusively(self, int what, object a, object b):
        """One replay step with the recording to itself, from binding to reading the
        results: a second thread gets a clear error instead of sharing its buffers
        (steps may release the GIL, and guard checks call into numpy)."""
        _check_program_idle(self)
        self.busy = True
        try:
            if what == RUN_FORWARD:
                return self._forward(a, b)
            if what == RUN_BACKWARD:
                return self._backward(a, b)
            return self._map(a, b[0], b[1])
        finally:
            self.busy = False

    cdef int _sweep(self, bint backward):
        """tg_program_backward or tg_program_forward, without the GIL when it pays."""
        cdef int status
        if self._releases_gil():
            with nogil:
                status = tg_program_backward(&self.p) if backward else tg_program_forward(&self.p)
        else:
            status = tg_program_backward(&self.p) if backward else tg_program_forward(&self.p)
        return status

    cdef object _forward(self, list scalars, list tensors):
        self.forwarded = False
        for k, values in self.arg_guards:
            if not np.array_equal(_as_numpy(&(<Tensor>tensors[k]).v), values):
                raise _GuardFailed(f"tensor argument {k} was used off the graph (an unrecorded "
                                   "operation or a value read out) and its values changed")
        self._bind_args(scalars, tensors)
        self._bind_params()
        cdef int status = self._sweep(False)
        if status == TG_REPLAY_EBADTARGET:       # torch's message
            raise IndexError(f"Target {self.p.bad_target} is out of bounds.")
        if status != 0:
            raise RuntimeError("tapegrad: a tensor kernel failed during replay")
        cdef tg_index failed = tg_program_failed_guard(&self.p)
        if failed >= 0:
            raise _GuardFailed(f"guard {failed} (a comparison or a value read out of the "
                               "graph) came out differently from the recording")
        if self.tensor_guards:
            self._check_tensor_guards(tensors)
        self.forwarded = True
        cdef tg_tape *t = &self.p.tape
        if not self.root_is_tensor:
            return Value(t.value[self.p.root])
        return _copy_tensor(&t.tn[self.p.root].out)

    def changed_since_forward(self, list tensors):
        """What changed, since forward() bound them, among the tensors backward()
        gives gradients to (a parameter that no longer requires grad, or whose data
        was replaced; a tensor argument whose data was replaced), or None."""
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s, i
        cdef tg_tnode *mine
        for k in range(self.nparams):
            mine = t.tn[self.param_slot[k]]
            if mine == NULL:                 # a Value: its number was copied at forward()
                continue
            i = self.param_index[k][0]
            if i < 0:
                return f"a parameter ({_describe_view(&mine.out)}) no longer requires grad"
            if i >= self.param_tape[k][0].leaf_cap:
                return f"a parameter ({_describe_view(&mine.out)}) is no longer a leaf"
            if self.param_tape[k][0].tn[i].out.buf != mine.out.buf:
                return _data_replaced("a parameter", &mine.out,
                                      &self.param_tape[k][0].tn[i].out)
        k = 0
        for entry in self.sig:               # tensor arguments that required grad at forward()
            if type(entry) is not tuple or type(entry[0]) is type:
                continue
            s = self.tensor_slot[k]
            if (entry[2] and s >= 0 and (<Tensor>tensors[k]).index >= 0 and
                    (<Tensor>tensors[k]).v.buf != t.tn[s].out.buf):
                return _data_replaced(f"tensor argument {k}", &t.tn[s].out,
                                      &(<Tensor>tensors[k]).v)
            k += 1
        return None

    cdef object _backward(self, list scalars, list tensors):
        cdef tg_tape *t = &self.p.tape
        cdef Py_ssize_t k
        cdef tg_index s
        if not self.forwarded:
            raise RuntimeError("tapegrad: a replay's backward() needs a forward() first")
        changed = self.changed_since_forward(tensors)
        if changed is not None:
            raise RuntimeError(f"tapegrad: replay backward(): {changed} since forward()")
        self.forwarded = False
        self._params_grads_in()
        for k in range(self.nscalars):
            if self.scalar_slot[k] >= 0:
                t.grad[self.scalar_slot[k]] = 0.0
        for k in range(self.ntensors):
            if self.tensor_slot[k] >= 0:
                tg_program_bind_grad(&self.p, self.tensor_slot[k], NULL)
        cdef int status = self._sweep(True)
        if status == TG_REPLAY_EBADTARGET:
            raise IndexError(f"Target {self.p.bad_target} is out of bounds.")
        if status == -1:
            raise MemoryError("tapegrad: out of memory in backward()")
        if status == -2:
            raise RuntimeError("one of the variables needed for gradient computation has been "
                               "modified by an inplace operation during replay")
        self._params_grads_out()
        cdef list scalar_grads = [t.grad[self.scalar_slot[k]] if self.scalar_slot[k] >= 0 else 0.0
                                  for k in range(self.nscalars)]
        cdef list tensor_grads = []
        cdef tg_tnode *n
        for k in range(self.ntensors):
            s = self.tensor_slot[k]
            if s < 0 or not (<Tensor>tensors[k]).index >= 0:
                tensor_grads.append(None)
                continue
            n = t.tn[s]
            tensor_grads.append(zeros_like(tensors[k]) if n.grad == NULL else _grad_tensor(n))
        return scalar_grads, tensor_grads


    cdef bint _releases_gil(self):
        """Long scalar programs and every tensor program run without the GIL (a
        tensor kernel outweighs releasing and taking it back)."""
        return self.p.tape.node_count >= NOGIL_MIN_NODES or self.p.tape.tensor != NULL

    cdef object _map(self, inputs, bint backward, object threads):
        if self.ntensors or self.p.tape.tensor != NULL:
            raise NotImplementedError("batched replay runs scalar programs only")
        cdef const double[:, ::1] rows = np.ascontiguousarray(inputs, dtype=np.float64)
        cdef tg_index n = rows.shape[0], done
        if rows.shape[1] != self.nscalars:
            raise ValueError(f"each row must hold {self.nscalars} scalar arguments, not "
                             f"{rows.shape[1]}")
        cdef int nthreads = threads if threads < n else (n if n > 0 else 1)   # <= rows
        losses = np.empty(n)
        grads = np.zeros((n, self.nscalars)) if backward else np.empty((0, 1))
        cdef double[::1] loss_view = losses
        cdef double[:, ::1] grad_view = grads
        self._bind_params()
        if backward:
            self._params_grads_in()
        cdef const double *row0 = &rows[0, 0] if n > 0 and self.nscalars > 0 else NULL
        cdef double *grad0 = &grad_view[0, 0] if backward and n > 0 and self.nscalars > 0 else NULL
        cdef double *loss0 = &loss_view[0] if n > 0 else NULL
        self.forwarded = False
        with nogil:
            done = tg_program_map_threads(&self.p, row0, n, self.nscalars, self.scalar_slot,
                                          backward, loss0, grad0, nthreads)
        if backward:
            self._params_grads_out()
        if done < 0:
            raise MemoryError("tapegrad: out of memory in replay")
        return losses, (grads if backward else None), done


cdef str _describe_view(const tg_view *v):
    return f"a Tensor of shape {_shape_str(v)}, {_DTYPES[v.dtype]}"


cdef str _data_replaced(str who, const tg_view *bound, const tg_view *now):
    return (f"{who} ({_describe_view(bound)}) had its data replaced (now shape "
            f"{_shape_str(now)}, {_DTYPES[now.dtype]})")


cdef int _check_program_idle(_Program prog) except -1:
    if prog.busy:
        raise RuntimeError("tapegrad: busy: this recording is replaying on another thread; a "
                           "Tape (or compiled step) runs one replay at a time")
    return 0


cdef Tensor _copy_tensor(const tg_view *v):
    """A new tensor holding a copy of v's elements."""
    cdef Tensor r = Tensor.__new__(Tensor)
    r.v = v[0]
    r.v.buf = NULL
    _alloc(&r.v)
    memcpy(r.v.buf.data, v.buf.data, r.v.buf.nbytes)
    return r


cdef Tensor _grad_tensor(tg_tnode *n):
    cdef tg_view g = n.out
    g.buf = n.grad
    return _copy_tensor(&g)


def _trace(fn, tuple args):
    """Run fn once on the arguments, recording; return the program (a _Program)
    and fn's loss. The recording goes on this thread's tape, or, when fn's
    parameters live on another thread's tape, on theirs (as eager code would)."""
    cdef _Tape tape = _current_tape()
    if getattr(_thread_tapes, "recording", None) is not None:
        raise RuntimeError("tapegrad: record() / compile() cannot be nested on one thread")
    try:
        return _trace_on(tape, fn, args)
    except RuntimeError as exc:
        other = getattr(exc, "_tapegrad_other_tape", None)
        if other is None:
            raise
    return _trace_on(other, fn, args)


cdef tuple _trace_on(_Tape tape, fn, tuple args):
    _check_idle(tape)
    if tape.recorder is not None:
        raise RuntimeError("tapegrad: busy: that tape is recording for replay on another "
                           "thread; record when that recording has ended")
    scalars, tensors, sig = _flatten_args(args)
    cdef list in_scalars = []
    cdef list in_tensors = []
    cdef Value v
    cdef Tensor x, leaf
    for o in scalars:
        v = Value.__new__(Value)
        _attach_value(v, tape, (<Value>o).t.value[(<Value>o).index] if type(o) is Value
                      else _as_real(o, "argument"))
        in_scalars.append(v)
    for x in tensors:
        leaf = _wrap(&x.v)
        if x.v.dtype == TG_F32 or x.v.dtype == TG_F64:
            _attach_leaf(leaf, tape)
        in_tensors.append(leaf)
    fn_args = _rebuild(sig, in_scalars, in_tensors, len(args))
    cdef _Recording rec = _Recording()
    for k in range(len(in_tensors)):
        if (<Tensor>in_tensors[k]).index < 0:
            rec.arg_buffers[<size_t>(<Tensor>in_tensors[k]).v.buf] = k
    cdef tg_index first_node = tape.t.node_count
    global _recordings_active
    tape.recorder = rec
    tape.t.no_collect = 1
    _thread_tapes.recording = rec           # this thread's recording, whichever tape it is on
    _recordings_active += 1
    try:
        loss = fn(*fn_args)
    except RuntimeError as exc:
        if rec.other_tape is not None and tape is _current_tape():
            exc._tapegrad_other_tape = rec.other_tape
        raise
    finally:
        _recordings_active -= 1
        _thread_tapes.recording = None
        tape.recorder = None
        tape.t.no_collect = 0
    return _build_program(tape, loss, rec, first_node, sig, scalars, tensors, in_scalars,
                          in_tensors), loss


_FLIPPED = (2, 3, 0, 1, 4, 5)     # a < b is b > a, and so on


cdef bint _made_before(tg_tape *live, tg_index i, tg_index first_node):
    """Slot i is an intermediate recorded before the recording began."""
    return live.leaf_cap <= i < live.leaf_cap + first_node


cdef bint _on_graph(tg_tape *live, object x, tg_index first_node):
    """x is a Tensor that the replay recomputes or rebinds (a leaf or a recorded node)."""
    return (isinstance(x, Tensor) and (<Tensor>x).index >= 0 and
            not _made_before(live, (<Tensor>x).index, first_node))


cdef tg_index _loss_root(tg_tape *live, object loss, _Program prog) except -1:
    """The slot of fn's loss on the live tape (a Value, or a one-element Tensor computed
    from what requires grad); marks prog.root_is_tensor."""
    if type(loss) is Value:
        _check(<Value>loss)
        if (<Value>loss).t != live:
            raise RuntimeError("fn returned a Value from another thread's tape")
        return (<Value>loss).index
    elif isinstance(loss, Tensor):
        if (<Tensor>loss).index < 0 or (<Tensor>loss).tp != live:
            raise RuntimeError("fn's loss does not require grad: it depends on no parameter "
                               "or argument")
        if (<Tensor>loss).v.numel != 1:
            raise RuntimeError("fn must return a scalar loss (grad can be implicitly created "
                               f"only for scalar outputs; got shape {_shape_str(&(<Tensor>loss).v)})")
        if live.op[(<Tensor>loss).index] == TT_LEAF:
            raise NotImplementedError("fn returned a leaf tensor; replay needs a computed loss")
        prog.root_is_tensor = 1
        return (<Tensor>loss).index
    else:
        raise TypeError(f"fn must return a Value or a one-element Tensor, not "
                        f"'{type(loss).__name__}'")


cdef tuple _fixed_guards(tg_tape *live, _Recording rec, tg_index first_node):
    """rec's guards with the sides fixed before the recording began (intermediates made
    earlier) as constants: such a side becomes the constant one, or the guard goes."""
    cdef list scalar_guards = [], tensor_guards = []
    for how, a, b, c, outcome in rec.scalar_guards:
        if b is not None and _made_before(live, (<Value>b).index, first_node):
            b, c = None, (<Value>b).t.value[(<Value>b).index]
        if _made_before(live, (<Value>a).index, first_node):
            if b is None:
                continue
            a, b, c, how = b, None, (<Value>a).t.value[(<Value>a).index], _FLIPPED[how]
        scalar_guards.append((how, a, b, c, outcome))
    for how, a, b, outcome in rec.tensor_guards:
        if not _on_graph(live, a, first_node):
            if how == 6 or not _on_graph(live, b, first_node):
                continue
            a, b, how = b, a, _FLIPPED[how]
        tensor_guards.append((how, a, b, outcome))
    return scalar_guards, tensor_guards


cdef list _program_roots(tg_tape *live, tg_index root, list scalar_guards, list tensor_guards,
                         tg_index first_node):
    """The nodes a program must reach: the loss, then every node a guard reads."""
    cdef list roots = [root]
    for how, a, b, c, outcome in scalar_guards:
        _check(<Value>a)
        if b is not None:
            _check(<Value>b)
        roots.append((<Value>a).index)
        if b is not None:
            roots.append((<Value>b).index)
    for how, a, b, outcome in tensor_guards:
        roots.append((<Tensor>a).index)
        if _on_graph(live, b, first_node):
            roots.append((<Tensor>b).index)
    return roots


cdef _attach_constants(_Program prog, _Recording rec, list in_tensors):
    """The recording's constant tensors (their buffers held) and the int64 arguments fn
    read off the graph (compared on every replay)."""
    prog.constants = []
    cdef _Constant constant
    for x in rec.constants.values():
        constant = _Constant()
        constant.handle = x
        constant.recorded = (<Tensor>x).v
        constant.recorded.buf = NULL
        constant.buf = (<Tensor>x).v.buf
        tg_buf_incref(constant.buf)
        prog.constants.append(constant)
    prog.arg_guards = [(k, _as_numpy(&(<Tensor>in_tensors[k]).v).copy())
                       for k in sorted(rec.args_used)]


cdef _fill_slots(_Program prog, list params, list param_slots, list scalar_slot,
                 list tensor_slot, list in_tensors):
    """The program's C arrays: where each parameter, scalar and tensor argument binds."""
    prog.parameters = tuple(params)
    prog.nparams = len(params)
    prog.nscalars = len(scalar_slot)
    prog.ntensors = len(tensor_slot)
    prog.param_slot = <tg_index *>malloc((prog.nparams + 1) * sizeof(tg_index))
    prog.param_index = <tg_index **>malloc((prog.nparams + 1) * sizeof(tg_index *))
    prog.param_tape = <tg_tape ***>malloc((prog.nparams + 1) * sizeof(tg_tape **))
    prog.scalar_slot = <tg_index *>malloc((prog.nscalars + 1) * sizeof(tg_index))
    prog.tensor_slot = <tg_index *>malloc((prog.ntensors + 1) * sizeof(tg_index))
    prog.tensor_buf = <tg_buf **>calloc(prog.ntensors + 1, sizeof(tg_buf *))
    if prog.tensor_buf == NULL or (prog.param_slot == NULL or prog.param_index == NULL or prog.param_tape == NULL or
            prog.scalar_slot == NULL or prog.tensor_slot == NULL):
        raise MemoryError("tapegrad: out of memory")
    for k in range(prog.nparams):
        p = params[k]
        prog.param_slot[k] = param_slots[k]
        if type(p) is Value:
            prog.param_index[k] = &(<Value>p).index
            prog.param_tape[k] = &(<Value>p).t
        else:
            prog.param_index[k] = &(<Tensor>p).index
            prog.param_tape[k] = &(<Tensor>p).tp
    for k in range(prog.nscalars):
        prog.scalar_slot[k] = scalar_slot[k]
    for k in range(prog.ntensors):
        prog.tensor_slot[k] = tensor_slot[k]
        if tensor_slot[k] < 0:
            prog.tensor_buf[k] = (<Tensor>in_tensors[k]).v.buf
            tg_buf_incref(prog.tensor_buf[k])


cdef _Program _build_program(_Tape tape, object loss, _Recording rec, tg_index first_node,
                             list sig, list scalars, list tensors, list in_scalars,
                             list in_tensors):
    cdef tg_tape *live = &tape.t
    cdef _Program prog = _Program()
    cdef tg_index root = _loss_root(live, loss, prog)
    scalar_guards, tensor_guards = _fixed_guards(live, rec, first_node)
    cdef list roots = _program_roots(live, root, scalar_guards, tensor_guards, first_node)
    cdef Py_ssize_t nroots = len(roots), k
    cdef tg_index total = live.leaf_cap + live.node_count
    cdef tg_index *root_arr = <tg_index *>malloc((nroots + 1) * sizeof(tg_index))
    cdef tg_index *leaves = <tg_index *>malloc((live.leaf_top + 1) * sizeof(tg_index))
    cdef uint8_t *needs = <uint8_t *>malloc(live.leaf_top + 1)
    cdef tg_index *slot_of = <tg_index *>malloc((total + 1) * sizeof(tg_index))
    cdef tg_index nleaves, i
    try:
        if root_arr == NULL or leaves == NULL or needs == NULL or slot_of == NULL:
            raise MemoryError("tapegrad: out of memory")
        for k in range(nroots):
            root_arr[k] = roots[k]
        nleaves = tg_program_scan(live, root_arr, nroots, first_node, leaves)
        if nleaves == -1:
            raise MemoryError("tapegrad: out of memory")
        if nleaves == -2:
            raise ValueError(
                "fn uses a Value or Tensor computed before the recording began (an intermediate "
                "of the tape); replay cannot recompute it: compute it inside fn, pass it as an "
                "argument, or detach it")
        # classify the leaves: arguments by position, parameters by identity, constants
        arg_of = {}
        for k in range(len(in_scalars)):
            arg_of[(<Value>in_scalars[k]).index] = ("s", k)
        for k in range(len(in_tensors)):
            if (<Tensor>in_tensors[k]).index >= 0:
                arg_of[(<Tensor>in_tensors[k]).index] = ("t", k)
        params = []
        param_slots = []
        scalar_slot = [-1] * len(in_scalars)
        tensor_slot = [-1] * len(in_tensors)
        for k in range(nleaves):
            i = leaves[k]
            kind = arg_of.get(i)
            if kind is not None:
                if kind[0] == "s":
                    scalar_slot[kind[1]] = k
                    needs[k] = 1
                else:
                    tensor_slot[kind[1]] = k
                    needs[k] = (<Tensor>tensors[kind[1]]).index >= 0
            elif live.owner[i] != NULL:
                params.append(_handle_of(live, i))
                param_slots.append(k)
                needs[k] = 1
            else:
                needs[k] = 0             # a constant made inside fn and dropped
        if tg_program_build(&prog.p, live, root_arr, nroots, leaves, needs, nleaves,
                            slot_of) != 0:
            raise MemoryError("tapegrad: out of memory")
        for how, a, b, c, outcome in scalar_guards:
            if tg_program_add_guard(&prog.p, how, outcome, slot_of[(<Value>a).index],
                                    slot_of[(<Value>b).index] if b is not None else -1,
                                    c) != 0:
                raise MemoryError("tapegrad: out of memory")
        prog.tensor_guards = []
        for how, a, b, outcome in tensor_guards:
            b_slot = -1
            if _on_graph(live, b, first_node):
                b_slot = slot_of[(<Tensor>b).index]
            elif isinstance(b, Tensor) and <size_t>(<Tensor>b).v.buf in rec.arg_buffers:
                b = ("arg", rec.arg_buffers[<size_t>(<Tensor>b).v.buf])
            prog.tensor_guards.append((how, slot_of[(<Tensor>a).index], b_slot, b, outcome))
    finally:
        free(root_arr)
        free(leaves)
        free(needs)
        free(slot_of)
    prog.sig = sig
    _attach_constants(prog, rec, in_tensors)
    _fill_slots(prog, params, param_slots, scalar_slot, tensor_slot, in_tensors)
    return prog


cdef _install_tensor_index_offset():
    global tg_tensor_index_offset
    cdef Tensor probe = Tensor.__new__(Tensor)
    tg_tensor_index_offset = <char *>&probe.index - <char *><PyObject *>probe


_install_tensor_index_offset()
