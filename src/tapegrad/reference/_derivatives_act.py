"""Issue 12's HELPERS of the op table (activations, losses, pad) in numpy, for the
reference engine's generated rules (``_rules.py``, re-exported by ``_derivatives``).
Each follows torch's CPU kernel's arithmetic (aten/src/ATen/native/cpu)."""

import math

import numpy as np

_ERF = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    """erf elementwise (the C library's, in float64; float32 rounded once)."""
    x = np.asarray(x)
    return np.asarray(_ERF(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def tanh(x):
    x = np.asarray(x)
    return np.tanh(x.astype(np.float64)).astype(x.dtype) if x.dtype == np.float32 else np.tanh(x)


def _norm(x, reduction):
    """torch's norm_val: 1 / numel for 'mean', else 1, in x's dtype."""
    if reduction != "mean":
        return x.dtype.type(1)
    return x.dtype.type(1.0 / x.size if x.size else np.inf)


def smooth_l1_backward(g, x, t, reduction, beta):
    d = x - t
    norm, b = _norm(x, reduction), x.dtype.type(beta)
    return np.where(d <= -b, -norm * g, np.where(d >= b, norm * g, norm * d * g / b))


def huber_backward(g, x, t, reduction, delta):
    d = x - t
    norm, c = _norm(x, reduction), x.dtype.type(delta)
    return np.where(d <= -c, -norm * g * c, np.where(d >= c, norm * g * c, norm * d * g))


def log_sigmoid(x):
    """torch's log_sigmoid: min(x, 0) - log1p(exp(-|x|))."""
    with np.errstate(all="ignore"):
        return np.minimum(x, x.dtype.type(0)) - np.log1p(np.exp(-np.abs(x)))


def _weigh(gr, x, weight, reduction):
    if weight is not None:
        gr = gr * weight
    if reduction == "mean":
        gr = gr / x.dtype.type(x.size)
    return gr


def sigmoid(x):
    with np.errstate(over="ignore"):
        return x.dtype.type(1) / (x.dtype.type(1) + np.exp(-x))


def bce_logits_backward(g, x, t, weight, pos_weight, reduction):
    if pos_weight is not None:
        pt = pos_weight * t
        gr = (pt + x.dtype.type(1) - t) * sigmoid(x) - pt
    else:
        gr = sigmoid(x) - t
    return _weigh(gr * g, x, weight, reduction)


def bce_logits_target_backward(g, x, t, weight, pos_weight, reduction):
    if pos_weight is not None:
        gr = (log_sigmoid(-x) - log_sigmoid(x) * pos_weight) * g
    else:
        gr = -x * g
    return _weigh(gr, x, weight, reduction)


def pad_array(a, pad, value=0.0):
    """torch's constant_pad_nd: pad lists (before, after) pairs from the last dim back;
    negative amounts crop."""
    nd = len(pad) // 2
    crop, widths = [], []
    for d in range(a.ndim):
        k = a.ndim - 1 - d
        lo, hi = (pad[2 * k], pad[2 * k + 1]) if k < nd else (0, 0)
        crop.append(slice(max(-lo, 0), a.shape[d] - max(-hi, 0)))
        widths.append((max(lo, 0), max(hi, 0)))
    return np.pad(a[tuple(crop)], widths, constant_values=a.dtype.type(value))


def constant_pad(g, pad):
    return pad_array(np.asarray(g), [-p for p in pad])
