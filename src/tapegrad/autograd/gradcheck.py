"""``gradcheck`` and ``gradgradcheck`` with torch's signatures, tolerances and
messages, for both engines: analytical Jacobians (one vjp per output element,
through ``autograd.grad``) against central finite differences in float64.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _backend

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

_Tensors = Union[Any, Sequence[Any]]


class GradcheckError(RuntimeError):
    """Raised by gradcheck / gradgradcheck on a mismatch (torch's class name)."""


def _is_tensor(x: Any) -> bool:
    return _backend.engine_of(x) is not None and hasattr(x, "requires_grad")


def _outputs(out: Any) -> List[Any]:
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if _is_tensor(o)]


def _value(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy(), dtype=np.float64)


def _numerical(func: Callable[..., Any], inputs: Sequence[Any], k: int, eps: float,
               n_out: Sequence[int]) -> List[np.ndarray]:
    """d outputs / d inputs[k] by central differences: one (numel_in, numel_out) array
    per output."""
    eng = _backend.engine_of(inputs[k])
    base = _value(inputs[k])
    flat = base.reshape(-1)
    cols: List[np.ndarray] = [np.zeros((flat.size, n)) for n in n_out]

    def run(perturbed: np.ndarray) -> List[np.ndarray]:
        args = list(inputs)
        args[k] = eng.tensor(perturbed.reshape(base.shape), dtype=inputs[k].dtype,
                             requires_grad=bool(inputs[k].requires_grad))
        return [_value(o).reshape(-1) for o in _outputs(func(*args))]

    for i in range(flat.size):
        plus, minus = flat.copy(), flat.copy()
        plus[i] += eps
        minus[i] -= eps
        for j, (a, b) in enumerate(zip(run(plus), run(minus))):
            cols[j][i] = (a - b) / (2 * eps)
    return cols


def _analytical(outs: Sequence[Any], inputs: Sequence[Any], k: int) -> List[np.ndarray]:
    """d outputs / d inputs[k] by one vjp per output element."""
    from . import grad as _grad
    result = []
    for o in outs:
        eng = _backend.engine_of(o)
        n = int(o.numel())
        jac = np.zeros((int(inputs[k].numel()), n))
        if o.requires_grad:
            for j in range(n):
                seed = np.zeros(n)
                seed[j] = 1.0
                g = _grad([o], [inputs[k]],
                          [eng.tensor(seed.reshape(tuple(o.shape)), dtype=o.dtype)],
                          retain_graph=True, allow_unused=True)[0]
                if g is not None:
                    jac[:, j] = _value(g).reshape(-1)
        result.append(jac)
    return result


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func: Callable[..., Any], inputs: _Tensors, *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False,
              masked: Optional[bool] = None) -> bool:
    """Check the gradients of func at inputs against finite differences (torch's
    gradcheck): True, or GradcheckError (False with raise_exception=False)."""
    ins = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [k for k, t in enumerate(ins) if _is_tensor(t) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for k in diff:
        if str(ins[k].dtype) != "torch.float64" and "float64" not in str(ins[k].dtype):
            warnings.warn(f"Input #{k} requires gradient and is not a double precision "
                          "floating point. This check will likely fail if all the inputs are "
                          "not of double precision floating point. ", stacklevel=2)
    outs = _outputs(func(*ins))
    n_out = [int(o.numel()) for o in outs]
    for k in diff:
        numerical = _numerical(func, ins, k, eps, n_out)
        analytical = _analytical(outs, ins, k) if check_backward_ad else numerical
        for j, (a, n) in enumerate(zip(analytical, numerical)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                return _fail(f"Jacobian mismatch for output {j} with respect to input {k},\n"
                             f"numerical:{n}\nanalytical:{a}\n", raise_exception)
    return True


def gradgradcheck(func: Callable[..., Any], inputs: _Tensors,
                  grad_outputs: Optional[_Tensors] = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> vjp, the vjp
    computed with create_graph=True (torch's gradgradcheck)."""
    from . import grad as _grad
    ins = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(func(*ins))
    if grad_outputs is None:
        rng = np.random.RandomState(0)
        gos: Tuple[Any, ...] = tuple(
            _backend.engine_of(o).tensor(rng.randn(*tuple(o.shape)), dtype=o.dtype,
                                         requires_grad=True) for o in outs)
    else:
        gos = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else \
            (grad_outputs,)
    n_in = len(ins)
    diff = [k for k, t in enumerate(ins) if _is_tensor(t) and t.requires_grad]

    def new_func(*args: Any) -> Tuple[Any, ...]:
        xs, gs = args[:n_in], args[n_in:]
        os = _outputs(func(*xs))
        live = [(o, g) for o, g in zip(os, gs) if o.requires_grad]
        grads = _grad([o for o, _ in live], [xs[k] for k in diff], [g for _, g in live],
                      create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, ins + gos, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode)
