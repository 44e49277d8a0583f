"""No dtype ever reaches a kernel written for another (issue 11 item 3).

Every op case of the op-table test (``test_op_table.CASES``: at least one per (row,
kernel) pair of ``tools/ops.py``, so a new op is covered as soon as its row has a case)
is called on the compiled engine with operands of every dtype: float32, float64, int8,
int16, int32, int64, uint8 and bool. The answer must be torch's: the same dtype and
values, or an exception of the type torch raises. A kernel reading elements of another
dtype shows as a wrong value here, or as an AddressSanitizer report when the suite runs
against the sanitizer build (``.ci/run``).
"""

import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("_op_table_cases_for_dtypes",
                                               os.path.join(HERE, "test_op_table.py"))
OPS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(OPS)

DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")

# Cases whose call is tapegrad-only (private helpers torch has no twin of).
TAPEGRAD_ONLY = {"addmm", "pick"}


def _functional(E):
    if getattr(E, "__name__", "") == "torch":
        import torch
        return torch.nn.functional
    return _F_ORIGINAL(E)


def _bool_dtype(E):
    return torch_module().bool if getattr(E, "__name__", "") == "torch" else _BOOL_ORIGINAL(E)


_F_ORIGINAL, _BOOL_ORIGINAL = OPS._F, OPS._bool
OPS._F, OPS._bool = _functional, _bool_dtype   # the cases look these up at call time


def _operand(lib, shape, name, positive, rs):
    if name == "bool":
        a = rs.uniform(size=shape) > 0.4
    elif name in ("float32", "float64"):
        a = OPS._rand(rs, shape, np.dtype(name), positive)
    else:       # small positive integers: every integer dtype holds them, divisions are defined
        a = rs.randint(1, 4, size=shape)
    return lib.tensor(a.tolist() if shape else a.item(), dtype=_dtype(lib, name))


def _dtype(lib, name):
    import tapegrad
    return getattr(torch_module() if lib is torch_module() else tapegrad, name)


def torch_module():
    import torch
    return torch


def _outcome(lib, case, name, seed):
    rs = np.random.RandomState(seed)
    _, _, shapes, positive, call, _, _ = case
    try:
        operands = [_operand(lib, s, name, positive, rs) for s in shapes]
        return "value", call(lib, *operands)
    except Exception as exc:          # the exception is the answer compared
        return "raised", exc


def _plain(t):
    if isinstance(t, (tuple, list)):
        t = t[0]
    return str(t.dtype).split(".")[-1], np.asarray(t.tolist())


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("case", OPS.CASES, ids=[OPS._case_id(c) for c in OPS.CASES])
def test_every_op_with_every_dtype_as_torch(torch, case, name):
    import tapegrad._engine as C
    if case[6] is not None and not case[6](C):
        pytest.skip(f"the compiled engine has no {case[0]} op")
    if case[0] in TAPEGRAD_ONLY:
        pytest.skip(f"{case[0]} is called through a tapegrad-only helper")
    seed = abs(hash((case[0], case[1], str(case[2]), name))) % 2**31
    got_kind, got = _outcome(C, case, name, seed)
    want_kind, want = _outcome(torch, case, name, seed)
    if want_kind == "raised" and isinstance(want, AttributeError):
        pytest.skip(f"{case[0]}: the case's call uses a tapegrad-only attribute ({want})")
    if want_kind == "raised":
        assert got_kind == "raised", (
            f"{case[0]} on {name}: torch raises {type(want).__name__}: {want}; tapegrad "
            f"answers {got!r}")
        assert isinstance(got, type(want)), (
            f"{case[0]} on {name}: torch raises {type(want).__name__}: {want}; tapegrad "
            f"raises {type(got).__name__}: {got}")
        return
    assert got_kind == "value", f"{case[0]} on {name}: torch answers, tapegrad raises {got!r}"
    (got_dt, got_v), (want_dt, want_v) = _plain(got), _plain(want)
    assert got_dt == want_dt, f"{case[0]} on {name}: dtype {got_dt}, torch's {want_dt}"
    if want_dt in ("float32", "float64"):
        tol = 2e-5 if want_dt == "float32" else 1e-12
        np.testing.assert_allclose(got_v, want_v, rtol=tol, atol=tol)
    else:
        assert np.array_equal(got_v, want_v), f"{case[0]} on {name}"
