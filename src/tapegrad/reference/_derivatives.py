"""The runtime of the generated backward rules (reference/_rules.py): the named
helpers of tools/ops.py (HELPERS) and the few engine ops the generated code does
not map straight to numpy, evaluated on numpy arrays in torch's order.
"""

import math

import numpy as np

from ._tensor_math import _fsum, _pow_scalar_array, _sum_to

OUT = -1     # in a rule's ``save``: the op's output

fsum = _fsum                     # sum(x, dim, keepdim) in torch's summation order
pow_scalar = _pow_scalar_array   # pow(x, c) for a Python-number exponent c


class Rule:
    """A row of the table as the reference engine uses it."""

    __slots__ = ("torch_name", "save", "backward")

    def __init__(self, torch_name, save, backward):
        self.torch_name = torch_name   # PyTorch's grad_fn name
        self.save = save               # saved values: input index, or OUT for the result
        self.backward = backward       # (grad, saved, ctx, parents) -> one gradient per input


def log_scalar(c):
    """log of a Python number (a constant of the op), in float64 without exceptions."""
    return math.log(c) if c > 0 else np.log(np.float64(c))


def exp_array(x):
    """exp elementwise; float32 computed in float64 and rounded once (numpy's own
    float32 exp can be 1 ulp off: the C kernels' expf and torch round correctly)."""
    x = np.asarray(x)
    if x.dtype == np.float32:
        return np.exp(x.astype(np.float64)).astype(np.float32)
    return np.exp(x)


def transpose(x, d0, d1):
    return np.swapaxes(x, d0, d1) if np.ndim(x) else x


# ----------------------------------------------------------------------------
# HELPERS (their meaning is in tools/ops.py)

def sum_to(g, parent):
    return _sum_to(g, parent._data.shape)


def sum_backward(g, sizes, dim, keepdim):
    if not keepdim:
        g = np.expand_dims(g, dim)
    return np.broadcast_to(g, sizes)


def evenly_distribute_backward(g, x, result):
    mask = np.isnan(x) if np.isnan(result) else (x == result)
    count = np.count_nonzero(mask)
    return np.where(mask, g / g.dtype.type(count), g.dtype.type(0))


def value_selecting_reduction_backward(g, dim, indices, sizes, keepdim):
    if not keepdim:
        g = np.expand_dims(g, dim)
        indices = np.expand_dims(indices, dim)
    z = np.zeros(sizes, dtype=g.dtype)
    np.put_along_axis(z, indices, g, axis=dim)
    return z


def select_backward(g, sizes, index):
    z = np.zeros(sizes, dtype=g.dtype)
    z[index] = g
    return z


def index_backward(g, sizes, indices):
    z = np.zeros(sizes, dtype=g.dtype)
    np.add.at(z, indices, g)
    return z


def embedding_backward(g, sizes, indices, padding_idx):
    z = np.zeros(sizes, dtype=g.dtype)
    np.add.at(z, indices, g)
    if padding_idx >= 0:
        z[padding_idx] = 0
    return z


def clamp_mask(x, lo, hi):
    mask = np.ones(x.shape, dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    return mask


def sgn(x):
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)     # torch: sgn(nan) is 0


def invert_permutation(dims):
    return np.argsort(dims)


def mse_loss_backward(g, a, b, reduction):
    a, b = np.broadcast_arrays(a.astype(g.dtype, copy=False), b.astype(g.dtype, copy=False))
    norm = a.dtype.type(2.0 / a.size if reduction == "mean" else 2.0)
    return norm * (a - b) * g


def nll_loss_backward(g, sizes, key, rows, weight, total_weight, reduction):
    z = np.zeros(sizes, dtype=g.dtype)
    if reduction == "none":
        gr = g[rows] if g.ndim else g
    else:
        gr = g / total_weight if reduction == "mean" else g
    z[key] = -gr if weight is None else weight * -gr
    return z


_BCE_EPS = np.float32(1e-12)     # torch's EPSILON is a float, also for double tensors


def _bce_reduce(gr, x, weight, reduction):
    if weight is not None:
        gr = gr * weight
    if reduction == "mean":
        gr = gr / x.dtype.type(x.size)
    return gr


def binary_cross_entropy_backward(g, x, t, weight, reduction):
    one = x.dtype.type(1)
    with np.errstate(all="ignore"):
        gr = g * (x - t) / np.maximum((one - x) * x, x.dtype.type(_BCE_EPS))
    return _bce_reduce(gr, x, weight, reduction)


def binary_cross_entropy_target_backward(g, x, t, weight, reduction):
    one = x.dtype.type(1)
    with np.errstate(all="ignore"):
        gr = -np.log(x / (one - x)) * g
    return _bce_reduce(gr, x, weight, reduction)


from ._derivatives_more import (  # noqa: E402,F401 - issue 11 item 5's helpers
    cumsum_backward, flip, logsumexp_backward, norm_backward, prod_backward, repeat_backward,
    roll_backward, slice_along, take_along_backward, unsqueeze_reduced, var_backward)
from ._derivatives_act import (  # noqa: E402,F401 - issue 12's helpers
    bce_logits_backward, bce_logits_target_backward, constant_pad, erf, huber_backward,
    smooth_l1_backward, tanh)
from ._derivatives_norm import (  # noqa: E402,F401 - issue 12 item 4's helpers
    normalize_backward, normalize_weight_backward)
