"""``tapegrad.autograd``: Variable, grad and backward for the active engine."""

from . import ENGINE as _ENGINE
from . import _autograd

if _ENGINE == "python":
    from . import reference as _engine
else:
    from . import _engine

_ns = _autograd.build(_engine)

Variable = _ns.Variable
grad = _ns.grad
backward = _ns.backward
no_grad = _ns.no_grad
enable_grad = _ns.enable_grad
set_grad_enabled = _ns.set_grad_enabled

__all__ = ["Variable", "grad", "backward", "no_grad", "enable_grad", "set_grad_enabled"]
