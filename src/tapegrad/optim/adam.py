"""``Adam``: torch.optim.Adam's update (amsgrad=False), run by the engine's
``_adam_update`` hook (see ``tapegrad._contract``)."""

from __future__ import annotations

import collections
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .. import _backend
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, _with_grads

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (torch.optim.Adam's update, amsgrad=False)."""

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
        if amsgrad or maximize or capturable or differentiable or fused \
                or decoupled_weight_decay:
            raise NotImplementedError("Adam: amsgrad, maximize, capturable, differentiable, "
                                      "fused and decoupled_weight_decay are not supported "
                                      "by tapegrad")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            by_step: Dict[int, List[Any]] = collections.OrderedDict()
            with no_grad():                      # the step counters count outside autograd
                for p in _with_grads(group):
                    st = self.state[p]
                    if not st:
                        eng = _backend.engine_of(p)
                        st["step"] = eng.tensor(0.0)
                        st["exp_avg"] = eng.zeros_like(p)
                        st["exp_avg_sq"] = eng.zeros_like(p)
                    st["step"] += 1
                    by_step.setdefault(int(st["step"].item()), []).append(p)
            beta1, beta2 = group["betas"]
            for step, params in by_step.items():
                _backend.engine_of(params[0])._adam_update(
                    params, group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                    [self.state[p]["exp_avg"] for p in params],
                    [self.state[p]["exp_avg_sq"] for p in params], step)
        return loss

