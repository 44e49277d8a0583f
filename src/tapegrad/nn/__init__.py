"""``tapegrad.nn``: modules, parameters and losses, one source for both engines.

Classes live in ``parameter.py``, ``modules.py`` and ``loss.py``; the
functional forms in ``functional.py``. They serve whichever engine the tensors
they receive belong to; layers that create tensors (``Linear``) use the active
engine (``tapegrad.ENGINE``), and ``tapegrad.reference.nn`` gives the same
classes bound to the reference engine.
"""

# ruff: noqa: F401 - the names are re-exported; the list is _api.NN
from .. import _api
from . import functional
from .loss import BCELoss, CrossEntropyLoss, MSELoss, NLLLoss
from .modules import (Flatten, Identity, Linear, LogSoftmax, Module, ModuleList, ReLU,
                      Sequential, Sigmoid, Softmax, Tanh)
from .parameter import Parameter

__all__ = list(_api.NN) + ["functional"]
