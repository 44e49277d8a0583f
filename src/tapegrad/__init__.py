"""tapegrad: reverse-mode autodiff on a flat tape with a compiled C core.

``import tapegrad`` gives the compiled engine; set ``TAPEGRAD_PURE_PYTHON=1``
before the import to get the pure-Python reference engine instead.
``tapegrad.ENGINE`` says which one is active ("c" or "python"), and
``tapegrad.reference`` is always the pure-Python engine.

The public names are listed once, in ``tapegrad._api``: the engine's own
(``ENGINE_NAMES``, re-exported from the active engine) and the shared layers'
(grad mode, dtypes, replay, save/load, draw/explain, ``nn``/``optim``/``autograd``).
"""

from typing import TYPE_CHECKING

from . import _api, _backend

# `name as name` marks an explicit re-export (mypy --no-implicit-reexport, pyright);
# the names are listed in _api.
from ._version import __version__ as __version__
from ._dtype import (
    Size as Size, double as double, dtype as dtype, float as float, float32 as float32,
    float64 as float64, int64 as int64, long as long, int8 as int8, int16 as int16,
    int32 as int32, uint8 as uint8, short as short,
)
from ._dtype import bool_ as bool  # noqa: F401 - tapegrad.bool (listed in _api.DTYPES)
from ._dtype import int32 as int  # noqa: F401 - tapegrad.int (listed in _api.DTYPES)
from . import reference as reference

if TYPE_CHECKING:   # what the re-export below gives, for mypy and IDEs (== _api.ENGINE_NAMES)
    from ._engine import (
        ENGINE as ENGINE, Value as Value, clear_tape as clear_tape, dot as dot, sum as sum,
        tape_stats as tape_stats, Tensor as Tensor, tensor as tensor, zeros as zeros, ones as ones,
        full as full, empty as empty, randn as randn, rand as rand, arange as arange,
        from_numpy as from_numpy, zeros_like as zeros_like, ones_like as ones_like,
        manual_seed as manual_seed, is_tensor as is_tensor, get_default_dtype as get_default_dtype,
        as_tensor as as_tensor, empty_like as empty_like, full_like as full_like,
        rand_like as rand_like, randn_like as randn_like, exp as exp, log as log, tanh as tanh,
        relu as relu, sigmoid as sigmoid, abs as abs, sqrt as sqrt, neg as neg,
        reciprocal as reciprocal, clamp as clamp, clamp_min as clamp_min, softmax as softmax,
        log_softmax as log_softmax, matmul as matmul, mm as mm, mv as mv, bmm as bmm,
        mean as mean, max as max, min as min, argmax as argmax, argmin as argmin,
        reshape as reshape, flatten as flatten,
        transpose as transpose, t as t, permute as permute, unsqueeze as unsqueeze,
        squeeze as squeeze, pow as pow, add as add, sub as sub, mul as mul, div as div,
        clone as clone, numel as numel, is_floating_point as is_floating_point,
        set_printoptions as set_printoptions, get_printoptions as get_printoptions,
        set_flush_denormal as set_flush_denormal, index_select as index_select,
        gather as gather, take_along_dim as take_along_dim, masked_select as masked_select,
        masked_fill as masked_fill, where as where, nonzero as nonzero,
        sin as sin, cos as cos, tan as tan, log10 as log10, log2 as log2, log1p as log1p,
        expm1 as expm1, rsqrt as rsqrt, sign as sign, floor as floor, ceil as ceil,
        square as square, round as round, maximum as maximum, minimum as minimum, var as var,
        std as std, norm as norm, logsumexp as logsumexp, prod as prod, cumsum as cumsum,
        all as all, any as any, isclose as isclose, allclose as allclose, sort as sort,
        argsort as argsort, topk as topk, split as split, chunk as chunk, unbind as unbind,
        flip as flip, roll as roll, cat as cat, concat as concat, concatenate as concatenate,
        stack as stack, einsum as einsum, linspace as linspace, logspace as logspace, eye as eye,
        device as device, cuda as cuda, set_default_device as set_default_device,
        set_default_dtype as set_default_dtype, FloatTensor as FloatTensor,
        DoubleTensor as DoubleTensor, LongTensor as LongTensor, BoolTensor as BoolTensor,
        IntTensor as IntTensor, ByteTensor as ByteTensor,
        Generator as Generator, default_generator as default_generator, seed as seed,
        initial_seed as initial_seed, get_rng_state as get_rng_state,
        set_rng_state as set_rng_state, randint as randint, randperm as randperm,
        multinomial as multinomial, normal as normal, bernoulli as bernoulli,
        randint_like as randint_like, erf as erf,
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

from .autograd.grad_mode import (
    enable_grad as enable_grad, is_grad_enabled as is_grad_enabled, no_grad as no_grad,
    set_grad_enabled as set_grad_enabled, inference_mode as inference_mode,
    is_inference_mode_enabled as is_inference_mode_enabled,
)
from . import autograd as autograd, nn as nn, optim as optim, utils as utils
from ._replay import (  # compile: torch.compile's name
    GuardFailure as GuardFailure, Tape as Tape, compile as compile, record as record,
)
from .serialization import load as load, save as save
from ._draw import draw as draw
from ._explain import explain as explain

__all__ = list(_api.PUBLIC)
