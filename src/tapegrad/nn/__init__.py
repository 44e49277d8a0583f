"""``tapegrad.nn``: the shared nn layer (``tapegrad._nn``) built for the active
engine (the compiled one, or the reference under ``TAPEGRAD_PURE_PYTHON=1``,
in which case these are the very classes of ``tapegrad.reference.nn``)."""

from .. import ENGINE as _ENGINE
from .. import _nn

if _ENGINE == "python":
    from .. import reference as _engine
else:
    from .. import _engine

_ns = _nn.build(_engine)

Parameter = _ns.Parameter
Module = _ns.Module
Linear = _ns.Linear
ReLU = _ns.ReLU
Tanh = _ns.Tanh
Sigmoid = _ns.Sigmoid
Softmax = _ns.Softmax
LogSoftmax = _ns.LogSoftmax
Identity = _ns.Identity
Flatten = _ns.Flatten
Sequential = _ns.Sequential
ModuleList = _ns.ModuleList
MSELoss = _ns.MSELoss
CrossEntropyLoss = _ns.CrossEntropyLoss
NLLLoss = _ns.NLLLoss
BCELoss = _ns.BCELoss

from . import functional  # noqa: E402

__all__ = ["Parameter", "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Softmax",
           "LogSoftmax", "Identity", "Flatten", "Sequential", "ModuleList", "MSELoss",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "functional"]
