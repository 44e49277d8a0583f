"""tapegrad: reverse-mode autodiff on a flat tape with a compiled C core.

``import tapegrad`` gives the compiled engine; set ``TAPEGRAD_PURE_PYTHON=1``
before the import to get the pure-Python reference engine instead.
``tapegrad.ENGINE`` says which one is active ("c" or "python"), and
``tapegrad.reference`` is always the pure-Python engine.
"""

import os as _os

from ._version import __version__
from . import reference

if _os.environ.get("TAPEGRAD_PURE_PYTHON", "") not in ("", "0"):
    from .reference import ENGINE, Value, clear_tape, dot, sum, tape_stats
else:
    # A missing or broken extension is an ImportError here, never a silent fallback.
    from ._engine import ENGINE, Value, clear_tape, dot, sum, tape_stats

__all__ = [
    "ENGINE", "Value", "clear_tape", "dot", "reference", "sum", "tape_stats", "__version__",
]
