"""Issue 12 item 4's HELPERS on numpy arrays: the gradients of the normalisation rows
(``native_batch_norm``, ``native_layer_norm``), as torch's native_batch_norm_backward
and native_layer_norm_backward compute them."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np


def _weight_shape(x: Any, dims: Sequence[int], layer: bool) -> Tuple[int, ...]:
    """How weight broadcasts against x: over the normalised dims (layer norm) or
    along the channel dim, kept (batch norm)."""
    if layer:
        return tuple(x.shape[d] for d in range(x.ndim) if d in dims)
    return tuple(1 if d in dims else x.shape[d] for d in range(x.ndim))


def _parts(x: Any, dims: Sequence[int], eps: float, stats: Optional[Tuple[Any, Any]],
           layer: bool) -> Tuple[Any, Any]:
    """(xhat, invstd), invstd shaped to broadcast against x."""
    dims = tuple(dims)
    if stats is None:
        mean = x.mean(axis=dims, keepdims=True)
        invstd = 1.0 / np.sqrt(x.var(axis=dims, keepdims=True) + eps)
    else:
        shape = _weight_shape(x, dims, layer)
        mean = np.asarray(stats[0], dtype=x.dtype).reshape(shape)
        invstd = np.asarray(stats[1], dtype=x.dtype).reshape(shape)
    return (x - mean) * invstd, invstd


def normalize_backward(g: Any, x: Any, weight: Any, dims: Sequence[int], eps: float,
                       stats: Any, layer: bool) -> Any:
    xhat, invstd = _parts(x, dims, eps, stats, layer)
    gh = g if weight is None else g * weight.reshape(_weight_shape(x, dims, layer))
    if stats is not None:
        return gh * invstd
    dims = tuple(dims)
    return invstd * (gh - gh.mean(axis=dims, keepdims=True)
                     - xhat * (gh * xhat).mean(axis=dims, keepdims=True))


def normalize_weight_backward(g: Any, x: Any, weight: Any, dims: Sequence[int], eps: float,
                              stats: Any, layer: bool) -> Any:
    xhat, _ = _parts(x, dims, eps, stats, layer)
    over = tuple(d for d in range(x.ndim) if (d not in dims) == layer)
    return (g * xhat).sum(axis=over).reshape(weight.shape)
