"""The optimizer update hooks of the reference engine (see tapegrad._optim for the
contract): SGD and Adam steps on numpy arrays, fused where torch's kernels fuse."""

import builtins

import numpy as np

from ._tensor import Tensor
from ._tensor_math import _fma

_babs = builtins.abs


# ----------------------------------------------------------------------------
# Optimizer hooks (see tapegrad._optim for the contract)

def _f(dt, x):
    return dt.type(x)


def _decayed_grads(params, weight_decay, maximize=False):
    """(k, parameter, its data, dtype, grad + weight_decay * data) for each parameter
    that has a .grad (the grad negated first when maximize; torch's L2 term, one
    rounding)."""
    for k, p in enumerate(params):
        if p._grad is None:
            continue
        x = p._data
        dt = x.dtype
        g = p._grad._data
        if maximize:
            g = -g
        if weight_decay != 0:
            g = _fma(x, _f(dt, weight_decay), g, dt.type)
        yield k, p, x, dt, g


def _state(optimizer, p, name, states, k):
    """states[k]'s array, checked to fit p (None when states is None)."""
    if states is None:
        return None
    _check_state(optimizer, p, name, states[k], True)
    return states[k]._data


def _check_state(optimizer, p, name, state, same_dtype):
    """State made for p must still fit it: the same shape, and the same dtype unless
    the update promotes (as the compiled engine's hooks check before their kernels)."""
    if isinstance(state, Tensor):
        s = state._data
        if s.shape == p._data.shape and s.dtype.kind == "f" and (
                not same_dtype or s.dtype == p._data.dtype):
            return
    from ..optim.optimizer import _state_mismatch
    raise _state_mismatch(optimizer, p, name, state)


@np.errstate(all="ignore")
def _sgd_update(params, lr, momentum, dampening, weight_decay, nesterov, buffers, first_step,
                maximize=False):
    """torch.optim.SGD's update of each parameter from its .grad, in place. A momentum
    buffer of another float dtype than its parameter (made before module.double())
    is kept, computing in the promoted dtype as torch's in-place ops do."""
    for k, p, x, dt, g in _decayed_grads(params, weight_decay, maximize):
        ct = dt
        if momentum != 0:
            _check_state("SGD", p, "momentum_buffer", buffers[k], False)
            buf = buffers[k]._data
            ct = np.result_type(dt, buf.dtype)
            if first_step:
                buf[...] = g
            else:
                buf *= _f(buf.dtype, momentum)
                buf[...] = _fma(g, _f(ct, 1 - dampening), buf, ct.type)
            g = _fma(buf, _f(ct, momentum), g, ct.type) if nesterov else buf
        x[...] = _fma(g, _f(ct, -lr), x, ct.type)
        p._vbox[0] += 1


@np.errstate(all="ignore")
def _adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs, exp_avg_sqs, step,
                 max_exp_avg_sqs=None, maximize=False, decoupled=False):
    """torch.optim.Adam's (decoupled: AdamW's) update of each parameter, in place;
    ``step`` is the parameters' step count after this update (1 on the first)."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    name = "AdamW" if decoupled else "Adam"
    l2 = 0 if decoupled else weight_decay
    for k, p, x, dt, g in _decayed_grads(params, l2, maximize):
        m = _state(name, p, "exp_avg", exp_avgs, k)
        v = _state(name, p, "exp_avg_sq", exp_avg_sqs, k)
        vmax = _state(name, p, "max_exp_avg_sq", max_exp_avg_sqs, k)
        if decoupled and weight_decay != 0:
            x *= _f(dt, 1 - lr * weight_decay)
        m[...] = _lerp(m, g, 1 - beta1, dt)
        v *= _f(dt, beta2)
        v[...] = _fma(g * _f(dt, 1 - beta2), g, v, dt.type)
        if vmax is not None:
            vmax[...] = np.maximum(vmax, v)
            v = vmax
        denom = np.sqrt(v) / _f(dt, bias_correction2_sqrt) + _f(dt, eps)
        x[...] = x + (_f(dt, -step_size) * m) / denom
        p._vbox[0] += 1


@np.errstate(all="ignore")
def _rmsprop_update(params, lr, alpha, eps, weight_decay, momentum, maximize, square_avgs,
                    grad_avgs, momentum_buffers):
    """torch.optim.RMSprop's update of each parameter, in place."""
    for k, p, x, dt, g in _decayed_grads(params, weight_decay, maximize):
        sq = _state("RMSprop", p, "square_avg", square_avgs, k)
        ga = _state("RMSprop", p, "grad_avg", grad_avgs, k)
        buf = _state("RMSprop", p, "momentum_buffer", momentum_buffers, k)
        sq *= _f(dt, alpha)
        sq[...] = _fma(g * _f(dt, 1 - alpha), g, sq, dt.type)
        if ga is not None:
            ga[...] = _lerp(ga, g, 1 - alpha, dt)
            avg = np.sqrt(_fma(-ga, ga, sq, dt.type))
        else:
            avg = np.sqrt(sq)
        avg = avg + _f(dt, eps)
        if buf is not None:
            buf *= _f(dt, momentum)
            buf += g / avg
            x[...] = _fma(buf, _f(dt, -lr), x, dt.type)
        else:
            x[...] = x + (_f(dt, -lr) * g) / avg
        p._vbox[0] += 1


@np.errstate(all="ignore")
def _adagrad_update(params, clr, eps, weight_decay, maximize, state_sums):
    """torch.optim.Adagrad's update of each parameter at the decayed rate clr."""
    for k, p, x, dt, g in _decayed_grads(params, weight_decay, maximize):
        s = _state("Adagrad", p, "sum", state_sums, k)
        s[...] = _fma(g, g, s, dt.type)
        x[...] = x + (_f(dt, -clr) * g) / (np.sqrt(s) + _f(dt, eps))
        p._vbox[0] += 1


def _lerp(start, end, weight, dt):
    """torch.lerp with a Python-number weight (one rounding, as in torch's kernel)."""
    w = _f(dt, weight)
    if _babs(weight) < 0.5:
        return _fma(w, end - start, start, dt.type)
    return _fma(w - _f(dt, 1), end - start, end, dt.type)
