"""tapegrad: reverse-mode autodiff on a flat tape with a compiled C core.

``import tapegrad`` gives the compiled engine; set ``TAPEGRAD_PURE_PYTHON=1``
before the import to get the pure-Python reference engine instead.
``tapegrad.ENGINE`` says which one is active ("c" or "python"), and
``tapegrad.reference`` is always the pure-Python engine.

The public names are listed once, in ``tapegrad._api``: the engine's own
(``ENGINE_NAMES``, re-exported from the active engine) and the shared layers'
(grad mode, dtypes, replay, save/load, ``nn``/``optim``/``autograd``).
"""

from typing import TYPE_CHECKING

from . import _api, _backend
from ._version import __version__  # noqa: F401 - the re-exports are listed in _api
from ._dtype import Size, double, dtype, float, float32, float64, int64, long  # noqa: F401
from . import reference

if TYPE_CHECKING:   # what the re-export below gives, for mypy and IDEs (== _api.ENGINE_NAMES)
    from ._engine import (  # noqa: F401
    ENGINE, Value, clear_tape, dot, sum, tape_stats, Tensor, tensor, zeros, ones, full,
    empty, randn, rand, arange, from_numpy, zeros_like, ones_like, manual_seed, is_tensor,
    get_default_dtype, as_tensor, empty_like, full_like, rand_like, randn_like, exp, log,
    tanh, relu, sigmoid, abs, sqrt, neg, reciprocal, clamp, clamp_min, softmax, log_softmax,
    matmul, mm, mv, mean, max, min, argmax, argmin, reshape, flatten, transpose, t, permute,
    unsqueeze, squeeze, pow, add, sub, mul, div, clone, numel, is_floating_point,
    set_printoptions, get_printoptions,
    )
else:
    # A missing or broken extension is an ImportError here, never a silent fallback.
    if _backend._pure_python():
        _active = reference
    else:
        from . import _engine as _active
    _backend.default_engine()        # registers it (its tensors' engine, pickling)
    for _name in _api.ENGINE_NAMES:
        globals()[_name] = getattr(_active, _name)
    del _name

from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from . import autograd, nn, optim  # noqa: F401
from ._replay import GuardFailure, Tape, compile, record  # noqa: F401 - torch.compile's name
from .serialization import load, save  # noqa: F401

__all__ = list(_api.PUBLIC)
