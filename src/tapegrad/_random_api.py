"""torch's random functions for an engine, written once over ``_random``'s streams.

:func:`make` builds ``rand``, ``randn``, ``randint``, ``randperm``, ``multinomial``,
``normal``, ``bernoulli``, the ``*_like`` forms and the seeding functions for an engine,
given its ``tensor`` constructor; :func:`fill_values` gives the values of the in-place
fills (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``), which
the engines write into a tensor as a no-grad fill.
"""

from __future__ import annotations

import operator
from types import SimpleNamespace
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import _dtype, _random
from ._random import Generator, default_generator, generator as _gen


def _size(size: Sequence[Any], size_kw: Any, what: str) -> Tuple[int, ...]:
    from .reference._tensor import _size_args       # the engines' one size check
    if size_kw is not None:
        if size:
            raise TypeError(f"{what}() got multiple values for argument 'size'")
        size = (size_kw,)
    shape = _size_args(tuple(size))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(shape)}: {list(shape)}")
    return shape


def _dtype_arg(dtype: Any, default: Any) -> Any:
    from .reference._tensor import _as_dtype        # the engines' one dtype check
    return default if dtype is None else _as_dtype(dtype)


def _float_dtype(dtype: Any, what: str) -> Any:
    dt = _dtype_arg(dtype, _dtype.get_default_dtype())
    if not dt.is_floating_point:
        raise RuntimeError(f"\"{what}\" not implemented for '{_type_name(dt)}'")
    return dt


def _type_name(dt: Any) -> str:
    return {"int64": "Long", "float32": "Float", "float64": "Double", "bool": "Bool",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte"}.get(dt.name,
                                                                                 dt.name)


def _numpy_of(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _numel(shape: Tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _check_std(std: float) -> None:
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")


def _check_unit(p: float, what: str) -> None:
    if not 0 <= p <= 1:
        raise RuntimeError(f"{what} expects p to be in [0, 1], but got p={p}")


def normal_values(shape: Tuple[int, ...], np_dtype: Any, mean: float, std: float,
                  gen: Any, contiguous: bool = True) -> np.ndarray:
    _check_std(std)
    return _random.normal(_gen(gen), _numel(shape), np_dtype, mean, std,
                          contiguous).reshape(shape)


def fill_values(kind: str, arr: np.ndarray, args: Tuple[Any, ...],
                gen: Any = None) -> np.ndarray:
    """The values torch's in-place fill ``kind`` writes into a tensor whose data is ``arr``
    (its shape, dtype and contiguity decide the path), drawn from ``gen``."""
    g, n, dt = _gen(gen), arr.size, arr.dtype
    if kind == "uniform_":
        low, high = (float(a) for a in args)
        if not low <= high:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={low} > to={high}")
        vals = _random.uniform(g, n, dt, low, high)
    elif kind == "normal_":
        _check_std(float(args[1]))
        vals = _random.normal(g, n, dt, float(args[0]), float(args[1]),
                              arr.flags.c_contiguous)
    elif kind == "bernoulli_":
        p = args[0]
        if hasattr(p, "detach"):
            probs = np.broadcast_to(_numpy_of(p), arr.shape)
            return _random.bernoulli_tensor(g, np.ascontiguousarray(probs), dt)
        _check_unit(float(p), "bernoulli_")
        vals = _random.bernoulli_scalar(g, n, float(p), dt)
    elif kind == "exponential_":
        lambd = float(args[0])
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        vals = _random.exponential(g, n, dt, lambd)
    elif kind == "random_":
        low, high = args
        if high is None and low == 0:
            vals = _random.random_full(g, n, dt)
        else:
            if high is None:
                low, high = 0, low
            if not low < high:
                raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                                   f"from={low} >= to={high}")
            vals = _random.random_from_to(g, n, int(low), int(high), dt)
    else:
        raise ValueError(kind)
    return vals.reshape(arr.shape)


def make(tensor: Callable[..., Any], note: Callable[[str], Any] = lambda name: None
         ) -> SimpleNamespace:
    """The random functions of an engine whose constructor is ``tensor``; ``note(name)``
    is called before each draw (the compiled engine warns while recording a replay)."""

    def wrap(values: np.ndarray, dtype: Any, requires_grad: bool) -> Any:
        return tensor(values, dtype=dtype, requires_grad=requires_grad)

    def rand(*size: Any, generator: Optional[Generator] = None, dtype: Any = None,
             requires_grad: bool = False, device: Any = None, **kw: Any) -> Any:
        note("rand")
        shape = _size(size, kw.pop("size", None), "rand")
        dt = _float_dtype(dtype, "check_uniform_bounds")
        vals = _random.uniform(_gen(generator), _numel(shape), dt.numpy)
        return wrap(vals.reshape(shape), dt, requires_grad)

    def randn(*size: Any, generator: Optional[Generator] = None, dtype: Any = None,
              requires_grad: bool = False, device: Any = None, **kw: Any) -> Any:
        note("randn")
        shape = _size(size, kw.pop("size", None), "randn")
        dt = _float_dtype(dtype, "normal_kernel_cpu")
        return wrap(normal_values(shape, dt.numpy, 0.0, 1.0, generator), dt, requires_grad)

    def randint(*args: Any, generator: Optional[Generator] = None, dtype: Any = None,
                requires_grad: bool = False, device: Any = None, **kw: Any) -> Any:
        note("randint")
        low, high, shape = _randint_args(args, kw)
        dt = _dtype_arg(dtype, _dtype.int64)
        if not low < high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={high}")
        vals = _random.random_from_to(_gen(generator), _numel(shape), low, high, dt.numpy)
        return wrap(vals.reshape(shape), dt, requires_grad)

    def randperm(n: int, *, generator: Optional[Generator] = None, dtype: Any = None,
                 requires_grad: bool = False, device: Any = None) -> Any:
        note("randperm")
        n = operator.index(n)
        if n < 0:
            raise RuntimeError(f"n must be non-negative, got{n}")
        dt = _dtype_arg(dtype, _dtype.int64)
        return wrap(_random.randperm(_gen(generator), int(n)).astype(dt.numpy), dt,
                    requires_grad)

    def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                    generator: Optional[Generator] = None) -> Any:
        note("multinomial")
        probs = _numpy_of(input)
        _check_multinomial(probs, num_samples, replacement)
        out = _random.multinomial(_gen(generator), probs, int(num_samples), replacement)
        return wrap(out, _dtype.int64, False)

    def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *,
               generator: Optional[Generator] = None, dtype: Any = None,
               requires_grad: bool = False, device: Any = None) -> Any:
        note("normal")
        mean_t, std_t = hasattr(mean, "detach"), hasattr(std, "detach")
        if not mean_t and not std_t:
            if size is None:
                raise TypeError("normal() received an invalid combination of arguments: "
                                "with float mean and std, give size")
            dt = _float_dtype(dtype, "normal_kernel_cpu")
            from .reference._tensor import _size_args
            vals = normal_values(_size_args((size,)), dt.numpy, float(mean), float(std),
                                 generator)
            return wrap(vals, dt, requires_grad)
        return wrap(*_normal_tensors(mean, std, mean_t, std_t, generator), False)

    def bernoulli(input: Any, p: Any = None, *, generator: Optional[Generator] = None) -> Any:
        note("bernoulli")
        probs = _numpy_of(input)
        if p is None:
            if probs.size and (probs.min() < 0 or probs.max() > 1):
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
            vals = _random.bernoulli_tensor(_gen(generator), probs, probs.dtype)
        else:
            _check_unit(float(p), "bernoulli_")
            vals = _random.bernoulli_scalar(_gen(generator), probs.size, float(p),
                                            probs.dtype).reshape(probs.shape)
        return wrap(vals, input.dtype, False)

    def rand_like(input: Any, *, dtype: Any = None, requires_grad: bool = False,
                  generator: Optional[Generator] = None, **kw: Any) -> Any:
        return rand(*input.shape, dtype=input.dtype if dtype is None else dtype,
                    requires_grad=requires_grad, generator=generator)

    def randn_like(input: Any, *, dtype: Any = None, requires_grad: bool = False,
                   generator: Optional[Generator] = None, **kw: Any) -> Any:
        return randn(*input.shape, dtype=input.dtype if dtype is None else dtype,
                     requires_grad=requires_grad, generator=generator)

    def randint_like(input: Any, low: int = 0, high: Optional[int] = None, *,
                     dtype: Any = None, requires_grad: bool = False,
                     generator: Optional[Generator] = None, **kw: Any) -> Any:
        if high is None:
            low, high = 0, low
        return randint(low, high, tuple(input.shape),
                       dtype=input.dtype if dtype is None else dtype,
                       requires_grad=requires_grad, generator=generator)

    def manual_seed(seed: Any) -> Generator:
        """Seed the default generator, as torch.manual_seed (returns it)."""
        return default_generator.manual_seed(_random._as_seed(seed, strict=False))

    def seed() -> int:
        return default_generator.seed()

    def initial_seed() -> int:
        return default_generator.initial_seed()

    def get_rng_state() -> Any:
        return _random.state_tensor(_engine_of(tensor), default_generator._state_bytes())

    def set_rng_state(new_state: Any) -> None:
        default_generator.set_state(new_state)

    return SimpleNamespace(**{k: v for k, v in locals().items() if callable(v)
                              and k not in ("wrap", "tensor", "note")})


def _engine_of(tensor: Callable[..., Any]) -> Any:
    import sys
    return sys.modules[tensor.__module__]


def _randint_args(args: Tuple[Any, ...], kw: dict) -> Tuple[int, int, Tuple[int, ...]]:
    """randint(high, size) / randint(low, high, size), any of them as keywords."""
    names = ("low", "high", "size")
    if len(args) > 3:
        raise TypeError(f"randint() takes at most 3 positional arguments ({len(args)} given)")
    if "high" in kw:                        # randint(low, high=, size=)
        slots = names[:len(args)]
    elif "size" in kw:                      # randint(high, size=) / randint(low, high, size=)
        slots = ("high",) if len(args) == 1 else names[:len(args)]
    else:
        slots = names[3 - len(args):]
    given = dict(zip(slots, args))
    for k in list(kw):
        if k not in names:
            raise TypeError(f"randint() got an unexpected keyword argument '{k}'")
        if k in given:
            raise TypeError(f"randint() got multiple values for argument '{k}'")
        given[k] = kw.pop(k)
    if "high" not in given or "size" not in given:
        raise TypeError("randint() missing required arguments: give (high, size) or "
                        "(low, high, size)")
    if not isinstance(given["size"], (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(given['size']).__name__}")
    from .reference._tensor import _size_args
    return (operator.index(given.get("low", 0)), operator.index(given["high"]),
            _size_args((given["size"],)))


def _check_multinomial(probs: np.ndarray, num_samples: int, replacement: bool) -> None:
    if probs.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_type_name(_dtype.from_numpy_dtype(probs.dtype))}")
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (probs.reshape(-1, probs.shape[-1]).sum(-1) == 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def _normal_tensors(mean: Any, std: Any, mean_t: bool, std_t: bool,
                    gen: Any) -> Tuple[np.ndarray, Any]:
    """torch.normal with a tensor mean and/or std (normal_out_impl): standard normals of
    the broadcast shape, then * std, then + mean, in the tensors' type."""
    m = _numpy_of(mean) if mean_t else None
    s = _numpy_of(std) if std_t else None
    if s is not None and s.size and (s < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    dt = (mean if mean_t else std).dtype
    if m is not None and s is not None:
        shape = np.broadcast_shapes(m.shape, s.shape)
        out = normal_values(shape, dt.numpy, 0.0, 1.0, gen) * s + m
    elif m is not None:
        _check_std(float(std))
        out = normal_values(m.shape, dt.numpy, 0.0, float(std), gen) + m
    else:
        assert s is not None
        out = normal_values(s.shape, dt.numpy, 0.0, 1.0, gen) * s + dt.numpy.type(mean)
    return out.astype(dt.numpy, copy=False), dt


__all__ = ["make", "fill_values", "normal_values"]
