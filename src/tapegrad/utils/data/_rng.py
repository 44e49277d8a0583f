"""The random numbers ``tapegrad.utils.data`` draws, in torch's calls:
``torch.empty((), dtype=torch.int64).random_(generator=g).item()`` and
``torch.randperm(n, generator=g)``, on tapegrad's torch-identical streams
(``tapegrad.Generator``, ``tapegrad.randperm``, ``Tensor.random_``)."""

from __future__ import annotations

from typing import Any, List, Optional


def _engine() -> Any:
    """The ``tapegrad`` package (its names: the active engine's and the shared ones)."""
    import tapegrad
    return tapegrad


def Generator() -> Any:
    """A new tapegrad.Generator."""
    return _engine().Generator()


def random_int64(generator: Optional[Any] = None) -> int:
    """torch.empty((), dtype=torch.int64).random_(generator=generator).item()."""
    eng = _engine()
    return int(eng.empty((), dtype=eng.int64).random_(generator=generator).item())


def randperm(n: int, generator: Optional[Any] = None) -> List[int]:
    """torch.randperm(n, generator=generator).tolist()."""
    return _engine().randperm(n, generator=generator).tolist()
