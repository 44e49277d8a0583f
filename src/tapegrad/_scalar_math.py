"""IEEE-754 scalar arithmetic for the scalar ops (tapegrad._ops): what C's operators
and libm return, without Python exceptions (``log(0) == -inf``, ``1/0 == inf``,
``0/0`` is nan).
"""

import math

_INF = math.inf
_NAN = math.nan


# ----------------------------------------------------------------------------
# IEEE-754 helpers: what C's operators and libm return, without exceptions.

def _is_odd_integer(y):
    return y == y and abs(y) != _INF and y == math.floor(y) and math.fmod(y, 2.0) != 0.0


def div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def log(a):
    if a > 0.0:
        return math.log(a)
    if a == 0.0:
        return -_INF
    return _NAN  # negative or nan


def exp(a):
    try:
        return math.exp(a)
    except OverflowError:
        return _INF


def pow(x, y):  # mirrors C's pow()
    try:
        return math.pow(x, y)
    except OverflowError:
        if x < 0.0 and _is_odd_integer(y):
            return -_INF
        return _INF
    except ValueError:
        if x == 0.0 and y < 0.0:
            if _is_odd_integer(y):
                return math.copysign(_INF, x)
            return _INF
        return _NAN  # negative base, non-integer exponent


def tanh(a):
    return math.tanh(a)


def sigmoid(a):
    return div(1.0, 1.0 + exp(-a))


def relu(a):
    return 0.0 if a < 0.0 else a  # nan stays nan, as in torch
