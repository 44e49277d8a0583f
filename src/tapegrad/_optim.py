"""Transitional: ``tapegrad._bench`` calls ``_optim.build(engine)``; it can use
``tapegrad.optim`` (shared by both engines) instead. Delete at merge."""


def build(engine):
    """tapegrad.optim (it serves the engine of the parameters it is given)."""
    from . import optim
    return optim
