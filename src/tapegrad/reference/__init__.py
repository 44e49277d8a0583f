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
from .._version import __version__ as __version__
from .._dtype import (
    Size as Size, bool_ as bool, dtype as dtype, get_default_dtype as get_default_dtype,
)
from .._dtype import (
    double as double, float as float, float32 as float32, float64 as float64, int64 as int64,
    long as long, int8 as int8, int16 as int16, int32 as int32, uint8 as uint8, short as short,
)
from .._dtype import int32 as int  # tapegrad.reference.int, as torch.int
from .._format import get_printoptions as get_printoptions, set_printoptions as set_printoptions
from .._grad_mode import _grad_off, _set_grad_off
from ..autograd.grad_mode import (
    enable_grad as enable_grad, is_grad_enabled as is_grad_enabled, no_grad as no_grad,
    set_grad_enabled as set_grad_enabled, inference_mode as inference_mode,
    is_inference_mode_enabled as is_inference_mode_enabled,
)
from ._functions import (
    abs as abs, add as add, argmax as argmax, argmin as argmin, bmm as bmm, clamp as clamp,
    clamp_min as clamp_min, clone as clone, div as div, dot as dot, exp as exp, flatten as flatten,
    is_floating_point as is_floating_point, is_tensor as is_tensor, log as log,
    log_softmax as log_softmax, matmul as matmul, max as max, mean as mean, min as min, mm as mm,
    mul as mul, mv as mv, neg as neg, numel as numel, permute as permute, pow as pow,
    reciprocal as reciprocal, relu as relu, reshape as reshape, sigmoid as sigmoid,
    softmax as softmax, sqrt as sqrt, squeeze as squeeze, sub as sub, sum as sum, t as t,
    tanh as tanh, transpose as transpose, unsqueeze as unsqueeze,
)
from ._tensor import (
    Tensor as Tensor, arange as arange, as_tensor as as_tensor, empty as empty,
    empty_like as empty_like, from_numpy as from_numpy, full as full, full_like as full_like,
    manual_seed as manual_seed, ones as ones, ones_like as ones_like, rand as rand,
    rand_like as rand_like, randn as randn, randn_like as randn_like, tensor as tensor,
    zeros as zeros, zeros_like as zeros_like,
    Generator as Generator, default_generator as default_generator, seed as seed,
    initial_seed as initial_seed, get_rng_state as get_rng_state,
    set_rng_state as set_rng_state, randint as randint, randperm as randperm,
    multinomial as multinomial, normal as normal, bernoulli as bernoulli,
    randint_like as randint_like,
)
from ._grad_fn import AccumulateGrad as AccumulateGrad, Node as Node
from ._tensor_index import (  # indexing functions (and the engine hooks of nn)
    _embedding, _one_hot, gather as gather, index_select as index_select,
    masked_fill as masked_fill, masked_select as masked_select, nonzero as nonzero,
    take_along_dim as take_along_dim, where as where)
from ._tensor_ops import (  # engine hooks for the layers
    _addmm, _binary_cross_entropy, _grad, _mse_loss, _nll_loss, _run_backward)
from ._optim import (  # engine hooks for optim
    _adagrad_update, _adam_update, _rmsprop_update, _sgd_update)
from ._higher import (  # create_graph=True
    _free_graph, _graph_handle, _graph_nodes, _refreeze_graph, _set_graph_grad, _thaw_graph)
from ._tensor_act import (  # issue 12: activations, losses, pad (hooks of nn)
    _activation, _bce_with_logits, _constant_pad, _pointwise_loss, erf as erf)
from ._function import (  # autograd.Function
    _function_record, _function_refuse_replay, _tensor_version)
from ._value import (
    ENGINE as ENGINE, Value as Value, clear_tape as clear_tape,
    set_flush_denormal as set_flush_denormal, tape_stats as tape_stats,
)
from ._replay import _GuardFailed, _flatten_args, _rebuild, _trace
from . import _tensor_more  # binds issue 11 item 5's Tensor methods
from .. import _functions_more as _FM

globals().update(_FM.functions(_sys.modules[__name__]))     # issue 11 item 5's functions

__all__ = list(_api.PUBLIC) + ["bool", "Node", "AccumulateGrad"]
__all__.remove("reference")

_backend._register(_sys.modules[__name__])

from .. import autograd as autograd, optim as optim, utils as utils, _replay  # noqa: E402
from ..serialization import load as load, save as save  # noqa: E402
from .._draw import draw as draw  # noqa: E402
from .._explain import explain as explain  # noqa: E402
from . import nn as nn  # noqa: E402 - the shared nn bound to this engine

_sys.modules[__name__ + ".optim"] = optim          # the shared modules
_sys.modules[__name__ + ".autograd"] = autograd
_sys.modules[__name__ + ".utils"] = utils
_sys.modules[__name__ + ".utils.data"] = utils.data

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

_backend.engine_imported()     # grad mode switches this engine too from now on
