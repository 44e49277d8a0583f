"""Printing tensors exactly like torch (``torch/_tensor_str.py``), from numpy arrays.

Shared by both engines: an engine hands its values over as a numpy array
(float32, float64, int64 or bool) plus what goes after them, and gets torch's
text back::

    tensor_repr(np.array([16., 24., 8.], np.float32))   -> 'tensor([16., 24.,  8.])'
    tensor_repr(np.float32(51.666668), grad_fn="MeanBackward0")
                                      -> 'tensor(51.6667, grad_fn=<MeanBackward0>)'

The rules are torch's: one formatter for the whole tensor (precision 4;
"int mode" ``1.`` when every finite value is an integer; scientific notation
when max/min of the nonzero finite magnitudes exceeds 1000, the max exceeds
1e8 or the min is below 1e-4; every element padded to the widest), rows
wrapped at 80 columns, nested brackets indented under the first, and tensors
of more than 1000 elements summarised with ``...`` (3 items at each edge).
"""

import math

from typing import Any, Dict, Optional, Union

import numpy as np

__all__ = ["get_printoptions", "set_printoptions", "tensor_repr", "tensor_str"]


class _PrintOptions:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision: Optional[int] = None,
                     threshold: Optional[Union[int, float]] = None,
                     edgeitems: Optional[int] = None, linewidth: Optional[int] = None,
                     profile: Optional[str] = None, sci_mode: Optional[bool] = None) -> None:
    """torch.set_printoptions: the same options, the same profiles."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                   "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"unknown print profile {profile!r}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = presets[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> Dict[str, Any]:
    return {k: getattr(PRINT_OPTS, k) for k in _PrintOptions.__slots__}


class _Formatter:
    """Decides int/sci mode and the common width from the values to be shown."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        p = PRINT_OPTS.precision

        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return

        nz = flat[np.isfinite(flat) & (flat != 0)]
        if nz.size == 0:
            return
        mags = np.abs(nz).astype(np.float64)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        vals = nz.tolist()
        if self.sci_mode:
            width = max(len(f"{v:.{p}e}") for v in vals)
        elif self.int_mode:
            width = max(len(f"{v:.0f}") for v in vals) + 1
        else:
            width = max(len(f"{v:.{p}f}") for v in vals)
        self.max_width = max(self.max_width, width)

    def format(self, value):
        if self.floating:
            if self.sci_mode:
                s = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            s = f"{value}"
        return (self.max_width - len(s)) * " " + s


def _summarized(a):
    """The elements a summarised print shows (torch's get_summarized_data)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return a[tuple(slice(0, 0) for _ in a.shape)]
    rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0])) \
        if a.shape[0] > 2 * e else range(a.shape[0])
    return np.stack([_summarized(a[i]) for i in rows])


def _vector_str(a, indent, summarize, fmt):
    element_length = fmt.max_width + 2     # with ", "
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = ([fmt.format(v) for v in a[:e].tolist()] + [" ..."]
                + [fmt.format(v) for v in a[-e:].tolist()])
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _str_with_formatter(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        slices = ([_str_with_formatter(a[i], indent + 1, summarize, fmt) for i in range(e)]
                  + ["..."]
                  + [_str_with_formatter(a[i], indent + 1, summarize, fmt)
                     for i in range(n - e, n)])
    else:
        slices = [_str_with_formatter(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def tensor_str(array: Any, indent: int = 0) -> str:
    """The bracketed values of a tensor as torch prints them (no prefix/suffixes)."""
    a = np.asarray(array)
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _str_with_formatter(a, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        # Lay out as torch does: measure "dtype=tapegrad.float64" as torch's
        # "dtype=torch.float64", so that lines break where torch breaks them.
        n = len(suffix)
        if suffix.startswith("dtype=" + _DTYPE_PREFIX):
            n -= len(_DTYPE_PREFIX) - len("torch.")
        if last_line_len + n + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + n
        else:
            parts.append(", " + suffix)
            last_line_len += n + 2
    parts.append(")")
    return "".join(parts)


_DEFAULT_DTYPES = ("float32", "int64", "bool")
_DTYPE_PREFIX = "tapegrad."


def tensor_repr(array: Any, dtype_name: Optional[str] = None, grad_fn: Optional[str] = None,
                requires_grad: bool = False, prefix: str = "tensor(") -> str:
    """torch's repr of a tensor holding ``array``.

    dtype_name: "float32", "float64", "int64" or "bool" (default: the array's);
    grad_fn: the node's torch name, e.g. "MulBackward0", or None;
    requires_grad: adds ``requires_grad=True`` when there is no grad_fn;
    prefix: "tensor(" (a subclass other than Parameter prints its class name).
    """
    a = np.asarray(array)
    if dtype_name is None:
        dtype_name = "bool" if a.dtype == np.bool_ else a.dtype.name
    indent = len(prefix)
    suffixes = []
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dtype_name != "float32":
            suffixes.append("dtype=" + _DTYPE_PREFIX + dtype_name)
        text = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dtype_name not in _DEFAULT_DTYPES:
            suffixes.append("dtype=" + _DTYPE_PREFIX + dtype_name)
        text = tensor_str(a, indent)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + text, suffixes, indent)


def invalid_gradient(grad_fn: Optional[str], index: int, got: Any, want: Any) -> str:
    """The text of torch's "invalid gradient" RuntimeError, for both engines: a
    gradient of layout ``got`` = (shape, dtype) where ``want`` is needed (a ``.data =``
    of another layout since the graph was recorded). ``grad_fn`` is the node that
    produced it, None for the gradient given to backward()."""
    if list(got[0]) != list(want[0]):
        what = (f"got {list(got[0])} but expected shape compatible with "
                f"{list(want[0])}")
    else:
        what = f"expected dtype {want[1]} but got {got[1]}"
    head = "invalid gradient" if grad_fn is None else f"Function {grad_fn} returned an " \
                                                      f"invalid gradient"
    return (f"{head} at index {index} - {what} (.data of a tensor in the graph was "
            f"replaced by one of another shape or dtype after the graph was recorded; "
            f"compute the graph again from the new data)")


def value_op_label(op: Any, c: float) -> str:
    """micrograd's ``Value._op`` for a node made by ``op`` (an ``_ops.Op``) with constant
    ``c``: the op's symbol, and for ``x ** c`` the exponent too (``'**2'``), as micrograd
    writes ``f'**{other}'``."""
    if op.name != "pow_const":
        return op.symbol
    return f"**{int(c)}" if c.is_integer() and abs(c) < 2 ** 53 else f"**{c!r}"


def broadcast_error(op: str, sa: Any, sb: Any) -> RuntimeError:
    """torch's RuntimeError for two shapes that do not broadcast, naming the op."""
    sa, sb = tuple(sa), tuple(sb)
    detail = ""
    for k in range(1, max(len(sa), len(sb)) + 1):
        da = sa[-k] if k <= len(sa) else 1
        db = sb[-k] if k <= len(sb) else 1
        if da != db and da != 1 and db != 1:
            detail = (f": the size of tensor a ({da}) must match the size of tensor b ({db}) "
                      f"at non-singleton dimension {max(len(sa), len(sb)) - k}")
            break
    return RuntimeError(f"{op}: shapes {sa} and {sb} cannot be broadcast{detail}")


UNUSED_INPUT = ("One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.")
