"""The optimizer update hooks of the reference engine (see tapegrad._optim for the
contract): SGD and Adam steps on numpy arrays, fused where torch's kernels fuse."""

import builtins

import numpy as np

from ._tensor_math import _fma

_babs = builtins.abs


# ----------------------------------------------------------------------------
# Optimizer hooks (see tapegrad._optim for the contract)

def _f(dt, x):
    return dt.type(x)


def _decayed_grads(params, weight_decay):
    """(k, parameter, its data, dtype, grad + weight_decay * data) for each parameter
    that has a .grad (torch's L2 term, one rounding)."""
    for k, p in enumerate(params):
        if p._grad is None:
            continue
        x = p._data
        dt = x.dtype
        g = p._grad._data
        if weight_decay != 0:
            g = _fma(x, _f(dt, weight_decay), g, dt.type)
        yield k, p, x, dt, g


@np.errstate(all="ignore")
def _sgd_update(params, lr, momentum, dampening, weight_decay, nesterov, buffers, first_step):
    """torch.optim.SGD's update of each parameter from its .grad, in place."""
    for k, p, x, dt, g in _decayed_grads(params, weight_decay):
        if momentum != 0:
            buf = buffers[k]._data
            if first_step:
                buf[...] = g
            else:
                buf *= _f(dt, momentum)
                buf[...] = _fma(g, _f(dt, 1 - dampening), buf, dt.type)
            g = _fma(buf, _f(dt, momentum), g, dt.type) if nesterov else buf
        x[...] = _fma(g, _f(dt, -lr), x, dt.type)
        p._vbox[0] += 1


@np.errstate(all="ignore")
def _adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs, exp_avg_sqs, step):
    """torch.optim.Adam's update (amsgrad=False) of each parameter, in place;
    ``step`` is the parameters' step count after this update (1 on the first)."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    for k, p, x, dt, g in _decayed_grads(params, weight_decay):
        m = exp_avgs[k]._data
        v = exp_avg_sqs[k]._data
        m[...] = _lerp(m, g, 1 - beta1, dt)
        v *= _f(dt, beta2)
        v[...] = _fma(g * _f(dt, 1 - beta2), g, v, dt.type)
        denom = np.sqrt(v) / _f(dt, bias_correction2_sqrt) + _f(dt, eps)
        x[...] = x + (_f(dt, -step_size) * m) / denom
        p._vbox[0] += 1


def _lerp(start, end, weight, dt):
    """torch.lerp with a Python-number weight (one rounding, as in torch's kernel)."""
    w = _f(dt, weight)
    if _babs(weight) < 0.5:
        return _fma(w, end - start, start, dt.type)
    return _fma(w - _f(dt, 1), end - start, end, dt.type)
