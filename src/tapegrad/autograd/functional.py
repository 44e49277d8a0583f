"""``tapegrad.autograd.functional``: torch.autograd.functional's vjp, jvp, jacobian,
hessian, hvp and vhp, written once for both engines on ``autograd.grad``.

As torch: ``inputs`` is a tensor or a tuple of tensors and results mirror its
shape (and the outputs'); inputs are detached copies that require grad unless
``create_graph=True``, where they stay connected to the caller's graph; results
are detached unless ``create_graph=True``. jvp uses the double-vjp trick (a vjp
with a dummy cotangent that requires grad, differentiated again), as torch does.
``vectorize=True`` is accepted and gives the same results (the rows are computed
one by one either way).
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _backend

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_Tensors = Union[Any, Tuple[Any, ...]]


def _engine_of(tensors: Sequence[Any], what: str) -> Any:
    eng = _backend.engine_of(*tensors) if tensors else None
    if eng is None:
        raise TypeError(f"The {what} given to the function must be either a Tensor or a "
                        f"tuple of Tensors but one of them is not.")
    return eng


def _as_tuple(x: Any, what: str, fn: str) -> Tuple[bool, Tuple[Any, ...]]:
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for t in items:
        if _backend.engine_of(t) is None:
            raise TypeError(f"The {what} given to {fn} must be either a Tensor or a tuple "
                            f"of Tensors but the value at index 0 has type {type(t)}.")
    return is_tuple, items


def _prepare(inputs: Tuple[Any, ...], create_graph: bool) -> Tuple[Any, ...]:
    """torch's _grad_preprocess: fresh leaves, or (create_graph) views on the graph."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view(tuple(t.shape)))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _finish(items: Sequence[Any], create_graph: bool) -> Tuple[Any, ...]:
    return tuple(t if t is None or create_graph else t.detach() for t in items)


def _untuple(is_tuple: bool, items: Tuple[Any, ...]) -> Any:
    return items if is_tuple else items[0]


def _grad(outputs: Sequence[Any], inputs: Sequence[Any], grad_outputs: Sequence[Any],
          create_graph: bool, strict: bool, what: str) -> Tuple[Any, ...]:
    from . import grad as _autograd_grad
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not outs:
        grads: Tuple[Any, ...] = (None,) * len(inputs)
    else:
        # the graph is this module's own (func ran here): kept for the next row/product
        grads = _autograd_grad(outs, list(inputs), gos, retain_graph=True,
                               create_graph=create_graph, allow_unused=True)
    result = []
    for k, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent "
                                   f"of input {k}. This is not allowed in strict mode.")
            g = _backend.engine_of(t).zeros_like(t)
        result.append(g)
    return tuple(result)


def _check_v(v: Any, like: Tuple[Any, ...], fn: str, what: str) -> Tuple[Any, ...]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the {what} to the "
                               f"user-provided function is a single Tensor with a single "
                               f"element.")
        return (_backend.engine_of(like[0]).ones_like(like[0]),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got "
                           f"{len(vs)}.")
    for k, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {k} in v has invalid size: should be {b.shape} but "
                               f"got {a.shape}.")
    return vs


def vjp(func: Callable[..., Any], inputs: _Tensors, v: Optional[_Tensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), v^T J)."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    ins = _prepare(ins, create_graph)
    out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "vjp")
    vs = _check_v(v, outs, "vjp", "output")
    grads = _grad(outs, ins, vs, create_graph, strict, "vjp")
    return (_untuple(out_tuple, _finish(outs, create_graph)),
            _untuple(in_tuple, _finish(grads, create_graph)))


def jvp(func: Callable[..., Any], inputs: _Tensors, v: Optional[_Tensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), J v), by the double-vjp trick."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    ins = _prepare(ins, create_graph)
    vs = _check_v(v, ins, "jvp", "input")
    out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "jvp")
    eng = _engine_of(list(outs), "outputs")
    dummies = tuple(eng.zeros_like(o).requires_grad_(True) for o in outs)
    from . import grad as _autograd_grad
    live = [(o, d) for o, d in zip(outs, dummies) if o.requires_grad]
    if not live:
        res: Tuple[Any, ...] = tuple(eng.zeros_like(o) for o in outs)
    else:
        gi = _autograd_grad([o for o, _ in live], list(ins), [d for _, d in live],
                            create_graph=True, allow_unused=True)
        pairs = [(g, w) for g, w in zip(gi, vs) if g is not None]
        if pairs:
            res = _autograd_grad([g for g, _ in pairs], list(dummies), [w for _, w in pairs],
                                 create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(dummies)
        res = tuple(eng.zeros_like(o) if r is None else r for o, r in zip(outs, res))
    return (_untuple(out_tuple, _finish(outs, create_graph)),
            _untuple(out_tuple, _finish(res, create_graph)))


def _jacobian_rows(eng: Any, out: Any, ins: Tuple[Any, ...], create_graph: bool,
                   strict: bool) -> List[Any]:
    """d out / d ins[k] with shape out.shape + ins[k].shape, for each k."""
    n = int(out.numel())
    flat = out.reshape(-1)
    rows: List[List[Any]] = [[] for _ in ins]
    for i in range(n):
        onehot = np.zeros(n, dtype=np.float64)
        onehot[i] = 1.0
        seed = eng.tensor(onehot, dtype=out.dtype)
        gs = _grad([flat], ins, [seed], create_graph, strict, "jacobian")
        for k, g in enumerate(gs):
            rows[k].append(g)
    result = []
    for k, t in enumerate(ins):
        shape = tuple(out.shape) + tuple(t.shape)
        if not create_graph:
            data = np.stack([np.asarray(r.detach().numpy()) for r in rows[k]]) if n else \
                np.zeros((0,) + tuple(t.shape))
            result.append(eng.tensor(data.reshape(shape), dtype=t.dtype))
            continue
        acc = None          # sum_i e_i (x) row_i: differentiable stacking
        for i, r in enumerate(rows[k]):
            e = np.zeros((n,) + (1,) * t.ndim)
            e[i] = 1.0
            term = eng.tensor(e, dtype=r.dtype) * r.reshape((1,) + tuple(t.shape))
            acc = term if acc is None else acc + term
        result.append(eng.zeros(shape, dtype=t.dtype) if acc is None else acc.reshape(shape))
    return result


def jacobian(func: Callable[..., Any], inputs: _Tensors, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode") -> Any:
    """The Jacobian of func at inputs (reverse mode), nested as torch nests it."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         f'Hint: If your strategy was "{strategy}", please check its spelling.')
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare(ins, create_graph)
    out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function",
                                "jacobian")
    eng = _engine_of(list(ins), "inputs")
    per_out = []
    for o in outs:
        if not o.requires_grad:
            if strict:
                raise RuntimeError("The output of the user-provided function is independent "
                                   "of input 0. This is not allowed in strict mode.")
            per_out.append(tuple(eng.zeros(tuple(o.shape) + tuple(t.shape), dtype=t.dtype)
                                 for t in ins))
            continue
        per_out.append(tuple(_jacobian_rows(eng, o, ins, create_graph, strict)))
    if not out_tuple:
        return _untuple(in_tuple, per_out[0])
    if not in_tuple:
        return tuple(r[0] for r in per_out)
    return tuple(per_out)


def hessian(func: Callable[..., Any], inputs: _Tensors, create_graph: bool = False,
            strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar func at inputs: the jacobian of its gradient."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def grad_fn(*xs: Any) -> Any:
        out = func(*xs)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        gs = _grad([outs[0].reshape(())], xs, [None], True, strict, "hessian")
        return gs if in_tuple else gs[0]

    return jacobian(grad_fn, ins if in_tuple else ins[0], create_graph=create_graph,
                    strict=strict, vectorize=vectorize)


def _first_and_grad(func: Callable[..., Any], ins: Tuple[Any, ...], fn: str,
                    strict: bool) -> Tuple[Any, Tuple[Any, ...]]:
    out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", fn)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(f"The function given to {fn} should return a Tensor with a "
                           "single element")
    out = outs[0]
    eng = _engine_of([out], "outputs")
    gs = _grad([out], ins, [eng.ones_like(out)], True, strict, fn)
    return out, gs


def vhp(func: Callable[..., Any], inputs: _Tensors, v: Optional[_Tensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), v^T H)."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "vhp")
    ins = _prepare(ins, create_graph)
    vs = _check_v(v, ins, "vhp", "input")
    out, gs = _first_and_grad(func, ins, "vhp", strict)
    res = _grad(list(gs), ins, list(vs), create_graph, strict, "vhp")
    return (_finish([out], create_graph)[0], _untuple(in_tuple, _finish(res, create_graph)))


def hvp(func: Callable[..., Any], inputs: _Tensors, v: Optional[_Tensors] = None,
        create_graph: bool = False, strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), H v), by the double-vjp trick as torch computes it."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hvp")
    ins = _prepare(ins, create_graph)
    vs = _check_v(v, ins, "hvp", "input")
    out, gs = _first_and_grad(func, ins, "hvp", strict)
    eng = _engine_of([out], "outputs")
    dummies = tuple(eng.zeros_like(t).requires_grad_(True) for t in ins)
    back = _grad(list(gs), ins, list(dummies), True, strict, "hvp")
    res = _grad(list(back), dummies, list(vs), create_graph, strict, "hvp")
    return (_finish([out], create_graph)[0], _untuple(in_tuple, _finish(res, create_graph)))
