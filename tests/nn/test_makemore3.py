"""Karpathy's makemore part 3 (BatchNorm1d between Linear and Tanh, five hidden layers,
Embedding(27, 10) over a block of 3) trained 200 steps with SGD from torch's initial
weights gives torch's losses (issue 12 item 8). The data is a deterministic synthetic
name list (tapegrad.bench.makemore3, shared with the benchmark)."""

import numpy as np
import pytest

from tapegrad.bench.makemore3 import build_model, makemore3_step

STEPS = 200


def _losses(T, nn, optim, dtype, steps=STEPS):
    step, model = makemore3_step(T, nn, optim, steps=steps, dtype=dtype)
    losses = [step(i).item() for i in range(steps)]
    return losses, model


def test_seeded_network_starts_from_torchs_weights(libs, torch):
    import tapegrad
    E = tapegrad if libs.name == "tapegrad" else tapegrad.reference
    got = build_model(E, libs.nn).state_dict()
    want = build_model(torch, torch.nn).state_dict()
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy(), err_msg=k)


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-5), ("float64", 1e-12)])
def test_makemore_part3_losses_are_torchs(libs, torch, dtype, rtol):
    import tapegrad
    E = tapegrad if libs.name == "tapegrad" else tapegrad.reference
    torch.set_num_threads(1)
    got, model = _losses(E, libs.nn, libs.optim, getattr(E, dtype))
    want, tmodel = _losses(torch, torch.nn, torch.optim, getattr(torch, dtype))
    np.testing.assert_allclose(got, want, rtol=rtol)
    assert got[-1] < got[0] - 0.5                       # it learns
    # the running statistics followed the same batches
    for (k, v), (tk, tv) in zip(model.state_dict().items(), tmodel.state_dict().items()):
        assert k == tk
        np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=rtol * 50, atol=rtol, err_msg=k)
    # eval mode: the running statistics normalise; same predictions
    model.eval()
    tmodel.eval()
    x = [[0, 0, 1], [5, 12, 1], [3, 3, 3]]
    np.testing.assert_allclose(model(E.tensor(x)).detach().numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(),
                               rtol=rtol * 50, atol=rtol * 10)
