"""``tapegrad.reference.optim``: SGD and Adam (``tapegrad._optim``) for the reference engine."""

from .. import _layers, _optim
from .. import reference as _engine

_layers.export(globals(), _optim.build(_engine))
