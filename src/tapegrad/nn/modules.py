"""``nn`` modules: ``Module`` and the layers, written once for both engines.

PyTorch's semantics: ``Module`` registers ``Parameter``s and sub-modules
assigned as attributes; ``Linear`` is initialised like torch's
(U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, from the engine's
generator). A layer that creates tensors from nothing (``Linear``) uses its
class's engine: ``cls._engine``, None for the active engine
(``tapegrad._backend.default_engine``); ``tapegrad.reference.nn.Linear`` is
the same class bound to the reference engine (``_backend.bind_class``).
Everything else reaches the engine through the tensors it is given.
"""

from __future__ import annotations

import collections
import math
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Set, Tuple, TypeVar

from .. import _backend
from .._dtype import float32, float64
from ..autograd.grad_mode import no_grad
from . import _hooks, functional as F
from .parameter import Parameter

__all__ = ["Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Identity",
           "Flatten", "Unflatten"]


_M = TypeVar("_M", bound="Module")


def _is_tensor(x: Any) -> bool:
    return _backend.tensor_engine(x) is not None


_TENSOR_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor",
                      "int64": "LongTensor", "bool": "BoolTensor"}


def _typename(obj: Any) -> str:
    """torch's name for a value in messages: 'tapegrad.FloatTensor' for a tensor."""
    if _is_tensor(obj):
        name = str(obj.dtype).rsplit(".", 1)[-1]
        return "tapegrad." + _TENSOR_TYPE_NAMES.get(name, "Tensor")
    return type(obj).__name__


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


class _IncompatibleKeys(collections.namedtuple("_IncompatibleKeys",
                                               ["missing_keys", "unexpected_keys"])):
    """What load_state_dict(strict=False) could not match."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class Module:
    """Base class of all layers: assigning a Parameter or a Module to an
    attribute registers it, so parameters() finds it."""

    training = True
    _engine: Any = None        # the engine for tensors created from nothing; None: the active one

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())

    def _registries(self) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any]]:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("cannot assign parameters or modules before "
                                 "Module.__init__() call")
        return d["_parameters"], d["_buffers"], d["_modules"]

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            params, buffers, modules = self._registries()
            d.pop(name, None)
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registries()
            d.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter "
                                f"'{name}' (tapegrad.nn.Parameter or None expected)")
            d["_parameters"][name] = None
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module "
                                f"'{name}' (tapegrad.nn.Module or None expected)")
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not _is_tensor(value):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer "
                                f"'{name}' (Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        params = d.get("_parameters")
        if params is not None:          # (unrolled: every layer's forward reads through here)
            if name in params:
                return params[name]
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                del d[reg][name]
                return
        object.__delattr__(self, name)

    def _check_name(self, kind: str, name: Any, registry: str, dot_shows: bool = False) -> None:
        """torch's checks of a new parameter, buffer or module name."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if kind == "module" and hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if dot_shows
                                                                 else ""))
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name("parameter", name, "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter "
                            f"'{name}' (tapegrad.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly. To express '{name}' "
                             "as a function of another Tensor, compute the value in "
                             "the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """A tensor that is state but no parameter (running statistics); persistent
        buffers are in state_dict()."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name, "_buffers")
        if tensor is not None and not _is_tensor(tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer "
                            f"'{name}' (tapegrad Tensor or None required)")
        self._buffers[name] = tensor
        non_persistent = self._non_persistent_buffers()
        if persistent:
            non_persistent.discard(name)
        else:
            non_persistent.add(name)

    def _non_persistent_buffers(self) -> Set[str]:
        d = self.__dict__
        if "_non_persistent_buffers_set" not in d:
            d["_non_persistent_buffers_set"] = set()
        return d["_non_persistent_buffers_set"]

    def add_module(self, name: str, module: Optional[Module]) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name("module", name, "_modules", dot_shows=True)
        self._registries()[2][name] = module

    register_module = add_module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if "_tg_hooks" in self.__dict__:                 # forward / backward hooks (_hooks.py)
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # -- traversal --

    def named_modules(self, memo: Optional[Set[int]] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, Module]]:
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[Tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[Tuple[str, Any]]:
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, Any]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self: _M, fn: Callable[[Module], Any]) -> _M:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients --

    def train(self: _M, mode: bool = True) -> _M:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self: _M) -> _M:
        return self.train(False)

    def requires_grad_(self: _M, requires_grad: bool = True) -> _M:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients (to None, as torch 2.x does by default)."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def _cast(self: _M, dtype: Any) -> _M:
        with no_grad():
            for m in self.modules():
                for reg in (m._parameters, m._buffers):
                    for t in reg.values():
                        if t is not None and t.dtype.is_floating_point and t.dtype != dtype:
                            grad = t.grad       # (.data = of another dtype drops .grad)
                            t.data = t.data.to(dtype)
                            if grad is not None:
                                t.grad = grad.to(dtype)
        return self

    def to(self: _M, *args: Any, **kwargs: Any) -> _M:
        """Cast floating-point parameters and buffers: to(dtype), to(tensor), to("cpu"),
        to(device, dtype), to(dtype=..., device=...)."""
        dtype = kwargs.pop("dtype", None)
        devices = [kwargs.pop("device", None)]
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() received an invalid combination of arguments - got "
                            f"unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if _is_tensor(a):
                dtype = a.dtype
            elif isinstance(a, str) or type(a).__name__ == "device":
                devices.append(a)
            elif a is not None:
                dtype = a
        for dev in devices:
            if dev is not None and str(dev).split(":")[0] != "cpu":
                raise RuntimeError(f"tapegrad modules live on the CPU, not on '{dev}'")
        if dtype is None:
            return self
        if not getattr(dtype, "is_floating_point", False):
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                            f"but got desired dtype={dtype}")
        return self._cast(dtype)

    def float(self: _M) -> _M:
        return self._cast(float32)

    def double(self: _M) -> _M:
        return self._cast(float64)

    def cpu(self: _M) -> _M:
        return self

    # -- state --

    def _state_items(self, prefix: str = "") -> Iterator[Tuple[str, Any]]:
        """(dotted name, tensor) of the parameters and persistent buffers, as state_dict
        lists them (a shared module under each of its names)."""
        for mod_prefix, m in self.named_modules(prefix=prefix, remove_duplicate=False):
            dot = mod_prefix + ("." if mod_prefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    yield dot + name, p
            skip = m.__dict__.get("_non_persistent_buffers_set", ())
            for name, b in m._buffers.items():
                if b is not None and name not in skip:
                    yield dot + name, b

    def state_dict(self, destination: Optional[Dict[str, Any]] = None, prefix: str = "",
                   keep_vars: bool = False) -> Dict[str, Any]:
        """Parameters and persistent buffers by dotted name (detached, sharing memory)."""
        out = collections.OrderedDict() if destination is None else destination
        for name, t in self._state_items(prefix):
            out[name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict: Dict[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy values into the parameters and buffers (shapes must match)."""
        own = collections.OrderedDict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for name, t in own.items():
            if name not in state_dict:
                continue
            src = state_dict[name]
            if not _is_tensor(src):
                errors.append(f'While copying the parameter named "{name}", expected '
                              f'torch.Tensor or Tensor-like object from checkpoint but '
                              f'received {type(src)}')
                continue
            if tuple(src.shape) != tuple(t.shape):
                errors.append(f"size mismatch for {name}: copying a param with shape "
                              f"{src.shape} from checkpoint, the shape in current model "
                              f"is {t.shape}.")
                continue
            with no_grad():
                t.copy_(src)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # -- printing --

    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2)
                       for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"

    def __dir__(self) -> Iterable[str]:
        keys = list(super().__dir__())
        for reg in ("_parameters", "_buffers", "_modules"):
            keys += list(self.__dict__.get(reg, {}))
        return sorted({k for k in keys if not k[0].isdigit()})

# ------------------------------------------------------------------ layers


_hooks.install(Module)

class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dtype = float32 if dtype is None else dtype
        engine = _backend.engine_for(self)
        self.weight = Parameter(engine.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(engine.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: kaiming_uniform_(a=sqrt(5)) for weight, then U(+-1/sqrt(fan_in))
        for bias, from the default generator (torch's numbers for the same seed)."""
        from . import init
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Any) -> Any:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

class Dropout(Module):
    """Zeroes each element with probability p in training (scaling the rest by
    1 / (1 - p)); the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Any) -> Any:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

class _Activation(Module):
    _fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Any) -> Any:
        return type(self)._fn(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

class ReLU(_Activation):
    """max(x, 0) elementwise."""
    _fn = staticmethod(F.relu)

class Tanh(Module):
    """tanh elementwise."""

    def forward(self, input: Any) -> Any:
        return F.tanh(input)

class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, input: Any) -> Any:
        return F.sigmoid(input)

class Softmax(Module):
    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Any:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

class LogSoftmax(Softmax):
    def forward(self, input: Any) -> Any:
        return F.log_softmax(input, self.dim)

class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input

class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Any) -> Any:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim into unflattened_size (a view; one size may be -1)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for pos, s in enumerate(unflattened_size):
            if not isinstance(s, int):
                raise TypeError("unflattened_size must be tuple of ints, but found element "
                                f"of type {type(s).__name__} at pos {pos}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Any) -> Any:
        shape = tuple(input.shape)
        nd = len(shape)
        if not -max(nd, 1) <= self.dim < max(nd, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(nd, 1)}, {max(nd, 1) - 1}], but got {self.dim})")
        d = self.dim % max(nd, 1)
        sizes = list(self.unflattened_size)
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) == 1 and known and shape[d] % known == 0:
            sizes[sizes.index(-1)] = shape[d] // known
        if sizes.count(-1) > 1 or math.prod(sizes) != shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} "
                               f"don't multiply up to the size of dim {self.dim} "
                               f"({shape[d]}) in the input tensor")
        return input.view(shape[:d] + tuple(sizes) + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
