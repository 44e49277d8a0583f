"""``tapegrad.optim``: ``SGD`` and ``Adam``, one source for both engines.

Each optimizer finds its engine through the parameters it updates; the
per-parameter arithmetic runs in the engine's ``_sgd_update`` /
``_adam_update`` hooks (see ``tapegrad._contract.Engine`` for their contract),
so the compiled engine does it in C.
"""

# `name as name`: an explicit re-export (mypy --no-implicit-reexport); the list is
# tapegrad._api.OPTIM
from .. import _api
from .adam import Adam as Adam
from .optimizer import Optimizer as Optimizer
from .sgd import SGD as SGD

__all__ = list(_api.OPTIM)
