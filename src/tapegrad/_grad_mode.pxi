# Grad mode: a thread-local no_grad() depth read by every op that records
# (included by _engine.pyx before the tensor files).

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define TG_TLS __declspec(thread)
    #else
    #define TG_TLS _Thread_local
    #endif
    static TG_TLS int tg_grad_off = 0;      /* no_grad() depth on this thread */
    static int tg_grad_enabled(void) { return tg_grad_off == 0; }
    static int tg_grad_mode_set(int off) { int old = tg_grad_off; tg_grad_off = off; return old; }
    static int tg_grad_mode_get(void) { return tg_grad_off; }
    """
    int tg_grad_enabled() nogil
    int tg_grad_mode_set(int off) nogil
    int tg_grad_mode_get() nogil


# ----------------------------------------------------------------------------
# The primitive the shared tapegrad.autograd.grad_mode drives

def _set_grad_off(int off):
    """Set this thread's grad-off depth (0: operations record; >0: they do not)
    and return the previous depth, to be restored on exit."""
    if off < 0:
        raise ValueError(f"_set_grad_off: the depth must be >= 0, not {off}")
    return tg_grad_mode_set(off)


def _grad_off():
    """This thread's grad-off depth: 0 when operations record."""
    return tg_grad_mode_get()


# ----------------------------------------------------------------------------
# Grad mode

class no_grad:
    """Context manager and decorator: operations inside record nothing (this thread)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)            # used bare: @no_grad

    def __enter__(self):
        self._prev = tg_grad_mode_set(1)
        return self

    def __exit__(self, *exc):
        tg_grad_mode_set(self._prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager and decorator: record operations again inside no_grad()."""

    def __enter__(self):
        self._prev = tg_grad_mode_set(0)
        return self


class set_grad_enabled(no_grad):
    """set_grad_enabled(mode): switch recording on or off (also as a context manager)."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self._prev = tg_grad_mode_set(0 if mode else 1)

    def __enter__(self):
        return self


def is_grad_enabled():
    return bool(tg_grad_enabled())
