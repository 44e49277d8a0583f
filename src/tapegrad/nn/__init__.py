"""``tapegrad.nn``: modules, parameters and losses, one source for both engines.

Classes live in ``parameter.py``, ``modules.py`` and ``loss.py``; the
functional forms in ``functional.py``. They serve whichever engine the tensors
they receive belong to; layers that create tensors (``Linear``) use the active
engine (``tapegrad.ENGINE``), and ``tapegrad.reference.nn`` gives the same
classes bound to the reference engine.
"""

# `name as name`: an explicit re-export (mypy --no-implicit-reexport); the list is _api.NN
from .. import _api
from . import functional as functional, init as init
from .activation import (
    ELU as ELU, GELU as GELU, LeakyReLU as LeakyReLU, SiLU as SiLU, Softplus as Softplus,
)
from .loss import (
    BCELoss as BCELoss, BCEWithLogitsLoss as BCEWithLogitsLoss,
    CrossEntropyLoss as CrossEntropyLoss, HuberLoss as HuberLoss, L1Loss as L1Loss,
    MSELoss as MSELoss, NLLLoss as NLLLoss, SmoothL1Loss as SmoothL1Loss,
)
from .modules import (
    Dropout as Dropout, Flatten as Flatten, Identity as Identity, Linear as Linear,
    LogSoftmax as LogSoftmax, Module as Module, ReLU as ReLU,
    Sigmoid as Sigmoid, Softmax as Softmax, Tanh as Tanh, Unflatten as Unflatten,
)
from .container import (
    ModuleDict as ModuleDict, ModuleList as ModuleList, ParameterDict as ParameterDict,
    ParameterList as ParameterList, Sequential as Sequential,
)
from .normalization import BatchNorm1d as BatchNorm1d, LayerNorm as LayerNorm
from .parameter import Parameter as Parameter
from .rnn import (
    GRU as GRU, GRUCell as GRUCell, LSTM as LSTM, LSTMCell as LSTMCell, RNN as RNN,
    RNNBase as RNNBase, RNNCell as RNNCell, RNNCellBase as RNNCellBase,
)
from .sparse import Embedding as Embedding
from . import utils as utils

__all__ = list(_api.NN) + ["functional"]   # and utils (nn.utils), a subpackage
