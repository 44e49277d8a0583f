"""Transitional: ``_tensor.pxi`` imports ``reduce_loss`` from here. Once it imports
``from .nn._reduction import reduce_loss`` instead, delete this file."""

from .nn._reduction import reduce_loss  # noqa: F401


def build(engine):  # transitional: tapegrad._bench calls _nn.build(engine); remove at merge
    """The nn module serving ``engine`` (tapegrad.nn, or tapegrad.reference.nn)."""
    import importlib
    return importlib.import_module("tapegrad.reference.nn" if engine.ENGINE == "python"
                                   else "tapegrad.nn")
