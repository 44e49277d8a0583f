"""dtypes and Size, shared by both engines (tapegrad.float32 is one object).

Also torch's type-promotion rules (``result_type``), so that both engines pick
the same result dtype for mixed operands.
"""

from __future__ import annotations

import builtins
import numbers
from typing import Any, Iterable, List, Optional, SupportsIndex, Tuple, Union, overload

import numpy as np


class DtypeError(RuntimeError, TypeError):
    """A wrong dtype: torch raises RuntimeError, tapegrad's design asks for a TypeError;
    this is both. Raised by both engines (one class, so they raise the same type)."""


class NoTensorError(RuntimeError, TypeError):
    """Data that cannot become a tensor (torch: RuntimeError; also a TypeError)."""


class NoKernelError(NotImplementedError, DtypeError):
    """An op torch has no kernel for in this dtype (softmax of an int tensor, the
    product of bool tensors): torch's NotImplementedError ``"softmax_kernel_impl" not
    implemented for 'Long'``; also the DtypeError (RuntimeError, TypeError) of both engines."""


def no_kernel(kernel: str, dt: "dtype") -> NoKernelError:
    """torch's NotImplementedError for a kernel it lacks in dtype dt, with the fix."""
    return NoKernelError(f'"{kernel}" not implemented for \'{SCALAR_TYPE_NAMES[dt.name]}\' '
                         f"(tapegrad: convert with .float() or .double())")


for _cls in (DtypeError, NoTensorError):   # tracebacks read "RuntimeError: ...", as torch's
    _cls.__module__ = "builtins"
    _cls.__qualname__ = "RuntimeError"
NoKernelError.__module__ = "builtins"
NoKernelError.__qualname__ = "NotImplementedError"


class dtype:
    """A tensor element type, like torch.dtype."""

    __slots__ = ("name", "numpy", "is_floating_point", "itemsize")

    def __init__(self, name: str, numpy_type: Any, is_floating_point: builtins.bool) -> None:
        self.name = name
        self.numpy = np.dtype(numpy_type)
        self.is_floating_point = is_floating_point
        self.itemsize = self.numpy.itemsize

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        return (_by_name, (self.name,))


float32 = dtype("float32", np.float32, True)
float64 = dtype("float64", np.float64, True)
int64 = dtype("int64", np.int64, False)
bool_ = dtype("bool", np.bool_, False)   # comparison results; exported as ``bool``
int8 = dtype("int8", np.int8, False)
int16 = dtype("int16", np.int16, False)
int32 = dtype("int32", np.int32, False)   # exported as ``int`` too
uint8 = dtype("uint8", np.uint8, False)
float = float32   # torch's aliases
double = float64
long = int64
short = int16

# every dtype, in the order of the compiled engine's codes (csrc/tg_tensor.h: TG_F32 ...)
ALL_DTYPES = (float32, float64, int64, bool_, int8, int16, int32, uint8)
_ALL = {d.name: d for d in ALL_DTYPES}


def _by_name(name: str) -> dtype:
    return _ALL[name]


def from_numpy_dtype(np_dtype: Any) -> Optional[dtype]:
    """The tapegrad dtype for a numpy dtype, or None."""
    return _ALL.get(np.dtype(np_dtype).name)


class Size(tuple):
    """A tensor's shape: a tuple that prints like torch.Size."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"tapegrad.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> Size: ...
    def __getitem__(self, key: Union[SupportsIndex, slice]) -> Any:
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other: Iterable[Any]) -> Size:  # type: ignore[override]
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other: Iterable[Any]) -> Size:
        return Size(tuple(other) + tuple(self))


def get_default_dtype() -> dtype:
    """The dtype of tensors made from Python floats: float32, as in torch."""
    return float32


# torch's C++ ScalarType names, as its error messages spell them (and its legacy
# tensor types: "Float" -> torch.FloatTensor)
SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool",
                     "int8": "Char", "int16": "Short", "int32": "Int", "uint8": "Byte"}
# the C types torch's index errors name
C_TYPE_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "bool": "bool",
                "int8": "signed char", "int16": "short int", "int32": "int",
                "uint8": "unsigned char"}


def legacy_type_name(dt: dtype) -> str:
    """Tensor.type()'s string, torch's with tapegrad's prefix (as dtypes print):
    tapegrad.int32 -> 'tapegrad.IntTensor' (torch: 'torch.IntTensor')."""
    return f"tapegrad.{SCALAR_TYPE_NAMES[dt.name]}Tensor"


def tensor_type(t: Any, dtype: Any = None, non_blocking: builtins.bool = False) -> Any:
    """Tensor.type(dtype=None) of both engines: t's type string, or t converted to a dtype
    or to a type string ('torch.IntTensor' and 'tapegrad.IntTensor' both name int32)."""
    if dtype is None:
        return legacy_type_name(t.dtype)
    if isinstance(dtype, str):
        prefix, _, kind = dtype.rpartition(".")
        found = [_ALL[n] for n, scalar in SCALAR_TYPE_NAMES.items() if kind == f"{scalar}Tensor"]
        if prefix not in ("torch", "tapegrad") or not found:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = found[0]
    return t.to(dtype)


def unsupported_array(np_dtype: Any) -> TypeError:
    """torch's TypeError for an ndarray of a dtype tapegrad has no tensors of."""
    return TypeError(f"can't convert np.ndarray of type numpy.{np_dtype.type.__name__}. The "
                     "only supported types are: float64, float32, int64, int32, int16, int8, "
                     "uint8, and bool.")


def check_fill_value(value: Any, fn: str) -> None:
    """torch's TypeError for a fill value that is no number (a dtype, a string, ...)."""
    if not isinstance(value, numbers.Number) and not (
            hasattr(value, "dim") and hasattr(value, "item") and value.dim() == 0):
        raise TypeError(f"{fn}(): argument 'fill_value' (position 2) must be Number, not "
                        f"{type(value).__name__}")


def scalar_type_name(dt: dtype) -> str:
    """torch's name of dt in error messages: tapegrad.float32 -> 'Float'."""
    return SCALAR_TYPE_NAMES[dt.name]


# ----------------------------------------------------------------------------
# Type promotion (torch's c10::promoteTypes and at::native::result_type)

_CATEGORY = {"bool": 0, "float32": 2, "float64": 2,
             "int8": 1, "int16": 1, "int32": 1, "int64": 1, "uint8": 1}

# Operand priorities for result_type: a tensor with dimensions outranks a 0-d
# tensor, which outranks a Python number. A lower-priority operand only matters
# when it is of a higher category (bool < integer < floating point).
DIM, ZERO_DIM, SCALAR = 2, 1, 0


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both a and b convert to (torch.promote_types)."""
    if a is b:
        return a
    ca, cb = _CATEGORY[a.name], _CATEGORY[b.name]
    if ca != cb:
        return a if ca > cb else b
    if a is uint8 or b is uint8:        # unsigned meets signed: the signed one, at least int16
        signed = b if a is uint8 else a
        return int16 if signed is int8 else signed
    return a if a.itemsize >= b.itemsize else b


def scalar_dtype(x: Any) -> dtype:
    """The dtype torch gives a Python number in a tensor expression."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    return float32   # Python floats take the default dtype


def _combine(higher: Optional[dtype], lower: Optional[dtype]) -> Optional[dtype]:
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(operands: Iterable[Tuple[dtype, int]]) -> Optional[dtype]:
    """torch.result_type over (dtype, priority) pairs, priority DIM, ZERO_DIM or SCALAR.

    >>> result_type([(float32, DIM), (float64, ZERO_DIM)]) is float32
    True
    """
    best: List[Optional[dtype]] = [None, None, None]
    for dt, priority in operands:
        cur = best[priority]
        best[priority] = dt if cur is None else promote_types(cur, dt)
    return _combine(best[DIM], _combine(best[ZERO_DIM], best[SCALAR]))
