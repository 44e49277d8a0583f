"""The HELPERS of tools/ops.py for issue 11 item 5's ops (functions, reductions
along a dim, cat / roll / repeat), evaluated on numpy arrays; re-exported by
``_derivatives``. A reduction's ``dim`` is an int, a tuple of ints, or None
(every dim)."""

import numpy as np


def _dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def unsqueeze_reduced(g, dim, keepdim, ndim):
    """g with the reduced dims restored as size 1 (a keepdim result as it is)."""
    if keepdim or ndim == 0:
        return g
    return np.expand_dims(g, _dims(dim, ndim))


def slice_along(g, dim, start, length):
    index = [slice(None)] * g.ndim
    index[dim] = slice(start, start + length)
    return g[tuple(index)]


def logsumexp_backward(g, x, result, dim, keepdim):
    g = unsqueeze_reduced(g, dim, keepdim, x.ndim)
    r = unsqueeze_reduced(result, dim, keepdim, x.ndim)
    with np.errstate(all="ignore"):
        return g * np.exp(x - r)


def var_backward(g, x, dim, correction, keepdim):
    dims = _dims(dim, x.ndim)
    n = 1
    for d in dims:
        n *= x.shape[d] if x.ndim else 1
    g = unsqueeze_reduced(g, dim, keepdim, x.ndim)
    mean = np.mean(x, axis=dims, keepdims=True) if x.ndim else x
    t = x.dtype.type
    with np.errstate(all="ignore"):
        return (t(2) / t(n - correction)) * g * (x - mean)


def norm_backward(g, x, p, result, dim, keepdim):
    g = unsqueeze_reduced(g, dim, keepdim, x.ndim)
    r = unsqueeze_reduced(result, dim, keepdim, x.ndim)
    t = x.dtype.type
    with np.errstate(all="ignore"):
        if p == 0:
            return np.zeros_like(x)
        if p == 1:
            return np.sign(x) * g
        if np.isinf(p):
            a = np.abs(x)
            mask = (a == r) | np.isnan(a)
            count = np.sum(mask, axis=_dims(dim, x.ndim), keepdims=True) if x.ndim else 1
            return np.sign(x) * ((g / np.asarray(count, dtype=x.dtype)) * mask)
        if p == 2:
            return x * np.where(r == 0, t(0), g / r)
        return x * np.abs(x) ** t(p - 2) * np.where(r == 0, t(0), g / r ** t(p - 1))


def prod_backward(g, x, result, dim, keepdim):
    dims = _dims(dim, x.ndim)
    g = unsqueeze_reduced(g, dim, keepdim, x.ndim)
    r = unsqueeze_reduced(result, dim, keepdim, x.ndim)
    if x.ndim == 0:
        return g
    zero = x == 0
    zeros = np.sum(zero, axis=dims, keepdims=True)
    with np.errstate(all="ignore"):
        plain = g * r / x
        # one zero in a slice: the product of the others, at that zero
        others = np.prod(np.where(zero, x.dtype.type(1), x), axis=dims, keepdims=True)
    out = np.where(zeros == 0, plain, x.dtype.type(0))
    return np.where((zeros == 1) & zero, g * others, out).astype(x.dtype)


def cumsum_backward(g, dim):
    if g.ndim == 0:
        return g
    return np.flip(np.cumsum(np.flip(g, dim), axis=dim, dtype=g.dtype), dim)


def flip(g, dims):
    return np.flip(g, dims) if g.ndim else g


def roll_backward(g, shifts, dims):
    if dims is None:
        return np.roll(g.reshape(-1), -shifts).reshape(g.shape)
    return np.roll(g, tuple(-s for s in shifts), dims)


def repeat_backward(g, repeats, sizes):
    lead = len(repeats) - len(sizes)
    padded = (1,) * lead + tuple(sizes)
    split = []
    for r, s in zip(repeats, padded):
        split += [r, s]
    g = g.reshape(split).sum(axis=tuple(range(0, 2 * len(repeats), 2)), dtype=g.dtype)
    return g.reshape(sizes)


def _take_positions(sizes, dim, indices):
    """The flat input position each element of a take-along-dim output was read from."""
    idx = np.asarray(indices)
    if idx.ndim == 0:
        return np.zeros((), dtype=np.int64)
    coords = list(np.indices(idx.shape, sparse=True))
    coords[dim] = idx
    return np.ravel_multi_index(tuple(np.broadcast_arrays(*coords)), tuple(sizes))


def take_along_backward(g, sizes, dim, indices):
    z = np.zeros(int(np.prod(sizes, dtype=np.int64)), dtype=g.dtype)
    np.add.at(z, _take_positions(sizes, dim, indices).reshape(-1), g.reshape(-1))
    return z.reshape(sizes)
