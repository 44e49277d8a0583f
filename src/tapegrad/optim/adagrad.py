"""``Adagrad``: torch.optim.Adagrad's update (lr_decay, initial_accumulator_value,
maximize), run by the engine's ``_adagrad_update`` hook (see ``tapegrad._contract``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from .. import _backend
from ..autograd.grad_mode import no_grad
from .optimizer import Optimizer, _by_step, _refuse_unsupported

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad's single-tensor update, dense gradients). Like
    torch, the state ("step", "sum") is made when the optimizer is created."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _refuse_unsupported("Adagrad", differentiable=differentiable, fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    self._init_state(p, self.state[p], _backend.engine_of(p), group)

    def _init_state(self, p: Any, st: Dict[str, Any], eng: Any, group: Dict[str, Any]) -> None:
        st["step"] = eng.tensor(0.0)
        st["sum"] = eng.full_like(p, self.defaults["initial_accumulator_value"])

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            by_step = _by_step(self.state, group, self._init_state)
            for step, params in by_step.items():
                clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
                _backend.engine_of(params[0])._adagrad_update(
                    params, clr, group["eps"], group["weight_decay"], group["maximize"],
                    [self.state[p]["sum"] for p in params])
        return loss
