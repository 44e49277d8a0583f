"""``tapegrad.nn.utils``: gradient clipping (torch.nn.utils's clip_grad_norm_ and
clip_grad_value_)."""

from .clip_grad import clip_grad_norm_ as clip_grad_norm_, clip_grad_value_ as clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
