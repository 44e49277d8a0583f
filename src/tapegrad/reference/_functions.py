"""torch-style functions mirroring the Tensor methods (``tapegrad.exp(x)`` etc.).

``sum`` and ``dot`` are shared with the scalar API: on Tensors they are the
tensor operations, otherwise ``Value``'s n-ary nodes.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from . import _value
from ._tensor import Tensor

_Real = Union[int, float]
_Num = Optional[Union[_Real, Tensor]]


# The reference Tensor gets its operations at import time (_tensor.py copies them from
# _TensorOps), so mypy sees none of them: _t returns Any.
def _t(x: Any, fn: str) -> Any:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def exp(x: Tensor) -> Tensor: return _t(x, "exp").exp()
def log(x: Tensor) -> Tensor: return _t(x, "log").log()
def tanh(x: Tensor) -> Tensor: return _t(x, "tanh").tanh()
def relu(x: Tensor) -> Tensor: return _t(x, "relu").relu()
def sigmoid(x: Tensor) -> Tensor: return _t(x, "sigmoid").sigmoid()
def abs(x: Tensor) -> Tensor: return _t(x, "abs").abs()
def sqrt(x: Tensor) -> Tensor: return _t(x, "sqrt").sqrt()
def neg(x: Tensor) -> Tensor: return -_t(x, "neg")
def reciprocal(x: Tensor) -> Tensor: return _t(x, "reciprocal").reciprocal()
def clamp(x: Tensor, min: _Num = None, max: _Num = None) -> Tensor:
    return _t(x, "clamp").clamp(min, max)
def clamp_min(x: Tensor, min: _Real) -> Tensor: return _t(x, "clamp_min").clamp_min(min)
def softmax(x: Tensor, dim: Optional[int], dtype: Any = None) -> Tensor:
    return _t(x, "softmax").softmax(dim, dtype)
def log_softmax(x: Tensor, dim: Optional[int], dtype: Any = None) -> Tensor:
    return _t(x, "log_softmax").log_softmax(dim, dtype)
def matmul(x: Tensor, y: Tensor) -> Tensor: return _t(x, "matmul").matmul(y)
def mm(x: Tensor, y: Tensor) -> Tensor: return _t(x, "mm").mm(y)
def mv(x: Tensor, y: Tensor) -> Tensor: return _t(x, "mv").mv(y)
def bmm(x: Tensor, y: Tensor) -> Tensor: return _t(x, "bmm").bmm(y)
def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x, "mean").mean(dim, keepdim)
def max(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    return _t(x, "max").max(dim, keepdim)
def min(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    return _t(x, "min").min(dim, keepdim)
def argmax(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    return _t(x, "argmax").argmax(dim, keepdim)
def argmin(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    return _t(x, "argmin").argmin(dim, keepdim)
def reshape(x: Tensor, *shape: Any) -> Tensor: return _t(x, "reshape").reshape(*shape)
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(x, "flatten").flatten(start_dim, end_dim)
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return _t(x, "transpose").transpose(dim0, dim1)
def t(x: Tensor) -> Tensor: return _t(x, "t").t()
def permute(x: Tensor, *dims: Any) -> Tensor: return _t(x, "permute").permute(*dims)
def unsqueeze(x: Tensor, dim: int) -> Tensor: return _t(x, "unsqueeze").unsqueeze(dim)
def squeeze(x: Tensor, dim: Optional[int] = None) -> Tensor: return _t(x, "squeeze").squeeze(dim)
def pow(x: Any, exponent: Any) -> Tensor:
    if isinstance(exponent, Tensor) and not isinstance(x, Tensor):
        return x ** exponent            # torch.pow(number, tensor): PowBackward2
    return _t(x, "pow") ** exponent
def add(x: Tensor, y: Any, alpha: _Real = 1) -> Tensor: return _t(x, "add").add(y, alpha=alpha)
def sub(x: Tensor, y: Any, alpha: _Real = 1) -> Tensor: return _t(x, "sub").sub(y, alpha=alpha)
def mul(x: Tensor, y: Any) -> Tensor: return _t(x, "mul") * y
def div(x: Tensor, y: Any) -> Tensor: return _t(x, "div") / y
def clone(x: Tensor) -> Tensor: return _t(x, "clone").clone()
def numel(x: Tensor) -> int: return _t(x, "numel").numel()
def is_tensor(x: object) -> bool: return isinstance(x, Tensor)
def is_floating_point(x: Tensor) -> bool: return _t(x, "is_floating_point").is_floating_point()


def sum(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    """Tensor sum (``sum(t, dim, keepdim)``) or, for an iterable of Values and
    numbers, the scalar API's one-node sum."""
    if isinstance(x, Tensor):
        return x.sum(dim, keepdim, dtype=dtype)  # type: ignore[attr-defined]
    if dim is not None or keepdim or dtype is not None:
        raise TypeError("sum(values) of Values takes no dim/keepdim/dtype")
    return _value.sum(x)


def dot(x: Any, y: Any) -> Any:
    """torch.dot of two 1-D Tensors, or the scalar API's one-node dot of two sequences."""
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
            other = y if isinstance(x, Tensor) else x
            raise TypeError(f"dot(): argument 'tensor' must be Tensor, not "
                            f"{type(other).__name__}")
        return x.dot(y)  # type: ignore[attr-defined]
    return _value.dot(x, y)
