"""torch-style functions mirroring the Tensor methods (``tapegrad.exp(x)`` etc.).

``sum`` and ``dot`` are shared with the scalar API: on Tensors they are the
tensor operations, otherwise ``Value``'s n-ary nodes.
"""

from . import _value
from ._tensor import Tensor


def _t(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def exp(x): return _t(x, "exp").exp()
def log(x): return _t(x, "log").log()
def tanh(x): return _t(x, "tanh").tanh()
def relu(x): return _t(x, "relu").relu()
def sigmoid(x): return _t(x, "sigmoid").sigmoid()
def abs(x): return _t(x, "abs").abs()
def sqrt(x): return _t(x, "sqrt").sqrt()
def neg(x): return -_t(x, "neg")
def reciprocal(x): return _t(x, "reciprocal").reciprocal()
def clamp(x, min=None, max=None): return _t(x, "clamp").clamp(min, max)
def clamp_min(x, min): return _t(x, "clamp_min").clamp_min(min)
def softmax(x, dim, dtype=None): return _t(x, "softmax").softmax(dim, dtype)
def log_softmax(x, dim, dtype=None): return _t(x, "log_softmax").log_softmax(dim, dtype)
def matmul(x, y): return _t(x, "matmul").matmul(y)
def mm(x, y): return _t(x, "mm").mm(y)
def mv(x, y): return _t(x, "mv").mv(y)
def bmm(x, y): return _t(x, "bmm").bmm(y)
def mean(x, dim=None, keepdim=False): return _t(x, "mean").mean(dim, keepdim)
def max(x, dim=None, keepdim=False): return _t(x, "max").max(dim, keepdim)
def min(x, dim=None, keepdim=False): return _t(x, "min").min(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return _t(x, "argmax").argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return _t(x, "argmin").argmin(dim, keepdim)
def reshape(x, *shape): return _t(x, "reshape").reshape(*shape)
def flatten(x, start_dim=0, end_dim=-1): return _t(x, "flatten").flatten(start_dim, end_dim)
def transpose(x, dim0, dim1): return _t(x, "transpose").transpose(dim0, dim1)
def t(x): return _t(x, "t").t()
def permute(x, *dims): return _t(x, "permute").permute(*dims)
def unsqueeze(x, dim): return _t(x, "unsqueeze").unsqueeze(dim)
def squeeze(x, dim=None): return _t(x, "squeeze").squeeze(dim)
def pow(x, exponent): return _t(x, "pow") ** exponent
def add(x, y, alpha=1): return _t(x, "add").add(y, alpha=alpha)
def sub(x, y, alpha=1): return _t(x, "sub").sub(y, alpha=alpha)
def mul(x, y): return _t(x, "mul") * y
def div(x, y): return _t(x, "div") / y
def clone(x): return _t(x, "clone").clone()
def numel(x): return _t(x, "numel").numel()
def is_tensor(x): return isinstance(x, Tensor)
def is_floating_point(x): return _t(x, "is_floating_point").is_floating_point()


def sum(x, dim=None, keepdim=False, dtype=None):
    """Tensor sum (``sum(t, dim, keepdim)``) or, for an iterable of Values and
    numbers, the scalar API's one-node sum."""
    if isinstance(x, Tensor):
        return x.sum(dim, keepdim, dtype=dtype)
    if dim is not None or keepdim or dtype is not None:
        raise TypeError("sum(values) of Values takes no dim/keepdim/dtype")
    return _value.sum(x)


def dot(x, y):
    """torch.dot of two 1-D Tensors, or the scalar API's one-node dot of two sequences."""
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
            other = y if isinstance(x, Tensor) else x
            raise TypeError(f"dot(): argument 'tensor' must be Tensor, not "
                            f"{type(other).__name__}")
        return x.dot(y)
    return _value.dot(x, y)
