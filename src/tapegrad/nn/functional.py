"""``tapegrad.nn.functional``: activations, ``linear`` and the losses.

Written once for both engines: each function finds its engine through the
tensors it receives (``tapegrad._backend.engine_of``) and calls the engine's
single-node hooks (``_addmm``, ``_mse_loss``, ``_nll_loss``,
``_binary_cross_entropy``; see ``tapegrad._contract``).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from .. import _backend, _random
from .._dtype import DtypeError, scalar_type_name
from ._reduction import legacy_reduction as _reduction

__all__ = ["relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "mse_loss",
           "nll_loss", "cross_entropy", "binary_cross_entropy", "embedding", "one_hot",
           "dropout", "batch_norm", "layer_norm"]


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


from ._functional_norm import batch_norm as batch_norm, layer_norm as layer_norm  # noqa: E402
