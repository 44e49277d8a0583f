"""``tapegrad.utils``: ``data`` (torch.utils.data's datasets and loader)."""

from . import data as data

__all__ = ["data"]
