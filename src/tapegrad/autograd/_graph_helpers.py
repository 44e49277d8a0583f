"""The runtime of the generated graph rules (autograd/_graph_rules.py): the op table's
functions and HELPERS evaluated with the engine's own differentiable tensor ops, so
that a backward rule run under ``create_graph=True`` records ordinary nodes.

Written once for both engines: every function reaches its engine through the
tensors it is given. Masks (the conditions of ``where``, ``clamp_mask``, the
tie masks of max/min) carry no gradient, as in torch; they are computed in
numpy from the tensors' values and enter the graph as constants.
"""

from __future__ import annotations

import math
from typing import Any, List, Sequence, Tuple

import numpy as np

from .. import _backend
from ..reference import _derivatives as _npd

OUT = -1


def npv(x: Any) -> Any:
    """The value of a tensor as a numpy array (a number stays a number)."""
    if _backend.engine_of(x) is None:
        return x
    return np.asarray(x.detach().numpy())


def _eng(x: Any) -> Any:
    return _backend.engine_of(x)


def _const(like: Any, arr: Any) -> Any:
    """arr as a constant tensor of like's engine and dtype."""
    return _eng(like).tensor(np.asarray(arr, dtype=npv(like).dtype), dtype=like.dtype)


def _is_tensor(x: Any) -> bool:
    return _backend.engine_of(x) is not None


# -- the table's engine functions ------------------------------------------------

def exp(x: Any) -> Any:
    return x.exp() if _is_tensor(x) else math.exp(x)


def log(x: Any) -> Any:
    return x.log() if _is_tensor(x) else _npd.log_scalar(x)


def pow_(x: Any, y: Any) -> Any:
    if not _is_tensor(y) and y == 2:
        return x * x                                # torch squares exactly
    return x ** y


def where(mask: Any, a: Any, b: Any) -> Any:
    """a where mask else b, for a constant mask (numpy bool); a or b may be numbers.
    Written as a * m + b * (1 - m): equal to torch's where wherever the values are
    finite (an inf or nan in the branch not taken would leak through)."""
    like = a if _is_tensor(a) else b
    mask = np.asarray(mask)
    shape = np.broadcast_shapes(mask.shape, tuple(like.shape))
    if _is_tensor(a) and _is_tensor(b):
        shape = np.broadcast_shapes(shape, tuple(b.shape))
    mask = np.broadcast_to(mask, shape)
    out = None
    if not (not _is_tensor(a) and a == 0):
        out = a * _const(like, mask)
    if not (not _is_tensor(b) and b == 0):
        part = b * _const(like, ~mask)
        out = part if out is None else out + part
    if out is None:
        return _eng(like).zeros(shape, dtype=like.dtype)
    if tuple(out.shape) != shape:
        out = expand(out, shape)
    return out


def sum_(x: Any, dim: Any, keepdim: bool) -> Any:
    return x.sum(dim, keepdim)


def expand(x: Any, sizes: Sequence[int]) -> Any:
    sizes = tuple(sizes)
    if tuple(x.shape) == sizes:
        return x
    if hasattr(x, "expand"):
        return x.expand(sizes)
    return x * _eng(x).ones(sizes, dtype=x.dtype)


def reshape(x: Any, sizes: Sequence[int]) -> Any:
    return x.reshape(tuple(sizes))


def transpose(x: Any, d0: int, d1: int) -> Any:
    return x.transpose(d0, d1) if x.ndim else x


def t(x: Any) -> Any:
    return x.t()


def permute(x: Any, dims: Sequence[int]) -> Any:
    return x.permute(*[int(d) for d in dims])


def mm(a: Any, b: Any) -> Any:
    return a.mm(b)


def mv(a: Any, b: Any) -> Any:
    return a.mv(b)


def bmm(a: Any, b: Any) -> Any:
    return a.bmm(b)


def outer(a: Any, b: Any) -> Any:
    return a.reshape(-1, 1) * b.reshape(1, -1)


def zeros_like(x: Any) -> Any:
    return _eng(x).zeros_like(x)


# -- HELPERS (meaning in tools/ops.py) --------------------------------------------

def sum_to(g: Any, parent: Any) -> Any:
    """g summed over the dims broadcasting added to parent's shape."""
    if g.shape == parent.shape:
        return g
    shape = tuple(parent.shape)
    gshape = tuple(g.shape)
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, s in enumerate(shape) if s == 1 and gshape[lead + k] != 1)
    if axes:
        g = g.sum(axes, True)
    return g.reshape(shape)


def sum_backward(g: Any, sizes: Sequence[int], dim: Any, keepdim: bool) -> Any:
    sizes = tuple(sizes)
    if not keepdim:
        given = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = sorted(d % len(sizes) for d in given) if sizes else []
        shape = list(g.shape)
        for d in dims:
            shape.insert(d, 1)
        g = g.reshape(tuple(shape))
    return expand(g, sizes)


def evenly_distribute_backward(g: Any, x: Any, result: Any) -> Any:
    xv, rv = npv(x), npv(result)
    mask = np.isnan(xv) if np.isnan(rv) else (xv == rv)
    return where(mask, expand(g / float(np.count_nonzero(mask)), xv.shape), 0)


def value_selecting_reduction_backward(g: Any, dim: int, indices: Any, sizes: Sequence[int],
                                       keepdim: bool) -> Any:
    sizes = tuple(sizes)
    idx = np.asarray(npv(indices))
    if not keepdim:
        g = g.unsqueeze(dim)
        idx = np.expand_dims(idx, dim)
    onehot = np.zeros(sizes, dtype=bool)
    np.put_along_axis(onehot, idx, True, axis=dim)
    return where(onehot, expand(g, sizes), 0)


def scatter(g: Any, sizes: Sequence[int], positions: Any) -> Any:
    """zeros(sizes) with g's elements added at the flat positions (repeats add up): the
    product with a constant 0/1 matrix, so its own derivative is a gather."""
    sizes = tuple(int(s) for s in sizes)
    n_in = int(np.prod(sizes, dtype=np.int64))
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    mat = np.zeros((n_in, pos.size), dtype=npv(g).dtype)
    np.add.at(mat, (pos, np.arange(pos.size)), 1)
    flat = g.reshape(-1)
    return _const(g, mat).mv(flat).reshape(sizes) if pos.size else \
        _eng(g).zeros(sizes, dtype=g.dtype)


def select_backward(g: Any, sizes: Sequence[int], index: Any) -> Any:
    pos = np.arange(int(np.prod(sizes, dtype=np.int64))).reshape(tuple(sizes))[index]
    return scatter(g, sizes, pos)


def index_backward(g: Any, sizes: Sequence[int], indices: Any) -> Any:
    return select_backward(g, sizes, indices)


def embedding_backward(g: Any, sizes: Sequence[int], indices: Any, padding_idx: int) -> Any:
    """index_backward of weight[indices], the row padding_idx (>= 0) left at zero."""
    pos = np.arange(int(np.prod(sizes, dtype=np.int64))).reshape(tuple(sizes))[indices]
    if padding_idx >= 0:
        pad = np.broadcast_to(np.asarray(indices)[..., None] == padding_idx, pos.shape)
        g = where(pad, 0, g)
    return scatter(g, sizes, pos)


def clamp_mask(x: Any, lo: Any, hi: Any) -> Any:
    return _npd.clamp_mask(npv(x), lo, hi)


def sgn(x: Any) -> Any:
    """torch's x.sgn(): recorded, with a zero derivative."""
    s = _const(x, _npd.sgn(npv(x)))
    return s + zero_link(x, s) if x.requires_grad else s


def zero_link(saved: Any, like: Any) -> Any:
    """0, recorded from saved with a zero derivative: what torch's piecewise-constant
    ops (sgn, threshold_backward's mask) give, so that a gradient through them has a
    history and its derivative is 0, not an error."""
    return (saved.clamp(0.0, 0.0) * 0.0).sum().to(like.dtype)


def invert_permutation(dims: Sequence[int]) -> Any:
    return _npd.invert_permutation(dims)


def mse_loss_backward(g: Any, a: Any, b: Any, reduction: str) -> Any:
    a = a.to(g.dtype)
    b = b.to(g.dtype)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    n = int(np.prod(shape, dtype=np.int64))
    norm = 2.0 / n if reduction == "mean" else 2.0
    return expand((a - b) * norm * g, shape)


def nll_loss_backward(g: Any, sizes: Sequence[int], key: Any, rows: Any, weight: Any,
                      total_weight: Any, reduction: str) -> Any:
    if reduction == "none":         # g[rows]: the rows whose targets are not ignored
        flat = g.reshape(-1)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        pick = np.zeros((rows.size, int(flat.shape[0])), dtype=npv(g).dtype)
        pick[np.arange(rows.size), rows] = 1
        gr = _const(g, pick).mv(flat)
    else:
        gr = g / float(total_weight) if reduction == "mean" else g
        n_picked = int(np.asarray(np.zeros(tuple(sizes))[key]).size)
        gr = expand(gr.reshape(1), (n_picked,))
    if weight is not None:
        gr = gr * _const(gr, np.asarray(weight).reshape(-1))
    pos = np.arange(int(np.prod(sizes, dtype=np.int64))).reshape(tuple(sizes))[key]
    return scatter(-gr, sizes, pos)


_BCE_EPS = float(np.float32(1e-12))


def _bce_reduce(gr: Any, x: Any, weight: Any, reduction: str) -> Any:
    if weight is not None:
        gr = gr * weight
    if reduction == "mean":
        gr = gr / float(x.numel())
    return gr


def binary_cross_entropy_backward(g: Any, x: Any, t: Any, weight: Any, reduction: str) -> Any:
    return _bce_reduce(g * (x - t) / ((1 - x) * x).clamp_min(_BCE_EPS), x, weight, reduction)


def binary_cross_entropy_target_backward(g: Any, x: Any, t: Any, weight: Any,
                                         reduction: str) -> Any:
    return _bce_reduce(-(x / (1 - x)).log() * g, x, weight, reduction)


def cast(g: Any, like_dtype: Any) -> Any:
    return g if g.dtype == like_dtype else g.to(like_dtype)


def gather_backward(g: Any, in_sizes: Sequence[int], offset: int,
                    strides: Sequence[int]) -> Any:
    """The adjoint of a strided read out[i] = x.flat[offset + i . strides] (the compiled
    engine's TT_GATHER: transpose, permute, expand, select, slice ...): a permutation
    of axes and broadcast dims are undone with permute and sum; any other read is
    scattered back (:func:`scatter`)."""
    in_sizes = tuple(int(s) for s in in_sizes)
    out_sizes = tuple(int(s) for s in g.shape)
    strides = [int(s) for s in strides]
    if len(in_sizes) == 2 and offset == 0 and out_sizes == in_sizes[::-1] and \
            strides == [1, in_sizes[1]]:
        return g.t()                                # a matrix transposed (t(), .T)
    bcast = tuple(d for d, (s, st) in enumerate(zip(out_sizes, strides)) if st == 0 and s > 1)
    if bcast:
        g = g.sum(bcast, True)
    live = [d for d in range(len(out_sizes)) if out_sizes[d] > 1 and strides[d] != 0]
    order = sorted(live, key=lambda d: -strides[d])
    compact = [s for s in in_sizes if s > 1]
    expected: List[int] = []
    acc = 1
    for s in reversed(compact):
        expected.insert(0, acc)
        acc *= s
    if offset == 0 and [out_sizes[d] for d in order] == compact and \
            [strides[d] for d in order] == expected:
        sq = g.reshape(tuple(out_sizes[d] for d in live))
        rank = {d: k for k, d in enumerate(live)}
        if len(order) > 1:
            sq = sq.permute(*[rank[d] for d in order])
        return sq.reshape(in_sizes)
    idx = np.full(out_sizes, offset, dtype=np.int64)
    for d, st in enumerate(strides):
        shape = [1] * len(out_sizes)
        shape[d] = out_sizes[d]
        idx = idx + (np.arange(out_sizes[d], dtype=np.int64) * st).reshape(shape)
    if bcast:       # g was summed over them
        idx = idx[tuple(slice(0, 1) if d in bcast else slice(None)
                        for d in range(len(out_sizes)))]
    return scatter(g, in_sizes, idx)


def shape_tuple(x: Any) -> Tuple[int, ...]:
    return tuple(int(s) for s in x.shape)


from ._graph_helpers_more import (  # noqa: E402,F401 - issue 11 item 5 rows
    cos, cumsum_backward, flip, logsumexp_backward, norm_backward, prod_backward,
    repeat_backward, roll_backward, sin, slice_along, take_along_backward, unsqueeze_reduced,
    var_backward)


from ._graph_helpers_act import (  # noqa: E402,F401 - issue 12 rows
    bce_logits_backward, bce_logits_target_backward, constant_pad, erf, huber_backward,
    smooth_l1_backward, tanh)
from ._graph_helpers_norm import (  # noqa: E402,F401 - issue 12 item 4 rows
    normalize_backward, normalize_weight_backward)
