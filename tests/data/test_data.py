"""tapegrad.utils.data against torch.utils.data: datasets, batching, collation,
shuffling with a generator, random_split, Subset, and the torch import line."""

import subprocess
import sys
import textwrap
from collections import namedtuple

import numpy as np
import pytest

from _tensors import npy



def _data(M, n=10):
    X = M.tensor(np.arange(n * 3, dtype=np.float64).reshape(n, 3).tolist())
    y = M.tensor(list(range(n)))
    return X, y


def _batches(loader):
    return [tuple(npy(t).tolist() for t in batch) for batch in loader]


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True),
                                                  (4, True), (10, False), (32, False)])
def test_sequential_batches_as_torch(engine, torch, batch_size, drop_last):
    import tapegrad.utils.data as D
    ours = D.DataLoader(D.TensorDataset(*_data(engine)), batch_size=batch_size,
                        drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*_data(torch)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert _batches(ours) == _batches(theirs)
    X, y = next(iter(ours))
    assert X.dtype == engine.float32 and y.dtype == engine.int64
    assert tuple(X.shape) == (min(batch_size, 10), 3)


def test_tensor_dataset(engine, torch):
    import tapegrad.utils.data as D
    X, y = _data(engine)
    ds = D.TensorDataset(X, y)
    assert len(ds) == 10
    a, b = ds[4]
    assert npy(a).tolist() == [12.0, 13.0, 14.0] and b.item() == 4
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(X, engine.zeros(3))


class _Samples:
    """A dataset of Python structures: numbers, tuples, dicts, namedtuples, strings."""
    Pair = namedtuple("Pair", "a b")

    def __init__(self, M):
        self.M = M

    def __len__(self):
        return 5

    def __getitem__(self, i):
        M = self.M
        return {"x": M.tensor([float(i), 2.0 * i]), "label": i, "w": 0.5 * i,
                "pair": self.Pair(i, M.tensor(float(i))), "name": f"s{i}",
                "nested": (i, [1.5 * i, i])}


def _plain(obj):
    """Python structure of a collated batch, tensors as (dtype name, values)."""
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):
        return (str(obj.dtype).split(".")[-1], npy(obj).tolist())
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__,) + tuple(_plain(v) for v in obj)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return obj


def test_default_collate_as_torch(engine, torch):
    import tapegrad.utils.data as D
    ours = [_plain(b) for b in D.DataLoader(_Samples(engine), batch_size=2)]
    theirs = [_plain(b) for b in torch.utils.data.DataLoader(_Samples(torch), batch_size=2)]
    assert ours == theirs
    assert ours[0]["w"][0] == "float64" and ours[0]["label"][0] == "int64"
    assert ours[0]["nested"][0] == "list"                # a tuple field comes back a list
    with pytest.raises(RuntimeError, match="each element in list of batch should be of "
                                           "equal size"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        D.default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        D.default_collate([engine.zeros(2), engine.zeros(3)])


def test_batch_size_none_and_custom_collate(engine, torch):
    import tapegrad.utils.data as D
    ds = D.TensorDataset(*_data(engine, 4))
    items = list(D.DataLoader(ds, batch_size=None))
    assert len(items) == 4 and npy(items[2][0]).tolist() == [6.0, 7.0, 8.0]
    sums = list(D.DataLoader(ds, batch_size=2, collate_fn=lambda b: sum(int(y) for _, y in b)))
    assert sums == [1, 5]


def test_loader_options_checked_as_torch(engine, torch):
    import tapegrad.utils.data as D
    for M, DL in ((engine, D), (torch, torch.utils.data)):
        ds = DL.TensorDataset(*_data(M))
        with pytest.raises(ValueError, match="num_workers option should be non-negative"):
            DL.DataLoader(ds, num_workers=-1)
        with pytest.raises(ValueError, match="sampler option is mutually exclusive with "
                                             "shuffle"):
            DL.DataLoader(ds, shuffle=True, sampler=DL.SequentialSampler(ds))
        with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
            DL.DataLoader(ds, batch_size=2,
                          batch_sampler=DL.BatchSampler(DL.SequentialSampler(ds), 2, False))
        with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
            DL.DataLoader(ds, batch_size=None, drop_last=True)
        with pytest.raises(ValueError, match="batch_size should be a positive integer"):
            DL.DataLoader(ds, batch_size=0)
    with pytest.raises(NotImplementedError, match=r"num_workers=2.*num_workers=0"):
        D.DataLoader(D.TensorDataset(*_data(engine)), num_workers=2)


def _order(loader):
    return [int(i) for _, y in loader for i in npy(y).tolist()]


def test_shuffle_is_a_permutation_and_seeded(engine):
    import tapegrad
    import tapegrad.utils.data as D
    from tapegrad.utils.data import _rng
    ds = D.TensorDataset(*_data(engine, 25))
    loader = D.DataLoader(ds, batch_size=4, shuffle=True)
    first, second = _order(loader), _order(loader)
    assert sorted(first) == sorted(second) == list(range(25))
    assert first != second                               # a new order each pass
    g1, g2 = _rng.Generator(), _rng.Generator()
    g1.manual_seed(3)
    g2.manual_seed(3)
    a = _order(D.DataLoader(ds, batch_size=4, shuffle=True, generator=g1))
    b = _order(D.DataLoader(ds, batch_size=4, shuffle=True, generator=g2))
    assert a == b and sorted(a) == list(range(25))
    tapegrad.manual_seed(11)
    c = _order(loader)
    tapegrad.manual_seed(11)
    assert _order(loader) == c                          # no generator: the global seed


def test_shuffle_order_as_torch(engine, torch):
    import tapegrad
    import tapegrad.utils.data as D
    ds = D.TensorDataset(*_data(engine, 25))
    g = tapegrad.Generator().manual_seed(5)
    ours = _order(D.DataLoader(ds, batch_size=4, shuffle=True, generator=g))
    tg = torch.Generator().manual_seed(5)
    tds = torch.utils.data.TensorDataset(*_data(torch, 25))
    theirs = _order(torch.utils.data.DataLoader(tds, batch_size=4, shuffle=True,
                                                generator=tg))
    assert ours == theirs


def test_random_split_as_torch(engine, torch):
    import tapegrad
    import tapegrad.utils.data as D
    ours = D.random_split(range(30), [0.3, 0.3, 0.4],
                          generator=tapegrad.Generator().manual_seed(42))
    theirs = torch.utils.data.random_split(range(30), [0.3, 0.3, 0.4],
                                           generator=torch.Generator().manual_seed(42))
    assert [list(s) for s in ours] == [list(s) for s in theirs]


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]),
                                       (7, [0.1, 0.2, 0.7]), (5, [5, 0])])
def test_random_split_lengths_as_torch(torch, n, lengths):
    import tapegrad.utils.data as D
    ours = D.random_split(range(n), lengths)
    theirs = torch.utils.data.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(n))
    assert all(isinstance(s, D.Subset) for s in ours)
    for DL in (D, torch.utils.data):
        with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
            DL.random_split(range(n), [n, 1])
        with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
            DL.random_split(range(n), [1.5, -0.5])


def test_subset_and_concat(engine):
    import tapegrad.utils.data as D
    ds = D.TensorDataset(*_data(engine))
    sub = D.Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[1][1].item() == 2
    assert [int(y) for _, y in sub] == [7, 2, 5]
    both = sub + D.Subset(ds, [0])
    assert len(both) == 4 and both[3][1].item() == 0 and both[-1][1].item() == 0
    assert _order(D.DataLoader(sub, batch_size=2)) == [7, 2, 5]


def test_dataset_base_class():
    import tapegrad.utils.data as D

    class Squares(D.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return float(i * i)

    assert [npy(b).tolist() for b in D.DataLoader(Squares(), batch_size=3)] == \
        [[0.0, 1.0, 4.0], [9.0]]
    with pytest.raises(NotImplementedError):
        D.Dataset()[0]


def test_torch_import_line_under_the_alias():
    """``from torch.utils.data import DataLoader`` after aliasing torch to tapegrad."""
    code = textwrap.dedent("""
        import sys
        import tapegrad
        sys.modules["torch"] = tapegrad
        import torch
        from torch.utils.data import DataLoader, TensorDataset, random_split
        from torch.nn.utils import clip_grad_norm_
        X = torch.ones(6, 2)
        y = torch.tensor([0, 1, 2, 3, 4, 5])
        batches = [b[1].tolist() for b in DataLoader(TensorDataset(X, y), batch_size=4)]
        assert batches == [[0, 1, 2, 3], [4, 5]], batches
        assert DataLoader.__module__.startswith(("tapegrad", "torch.utils"))
        print("ok")
    """)
    import os

    import tapegrad
    where = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env = dict(os.environ, PYTHONPATH=where + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
