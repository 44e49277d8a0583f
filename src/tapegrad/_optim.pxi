# Optimizer updates in C (csrc/tg_optim.c), the hooks tapegrad.optim calls
# (included by _engine.pyx).

# ----------------------------------------------------------------------------
# Optimizer updates in C

def _sgd_update(params, lr, momentum, dampening, weight_decay, nesterov, buffers, first_step):
    """p -= lr * d for each parameter with a grad (torch.optim.SGD's formula)."""
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, buf
    cdef tg_tnode *n
    for k, p in enumerate(params):
        if p.index < 0 or p.tp.tn[p.index].grad == NULL:
            continue
        n = p.tp.tn[p.index]
        buf = buffers[k] if momentum != 0 else None
        tg_sgd_update(p.v.dtype, p.v.buf.data, n.grad.data,
                      buf.v.buf.data if buf is not None else NULL, p.v.numel, lr, momentum,
                      dampening, weight_decay, nesterov, first_step)
        p.v.buf.version += 1


def _adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs, exp_avg_sqs, step):
    _refuse_while_recording("an optimizer step")
    cdef Tensor p, m, v
    cdef tg_tnode *n
    for k, p in enumerate(params):
        if p.index < 0 or p.tp.tn[p.index].grad == NULL:
            continue
        n = p.tp.tn[p.index]
        m = exp_avgs[k]
        v = exp_avg_sqs[k]
        tg_adam_update(p.v.dtype, p.v.buf.data, n.grad.data, m.v.buf.data, v.v.buf.data,
                       p.v.numel, lr, beta1, beta2, eps, weight_decay, step)
        p.v.buf.version += 1
