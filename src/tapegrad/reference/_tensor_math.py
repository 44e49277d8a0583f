"""Torch-order arithmetic on numpy arrays, shared by the reference tensor ops, the
generated backward rules (via _derivatives) and the optimizer hooks: sums in the
order of torch's CPU kernel, a fused multiply-add, and x ** c with torch's special
cases.
"""

import builtins

import numpy as np

_bmax = builtins.max

# Sums in torch's order. torch's CPU sum kernel (ATen/native/cpu/SumKernel.cpp)
# adds floats in a fixed order: a reduced row is read as vectors of 32 bytes
# (8 float32 or 4 float64 lanes) with 4 interleaved accumulators, and long runs
# are summed in chunks of 16+ rows whose sums are carried up through 4 levels.
# Repeating that order makes float32 sums agree with torch to the bit (except
# full reductions of more than 32768 elements, which torch splits over threads).

_GRAIN = 32768


def _cascade(rows):
    """torch's multi_row_sum: the sum over axis 0, in chunks carried up 4 levels."""
    size = rows.shape[0]
    zero = np.zeros(rows.shape[1:], dtype=rows.dtype)
    power = _bmax(4, (size - 1).bit_length() // 4 if size > 1 else 0)
    step = 1 << power
    acc = [zero] * 4
    i = 0
    while i + step <= size:
        acc[0] = acc[0] + np.cumsum(rows[i:i + step], axis=0, dtype=rows.dtype)[-1]
        i += step
        for j in range(1, 4):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = zero
            if i & ((step - 1) << (j * power)):
                break
    for r in rows[i:]:
        acc[0] = acc[0] + r
    for j in range(1, 4):
        acc[0] = acc[0] + acc[j]
    return acc[0]


def _row_sum(rows):
    """torch's row_sum: 4 interleaved partial sums over axis 0, then the rest."""
    size = rows.shape[0]
    groups = size // 4
    if groups:
        p = _cascade(rows[:4 * groups].reshape((groups, 4) + rows.shape[1:]))
        parts = [p[k] for k in range(4)]
    else:
        parts = [np.zeros(rows.shape[1:], dtype=rows.dtype)] * 4
    acc = parts[0]
    for i in range(4 * groups, size):
        acc = acc + rows[i]
    for k in range(1, 4):
        acc = acc + parts[k]
    return acc


def _inner_sum(flat):
    """Sum over the last axis of a contiguous (..., n) array, as torch does."""
    n = flat.shape[-1]
    lanes = 32 // flat.itemsize
    zero = flat.dtype.type(0)
    if n < lanes:
        return zero + _row_sum(np.moveaxis(flat, -1, 0))
    nv = n // lanes
    vecs = flat[..., :nv * lanes].reshape(flat.shape[:-1] + (nv, lanes))
    lane_sums = _row_sum(np.moveaxis(vecs, -2, 0))
    acc = np.zeros(flat.shape[:-1], dtype=flat.dtype)
    for k in range(nv * lanes, n):
        acc = acc + flat[..., k]
    for k in range(lanes):
        acc = acc + lane_sums[..., k]
    return zero + acc


def _outer_sum(x3):
    """Sum over axis 1 of a contiguous (L, R, C) array, as torch does: column
    blocks use the chunked sum, leftover columns the interleaved one."""
    cols = x3.shape[2]
    lanes = 32 // x3.itemsize
    split = (4 * lanes) * (cols // (4 * lanes)) if cols >= lanes else 4 * (cols // 4)
    rows = np.moveaxis(x3, 1, 0)
    out = np.empty((x3.shape[0], cols), dtype=x3.dtype)
    if split:
        out[:, :split] = _cascade(rows[..., :split])
    if split < cols:
        out[:, split:] = _row_sum(rows[..., split:])
    return x3.dtype.type(0) + out


def _fsum(x, axis=None, keepdims=False):
    """Sum over ``axis`` in x's dtype, in torch's order where it is known."""
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else \
        ((axis,) if isinstance(axis, int) else tuple(axis))
    axes = tuple(sorted(a % nd for a in axes)) if nd else ()
    shape = x.shape
    out_shape = tuple(1 if k in axes else s for k, s in enumerate(shape)) if keepdims else \
        tuple(s for k, s in enumerate(shape) if k not in axes)
    if not axes or x.size == 0:
        return np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
    lo, hi = axes[0], axes[-1] + 1
    n = 1
    for k in range(lo, hi):
        n *= shape[k]
    known = (x.dtype.kind == "f" and axes == tuple(range(lo, hi)) and x.flags.c_contiguous
             and (n <= _GRAIN or x.size // n > 1))
    if not known:
        return np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)
    lead = 1
    for k in range(lo):
        lead *= shape[k]
    cols = x.size // (lead * n)
    if cols == 1:
        out = _inner_sum(x.reshape(lead, n))
    else:
        out = _outer_sum(x.reshape(lead, n, cols))
    return np.asarray(out, dtype=x.dtype).reshape(out_shape)


def _sum_to(g, shape):
    """Reduce a broadcast gradient to ``shape`` (sum over the broadcast dims)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, s in enumerate(shape) if s == 1 and g.shape[lead + k] != 1)
    if axes:
        g = _fsum(g, axes, keepdims=True)
    return g.reshape(shape)


def _fma(a, b, c, dt):
    """a * b + c rounded once in dtype dt, like the fused multiply-add torch's CPU
    kernels use (e.g. ``add_(x, alpha=)``). float32 goes through float64, where
    the product is exact; float64 uses error-free transformations."""
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    if dt is np.float32:
        return (a * b + c).astype(np.float32)
    with np.errstate(all="ignore"):
        p = a * b
        split = 134217729.0                     # Dekker: p + e == a * b exactly
        t = a * split
        ah = t - (t - a)
        al = a - ah
        t = b * split
        bh = t - (t - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        s = p + c                               # TwoSum: s + r == p + c exactly
        v = s - p
        r = (p - (s - v)) + (c - v)
        out = s + (r + e)
    return np.where(np.isfinite(out), out, p + c)


def _pow_scalar_array(x, c):
    """x ** c for a Python-number exponent, with torch's special cases."""
    if c == 2:
        return x * x
    if c == 0.5:
        return np.sqrt(x)
    if c == 1:
        return x.copy()
    if c == 0:
        return np.ones_like(x)
    if c == 3:
        return x * x * x
    if c == -0.5:
        return 1 / np.sqrt(x)
    if c == -1:
        return 1 / x
    if c == -2:
        return 1 / (x * x)
    return np.power(x, x.dtype.type(c))
