"""``DataLoader`` (torch.utils.data's, in-process only: ``num_workers=0``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Optional, Union

from . import _rng
from ._collate import default_collate, default_convert
from .dataset import Dataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]


class DataLoader:
    """Batches of a map-style dataset: ``batch_size`` samples at a time (the last
    batch shorter unless ``drop_last``), in order or shuffled (``shuffle=True``,
    drawn from ``generator``), put together by ``collate_fn``."""

    def __init__(self, dataset: Dataset[Any], batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler: Union[Sampler[Any], Iterable[Any],
                                                                None] = None,
                 batch_sampler: Union[Sampler[List[Any]], Iterable[List[Any]], None] = None,
                 num_workers: int = 0, collate_fn: Optional[Callable[[List[Any]], Any]] = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context: Any = None, generator: Optional[Any] = None, *,
                 prefetch_factor: Optional[int] = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if num_workers > 0:
            raise NotImplementedError(
                f"DataLoader(num_workers={num_workers}): tapegrad loads data in the calling "
                "process only; pass num_workers=0 (the default)")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle  # type: ignore[arg-type]
                       else SequentialSampler(dataset))                       # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        return _SingleProcessIter(self)

    def __len__(self) -> int:
        return len(self._index_sampler)


class _SingleProcessIter:
    """One pass over a DataLoader. Like torch's, it draws a base seed from the
    loader's generator before the sampler's first draw (the seed torch hands to
    workers), so a shuffled order follows torch's stream."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)
        self._base_seed = _rng.random_int64(loader.generator)
        self._num_yielded = 0

    def __iter__(self) -> "_SingleProcessIter":
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        loader = self._loader
        dataset = loader.dataset
        if loader._auto_collation:
            getitems = getattr(dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [dataset[i] for i in index]
        else:
            data = dataset[index]
        self._num_yielded += 1
        return loader.collate_fn(data)
