"""Issue 11 item 5's table functions and HELPERS for create_graph=True, with the
engine's own differentiable tensor ops (re-exported by ``_graph_helpers``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..reference import _derivatives as _npd, _derivatives_more as _npm


def _dims(dim: Any, ndim: int) -> tuple:
    if dim is None:
        return tuple(range(ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def _restore(g: Any, dim: Any, keepdim: bool, ndim: int) -> Any:
    if keepdim or ndim == 0:
        return g
    for d in sorted(_dims(dim, ndim)):
        g = g.unsqueeze(d)
    return g


def sin(x: Any) -> Any:
    return x.sin()


def cos(x: Any) -> Any:
    return x.cos()


def slice_along(g: Any, dim: int, start: int, length: int) -> Any:
    return g[(slice(None),) * dim + (slice(start, start + length),)]


def unsqueeze_reduced(g: Any, dim: Any, keepdim: bool, ndim: int) -> Any:
    return _restore(g, dim, keepdim, ndim)


def logsumexp_backward(g: Any, x: Any, result: Any, dim: Any, keepdim: bool) -> Any:
    return _restore(g, dim, keepdim, x.ndim) * (x - _restore(result, dim, keepdim, x.ndim)).exp()


def var_backward(g: Any, x: Any, dim: Any, correction: float, keepdim: bool) -> Any:
    dims = _dims(dim, x.ndim)
    n = int(np.prod([x.shape[d] for d in dims])) if x.ndim else 1
    mean = x.mean(dims, keepdim=True) if x.ndim else x
    return _restore(g, dim, keepdim, x.ndim) * (x - mean) * (2.0 / (n - correction))


def norm_backward(g: Any, x: Any, p: float, result: Any, dim: Any, keepdim: bool) -> Any:
    from ._graph_helpers import _const, npv, sgn, where
    g = _restore(g, dim, keepdim, x.ndim)
    r = _restore(result, dim, keepdim, x.ndim)
    zero = npv(r) == 0
    if p == 0:
        return x * 0.0
    if p == 1:
        return g * sgn(x)
    if np.isinf(p):
        xv = npv(x)
        mask = (np.abs(xv) == npv(r)) | np.isnan(xv)
        count = np.sum(mask, axis=_dims(dim, x.ndim), keepdims=True) if x.ndim else 1
        return where(mask, g / _const(x, count), 0) * sgn(x)
    if p == 2:
        return x * where(zero, 0, g / r)
    return x * x.abs() ** (p - 2) * where(zero, 0, g / r ** (p - 1))


def prod_backward(g: Any, x: Any, result: Any, dim: Any, keepdim: bool) -> Any:
    from ._graph_helpers import _const, npv
    if x.ndim and not (npv(x) == 0).any():
        return _restore(g, dim, keepdim, x.ndim) * _restore(result, dim, keepdim, x.ndim) / x
    return _const(x, _npd.prod_backward(npv(g), npv(x), npv(result), dim, keepdim))


def cumsum_backward(g: Any, dim: int) -> Any:
    if g.ndim == 0:
        return g
    return g.flip(dim).cumsum(dim).flip(dim)


def flip(g: Any, dims: Sequence[int]) -> Any:
    return g.flip(tuple(dims)) if g.ndim else g


def roll_backward(g: Any, shifts: Any, dims: Any) -> Any:
    if dims is None:
        return g.roll(-shifts)
    return g.roll(tuple(-s for s in shifts), tuple(dims))


def repeat_backward(g: Any, repeats: Sequence[int], sizes: Sequence[int]) -> Any:
    lead = len(repeats) - len(sizes)
    padded = (1,) * lead + tuple(sizes)
    split = []
    for r, s in zip(repeats, padded):
        split += [r, s]
    return g.reshape(*split).sum(tuple(range(0, 2 * len(repeats), 2))).reshape(*sizes)


def take_along_backward(g: Any, sizes: Sequence[int], dim: int, indices: Any) -> Any:
    from ._graph_helpers import npv, scatter
    return scatter(g, sizes, _npm._take_positions(sizes, dim, npv(indices)))
