"""nn.init and nn.Linear's initialisation: torch's numbers for the same seed."""

import math
import warnings

import numpy as np
import pytest

from _rng import same


def _pair(engine, torch, shape, dtype="float32"):
    return (engine.empty(*shape, dtype=getattr(engine, dtype)),
            torch.empty(*shape, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("shape", [(5, 3), (30, 20), (4, 3, 2, 2), (1, 16)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_initialisers_draw_torchs_numbers(libs, engine, torch, shape, dtype):
    init, tinit = libs.nn.init, torch.nn.init
    calls = [
        lambda m, t: m.uniform_(t, -0.2, 0.7),
        lambda m, t: m.normal_(t, 0.1, 0.3),
        lambda m, t: m.xavier_uniform_(t),
        lambda m, t: m.xavier_normal_(t, gain=m.calculate_gain("tanh")),
        lambda m, t: m.kaiming_uniform_(t, a=math.sqrt(5)),
        lambda m, t: m.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        lambda m, t: m.kaiming_normal_(t),
        lambda m, t: m.kaiming_normal_(t, a=0.1, mode="fan_out"),
        lambda m, t: m.trunc_normal_(t),
        lambda m, t: m.trunc_normal_(t, mean=0.5, std=0.2, a=0.0, b=1.0),
        lambda m, t: m.constant_(t, 0.25),
        lambda m, t: m.zeros_(t),
        lambda m, t: m.ones_(t),
    ]
    for seed, call in enumerate(calls):
        ours, theirs = _pair(engine, torch, shape, dtype)
        engine.manual_seed(seed)
        torch.manual_seed(seed)
        assert call(init, ours) is ours
        call(tinit, theirs)
        same(ours, theirs)
    ours, theirs = _pair(engine, torch, shape, dtype)
    g, tg = engine.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    same(init.kaiming_uniform_(ours, generator=g), tinit.kaiming_uniform_(theirs, generator=tg))
    same(init.xavier_normal_(ours, generator=g), tinit.xavier_normal_(theirs, generator=tg))


def test_trunc_normal_narrow_interval_stays_inside(libs, engine):
    t = engine.empty(200)
    libs.nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=2.0, b=2.5)
    v = t.detach().numpy()
    assert v.min() >= 2.0 and v.max() <= 2.5


def test_eye_and_gain(libs, engine, torch):
    init = libs.nn.init
    same(init.eye_(engine.empty(3, 5)), torch.nn.init.eye_(torch.empty(3, 5)))
    for name, param in (("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                        ("conv2d", None)):
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(engine.empty(3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(engine.empty(2, 2, 2))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        init.kaiming_uniform_(engine.empty(0, 3))
    assert "zero-element" in str(w[0].message)


@pytest.mark.parametrize("shape", [(6, 4), (3, 8), (4, 2, 3)])
def test_orthogonal(libs, engine, torch, shape):
    """Same normals and torch's sign convention (R's diagonal made positive); the QR is
    numpy's LAPACK, so equal to torch's to rounding, not bit for bit."""
    engine.manual_seed(0)
    torch.manual_seed(0)
    ours = libs.nn.init.orthogonal_(engine.empty(*shape, dtype=engine.float64), gain=2.0)
    theirs = torch.nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain=2.0)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    flat = ours.detach().numpy().reshape(shape[0], -1) / 2.0
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 1337])
def test_linear_starts_from_torchs_weights(libs, engine, torch, seed):
    engine.manual_seed(seed)
    torch.manual_seed(seed)
    for (a, b) in ((3, 4), (30, 200), (200, 27), (1, 1)):
        ours, theirs = libs.nn.Linear(a, b), torch.nn.Linear(a, b)
        same(ours.weight, theirs.weight)
        same(ours.bias, theirs.bias)
    ours = libs.nn.Linear(5, 2, bias=False, dtype=engine.float64)
    theirs = torch.nn.Linear(5, 2, bias=False, dtype=torch.float64)
    same(ours.weight, theirs.weight)
    same(engine.randn(4), torch.randn(4))          # and the stream stays in step


def test_init_under_grad_mode_on_a_parameter(libs, engine):
    """The initialisers work on parameters that require grad (they fill without grad)."""
    lin = libs.nn.Linear(3, 2)
    libs.nn.init.normal_(lin.weight)
    assert lin.weight.requires_grad and lin.weight.grad_fn is None
