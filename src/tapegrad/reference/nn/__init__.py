"""``tapegrad.reference.nn``: the shared nn layer (``tapegrad._nn``) built for the
pure-Python reference engine."""

from ... import _layers, _nn
from ... import reference as _engine

_layers.export(globals(), _nn.build(_engine), skip=("functional",))

from . import functional  # noqa: E402
