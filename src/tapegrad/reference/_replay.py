"""Replay for the reference engine: the API of tapegrad.compile / record
(``tapegrad._replay``), implemented by running fn again on every forward().

Arguments are flattened and rebuilt exactly as the compiled engine does
(``_replay.pxi``), so both engines hand fn the same things and report
gradients in the same shape. Re-running fn is always correct, so no guard
ever fails here.
"""

import threading

import numpy as np

from ..autograd.grad_mode import no_grad
from ._tensor import Tensor, _dtype_of, as_tensor, zeros_like
from ._value import Value

ARG_NUMBER = 0       # a Python number: fn gets a Value
ARG_VALUE = 1        # a Value: fn gets a Value; its .grad receives the gradient


_running = threading.local()   # depth of fn calls made by replay on this thread


def refuse_while_replaying(what):
    """As the compiled engine: changes of state that a replay would not repeat are
    errors inside fn (here fn runs again on every call, so it is running now)."""
    if getattr(_running, "depth", 0):
        raise RuntimeError(f"{what} inside a function being recorded for replay would not be "
                           "repeated by the replays; do it outside fn, before or after the "
                           "compiled call")


class _GuardFailed(Exception):
    """Never raised by this engine (fn runs again on every forward)."""


MAX_ARG_NESTING = 100    # lists in lists: as the compiled engine's (_replay.pxi)
_TOO_DEEP = (f"replay arguments nest lists or tuples more than {MAX_ARG_NESTING} deep (a list "
             "that contains itself?)")


def _flatten(o, scalars, tensors, sig, depth=0):
    if type(o) is Value:
        scalars.append(o)
        sig.append(ARG_VALUE)
    elif isinstance(o, bool) or not isinstance(o, (int, float, Tensor, list, tuple, np.ndarray,
                                                   np.floating, np.integer)):
        raise TypeError(f"replay arguments may be numbers, Values, Tensors, numpy arrays and "
                        f"lists or tuples of them, not '{type(o).__name__}'")
    elif isinstance(o, Tensor):
        tensors.append(o)
        sig.append((tuple(o.shape), o.dtype, o.requires_grad))
    elif isinstance(o, (list, tuple)):
        if depth == MAX_ARG_NESTING:
            raise RecursionError(_TOO_DEEP)
        sig.append((type(o), len(o)))
        for item in o:
            _flatten(item, scalars, tensors, sig, depth + 1)
    elif isinstance(o, np.ndarray):
        _flatten(as_tensor(o), scalars, tensors, sig, depth)
    else:
        scalars.append(float(o))
        sig.append(ARG_NUMBER)


def _flatten_args(args):
    scalars, tensors, sig = [], [], []
    for a in args:
        _flatten(a, scalars, tensors, sig)
    return scalars, tensors, sig


def _rebuild(sig, scalars, tensors, nargs):
    """The argument tuple that sig describes, with these leaves."""
    pos = [0, 0, 0]          # into sig, scalars, tensors

    def one():
        entry = sig[pos[0]]
        pos[0] += 1
        if type(entry) is int:
            pos[1] += 1
            return scalars[pos[1] - 1]
        if type(entry[0]) is type:
            items = [one() for _ in range(entry[1])]
            return items if entry[0] is list else tuple(items)
        pos[2] += 1
        return tensors[pos[2] - 1]

    return tuple(one() for _ in range(nargs))


def _leaves(loss, skip):
    """The leaves loss depends on, except those in skip (by identity)."""
    seen, out, stack = set(), [], [loss]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if type(x) is Value:
            if x._fn is None:
                parents = ()
            else:
                parents = [p for side in (x._a, x._b)
                           for p in (side if isinstance(side, tuple) else (side,))
                           if type(p) is Value]
        else:
            parents = [p for p in x._parents if p is not None]
        if not parents and id(x) not in skip and (type(x) is Value or x.requires_grad):
            out.append(x)
        stack.extend(reversed(parents))
    return tuple(out)


class _Program:
    """One 'recording': fn, re-run on each forward()."""

    nodes = 0            # nothing is replayed: fn runs again
    guards = 0

    def __init__(self, fn, sig, nargs, parameters):
        self.fn = fn
        self.sig = sig
        self.nargs = nargs
        self.parameters = parameters
        self._run = None
        self._fresh = None       # (scalars, tensors, run) of the recording, until a forward
        self._bound = ()         # (who, tensor, its data) that backward() gives gradients to

    def _call(self, scalars, tensors):
        in_scalars = [Value(x.data if type(x) is Value else x) for x in scalars]
        # float tensor arguments require grad inside fn, as the compiled engine records
        # them; backward() gives gradients only to those that required grad
        in_tensors = [x.detach().requires_grad_(True) if x.is_floating_point()
                      else x.detach() for x in tensors]
        if getattr(_running, "depth", 0):
            raise RuntimeError("tapegrad: record() / compile() cannot be nested on one thread")
        _running.depth = 1
        try:
            loss = self.fn(*_rebuild(self.sig, in_scalars, in_tensors, self.nargs))
        finally:
            _running.depth = 0
        if type(loss) is not Value and not isinstance(loss, Tensor):
            raise TypeError(f"fn must return a Value or a one-element Tensor, not "
                            f"'{type(loss).__name__}'")
        if isinstance(loss, Tensor):
            if not loss.requires_grad:
                raise RuntimeError("fn's loss does not require grad: it depends on no "
                                   "parameter or argument")
            if loss.numel() != 1:
                raise RuntimeError("fn must return a scalar loss (grad can be implicitly "
                                   "created only for scalar outputs; got shape "
                                   f"{tuple(loss.shape)})")
        return loss, in_scalars, in_tensors

    def forward(self, scalars, tensors):
        fresh, self._fresh = self._fresh, None
        if fresh is not None and fresh[0] == scalars and len(fresh[1]) == len(tensors) and all(
                a is b for a, b in zip(fresh[1], tensors)):
            self._run = fresh[2]                 # the recording's own run: fn runs once
        else:
            self._run = self._call(scalars, tensors)
        loss, in_scalars, in_tensors = self._run
        leaves = _leaves(loss, ())
        reached = {id(leaf) for leaf in leaves}
        args = {id(x) for x in in_tensors}
        self._bound = tuple(
            [("a parameter", p, p._data) for p in leaves
             if type(p) is not Value and id(p) not in args]
            + [(f"tensor argument {k}", x, x._data) for k, x in enumerate(tensors)
               if id(in_tensors[k]) in reached])
        return Value(loss.data) if type(loss) is Value else loss.detach().clone()

    def changed_since_forward(self, tensors):
        """What changed, since forward() read them, among the tensors backward()
        gives gradients to (as the compiled engine's program), or None."""
        for who, x, data in self._bound:
            was = f"a Tensor of shape {tuple(data.shape)}, {_dtype_of(data)}"
            if not x.requires_grad:
                if who == "a parameter":
                    return f"{who} ({was}) no longer requires grad"
                continue                     # an argument: backward() skips it now
            if who == "a parameter" and not x.is_leaf:
                return f"{who} ({was}) is no longer a leaf"
            if x._data is not data:
                return (f"{who} ({was}) had its data replaced (now shape {tuple(x.shape)}, "
                        f"{x.dtype})")
        return None

    def backward(self, scalars, tensors):
        if self._run is None:
            raise RuntimeError("tapegrad: a replay's backward() needs a forward() first")
        changed = self.changed_since_forward(tensors)
        if changed is not None:
            raise RuntimeError(f"tapegrad: replay backward(): {changed} since forward()")
        loss, in_scalars, in_tensors = self._run
        self._run = None
        loss.backward()
        scalar_grads = [v.grad for v in in_scalars]
        tensor_grads = []
        with no_grad():
            for x, leaf in zip(tensors, in_tensors):
                if not x.requires_grad:
                    tensor_grads.append(None)
                else:
                    tensor_grads.append(zeros_like(x) if leaf.grad is None else leaf.grad.clone())
        return scalar_grads, tensor_grads


def _trace(fn, args):
    scalars, tensors, sig = _flatten_args(args)
    probe = _Program(fn, sig, len(args), ())
    run = probe._call(scalars, tensors)
    loss, in_scalars, in_tensors = run
    probe.parameters = _leaves(loss, {id(x) for x in in_scalars + in_tensors})
    probe._fresh = (scalars, tensors, run)
    return probe, loss
