"""``tapegrad.optim``: SGD and Adam (``tapegrad._optim``) for the active engine."""

from . import _active, _layers, _optim

_layers.export(globals(), _optim.build(_active))
