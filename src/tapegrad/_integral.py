"""Integer and bool tensor arithmetic as torch does it, on numpy arrays, for both engines.

Integer and bool tensors never require grad, so nothing here records anything and no
float kernel ever reads their elements: an engine calls ``binary`` when an operand is
integral, gets back either the integral result or the floating dtype torch promotes to,
and in the second case converts the operands and runs its float kernels (which record
the graph of a float operand that requires grad).
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np

from ._format import broadcast_error

from ._dtype import (
    DIM, SCALAR, ZERO_DIM, DtypeError, bool_, dtype, get_default_dtype, result_type,
    scalar_dtype, scalar_type_name)

BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
BOOL_SUB_BOOL = ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                 "Use the `^` or `logical_xor()` operator instead.")
BOOL_NEG = ("Negation, the `-` operator, on a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
NEGATIVE_POWER = "Integers to negative integer powers are not allowed."

# Python's operators, for an engine that hands a floating result to its own kernels
PY_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "div": operator.truediv, "pow": operator.pow}


def priority(ndim: int) -> int:
    """A tensor operand's priority in torch's result_type."""
    return DIM if ndim else ZERO_DIM


def binary(op: str, a: np.ndarray, a_dt: dtype, b: Any, b_dt: dtype, b_prio: int,
           reflected: bool = False) -> Tuple[Optional[np.ndarray], dtype]:
    """torch's ``a op b`` (``b op a`` when reflected) for an integral array ``a``; ``b`` is
    an array or a Python number of dtype ``b_dt``. Returns (result, dtype) when the result
    is integral, else (None, the floating dtype both operands convert to)."""
    if op == "sub" and (a_dt is bool_ or b_dt is bool_):
        raise RuntimeError(BOOL_SUB_BOOL if a_dt is b_dt and b_prio != SCALAR else BOOL_SUB)
    res = result_type([(a_dt, priority(a.ndim)), (b_dt, b_prio)])
    assert res is not None
    if isinstance(b, np.ndarray):
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise broadcast_error(op, b.shape if reflected else a.shape,
                                  a.shape if reflected else b.shape) from None
    if res.is_floating_point:
        return None, res
    if op == "div":                                   # true division of integers
        return None, get_default_dtype()
    x = a.astype(res.numpy, copy=False)
    y = np.asarray(b).astype(res.numpy, copy=False)
    if reflected:
        x, y = y, x
    with np.errstate(all="ignore"):
        if res is bool_:
            if op == "pow":
                raise NotImplementedError('"pow" not implemented for \'Bool\'')
            return (np.logical_or(x, y) if op == "add" else np.logical_and(x, y)), res
        if op == "pow":
            return _integer_power(x, y, scalar_exponent=not reflected and b_prio == SCALAR), res
        out = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](x, y)
    return out, res


def _integer_power(base: np.ndarray, exp: np.ndarray, scalar_exponent: bool) -> np.ndarray:
    """torch's integer pow: a negative Python-number exponent raises; a negative element
    of an exponent tensor gives 1 for a base of 1, +-1 for -1 and 0 otherwise."""
    negative = exp < 0
    if scalar_exponent and np.any(negative):
        raise RuntimeError(NEGATIVE_POWER)
    out = np.power(base, np.where(negative, 0, exp))
    if np.any(negative):
        odd = np.where(exp % 2 == 0, 1, -1)
        special = np.where(base == 1, 1, np.where(base == -1, odd, 0))
        out = np.where(negative, special, out)
    return np.asarray(out, dtype=base.dtype)


def unary(op: str, a: np.ndarray, a_dt: dtype) -> np.ndarray:
    """neg, abs or relu of an integral array, in its dtype (bool refused as torch)."""
    if a_dt is bool_:
        if op == "neg":
            raise RuntimeError(BOOL_NEG)
        if op == "relu":
            raise RuntimeError("Boolean inputs not supported for relu")
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for 'Bool'")
    with np.errstate(all="ignore"):
        if op == "neg":
            return np.negative(a)
        if op == "abs":
            return np.abs(a)
        return np.maximum(a, 0)


def clamp_dtype(a_dt: dtype, ndim: int, lo: Any, hi: Any) -> dtype:
    """The dtype of an integral tensor clamped to Python-number bounds (torch promotes:
    a float bound makes it float, an int bound makes a bool tensor int64)."""
    operands = [(a_dt, priority(ndim))] + [(scalar_dtype(v), SCALAR) for v in (lo, hi)
                                           if v is not None]
    res = result_type(operands)
    assert res is not None
    return res


def _kind(dt: dtype) -> int:
    return 2 if dt.is_floating_point else (0 if dt is bool_ else 1)


def check_cast(res: dtype, out: dtype) -> None:
    """An in-place op may not write a result of a higher kind (torch's RuntimeError):
    float into an integral tensor, int into bool; float64 into float32 is allowed."""
    if _kind(res) > _kind(out):
        raise DtypeError(f"result type {scalar_type_name(res)} can't be cast to the desired "
                         f"output type {scalar_type_name(out)}")
