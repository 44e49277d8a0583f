"""Gradient clipping as torch.nn.utils.clip_grad computes it: the total norm is the
norm of the per-gradient norms, clip_coef = max_norm / (total_norm + 1e-6) clamped to
at most 1, and every gradient scaled by it in place (``foreach`` changes nothing on
a CPU engine)."""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Optional, Union

import numpy as np

from ... import _backend
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

_Params = Union[Any, Iterable[Any]]


def _grads(parameters: _Params) -> List[Any]:
    if _backend.tensor_engine(parameters) is not None:
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(a: np.ndarray, p: float) -> Any:
    """torch.linalg.vector_norm(a, p) in a's dtype."""
    a = np.abs(a)
    if a.size == 0:
        return a.dtype.type(0)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return a.dtype.type(np.count_nonzero(a))
    if p == 1:
        return a.sum(dtype=a.dtype)
    if p == 2:
        return np.sqrt(np.sum(a * a, dtype=a.dtype))
    return np.power(np.sum(np.power(a, a.dtype.type(p)), dtype=a.dtype), a.dtype.type(1 / p))


def _total_norm(grads: List[Any], norm_type: float, error_if_nonfinite: bool) -> Any:
    arrays = [g.detach().numpy() for g in grads]
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable "
            "this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters: _Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False,
                    foreach: Optional[bool] = None) -> Any:
    """Scale the gradients of ``parameters`` in place so that their total
    ``norm_type``-norm is at most ``max_norm``; returns the total norm before
    clipping (a 0-d tensor)."""
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return _backend.default_engine().tensor(0.0)
    eng = _backend.engine_of(grads[0])
    total = _total_norm(grads, norm_type, error_if_nonfinite)
    dt = total.dtype.type
    # torch: max_norm / t is t.reciprocal() * max_norm, in the norm's dtype
    coef = min(float((dt(1) / (total + dt(1e-6))) * dt(max_norm)), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef)
    return eng.tensor(float(total), dtype=eng.float64 if dt is np.float64 else eng.float32)


def clip_grad_value_(parameters: _Params, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamp every gradient of ``parameters`` to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(g.clamp(min=-clip_value, max=clip_value))
