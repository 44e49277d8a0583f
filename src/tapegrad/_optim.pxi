# Optimizer updates in C (csrc/tg_optim.c), the hooks tapegrad.optim calls
# (included by _engine.pyx).

# ----------------------------------------------------------------------------
# Optimizer updates in C

cdef int _check_state(str optimizer, Tensor p, str name, object state,
                      bint same_dtype) except -1:
    """State made for p must still fit it (same shape; same dtype unless the kernel
    promotes): a kernel indexes it by p's elements. tapegrad.optim.optimizer words
    the error, one text for both engines."""
    cdef Tensor s
    if isinstance(state, Tensor):
        s = <Tensor>state
        if (_same_shape(&s.v, &p.v) and (s.v.dtype == p.v.dtype or not same_dtype)
                and (s.v.dtype == TG_F32 or s.v.dtype == TG_F64) and _holds(&s.v)):
            return 0
    from .optim.optimizer import _state_mismatch
    raise _state_mismatch(optimizer, p, name, state)


cdef bint _holds(const tg_view *v):
    """v's buffer has room for its elements."""
    return v.buf != NULL and <size_t>v.numel * tg_dtype_size(v.dtype) <= v.buf.nbytes


cdef tg_tnode *_param_record(Tensor p) except? NULL:
    """p's leaf record when p has a gradient to apply, else NULL. The value and the
    gradient are checked to hold p's elements before any kernel reads them."""
    if p.index < 0 or p.tp.op[p.index] != TT_LEAF:
        return NULL
    cdef tg_tnode *n = p.tp.tn[p.index]
    if n.grad == NULL:
        return NULL
    if not (_holds(&p.v) and _same_layout(&n.out, &p.v)
            and <size_t>p.v.numel * tg_dtype_size(p.v.dtype) <= n.grad.nbytes):
        raise RuntimeError(f"optimizer step: the parameter of shape {list(_shape_of(&p.v))} "
                           "and its gradient do not match; set .grad again")
    return n


cdef Tensor _state(str optimizer, Tensor p, str name, object states, Py_ssize_t k,
                   bint optional=False):
    """states[k] checked to fit p in shape and dtype (None when an optional states
    list is None: its kernel pointer is then NULL, which the kernel tests)."""
    if states is None and optional:
        return None
    _check_state(optimizer, p, name, states[k], True)
    return <Tensor>states[k]


cdef void *_data(Tensor t):
    return t.v.buf.data if t is not None else NULL


def _sgd_update(params, lr, momentum, dampening, weight_decay, nesterov, buffers, first_step,
                maximize=False):
    """p -= lr * d for each parameter with a grad (torch.optim.SGD's formula)."""
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, buf
    cdef tg_tnode *n
    for k, p in enumerate(params):
        _wait_for_sweep(p.tape)
        n = _param_record(p)
        if n == NULL:
            continue
        buf = None
        if momentum != 0:
            _check_state("SGD", p, "momentum_buffer", buffers[k], False)
            buf = <Tensor>buffers[k]
        tg_sgd_update(p.v.dtype, buf.v.dtype if buf is not None else p.v.dtype, p.v.buf.data,
                      n.grad.data, _data(buf), p.v.numel, lr, momentum, dampening,
                      weight_decay, nesterov, first_step, maximize)
        p.v.buf.version += 1


def _adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs, exp_avg_sqs, step,
                 max_exp_avg_sqs=None, maximize=False, decoupled=False):
    """One Adam (decoupled: AdamW) step of each parameter with a grad."""
    _refuse_while_recording("an optimizer step")
    cdef tg_adam_opts o
    o.lr, o.beta1, o.beta2, o.eps, o.weight_decay = lr, beta1, beta2, eps, weight_decay
    o.step, o.maximize, o.decoupled = step, maximize, decoupled
    name = "AdamW" if decoupled else "Adam"
    cdef Tensor p, m, v, vmax
    cdef tg_tnode *n
    for k, p in enumerate(params):
        _wait_for_sweep(p.tape)
        n = _param_record(p)
        if n == NULL:
            continue
        m = _state(name, p, "exp_avg", exp_avgs, k)
        v = _state(name, p, "exp_avg_sq", exp_avg_sqs, k)
        vmax = _state(name, p, "max_exp_avg_sq", max_exp_avg_sqs, k, True)
        tg_adam_update(p.v.dtype, p.v.buf.data, n.grad.data, _data(m), _data(v), _data(vmax),
                       p.v.numel, &o)
        p.v.buf.version += 1


def _rmsprop_update(params, lr, alpha, eps, weight_decay, momentum, maximize, square_avgs,
                    grad_avgs, momentum_buffers):
    """One RMSprop step of each parameter with a grad; grad_avgs is None unless
    centered, momentum_buffers None unless momentum > 0."""
    _refuse_while_recording("an optimizer step")
    cdef tg_rmsprop_opts o
    o.lr, o.alpha, o.eps, o.weight_decay = lr, alpha, eps, weight_decay
    o.momentum, o.maximize = momentum, maximize
    cdef Tensor p, sq, ga, buf
    cdef tg_tnode *n
    for k, p in enumerate(params):
        _wait_for_sweep(p.tape)
        n = _param_record(p)
        if n == NULL:
            continue
        sq = _state("RMSprop", p, "square_avg", square_avgs, k)
        ga = _state("RMSprop", p, "grad_avg", grad_avgs, k, True)
        buf = _state("RMSprop", p, "momentum_buffer", momentum_buffers, k, True)
        tg_rmsprop_update(p.v.dtype, p.v.buf.data, n.grad.data, _data(sq), _data(ga),
                          _data(buf), p.v.numel, &o)
        p.v.buf.version += 1


def _adagrad_update(params, clr, eps, weight_decay, maximize, state_sums):
    """One Adagrad step of each parameter with a grad, at the decayed rate clr."""
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, s
    cdef tg_tnode *n
    for k, p in enumerate(params):
        _wait_for_sweep(p.tape)
        n = _param_record(p)
        if n == NULL:
            continue
        s = _state("Adagrad", p, "sum", state_sums, k)
        tg_adagrad_update(p.v.dtype, p.v.buf.data, n.grad.data, _data(s), p.v.numel, clr,
                          eps, weight_decay, maximize)
        p.v.buf.version += 1
