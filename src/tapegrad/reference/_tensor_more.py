"""The reference engine's primitives for issue 11 item 5 (the same as the compiled
engine's ``_tensor_more.pxi``), in numpy, recorded with the table's rows; the
shared methods of ``tapegrad._functions_more`` are bound onto ``Tensor`` here."""

import numpy as np

from .. import _functions_more as _FM
from ._tensor import Tensor
from ._tensor_ops import _broadcast_error, _common, _result


def _float(x):
    a = x._data
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def _rint(a):
    return np.rint(a)


def _rounded(fn):
    """fn in float64, rounded once to float32 for float32 input (numpy's own float32
    transcendental functions can be 1 ulp off the C library's, which torch matches)."""
    def f(a):
        return fn(a.astype(np.float64)).astype(a.dtype) if a.dtype == np.float32 else fn(a)
    return f


_UNARY = {
    "sin": _rounded(np.sin), "cos": _rounded(np.cos), "tan": _rounded(np.tan),
    "log10": _rounded(np.log10), "log2": _rounded(np.log2), "log1p": _rounded(np.log1p),
    "expm1": _rounded(np.expm1), "rsqrt": _rounded(lambda a: 1.0 / np.sqrt(a)),
    "sign": lambda a: np.where(np.isnan(a), a.dtype.type(0), np.sign(a)), "floor": np.floor,
    "ceil": np.ceil, "round": _rint,
}


def _more_unary(self, name):
    with np.errstate(all="ignore"):
        return _result(_UNARY[name](_float(self)), name, (self,))


def _more_binary(self, other, name):
    a, b, _, _ = _common(self, other)
    if a.dtype.kind != "f":
        a, b = a.astype(np.float32), b.astype(np.float32)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise _broadcast_error(name, self, other) from None
    fn = np.maximum if name == "maximum" else np.minimum     # both propagate nan
    return _result(fn(a, b), name, (self, other))


def _along(a, name, d, keepdim, param):
    axis = d
    with np.errstate(all="ignore"):
        if name == "cumsum":
            return np.cumsum(a, axis=0 if a.ndim == 0 else d, dtype=np.float64).astype(
                a.dtype).reshape(a.shape)
        if name == "prod":
            out = np.prod(a.astype(np.float64), axis=axis, keepdims=keepdim)
        elif name == "logsumexp":
            m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros((1,) * a.ndim)
            m = np.where(np.isinf(m), 0.0, m)
            out = np.log(np.sum(np.exp(a.astype(np.float64) - m), axis=axis, keepdims=True)) + m
            if not keepdim:
                out = np.squeeze(out, axis) if axis is not None else out.reshape(())
        elif name in ("var", "std"):
            x = a.astype(np.float64)
            n = x.size if axis is None else (x.shape[axis] if x.ndim else 1)
            ss = np.sum((x - np.mean(x, axis=axis, keepdims=True)) ** 2, axis=axis,
                        keepdims=keepdim)
            out = ss / max(n - param, 0.0)
            if name == "std":
                out = np.sqrt(out)
        else:   # norm
            x = np.abs(a.astype(np.float64))
            if np.isinf(param):
                fn = np.max if param > 0 else np.min
                out = fn(x, axis=axis, keepdims=keepdim) if x.size else np.zeros(())
            elif param == 0:
                out = np.sum(x != 0, axis=axis, keepdims=keepdim).astype(np.float64)
            elif param == 2:
                out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdim))
            elif param == 1:
                out = np.sum(x, axis=axis, keepdims=keepdim)
            else:
                out = np.sum(x ** param, axis=axis, keepdims=keepdim) ** (1.0 / param)
    out = np.asarray(out)
    if keepdim and axis is None:
        out = out.reshape((1,) * a.ndim)
    return out.astype(a.dtype)


def _more_along(self, name, dim, keepdim, param):
    from ._tensor_ops import _DtypeError
    a = self._data
    if a.dtype.kind != "f":
        raise _DtypeError(f"{name}: integer tensor arithmetic is not supported by tapegrad; "
                          "convert with .float() or create them with dtype=tapegrad.float32")
    d = None if a.ndim == 0 else dim
    out = _along(a, name, d, keepdim, param)
    if name in ("var", "std"):
        return _result(out, name, (self,), (d, param, keepdim))
    if name == "norm":
        return _result(out, name, (self,), (param, d, keepdim))
    if name == "cumsum":
        return _result(out, name, (self,), d if d is not None else 0)
    op = "prod_dim" if (name == "prod" and dim is not None) else name
    return _result(out, op, (self,), (d, keepdim))


def _more_cat2(self, other, dim, name):
    data = np.concatenate([self._data, other._data], axis=dim)
    return _result(data, name, (self, other), (dim, self._data.shape[dim],
                                               other._data.shape[dim]))


def _more_take(self, indices, dim, name):
    data = np.take_along_axis(self._data, indices._data, axis=dim)
    return _result(data, name, (self,), (self._data.shape, dim, indices._data))


def _more_roll1(self, shift, dim):
    a = self._data
    if dim < 0:
        data = np.roll(a.reshape(-1), shift).reshape(a.shape)
        return _result(data, "roll", (self,), (shift, None))
    return _result(np.roll(a, shift, dim), "roll", (self,), ((shift,), (dim,)))


def _more_tile(self, repeats):
    a = self._data
    return _result(np.tile(a, repeats), "repeat", (self,), (tuple(repeats), a.shape))


def _more_flip(self, dims):
    a = self._data
    data = np.flip(a, dims).copy() if a.ndim else a.copy()
    return _result(data, "flip", (self,), dims)


def _more_part(self, dim, start, length, drop, name):
    a = self._data
    index = (slice(None),) * dim + ((start,) if drop else (slice(start, start + length),))
    return self._view_result(a[index], name, (a.shape, index))


def _more_expand(self, shape):
    return self.expand(*shape)


_PRIMITIVES = dict(
    _more_unary=_more_unary, _more_binary=_more_binary, _more_along=_more_along,
    _more_cat2=_more_cat2, _more_take=_more_take, _more_roll1=_more_roll1,
    _more_tile=_more_tile, _more_flip=_more_flip, _more_part=_more_part,
    _more_expand=_more_expand)

for _name, _fn in list(_PRIMITIVES.items()) + list(_FM.METHODS.items()) + list(
        _FM.ARITH.items()):
    if _name not in vars(Tensor) and not any(_name in vars(b) for b in Tensor.__mro__[1:-1]):
        setattr(Tensor, _name, _fn)

