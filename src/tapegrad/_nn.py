"""``nn``: modules, parameters and losses, written once for any tapegrad engine.

``build(engine)`` returns a namespace of classes and functions for one engine
module (``tapegrad.reference`` or ``tapegrad._engine``), with PyTorch's
semantics: ``Module`` registers ``Parameter``s and sub-modules assigned as
attributes; ``Linear`` is initialised like torch's (U(-1/sqrt(fan_in),
1/sqrt(fan_in)) for weight and bias, from the engine's generator); losses use
torch's reductions. ``tapegrad.reference.nn`` and ``tapegrad.nn`` are built
from it.

What the engine must provide: ``Tensor`` (subclassable, with the staticmethod
``Tensor._make_subclass(cls, data, requires_grad)`` returning an instance of
``cls`` that is a leaf sharing ``data``'s memory), ``tensor``, ``zeros``,
``rand``, ``float32``, ``no_grad``, and the tensor methods. Optional
single-node hooks, used when present (else the result is composed from
tensor operations, with the same values): ``_addmm(bias, mat1, mat2)``
(AddmmBackward0), ``_mse_loss(input, target, reduction)`` (MseLossBackward0),
``_nll_loss(input, target, weight, ignore_index, reduction)``
(NllLossBackward0), ``_binary_cross_entropy(input, target, weight,
reduction)`` (BinaryCrossEntropyBackward0).
"""

import collections
import itertools
import math
import types
import warnings

from ._layers import built_once

__all__ = ["build"]

def reduce_loss(loss, reduction):
    """A loss per element reduced as torch's ``reduction=`` says (engines' loss hooks
    use it too)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


@built_once
def build(engine):
    """The nn namespace (with a ``functional`` sub-namespace) for ``engine``."""
    return _build(engine)


def _typename(obj):
    """torch's name for a value in messages: 'tapegrad.FloatTensor' for a tensor."""
    t = getattr(obj, "type", None)
    if callable(t) and hasattr(obj, "dtype"):
        try:
            return t()
        except Exception:
            pass
    return type(obj).__name__


def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


class _IncompatibleKeys(collections.namedtuple("_IncompatibleKeys",
                                               ["missing_keys", "unexpected_keys"])):
    """What load_state_dict(strict=False) could not match."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _build(engine):
    Tensor = engine.Tensor
    no_grad = engine.no_grad

    # ------------------------------------------------------------------ functional

    def _check(x, what, fn):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument '{what}' must be Tensor, not {type(x).__name__}")

    def relu(input, inplace=False):
        _check(input, "input", "relu")
        return input.relu()

    def tanh(input):
        _check(input, "input", "tanh")
        return input.tanh()

    def sigmoid(input):
        _check(input, "input", "sigmoid")
        return input.sigmoid()

    def softmax(input, dim=None, dtype=None):
        _check(input, "input", "softmax")
        return input.softmax(dim) if dtype is None else input.softmax(dim, dtype=dtype)

    def log_softmax(input, dim=None, dtype=None):
        _check(input, "input", "log_softmax")
        return input.log_softmax(dim) if dtype is None else input.log_softmax(dim, dtype=dtype)

    def linear(input, weight, bias=None):
        """input @ weight.T + bias, as torch computes it: one AddmmBackward0 node
        (other ranks are flattened to 2-D around it)."""
        _check(input, "input", "linear")
        _check(weight, "weight", "linear")
        addmm = getattr(engine, "_addmm", None)
        if bias is None or addmm is None:
            out = input.matmul(weight.t())
            return out if bias is None else out + bias
        if input.dim() == 2:
            return addmm(bias, input, weight.t())
        shape = tuple(input.shape[:-1]) + (weight.shape[0],)
        flat = input.reshape(-1, input.shape[-1])
        return addmm(bias, flat, weight.t()).view(shape)

    def _reduction(size_average, reduce, reduction):
        if size_average is None and reduce is None:
            return reduction
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return ("mean" if size_average else "sum") if reduce else "none"

    def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
        """Mean (or sum) of squared differences."""
        _check(input, "input", "mse_loss")
        _check(target, "target", "mse_loss")
        reduction = _reduction(size_average, reduce, reduction)
        if input.shape != target.shape:
            warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                          f"size ({input.shape}). This will likely lead to incorrect results "
                          "due to broadcasting. Please ensure they have the same size.",
                          stacklevel=2)
        hook = getattr(engine, "_mse_loss", None)
        if hook is not None:
            return hook(input, target, reduction)
        d = input - target
        return reduce_loss(d * d, reduction)

    def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,
                 reduce=None, reduction="mean"):
        """Negative log-likelihood of class indices (int64) under log-probabilities."""
        _check(input, "input", "nll_loss")
        _check(target, "target", "nll_loss")
        reduction = _reduction(size_average, reduce, reduction)
        hook = getattr(engine, "_nll_loss", None)
        if hook is not None:
            return hook(input, target, weight, ignore_index, reduction)
        if weight is not None or input.dim() != 2:
            raise NotImplementedError("nll_loss: this engine supports (N, C) inputs without "
                                      "class weights")
        picked = input[engine.arange(input.shape[0]), target]
        return reduce_loss(-picked, reduction)

    def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                      reduce=None, reduction="mean", label_smoothing=0.0):
        """log_softmax over the class dim followed by nll_loss (class-index targets), or
        the cross entropy with class probabilities (a float target shaped like input)."""
        _check(input, "input", "cross_entropy")
        _check(target, "target", "cross_entropy")
        reduction = _reduction(size_average, reduce, reduction)
        if label_smoothing:
            raise NotImplementedError("cross_entropy: label_smoothing is not supported")
        class_dim = 0 if input.dim() == 1 else 1
        logp = input.log_softmax(class_dim)
        if target.dtype.is_floating_point:
            if target.shape != input.shape:
                raise RuntimeError(f"Expected target size {list(input.shape)}, got "
                                   f"{list(target.shape)}")
            prod = logp * target
            if weight is not None:
                prod = prod * (weight if class_dim == 0 else weight.reshape(1, -1))
            if reduction == "none":
                return -prod.sum(class_dim)
            total = -prod.sum()
            if reduction == "sum":
                return total
            return total / (input.numel() // input.shape[class_dim])
        return nll_loss(logp, target, weight, None, ignore_index, None, reduction)

    def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                             reduction="mean"):
        """-(t log x + (1 - t) log(1 - x)), logs clamped at -100 as in torch."""
        _check(input, "input", "binary_cross_entropy")
        _check(target, "target", "binary_cross_entropy")
        reduction = _reduction(size_average, reduce, reduction)
        hook = getattr(engine, "_binary_cross_entropy", None)
        if hook is not None:
            return hook(input, target, weight, reduction)
        loss = -(target * input.log().clamp(min=-100)
                 + (1 - target) * (1 - input).log().clamp(min=-100))
        if weight is not None:
            loss = loss * weight
        return reduce_loss(loss, reduction)

    functional = types.SimpleNamespace(
        relu=relu, tanh=tanh, sigmoid=sigmoid, softmax=softmax, log_softmax=log_softmax,
        linear=linear, mse_loss=mse_loss, nll_loss=nll_loss, cross_entropy=cross_entropy,
        binary_cross_entropy=binary_cross_entropy)

    # ------------------------------------------------------------------ Parameter

    class Parameter(Tensor):
        """A Tensor that a Module registers as a parameter: a leaf requiring grad
        (by default) that shares memory with ``data``."""

        _is_parameter = True

        def __new__(cls, data=None, requires_grad=True):
            if data is None:
                data = engine.empty(0)
            if not isinstance(data, Tensor):
                raise TypeError(f"Parameter(): data must be a Tensor, not "
                                f"'{type(data).__name__}'")
            return Tensor._make_subclass(cls, data.detach(), requires_grad)

        def __repr__(self):
            return "Parameter containing:\n" + super().__repr__()

        def __reduce_ex__(self, protocol):
            return (Parameter, (self.data, self.requires_grad))

    # ------------------------------------------------------------------ Module

    class Module:
        """Base class of all layers: assigning a Parameter or a Module to an
        attribute registers it, so parameters() finds it."""

        training = True

        def __init__(self):
            object.__setattr__(self, "training", True)
            object.__setattr__(self, "_parameters", collections.OrderedDict())
            object.__setattr__(self, "_buffers", collections.OrderedDict())
            object.__setattr__(self, "_modules", collections.OrderedDict())

        def _registries(self):
            d = self.__dict__
            if "_parameters" not in d:
                raise AttributeError("cannot assign parameters or modules before "
                                     "Module.__init__() call")
            return d["_parameters"], d["_buffers"], d["_modules"]

        def __setattr__(self, name, value):
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
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(f"cannot assign '{type(value).__name__}' as buffer "
                                    f"'{name}' (Tensor or None expected)")
                d["_buffers"][name] = value
            else:
                object.__setattr__(self, name, value)

        def __getattr__(self, name):
            d = self.__dict__
            for reg in ("_parameters", "_buffers", "_modules"):
                if reg in d and name in d[reg]:
                    return d[reg][name]
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

        def __delattr__(self, name):
            d = self.__dict__
            for reg in ("_parameters", "_buffers", "_modules"):
                if reg in d and name in d[reg]:
                    del d[reg][name]
                    return
            object.__delattr__(self, name)

        def register_parameter(self, name, param):
            if param is not None and not isinstance(param, Parameter):
                raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                                f"'{name}' (tapegrad.nn.Parameter or None required)")
            self._registries()[0][name] = param

        def register_buffer(self, name, tensor, persistent=True):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                                f"'{name}' (Tensor or None required)")
            self._registries()[1][name] = tensor

        def add_module(self, name, module):
            if module is not None and not isinstance(module, Module):
                raise TypeError(f"{type(module).__name__} is not a Module subclass")
            self._registries()[2][name] = module

        register_module = add_module

        def forward(self, *args, **kwargs):
            raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                      '"forward" function')

        def __call__(self, *args, **kwargs):
            return self.forward(*args, **kwargs)

        # -- traversal --

        def named_modules(self, memo=None, prefix="", remove_duplicate=True):
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

        def modules(self):
            for _, m in self.named_modules():
                yield m

        def named_children(self):
            seen = set()
            for name, m in self._modules.items():
                if m is not None and id(m) not in seen:
                    seen.add(id(m))
                    yield name, m

        def children(self):
            for _, m in self.named_children():
                yield m

        def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
            seen = set()
            mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
                if recurse else [(prefix, self)]
            for mod_prefix, m in mods:
                for name, v in getattr(m, registry).items():
                    if v is None or (remove_duplicate and id(v) in seen):
                        continue
                    seen.add(id(v))
                    yield mod_prefix + ("." if mod_prefix else "") + name, v

        def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
            yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

        def parameters(self, recurse=True):
            for _, p in self.named_parameters(recurse=recurse):
                yield p

        def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
            yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

        def buffers(self, recurse=True):
            for _, b in self.named_buffers(recurse=recurse):
                yield b

        def apply(self, fn):
            for m in self.children():
                m.apply(fn)
            fn(self)
            return self

        # -- modes and gradients --

        def train(self, mode=True):
            if not isinstance(mode, bool):
                raise ValueError("training mode is expected to be boolean")
            for m in self.modules():
                object.__setattr__(m, "training", mode)
            return self

        def eval(self):
            return self.train(False)

        def requires_grad_(self, requires_grad=True):
            for p in self.parameters():
                p.requires_grad_(requires_grad)
            return self

        def zero_grad(self, set_to_none=True):
            """Reset the parameters' gradients (to None, as torch 2.x does by default)."""
            for p in self.parameters():
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.zero_()

        def _cast(self, dtype):
            with no_grad():
                for m in self.modules():
                    for reg in (m._parameters, m._buffers):
                        for name, t in reg.items():
                            if t is not None and t.dtype.is_floating_point and t.dtype != dtype:
                                t.data = t.data.to(dtype)
                                if t.grad is not None:
                                    t.grad = t.grad.to(dtype)
            return self

        def to(self, *args, **kwargs):
            dtype = kwargs.get("dtype")
            for a in args:
                if not isinstance(a, (str, Tensor)) and str(a) != "cpu":
                    dtype = a
            if kwargs.get("device") not in (None, "cpu") and str(kwargs.get("device")) != "cpu":
                raise RuntimeError("tapegrad modules live on the CPU")
            return self if dtype is None else self._cast(dtype)

        def float(self):
            return self._cast(engine.float32)

        def double(self):
            return self._cast(engine.float64)

        def cpu(self):
            return self

        # -- state --

        def state_dict(self, destination=None, prefix="", keep_vars=False):
            """Parameters and buffers by dotted name (detached, sharing memory)."""
            out = collections.OrderedDict() if destination is None else destination
            for name, t in itertools.chain(self.named_parameters(prefix=prefix,
                                                                 remove_duplicate=False),
                                           self.named_buffers(prefix=prefix,
                                                              remove_duplicate=False)):
                out[name] = t if keep_vars else t.detach()
            return out

        def load_state_dict(self, state_dict, strict=True, assign=False):
            """Copy values into the parameters and buffers (shapes must match)."""
            own = collections.OrderedDict(itertools.chain(
                self.named_parameters(remove_duplicate=False),
                self.named_buffers(remove_duplicate=False)))
            missing = [k for k in own if k not in state_dict]
            unexpected = [k for k in state_dict if k not in own]
            errors = []
            for name, t in own.items():
                if name not in state_dict:
                    continue
                src = state_dict[name]
                if not isinstance(src, Tensor):
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

        def extra_repr(self):
            return ""

        def _get_name(self):
            return type(self).__name__

        def __repr__(self):
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

        def __dir__(self):
            keys = list(super().__dir__())
            for reg in ("_parameters", "_buffers", "_modules"):
                keys += list(self.__dict__.get(reg, {}))
            return sorted(set(k for k in keys if not k[0].isdigit()))

    # ------------------------------------------------------------------ layers

    class Linear(Module):
        """y = x @ weight.T + bias; weight (out_features, in_features)."""

        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            dtype = engine.float32 if dtype is None else dtype
            self.weight = Parameter(engine.empty(out_features, in_features, dtype=dtype))
            if bias:
                self.bias = Parameter(engine.empty(out_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):
            """torch's init: kaiming_uniform_(a=sqrt(5)) for weight, U(+-1/sqrt(fan_in))
            for bias, drawn from the engine's generator."""
            fan_in = self.in_features
            if fan_in == 0:
                return
            gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
            bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
            _uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                b = 1 / math.sqrt(fan_in)
                _uniform_(self.bias, -b, b)

        def forward(self, input):
            return linear(input, self.weight, self.bias)

        def extra_repr(self):
            return (f"in_features={self.in_features}, out_features={self.out_features}, "
                    f"bias={self.bias is not None}")

    def _uniform_(t, low, high):
        """Fill t with U(low, high) as torch's uniform_ does: u * (high - low) + low."""
        with no_grad():
            u = engine.rand(*t.shape, dtype=t.dtype)
            t.copy_(u * (high - low) + low)

    class _Activation(Module):
        _fn = None

        def __init__(self, inplace=False):
            super().__init__()
            self.inplace = inplace

        def forward(self, input):
            return type(self)._fn(input)

        def extra_repr(self):
            return "inplace=True" if self.inplace else ""

    class ReLU(_Activation):
        """max(x, 0) elementwise."""
        _fn = staticmethod(relu)

    class Tanh(Module):
        """tanh elementwise."""

        def forward(self, input):
            return tanh(input)

    class Sigmoid(Module):
        """1 / (1 + exp(-x)) elementwise."""

        def forward(self, input):
            return sigmoid(input)

    class Softmax(Module):
        def __init__(self, dim=None):
            super().__init__()
            self.dim = dim

        def forward(self, input):
            return softmax(input, self.dim)

        def extra_repr(self):
            return f"dim={self.dim}"

    class LogSoftmax(Softmax):
        def forward(self, input):
            return log_softmax(input, self.dim)

    class Identity(Module):
        def __init__(self, *args, **kwargs):
            super().__init__()

        def forward(self, input):
            return input

    class Flatten(Module):
        def __init__(self, start_dim=1, end_dim=-1):
            super().__init__()
            self.start_dim = start_dim
            self.end_dim = end_dim

        def forward(self, input):
            return input.flatten(self.start_dim, self.end_dim)

        def extra_repr(self):
            return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    class _ModuleSequence(Module):
        """What Sequential and ModuleList share: children kept in order."""

        def __len__(self):
            return len(self._modules)

        def __iter__(self):
            return iter(self._modules.values())

        def append(self, module):
            self.add_module(str(len(self)), module)
            return self

    class Sequential(_ModuleSequence):
        """Modules applied in order: Sequential(m0, m1, ...) or Sequential(OrderedDict)."""

        def __init__(self, *args):
            super().__init__()
            if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
                for name, m in args[0].items():
                    self.add_module(name, m)
            else:
                for k, m in enumerate(args):
                    self.add_module(str(k), m)

        def __getitem__(self, idx):
            items = list(self._modules.items())
            if isinstance(idx, slice):
                return Sequential(collections.OrderedDict(items[idx]))
            n = len(items)
            if not -n <= idx < n:
                raise IndexError(f"index {idx} is out of range")
            return items[idx % n][1]

        def forward(self, input):
            for m in self._modules.values():
                input = m(input)
            return input

    class ModuleList(_ModuleSequence):
        """A list of modules, registered as children."""

        def __init__(self, modules=None):
            super().__init__()
            if modules is not None:
                self.extend(modules)

        def __getitem__(self, idx):
            items = list(self._modules.values())
            if isinstance(idx, slice):
                return ModuleList(items[idx])
            return items[idx]

        def extend(self, modules):
            for m in modules:
                self.append(m)
            return self

    # ------------------------------------------------------------------ losses

    class _Loss(Module):
        def __init__(self, size_average=None, reduce=None, reduction="mean"):
            super().__init__()
            self.reduction = _reduction(size_average, reduce, reduction)

    class MSELoss(_Loss):
        """Mean squared error: mean((input - target) ** 2)."""

        def forward(self, input, target):
            return mse_loss(input, target, reduction=self.reduction)

    class CrossEntropyLoss(_Loss):
        """log_softmax + nll_loss over class-index (int64) targets."""

        def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                     reduction="mean", label_smoothing=0.0):
            super().__init__(size_average, reduce, reduction)
            self.register_buffer("weight", weight)
            self.ignore_index = ignore_index
            self.label_smoothing = label_smoothing

        def forward(self, input, target):
            return cross_entropy(input, target, weight=self.weight,
                                 ignore_index=self.ignore_index, reduction=self.reduction,
                                 label_smoothing=self.label_smoothing)

    class NLLLoss(CrossEntropyLoss):
        def forward(self, input, target):
            return nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                            reduction=self.reduction)

    class BCELoss(_Loss):
        """Binary cross entropy of probabilities (logs clamped at -100)."""

        def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
            super().__init__(size_average, reduce, reduction)
            self.register_buffer("weight", weight)

        def forward(self, input, target):
            return binary_cross_entropy(input, target, weight=self.weight,
                                        reduction=self.reduction)

    for cls in (Parameter, Module, Linear, ReLU, Tanh, Sigmoid, Softmax, LogSoftmax, Identity,
                Flatten, Sequential, ModuleList, MSELoss, CrossEntropyLoss, NLLLoss, BCELoss):
        cls.__module__ = engine.__name__ + ".nn" if engine.__name__.endswith("reference") \
            else "tapegrad.nn"
        cls.__qualname__ = cls.__name__

    return types.SimpleNamespace(
        Parameter=Parameter, Module=Module, Linear=Linear, ReLU=ReLU, Tanh=Tanh,
        Sigmoid=Sigmoid, Softmax=Softmax, LogSoftmax=LogSoftmax, Identity=Identity,
        Flatten=Flatten, Sequential=Sequential, ModuleList=ModuleList, MSELoss=MSELoss,
        CrossEntropyLoss=CrossEntropyLoss, NLLLoss=NLLLoss, BCELoss=BCELoss,
        functional=functional)
