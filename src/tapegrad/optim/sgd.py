"""``SGD``: stochastic gradient descent (torch.optim.SGD's update), run by the
engine's ``_sgd_update`` hook (see ``tapegrad._contract``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .. import _backend
from .optimizer import Optimizer, _refuse_unsupported, _with_grads, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov
    momentum and weight decay (torch.optim.SGD's update)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _refuse_unsupported("SGD", differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            params = _with_grads(group)
            if not params:
                continue
            eng = _backend.engine_of(params[0])
            args = (group["lr"], group["momentum"], group["dampening"],
                    group["weight_decay"], group["nesterov"])
            maximize = group["maximize"]
            if group["momentum"] == 0:
                eng._sgd_update(params, *args, [None] * len(params), False, maximize)
                continue
            fresh, old = [], []
            for p in params:
                st = self.state[p]
                if st.get("momentum_buffer") is None:
                    st["momentum_buffer"] = eng.zeros_like(p)
                    fresh.append(p)
                else:
                    old.append(p)
            for batch, first in ((fresh, True), (old, False)):
                if batch:
                    bufs = [self.state[p]["momentum_buffer"] for p in batch]
                    eng._sgd_update(batch, *args, bufs, first, maximize)
        return loss

