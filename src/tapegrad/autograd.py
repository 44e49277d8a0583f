"""``tapegrad.autograd``: Variable, grad and backward for the active engine."""

from . import _active, _autograd, _layers

_layers.export(globals(), _autograd.build(_active))
