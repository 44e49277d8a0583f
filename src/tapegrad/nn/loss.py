"""Loss modules (``MSELoss``, ``CrossEntropyLoss``, ``NLLLoss``, ``BCELoss``) over
``tapegrad.nn.functional``."""

from __future__ import annotations

from typing import Any, Optional

from . import functional as F
from ._reduction import legacy_reduction as _reduction
from .modules import Module

__all__ = ["MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss"]


class _Loss(Module):
    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction(size_average, reduce, reduction)

class MSELoss(_Loss):
    """Mean squared error: mean((input - target) ** 2)."""

    def forward(self, input: Any, target: Any) -> Any:
        return F.mse_loss(input, target, reduction=self.reduction)

class CrossEntropyLoss(_Loss):
    """log_softmax + nll_loss over class-index (int64) targets."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 ignore_index: int = -100, reduce: Optional[bool] = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Any:
        return F.cross_entropy(input, target, weight=self.weight,
                             ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)

class NLLLoss(CrossEntropyLoss):
    def forward(self, input: Any, target: Any) -> Any:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)

class BCELoss(_Loss):
    """Binary cross entropy of probabilities (logs clamped at -100)."""

    def __init__(self, weight: Any = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Any, target: Any) -> Any:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                    reduction=self.reduction)

