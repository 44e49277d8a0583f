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
from typing import Any, Callable, List, TypeVar

from .. import _backend

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _backend.default_engine()._grad_off() == 0


def _set_enabled(mode: bool) -> bool:
    """Set the mode in every loaded engine; the previous mode (the active engine's)."""
    off = 0 if mode else 1
    engines = _backend.loaded_engines() or (_backend.default_engine(),)
    prev = engines[0]._set_grad_off(off)         # the default engine comes first
    for eng in engines[1:]:
        eng._set_grad_off(off)
    return prev == 0


class _GradMode:
    """Base: a context manager setting the mode to ``self._mode`` and restoring
    it on exit, and a decorator running the function under that mode."""

    _mode = True

    def __init__(self) -> None:
        self._saved: List[bool] = []     # a stack, so the same object can be entered twice

    def __enter__(self) -> None:
        self._saved.append(_set_enabled(self._mode))

    def __exit__(self, *exc: Any) -> None:
        _set_enabled(self._saved.pop())

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
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (a function to decorate "
                            f"at most), not '{type(orig_func).__name__}'")
        return cls()(orig_func)

    def __init__(self, orig_func: Any = None) -> None:
        super().__init__()


class no_grad(_BareDecorator):
    """Record nothing inside: results do not require grad (this thread only)."""

    _mode = False


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
        self._saved.append(_set_enabled(mode))

    def __enter__(self) -> None:
        pass      # the mode was set by the constructor

    def __call__(self, fn: _F) -> _F:
        _set_enabled(self._saved.pop())   # decorating must not change the mode
        return super().__call__(fn)

    def _fresh(self) -> _GradMode:
        return set_grad_enabled(self._mode)
