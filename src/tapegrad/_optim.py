"""``optim``: SGD and Adam, written once for any tapegrad engine.

``build(engine)`` returns ``Optimizer``, ``SGD`` and ``Adam`` for an engine
module, with torch 2.x's API (``param_groups``, ``state``, ``zero_grad``
with ``set_to_none=True``, ``state_dict``) and torch's update formulas. The
per-parameter arithmetic runs in the engine, through two hooks, so the
compiled engine can do it in C:

``engine._sgd_update(params, lr, momentum, dampening, weight_decay, nesterov,
buffers, first_step)``
    params: Tensors of one param group that all have a ``.grad``;
    buffers: the momentum buffers, one Tensor per param (same shape and
    dtype), or a list of None when momentum == 0; first_step: True when these
    buffers have not been written yet (all params passed share this flag).
    Other arguments are Python numbers. In place, per element, in the
    parameter's dtype (``fma(a, b, c)`` = a * b + c rounded once, as torch's
    CPU kernels compute ``add(..., alpha=)``)::

        g = grad
        if weight_decay != 0:  g = fma(p, weight_decay, g)
        if momentum != 0:
            buf = g                                  if first_step
            buf = fma(g, 1 - dampening, buf * momentum)  otherwise
            g = fma(buf, momentum, g) if nesterov else buf
        p = fma(g, -lr, p)

``engine._adam_update(params, lr, beta1, beta2, eps, weight_decay, exp_avgs,
exp_avg_sqs, step)``
    params: Tensors that all have a ``.grad`` and the same step count;
    exp_avgs, exp_avg_sqs: the moment Tensors, one per param; step: that
    count after this update (1 on the first), a Python int. In place
    (amsgrad=False; scalars computed in Python floats, then rounded to the
    parameter's dtype where they meet a tensor)::

        g = grad;  if weight_decay != 0:  g = fma(p, weight_decay, g)
        m = lerp(m, g, 1 - beta1)        # torch.lerp: fma(w, g - m, m) for w < 0.5
        v = fma((1 - beta2) * g, g, v * beta2)
        step_size = lr / (1 - beta1 ** step)
        denom = sqrt(v) / sqrt(1 - beta2 ** step) + eps
        p = p + (-step_size * m) / denom

Both hooks must bump each parameter's version counter (an in-place update).
"""

import collections
import copy
import types

from ._layers import built_once

__all__ = ["build"]

@built_once
def build(engine):
    """The optim namespace (Optimizer, SGD, Adam) for ``engine``."""
    return _build(engine)


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _build(engine):
    Tensor = engine.Tensor

    class Optimizer:
        """Base class: holds param_groups (dicts with "params" and the options)
        and per-parameter state."""

        def __init__(self, params, defaults):
            self.defaults = defaults
            self.state = collections.defaultdict(dict)
            self.param_groups = []
            if isinstance(params, Tensor):
                raise TypeError("params argument given to the optimizer should be an iterable "
                                "of Tensors or dicts, but got " + type(params).__name__)
            groups = list(params)
            if len(groups) == 0:
                raise ValueError("optimizer got an empty parameter list")
            if not isinstance(groups[0], dict):
                groups = [{"params": groups}]
            for g in groups:
                self.add_param_group(g)

        def add_param_group(self, param_group):
            if not isinstance(param_group, dict):
                raise TypeError(f"param_group must be a dict, but got "
                                f"{type(param_group).__name__}")
            params = param_group["params"]
            params = [params] if isinstance(params, Tensor) else list(params)
            for p in params:
                if not isinstance(p, Tensor):
                    raise TypeError("optimizer can only optimize Tensors, but one of the "
                                    "params is " + type(p).__name__)
                if not p.is_leaf:
                    raise ValueError("can't optimize a non-leaf Tensor")
            group = dict(param_group, params=params)
            for name, default in self.defaults.items():
                if default is required and name not in group:
                    raise ValueError(f"parameter group didn't specify a value of required "
                                     f"optimization parameter {name}")
                group.setdefault(name, default)
            seen = {id(p) for g in self.param_groups for p in g["params"]}
            if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
                raise ValueError("some parameters appear in more than one parameter group")
            self.param_groups.append(group)

        def zero_grad(self, set_to_none=True):
            """Reset the gradients: to None (torch 2.x's default), or to zeros."""
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        if set_to_none:
                            p.grad = None
                        else:
                            p.grad.zero_()

        def step(self, closure=None):
            raise NotImplementedError

        def _closure(self, closure):
            if closure is None:
                return None
            with engine.enable_grad():
                return closure()

        def state_dict(self):
            """{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}."""
            index = {}
            groups = []
            for g in self.param_groups:
                packed = {k: v for k, v in g.items() if k != "params"}
                packed["params"] = []
                for p in g["params"]:
                    index.setdefault(id(p), len(index))
                    packed["params"].append(index[id(p)])
                groups.append(packed)
            state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
            return {"state": state, "param_groups": groups}

        def load_state_dict(self, state_dict):
            state_dict = copy.deepcopy(state_dict)
            groups = state_dict["param_groups"]
            if len(groups) != len(self.param_groups):
                raise ValueError("loaded state dict has a different number of parameter groups")
            id_map = {}
            for g, saved in zip(self.param_groups, groups):
                if len(g["params"]) != len(saved["params"]):
                    raise ValueError("loaded state dict contains a parameter group that doesn't "
                                     "match the size of optimizer's group")
                for p, i in zip(g["params"], saved["params"]):
                    id_map[i] = p
            self.state = collections.defaultdict(dict)
            for i, st in state_dict["state"].items():
                if i in id_map:
                    self.state[id_map[i]] = st
            for g, saved in zip(self.param_groups, groups):
                g.update({k: v for k, v in saved.items() if k != "params"})

        def __getstate__(self):
            return self.__dict__

        def __repr__(self):
            s = type(self).__name__ + " ("
            for i, group in enumerate(self.param_groups):
                s += f"\nParameter Group {i}\n"
                for key in sorted(group):
                    if key != "params":
                        s += f"    {key}: {group[key]}\n"
            return s + ")"

    def _with_grads(group):
        return [p for p in group["params"] if p.grad is not None]

    class SGD(Optimizer):
        """Stochastic gradient descent with optional momentum, dampening, Nesterov
        momentum and weight decay (torch.optim.SGD's update)."""

        def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                     nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                     fused=None):
            if lr is not required and lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            if momentum < 0.0:
                raise ValueError(f"Invalid momentum value: {momentum}")
            if weight_decay < 0.0:
                raise ValueError(f"Invalid weight_decay value: {weight_decay}")
            if nesterov and (momentum <= 0 or dampening != 0):
                raise ValueError("Nesterov momentum requires a momentum and zero dampening")
            if maximize or differentiable or fused:
                raise NotImplementedError("SGD: maximize, differentiable and fused are not "
                                          "supported by tapegrad")
            defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                            foreach=foreach, differentiable=differentiable, fused=fused)
            super().__init__(params, defaults)

        def step(self, closure=None):
            """Update every parameter that has a gradient."""
            loss = self._closure(closure)
            for group in self.param_groups:
                params = _with_grads(group)
                if not params:
                    continue
                args = (group["lr"], group["momentum"], group["dampening"],
                        group["weight_decay"], group["nesterov"])
                if group["momentum"] == 0:
                    engine._sgd_update(params, *args, [None] * len(params), False)
                    continue
                fresh, old = [], []
                for p in params:
                    st = self.state[p]
                    if st.get("momentum_buffer") is None:
                        st["momentum_buffer"] = engine.zeros_like(p)
                        fresh.append(p)
                    else:
                        old.append(p)
                for batch, first in ((fresh, True), (old, False)):
                    if batch:
                        bufs = [self.state[p]["momentum_buffer"] for p in batch]
                        engine._sgd_update(batch, *args, bufs, first)
            return loss

    class Adam(Optimizer):
        """Adam (torch.optim.Adam's update, amsgrad=False)."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                     amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                     differentiable=False, fused=None, decoupled_weight_decay=False):
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

        def step(self, closure=None):
            """Update every parameter that has a gradient."""
            loss = self._closure(closure)
            for group in self.param_groups:
                by_step = collections.OrderedDict()
                for p in _with_grads(group):
                    st = self.state[p]
                    if not st:
                        st["step"] = engine.tensor(0.0)
                        st["exp_avg"] = engine.zeros_like(p)
                        st["exp_avg_sq"] = engine.zeros_like(p)
                    with engine.no_grad():
                        st["step"] += 1
                    by_step.setdefault(int(st["step"].item()), []).append(p)
                beta1, beta2 = group["betas"]
                for step, params in by_step.items():
                    engine._adam_update(
                        params, group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                        [self.state[p]["exp_avg"] for p in params],
                        [self.state[p]["exp_avg_sq"] for p in params], step)
            return loss

    for cls in (Optimizer, SGD, Adam):
        cls.__module__ = engine.__name__ + ".optim" if engine.__name__.endswith("reference") \
            else "tapegrad.optim"
        cls.__qualname__ = cls.__name__

    return types.SimpleNamespace(Optimizer=Optimizer, SGD=SGD, Adam=Adam)
