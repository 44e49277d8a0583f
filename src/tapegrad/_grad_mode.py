"""The reference engine's grad-mode primitive: one flag per thread.

The compiled engine has the same two functions in C (``_grad_mode.pxi``):
``_set_grad_off(off) -> previous`` and ``_grad_off()``. Both are driven by
``tapegrad.autograd.grad_mode`` (``no_grad`` & co.), which is the only
user-facing grad mode; the reference's tensor code reads ``_state.off``.
"""

import threading

__all__ = ["_set_grad_off", "_grad_off"]


class _State(threading.local):
    off = 0            # the grad-off depth (0: recording); the class attribute is
                       # every new thread's default


_state = _State()


def _set_grad_off(off: int) -> int:
    """Set this thread's grad-off depth (0: operations record; >0: they do not)
    and return the previous depth, to be restored on exit."""
    if off < 0:
        raise ValueError(f"_set_grad_off: the depth must be >= 0, not {off}")
    prev = _state.off
    _state.off = off
    return prev


def _grad_off() -> int:
    """This thread's grad-off depth: 0 when operations record."""
    return _state.off
