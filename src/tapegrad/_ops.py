"""The table of scalar operations: codes, names and derivative rules.

This is the single definition of every op tapegrad records. The pure-Python
reference engine runs these functions directly; the compiled engine implements
the same formulas in C (``csrc/tg_tape.c``, enum ``tg_op``) and a test checks
that its op codes match this table. Formulas follow PyTorch's autograd
(``tools/autograd/derivatives.yaml``), including its edge cases, so that both
engines agree with torch in float64.

Arithmetic is IEEE-754 like C and torch: no Python exception for a domain
error or overflow (``log(0) == -inf``, ``1/0 == inf``, ``0/0`` is nan).

Each rule is ``forward(x, y, c) -> out`` and ``backward(g, x, y, c, out) ->
(gx, gy)``: ``x`` and ``y`` are the parents' values (``y`` is None for unary
ops), ``c`` is the constant operand (a Python float) where the op has one,
``g`` is the gradient flowing into the node. ``sum`` and ``dot`` take any
number of parents and are handled by the engines directly.
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


def pow(x, y):  # noqa: A001 - mirrors C's pow()
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


# ----------------------------------------------------------------------------
# The table. Codes are stable: csrc/tg_tape.h declares the same numbers.

class Op:
    """One recorded operation: its code, names and rules."""

    __slots__ = ("code", "name", "symbol", "torch_name", "arity", "forward", "backward")

    def __init__(self, code, name, symbol, torch_name, arity, forward, backward):
        self.code = code
        self.name = name              # tapegrad's name, e.g. "mul"
        self.symbol = symbol          # micrograd's ``_op`` string, e.g. "*"
        self.torch_name = torch_name  # PyTorch grad_fn class, e.g. "MulBackward0"
        self.arity = arity            # 0 leaf, 1 unary, 2 binary, -1 any number
        self.forward = forward
        self.backward = backward

    def __repr__(self):
        return f"<Op {self.code} {self.name}>"


def _pow_const_grad(g, x, y, c, out):
    # torch: exponent == 0 gives a zero gradient even where x**-1 is inf
    return (0.0 if c == 0.0 else g * c * pow(x, c - 1.0)), None


def _rpow_const_grad(g, x, y, c, out):
    # c ** x: d/dx = c**x * log(c); torch masks base == 0 with exponent >= 0
    return (0.0 if (c == 0.0 and x >= 0.0) else g * (out * log(c))), None


def _pow_grad(g, x, y, c, out):
    gx = 0.0 if y == 0.0 else g * y * pow(x, y - 1.0)
    gy = 0.0 if (x == 0.0 and y >= 0.0) else g * (out * log(x))
    return gx, gy


def _unused(*args):
    raise AssertionError("n-ary ops are evaluated by the engine")


OPS = (
    Op(0, "leaf", "", None, 0, None, None),
    Op(1, "add", "+", "AddBackward0", 2,
       lambda x, y, c: x + y,
       lambda g, x, y, c, out: (g, g)),
    Op(2, "sub", "-", "SubBackward0", 2,
       lambda x, y, c: x - y,
       lambda g, x, y, c, out: (g, -g)),
    Op(3, "mul", "*", "MulBackward0", 2,
       lambda x, y, c: x * y,
       lambda g, x, y, c, out: (g * y, g * x)),
    Op(4, "div", "/", "DivBackward0", 2,
       lambda x, y, c: div(x, y),
       lambda g, x, y, c, out: (div(g, y), div(-g * x, y * y))),
    Op(5, "pow", "**", "PowBackward1", 2,
       lambda x, y, c: pow(x, y),
       _pow_grad),
    Op(6, "add_const", "+", "AddBackward1", 1,
       lambda x, y, c: x + c,
       lambda g, x, y, c, out: (g, None)),
    Op(7, "mul_const", "*", "MulBackward1", 1,
       lambda x, y, c: x * c,
       lambda g, x, y, c, out: (g * c, None)),
    Op(8, "div_const", "/", "DivBackward1", 1,
       lambda x, y, c: div(x, c),
       lambda g, x, y, c, out: (div(g, c), None)),
    Op(9, "rsub_const", "-", "RsubBackward1", 1,
       lambda x, y, c: c - x,
       lambda g, x, y, c, out: (-g, None)),
    Op(10, "rdiv_const", "/", "DivBackward1", 1,
       lambda x, y, c: div(c, x),
       lambda g, x, y, c, out: (div(-g * c, x * x), None)),
    Op(11, "pow_const", "**", "PowBackward0", 1,
       lambda x, y, c: x * x if c == 2.0 else pow(x, c),  # torch squares exactly too
       _pow_const_grad),
    Op(12, "rpow_const", "**", "PowBackward1", 1,
       lambda x, y, c: pow(c, x),
       _rpow_const_grad),
    Op(13, "neg", "-", "NegBackward0", 1,
       lambda x, y, c: -x,
       lambda g, x, y, c, out: (-g, None)),
    Op(14, "exp", "exp", "ExpBackward0", 1,
       lambda x, y, c: exp(x),
       lambda g, x, y, c, out: (g * out, None)),
    Op(15, "log", "log", "LogBackward0", 1,
       lambda x, y, c: log(x),
       lambda g, x, y, c, out: (div(g, x), None)),
    Op(16, "tanh", "tanh", "TanhBackward0", 1,
       lambda x, y, c: tanh(x),
       lambda g, x, y, c, out: (g * (1.0 - out * out), None)),
    Op(17, "relu", "ReLU", "ReluBackward0", 1,
       lambda x, y, c: relu(x),
       lambda g, x, y, c, out: ((0.0 if out <= 0.0 else g), None)),  # torch: nan passes g
    Op(18, "sigmoid", "sigmoid", "SigmoidBackward0", 1,
       lambda x, y, c: sigmoid(x),
       lambda g, x, y, c, out: (g * out * (1.0 - out), None)),
    # sum(values) + constants: every Value parent gets g.
    Op(19, "sum", "sum", "SumBackward0", -1, _unused, _unused),
    # dot(xs, ws) = sum_i xs[i]*ws[i] accumulated left to right: x_i gets g*w_i, w_i gets g*x_i.
    Op(20, "dot", "dot", "DotBackward0", -1, _unused, _unused),
)

OP_BY_NAME = {op.name: op for op in OPS}
