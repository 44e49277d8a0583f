"""``default_collate`` and ``default_convert`` (torch.utils.data's rules): a batch of
tensors is stacked, of numbers made a tensor (float64 for floats), of mappings and
sequences collated field by field; strings stay lists."""

from __future__ import annotations

import collections.abc
import numbers
from typing import Any, List, Sequence

import numpy as np

from ... import _backend

__all__ = ["default_collate", "default_convert"]

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
        "lists; found {}")


def _stack(batch: Sequence[Any]) -> Any:
    """torch.stack(batch, 0), through the batch's engine."""
    eng = _backend.engine_of(batch[0])
    stack = getattr(eng, "stack", None)
    if stack is not None:
        return stack(list(batch), 0)
    first = tuple(batch[0].shape)
    for i, t in enumerate(batch):
        if tuple(t.shape) != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first)} at entry 0 and {list(t.shape)} at entry {i}")
    return eng.from_numpy(np.stack([t.detach().numpy() for t in batch]))


def default_collate(batch: List[Any]) -> Any:
    """Put a list of samples together as one batch (torch's default_collate)."""
    elem = batch[0]
    eng = _backend.tensor_engine(elem)
    if eng is not None:
        return _stack(batch)
    active = _backend.default_engine()
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SaUO":
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([active.from_numpy(np.ascontiguousarray(b)) for b in batch])
    if isinstance(elem, np.generic):
        return active.tensor(np.asarray(batch).tolist())
    if isinstance(elem, float):
        return active.tensor(batch, dtype=active.float64)
    if isinstance(elem, numbers.Integral) and not isinstance(elem, bool):
        return active.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)           # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):       # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return type(elem)(transposed)         # type: ignore[call-arg]
        except TypeError:
            return transposed
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """A sample as it is, numpy arrays made tensors (no batching: batch_size=None)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SaUO":
        return _backend.default_engine().from_numpy(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})  # type: ignore[call-arg]
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data
