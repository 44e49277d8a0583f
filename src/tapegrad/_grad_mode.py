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
    off = 0            # the depth last set: recording is on when it is 0


_state = _State()


def _set_grad_off(off: int) -> int:
    """Set this thread's no-grad depth (recording is off while it is above 0); the
    previous depth. As the compiled engine's: a negative depth is a ValueError."""
    if off < 0:
        raise ValueError(f"_set_grad_off: the depth must be >= 0, not {off}")
    prev = _state.off
    _state.off = off
    _state.enabled = off == 0
    return prev


def _grad_off() -> int:
    """This thread's no-grad depth: 0 when recording is on."""
    return _state.off
