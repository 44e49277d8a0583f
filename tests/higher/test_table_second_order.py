"""Every row of the op table, first and second order, on both engines (issue 13,
items 1, 4, 7): gradcheck and gradgradcheck in float64, the second derivative
against torch's, and the two engines against each other.
"""

import importlib.util
import os

import numpy as np
import pytest

from _op_cases import CASES, NO_CASE, TOLERANCES
from _tensors import libs_for, npy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("_ops_table_higher",
                                               os.path.join(ROOT, "tools", "ops.py"))
_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_table)
ROWS = [r["name"] for r in _table.TENSOR_OPS if r["derivatives"]]
CHECKED = [r for r in ROWS if r not in NO_CASE]


def test_every_row_has_a_case():
    missing = [r for r in ROWS if r not in CASES and r not in NO_CASE]
    assert not missing, f"add a case to tests/higher/_op_cases.py for the rows {missing}"


def _leaves(M, arrays):
    return [M.tensor(a, dtype=M.float64, requires_grad=True) for a in arrays]


def _out(fn, M, F, xs):
    y = fn(M, F, *xs)
    return y[0] if isinstance(y, tuple) else y


@pytest.mark.parametrize("row", CHECKED)
def test_gradcheck_and_gradgradcheck(engine, row):
    arrays, fn = CASES[row]
    ag, F = libs_for(engine).autograd, libs_for(engine).F
    xs = _leaves(engine, arrays)
    tol = TOLERANCES.get(row, {})
    assert ag.gradcheck(lambda *a: _out(fn, engine, F, a), xs, **tol)
    assert ag.gradgradcheck(lambda *a: _out(fn, engine, F, a), xs, **tol)


def _second_order(M, ag, F, fn, arrays):
    """(y, dy/dx . w as a graph, d/dx of sum(g * v)) for fixed cotangents w, v."""
    xs = _leaves(M, arrays)
    y = _out(fn, M, F, xs)
    rs = np.random.RandomState(3)
    w = M.tensor(rs.uniform(-1, 1, tuple(y.shape)), dtype=M.float64)
    gs = ag.grad([y], xs, [w], create_graph=True, allow_unused=True)
    total = None
    for g in gs:
        if g is None or not g.requires_grad:
            continue
        v = M.tensor(rs.uniform(-1, 1, tuple(g.shape)), dtype=M.float64)
        term = (g * v).sum()
        total = term if total is None else total + term
    if total is None:
        return [npy(g) for g in gs if g is not None], [None] * len(xs)
    hs = ag.grad([total], xs, allow_unused=True)
    return [npy(g) for g in gs if g is not None], [None if h is None else npy(h) for h in hs]


@pytest.mark.parametrize("row", CHECKED)
def test_second_derivative_against_torch_and_the_other_engine(engine, torch, row):
    import tapegrad.reference as ref

    arrays, fn = CASES[row]
    got = _second_order(engine, libs_for(engine).autograd, libs_for(engine).F, fn, arrays)
    want = _second_order(torch, torch.autograd, torch.nn.functional, fn, arrays)
    other = _second_order(ref, libs_for(ref).autograd, libs_for(ref).F, fn, arrays)
    for mine, theirs, same in zip(got[0] + got[1], want[0] + want[1], other[0] + other[1]):
        if theirs is None:          # torch: no second-order path; ours is None or zeros
            assert mine is None or not np.any(mine)
            continue
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mine, same, rtol=1e-12, atol=1e-14)
