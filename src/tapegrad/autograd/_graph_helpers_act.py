"""Issue 12's table functions and HELPERS (activations, losses, pad) for
create_graph=True, with the engine's own differentiable tensor ops (re-exported by
``_graph_helpers``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._graph_helpers import _const, npv, where


def erf(x: Any) -> Any:
    return x.erf()


def tanh(x: Any) -> Any:
    return x.tanh()


def _norm(x: Any, reduction: str) -> float:
    if reduction != "mean":
        return 1.0
    return 1.0 / x.numel() if x.numel() else float("inf")


def smooth_l1_backward(g: Any, x: Any, t: Any, reduction: str, beta: float) -> Any:
    d = x - t
    dv, norm = npv(d), _norm(x, reduction)
    return where(dv <= -beta, -norm * g, where(dv >= beta, norm * g, d * norm * g / beta))


def huber_backward(g: Any, x: Any, t: Any, reduction: str, delta: float) -> Any:
    d = x - t
    dv, norm = npv(d), _norm(x, reduction)
    return where(dv <= -delta, -norm * delta * g,
                 where(dv >= delta, norm * delta * g, d * norm * g))


def _log_sigmoid(x: Any) -> Any:
    return x.clamp_max(0.0) - (-x.abs()).exp().log1p()


def _weigh(gr: Any, x: Any, weight: Any, reduction: str) -> Any:
    if weight is not None:
        gr = gr * _const(gr, weight)
    if reduction == "mean":
        gr = gr / float(x.numel())
    return gr


def bce_logits_backward(g: Any, x: Any, t: Any, weight: Any, pos_weight: Any,
                        reduction: str) -> Any:
    if pos_weight is not None:
        pt = t * _const(t, pos_weight)
        gr = (pt + 1 - t) * x.sigmoid() - pt
    else:
        gr = x.sigmoid() - t
    return _weigh(gr * g, x, weight, reduction)


def bce_logits_target_backward(g: Any, x: Any, t: Any, weight: Any, pos_weight: Any,
                               reduction: str) -> Any:
    if pos_weight is not None:
        gr = (_log_sigmoid(-x) - _log_sigmoid(x) * _const(x, pos_weight)) * g
    else:
        gr = -x * g
    return _weigh(gr, x, weight, reduction)


def constant_pad(g: Any, pad: Sequence[int]) -> Any:
    from ..nn import functional as F
    return F.pad(g, [-int(p) for p in pad])


__all__ = ["erf", "tanh", "smooth_l1_backward", "huber_backward", "bce_logits_backward",
           "bce_logits_target_backward", "constant_pad", "np"]
