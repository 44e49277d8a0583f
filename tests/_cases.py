"""Tables of op cases shared by test_ops.py (closed forms, finite differences) and
test_torch.py (cross-check against torch float64).

Each case builds its expression from leaf objects through Python operators and
methods only, so the same lambda runs on tapegrad Values and on torch tensors.
"""

import math

INF = math.inf
NAN = math.nan


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


class OpCase:
    """One op (or one operand arrangement of an op) with closed forms.

    ``fn(*leaves)`` builds the expression; ``f(*xs)`` is its value and
    ``df(*xs)`` the tuple of partial derivatives, one per leaf.
    """

    def __init__(self, name, fn, f, df, points):
        self.name = name
        self.fn = fn
        self.f = f
        self.df = df
        self.points = points

    def __repr__(self):
        return self.name


# Points stay away from kinks and poles, so that finite differences apply.
P2 = [(1.5, -2.25), (0.3, 4.0), (-0.7, -1.1)]
P1 = [(1.5,), (-0.75,), (0.2,), (3.0,)]
P1_POS = [(1.5,), (0.2,), (3.0,), (0.05,)]

OP_CASES = [
    # Value (op) Value
    OpCase("add", lambda x, y: x + y, lambda x, y: x + y, lambda x, y: (1.0, 1.0), P2),
    OpCase("sub", lambda x, y: x - y, lambda x, y: x - y, lambda x, y: (1.0, -1.0), P2),
    OpCase("mul", lambda x, y: x * y, lambda x, y: x * y, lambda x, y: (y, x), P2),
    OpCase("div", lambda x, y: x / y, lambda x, y: x / y,
           lambda x, y: (1.0 / y, -x / (y * y)), P2),
    OpCase("pow", lambda x, y: x ** y, lambda x, y: x ** y,
           lambda x, y: (y * x ** (y - 1.0), x ** y * math.log(x)),
           [(1.7, 2.3), (0.5, -1.5), (2.0, 0.5), (3.0, 2.0)]),
    # add_const: v + c, c + v, v - c (recorded as add_const with -c)
    OpCase("add_const v+c", lambda x: x + 2.5, lambda x: x + 2.5, lambda x: (1.0,), P1),
    OpCase("add_const c+v", lambda x: 2.5 + x, lambda x: 2.5 + x, lambda x: (1.0,), P1),
    OpCase("add_const v+int", lambda x: x + 3, lambda x: x + 3.0, lambda x: (1.0,), P1),
    OpCase("add_const v-c", lambda x: x - 2.5, lambda x: x - 2.5, lambda x: (1.0,), P1),
    # mul_const
    OpCase("mul_const v*c", lambda x: x * -3.5, lambda x: x * -3.5, lambda x: (-3.5,), P1),
    OpCase("mul_const c*v", lambda x: -3.5 * x, lambda x: -3.5 * x, lambda x: (-3.5,), P1),
    OpCase("mul_const int*v", lambda x: 2 * x, lambda x: 2.0 * x, lambda x: (2.0,), P1),
    # div_const
    OpCase("div_const v/c", lambda x: x / 4.0, lambda x: x / 4.0, lambda x: (0.25,), P1),
    OpCase("div_const v/int", lambda x: x / 3, lambda x: x / 3.0, lambda x: (1.0 / 3.0,), P1),
    # rsub_const, rdiv_const
    OpCase("rsub_const c-v", lambda x: 5.0 - x, lambda x: 5.0 - x, lambda x: (-1.0,), P1),
    OpCase("rsub_const int-v", lambda x: 7 - x, lambda x: 7.0 - x, lambda x: (-1.0,), P1),
    OpCase("rdiv_const c/v", lambda x: 3.0 / x, lambda x: 3.0 / x,
           lambda x: (-3.0 / (x * x),), P1),
    OpCase("rdiv_const int/v", lambda x: 1 / x, lambda x: 1.0 / x,
           lambda x: (-1.0 / (x * x),), P1),
    # pow_const: v ** c
    OpCase("pow_const v**2", lambda x: x ** 2, lambda x: x * x, lambda x: (2.0 * x,), P1),
    OpCase("pow_const v**3.0", lambda x: x ** 3.0, lambda x: x ** 3.0,
           lambda x: (3.0 * x ** 2.0,), P1),
    OpCase("pow_const v**-2", lambda x: x ** -2, lambda x: x ** -2.0,
           lambda x: (-2.0 * x ** -3.0,), P1),
    OpCase("pow_const v**0.5", lambda x: x ** 0.5, lambda x: math.sqrt(x),
           lambda x: (0.5 * x ** -0.5,), P1_POS),
    OpCase("pow_const v**-1.5", lambda x: x ** -1.5, lambda x: x ** -1.5,
           lambda x: (-1.5 * x ** -2.5,), P1_POS),
    # rpow_const: c ** v
    OpCase("rpow_const 2**v", lambda x: 2.0 ** x, lambda x: 2.0 ** x,
           lambda x: (2.0 ** x * math.log(2.0),), P1),
    OpCase("rpow_const 0.5**v", lambda x: 0.5 ** x, lambda x: 0.5 ** x,
           lambda x: (0.5 ** x * math.log(0.5),), P1),
    OpCase("rpow_const int**v", lambda x: 3 ** x, lambda x: 3.0 ** x,
           lambda x: (3.0 ** x * math.log(3.0),), P1),
    # unary
    OpCase("neg", lambda x: -x, lambda x: -x, lambda x: (-1.0,), P1),
    OpCase("exp", lambda x: x.exp(), math.exp, lambda x: (math.exp(x),), P1),
    OpCase("log", lambda x: x.log(), math.log, lambda x: (1.0 / x,), P1_POS),
    OpCase("tanh", lambda x: x.tanh(), math.tanh,
           lambda x: (1.0 - math.tanh(x) ** 2,), P1),
    OpCase("relu", lambda x: x.relu(), lambda x: max(x, 0.0),
           lambda x: (1.0 if x > 0 else 0.0,), P1),
    OpCase("sigmoid", lambda x: x.sigmoid(), _sig,
           lambda x: (_sig(x) * (1.0 - _sig(x)),), P1),
]


class EdgeCase:
    """An IEEE edge case: leaves, expression, exact expected value and leaf grads."""

    def __init__(self, name, leaves, fn, value, grads):
        self.name = name
        self.leaves = leaves
        self.fn = fn
        self.value = value
        self.grads = grads

    def __repr__(self):
        return self.name


EDGE_CASES = [
    # log
    EdgeCase("log(0)", [0.0], lambda x: x.log(), -INF, [INF]),
    EdgeCase("log(-0.0)", [-0.0], lambda x: x.log(), -INF, [-INF]),
    EdgeCase("log(-1)", [-1.0], lambda x: x.log(), NAN, [-1.0]),
    EdgeCase("log(inf)", [INF], lambda x: x.log(), INF, [0.0]),
    EdgeCase("log(nan)", [NAN], lambda x: x.log(), NAN, [NAN]),
    # division by zero
    EdgeCase("1/Value(0.)", [0.0], lambda x: 1 / x, INF, [-INF]),
    EdgeCase("1.0/Value(-0.0)", [-0.0], lambda x: 1.0 / x, -INF, [-INF]),
    EdgeCase("-2/Value(0.)", [0.0], lambda x: -2.0 / x, -INF, [INF]),
    EdgeCase("Value(1)/Value(0)", [1.0, 0.0], lambda x, y: x / y, INF, [INF, -INF]),
    EdgeCase("Value(-1)/Value(0)", [-1.0, 0.0], lambda x, y: x / y, -INF, [INF, INF]),
    EdgeCase("Value(0)/Value(0)", [0.0, 0.0], lambda x, y: x / y, NAN, [INF, NAN]),
    EdgeCase("Value(0)/0.0", [0.0], lambda x: x / 0.0, NAN, [INF]),
    EdgeCase("Value(2)/0", [2.0], lambda x: x / 0, INF, [INF]),
    EdgeCase("Value(-2)/-0.0", [-2.0], lambda x: x / -0.0, INF, [-INF]),
    # exp overflow / underflow
    EdgeCase("exp(1000)", [1000.0], lambda x: x.exp(), INF, [INF]),
    EdgeCase("exp(-1000)", [-1000.0], lambda x: x.exp(), 0.0, [0.0]),
    EdgeCase("exp(inf)", [INF], lambda x: x.exp(), INF, [INF]),
    EdgeCase("exp(-inf)", [-INF], lambda x: x.exp(), 0.0, [0.0]),
    # relu kink and nan
    EdgeCase("relu(0)", [0.0], lambda x: x.relu(), 0.0, [0.0]),
    EdgeCase("relu(-2)", [-2.0], lambda x: x.relu(), 0.0, [0.0]),
    EdgeCase("relu(3)", [3.0], lambda x: x.relu(), 3.0, [1.0]),
    # torch: ReluBackward0 is threshold_backward(grad, result, 0), which zeroes the
    # gradient where result <= 0 and passes it elsewhere, so relu'(nan) = 1.
    EdgeCase("relu(nan)", [NAN], lambda x: x.relu(), NAN, [1.0]),
    EdgeCase("relu(inf)", [INF], lambda x: x.relu(), INF, [1.0]),
    # pow_const
    EdgeCase("x**0 at 0", [0.0], lambda x: x ** 0, 1.0, [0.0]),
    EdgeCase("x**0.0 at 0", [0.0], lambda x: x ** 0.0, 1.0, [0.0]),
    EdgeCase("x**0 at -3", [-3.0], lambda x: x ** 0.0, 1.0, [0.0]),
    EdgeCase("Value(0)**-1", [0.0], lambda x: x ** -1.0, INF, [-INF]),
    EdgeCase("Value(-0.0)**-1", [-0.0], lambda x: x ** -1, -INF, [-INF]),
    EdgeCase("Value(0)**-2", [0.0], lambda x: x ** -2.0, INF, [-INF]),
    EdgeCase("Value(0)**0.5", [0.0], lambda x: x ** 0.5, 0.0, [INF]),
    EdgeCase("Value(0)**2", [0.0], lambda x: x ** 2, 0.0, [0.0]),
    EdgeCase("Value(-8)**(1/3)", [-8.0], lambda x: x ** (1.0 / 3.0), NAN, [NAN]),
    EdgeCase("Value(-2)**3", [-2.0], lambda x: x ** 3, -8.0, [12.0]),
    EdgeCase("Value(-2)**-2", [-2.0], lambda x: x ** -2.0, 0.25, [0.25]),
    EdgeCase("Value(10)**400", [10.0], lambda x: x ** 400.0, INF, [INF]),
    EdgeCase("Value(-10)**401", [-10.0], lambda x: x ** 401.0, -INF, [INF]),
    # rpow_const
    EdgeCase("0**Value(0)", [0.0], lambda x: 0.0 ** x, 1.0, [0.0]),
    EdgeCase("0**Value(2)", [2.0], lambda x: 0.0 ** x, 0.0, [0.0]),
    EdgeCase("0**Value(-1)", [-1.0], lambda x: 0.0 ** x, INF, [-INF]),
    EdgeCase("(-2)**Value(2)", [2.0], lambda x: (-2.0) ** x, 4.0, [NAN]),
    EdgeCase("(-8)**Value(1/3)", [1.0 / 3.0], lambda x: (-8.0) ** x, NAN, [NAN]),
    EdgeCase("2**Value(2000)", [2000.0], lambda x: 2.0 ** x, INF, [INF]),
    EdgeCase("1**Value(inf)", [INF], lambda x: 1.0 ** x, 1.0, [0.0]),
    # pow Value ** Value
    EdgeCase("Value(0)**Value(0)", [0.0, 0.0], lambda x, y: x ** y, 1.0, [0.0, 0.0]),
    EdgeCase("Value(0)**Value(2)", [0.0, 2.0], lambda x, y: x ** y, 0.0, [0.0, 0.0]),
    EdgeCase("Value(3)**Value(0)", [3.0, 0.0], lambda x, y: x ** y, 1.0,
             [0.0, math.log(3.0)]),
    EdgeCase("Value(-2)**Value(2)", [-2.0, 2.0], lambda x, y: x ** y, 4.0, [-4.0, NAN]),
    EdgeCase("Value(0)**Value(-1)", [0.0, -1.0], lambda x, y: x ** y, INF, [-INF, -INF]),
    # tanh / sigmoid saturation
    EdgeCase("tanh(1000)", [1000.0], lambda x: x.tanh(), 1.0, [0.0]),
    EdgeCase("tanh(-inf)", [-INF], lambda x: x.tanh(), -1.0, [0.0]),
    EdgeCase("tanh(nan)", [NAN], lambda x: x.tanh(), NAN, [NAN]),
    EdgeCase("sigmoid(-1000)", [-1000.0], lambda x: x.sigmoid(), 0.0, [0.0]),
    EdgeCase("sigmoid(1000)", [1000.0], lambda x: x.sigmoid(), 1.0, [0.0]),
    EdgeCase("sigmoid(-inf)", [-INF], lambda x: x.sigmoid(), 0.0, [0.0]),
    EdgeCase("sigmoid(nan)", [NAN], lambda x: x.sigmoid(), NAN, [NAN]),
    # arithmetic with infinities and nan
    EdgeCase("inf-inf", [INF, INF], lambda x, y: x - y, NAN, [1.0, -1.0]),
    EdgeCase("inf+(-inf)", [INF, -INF], lambda x, y: x + y, NAN, [1.0, 1.0]),
    EdgeCase("inf*0.0", [INF], lambda x: x * 0.0, NAN, [0.0]),
    EdgeCase("Value(inf)*Value(0)", [INF, 0.0], lambda x, y: x * y, NAN, [0.0, INF]),
    EdgeCase("1e308*10", [1e308], lambda x: x * 10.0, INF, [10.0]),
    EdgeCase("nan+1", [NAN], lambda x: x + 1.0, NAN, [1.0]),
    EdgeCase("-nan", [NAN], lambda x: -x, NAN, [-1.0]),
    # a zero gradient times an infinite local derivative inside the graph is nan (as in torch)
    EdgeCase("log(0)*0", [0.0], lambda x: x.log() * 0.0, NAN, [NAN]),
]
