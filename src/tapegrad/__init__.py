"""tapegrad: reverse-mode autodiff on a flat tape with a compiled C core.

``import tapegrad`` gives the compiled engine; set ``TAPEGRAD_PURE_PYTHON=1``
before the import to get the pure-Python reference engine instead.
``tapegrad.ENGINE`` says which one is active ("c" or "python"), and
``tapegrad.reference`` is always the pure-Python engine.
"""

import os as _os

from ._version import __version__
from ._dtype import Size, double, dtype, float, float32, float64, int64, long  # noqa: A004
from . import reference

if _os.environ.get("TAPEGRAD_PURE_PYTHON", "") not in ("", "0"):
    _active = reference
else:
    # A missing or broken extension is an ImportError here, never a silent fallback.
    from . import _engine as _active

# The API both engines provide, re-exported from the active one.
_ENGINE_API = (
    # scalars, micrograd style
    "ENGINE", "Value", "clear_tape", "dot", "sum", "tape_stats",
    # tensors, PyTorch style
    "Tensor", "tensor", "zeros", "ones", "full", "empty", "randn", "rand", "arange",
    "from_numpy", "zeros_like", "ones_like", "manual_seed", "is_tensor",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "get_default_dtype",
    "as_tensor", "empty_like", "full_like", "rand_like", "randn_like",
    "exp", "log", "tanh", "relu", "sigmoid", "abs", "sqrt", "neg", "reciprocal", "clamp",
    "clamp_min", "softmax", "log_softmax", "matmul", "mm", "mv", "mean", "max", "min",
    "argmax", "argmin", "reshape", "flatten", "transpose", "t", "permute", "unsqueeze",
    "squeeze", "pow", "add", "sub", "mul", "div", "clone", "numel", "is_floating_point",
    "set_printoptions", "get_printoptions",
)
for _name in _ENGINE_API:
    globals()[_name] = getattr(_active, _name)
del _name

__all__ = list(_ENGINE_API) + [
    "Size", "double", "dtype", "float", "float32", "float64", "int64", "long", "reference",
    "nn", "optim", "autograd", "__version__",
]

from . import autograd, nn, optim  # noqa: E402 - built for the active engine
from . import _replay  # noqa: E402

_replay_api = _replay.build(_active)
compile = _replay_api.compile  # noqa: A001 - torch.compile's name
record = _replay_api.record
Tape = _replay_api.Tape
GuardFailure = _replay.GuardFailure
__all__ += ["compile", "record", "Tape", "GuardFailure"]
