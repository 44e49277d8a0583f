"""Helpers for the random-number tests: bitwise comparison with torch, the two paths
of tapegrad._random (compiled loops and numpy)."""

import contextlib

import numpy as np

from tapegrad import _random

SEEDS = (0, 1, 42, 2 ** 40 + 3)
# both sides of randn's 16-value threshold, a partial last block, and a large size
SIZES = (1, 2, 15, 16, 17, 31, 32, 33, 100, 1000)


def bits(t):
    """The tensor's values as raw bytes with its dtype and shape (equal means bit for bit)."""
    a = np.ascontiguousarray(t.detach().numpy())
    return a.dtype.str, a.shape, a.tobytes()


def same(ours, theirs):
    a, b = bits(ours), bits(theirs)
    assert a[:2] == b[:2], (a[:2], b[:2])
    if a[2] != b[2]:
        x = np.frombuffer(a[2], a[0]).reshape(a[1])
        y = np.frombuffer(b[2], b[0]).reshape(b[1])
        bad = np.flatnonzero(x.ravel() != y.ravel())
        raise AssertionError(f"{bad.size} of {x.size} values differ, first at {bad[:5]}: "
                             f"{x.ravel()[bad[:5]]} vs {y.ravel()[bad[:5]]}")


@contextlib.contextmanager
def numpy_path():
    """Run tapegrad._random without its compiled loops (the pure numpy definition)."""
    saved = _random._C
    _random._C = None
    try:
        yield
    finally:
        _random._C = saved


def dtypes(engine, torch):
    return ((engine.float32, torch.float32), (engine.float64, torch.float64))
