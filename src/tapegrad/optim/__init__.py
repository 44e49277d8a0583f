"""``tapegrad.optim``: ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad`` and
``lr_scheduler``, one source for both engines.

Each optimizer finds its engine through the parameters it updates; the
per-parameter arithmetic runs in the engine's ``_*_update`` hooks (see
``tapegrad._contract.Engine`` for their contract), so the compiled engine does it in C.
"""

# `name as name`: an explicit re-export (mypy --no-implicit-reexport); the list is
# tapegrad._api.OPTIM
from .. import _api
from . import lr_scheduler as lr_scheduler
from .adagrad import Adagrad as Adagrad
from .adam import Adam as Adam
from .adamw import AdamW as AdamW
from .optimizer import Optimizer as Optimizer
from .rmsprop import RMSprop as RMSprop
from .sgd import SGD as SGD

__all__ = list(_api.OPTIM)
