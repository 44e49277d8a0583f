"""Transitional shims, deleted at integration:

* ``_tensor.pxi`` imports ``reduce_loss`` from here; it should import
  ``from .nn._reduction import reduce_loss`` instead;
* ``tapegrad.bench`` calls ``_nn.build(engine)``; it can use
  ``tapegrad.nn`` / ``tapegrad.reference.nn`` (or ``bind_class`` as here).
"""

import types
from typing import Any

from .nn._reduction import reduce_loss  # noqa: F401


def build(engine: Any) -> Any:
    """The nn serving ``engine``: tapegrad.reference.nn, tapegrad.nn for the active
    engine, else tapegrad.nn's modules bound to ``engine``."""
    from . import _api, _backend, nn
    from . import reference

    if engine.ENGINE == "python":
        return reference.nn
    if engine.ENGINE == _backend.default_engine().ENGINE:
        return nn
    return types.SimpleNamespace(functional=nn.functional, **{
        name: (_backend.bind_class(obj, engine, engine.__name__ + ".nn")
               if isinstance(obj, type) and issubclass(obj, nn.Module) else obj)
        for name, obj in ((n, getattr(nn, n)) for n in _api.NN)})
