"""Random index keys (hypothesis) against torch: values, gradients and errors."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._tensors import npy
from tests.indexing._keys import bool_dtype


@st.composite
def shapes_and_keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    items, d = [], 0
    n = draw(st.integers(1, len(shape) + 1))
    for _ in range(n):
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "tensor", "mask",
                                     "ellipsis", "bool"]))
        if kind in ("int", "slice", "list", "tensor", "mask") and d >= len(shape):
            kind = "none"
        size = shape[d] if d < len(shape) else 1
        if kind == "int":
            items.append(("int", draw(st.integers(-size, size - 1))))
            d += 1
        elif kind == "slice":
            items.append(("slice", (draw(st.integers(-size, size)),
                                    draw(st.integers(-size, size)), draw(st.integers(1, 3)))))
            d += 1
        elif kind in ("list", "tensor"):
            idx = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=3))
            items.append((kind, idx))
            d += 1
        elif kind == "mask":
            items.append(("mask", draw(st.lists(st.booleans(), min_size=size,
                                                max_size=size))))
            d += 1
        elif kind == "ellipsis" and not any(k == "ellipsis" for k, _ in items):
            items.append(("ellipsis", None))
        elif kind == "bool":
            items.append(("bool", draw(st.booleans())))
        else:
            items.append(("none", None))
    return shape, items


def _key(M, items):
    out = []
    for kind, v in items:
        out.append({"int": lambda: v, "slice": lambda: slice(*v) if v else None,
                    "none": lambda: None, "ellipsis": lambda: Ellipsis, "bool": lambda: v,
                    "list": lambda: list(v), "tensor": lambda: M.tensor(v, dtype=M.int64),
                    "mask": lambda: M.tensor(v, dtype=bool_dtype(M))}[kind]())
    return tuple(out)


def _outcome(M, shape, items):
    x0 = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 0.5 - 3
    x = M.tensor(x0.tolist(), dtype=M.float64, requires_grad=True)
    try:
        y = x[_key(M, items)]
    except (IndexError, RuntimeError, ValueError) as e:
        return ("raises", type(e).__name__)
    if y.numel() and y.requires_grad:
        w = np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape)) + 1
        (y * M.tensor(w.tolist(), dtype=M.float64)).sum().backward()
    grad = npy(x.grad).tolist() if x.grad is not None else None
    return (tuple(y.shape), npy(y).tolist(), grad)


@settings(max_examples=150, deadline=None)
@given(shapes_and_keys())
def test_random_keys_as_torch(engine, torch, case):
    shape, items = case
    assert _outcome(engine, shape, items) == _outcome(torch, shape, items)

