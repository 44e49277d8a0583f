"""The compiled engine's recording walk (_engine._record_sweep, _higher_sweep.pxi)
against its oracle, the shared Python sweep (autograd/_higher.python_sweep): for
every row of the op table and for the PINN / HVP programs, the gradients of the
two are the same bits and their graphs differentiate to the same bits again.
"""

import contextlib
import math

import numpy as np
import pytest

import tapegrad
from tapegrad.autograd import _higher
from _op_cases import CASES
from _tensors import libs_for, npy
from test_table_second_order import CHECKED, _second_order


@contextlib.contextmanager
def python_sweep():
    _higher.USE_PYTHON_SWEEP[0] = True
    try:
        yield
    finally:
        _higher.USE_PYTHON_SWEEP[0] = False


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


def test_the_compiled_engine_has_its_own_walk():
    from tapegrad import _engine
    x = _engine.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    found = _engine._record_sweep([y], [None], None)
    ((h, g),) = found.values()
    assert h is x or h.data_ptr() == x.data_ptr()
    np.testing.assert_array_equal(npy(g), [2.0, 4.0])
    assert g.grad_fn is not None


@pytest.mark.parametrize("row", CHECKED)
def test_every_row_matches_the_python_sweep(row):
    from tapegrad import _engine as M
    arrays, fn = CASES[row]
    lib = libs_for(M)
    fast = _second_order(M, lib.autograd, lib.F, fn, arrays)
    with python_sweep():
        slow = _second_order(M, lib.autograd, lib.F, fn, arrays)
    _same(fast[0], slow[0])
    _same(fast[1], slow[1])


def _pinn_grads():
    from tapegrad import _engine as M
    rs = np.random.RandomState(1)
    params = [M.tensor(rs.randn(*shape).astype(np.float32), requires_grad=True)
              for shape in ((8, 1), (8,), (1, 8), (1,))]
    w1, b1, w2, b2 = params
    xs = np.linspace(0, 1, 16, dtype=np.float32).reshape(-1, 1)
    x = M.tensor(xs, requires_grad=True)
    F = tapegrad.nn.functional
    u = F.linear(F.linear(x, w1, b1).tanh(), w2, b2)
    (du,) = tapegrad.autograd.grad(u.sum(), [x], create_graph=True)
    (d2u,) = tapegrad.autograd.grad(du.sum(), [x], create_graph=True)
    r = d2u + M.tensor((math.pi ** 2 * np.sin(math.pi * xs)).astype(np.float32))
    loss = (r * r).mean()
    grads = tapegrad.autograd.grad(loss, params[:3], create_graph=True)   # (u'' has no b2)
    hv = tapegrad.autograd.grad(sum((g * g).sum() for g in grads), params[:3])
    return [npy(du), npy(d2u), npy(loss)] + [npy(g) for g in grads] + [npy(h) for h in hv]


def test_pinn_and_hessian_products_match_the_python_sweep():
    fast = _pinn_grads()
    with python_sweep():
        slow = _pinn_grads()
    _same(fast, slow)
    assert np.abs(fast[-1]).sum() > 0


def test_inputs_filter_and_several_roots(engine):
    """Only the paths to the inputs are swept; several roots share one sweep;
    backward(create_graph=True) sets the leaves' .grad with history."""
    def run():
        a = engine.tensor([0.5, -1.0, 2.0], dtype=engine.float64, requires_grad=True)
        b = engine.tensor([1.5, 0.25, -0.75], dtype=engine.float64, requires_grad=True)
        h = (a * b).tanh()
        y1, y2 = (h * a).sum(), (h.exp() * b).sum()
        (ga,) = tapegrad.autograd.grad([y1, y2], [a], create_graph=True)
        (gga, ggb) = tapegrad.autograd.grad(ga.sum(), [a, b], retain_graph=True)
        (h * h).sum().backward(create_graph=True)
        (gg,) = tapegrad.autograd.grad((a.grad * b.grad).sum(), [b])
        return [npy(ga), npy(gga), npy(ggb), npy(a.grad), npy(gg)]
    fast = run()
    with python_sweep():
        slow = run()
    _same(fast, slow)


def test_a_sweep_recording_many_bytes_matches_the_python_sweep():
    """The sweep records more than the bytes that trigger a collection (8 MB): slots
    must stay put while it records (no collection runs during it)."""
    from tapegrad import _engine as M

    def run():
        rs = np.random.RandomState(5)
        x = M.tensor(rs.uniform(-1, 1, (512, 512)), requires_grad=True)
        h = x
        for _ in range(6):
            h = (h * 0.9).tanh() * h
        (g,) = tapegrad.autograd.grad(h.sum(), [x], create_graph=True)
        (gg,) = tapegrad.autograd.grad((g * g).sum(), [x])
        return [npy(g), npy(gg)]
    fast = run()
    with python_sweep():
        slow = run()
    _same(fast, slow)
