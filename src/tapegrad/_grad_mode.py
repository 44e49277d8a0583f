"""Gradient mode: whether operations are recorded for autograd (per thread).

Shared by the engines: ``no_grad``, ``enable_grad`` and ``set_grad_enabled``
work as context managers and as decorators, like torch's. Each thread starts
with recording on; switching it off affects only the current thread.
"""

import functools
import threading

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]


class _State(threading.local):
    enabled = True     # the class attribute is every new thread's default


_state = _State()


def is_grad_enabled():
    """True when operations on tensors that require grad are being recorded."""
    return _state.enabled


class _GradMode:
    """Base: a context manager setting the mode to ``self._mode`` and restoring
    it on exit, and a decorator running the function under that mode."""

    _mode = True

    def __init__(self):
        self._saved = []          # a stack, so the same object can be entered twice

    def __enter__(self):
        self._saved.append(_state.enabled)
        _state.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled = self._saved.pop()
        return False

    def _fresh(self):
        return type(self)()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper


class _BareDecorator(_GradMode):
    """Also usable as a decorator without parentheses (``@no_grad``), as in torch 2.x."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (a function to decorate "
                            f"at most), not '{type(orig_func).__name__}'")
        return cls()(orig_func)

    def __init__(self, orig_func=None):
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

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expects a bool, not '{type(mode).__name__}'")
        super().__init__()
        self._mode = mode
        self._saved.append(_state.enabled)
        _state.enabled = mode

    def __enter__(self):
        pass      # the mode was set by the constructor

    def __call__(self, fn):
        _state.enabled = self._saved.pop()   # decorating must not change the mode
        return super().__call__(fn)

    def _fresh(self):
        return set_grad_enabled(self._mode)
