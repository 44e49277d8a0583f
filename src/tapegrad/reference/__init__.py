"""tapegrad's pure-Python reference engine.

The same API and semantics as the compiled engine (see ``tapegrad``), written
in plain Python over the op table of ``tapegrad._ops``: a readable definition
of what the compiled engine computes, and a fallback where it is unavailable
(``TAPEGRAD_PURE_PYTHON=1``).
"""

from ._value import ENGINE, Value, clear_tape, dot, sum, tape_stats

__all__ = ["ENGINE", "Value", "clear_tape", "dot", "sum", "tape_stats"]
