"""Issue 12 item 4's HELPERS with the engine's own differentiable ops (create_graph=True
through the compiled engine's normalisation nodes): the same formulas as
``reference/_derivatives_norm.py``, recorded, so they differentiate again."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .. import _backend
from ..reference._derivatives_norm import _weight_shape


def _parts(x: Any, dims: Sequence[int], eps: float, stats: Optional[Tuple[Any, Any]],
           layer: bool) -> Tuple[Any, Any]:
    dims = tuple(dims)
    if stats is None:
        mean = x.mean(dims, keepdim=True)
        invstd = (x.var(dims, correction=0, keepdim=True) + eps).rsqrt()
    else:
        eng = _backend.engine_of(x)
        shape = _weight_shape(x, dims, layer)
        mean, invstd = (eng.tensor(np.asarray(s, dtype=np.float64).reshape(shape),
                                   dtype=x.dtype) for s in stats)
    return (x - mean) * invstd, invstd


def normalize_backward(g: Any, x: Any, weight: Any, dims: Sequence[int], eps: float,
                       stats: Any, layer: bool) -> Any:
    xhat, invstd = _parts(x, dims, eps, stats, layer)
    gh = g if weight is None else g * weight.reshape(_weight_shape(x, dims, layer))
    if stats is not None:
        return gh * invstd
    dims = tuple(dims)
    return invstd * (gh - gh.mean(dims, keepdim=True)
                     - xhat * (gh * xhat).mean(dims, keepdim=True))


def normalize_weight_backward(g: Any, x: Any, weight: Any, dims: Sequence[int], eps: float,
                              stats: Any, layer: bool) -> Any:
    xhat, _ = _parts(x, dims, eps, stats, layer)
    over = tuple(d for d in range(x.ndim) if (d not in dims) == layer)
    prod = g * xhat
    return (prod.sum(over) if over else prod).reshape(tuple(weight.shape))
