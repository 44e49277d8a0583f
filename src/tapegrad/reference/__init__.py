"""tapegrad's pure-Python reference engine.

The same API and semantics as the compiled engine (see ``tapegrad``), written
in plain Python: scalar ``Value`` nodes over the op table of
``tapegrad._ops``, and PyTorch-style ``Tensor``s over numpy arrays
(``_tensor.py``). A readable definition of what the compiled engine
computes, and a fallback where it is unavailable (``TAPEGRAD_PURE_PYTHON=1``).

``tapegrad.reference.optim``, ``.autograd`` and ``.nn.functional`` are the
shared modules (they serve the engine of the tensors they are given);
``tapegrad.reference.nn``'s modules and ``tapegrad.reference.Tape`` /
``compile`` / ``record`` are the shared classes bound to this engine.
"""

# ruff: noqa: F401 - the names are re-exported; the list is tapegrad._api

import sys as _sys

from .. import _api, _backend
from .._version import __version__
from .._dtype import Size, bool_ as bool, dtype, get_default_dtype
from .._dtype import double, float, float32, float64, int64, long
from .._format import get_printoptions, set_printoptions
from .._grad_mode import _grad_off, _set_grad_off
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._functions import (
    abs, add, argmax, argmin, bmm, clamp, clamp_min, clone, div, dot, exp, flatten,
    is_floating_point, is_tensor, log, log_softmax, matmul, max, mean, min, mm, mul, mv, neg,
    numel, permute, pow, reciprocal, relu, reshape, sigmoid, softmax, sqrt, squeeze, sub, sum,
    t, tanh, transpose, unsqueeze)
from ._tensor import (
    Tensor, arange, as_tensor, empty, empty_like, from_numpy, full, full_like, manual_seed,
    ones, ones_like, rand, rand_like, randn, randn_like, tensor, zeros, zeros_like)
from ._grad_fn import AccumulateGrad, Node
from ._tensor_ops import (  # engine hooks for the layers
    _addmm, _binary_cross_entropy, _grad, _mse_loss, _nll_loss, _run_backward)
from ._optim import _adam_update, _sgd_update  # engine hooks for optim
from ._value import ENGINE, Value, clear_tape, tape_stats
from ._replay import _GuardFailed, _flatten_args, _rebuild, _trace

__all__ = list(_api.PUBLIC) + ["bool", "Node", "AccumulateGrad"]
__all__.remove("reference")

_backend._register(_sys.modules[__name__])

from .. import autograd, optim, _replay  # noqa: E402
from ..serialization import load, save  # noqa: E402
from . import nn  # noqa: E402 - the shared nn bound to this engine

_sys.modules[__name__ + ".optim"] = optim          # the shared modules
_sys.modules[__name__ + ".autograd"] = autograd

GuardFailure = _replay.GuardFailure
if _backend._DEFAULT == ENGINE:      # the active engine: tapegrad's own objects
    Tape, CompiledStep = _replay.Tape, _replay.CompiledStep
    compile, record = _replay.compile, _replay.record
else:
    Tape = _backend.bind_class(_replay.Tape, _sys.modules[__name__], __name__)
    CompiledStep = _backend.bind_class(_replay.CompiledStep, _sys.modules[__name__], __name__)

    def record(fn, *example_args, on_guard_failure="rerecord"):
        """``tapegrad.record`` on this engine: run ``fn(*example_args)`` once, recording
        its graph; returns a Tape."""
        return Tape(fn, example_args, on_guard_failure)

    def compile(fn=None, *, on_guard_failure="rerecord"):
        """``tapegrad.compile`` on this engine; usable as ``@tapegrad.reference.compile``."""
        if fn is None:
            return lambda f: CompiledStep(f, on_guard_failure)
        return CompiledStep(fn, on_guard_failure)
