"""``F.batch_norm`` and ``F.layer_norm`` (re-exported by ``nn.functional``).

The values and gradients are torch's: the input normalised with the biased
variance, ``(x - mean) * rsqrt(var + eps) * weight + bias``; batch_norm's running
statistics take the unbiased variance, as torch's. An engine with a fused kernel
(the compiled one: ``_native_norm``, csrc/tg_norm.c) records torch's single
NativeBatchNormBackward0 / NativeLayerNormBackward0 node; otherwise (the reference)
they are composed from the engine's differentiable ops (mean, var, rsqrt, arithmetic).
Gradients of any order come from the op table's rows either way.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple, Union

from .. import _backend
from ..autograd.grad_mode import no_grad

__all__ = ["batch_norm", "layer_norm"]


_TENSOR_TYPES = _backend.TENSOR_TYPES


def _require_tensor(x: Any, what: str, fn: str) -> None:
    if x is not None and type(x) not in _TENSOR_TYPES and _backend.tensor_engine(x) is None:
        raise TypeError(f"{fn}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _normalize(input: Any, mean: Any, var: Any, eps: float) -> Any:
    return (input - mean) * (var + eps).rsqrt()


def _affine(y: Any, weight: Any, bias: Any, shape: Tuple[int, ...]) -> Any:
    if weight is not None:
        y = y * (weight if weight.shape == shape else weight.reshape(shape))
    if bias is not None:
        y = y + (bias if bias.shape == shape else bias.reshape(shape))
    return y


def _update_running(running: Any, batch_stat: Any, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * batch_stat, in place."""
    with no_grad():
        running.mul_(1 - momentum).add_(batch_stat.reshape(running.shape).to(running.dtype)
                                        * momentum)


def _native(eng: Any, input: Any, *operands: Any) -> Any:
    """The engine's fused normalisation when it has one and the operands suit it
    (floating point tensors of one dtype), else None."""
    native = getattr(eng, "_native_norm", None)
    if native is None or not input.dtype.is_floating_point:
        return None
    dtype = input.dtype
    for t in operands:
        if t is not None and (t.dtype != dtype or _TENSOR_TYPES.get(type(t)) is not eng):
            return None
    return native


def _batch_norm_native(native: Any, input: Any, shape: Tuple[int, ...], running_mean: Any,
                       running_var: Any, weight: Any, bias: Any, training: bool,
                       momentum: float, eps: float) -> Any:
    channels = shape[1]
    layout = (shape[0], channels, math.prod(shape[2:]) if len(shape) > 2 else 1)
    stats = None
    if not training:
        import numpy as np
        rv = np.asarray(running_var.detach().numpy(), dtype=np.float64)
        stats = (np.asarray(running_mean.detach().numpy(), dtype=np.float64),
                 1.0 / np.sqrt(rv + eps))
    if bias is not None and len(shape) > 2:
        bias = bias.reshape((channels,) + (1,) * (len(shape) - 2))
    return native(input, weight, bias, False, stats, eps, layout,
                  running_mean if training else None, running_var if training else None,
                  momentum)[0]


def _check_dtypes(input: Any, *operands: Any) -> None:
    """torch's CPU rule: the parameters and buffers in the input's dtype."""
    for t in operands:
        if t is not None and t.dtype != input.dtype:
            if str(input.dtype).endswith("float32"):
                raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type "
                                   "of Float")
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _check_channels(name: str, t: Any, channels: int) -> None:
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def batch_norm(input: Any, running_mean: Optional[Any], running_var: Optional[Any],
               weight: Optional[Any] = None, bias: Optional[Any] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """Normalise each channel (dim 1) over the batch and any trailing dims: with the
    batch's statistics in training (updating running_mean / running_var when given),
    with running_mean / running_var otherwise."""
    for what, t in (("input", input), ("running_mean", running_mean),
                    ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _require_tensor(t, what, "batch_norm")
    if input.dim() < 2:
        n = max(input.dim(), 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         "but got 1)")
    shape = tuple(input.shape)
    channels = shape[1]
    if training and shape[0] * (math.prod(shape[2:]) if len(shape) > 2 else 1) == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {input.shape}")
    if (running_mean is not None or running_var is not None or weight is not None or
            bias is not None):
        for name, t in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
            _check_channels(name, t, channels)
    if not training and (running_mean is None or running_var is None):
        missing = "running_mean" if running_mean is None else "running_var"
        raise RuntimeError(f"{missing} must be defined in evaluation mode")
    _check_dtypes(input, running_mean, running_var, weight, bias)
    native = _native(_TENSOR_TYPES.get(type(input)), input, weight, bias)
    if native is not None:
        return _batch_norm_native(native, input, shape, running_mean, running_var, weight,
                                  bias, training, momentum, eps)
    stat_shape = (1, channels) + (1,) * (len(shape) - 2)
    dims: Union[int, Tuple[int, ...]] = 0 if len(shape) == 2 else \
        (0,) + tuple(range(2, len(shape)))
    if training:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, correction=0, keepdim=True)
        if running_mean is not None or running_var is not None:
            n = input.numel() // channels
            if running_mean is not None:
                _update_running(running_mean, mean.detach(), momentum)
            if running_var is not None:
                _update_running(running_var, var.detach() * (n / max(n - 1, 1)), momentum)
    else:                   # (both given: checked above)
        mean = running_mean.reshape(stat_shape)     # type: ignore[union-attr]
        var = running_var.reshape(stat_shape)       # type: ignore[union-attr]
    return _affine(_normalize(input, mean, var, eps), weight, bias, stat_shape)


def layer_norm(input: Any, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Any] = None, bias: Optional[Any] = None,
               eps: float = 1e-5) -> Any:
    """Normalise over the last len(normalized_shape) dims, then scale by weight and
    shift by bias (both shaped normalized_shape)."""
    for what, t in (("input", input), ("weight", weight), ("bias", bias)):
        _require_tensor(t, what, "layer_norm")
    norm_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    shape = tuple(input.shape)
    k = len(norm_shape)
    if k == 0 or shape[len(shape) - k:] != norm_shape or k > len(shape):
        raise RuntimeError(f"Given normalized_shape={list(norm_shape)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in norm_shape)}], but got "
                           f"input of size{list(shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != norm_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(norm_shape)}")
    _check_dtypes(input, weight, bias)
    native = _native(_TENSOR_TYPES.get(type(input)), input, weight, bias)
    if native is not None:
        d = math.prod(norm_shape)
        w = weight if weight is None or k == 1 else weight.reshape(d)
        out, _ = native(input, w, bias, True, None, eps, (input.numel() // d if d else 0, d))
        return out
    dims: Union[int, Tuple[int, ...]] = -1 if k == 1 else tuple(range(-k, 0))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, correction=0, keepdim=True)
    return _affine(_normalize(input, mean, var, eps), weight, bias, norm_shape)
