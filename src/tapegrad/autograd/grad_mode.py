"""Gradient mode: whether operations are recorded for autograd (per thread).

Written once for both engines: ``no_grad``, ``enable_grad`` and
``set_grad_enabled`` work as context managers and as decorators, like torch's,
and switch recording in every engine loaded (each engine keeps a thread-local
primitive, ``_set_grad_off`` / ``_grad_off``), so a ``tapegrad.no_grad()``
block turns recording off in the compiled engine and in the reference alike,
as torch has one grad mode. Each thread starts with recording on; switching
it off affects only the current thread.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Tuple, TypeVar

from .. import _backend

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded (in
    every loaded engine: they switch together)."""
    for off in _backend.grad_setters()[1]:
        if off():
            return False
    return True


def _set_off(off: int) -> Tuple[int, ...]:
    """Set the grad-off depth (0: recording) in every loaded engine; their previous
    depths, for :func:`_restore`."""
    setters = _backend.grad_setters()[0]
    if len(setters) == 2:
        return (setters[0](off), setters[1](off))
    return tuple([setter(off) for setter in setters])


def _restore(prev: Tuple[int, ...]) -> None:
    """Each engine back to its depth before :func:`_set_off` (an engine loaded in
    between gets the first engine's)."""
    setters = _backend.grad_setters()[0]
    if len(setters) == len(prev):
        for setter, p in zip(setters, prev):
            setter(p)
    else:
        for k, setter in enumerate(setters):
            setter(prev[k] if k < len(prev) else prev[0])


class _GradMode:
    """Base: a context manager setting the mode to ``self._mode`` and restoring
    it on exit, and a decorator running the function under that mode. (Entering
    and leaving are inlined: they run on every ``with no_grad():``.)"""

    _mode = True
    _off = 0        # the grad-off depth the mode sets: 0 if _mode else 1

    def __init__(self) -> None:
        self._saved: List[Tuple[int, ...]] = []   # a stack: an object may be re-entered

    def __enter__(self) -> None:
        fns = _backend._grad_fns
        setters = (_backend.grad_setters() if fns is None or _backend._partial else fns)[0]
        off = self._off
        if len(setters) == 2:
            self._saved.append((setters[0](off), setters[1](off)))
        elif len(setters) == 1:
            self._saved.append((setters[0](off),))
        else:
            self._saved.append(_set_off(off))

    def __exit__(self, *exc: Any) -> None:
        prev = self._saved.pop()
        fns = _backend._grad_fns
        setters = (_backend.grad_setters() if fns is None or _backend._partial else fns)[0]
        if len(setters) == len(prev) == 2:
            setters[0](prev[0])
            setters[1](prev[1])
        elif len(setters) == len(prev) == 1:
            setters[0](prev[0])
        else:
            _restore(prev)

    def _fresh(self) -> _GradMode:
        return type(self)()

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class _BareDecorator(_GradMode):
    """Also usable as a decorator without parentheses (``@no_grad``), as in torch 2.x."""

    def __new__(cls, orig_func: Any = None) -> Any:
        if orig_func is None:
            self = object.__new__(cls)
            self._saved = []
            return self
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (a function to decorate "
                            f"at most), not '{type(orig_func).__name__}'")
        return cls()(orig_func)

    __init__ = object.__init__      # (__new__ made the stack)


class no_grad(_BareDecorator):
    """Record nothing inside: results do not require grad (this thread only)."""

    _mode = False
    _off = 1


class enable_grad(_BareDecorator):
    """Record operations inside, even within a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` switches recording on or off at once (as a
    call) and restores the previous mode when used as a context manager and
    left, or when used as a decorator."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expects a bool, not '{type(mode).__name__}'")
        super().__init__()
        self._mode = mode
        self._off = 0 if mode else 1
        self._saved.append(_set_off(self._off))

    def __enter__(self) -> None:
        pass      # the mode was set by the constructor

    def __call__(self, fn: _F) -> _F:
        _restore(self._saved.pop())   # decorating must not change the mode
        return super().__call__(fn)

    def _fresh(self) -> _GradMode:
        return set_grad_enabled(self._mode)


_inference = __import__("threading").local()


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block (this thread)."""
    return getattr(_inference, "depth", 0) > 0


class inference_mode(_GradMode):
    """torch.inference_mode: ``no_grad`` for inference (``mode=False``: no change), as a
    context manager or a decorator (with or without parentheses). Tensors made inside
    are not marked as inference tensors yet: torch's later errors for them are not
    raised."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        if callable(mode) and not isinstance(mode, bool):
            return
        super().__init__()
        self._mode = not mode
        self._off = 1 if mode else 0
        self._enabled = bool(mode)

    def __enter__(self) -> None:
        if self._enabled:
            super().__enter__()
            _inference.depth = getattr(_inference, "depth", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        if self._enabled:
            _inference.depth -= 1
            super().__exit__(*exc)

    def _fresh(self) -> _GradMode:
        return inference_mode(self._enabled)
