"""``tapegrad.nn``: the shared nn layer (``tapegrad._nn``) built for the active
engine (``tapegrad.ENGINE``)."""

from .. import _active, _layers, _nn

_layers.export(globals(), _nn.build(_active), skip=("functional",))

from . import functional  # noqa: E402
