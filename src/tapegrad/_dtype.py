"""dtypes and Size, shared by both engines (tapegrad.float32 is one object).

Also torch's type-promotion rules (``result_type``), so that both engines pick
the same result dtype for mixed operands.
"""

import numpy as np


class dtype:
    """A tensor element type, like torch.dtype."""

    __slots__ = ("name", "numpy", "is_floating_point", "itemsize")

    def __init__(self, name, numpy_type, is_floating_point):
        self.name = name
        self.numpy = np.dtype(numpy_type)
        self.is_floating_point = is_floating_point
        self.itemsize = self.numpy.itemsize

    def __repr__(self):
        return f"tapegrad.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float32 = dtype("float32", np.float32, True)
float64 = dtype("float64", np.float64, True)
int64 = dtype("int64", np.int64, False)
bool_ = dtype("bool", np.bool_, False)   # comparison results; exported as ``bool``
float = float32   # noqa: A001 - torch's aliases
double = float64
long = int64

_ALL = {d.name: d for d in (float32, float64, int64, bool_)}


def _by_name(name):
    return _ALL[name]


def from_numpy_dtype(np_dtype):
    """The tapegrad dtype for a numpy dtype, or None."""
    return _ALL.get(np.dtype(np_dtype).name)


class Size(tuple):
    """A tensor's shape: a tuple that prints like torch.Size."""

    __slots__ = ()

    def __repr__(self):
        return f"tapegrad.Size({list(self)})"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))


def get_default_dtype():
    """The dtype of tensors made from Python floats: float32, as in torch."""
    return float32


# ----------------------------------------------------------------------------
# Type promotion (torch's c10::promoteTypes and at::native::result_type)

_CATEGORY = {"bool": 0, "int64": 1, "float32": 2, "float64": 2}

# Operand priorities for result_type: a tensor with dimensions outranks a 0-d
# tensor, which outranks a Python number. A lower-priority operand only matters
# when it is of a higher category (bool < integer < floating point).
DIM, ZERO_DIM, SCALAR = 2, 1, 0


def promote_types(a, b):
    """The smallest dtype both a and b convert to (torch.promote_types)."""
    if a is b:
        return a
    ca, cb = _CATEGORY[a.name], _CATEGORY[b.name]
    if ca != cb:
        return a if ca > cb else b
    return a if a.itemsize >= b.itemsize else b


def scalar_dtype(x):
    """The dtype torch gives a Python number in a tensor expression."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    return float32   # Python floats take the default dtype


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(operands):
    """torch.result_type over (dtype, priority) pairs, priority DIM, ZERO_DIM or SCALAR.

    >>> result_type([(float32, DIM), (float64, ZERO_DIM)]) is float32
    True
    """
    best = [None, None, None]
    for dt, priority in operands:
        cur = best[priority]
        best[priority] = dt if cur is None else promote_types(cur, dt)
    return _combine(best[DIM], _combine(best[ZERO_DIM], best[SCALAR]))
