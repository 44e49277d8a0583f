"""Tape.vmap(..., threads=N): the rows split across threads, results bit-identical
to threads=1 (the compiled engine; the reference runs the rows in turn)."""

import numpy as np
import pytest

from _replay_cases import demo_data, demo_model
from test_replay_vmap import _branchy
from tapegrad import _replay


def _demo_program(engine):
    """The demo MLP's per-point max-margin loss (dot neurons, relu, constants)."""
    model = demo_model(engine)

    def point_loss(x, yi):
        return (1 + -yi * model(x)).relu() + 1e-4 * engine.sum(p * p for p in model.parameters())

    X, Y = demo_data(103)                                  # rows not a multiple of 2 or 3
    return point_loss, model.parameters(), (np.array(X), np.array(Y)), ([0.0, 0.0], 1.0)


def _shared_leaves(engine):
    """Parameters used many times per row, twice by one node (w * w), in sums, dots
    and a power: each use's contribution must be added in the one-thread order."""
    w = [engine.Value(0.1 * k - 0.7) for k in range(9)]

    def fn(x, y):
        s = engine.dot(w, [x, y, x * y, x, y, 1.0, x, 2.0, y])
        t = engine.sum([wi * wi * x for wi in w]) + w[0] ** 2 * y
        return (s * t).tanh() + (w[3] * x - y).relu() * w[3] + s.exp() * 1e-3

    rng = np.random.default_rng(11)
    return fn, w, (rng.standard_normal(257), rng.standard_normal(257)), (0.5, -0.5)


def _branchy_program(engine):
    step, a, b = _branchy(engine)
    rng = np.random.default_rng(5)
    return step, [a, b], (rng.standard_normal(64), rng.standard_normal(64)), (1.0, 0.5)


PROGRAMS = {"demo": _demo_program, "shared_leaves": _shared_leaves,
            "branchy": _branchy_program}


def _run(engine, make, threads):
    fn, params, batch, example = make(engine)
    for p in params:
        p.grad = 0.25                  # gradients accumulate onto what is there
    tape = _replay.api_for(engine).record(fn, *example)
    losses = tape.vmap(*batch, backward=True, threads=threads)
    return (losses.tolist(), [g.tolist() for g in tape.batch_grads],
            [p.grad for p in params])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("threads", [2, 3, 8])
def test_threads_give_the_bits_of_one_thread(engine, name, threads):
    one = _run(engine, PROGRAMS[name], 1)
    many = _run(engine, PROGRAMS[name], threads)
    assert one[0] == many[0]                               # losses, row by row
    assert one[1] == many[1]                               # each row's argument gradients
    assert [float(g).hex() for g in one[2]] == [float(g).hex() for g in many[2]]
    assert any(g != 0.25 for g in one[2])                  # the gradients did change


def test_threads_equal_eager_rows(engine):
    """threads=2 keeps vmap's promise: the parameters get what n backward() calls
    give (here with a branch, so one row of the C loop's fails its guards)."""
    step, a, b = _branchy(engine)
    rng = np.random.default_rng(3)
    xs, ys = rng.standard_normal(101), rng.standard_normal(101)
    tape = _replay.api_for(engine).record(step, 1.0, 0.5)
    losses = tape.vmap(xs, ys, backward=True, threads=2)
    got = (a.grad, b.grad)
    a.grad = b.grad = 0.0
    ref = []
    for x, y in zip(xs, ys):
        loss = step(engine.Value(float(x)), engine.Value(float(y)))
        loss.backward()
        ref.append(loss.data)
    assert losses.tolist() == ref
    assert got == (a.grad, b.grad)


def test_forward_only_and_fewer_rows_than_threads(engine):
    fn, params, batch, example = _shared_leaves(engine)
    tape = _replay.api_for(engine).record(fn, *example)
    one = tape.vmap(batch[0][:3], batch[1][:3], threads=1)
    assert tape.vmap(batch[0][:3], batch[1][:3], threads=8).tolist() == one.tolist()
    assert tape.vmap([], [], threads=4).tolist() == []
    assert all(p.grad == 0.0 for p in params)


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.0, TypeError),
                                       ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_thread_counts(engine, bad, error):
    fn, _, batch, example = _shared_leaves(engine)
    tape = _replay.api_for(engine).record(fn, *example)
    with pytest.raises(error, match="threads"):
        tape.vmap(*batch, threads=bad)
    assert tape.vmap(*batch, threads=np.int64(2)).shape == (257,)   # an integral numpy int


def test_a_parameter_returned_as_the_loss(engine):
    """fn returns a parameter itself (the root is a leaf): each row adds 1 to it."""
    w = engine.Value(2.0)
    tape = _replay.api_for(engine).record(lambda x: w, 1.0)
    for threads in (1, 2):
        w.grad = 0.0
        assert tape.vmap([1.0, 2.0, 3.0], backward=True, threads=threads).tolist() == [2.0] * 3
        assert w.grad == 3.0
