"""``tapegrad.utils.data``: torch.utils.data's map-style datasets, samplers,
``DataLoader`` (in-process) and ``random_split``, one source for both engines
(``from torch.utils.data import DataLoader`` works under ``import tapegrad as
torch`` once ``sys.modules`` aliases it, as the tutorials' import line expects)."""

from ._collate import default_collate as default_collate, default_convert as default_convert
from .dataloader import DataLoader as DataLoader
from .dataset import (
    ConcatDataset as ConcatDataset,
    Dataset as Dataset,
    Subset as Subset,
    TensorDataset as TensorDataset,
    random_split as random_split,
)
from .sampler import (
    BatchSampler as BatchSampler,
    RandomSampler as RandomSampler,
    Sampler as Sampler,
    SequentialSampler as SequentialSampler,
)

__all__ = ["Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split",
           "DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler",
           "default_collate", "default_convert"]
