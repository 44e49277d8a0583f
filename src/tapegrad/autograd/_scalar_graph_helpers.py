"""The runtime of the generated scalar graph rules (autograd/_scalar_graph_rules.py):
the table's scalar functions on Values (recorded) or numbers, and ``dv``, the
number a condition reads."""

from __future__ import annotations

from typing import Any

from .. import _scalar_math


def dv(x: Any) -> float:
    """The number of a Value (a number stays a number)."""
    return x if isinstance(x, (int, float)) else x.data


def _unary(name: str, x: Any) -> Any:
    if isinstance(x, (int, float)):
        return getattr(_scalar_math, name)(float(x))
    return getattr(x, name)()


def v_exp(x: Any) -> Any:
    return _unary("exp", x)


def v_log(x: Any) -> Any:
    return _unary("log", x)


def v_tanh(x: Any) -> Any:
    return _unary("tanh", x)


def v_sigmoid(x: Any) -> Any:
    return _unary("sigmoid", x)


def v_relu(x: Any) -> Any:
    return _unary("relu", x)


def v_pow(x: Any, y: Any) -> Any:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return _scalar_math.pow(float(x), float(y))
    return x ** y
