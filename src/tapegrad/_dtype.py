"""dtypes and Size, shared by both engines (tapegrad.float32 is one object)."""

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
float = float32   # noqa: A001 - torch's aliases
double = float64
long = int64

_ALL = {d.name: d for d in (float32, float64, int64)}


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
