"""``tapegrad.utils.hooks``: the handle the register_*hook methods return."""

from __future__ import annotations

import itertools
from typing import Any, Dict

__all__ = ["RemovableHandle"]

_next_id = itertools.count().__next__


class RemovableHandle:
    """Returned by ``register_hook`` / ``register_*_hook``: ``remove()`` takes the hook out."""

    def __init__(self, hooks_dict: Dict[int, Any]) -> None:
        self.hooks_dict_ref = hooks_dict
        self.id = _next_id()

    def remove(self) -> None:
        self.hooks_dict_ref.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()
