"""The MNIST-size bench step (issue 11 item 8): every engine trains from the same
weights to torch's losses, and the bare-product shapes are those of one step."""

import numpy as np

from tapegrad.bench import mnist


def test_mnist_step_losses_as_torch(engine, torch):
    import tapegrad
    F = tapegrad.reference.nn.functional if engine.ENGINE == "python" else tapegrad.nn.functional
    optim = tapegrad.optim
    step = mnist.mnist_step(engine, F, optim)
    ref = mnist.mnist_step(torch, torch.nn.functional, torch.optim)
    got = [step(i).item() for i in range(5)]
    want = [ref(i).item() for i in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert got[4] < got[0]           # it trains: batch 0 again, after four updates


def test_sgemm_shapes_are_one_steps_products():
    shapes = mnist.sgemm_shapes()
    assert (64, 784, 512) in shapes and (784, 64, 512) in shapes
    assert (64, 512, 512) in shapes and (64, 10, 512) in shapes
    assert not any(s == (64, 512, 784) for s in shapes)   # no gradient for the input images
    assert len(shapes) == 8
