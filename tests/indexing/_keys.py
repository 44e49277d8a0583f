"""Index keys over a (4, 5, 6) tensor, written once for torch and each engine: a key
is a tuple of items; ('t', data) is an int64 tensor, ('m', data) a bool tensor,
lists, ranges, ints, slices, None and ... are themselves."""

import numpy as np

SHAPE = (4, 5, 6)

_rng = np.random.default_rng(11)
_MASK1 = [True, False, True, True]
_MASK2 = (_rng.random((4, 5)) > 0.5).tolist()

KEYS = [
    (("t", [0, 2, 2, 3]),),
    (("t", [[1, 0], [3, 3]]),),
    (("t", [-1, 0]),),
    ([0, 1],),
    ([[0, 1], [2, 3]],),
    (range(1, 3),),
    (("t", [0, 1]), ("t", [2, 2])),
    ([0, 1], ("t", [4, 0]), ("t", [5, 5])),
    (slice(None), ("t", [0, 4, 4])),
    (slice(None), ("t", [0, 4]), ("t", [1, 2])),
    (("t", [0, 3]), slice(None), ("t", [1, 5])),
    (("t", [0, 3]), slice(1, 4), [1, 5]),
    (("t", [0, 1]), None, ("t", [1, 2])),
    (None, ("t", [0, 1]), ("t", [1, 2])),
    (("t", [0, 1]), 0, ("t", [1, 2])),
    (0, slice(None), ("t", [0, 1])),
    (1, ("t", [0, 1])),
    (Ellipsis, ("t", [0, 5])),
    (("t", [0, 1]), Ellipsis, ("t", [0, 1])),
    (Ellipsis, None, ("t", [1])),
    (True,),
    (False,),
    (True, ("t", [0, 1])),
    (slice(None), True, ("t", [0, 1])),
    (("t", [1]),),
    (("t", [[2]]), slice(None, None, 2)),
    (("m", _MASK1),),
    (("m", _MASK2),),
    (("m", _MASK2), ("t", [0, 5, 1]) if False else slice(1, 3)),
    (_MASK1,),
    (slice(None), ("m", [True, False, False, True, True])),
    (("m", [True, False, False, True]), 2),
    (("t", [[0, 1, 2]]), ("t", [[1], [4]])),
    (("t", []),),
    ([],),
    (slice(3, 1), ("t", [0])),
    (("t", 2), ("t", [0, 1])),
    (slice(None), ("t", 2), ("t", [0, 1])),
    (("m", True),),
    (("m", False), slice(None)),
]


def build(M, item):
    """The key item for module M (torch or an engine)."""
    if isinstance(item, tuple) and len(item) == 2 and item[0] in ("t", "m"):
        kind, data = item
        if kind == "m":
            return M.tensor(data, dtype=bool_dtype(M))
        if isinstance(data, list) and not data:
            return M.zeros(0, dtype=M.int64)
        return M.tensor(data, dtype=M.int64)
    return item


def bool_dtype(M):
    from tapegrad._dtype import bool_
    return getattr(M, "bool", bool_)


def key_for(M, key):
    return tuple(build(M, k) for k in key)
