"""tapegrad.Generator and the default generator: seeding, torch's state bytes, save and
restore, on both engines."""

import numpy as np
import pytest

from _rng import SEEDS, same


def _state(t):
    return np.asarray(t.detach().numpy()).astype(np.uint8)


@pytest.mark.parametrize("seed", SEEDS + (-1, 2 ** 64 - 1))
def test_state_bytes_are_torchs(engine, torch, seed):
    """get_state() equals torch's byte for byte: after seeding, after 32-bit and 64-bit
    draws, across the 624-word block boundary, and with a cached normal."""
    g = engine.Generator().manual_seed(seed)
    tg = torch.Generator().manual_seed(seed)
    assert g.initial_seed() == tg.initial_seed()
    np.testing.assert_array_equal(_state(g.get_state()), tg.get_state().numpy())
    for draw in (lambda m, gen: m.rand(5, generator=gen),
                 lambda m, gen: m.rand(700, generator=gen, dtype=m.float64),
                 lambda m, gen: m.randn(3, generator=gen, dtype=m.float64),
                 lambda m, gen: m.randint(0, 7, (619,), generator=gen)):
        draw(engine, g)
        draw(torch, tg)
        np.testing.assert_array_equal(_state(g.get_state()), tg.get_state().numpy())


def test_state_round_trips_with_torch(engine, torch):
    """A state taken from torch continues torch's stream here, and ours continues in torch,
    the cached Box-Muller value included."""
    tg = torch.Generator().manual_seed(99)
    torch.randn(3, generator=tg, dtype=torch.float64)      # leaves a cached sine
    g = engine.Generator().set_state(engine.tensor(tg.get_state().numpy().astype(np.int64))
                                     if not hasattr(engine, "uint8")
                                     else engine.tensor(tg.get_state().numpy()))
    same(engine.randn(5, generator=g, dtype=engine.float64),
         torch.randn(5, generator=tg, dtype=torch.float64))
    tg2 = torch.Generator()
    tg2.set_state(torch.from_numpy(_state(g.get_state())))
    same(engine.randn(40, generator=g), torch.randn(40, generator=tg2))


def test_save_and_restore(engine):
    g = engine.Generator().manual_seed(5)
    engine.rand(10, generator=g)
    saved = g.get_state()
    a = engine.randn(33, generator=g)
    engine.randint(0, 100, (9,), generator=g)
    g.set_state(saved)
    same(engine.randn(33, generator=g), a)
    engine.manual_seed(8)
    saved = engine.get_rng_state()
    b = engine.rand(4)
    engine.set_rng_state(saved)
    same(engine.rand(4), b)


def test_generator_api(engine, torch):
    g = engine.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert g.manual_seed(3) is g
    assert str(g.device) == "cpu"
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2 ** 53
    assert engine.manual_seed(12) is engine.default_generator
    assert engine.initial_seed() == 12
    s = engine.seed()
    assert engine.initial_seed() == s
    a, b = engine.Generator().manual_seed(1), engine.Generator().manual_seed(1)
    same(engine.rand(3, generator=a), engine.rand(3, generator=b))
    assert engine.Generator().manual_seed(-1).initial_seed() == \
        torch.Generator().manual_seed(-1).initial_seed()


def test_engines_share_the_default_generator():
    import tapegrad
    from tapegrad import reference
    assert tapegrad.default_generator is reference.default_generator
    tapegrad.manual_seed(1)
    a = tapegrad.rand(3)
    reference.manual_seed(1)
    np.testing.assert_array_equal(reference.rand(3).numpy(), a.numpy())


def test_bad_states(engine, torch):
    g = engine.Generator()
    with pytest.raises(RuntimeError, match="size 5056"):
        g.set_state(engine.tensor([1, 2, 3]))
    with pytest.raises(TypeError):
        g.set_state([0] * 5056)
    bad = _state(g.get_state())
    bad[12] = 0                       # "seeded" false
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        g.set_state(engine.tensor(bad.astype(np.int64)))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        torch.Generator().set_state(torch.from_numpy(bad))
    with pytest.raises(ValueError, match="Overflow"):
        engine.manual_seed(2 ** 64)
    with pytest.raises(ValueError, match="Overflow"):
        torch.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError, match="expected a long"):
        engine.Generator().manual_seed(1.5)
    assert engine.manual_seed(1.7).initial_seed() == torch.manual_seed(1.7).initial_seed()
