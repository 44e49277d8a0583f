"""torch's CPU streams bit for bit: every random function against torch 2.13 for several
seeds, sizes on both sides of the vectorised / scalar thresholds, float32 and float64,
on both engines, through the compiled loops and the numpy definition."""

import contextlib

import numpy as np
import pytest

from _rng import SEEDS, SIZES, dtypes, numpy_path, same


@contextlib.contextmanager
def _lane_by_lane():
    from tapegrad import _random
    previous = _random._C.set_vector_loops(False)
    try:
        yield
    finally:
        _random._C.set_vector_loops(previous)


@pytest.fixture(params=["compiled loops", "compiled scalar loops", "numpy"])
def path(request):
    from tapegrad import _random
    if request.param != "numpy" and _random._C is None:
        pytest.skip("tapegrad._crandom is not built")
    return {"numpy": numpy_path, "compiled loops": contextlib.nullcontext,
            "compiled scalar loops": _lane_by_lane}[request.param]


def _gens(engine, torch, seed):
    return engine.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_rand_and_randn(engine, torch, path, seed):
    g, tg = _gens(engine, torch, seed)
    with path():
        for ours, theirs in dtypes(engine, torch):
            for n in SIZES:
                same(engine.randn(n, generator=g, dtype=ours),
                     torch.randn(n, generator=tg, dtype=theirs))
                same(engine.rand(n, generator=g, dtype=ours),
                     torch.rand(n, generator=tg, dtype=theirs))


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_fills_with_bounds_mean_and_std(engine, torch, path, seed):
    """uniform_(a, b) and normal_(mean, std): torch's kernels fuse the final multiply-add."""
    g, tg = _gens(engine, torch, seed)
    with path():
        for ours, theirs in dtypes(engine, torch):
            for n in SIZES:
                same(engine.empty(n, dtype=ours).uniform_(-0.37, 1.3, generator=g),
                     torch.empty(n, dtype=theirs).uniform_(-0.37, 1.3, generator=tg))
                same(engine.empty(n, dtype=ours).normal_(0.3, 2.5, generator=g),
                     torch.empty(n, dtype=theirs).normal_(0.3, 2.5, generator=tg))


def test_randn_shapes_and_size_keyword(engine, torch):
    engine.manual_seed(7)
    torch.manual_seed(7)
    same(engine.randn(3, 5, 7), torch.randn(3, 5, 7))
    same(engine.randn((4, 4)), torch.randn((4, 4)))
    same(engine.randn(size=(2, 9)), torch.randn(size=(2, 9)))
    same(engine.rand(size=(3, 3), dtype=engine.float64), torch.rand(size=(3, 3),
                                                                    dtype=torch.float64))
    same(engine.randn(0), torch.randn(0))


def test_scalar_normal_keeps_its_second_value_across_calls(engine, torch):
    """Below 16 values torch's Box-Muller draws pairs and keeps the sine for the next call."""
    engine.manual_seed(3)
    torch.manual_seed(3)
    for n in (1, 3, 1, 2, 16, 5, 1):
        same(engine.randn(n, dtype=engine.float64), torch.randn(n, dtype=torch.float64))


@pytest.mark.parametrize("seed", SEEDS)
def test_randint(engine, torch, seed):
    g, tg = _gens(engine, torch, seed)
    for low, high in ((0, 10), (-5, 17), (0, 2 ** 28 - 1), (0, 2 ** 28), (0, 2 ** 31),
                      (0, 2 ** 32), (-2 ** 40, 2 ** 41)):
        for n in (1, 17, 200):
            same(engine.randint(low, high, (n,), generator=g),
                 torch.randint(low, high, (n,), generator=tg))
    same(engine.randint(6, (2, 3), generator=g), torch.randint(6, (2, 3), generator=tg))
    same(engine.randint(0, 9, size=(4,), generator=g, dtype=engine.float32),
         torch.randint(0, 9, size=(4,), generator=tg, dtype=torch.float32))
    same(engine.randint(high=3, size=(5,), generator=g),
         torch.randint(high=3, size=(5,), generator=tg))
    same(engine.randint(4, size=(5,), generator=g), torch.randint(4, size=(5,), generator=tg))
    same(engine.randint(2, high=9, size=(5,), generator=g),
         torch.randint(2, high=9, size=(5,), generator=tg))


@pytest.mark.parametrize("seed", SEEDS)
def test_randperm(engine, torch, path, seed):
    g, tg = _gens(engine, torch, seed)
    with path():
        for n in (0, 1, 2, 5, 16, 100, 3000):
            same(engine.randperm(n, generator=g), torch.randperm(n, generator=tg))
        same(engine.randperm(7, generator=g, dtype=engine.float64),
             torch.randperm(7, generator=tg, dtype=torch.float64))


def test_randperm_large_n_algorithm(engine):
    """n >= 2**32 / 20 takes torch's inside-out shuffle on 64-bit draws. Torch itself needs
    1.7 GB for such n, so the C loop is checked against the readable numpy form instead,
    both run with the threshold lowered."""
    from tapegrad import _random
    saved = _random._RANDPERM_SMALL
    _random._RANDPERM_SMALL = 10
    try:
        a = _random.randperm(_random.Generator().manual_seed(4), 500)
        with numpy_path():
            b = _random.randperm(_random.Generator().manual_seed(4), 500)
    finally:
        _random._RANDPERM_SMALL = saved
    assert sorted(a.tolist()) == list(range(500))
    assert a.tolist() == b.tolist()
    assert a.tolist() != _random.randperm(_random.Generator().manual_seed(4), 500).tolist()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_bernoulli(engine, torch, path, seed):
    g, tg = _gens(engine, torch, seed)
    rng = np.random.default_rng(seed)
    with path():
        for ours, theirs in dtypes(engine, torch):
            for n in (1, 17, 500):
                p = rng.random(n)
                same(engine.bernoulli(engine.tensor(p, dtype=ours), generator=g),
                     torch.bernoulli(torch.tensor(p, dtype=theirs), generator=tg))
                same(engine.bernoulli(engine.zeros(n, dtype=ours), 0.3, generator=g),
                     torch.bernoulli(torch.zeros(n, dtype=theirs), 0.3, generator=tg))
                same(engine.empty(n, dtype=ours).bernoulli_(0.7, generator=g),
                     torch.empty(n, dtype=theirs).bernoulli_(0.7, generator=tg))
                same(engine.empty(n, dtype=ours).bernoulli_(engine.tensor(p), generator=g),
                     torch.empty(n, dtype=theirs).bernoulli_(torch.tensor(p), generator=tg))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_multinomial(engine, torch, path, seed):
    g, tg = _gens(engine, torch, seed)
    rng = np.random.default_rng(seed)
    with path():
        for ours, theirs in dtypes(engine, torch):
            for shape in ((5,), (3, 27), (4, 100)):
                w = rng.random(shape)
                w[..., 0] = 0.0                     # a zero weight is never drawn
                for k, repl in ((1, False), (1, True), (3, False), (5, True), (40, True)):
                    if not repl and k > shape[-1]:
                        continue
                    same(engine.multinomial(engine.tensor(w, dtype=ours), k, repl, generator=g),
                         torch.multinomial(torch.tensor(w, dtype=theirs), k, repl,
                                           generator=tg))
            full = rng.random(6)
            same(engine.multinomial(engine.tensor(full, dtype=ours), 6, generator=g),
                 torch.multinomial(torch.tensor(full, dtype=theirs), 6, generator=tg))


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_normal_overloads(engine, torch, seed):
    g, tg = _gens(engine, torch, seed)
    rng = np.random.default_rng(seed)
    for ours, theirs in dtypes(engine, torch):
        for n in (3, 20):
            mean, std = rng.standard_normal(n), rng.random(n) + 0.1
            m, s = engine.tensor(mean, dtype=ours), engine.tensor(std, dtype=ours)
            tm, ts = torch.tensor(mean, dtype=theirs), torch.tensor(std, dtype=theirs)
            same(engine.normal(m, s, generator=g), torch.normal(tm, ts, generator=tg))
            same(engine.normal(m, 0.5, generator=g), torch.normal(tm, 0.5, generator=tg))
            same(engine.normal(m, generator=g), torch.normal(tm, generator=tg))
            same(engine.normal(-1.5, s, generator=g), torch.normal(-1.5, ts, generator=tg))
            same(engine.normal(2.0, 3.0, (n, 2), generator=g, dtype=ours),
                 torch.normal(2.0, 3.0, (n, 2), generator=tg, dtype=theirs))
        same(engine.normal(m.reshape(n, 1), s, generator=g),
             torch.normal(tm.reshape(n, 1), ts, generator=tg))
    same(engine.normal(0.0, 1.0, size=(17,), generator=g),
         torch.normal(0.0, 1.0, size=(17,), generator=tg))


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_exponential_and_random_(engine, torch, path, seed):
    g, tg = _gens(engine, torch, seed)
    with path():
        for ours, theirs in dtypes(engine, torch):
            for n in (1, 40):
                same(engine.empty(n, dtype=ours).exponential_(2.5, generator=g),
                     torch.empty(n, dtype=theirs).exponential_(2.5, generator=tg))
                same(engine.empty(n, dtype=ours).random_(generator=g),
                     torch.empty(n, dtype=theirs).random_(generator=tg))
                same(engine.empty(n, dtype=ours).random_(-3, 12, generator=g),
                     torch.empty(n, dtype=theirs).random_(-3, 12, generator=tg))
                same(engine.empty(n, dtype=ours).random_(9, generator=g),
                     torch.empty(n, dtype=theirs).random_(9, generator=tg))
        same(engine.zeros(30, dtype=engine.int64).random_(generator=g),
             torch.zeros(30, dtype=torch.int64).random_(generator=tg))


def test_like_variants(engine, torch):
    engine.manual_seed(11)
    torch.manual_seed(11)
    x64 = engine.zeros(4, 5, dtype=engine.float64)
    t64 = torch.zeros(4, 5, dtype=torch.float64)
    same(engine.rand_like(x64), torch.rand_like(t64))
    same(engine.randn_like(x64), torch.randn_like(t64))
    same(engine.randn_like(x64, dtype=engine.float32), torch.randn_like(t64,
                                                                         dtype=torch.float32))
    same(engine.randint_like(x64, 7), torch.randint_like(t64, 7))
    same(engine.randint_like(x64, -2, 7), torch.randint_like(t64, -2, 7))


def test_global_functions_share_the_default_stream(engine, torch):
    """rand, randn, randint, randperm, multinomial without generator= draw in turn from the
    one default generator, as torch's."""
    engine.manual_seed(2024)
    torch.manual_seed(2024)
    p = [0.1, 0.5, 0.4]
    same(engine.rand(3), torch.rand(3))
    same(engine.randint(0, 5, (4,)), torch.randint(0, 5, (4,)))
    same(engine.randperm(6), torch.randperm(6))
    same(engine.multinomial(engine.tensor(p), 4, True), torch.multinomial(torch.tensor(p), 4,
                                                                          True))
    same(engine.randn(20), torch.randn(20))
    same(engine.bernoulli(engine.tensor(p)), torch.bernoulli(torch.tensor(p)))


def test_factory_flags(engine, torch):
    x = engine.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.dtype == engine.float32
    assert engine.rand(2, dtype=engine.float64).dtype == engine.float64
    assert engine.randint(0, 3, (2,)).dtype == engine.int64
    assert engine.randperm(3).dtype == engine.int64
    with pytest.raises(RuntimeError, match="negative dimension"):
        engine.randn(-1)
    with pytest.raises(RuntimeError, match="from=3 >= to=3"):
        engine.randint(3, 3, (2,))
    with pytest.raises(RuntimeError):
        torch.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="size"):
        engine.randint(0, 3, 2)
    with pytest.raises(TypeError):
        torch.randint(0, 3, 2)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        engine.normal(0.0, -1.0, (3,))
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        torch.normal(0.0, -1.0, (3,))
    with pytest.raises(RuntimeError, match="n_sample > prob_dist"):
        engine.multinomial(engine.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="n_sample > prob_dist"):
        torch.multinomial(torch.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        engine.multinomial(engine.tensor([0.0, 0.0]), 1)
    with pytest.raises(TypeError, match="Generator"):
        engine.rand(2, generator=3)
    with pytest.raises(RuntimeError, match="cuda"):
        engine.Generator("cuda")
