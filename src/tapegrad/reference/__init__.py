"""tapegrad's pure-Python reference engine.

The same API and semantics as the compiled engine (see ``tapegrad``), written
in plain Python: scalar ``Value`` nodes over the op table of
``tapegrad._ops``, and PyTorch-style ``Tensor``s over numpy arrays
(``_tensor.py``). A readable definition of what the compiled engine
computes, and a fallback where it is unavailable (``TAPEGRAD_PURE_PYTHON=1``).

``tapegrad.reference.nn``, ``.optim`` and ``.autograd`` are the
engine-agnostic layers (``tapegrad._nn`` etc.) built for this engine.
"""

from .._dtype import Size, bool_ as bool, dtype, get_default_dtype  # noqa: A004
from .._dtype import double, float, float32, float64, int64, long  # noqa: A004
from .._format import get_printoptions, set_printoptions
from .._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._functions import (
    abs, add, argmax, argmin, bmm, clamp, clamp_min, clone, div, dot, exp, flatten, is_floating_point,
    is_tensor, log, log_softmax, matmul, max, mean, min, mm, mul, mv, neg, numel, permute, pow,
    reciprocal, relu, reshape, sigmoid, softmax, sqrt, squeeze, sub, sum, t, tanh, transpose,
    unsqueeze)
from ._tensor import (
    Tensor, arange, as_tensor, empty, empty_like, from_numpy, full, full_like, manual_seed,
    ones, ones_like, rand, rand_like, randn, randn_like, tensor, zeros, zeros_like)
from ._grad_fn import AccumulateGrad, Node
from ._tensor_ops import (  # noqa: F401 - engine hooks for the shared nn/optim/autograd layers
    _addmm, _binary_cross_entropy, _grad, _mse_loss, _nll_loss, _run_backward)
from ._optim import _adam_update, _sgd_update  # noqa: F401 - engine hooks for optim
from ._value import ENGINE, Value, clear_tape, tape_stats
from ._replay import _GuardFailed, _flatten_args, _rebuild, _trace  # noqa: F401 - for _replay

__all__ = [
    "ENGINE", "Value", "clear_tape", "dot", "sum", "tape_stats",
    "Tensor", "Size", "dtype", "float32", "float64", "int64", "bool", "float", "double",
    "long", "get_default_dtype", "tensor", "as_tensor", "from_numpy", "zeros", "ones",
    "empty", "full", "randn", "rand", "arange", "zeros_like", "ones_like", "empty_like",
    "full_like", "rand_like", "randn_like", "manual_seed", "no_grad", "enable_grad",
    "is_grad_enabled", "set_grad_enabled", "set_printoptions", "get_printoptions",
    "exp", "log", "tanh", "relu", "sigmoid", "abs", "sqrt", "neg", "reciprocal", "clamp",
    "clamp_min", "softmax", "log_softmax", "matmul", "mm", "mv", "mean", "max", "min",
    "argmax", "argmin", "reshape", "flatten", "transpose", "t", "permute", "unsqueeze",
    "squeeze", "pow", "add", "sub", "mul", "div", "clone", "numel", "is_tensor",
    "is_floating_point", "Node", "AccumulateGrad", "nn", "optim", "autograd",
    "compile", "record", "Tape", "GuardFailure",
]

from . import autograd, nn, optim  # noqa: E402 - built from the names above
import sys as _sys  # noqa: E402

from .. import _replay  # noqa: E402

_replay_api = _replay.build(_sys.modules[__name__])
compile = _replay_api.compile  # noqa: A001 - torch.compile's name
record = _replay_api.record
Tape = _replay_api.Tape
GuardFailure = _replay.GuardFailure
