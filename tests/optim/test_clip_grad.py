"""nn.utils.clip_grad_norm_ / clip_grad_value_ against torch 2.13: the total norm,
the clipped gradients, torch's error for a non-finite norm."""

import math

import numpy as np
import pytest

from _tensors import npy


def _params(M, dtype, scale, with_none=True):
    rng = np.random.default_rng(3)
    shapes = [(4, 3), (3,), (7,)]
    ps = [M.tensor(rng.standard_normal(s).tolist(), dtype=getattr(M, dtype),
                   requires_grad=True) for s in shapes]
    for k, p in enumerate(ps):
        g = rng.standard_normal(p.shape) * scale
        if not (with_none and k == 1):
            p.grad = M.tensor(g.tolist(), dtype=getattr(M, dtype))
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0, "inf"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_clip_grad_norm_as_torch(engine, libs, torch, norm_type, dtype, scale):
    nt = float(norm_type)
    ours = _params(engine, dtype, scale)
    theirs = _params(torch, dtype, scale)
    from tapegrad.nn.utils import clip_grad_norm_
    total = clip_grad_norm_(ours, max_norm=1.5, norm_type=nt)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=nt,
                                            foreach=False)
    rtol = 1e-6 if dtype == "float32" else 1e-14
    assert str(total.dtype).split(".")[-1] == str(ttotal.dtype).split(".")[-1]
    assert tuple(total.shape) == ()
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=rtol)
    for p, q in zip(ours, theirs):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_allclose(npy(p.grad), npy(q.grad), rtol=rtol * 4, atol=0)
    if scale == 0.01:                                    # under max_norm: left as they were
        again = _params(engine, dtype, scale)
        assert all(np.array_equal(npy(a.grad), npy(b.grad))
                   for a, b in zip(ours, again) if a.grad is not None)


def test_clip_grad_norm_exact_in_float64(engine, torch):
    """With the same total norm the scaling is torch's bit for bit: the coefficient is
    (1 / (total + 1e-6)) * max_norm, clamped at 1, as torch's max_norm / tensor."""
    from tapegrad.nn.utils import clip_grad_norm_
    p = engine.tensor([3.0, 4.0], dtype=engine.float64, requires_grad=True)
    p.grad = engine.tensor([3.0, 4.0], dtype=engine.float64)
    q = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    q.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert clip_grad_norm_(p, 0.7).item() == 5.0
    torch.nn.utils.clip_grad_norm_(q, 0.7)
    assert npy(p.grad).tolist() == q.grad.tolist()


def test_clip_grad_norm_edge_cases(engine, libs, torch):
    from tapegrad.nn.utils import clip_grad_norm_
    p = engine.tensor([1.0], requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0          # no gradients: tensor(0.)
    assert clip_grad_norm_((q for q in [p]), 1.0).item() == 0.0
    for M, clip in ((engine, clip_grad_norm_), (torch, torch.nn.utils.clip_grad_norm_)):
        a = M.tensor([1.0, 2.0], requires_grad=True)
        a.grad = M.tensor([float("inf"), 1.0])
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients "
                                               "from `parameters` is non-finite"):
            clip([a], 1.0, error_if_nonfinite=True)
        total = clip([a], 1.0)
        assert math.isinf(total.item())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_as_torch(engine, torch, dtype):
    from tapegrad.nn.utils import clip_grad_value_
    ours, theirs = _params(engine, dtype, 2.0), _params(torch, dtype, 2.0)
    assert clip_grad_value_(ours, 0.8) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.8, foreach=False)
    for p, q in zip(ours, theirs):
        if p.grad is not None:
            assert np.array_equal(npy(p.grad), npy(q.grad))
            assert np.abs(npy(p.grad)).max() == np.float32(0.8) or dtype == "float64"


def test_reachable_as_nn_utils(engine, libs):
    import tapegrad
    assert tapegrad.nn.utils.clip_grad_norm_ is tapegrad.reference.nn.utils.clip_grad_norm_
    from tapegrad.reference.nn.utils import clip_grad_value_
    assert clip_grad_value_ is tapegrad.nn.utils.clip_grad_value_
