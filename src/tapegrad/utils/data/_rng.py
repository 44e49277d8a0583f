"""The random numbers ``tapegrad.utils.data`` draws, in torch's calls:
``torch.empty((), dtype=torch.int64).random_(generator=g).item()`` and
``torch.randperm(n, generator=g)``. They use ``tapegrad.Generator``,
``tapegrad.randperm`` and ``Tensor.random_`` when the engine has them (torch's
streams); until then a private stand-in draws from tapegrad's numpy generator
(seeded by ``tapegrad.manual_seed``), so orders are reproducible but not torch's."""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from ... import _random

_INT64_SPAN = 1 << 63


class _StandInGenerator:
    """A stand-in for ``tapegrad.Generator`` (manual_seed, initial_seed)."""

    def __init__(self, device: str = "cpu") -> None:
        self._seed = int(np.random.default_rng().integers(0, _INT64_SPAN))
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "_StandInGenerator":
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed & (2 ** 64 - 1))
        return self

    def initial_seed(self) -> int:
        return self._seed


def _engine() -> Any:
    """The ``tapegrad`` package (its names: the active engine's and the shared ones)."""
    import tapegrad
    return tapegrad


def Generator() -> Any:
    """A new generator: tapegrad.Generator() when the engine has one."""
    cls = getattr(_engine(), "Generator", None)
    return cls() if cls is not None else _StandInGenerator()


def _numpy_rng(generator: Optional[Any]) -> np.random.Generator:
    if generator is None:
        return _random._rng
    if isinstance(generator, _StandInGenerator):
        return generator._rng
    raise TypeError(f"expected a tapegrad Generator, got {type(generator).__name__}")


def random_int64(generator: Optional[Any] = None) -> int:
    """torch.empty((), dtype=torch.int64).random_(generator=generator).item()."""
    eng = _engine()
    if hasattr(eng, "Generator") and hasattr(eng.Tensor, "random_"):
        return int(eng.empty((), dtype=eng.int64).random_(generator=generator).item())
    return int(_numpy_rng(generator).integers(0, _INT64_SPAN))


def randperm(n: int, generator: Optional[Any] = None) -> List[int]:
    """torch.randperm(n, generator=generator).tolist()."""
    eng = _engine()
    if hasattr(eng, "randperm"):
        return eng.randperm(n, generator=generator).tolist()
    return [int(i) for i in _numpy_rng(generator).permutation(n)]
