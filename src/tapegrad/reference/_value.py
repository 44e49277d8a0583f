"""The pure-Python reference engine: scalar ``Value`` nodes linked by references.

Every node stores what it needs to be differentiated and nothing callable:

    _data   forward value (a Python float)
    _grad   gradient (accumulated on leaves, reset per sweep on intermediates)
    _fn     the ``Op`` from ``tapegrad._ops.OPS`` that made it; None for a leaf
    _a, _b  parents: unary ``(x, None)``, binary ``(x, y)``; sum ``(values, ())``
            with the Value items only; dot ``(xs, ws)`` with Values and floats
    _c      the constant operand (0.0 when the op has none)
    _seq    creation number from one global counter; leaves get _LEAF_SEQ
    _tape   the _Tape the node belongs to (its thread's, or its parents')

Forward values and derivatives come from the rule functions of the op table
(``op.forward`` / ``op.backward``), so the formulas live in one place. There
are no closures on nodes, hence no reference cycles: a graph is freed by
reference counting as soon as its last Value goes.

Creation numbers do two jobs. Parents are always created before their
children, so sorting the reachable intermediates by decreasing ``_seq`` is a
topological order -- the same order in which the compiled engine sweeps its
tape, so gradients are accumulated in the same order and agree bit for bit.
And ``clear_tape()`` only has to record the counter's current value as the
tape's ``cutoff``: any intermediate of that tape numbered below it is stale.
"""

import itertools
import numbers
import sys
import threading

from .._denormal import cpu_has_flush_mode as _cpu_has_flush_mode
from .._denormal import flush_mode_arg as _flush_mode_arg
from .._format import value_op_label
from .._ops import OP_BY_NAME

ENGINE = "python"

_Real = numbers.Real
_new = object.__new__
_next = itertools.count().__next__   # atomic under the GIL
_LEAF_SEQ = sys.maxsize              # leaves are never stale

_LEAF = OP_BY_NAME["leaf"]
_ADD = OP_BY_NAME["add"]
_SUB = OP_BY_NAME["sub"]
_MUL = OP_BY_NAME["mul"]
_DIV = OP_BY_NAME["div"]
_POW = OP_BY_NAME["pow"]
_ADD_CONST = OP_BY_NAME["add_const"]
_MUL_CONST = OP_BY_NAME["mul_const"]
_DIV_CONST = OP_BY_NAME["div_const"]
_RSUB_CONST = OP_BY_NAME["rsub_const"]
_RDIV_CONST = OP_BY_NAME["rdiv_const"]
_POW_CONST = OP_BY_NAME["pow_const"]
_RPOW_CONST = OP_BY_NAME["rpow_const"]
_SUM = OP_BY_NAME["sum"]
_DOT = OP_BY_NAME["dot"]

_FREED_MSG = (
    "this Value's node was freed by tapegrad.clear_tape(); recompute it from "
    "its inputs (leaf Values survive clear_tape)")
_MIXED_MSG = (
    "tapegrad: these Values are on different threads' tapes; each thread records "
    "on its own tape, so combine only Values created on the same thread")


# ----------------------------------------------------------------------------
# Tapes: one per thread. The reference engine keeps no node list; a tape is
# just the staleness cutoff and a couple of counters.

class _Tape:
    __slots__ = ("cutoff", "tensor_cutoff", "clears")

    def __init__(self):
        self.cutoff = -1   # intermediates with _seq < cutoff were freed by clear_tape()
        self.tensor_cutoff = 0     # the same for tensors (numbered by reference._tensor)
        self.clears = 0


class _ThreadTapes(threading.local):
    def __init__(self):
        self.tape = _Tape()


_local = _ThreadTapes()


def _raise_freed():
    raise RuntimeError(_FREED_MSG)


def _raise_mixed():
    raise RuntimeError(_MIXED_MSG)


def _real(o):
    """o as a Python float if it is a real number, else None."""
    tp = type(o)
    if tp is float:
        return o
    if tp is int or tp is bool or (isinstance(o, _Real) and tp is not Value):
        return float(o)
    return None


def _as_real(o, what):
    x = _real(o)
    if x is None:
        raise TypeError(f"{what} must be a real number, not '{type(o).__name__}'")
    return x


# ----------------------------------------------------------------------------
# Method factories. The closures live on the class (one per method), never on
# nodes. Each method checks its operands, evaluates op.forward and fills in a
# fresh node; the code is repeated rather than shared through a helper call to
# keep the per-op cost low.

def _named(method, name):
    method.__name__ = name
    method.__qualname__ = "Value." + name
    return method


def _binary(name, op, const_op, negate):
    """Value (op) other: `op` for a Value, `const_op` (c = other, or -other) for a number."""
    fwd = op.forward
    cfwd = const_op.forward

    def method(self, other):
        t = self._tape
        if self._seq < t.cutoff:
            _raise_freed()
        if type(other) is Value:
            if other._tape is not t:
                _raise_mixed()
            if other._seq < t.cutoff:
                _raise_freed()
            out = _new(Value)
            out._data = fwd(self._data, other._data, 0.0)
            out._grad = 0.0
            out._fn = op
            out._a = self
            out._b = other
            out._c = 0.0
            out._seq = _next()
            out._tape = t
            return out
        if type(other) is float:
            c = other
        else:
            c = _real(other)
            if c is None:
                return NotImplemented
        if negate:
            c = -c
        out = _new(Value)
        out._data = cfwd(self._data, None, c)
        out._grad = 0.0
        out._fn = const_op
        out._a = self
        out._b = None
        out._c = c
        out._seq = _next()
        out._tape = t
        return out

    return _named(method, name)


def _reflected(name, const_op):
    """number (op) Value: `const_op` with c = the number."""
    cfwd = const_op.forward

    def method(self, other):
        t = self._tape
        if self._seq < t.cutoff:
            _raise_freed()
        if type(other) is float:
            c = other
        else:
            c = _real(other)
            if c is None:
                return NotImplemented
        out = _new(Value)
        out._data = cfwd(self._data, None, c)
        out._grad = 0.0
        out._fn = const_op
        out._a = self
        out._b = None
        out._c = c
        out._seq = _next()
        out._tape = t
        return out

    return _named(method, name)


def _unary(name, op_name):
    op = OP_BY_NAME[op_name]
    fwd = op.forward

    def method(self):
        t = self._tape
        if self._seq < t.cutoff:
            _raise_freed()
        out = _new(Value)
        out._data = fwd(self._data, None, 0.0)
        out._grad = 0.0
        out._fn = op
        out._a = self
        out._b = None
        out._c = 0.0
        out._seq = _next()
        out._tape = t
        return out

    method.__doc__ = f"Record {op_name}(self)."
    return _named(method, name)


_pow = _binary("__pow__", _POW, _POW_CONST, False)
_rpow = _reflected("__rpow__", _RPOW_CONST)


def _compare(name, cmp):
    def method(self, other):
        if self._seq < self._tape.cutoff:
            _raise_freed()
        if type(other) is Value:
            if other._seq < other._tape.cutoff:
                _raise_freed()
            return cmp(self._data, other._data)
        y = _real(other)
        if y is None:
            return NotImplemented
        return cmp(self._data, y)

    return _named(method, name)


# ----------------------------------------------------------------------------
# Value

class Value:
    """A scalar that records the operations applied to it (micrograd's API).

    ``Value(data)`` creates a leaf; arithmetic and the methods below record
    intermediate nodes; ``backward()`` fills ``.grad`` by reverse mode.
    """

    __slots__ = ("_data", "_grad", "_fn", "_a", "_b", "_c", "_seq", "_tape")

    __array_ufunc__ = None   # numpy scalars on the left defer to our reflected ops

    def __init_subclass__(cls, **kwargs):
        # Like the compiled engine's final extension type.
        raise TypeError("type 'tapegrad.reference.Value' is not an acceptable base type")

    def __getattr__(self, name):
        # only reached when a slot is unset: a Value made by Value.__new__(Value)
        if name in Value.__slots__:
            raise RuntimeError("this Value is not initialised: create Values with Value(data)")
        raise AttributeError(f"'Value' object has no attribute '{name}'")

    def __init__(self, data):
        if type(data) is not float:
            data = _as_real(data, "Value() data")
        self._data = data
        self._grad = 0.0
        self._fn = None
        self._a = None
        self._b = None
        self._c = 0.0
        self._seq = _LEAF_SEQ
        self._tape = _local.tape

    # -- data and gradient ----------------------------------------------------

    @property
    def data(self):
        if self._seq < self._tape.cutoff:
            _raise_freed()
        return self._data

    @data.setter
    def data(self, x):
        x = _as_real(x, "Value.data")
        if self._seq < self._tape.cutoff:
            _raise_freed()
        self._data = x

    @property
    def grad(self):
        if self._seq < self._tape.cutoff:
            _raise_freed()
        if _graph_grads:                # after backward(create_graph=True)
            return _graph_grad(self)
        return self._grad

    @grad.setter
    def grad(self, g):
        g = _as_real(g, "Value.grad")
        if self._seq < self._tape.cutoff:
            _raise_freed()
        self._grad = g
        if _graph_grads:
            _graph_grads.pop(id(self), None)

    @property
    def _op(self):
        """micrograd's op label ('' for a leaf, '**2' for x ** 2)."""
        if self._seq < self._tape.cutoff:
            _raise_freed()
        return value_op_label(self._fn or _LEAF, self._c)

    @property
    def _prev(self):
        """micrograd's set of parent Values (empty for a leaf)."""
        return {p for p in self._inputs()[1] if type(p) is Value}

    def _inputs(self):
        """(op, operands, c): the ``_ops.Op`` that made this Value, its operands in
        recording order (the Value parents; for dot, x0, w0, x1, w1, ... with constant
        operands as floats) and the constant operand. Read by ``tapegrad.draw``."""
        if self._seq < self._tape.cutoff:
            _raise_freed()
        fn, a, b = self._fn, self._a, self._b
        if fn is None:
            return _LEAF, (), self._c
        if b is None:
            operands = (a,)
        elif type(b) is Value:
            operands = (a, b)
        elif fn is _SUM:
            operands = a
        else:
            operands = tuple(itertools.chain.from_iterable(zip(a, b)))
        return fn, operands, self._c

    # -- the reverse sweep ----------------------------------------------------

    def backward(self, create_graph=False):
        """Reverse sweep from this Value: leaf grads accumulate, intermediates are reset.
        create_graph=True: each leaf's .grad becomes a Value with history."""
        if self._seq < self._tape.cutoff:
            _raise_freed()
        if create_graph:
            return _backward_recorded(self)
        if self._fn is None:           # a leaf: d leaf / d leaf = 1, accumulated
            self._grad += 1.0
            return

        # 1. Collect the intermediates this node depends on (iteratively: no
        #    recursion limit) and reset their gradients. Leaves are not
        #    collected; they only receive gradient in step 2.
        seen = {self._seq: self}
        stack = [self]
        push = stack.append
        pop = stack.pop
        while stack:
            n = pop()
            n._grad = 0.0
            a = n._a
            b = n._b
            if b is None:                          # unary
                if a._fn is not None and a._seq not in seen:
                    seen[a._seq] = a
                    push(a)
            elif type(b) is Value:                 # binary
                if a._fn is not None and a._seq not in seen:
                    seen[a._seq] = a
                    push(a)
                if b._fn is not None and b._seq not in seen:
                    seen[b._seq] = b
                    push(b)
            else:                                  # sum (b == ()) or dot
                for p in a:
                    if type(p) is Value and p._fn is not None and p._seq not in seen:
                        seen[p._seq] = p
                        push(p)
                for p in b:
                    if type(p) is Value and p._fn is not None and p._seq not in seen:
                        seen[p._seq] = p
                        push(p)

        # 2. Visit them children first (decreasing creation number) and apply
        #    each op's rule from the op table.
        self._grad = 1.0
        for s in sorted(seen, reverse=True):
            n = seen[s]
            g = n._grad
            a = n._a
            b = n._b
            if b is None:
                a._grad += n._fn.backward(g, a._data, None, n._c, n._data)[0]
            elif type(b) is Value:
                ga, gb = n._fn.backward(g, a._data, b._data, n._c, n._data)
                a._grad += ga
                b._grad += gb
            elif n._fn is _SUM:
                for p in a:
                    p._grad += g
            else:                                  # dot: x_i gets g*w_i, w_i gets g*x_i
                for x, w in zip(a, b):
                    xv = x if type(x) is float else x._data
                    wv = w if type(w) is float else w._data
                    if type(x) is Value:
                        x._grad += g * wv
                    if type(w) is Value:
                        w._grad += g * xv

    # -- arithmetic -----------------------------------------------------------

    __add__ = _binary("__add__", _ADD, _ADD_CONST, False)
    __sub__ = _binary("__sub__", _SUB, _ADD_CONST, True)    # v - c is add_const with -c
    __mul__ = _binary("__mul__", _MUL, _MUL_CONST, False)
    __truediv__ = _binary("__truediv__", _DIV, _DIV_CONST, False)
    __radd__ = _reflected("__radd__", _ADD_CONST)
    __rsub__ = _reflected("__rsub__", _RSUB_CONST)
    __rmul__ = _reflected("__rmul__", _MUL_CONST)
    __rtruediv__ = _reflected("__rtruediv__", _RDIV_CONST)

    def __pow__(self, other, mod=None):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        return _pow(self, other)

    def __rpow__(self, other, mod=None):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        return _rpow(self, other)

    __neg__ = _unary("__neg__", "neg")
    exp = _unary("exp", "exp")
    log = _unary("log", "log")
    tanh = _unary("tanh", "tanh")
    relu = _unary("relu", "relu")
    sigmoid = _unary("sigmoid", "sigmoid")

    # -- comparisons and conversions ------------------------------------------

    __lt__ = _compare("__lt__", float.__lt__)
    __le__ = _compare("__le__", float.__le__)
    __gt__ = _compare("__gt__", float.__gt__)
    __ge__ = _compare("__ge__", float.__ge__)
    # == / != / hash: identity (object's), as in micrograd.

    def __float__(self):
        if self._seq < self._tape.cutoff:
            _raise_freed()
        return self._data

    def __repr__(self):
        if self._seq < self._tape.cutoff:
            _raise_freed()
        return f"Value(data={self._data}, grad={self._grad})"


# ----------------------------------------------------------------------------
# n-ary nodes and the tape

def _operands(items, what):
    """items as a list of Values and Python floats; anything else is a TypeError."""
    out = list(items)
    for k, o in enumerate(out):
        tp = type(o)
        if tp is not Value and tp is not float:
            out[k] = _as_real(o, what)
    return out


def _tape_of(items):
    """The tape shared by the Values among items (checked), or this thread's."""
    tape = None
    for o in items:
        if type(o) is Value:
            t = o._tape
            if o._seq < t.cutoff:
                _raise_freed()
            if tape is None:
                tape = t
            elif t is not tape:
                _raise_mixed()
    return _local.tape if tape is None else tape


def sum(values):  # the public name
    """One node holding the sum of an iterable of Values and numbers."""
    items = _operands(values, "tapegrad.sum() items")
    tape = _tape_of(items)
    acc = 0.0
    parents = []
    for o in items:
        if type(o) is Value:
            acc += o._data
            parents.append(o)
        else:
            acc += o
    out = _new(Value)
    out._data = acc
    out._grad = 0.0
    out._fn = _SUM
    out._a = tuple(parents)
    out._b = ()
    out._c = 0.0
    out._seq = _next()
    out._tape = tape
    return out


def dot(xs, ws):
    """One node holding sum(xs[i] * ws[i]) over two equally long sequences."""
    x = _operands(xs, "tapegrad.dot() items")
    w = _operands(ws, "tapegrad.dot() items")
    if len(x) != len(w):
        raise ValueError(
            f"tapegrad.dot(): the sequences differ in length ({len(x)} and {len(w)})")
    tape = _tape_of(x + w)
    acc = 0.0
    for xi, wi in zip(x, w):
        acc += (xi if type(xi) is float else xi._data) * (wi if type(wi) is float else wi._data)
    out = _new(Value)
    out._data = acc
    out._grad = 0.0
    out._fn = _DOT
    out._a = tuple(x)
    out._b = tuple(w)
    out._c = 0.0
    out._seq = _next()
    out._tape = tape
    return out


def clear_tape():
    """Free every intermediate node of this thread's tape now; leaves survive.
    Values that referred to the freed nodes raise RuntimeError afterwards."""
    from ._replay import refuse_while_replaying
    refuse_while_replaying("tapegrad.clear_tape()")
    from ._tensor import _next_seq
    tape = _local.tape
    tape.cutoff = _next()
    tape.tensor_cutoff = _next_seq()
    tape.clears += 1


def tape_stats():
    """Counts about this thread's tape. The reference engine keeps no node
    list, so it reports only what it knows cheaply."""
    tape = _local.tape
    return {"engine": ENGINE, "clears": tape.clears}


def set_flush_denormal(mode):
    """torch.set_flush_denormal's signature and return value (True where the compiled
    engine can flush subnormals: x86-64, aarch64; else False). The reference engine
    computes with Python floats and numpy in the caller's floating-point mode, which
    it leaves alone, so it keeps subnormals either way."""
    _flush_mode_arg(mode)
    return _cpu_has_flush_mode()


# Value.backward(create_graph=True): id(leaf) -> (leaf, its numeric grad then, the Value)
_graph_grads: dict = {}


def _graph_grad(v):
    """v's .grad: the Value with history a create_graph backward gave it, while its
    numeric gradient is still the one that backward left; else the number."""
    entry = _graph_grads.get(id(v))
    if entry is not None and entry[0] is v and entry[1] == v._grad:
        return entry[2]
    return v._grad


def _backward_recorded(root):
    """root.backward(create_graph=True) (tapegrad/autograd/_higher_scalar.py)."""
    import sys

    from ..autograd import _higher_scalar
    eng = sys.modules[__name__.rsplit(".", 1)[0]]
    for leaf, g in _higher_scalar.backward(eng, root).values():
        old = _graph_grad(leaf)
        total = g if not isinstance(old, Value) and old == 0.0 else old + g
        leaf._grad = total._data
        _graph_grads[id(leaf)] = (leaf, leaf._grad, total)
