"""``tapegrad.reference.autograd``: Variable, grad and backward for the reference engine."""

from .. import _autograd, _layers
from .. import reference as _engine

_layers.export(globals(), _autograd.build(_engine))
