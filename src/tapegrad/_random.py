"""tapegrad's random generator, shared by both engines so that the same seed
gives the same tensors in either (not PyTorch's numbers: its generator differs)."""

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed):
    global _rng
    _rng = np.random.default_rng(int(seed))


def normal(shape):
    return _rng.standard_normal(shape)


def uniform(shape, low=0.0, high=1.0):
    return _rng.uniform(low, high, shape)
