"""``AdamW`` (torch.optim.adamw's name for it); the class lives beside ``Adam``,
whose update it shares with decoupled weight decay."""

from .adam import AdamW as AdamW

__all__ = ["AdamW"]
