"""``tapegrad.reference.optim``: SGD and Adam (``tapegrad._optim``) for the reference engine."""

from .. import _optim
from .. import reference as _engine

_ns = _optim.build(_engine)

Optimizer = _ns.Optimizer
SGD = _ns.SGD
Adam = _ns.Adam

__all__ = ["Optimizer", "SGD", "Adam"]
