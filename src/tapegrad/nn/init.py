"""``tapegrad.nn.init``: torch.nn.init's initialisers, for either engine's tensors.

They draw through the tensors' own ``uniform_`` / ``normal_`` (torch's streams,
``tapegrad._random``), so after ``manual_seed(s)`` they fill exactly torch's numbers.
Exceptions: ``orthogonal_``'s QR is numpy's LAPACK, not torch's MKL (the same matrix to
rounding, with torch's sign convention), and ``trunc_normal_`` over an interval holding
30% of the mass or less, which compares against torch's vectorised float log (numpy's
here); the common case (the default [-2, 2]) is torch's bit for bit.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Tuple

import numpy as np

from .. import _backend, _random, _random_api
from ..autograd.grad_mode import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
               "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Any) -> Tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive = 1
    for s in tuple(tensor.shape)[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Any, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Any:
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Any:
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Any, val: float) -> Any:
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Any) -> Any:
    return constant_(tensor, 1.0)


def zeros_(tensor: Any) -> Any:
    with no_grad():
        return tensor.zero_()


def eye_(tensor: Any) -> Any:
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        _copy_values(tensor, np.eye(*tensor.shape, dtype=tensor.dtype.numpy))
    return tensor


def _copy_values(tensor: Any, values: np.ndarray) -> None:
    tensor.copy_(_backend.engine_of(tensor).tensor(values, dtype=tensor.dtype))


def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: Any = None) -> Any:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: Any = None) -> Any:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Any, a: float, mode: str, nonlinearity: str) -> Optional[float]:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Any, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Any:
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Any, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Any:
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0, std, generator)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Any = None) -> Any:
    """Normal(mean, std) restricted to [a, b], by torch's rejection sampling."""
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    with no_grad():
        dt = tensor.dtype.numpy
        shape = tuple(tensor.shape)
        if _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3:
            lo, hi = dt.type(a), dt.type(b)
            result = tensor.normal_(mean, std, generator=generator).detach().numpy().copy()
            while True:
                outside = (result < lo) | (result > hi)
                if not outside.any():
                    break
                fresh = _random_api.normal_values(shape, dt, mean, std, generator)
                result = np.where(outside, fresh, result)
        else:
            result = _trunc_by_uniform(shape, dt, mean, std, a, b, generator)
        _copy_values(tensor, result)
    return tensor


def _trunc_by_uniform(shape: Tuple[int, ...], dt: Any, mean: float, std: float, a: float,
                      b: float, generator: Any) -> np.ndarray:
    """torch's branch for narrow intervals: uniform candidates accepted with probability
    exp(-z**2 / 2) relative to the peak."""
    gen = _random.generator(generator)
    n = int(np.prod(shape, dtype=np.int64))
    mode = max(a, min(mean, b))
    log_peak = dt.type(-0.5 * ((mode - mean) / std) ** 2)

    def log_ratio(x: np.ndarray) -> np.ndarray:
        z = (x - dt.type(mean)) / dt.type(std)
        return (z * z) * dt.type(-0.5) - log_peak

    result = _random.uniform(gen, n, dt, a, b)
    pending = np.log(_random.uniform(gen, n, dt)) > log_ratio(result)
    while pending.any():
        cand = _random.uniform(gen, n, dt, a, b)
        result = np.where(pending, cand, result)
        pending = np.where(pending, np.log(_random.uniform(gen, n, dt)) > log_ratio(cand),
                           pending)
    return result.reshape(shape)


def orthogonal_(tensor: Any, gain: float = 1, generator: Any = None) -> Any:
    """A (semi-)orthogonal matrix from the QR of a standard normal one, torch's way."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    dt = tensor.dtype.numpy
    flat = _random_api.normal_values((rows, cols), dt, 0.0, 1.0, generator)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = (q * np.sign(np.diag(r))).astype(dt)
    if rows < cols:
        q = q.T
    with no_grad():
        _copy_values(tensor, np.ascontiguousarray(q).reshape(tuple(tensor.shape)))
        tensor.mul_(gain)
    return tensor
