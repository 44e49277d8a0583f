"""``Adam`` and its decoupled-weight-decay twin ``AdamW`` (torch.optim's updates,
amsgrad and maximize included), run by the engine's ``_adam_update`` hook (see
``tapegrad._contract``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from .. import _backend
from .optimizer import Optimizer, _by_step, _refuse_unsupported

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (torch.optim.Adam's single-tensor update); ``decoupled_weight_decay=True``
    is AdamW."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _refuse_unsupported(type(self).__name__, capturable=capturable,
                            differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            beta1, beta2 = group["betas"]
            for step, params in _by_step(self.state, group, _init_state).items():
                states = [self.state[p] for p in params]
                _backend.engine_of(params[0])._adam_update(
                    params, group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                    [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], step,
                    [s.get("max_exp_avg_sq") for s in states] if amsgrad else None,
                    group["maximize"], group["decoupled_weight_decay"])
        return loss


def _init_state(p: Any, st: Dict[str, Any], eng: Any, group: Dict[str, Any]) -> None:
    st["exp_avg"] = eng.zeros_like(p)
    st["exp_avg_sq"] = eng.zeros_like(p)
    if group["amsgrad"]:
        st["max_exp_avg_sq"] = eng.zeros_like(p)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (torch.optim.AdamW; weight_decay
    defaults to 1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
