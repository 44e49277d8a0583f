"""``tapegrad.reference.nn.functional``: losses and activations for the reference engine."""

from ... import _layers, _nn
from ... import reference as _engine

_layers.export(globals(), _nn.build(_engine).functional)
