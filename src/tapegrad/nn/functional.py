"""``tapegrad.nn.functional``: losses and activations for the active engine."""

from . import _engine  # the engine tapegrad.nn was built for
from .. import _nn

_F = _nn.build(_engine).functional

relu = _F.relu
tanh = _F.tanh
sigmoid = _F.sigmoid
softmax = _F.softmax
log_softmax = _F.log_softmax
linear = _F.linear
mse_loss = _F.mse_loss
nll_loss = _F.nll_loss
cross_entropy = _F.cross_entropy
binary_cross_entropy = _F.binary_cross_entropy

__all__ = ["relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "mse_loss",
           "nll_loss", "cross_entropy", "binary_cross_entropy"]
