"""``tapegrad.nn.functional``: activations, ``linear`` and the losses.

Written once for both engines: each function finds its engine through the
tensors it receives (``tapegrad._backend.engine_of``) and calls the engine's
single-node hooks (``_addmm``, ``_mse_loss``, ``_nll_loss``,
``_binary_cross_entropy``; see ``tapegrad._contract``).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .. import _backend, _random
from .._dtype import DtypeError, scalar_type_name
from ._reduction import legacy_reduction as _reduction

__all__ = ["relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "mse_loss",
           "nll_loss", "cross_entropy", "binary_cross_entropy", "embedding", "one_hot",
           "dropout",
           # issue 12 (activations, losses, pad, normalize, cosine_similarity)
           "gelu", "silu", "leaky_relu", "elu", "softplus", "l1_loss", "smooth_l1_loss",
           "huber_loss", "binary_cross_entropy_with_logits", "pad", "normalize",
           "cosine_similarity", "batch_norm", "layer_norm"]


_TENSOR_TYPES = _backend.TENSOR_TYPES


def _check(x: Any, what: str, fn: str) -> Any:
    """The engine of tensor ``x``; a TypeError naming the argument when x is no tensor."""
    eng = _TENSOR_TYPES.get(type(x)) or _backend.tensor_engine(x)
    if eng is None:
        raise TypeError(f"{fn}(): argument '{what}' must be Tensor, not {type(x).__name__}")
    return eng


def relu(input: Any, inplace: bool = False) -> Any:
    """max(x, 0) elementwise."""
    _check(input, "input", "relu")
    return input.relu()


def tanh(input: Any) -> Any:
    """tanh elementwise."""
    _check(input, "input", "tanh")
    return input.tanh()


def sigmoid(input: Any) -> Any:
    """1 / (1 + exp(-x)) elementwise."""
    _check(input, "input", "sigmoid")
    return input.sigmoid()


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False,
            *, generator: Any = None) -> Any:
    """torch's dropout: in training, input * (bernoulli(1 - p) mask / (1 - p)) with the
    mask from the generator (MulBackward0); the input itself otherwise or when p == 0."""
    eng = _check(input, "input", "dropout")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input.numel() == 0:
        return input
    dt = input.dtype.numpy
    if p == 1:
        noise = np.zeros((), dtype=dt)
    else:
        keep = _random.bernoulli_scalar(_random.generator(generator), input.numel(), 1 - p, dt)
        noise = (keep / dt.type(1 - p)).reshape(tuple(input.shape))
    noise_t = eng.tensor(noise, dtype=input.dtype)
    return input.mul_(noise_t) if inplace else input * noise_t


def _warn_implicit_dim(name: str) -> None:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                  "call to include dim=X as an argument.", UserWarning, stacklevel=3)


def softmax(input: Any, dim: Optional[int] = None, dtype: Any = None) -> Any:
    """exp(x) / sum(exp(x)) along dim."""
    _check(input, "input", "softmax")
    if dim is None:
        _warn_implicit_dim("softmax")
    return input.softmax(dim) if dtype is None else input.softmax(dim, dtype=dtype)


def log_softmax(input: Any, dim: Optional[int] = None, dtype: Any = None) -> Any:
    """log(softmax(x)) along dim, computed stably."""
    _check(input, "input", "log_softmax")
    if dim is None:
        _warn_implicit_dim("log_softmax")
    return input.log_softmax(dim) if dtype is None else input.log_softmax(dim, dtype=dtype)


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """input @ weight.T + bias, as torch computes it: one AddmmBackward0 node
    (other ranks are flattened to 2-D around it)."""
    eng = _check(input, "input", "linear")
    _check(weight, "weight", "linear")
    if bias is None:
        return input.matmul(weight.t())
    if input.dim() == 2:
        return eng._addmm(bias, input, weight.t())
    shape = tuple(input.shape[:-1]) + (weight.shape[0],)
    flat = input.reshape(-1, input.shape[-1])
    return eng._addmm(bias, flat, weight.t()).view(shape)


def mse_loss(input: Any, target: Any, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Any:
    """Mean (or sum) of squared differences."""
    eng = _check(input, "input", "mse_loss")
    _check(target, "target", "mse_loss")
    reduction = _reduction(size_average, reduce, reduction)
    if not (input.dtype.is_floating_point or target.dtype.is_floating_point):
        raise NotImplementedError(f'"mse_cpu" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.",
                      stacklevel=2)
    return eng._mse_loss(input, target, reduction)


def _check_weight(weight: Any, fn: str) -> None:
    if weight is not None:
        _check(weight, "weight", fn)


def _check_class_weight(input: Any, target: Any, weight: Any) -> None:
    """torch's checks of nll_loss's target dtype, then of its class weights."""
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise DtypeError(f"expected target dtype to be Long or Byte, but got "
                         f"{scalar_type_name(target.dtype)}")
    if weight is None:
        return
    classes = input.shape[0 if input.dim() == 1 else 1] if input.dim() else 1
    if weight.dim() != 1 or weight.shape[0] != classes:
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype != input.dtype:
        raise DtypeError(f"expected scalar type {scalar_type_name(input.dtype)} but found "
                         f"{scalar_type_name(weight.dtype)}")


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Optional[bool] = None,
             ignore_index: int = -100, reduce: Optional[bool] = None,
             reduction: str = "mean") -> Any:
    """Negative log-likelihood of class indices (int64) under log-probabilities."""
    eng = _check(input, "input", "nll_loss")
    _check(target, "target", "nll_loss")
    _check_weight(weight, "nll_loss")
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_weight(input, target, weight)
    return eng._nll_loss(input, target, weight, ignore_index, reduction)


def cross_entropy(input: Any, target: Any, weight: Any = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    """log_softmax over the class dim followed by nll_loss (class-index targets), or
    the cross entropy with class probabilities (a float target shaped like input)."""
    _check(input, "input", "cross_entropy")
    _check(target, "target", "cross_entropy")
    _check_weight(weight, "cross_entropy")
    reduction = _reduction(size_average, reduce, reduction)
    if label_smoothing:
        raise NotImplementedError("cross_entropy: label_smoothing is not supported")
    class_dim = 0 if input.dim() == 1 else 1
    logp = input.log_softmax(class_dim)
    if target.dtype.is_floating_point:
        if target.shape != input.shape:
            raise RuntimeError(f"Expected target size {list(input.shape)}, got "
                               f"{list(target.shape)}")
        prod = logp * target
        if weight is not None:
            prod = prod * (weight if class_dim == 0 else weight.reshape(1, -1))
        if reduction == "none":
            return -prod.sum(class_dim)
        total = -prod.sum()
        if reduction == "sum":
            return total
        return total / (input.numel() // input.shape[class_dim])
    return nll_loss(logp, target, weight, None, ignore_index, None, reduction)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                         reduction: str = "mean") -> Any:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100 as in torch."""
    eng = _check(input, "input", "binary_cross_entropy")
    _check(target, "target", "binary_cross_entropy")
    _check_weight(weight, "binary_cross_entropy")
    reduction = _reduction(size_average, reduce, reduction)
    return eng._binary_cross_entropy(input, target, weight, reduction)



def embedding(input: Any, weight: Any, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
    """weight's rows at the int64 indices input (EmbeddingBackward0); the row padding_idx
    gets no gradient. max_norm is not supported (NotImplementedError)."""
    eng = _check(weight, "weight", "embedding")
    return eng._embedding(input, weight, padding_idx, max_norm, norm_type,
                          scale_grad_by_freq, sparse)


def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    """int64 one-hot rows of the class indices in tensor (num_classes=-1: max + 1)."""
    eng = _check(tensor, "input", "one_hot")
    return eng._one_hot(tensor, num_classes)


# ----------------------------------------------------------------------------
# issue 12: activations, losses, pad, normalize, cosine_similarity (the engines'
# _activation / _pointwise_loss / _bce_with_logits / _constant_pad hooks; torch's
# argument checks and messages here, once for both engines)

def _act_input(input: Any, fn: str, kernel: str) -> Any:
    """input's engine; torch's TypeError for a non-tensor, NotImplementedError for an
    integer tensor (torch has no integer kernel for these)."""
    if _TENSOR_TYPES.get(type(input)) is None and _backend.tensor_engine(input) is None:
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_type_name(input.dtype)}'")
    return _check(input, "input", fn)


def _inplace(input: Any, out: Any) -> Any:
    """torch's in-place variant: input overwritten with out and returned. With a
    graph to keep (input requires grad) the result stays a new tensor (torch's
    LeakyReluBackward1/EluBackward1 nodes, which save the result, are not built)."""
    if input.requires_grad:
        return out
    from ..autograd import grad_mode
    with grad_mode.no_grad():
        input.copy_(out)
    return input


def gelu(input: Any, approximate: str = "none") -> Any:
    """x * Phi(x) (approximate='tanh': torch's tanh formula), GeluBackward0."""
    eng = _act_input(input, "gelu", "GeluKernelImpl")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return eng._activation(input, "gelu", 0.0, 0.0, int(approximate == "tanh"))


def silu(input: Any, inplace: bool = False) -> Any:
    """x * sigmoid(x) (SiluBackward0)."""
    eng = _act_input(input, "silu", "silu_cpu")
    out = eng._activation(input, "silu")
    return _inplace(input, out) if inplace else out


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    """x where x > 0 else negative_slope * x (LeakyReluBackward0)."""
    eng = _act_input(input, "leaky_relu", "leaky_relu_cpu")
    out = eng._activation(input, "leaky_relu", float(negative_slope))
    return _inplace(input, out) if inplace else out


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """x where x > 0 else alpha * (exp(x) - 1) (EluBackward0)."""
    eng = _act_input(input, "elu", "elu_cpu")
    out = eng._activation(input, "elu", float(alpha))
    return _inplace(input, out) if inplace else out


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold
    (SoftplusBackward0)."""
    eng = _act_input(input, "softplus", "softplus_cpu")
    return eng._activation(input, "softplus", float(beta), float(threshold))


def _broadcast_pair(a: Any, b: Any) -> Tuple[Any, Any]:
    """torch.broadcast_tensors(a, b), with its error for shapes that do not broadcast."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa == sb:
        return a, b
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for d in range(n - 1, -1, -1):
        if pa[d] != pb[d] and pa[d] != 1 and pb[d] != 1:
            raise RuntimeError(f"The size of tensor a ({pa[d]}) must match the size of tensor "
                               f"b ({pb[d]}) at non-singleton dimension {d}")
    shape = tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(pa, pb))
    return (a if sa == shape else a.expand(*shape)), (b if sb == shape else b.expand(*shape))


def _warn_target_size(input: Any, target: Any) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


# torch's kernel names in its NotImplementedError for integer operands
_TORCH_KERNELS = {"smooth_l1_loss": "smooth_l1_cpu", "huber_loss": "huber_cpu",
                  "binary_cross_entropy_with_logits": "log_sigmoid_cpu"}


def _float_pair(input: Any, target: Any, fn: str) -> Tuple[Any, Any]:
    """input and target in their promoted floating dtype (torch's result type)."""
    from .._dtype import promote_types
    dt = promote_types(input.dtype, target.dtype)
    if not dt.is_floating_point:         # torch has no integer kernel: NotImplementedError
        from .._dtype import no_kernel
        raise no_kernel(_TORCH_KERNELS.get(fn, fn), dt)
    return (input if input.dtype == dt else input.to(dt)), \
        (target if target.dtype == dt else target.to(dt))


def _weighted(loss: Any, input: Any, weight: Any, reduction: str, mean_by_weight: bool) -> Any:
    """torch's Python-level weighted l1_loss / huber_loss."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     "'sum'.")


def l1_loss(input: Any, target: Any, size_average: Optional[bool] = None,
            reduce: Optional[bool] = None, reduction: str = "mean",
            weight: Any = None) -> Any:
    """mean (or sum) of |input - target|: torch records abs(sub) and the reduction."""
    _check(input, "input", "l1_loss")
    _check(target, "target", "l1_loss")
    _warn_target_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    if weight is not None:
        return _weighted((a - b).abs(), input, weight, reduction, True)
    _check_reduction(reduction)
    loss = (a - b).abs()
    if reduction == "none":
        return loss
    if not loss.dtype.is_floating_point and reduction == "mean":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                           "a floating point or complex dtype. Got: "
                           f"{scalar_type_name(loss.dtype)}")
    return loss.mean() if reduction == "mean" else loss.sum()


def _pointwise(input: Any, target: Any, name: str, reduction: str, param: float) -> Any:
    eng = _check(input, "input", name)
    _check(target, "target", name)
    _check_reduction(reduction)
    a, b = _broadcast_pair(*_float_pair(input, target, name))
    return eng._pointwise_loss(a, b, name, reduction, float(param))


def smooth_l1_loss(input: Any, target: Any, size_average: Optional[bool] = None,
                   reduce: Optional[bool] = None, reduction: str = "mean",
                   beta: float = 1.0) -> Any:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (SmoothL1LossBackward0);
    beta 0 is l1_loss, as torch."""
    _check(input, "input", "smooth_l1_loss")
    _check(target, "target", "smooth_l1_loss")
    _warn_target_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _pointwise(input, target, "smooth_l1_loss", reduction, beta)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Any:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (HuberLossBackward0)."""
    _check(input, "input", "huber_loss")
    _check(target, "target", "huber_loss")
    _warn_target_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = _pointwise(input, target, "huber_loss", "none", delta)
        return _weighted(loss, input, weight, reduction, False)
    return _pointwise(input, target, "huber_loss", reduction, delta)


def _logit_weight(w: Any, input: Any, what: str) -> Any:
    """weight / pos_weight as a numpy array of input's shape and dtype (constants: torch
    refuses them with requires_grad)."""
    if w is None:
        return None
    _check(w, what, "binary_cross_entropy_with_logits")
    if w.requires_grad:
        raise RuntimeError("The function 'binary_cross_entropy_with_logits' is not "
                           f"differentiable with respect to argument '{what}'. This input "
                           "cannot have requires_grad True.")
    shape = tuple(input.shape)
    try:
        full = np.broadcast_shapes(tuple(w.shape), shape)
    except ValueError:
        _broadcast_pair(w, input)       # torch's message
        raise
    if full != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast "
                           f"shape {list(full)}")
    return np.broadcast_to(w.detach().numpy().astype(input.dtype.numpy), shape)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     size_average: Optional[bool] = None,
                                     reduce: Optional[bool] = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Any:
    """(1 - t) x - log_sigmoid(x) ((pos_weight - 1) t + 1), times weight: torch's
    stable form, one BinaryCrossEntropyWithLogitsBackward0 node."""
    eng = _check(input, "input", "binary_cross_entropy_with_logits")
    _check(target, "target", "binary_cross_entropy_with_logits")
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    _check_reduction(reduction)
    if not input.dtype.is_floating_point:      # torch: no log_sigmoid kernel for it
        from .._dtype import no_kernel
        raise no_kernel("log_sigmoid_cpu", input.dtype)
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"result type {scalar_type_name(input.dtype)} can't be cast to the "
                           f"desired output type {scalar_type_name(target.dtype)}")
    x, t = _float_pair(input, target, "binary_cross_entropy_with_logits")
    pw = _logit_weight(pos_weight, x, "pos_weight")
    w = _logit_weight(weight, x, "weight")
    return eng._bce_with_logits(x, t, w, pw, reduction)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Any, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Any:
    """torch's pad in constant mode (ConstantPadNdBackward0): pad lists (before, after)
    amounts from the last dim back; negative amounts crop. Other modes raise
    NotImplementedError."""
    eng = _check(input, "input", "pad")
    if isinstance(pad, (list, tuple)):
        for k, p in enumerate(pad):
            if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
                raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, "
                                f"but found element of type {type(p).__name__} at pos {k}")
    else:
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not "
                        f"{type(pad).__name__}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
        raise NotImplementedError(f"pad: mode '{mode}' is not supported by tapegrad (only "
                                  "'constant')")
    pads = tuple(int(p) for p in pad)
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    nd = input.dim()
    if len(pads) > 2 * nd:
        raise RuntimeError("Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pads)} and input of "
                           f"dimension {nd}")
    before, shape = [0] * nd, list(input.shape)
    for k in range(len(pads) // 2):
        d = nd - 1 - k
        before[d] = pads[2 * k]
        shape[d] += pads[2 * k] + pads[2 * k + 1]
        if shape[d] < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
    fill = 0.0 if value is None else float(value)
    if input.dtype.name == "int64":
        if not -2.0**63 <= fill < 2.0**63:      # (nan fails too)
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        fill = float(int(fill))
    return eng._constant_pad(input, pads, before, shape, fill)


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Any:
    """input / max(||input||_p along dim, eps), as torch composes it (DivBackward0)."""
    _check(input, "input", "normalize")
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by tapegrad")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """torch 2.13's cosine_similarity: sum((x1 / n1) * (x2 / n2), dim) with each norm
    clamped at eps in place, without gradient, after a clone (SumBackward1)."""
    _check(x1, "x1", "cosine_similarity")
    _check(x2, "x2", "cosine_similarity")
    from .._dtype import promote_types
    dt = promote_types(x1.dtype, x2.dtype)
    if not dt.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{scalar_type_name(dt)}")
    a, b = _broadcast_pair(x1, x2)
    from ..autograd import grad_mode
    n1 = a.norm(2, dim, keepdim=True).clone()
    n2 = b.norm(2, dim, keepdim=True).clone()
    with grad_mode.no_grad():       # torch's clamp_min_ (an in-place write, no gradient)
        n1.copy_(n1.clamp_min(eps))
        n2.copy_(n2.clamp_min(eps))
    return ((a / n1) * (b / n2)).sum(dim)
from ._functional_norm import batch_norm as batch_norm, layer_norm as layer_norm  # noqa: E402
