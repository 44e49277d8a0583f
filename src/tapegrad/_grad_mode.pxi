# Grad mode: a thread-local no_grad() depth read by every op that records
# (included by _engine.pyx before the tensor files). The user-facing no_grad,
# enable_grad, set_grad_enabled and is_grad_enabled are tapegrad.autograd.grad_mode's,
# shared with the reference and imported at the end of _engine.pyx.

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
