"""``tapegrad.optim``: SGD and Adam (``tapegrad._optim``) for the active engine."""

from . import ENGINE as _ENGINE
from . import _optim

if _ENGINE == "python":
    from . import reference as _engine
else:
    from . import _engine

_ns = _optim.build(_engine)

Optimizer = _ns.Optimizer
SGD = _ns.SGD
Adam = _ns.Adam

__all__ = ["Optimizer", "SGD", "Adam"]
