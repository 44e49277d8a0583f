"""``tapegrad.autograd.Function``: custom differentiable operations, for any engine.

Written once, like torch's ``torch.autograd.Function``::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y

    z = Exp.apply(x)

``apply`` runs ``forward`` under ``no_grad`` and records one node per call (the
engines' hook ``_function_record``): on the compiled engine a tape slot whose
backward is the only step of the C sweep that takes the GIL and calls Python
(``ctx._engine_backward``, one call); on the reference engine a node of its graph.
``ctx`` is the call's ``grad_fn`` (class ``<Name>Backward``), as in torch.

Replay (``tapegrad.compile`` / ``record``) refuses a custom Function: its forward
and backward are arbitrary Python, which a replayed program cannot re-run.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .. import _backend
from .grad_mode import _restore, _set_off, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable",
           "InplaceFunction", "NestedIOFunction"]


_TENSOR_TYPES = _backend.TENSOR_TYPES


def _is_tensor(x: Any) -> bool:
    return type(x) in _TENSOR_TYPES or _backend.tensor_engine(x) is not None


def _is_float(x: Any) -> bool:
    return x.dtype.is_floating_point


class FunctionCtx:
    """What ``forward`` / ``setup_context`` store for ``backward``."""

    materialize_grads: bool = True
    needs_input_grad: Tuple[bool, ...] = ()
    _to_save: Tuple[Any, ...] = ()
    _saved: Optional[List[Tuple[Any, int, Optional[int]]]] = None
    _graph_outputs: Optional[Sequence[Any]] = None
    _engine: Any = None                    # set when the call is recorded:
    _inputs: List[Any]                     # forward args requiring grad (None: others)
    _in_layouts: List[Any]                 # (shape, dtype) of each tensor arg, else None
    _out_layouts: List[Any]                # (shape, dtype) of each tensor output, else None
    _out_slots: List[Optional[int]]        # forward output -> recorded output (None: not)
    _slot_layouts: List[Any]               # (shape, dtype) of each recorded output
    _output_ref: Any = None                # weak reference to the first recorded output

    def name(self) -> str:
        return type(self).__name__

    def save_for_backward(self, *tensors: Any) -> None:
        for t in tensors:
            if t is not None and not _is_tensor(t):
                raise TypeError(f"save_for_backward can only save variables, but argument "
                                f"{len(self._to_save)} is of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        self._to_save_forward = tensors

    def mark_dirty(self, *args: Any) -> None:
        self._dirty = args

    def mark_non_differentiable(self, *args: Any) -> None:
        self._non_differentiable = args

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> Tuple[Any, ...]:
        return self._unpack_saved()

    def _unpack_saved(self) -> Tuple[Any, ...]:
        saved = getattr(self, "_saved", None)
        if saved is None:          # during forward (or never saved): what was given
            return tuple(getattr(self, "_to_save", ()))
        out: List[Any] = []
        for t, version, k in saved:
            if t is None:
                out.append(None)
                continue
            now = self._engine._tensor_version(t)
            if now != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype} {list(t.shape)}], which is saved "
                    f"by {self.name()}, is at version {now}; expected version "
                    f"{version} instead.")
            if k is not None and self._graph_outputs is not None \
                    and self._graph_outputs[k] is not None:
                t = self._graph_outputs[k]   # create_graph: the output with its history
            out.append(t)
        return tuple(out)


class BackwardCFunction(FunctionCtx):
    """The grad_fn of a custom Function's outputs, and its ctx (torch's class)."""

    _forward_cls: Any = None

    @property
    def next_functions(self) -> Tuple[Tuple[Any, int], ...]:
        return tuple(((x.grad_fn if x.grad_fn is not None else _accumulate(x)), 0)
                     if x is not None else (None, 0) for x in self._inputs)

    def __repr__(self) -> str:
        return f"<tapegrad.autograd.function.{type(self).__name__} object at {id(self):#x}>"

    def apply(self, *args: Any) -> Any:
        return self._forward_cls.backward(self, *args)

    def _output(self) -> Any:
        """The first tensor this node computed, while it lives (tapegrad.draw / explain)."""
        ref = self._output_ref
        return ref() if ref is not None else None

    # -- the engines' entry point ----------------------------------------------------

    def _engine_backward(self, grads: Sequence[Any], create_graph: bool = False,
                         outputs: Optional[Sequence[Any]] = None) -> List[Any]:
        """The engine's one call per backward: grads of the recorded outputs (None:
        none reached it) -> one gradient per forward input (None: none), checked
        and fitted to the input's shape and dtype as torch does."""
        cls = self._forward_cls
        if cls.backward is _BACKWARD_UNSET:
            raise NotImplementedError(
                "You must implement either the backward or vjp method for your custom "
                "autograd.Function to use it with backward mode AD.")
        simple = len(grads) == 1 and grads[0] is not None and self._out_slots == [0]
        args = grads if simple else self._output_grads(grads)
        self._graph_outputs = outputs
        prev = _set_off(0 if create_graph else 1)
        try:
            result = cls.backward(self, *args)
        finally:
            _restore(prev)
            self._graph_outputs = None
        return self._check_grads(result)

    def _output_grads(self, grads: Sequence[Any]) -> List[Any]:
        """One argument per forward output: the recorded outputs' gradients (zeros
        when missing, unless set_materialize_grads(False)), None for the others."""
        args: List[Any] = []
        for k, layout in enumerate(self._out_layouts):
            slot = self._out_slots[k]
            g = grads[slot] if slot is not None else None
            if g is None and layout is not None and self.materialize_grads:
                g = self._engine.zeros(layout[0], dtype=layout[1])
            args.append(g)
        return args

    def _check_grads(self, result: Any) -> List[Any]:
        name = self.name()
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self._in_layouts)
        if len(result) > n_in and all(g is None for g in result[n_in:]):
            result = result[:n_in]
        if len(result) != n_in:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(result)})")
        out: List[Any] = []
        for k, (g, layout) in enumerate(zip(result, self._in_layouts)):
            if g is None:
                out.append(None)
                continue
            if not _is_tensor(g):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            if layout is None:
                raise RuntimeError(f"function {name} returned a gradient different than None "
                                   f"at position {k + 1}, but the corresponding forward input "
                                   "was not a Variable")
            if self._inputs[k] is None:      # an input that needs no gradient
                out.append(None)
                continue
            out.append(_fit(name, k, g, layout))
        return out


def _accumulate(x: Any) -> Any:
    """The AccumulateGrad node torch shows for leaf x (read through a recorded op)."""
    with set_grad_enabled(True):
        return (x * 1).grad_fn.next_functions[0][0]


def _fit(name: str, k: int, g: Any, layout: Tuple[Tuple[int, ...], Any]) -> Any:
    """g in input k's shape (summed down when it was broadcast, as torch's
    validate_outputs) and dtype."""
    shape, dtype = layout
    if tuple(g.shape) != tuple(shape):
        if not _expandable(tuple(shape), tuple(g.shape)):
            raise RuntimeError(f"Function {name} returned an invalid gradient at index {k} - "
                               f"got {list(g.shape)} but expected shape compatible with "
                               f"{list(shape)}")
        g = _sum_to(g, tuple(shape))
    if g.dtype != dtype:
        g = g.to(dtype)
    return g


def _expandable(shape: Tuple[int, ...], to: Tuple[int, ...]) -> bool:
    """shape broadcasts to ``to`` (torch's is_expandable_to)."""
    if len(shape) > len(to):
        return False
    for s, t in zip(reversed(shape), reversed(to)):
        if s != t and s != 1:
            return False
    return True


def _sum_to(g: Any, shape: Tuple[int, ...]) -> Any:
    lead = g.dim() - len(shape)
    if lead:
        g = g.sum(tuple(range(lead)))
    dims = tuple(d for d, s in enumerate(shape) if s == 1 and g.shape[d] != 1)
    if dims:
        g = g.sum(dims, keepdim=True)
    return g


def _backward_unset(ctx: Any, *grad_outputs: Any) -> Any:
    raise NotImplementedError("You must implement either the backward or vjp method for "
                              "your custom autograd.Function to use it with backward mode AD.")


_BACKWARD_UNSET = staticmethod(_backward_unset).__func__


def _defined(cls: type) -> set:
    """Names the class (or a base below Function) defines itself."""
    names: set = set()
    for c in cls.__mro__:
        if c.__module__ == __name__ and c.__name__ == "Function":
            break
        names.update(vars(c))
    return names


class FunctionMeta(type):
    """Gives each Function subclass its grad_fn class, ``<Name>Backward``."""

    def __init__(cls, name: str, bases: Tuple[type, ...], attrs: dict) -> None:
        backward_cls = type(name + "Backward", (BackwardCFunction,),
                            {"_forward_cls": cls, "__module__": cls.__module__,
                             "__qualname__": name + "Backward"})
        cls._backward_cls = backward_cls
        super().__init__(name, bases, attrs)
        cls._setup_style = "setup_context" in _defined(cls)


class Function(FunctionCtx, metaclass=FunctionMeta):
    """Base class of custom differentiable operations: define the static methods
    ``forward`` and ``backward`` (optionally ``setup_context``) and call ``apply``."""

    _backward_cls: Any
    _setup_style: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import warnings
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class "
                      "itself. Instantiating an autograd function will raise an error in a "
                      "future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: https://pytorch.org/docs/stable/"
                           "autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: Tuple[Any, ...], output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    backward = staticmethod(_backward_unset)
    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward and record one node whose backward is ``cls.backward``."""
        eng: Any = None
        grad_on = is_grad_enabled()
        needs = []
        for a in args:
            e = _TENSOR_TYPES.get(type(a)) or _backend.tensor_engine(a)
            if e is not None and eng is None:
                eng = e
            needs.append(bool(grad_on and e is not None and a.requires_grad))
        ctx: Any = object.__new__(cls._backward_cls)
        ctx.needs_input_grad = tuple(needs)
        recording = True in needs
        if recording:
            eng._function_refuse_replay(cls.__name__)
        prev = _set_off(1)
        try:
            if cls._setup_style:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            _restore(prev)
        if not recording:
            return output
        return _record(eng, ctx, args, output)


def _record(eng: Any, ctx: Any, args: Tuple[Any, ...], output: Any) -> Any:
    """Record the call: differentiable outputs become the node's outputs."""
    is_tuple = isinstance(output, tuple)
    outs = list(output) if is_tuple else [output]
    non_diff = {id(t) for t in getattr(ctx, "_non_differentiable", ())}
    dirty = {id(t) for t in getattr(ctx, "_dirty", ())}
    inputs = [a if n else None for a, n in zip(args, ctx.needs_input_grad)]
    ctx._inputs = inputs
    ctx._in_layouts = [(tuple(a.shape), a.dtype) if _is_tensor(a) else None for a in args]
    ctx._out_layouts = []
    ctx._out_slots = []
    ctx._engine = eng
    attach: List[Any] = []
    ctx._slot_layouts = []
    for o in outs:
        if _is_tensor(o) and _is_float(o) and id(o) not in non_diff:
            ctx._out_slots.append(len(attach))
            attach.append(o)
            ctx._slot_layouts.append((tuple(o.shape), o.dtype))
        else:
            ctx._out_slots.append(None)
        ctx._out_layouts.append((tuple(o.shape), o.dtype) if _is_tensor(o) else None)
    for o in attach:
        if id(o) in dirty and o.is_leaf and o.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an "
                               "in-place operation.")
    fresh = [o.detach() if (o.requires_grad or any(o is a for a in args)) and id(o) not in dirty
             else o for o in attach]
    recorded = eng._function_record(ctx, inputs, fresh, [id(o) in dirty for o in attach])
    by_id = {id(o): r for o, r in zip(attach, recorded)}
    ctx._output_ref = weakref.ref(recorded[0]) if recorded else None
    ctx._saved = [_saved_entry(eng, t, by_id, attach) for t in getattr(ctx, "_to_save", ())]
    ctx._to_save = ()
    ctx._graph_outputs = None
    for k, o in enumerate(outs):
        if id(o) in by_id:
            outs[k] = by_id[id(o)]
        elif _is_tensor(o) and id(o) in non_diff and o.requires_grad and not o.is_leaf:
            outs[k] = o.detach()
    return tuple(outs) if is_tuple else outs[0]


def _saved_entry(eng: Any, t: Any, by_id: dict,
                 attach: List[Any]) -> Tuple[Any, int, Optional[int]]:
    """(tensor, version, output index or None): a saved output is kept as an alias
    without history (the node would otherwise keep itself alive)."""
    if t is None:
        return (None, 0, None)
    if id(t) in by_id:
        k = next(j for j, o in enumerate(attach) if o is t)
        alias = by_id[id(t)].detach()
        return (alias, eng._tensor_version(alias), k)
    return (t, eng._tensor_version(t), None)


# ----------------------------------------------------------------------------
# create_graph=True: the shared recording sweep (autograd/_higher.py)

GRAPH_ROWS = ("_function_output", "_function")


class _CallGrads(dict):
    """A call's pending entry in the recording sweep: slot -> (gradient, output)."""


def graph_step(name: str, h: Any, g: Any, parents: Sequence[Any], ctx: Any,
               pending: dict, handles: dict) -> None:
    """An output hands its gradient to its call; a call runs ctx's backward with
    grad mode on (its gradients are recorded) and adds them to the parents'."""
    if name == "_function_output":
        fctx, k = ctx
        call = parents[0]
        entry = pending.setdefault(id(call), _CallGrads())
        entry[k] = (g, h)
        handles[id(call)] = call
        return
    n_slots = len(ctx._slot_layouts)
    grads = [g[k][0] if k in g else None for k in range(n_slots)]
    outputs = [g[k][1] if k in g else None for k in range(n_slots)]
    result = ctx._engine_backward(grads, create_graph=True, outputs=outputs)
    for p, gp in zip(parents, result):
        if p is None or gp is None:
            continue
        handles[id(p)] = p
        pending[id(p)] = pending[id(p)] + gp if id(p) in pending else gp


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A backward that is not itself differentiable: it runs under no_grad."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            return fn(ctx, *args)
    return wrapper


class InplaceFunction(Function):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


NestedIOFunction = Function
