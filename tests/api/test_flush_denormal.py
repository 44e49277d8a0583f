"""set_flush_denormal (torch's name and semantics, issue 10 item 18).

The compiled engine's C sweeps and kernels run with subnormals flushed to zero
while the mode is on, on every thread, and leave the caller's own float
arithmetic alone; the reference engine computes with Python floats and numpy,
so it returns the same bools and keeps its subnormals (documented).
"""

import sys

import pytest

from _util import run_in_fresh_thread

TINY = sys.float_info.min          # the smallest normal double


@pytest.fixture(autouse=True)
def mode_off(engine):
    yield
    engine.set_flush_denormal(False)


def _scalar_grad(engine):
    """d(a*b*c)/da = b*c = 1e-320, a subnormal, while every forward value is normal."""
    a, b, c = engine.Value(1e300), engine.Value(1e-160), engine.Value(1e-160)
    out = a * b * c
    out.backward()
    assert out.data == pytest.approx(1e-20, rel=1e-15)
    return a.grad


def _tensor_grad(engine, dtype, big, small):
    a = engine.tensor([big], dtype=dtype, requires_grad=True)
    out = a * small * small             # (a*small)*small: normal; a.grad = small*small
    out.sum().backward()
    return float(a.grad[0])


def _flushes(engine):
    return engine.ENGINE == "c"


def test_returns_torchs_bool_and_refuses_other_types(engine, torch):
    try:
        for mode in (True, False):
            assert engine.set_flush_denormal(mode) is torch.set_flush_denormal(mode)
    finally:
        torch.set_flush_denormal(False)
    assert engine.set_flush_denormal(True) is True      # x86-64 / aarch64 (the CI machines)
    for bad in (1, 0, None, "yes", 1.0):
        with pytest.raises(RuntimeError, match="expects a bool, but got"):
            engine.set_flush_denormal(bad)
    with pytest.raises(RuntimeError):
        torch.set_flush_denormal(1)


def test_is_public_like_torchs():
    import tapegrad
    import tapegrad.reference

    assert "set_flush_denormal" in tapegrad.__all__
    active = tapegrad._engine if tapegrad.ENGINE == "c" else tapegrad.reference
    assert tapegrad.set_flush_denormal is active.set_flush_denormal


def test_scalar_backward_subnormal_flushed_then_back(engine):
    assert _scalar_grad(engine) == 1e-320 and 0 < 1e-320 < TINY     # default: kept
    assert engine.set_flush_denormal(True)
    assert _scalar_grad(engine) == (0.0 if _flushes(engine) else 1e-320)
    assert engine.set_flush_denormal(False)
    assert _scalar_grad(engine) == 1e-320


@pytest.mark.parametrize("dtype, big, small, sub, tiny", [
    ("float64", 1e300, 1e-160, 1e-320, TINY),
    ("float32", 1e30, 1e-22, 1e-44, 1.1754944e-38),      # float32's smallest normal
])
def test_tensor_backward_subnormal_flushed_then_back(engine, torch, dtype, big, small, sub, tiny):
    dt = getattr(engine, dtype)
    kept = _tensor_grad(engine, dt, big, small)
    assert 0 < kept < tiny and kept == pytest.approx(sub, rel=0.1)
    assert engine.set_flush_denormal(True)
    flushed = _tensor_grad(engine, dt, big, small)
    assert flushed == (0.0 if _flushes(engine) else kept)
    assert engine.set_flush_denormal(False)
    assert _tensor_grad(engine, dt, big, small) == kept
    try:                                # torch flushes the same gradient
        torch.set_flush_denormal(True)
        a = torch.tensor([big], dtype=getattr(torch, dtype), requires_grad=True)
        (a * small * small).sum().backward()
        assert float(a.grad[0]) == 0.0
    finally:
        torch.set_flush_denormal(False)


def test_forward_kernels_flush_too(engine):
    engine.set_flush_denormal(True)
    v = engine.Value(1e-300) * 1e-10
    t = engine.tensor([1e-300], dtype=engine.float64) * 1e-10
    expect = 0.0 if _flushes(engine) else 1e-310
    assert v.data == expect and float(t[0]) == expect


def test_python_floats_keep_their_subnormals(engine):
    engine.set_flush_denormal(True)
    _scalar_grad(engine)
    x = 1e-300
    assert x * 1e-10 == 1e-310          # the caller's thread mode is restored after a sweep


def test_mode_is_process_wide(engine):
    engine.set_flush_denormal(True)
    assert run_in_fresh_thread(_scalar_grad, engine) == (0.0 if _flushes(engine) else 1e-320)
    engine.set_flush_denormal(False)
    assert run_in_fresh_thread(_scalar_grad, engine) == 1e-320


def test_replayed_scalar_forward_flushes_too(engine):
    """A recorded step's scalar forward runs under the mode like an eager one (the
    tensor kernels did already; the replayed Value formulas did not)."""
    def step(a):
        return a * 1e-10
    from _replay_cases import replay_api
    tape = replay_api(engine).record(step, engine.Value(1e-300))
    engine.set_flush_denormal(True)
    flushed = tape.forward(engine.Value(1e-300))
    engine.set_flush_denormal(False)
    kept = tape.forward(engine.Value(1e-300))
    assert kept.data == 1e-310
    assert flushed.data == (0.0 if _flushes(engine) else 1e-310)


def test_optimizer_updates_flush_too(engine, torch):
    """p - lr * g = 1e-308, a subnormal: the C update kernels ran outside the mode."""
    import tapegrad.optim as optim

    def step(lib, opt_mod):
        p = lib.tensor([2e-308], dtype=lib.float64, requires_grad=True)
        p.grad = lib.tensor([1e-308], dtype=lib.float64)
        opt_mod.SGD([p], lr=1.0).step()
        return float(p.detach()[0])

    assert step(engine, optim) == 1e-308
    engine.set_flush_denormal(True)
    assert step(engine, optim) == (0.0 if _flushes(engine) else 1e-308)
    try:
        torch.set_flush_denormal(True)
        assert step(torch, torch.optim) == 0.0
    finally:
        torch.set_flush_denormal(False)
