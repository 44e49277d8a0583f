"""The reference engine's activation, loss and pad primitives (issue 12; the
compiled engine's are ``_tensor_act.pxi`` over ``csrc/tg_activation.c``), in numpy,
recorded with the op table's rows. Float32 values are computed in float64 and
rounded once (the C library's float functions round correctly far more often than
numpy's own float32 loops)."""

import numpy as np

from ._derivatives_act import erf as _erf, log_sigmoid, pad_array
from ._tensor import Tensor
from ._tensor_math import _fsum
from ._tensor_ops import _result

_GELU_TANH_BETA = 0.7978845608028654


def _gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_GELU_TANH_BETA * (x + 0.044715 * (x * x * x))))
    return x * 0.5 * (1.0 + _erf(x * 0.7071067811865476))


def _softplus(x, beta, threshold):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


_FORWARD = {
    "erf": lambda x, a, b, flag: _erf(x),
    "gelu": lambda x, a, b, flag: _gelu(x, "tanh" if flag else "none"),
    "silu": lambda x, a, b, flag: x / (1.0 + np.exp(-x)),
    "leaky_relu": lambda x, a, b, flag: np.where(x > 0, x, x * a),
    "elu": lambda x, a, b, flag: np.where(x <= 0, np.expm1(x) * a, x),
    "softplus": lambda x, a, b, flag: _softplus(x, a, b),
}


def _ctx(name, a, b, flag):
    if name == "gelu":
        return "tanh" if flag else "none"
    if name in ("leaky_relu", "elu"):
        return a
    return (a, b) if name == "softplus" else None


def _activation(input, name, a=0.0, b=0.0, flag=0):
    """One elementwise node (the compiled engine's _activation)."""
    x = input._data
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    with np.errstate(all="ignore"):
        out = _FORWARD[name](x.astype(np.float64), a, b, flag).astype(x.dtype)
    return _result(out, name, (input,), _ctx(name, a, b, flag))


def erf(input):
    """The error function elementwise (ErfBackward0)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"erf(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return _activation(input, "erf")


Tensor.erf = erf  # type: ignore[attr-defined]  # the method (torch's Tensor.erf)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    s = _fsum(loss)
    return s / loss.dtype.type(loss.size) if reduction == "mean" else s


def _pointwise_loss(input, target, name, reduction, param):
    """smooth_l1_loss (param beta) or huber_loss (param delta) as one node."""
    x, t = input._data, target._data
    c = x.dtype.type(param)
    half = x.dtype.type(0.5)
    z = np.abs(x - t)
    with np.errstate(all="ignore"):
        if name == "huber_loss":
            loss = np.where(z < c, half * z * z, c * (z - half * c))
        else:
            loss = np.where(z < c, half * z * z / c, z - half * c)
    return _result(_reduce(loss, reduction), name, (input, target), (reduction, param))


def _bce_with_logits(input, target, weight, pos_weight, reduction):
    """binary_cross_entropy_with_logits as one node (weight, pos_weight: numpy arrays
    broadcast to input's shape, or None)."""
    x, t = input._data, target._data
    one = x.dtype.type(1)
    ls = log_sigmoid(x)
    if pos_weight is not None:
        pos_weight = pos_weight.astype(x.dtype)
        ls = ls * ((pos_weight - one) * t + one)
    loss = (one - t) * x - ls
    if weight is not None:
        weight = weight.astype(x.dtype)
        loss = loss * weight
    return _result(_reduce(loss, reduction), "binary_cross_entropy_with_logits",
                   (input, target), (weight, pos_weight, reduction))


def _constant_pad(input, pad, before, out_shape, value):
    """torch's constant_pad_nd (pad checked by the caller)."""
    out = pad_array(input._data, list(pad), value)
    assert out.shape == tuple(out_shape)
    return _result(out, "constant_pad_nd", (input,), tuple(pad))
