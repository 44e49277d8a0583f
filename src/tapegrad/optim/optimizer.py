"""``Optimizer``: the base of ``SGD`` and ``Adam``, with torch 2.x's API
(``param_groups``, ``state``, ``zero_grad`` with ``set_to_none=True``,
``state_dict``). Written once: an optimizer finds its engine through the
parameters it updates (``tapegrad._backend.engine_of``)."""

from __future__ import annotations

import collections
import copy
from typing import Any, Callable, DefaultDict, Dict, Iterable, List, Optional

from .. import _backend
from ..autograd.grad_mode import enable_grad, no_grad

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"

    def __reduce__(self) -> str:
        return "required"


required = _Required()


def _is_tensor(x: Any) -> bool:
    return _backend.tensor_engine(x) is not None


def _state_mismatch(optimizer: str, param: Any, name: str, state: Any) -> RuntimeError:
    """The error an engine's update hook raises (before its kernel runs) for state
    made for another shape or dtype of its parameter: the parameter changed since the
    state was made (``p.data = ...``, ``module.double()``)."""
    if not _is_tensor(state):
        got = f"is {type(state).__name__}, not a Tensor"
    else:
        got = f"has shape {list(state.shape)} and dtype {state.dtype}"
    return RuntimeError(
        f"{optimizer}.step(): the state '{name}' of a parameter of shape {list(param.shape)} "
        f"and dtype {param.dtype} {got}; the parameter was changed (.data = ..., "
        f"module.double()) after the optimizer made its state. Create the optimizer for "
        f"the changed parameters, or drop their state (del optimizer.state[param]) so the "
        f"next step starts it afresh")


def _with_grads(group: Dict[str, Any]) -> List[Any]:
    return [p for p in group["params"] if p.grad is not None]


def _refuse_unsupported(optimizer: str, **flags: Any) -> None:
    """NotImplementedError naming the torch options tapegrad does not implement
    (CUDA-graph capture, differentiable steps, fused kernels) when one is set."""
    on = [name for name, value in flags.items() if value]
    if on:
        raise NotImplementedError(f"{optimizer}: {', '.join(on)} not supported by tapegrad "
                                  f"(a CPU engine; leave them at their defaults)")


def _by_step(state: Dict[Any, Dict[str, Any]], group: Dict[str, Any],
             init: Callable[[Any, Dict[str, Any], Any, Dict[str, Any]], None]
             ) -> Dict[int, List[Any]]:
    """Count one more step for each parameter of the group that has a gradient (its
    state made by init(p, state, engine, group) after "step" = tensor(0.), as torch
    does) and group those parameters by their new step count, in order."""
    by_step: Dict[int, List[Any]] = collections.OrderedDict()
    with no_grad():                      # the step counters count outside autograd
        for p in _with_grads(group):
            st = state[p]
            if not st:
                eng = _backend.engine_of(p)
                st["step"] = eng.tensor(0.0)
                init(p, st, eng, group)
            st["step"] += 1
            by_step.setdefault(int(st["step"].item()), []).append(p)
    return by_step


def _cast_state(param: Any, key: str, value: Any) -> Any:
    """A loaded state tensor in its parameter's dtype ("step" stays as saved), as
    torch's load_state_dict casts it."""
    if key != "step" and _is_tensor(value) and value.dtype != param.dtype:
        floating = _backend.engine_of(param).is_floating_point
        if floating(param) and floating(value):
            return value.to(param.dtype)
    return value


class Optimizer:
    """Base class: holds param_groups (dicts with "params" and the options)
    and per-parameter state."""

    def __init__(self, params: Iterable[Any], defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: DefaultDict[Any, Dict[str, Any]] = collections.defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        if _is_tensor(params):
            raise TypeError("params argument given to the optimizer should be an iterable "
                            "of Tensors or dicts, but got " + type(params).__name__)
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if _is_tensor(params) else list(params)
        for p in params:
            if not _is_tensor(p):
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

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (torch 2.x's default), or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        raise NotImplementedError

    def _closure(self, closure: Optional[Callable[[], Any]]) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def state_dict(self) -> Dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}."""
        index: Dict[int, int] = {}
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

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
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
                p = id_map[i]
                self.state[p] = {k: _cast_state(p, k, v) for k, v in st.items()}
        for g, saved in zip(self.param_groups, groups):
            g.update({k: v for k, v in saved.items() if k != "params"})

    def __getstate__(self) -> Dict[str, Any]:
        return self.__dict__

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

