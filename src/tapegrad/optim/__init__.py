"""``tapegrad.optim``: ``SGD`` and ``Adam``, one source for both engines.

Each optimizer finds its engine through the parameters it updates; the
per-parameter arithmetic runs in the engine's ``_sgd_update`` /
``_adam_update`` hooks (see ``tapegrad._contract.Engine`` for their contract),
so the compiled engine does it in C.
"""

# ruff: noqa: F401 - the names are re-exported; the list is tapegrad._api

from .. import _api
from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = list(_api.OPTIM)
