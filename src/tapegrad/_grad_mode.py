"""The reference engine's grad-mode primitive: one flag per thread.

The compiled engine has the same two functions in C (``_grad_mode.pxi``):
``_set_grad_off(off) -> previous`` and ``_grad_off()``. Both are driven by
``tapegrad.autograd.grad_mode`` (``no_grad`` & co.), which is the only
user-facing grad mode; the reference's tensor code reads ``_state.enabled``.
"""

import threading

__all__ = ["_set_grad_off", "_grad_off"]


class _State(threading.local):
    enabled = True     # the class attribute is every new thread's default


_state = _State()


def _set_grad_off(off: int) -> int:
    """Switch recording off (off != 0) or on for this thread; the previous depth (0 or 1)."""
    prev = 0 if _state.enabled else 1
    _state.enabled = not off
    return prev


def _grad_off() -> int:
    """1 when recording is off on this thread, else 0."""
    return 0 if _state.enabled else 1
