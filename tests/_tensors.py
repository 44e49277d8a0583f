"""Helpers for the tensor tests: the nn/optim/autograd modules of an engine, numpy
conversion, finite differences, torch mirrors.

Every tensor test takes the ``engine`` fixture (``tapegrad._engine`` or
``tapegrad.reference``) and builds tensors with ``engine.tensor`` etc. The
tensor names mirror torch's, so most test bodies take a module ``M`` and run
unchanged on an engine and on torch (the oracle).
"""

import collections
import types

import numpy as np

Libs = collections.namedtuple("Libs", "nn optim autograd F name")

# Test-harness hook: maps an ENGINE name to a Libs tuple, for engines that are not
# tapegrad's own (used to validate the tests themselves against a stand-in engine).
LIB_OVERRIDES = {}


def libs_for(engine):
    """(nn, optim, autograd, nn.functional) serving this engine.

    optim, autograd and nn.functional are shared by the engines (they serve the
    engine of the tensors they receive). nn's modules create tensors (Linear's
    weights) in their class's engine: ``tapegrad.nn`` for the active engine,
    ``tapegrad.reference.nn`` for the reference, and under
    ``TAPEGRAD_PURE_PYTHON=1`` the compiled engine gets ``tapegrad.nn``'s modules
    bound to it (``_backend.bind_class``), so its tests run in that mode too."""
    if engine.ENGINE in LIB_OVERRIDES:
        return LIB_OVERRIDES[engine.ENGINE]
    import tapegrad
    from tapegrad import _api, _backend

    if engine.ENGINE == "python":
        nn, base = tapegrad.reference.nn, "tapegrad.reference"
    elif engine.ENGINE == "c":
        base = "tapegrad"
        nn = tapegrad.nn
        if tapegrad.ENGINE != "c":
            nn = types.SimpleNamespace(functional=tapegrad.nn.functional, **{
                name: (_backend.bind_class(obj, engine, engine.__name__ + ".nn")
                       if isinstance(obj, type) and issubclass(obj, tapegrad.nn.Module)
                       else obj)
                for name, obj in ((n, getattr(tapegrad.nn, n)) for n in _api.NN)})
    else:  # pragma: no cover
        raise AssertionError(f"unknown engine {engine.ENGINE!r}")
    return Libs(nn, tapegrad.optim, tapegrad.autograd, tapegrad.nn.functional, base)


def npy(t):
    """A float64/int64 numpy copy of an engine or torch tensor (detached)."""
    if hasattr(t, "detach"):
        t = t.detach()
    a = np.array(t.numpy(), copy=True)
    return a


def as_tensor(M, a, dtype=None, requires_grad=False):
    """An M tensor (engine or torch) holding numpy array ``a`` in ``dtype`` (an M dtype
    or None for the array's own float dtype)."""
    a = np.asarray(a)
    if dtype is None:
        dtype = M.float64 if a.dtype == np.float64 else M.float32
    if a.size == 0:  # a nested list would lose the shape
        return M.zeros(*a.shape, dtype=dtype, requires_grad=requires_grad)
    return M.tensor(a.tolist(), dtype=dtype, requires_grad=requires_grad)


def np_dtype(M, dtype):
    return {str(M.float32): np.float32, str(M.float64): np.float64,
            str(M.int64): np.int64}[str(dtype)]


def assert_close(actual, expected, rtol, atol=0.0, what=""):
    """Arrays equal within tolerance, nan where nan, infinities equal, same shape."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        idx = tuple(np.argwhere(~ok)[0])
        raise AssertionError(
            f"{what}: {np.count_nonzero(~ok)} of {a.size} elements differ "
            f"(rtol={rtol}, atol={atol}); first at {idx}: got {a[idx]!r}, expected {e[idx]!r}"
            f"\n got      {a.ravel()[:8]}\n expected {e.ravel()[:8]}")


def directional_fd(fn, arrays, directions, eps=1e-6):
    """Central finite difference of scalar fn(*arrays) along the given directions
    (one direction array per input); fn evaluates in float64."""
    plus = [a + eps * d for a, d in zip(arrays, directions)]
    minus = [a - eps * d for a, d in zip(arrays, directions)]
    return (fn(*plus) - fn(*minus)) / (2 * eps)


def elementwise_fd(fn, arrays, eps=1e-6):
    """Central finite-difference gradient of scalar fn(*arrays), one array per input."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        for idx in np.ndindex(a.shape):
            args_p = [x.copy() for x in arrays]
            args_m = [x.copy() for x in arrays]
            args_p[k][idx] += eps
            args_m[k][idx] -= eps
            g[idx] = (fn(*args_p) - fn(*args_m)) / (2 * eps)
        grads.append(g)
    return grads


def run_vjp(M, fn, arrays, cotangent, dtype=None, consts=()):
    """Build leaves from ``arrays`` (requires_grad) in module M, evaluate fn(M, *leaves,
    *consts), backpropagate ``cotangent`` (same shape as the output) and return
    (output array, [grad arrays]). Missing grads come back as None."""
    leaves = [as_tensor(M, a, dtype, requires_grad=True) for a in arrays]
    out = fn(M, *leaves, *consts)
    g = as_tensor(M, np.asarray(cotangent).astype(np.float64), out.dtype)
    out.backward(g)
    return npy(out), [None if x.grad is None else npy(x.grad) for x in leaves]


def forward_np(M, fn, arrays, dtype=None, consts=()):
    """fn evaluated in module M on constant tensors built from arrays; numpy result."""
    leaves = [as_tensor(M, a, dtype) for a in arrays]
    return npy(fn(M, *leaves, *consts))
