"""One program per row of the op table (tools/ops.py) that records that row, for the
first- and second-order checks of tests/higher. A case is (input arrays, fn) where
fn(M, F, *tensors) runs unchanged on a tapegrad engine and on torch (M the engine
or torch, F its nn.functional). Inputs stay away from kinks (relu at 0, clamp's
bounds, ties of max) so that finite differences are meaningful.

A new row of the table needs a case here: test_every_row_has_a_case fails until it
has one (or an entry in NO_CASE saying why it cannot be reached from the API).
"""

import numpy as np

_R = np.random.RandomState(7)


def _m(*shape, lo=-1.0, hi=1.0):
    return _R.uniform(lo, hi, size=shape)


def _away(*shape):
    """Values at least 0.2 away from zero, of either sign."""
    a = _m(*shape, lo=0.2, hi=1.2)
    return a * np.where(_R.rand(*shape) < 0.5, -1.0, 1.0)


A23, B3, POS23, POS3 = _m(2, 3), _m(3), _m(2, 3, lo=0.5, hi=1.5), _m(3, lo=0.5, hi=1.5)
A34, V3, V4 = _m(3, 4), _m(3), _m(4)
A223, B232 = _m(2, 2, 3), _m(2, 3, 2)
DISTINCT = np.array([[0.3, -0.9, 0.7], [1.1, 0.2, -0.4]])       # no ties


def _targets(M):
    return M.tensor([2, 0])


CASES = {
    "add": ((A23, B3), lambda M, F, a, b: a + b),
    "add_scalar": ((A23,), lambda M, F, a: a + 1.5),
    "sub": ((A23, B3), lambda M, F, a, b: a - b),
    "sub_scalar": ((A23,), lambda M, F, a: a - 1.5),
    "rsub": ((A23,), lambda M, F, a: 1.5 - a),
    "mul": ((A23, B3), lambda M, F, a, b: a * b),
    "mul_scalar": ((A23,), lambda M, F, a: a * 2.5),
    "div": ((A23, POS3), lambda M, F, a, b: a / b),
    "div_scalar": ((A23,), lambda M, F, a: a / 2.5),
    "rdiv_scalar": ((POS23,), lambda M, F, a: 2.0 / a),
    "reciprocal": ((POS23,), lambda M, F, a: a.reciprocal()),
    "pow_scalar": ((POS23,), lambda M, F, a: a ** 2.5 + a ** 3),
    "pow": ((POS23, B3), lambda M, F, a, b: a ** b),
    "rpow": ((A23,), lambda M, F, a: 2.0 ** a),
    "neg": ((A23,), lambda M, F, a: -a),
    "exp": ((A23,), lambda M, F, a: a.exp()),
    "log": ((POS23,), lambda M, F, a: a.log()),
    "tanh": ((A23,), lambda M, F, a: a.tanh()),
    "sigmoid": ((A23,), lambda M, F, a: a.sigmoid()),
    "relu": ((_away(2, 3),), lambda M, F, a: a.relu() * a),
    "abs": ((_away(2, 3),), lambda M, F, a: a.abs() * a),
    "sqrt": ((POS23,), lambda M, F, a: a.sqrt()),
    "clamp": ((DISTINCT,), lambda M, F, a: a.clamp(-0.5, 0.5) * a),
    "clamp_min": ((DISTINCT,), lambda M, F, a: a.clamp_min(0.25) * a),
    "clamp_max": ((DISTINCT,), lambda M, F, a: a.clamp_max(0.25) * a),
    "sum": ((A23,), lambda M, F, a: (a * a).sum()),
    "sum_dim": ((A23,), lambda M, F, a: (a * a).sum(1)),
    "mean": ((A23,), lambda M, F, a: (a * a).mean()),
    "mean_dim": ((A23,), lambda M, F, a: (a * a).mean(0, keepdim=True)),
    "max": ((DISTINCT,), lambda M, F, a: (a * a).max()),
    "max_dim": ((DISTINCT,), lambda M, F, a: (a * a).max(1)[0]),
    "min": ((DISTINCT,), lambda M, F, a: (a * a).min()),
    "min_dim": ((DISTINCT,), lambda M, F, a: (a * a).min(0)[0]),
    "softmax": ((A23,), lambda M, F, a: a.softmax(1)),
    "log_softmax": ((A23,), lambda M, F, a: a.log_softmax(1)),
    "mm": ((A23, A34), lambda M, F, a, b: a.mm(b)),
    "dot": ((V3, B3), lambda M, F, a, b: a.dot(b)),
    "mv": ((A34, V4), lambda M, F, a, b: a.mv(b)),
    "bmm": ((A223, B232), lambda M, F, a, b: a.bmm(b)),
    "addmm": ((A23, A34.T.copy(), V4), lambda M, F, x, w, b: F.linear(x, w, b)),
    "view": ((A23,), lambda M, F, a: (a * a).view(6)),
    "unsafe_view": ((A223, A34), lambda M, F, a, b: M.matmul(a, b)),
    "unsqueeze": ((A23,), lambda M, F, a: (a * a).unsqueeze(0)),
    "squeeze": ((A23,), lambda M, F, a: (a * a).unsqueeze(0).squeeze()),
    "squeeze_dim": ((A23,), lambda M, F, a: (a * a).unsqueeze(1).squeeze(1)),
    "squeeze_mm": ((V3, A34), lambda M, F, a, b: M.matmul(a, b)),
    "vm": ((V3, A34), lambda M, F, a, b: M.matmul(a, b)),
    "transpose": ((A223,), lambda M, F, a: (a * a).transpose(0, 2)),
    "t": ((A23,), lambda M, F, a: (a * a).t()),
    "permute": ((A223,), lambda M, F, a: (a * a).permute(2, 0, 1)),
    "expand": ((A23, _m(1, 3, 2)), lambda M, F, a, b: M.matmul(a * a, b)),
    "clone": ((A23,), lambda M, F, a: (a * a).clone()),
    "alias": ((A23,), lambda M, F, a: (a * a)[...]),
    # through float32: finite differences see its rounding (TOLERANCES)
    "to_copy": ((A23,), lambda M, F, a: (a * a).float().double() * a),
    "select": ((A23,), lambda M, F, a: (a * a)[1]),
    "unbind": ((A23,), lambda M, F, a: list(a * a)[0]),
    "slice": ((A23,), lambda M, F, a: (a * a)[:, 1:]),
    "index": ((A23,), lambda M, F, a: (a * a)[M.tensor([1])]),
    "index_select": ((A23,), lambda M, F, a: (a * a).index_select(1, M.tensor([2, 0, 2]))),
    "gather": ((A23,), lambda M, F, a: (a * a).gather(1, M.tensor([[2, 2], [0, 1]]))),
    "masked_select": ((A23,), lambda M, F, a: (a * a)[(a * a) > 0.2]),
    "embedding": ((A23,), lambda M, F, a: F.embedding(M.tensor([[1, 0], [1, 1]]), a * a)),
    "where": ((A23, _m(3)), lambda M, F, a, b: M.where(a > 0, a * a, b * b)),
    "mse_loss": ((A23, _m(2, 3)), lambda M, F, a, b: F.mse_loss(a * a, b)),
    "nll_loss": ((A23,), lambda M, F, a: F.nll_loss(a.log_softmax(1), _targets(M))),
    "pick": ((A23,), lambda M, F, a: F.cross_entropy(a * a, _targets(M))),
    "binary_cross_entropy": ((A23, _m(2, 3, lo=0.1, hi=0.9)),
                             lambda M, F, a, b: F.binary_cross_entropy(a.sigmoid(), b)),
    # issue 11 item 5
    "sin": ((A23,), lambda M, F, a: a.sin()),
    "cos": ((A23,), lambda M, F, a: M.cos(a)),
    "tan": ((A23,), lambda M, F, a: a.tan()),
    "log10": ((POS23,), lambda M, F, a: a.log10()),
    "log2": ((POS23,), lambda M, F, a: M.log2(a)),
    "log1p": ((POS23,), lambda M, F, a: a.log1p()),
    "expm1": ((A23,), lambda M, F, a: a.expm1()),
    "rsqrt": ((POS23,), lambda M, F, a: a.rsqrt()),
    "sign": ((_away(2, 3),), lambda M, F, a: a.sign() + a * a),
    "floor": ((DISTINCT,), lambda M, F, a: (a * 3).floor() + a * a),
    "ceil": ((DISTINCT,), lambda M, F, a: (a * 3).ceil() + a * a),
    "round": ((DISTINCT,), lambda M, F, a: (a * 3).round() + a * a),
    "maximum": ((A23, B3), lambda M, F, a, b: M.maximum(a * a, b)),
    "minimum": ((A23, B3), lambda M, F, a, b: M.minimum(a * a, b)),
    "logsumexp": ((A23,), lambda M, F, a: (a * a).logsumexp(1)),
    "var": ((A23,), lambda M, F, a: a.var(1)),
    "std": ((A23,), lambda M, F, a: a.std(0, keepdim=True)),
    "norm": ((A23,), lambda M, F, a: a.norm(dim=1)),
    "prod": ((POS23,), lambda M, F, a: a.prod()),
    "prod_dim": ((_away(2, 3),), lambda M, F, a: a.prod(1)),
    "cumsum": ((A23,), lambda M, F, a: (a * a).cumsum(1)),
    "cat": ((A23, B3), lambda M, F, a, b: M.cat([a * a, b.unsqueeze(0)])),
    "stack": ((A23,), lambda M, F, a: M.stack([a * a, a])),
    "split": ((A23,), lambda M, F, a: (a * a).split(2, 1)[0]),
    "split_with_sizes": ((A23,), lambda M, F, a: (a * a).split([1, 2], 1)[1]),
    "flip": ((A23,), lambda M, F, a: (a * a).flip(1)),
    "roll": ((A23,), lambda M, F, a: (a * a).roll(1, 1)),
    "repeat": ((A23,), lambda M, F, a: (a * a).repeat(2, 1)),
    "sort": ((DISTINCT,), lambda M, F, a: (a * a).sort(1)[0]),
    "topk": ((DISTINCT,), lambda M, F, a: (a * a).topk(2, 1)[0]),
    # issue 12 (csrc/tg_activation.c)
    "erf": ((A23,), lambda M, F, a: a.erf()),
    "gelu": ((A23,), lambda M, F, a: F.gelu(a) + F.gelu(a * 2, approximate="tanh")),
    "silu": ((A23,), lambda M, F, a: F.silu(a)),
    "leaky_relu": ((_away(2, 3),), lambda M, F, a: F.leaky_relu(a, 0.2) * a),
    "elu": ((_away(2, 3),), lambda M, F, a: F.elu(a, 0.7)),
    "softplus": ((A23,), lambda M, F, a: F.softplus(a, 2.0, 1.0)),
    "smooth_l1_loss": ((_m(2, 3, lo=-2, hi=2), _away(2, 3) * 2),
                       lambda M, F, a, b: F.smooth_l1_loss(a * a, a + b, beta=0.5)),
    "huber_loss": ((_m(2, 3, lo=-2, hi=2), _away(2, 3) * 2),
                   lambda M, F, a, b: F.huber_loss(a * a, a + b, reduction="none", delta=0.7)),
    "binary_cross_entropy_with_logits": (
        (A23, _m(2, 3, lo=0.1, hi=0.9)),
        lambda M, F, a, b: F.binary_cross_entropy_with_logits(
            a * 2, b * b, pos_weight=M.tensor([1.5, 0.5, 2.0], dtype=M.float64))),
    "constant_pad_nd": ((A23,), lambda M, F, a: F.pad(a * a, (1, -1, 0, 2), value=0.3)),
    # issue 12 item 4: the compiled engine's normalisation nodes (the reference composes)
    "native_batch_norm": ((_m(4, 3, 2), POS3), lambda M, F, x, w: F.batch_norm(
        x * x, None, None, w, None, True, 0.1, 1e-3)),
    "native_layer_norm": ((_m(3, 4), _m(4, lo=0.5, hi=1.5)), lambda M, F, x, w: F.layer_norm(
        x * x, (4,), w, None, 1e-3)),
    "batch_norm_bias": ((_m(4, 3), POS3, B3), lambda M, F, x, w, b: F.batch_norm(
        x * x, None, None, w, b, True, 0.1, 1e-3)),
    "layer_norm_bias": ((_m(3, 4), _m(4, lo=0.5, hi=1.5), V4), lambda M, F, x, w, b:
                        F.layer_norm(x * x, (4,), w, b, 1e-3)),
}

# gradcheck tolerances where torch's defaults do not fit the case
TOLERANCES = {"to_copy": dict(eps=1e-3, atol=1e-2, rtol=1e-2)}

# Rows no public call reaches, with the reason.
_WRITES = ("create_graph=True through an in-place write (its TT_WHERE node's parents are "
           "(value, self)): not supported yet")
NO_CASE = {"masked_fill": _WRITES, "masked_fill_tensor": _WRITES, "copy_slices": _WRITES,
           "index_put": _WRITES, "copy_": _WRITES, "fill_": _WRITES, "zero_": _WRITES}
