"""``tapegrad.nn.functional``: losses and activations for the active engine."""

from .. import _active, _layers, _nn

_layers.export(globals(), _nn.build(_active).functional)
