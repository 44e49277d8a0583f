"""Normalisation layers: ``BatchNorm1d`` (torch.nn.modules.batchnorm) and
``LayerNorm`` (torch.nn.modules.normalization), over ``F.batch_norm`` /
``F.layer_norm``. Running statistics are buffers (in ``state_dict``)."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from .. import _backend
from .._dtype import float32, int64
from ..autograd.grad_mode import no_grad
from . import functional as F
from .modules import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "LayerNorm"]


class _BatchNorm(Module):
    """What torch's _NormBase/_BatchNorm share: affine weight and bias (ones, zeros),
    running_mean / running_var / num_batches_tracked buffers."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        engine = _backend.engine_for(self)
        dtype = float32 if dtype is None else dtype
        if affine:
            self.weight = Parameter(engine.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(engine.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", engine.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", engine.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", engine.tensor(0, dtype=int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1)
                if self.bias is not None:
                    self.bias.zero_()

    def _check_input_dim(self, input: Any) -> None:
        raise NotImplementedError

    def forward(self, input: Any) -> Any:
        self._check_input_dim(input)
        buffers, params = self._buffers, self._parameters
        running_mean, running_var = buffers["running_mean"], buffers["running_var"]
        tracked = buffers["num_batches_tracked"]
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and tracked is not None:
            count = int(tracked.item()) + 1
            tracked.fill_(count)            # (+= 1; fill_ is the cheap in-place write)
            if self.momentum is None:       # cumulative moving average
                factor = 1.0 / float(count)
        use_batch = self.training or (running_mean is None and running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, running_mean if track else None,
                            running_var if track else None, params["weight"], params["bias"],
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over each channel C."""

    def _check_input_dim(self, input: Any) -> None:
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class LayerNorm(Module):
    """Normalisation over the last dims (normalized_shape) of each sample, with an
    elementwise affine weight (ones) and bias (zeros)."""

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        engine = _backend.engine_for(self)
        dtype = float32 if dtype is None else dtype
        if elementwise_affine:
            self.weight = Parameter(engine.empty(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(engine.empty(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            with no_grad():
                self.weight.fill_(1)
                if self.bias is not None:
                    self.bias.zero_()

    def forward(self, input: Any) -> Any:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
