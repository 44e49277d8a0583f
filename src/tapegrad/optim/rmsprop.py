"""``RMSprop``: torch.optim.RMSprop's update (momentum, centered, maximize), run by
the engine's ``_rmsprop_update`` hook (see ``tapegrad._contract``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from .. import _backend
from .optimizer import Optimizer, _by_step, _refuse_unsupported

__all__ = ["RMSprop"]


def _init_state(p: Any, st: Dict[str, Any], eng: Any, group: Dict[str, Any]) -> None:
    st["square_avg"] = eng.zeros_like(p)
    if group["momentum"] > 0:
        st["momentum_buffer"] = eng.zeros_like(p)
    if group["centered"]:
        st["grad_avg"] = eng.zeros_like(p)


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop's single-tensor update)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _refuse_unsupported("RMSprop", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            params = [p for ps in _by_step(self.state, group, _init_state).values()
                      for p in ps]
            if not params:
                continue
            states = [self.state[p] for p in params]
            _backend.engine_of(params[0])._rmsprop_update(
                params, group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                momentum, group["maximize"], [s["square_avg"] for s in states],
                [s.get("grad_avg") for s in states] if centered else None,
                [s.get("momentum_buffer") for s in states] if momentum > 0 else None)
        return loss
