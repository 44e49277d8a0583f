"""Threads: one tape per thread; concurrent training loops give correct results."""

import math
import sys
import threading

import pytest

from _util import run_in_fresh_thread as _in_thread


def test_values_and_backward_in_a_thread(engine):
    def work():
        a, b = engine.Value(2.0), engine.Value(-1.5)
        y = (a * b).tanh() + a ** 2
        y.backward()
        return y.data, a.grad, b.grad, engine.tape_stats()["engine"]

    t = math.tanh(-3.0)
    value, ga, gb, name = _in_thread(work)
    assert value == t + 4.0
    assert ga == pytest.approx((1 - t * t) * -1.5 + 4.0, rel=1e-14)
    assert gb == pytest.approx((1 - t * t) * 2.0, rel=1e-14)
    assert name == engine.ENGINE


def _train(engine, xs, ys, steps, lr, start=None, barrier=None):
    if barrier is not None:
        barrier.wait()
    w, b = engine.Value(0.0), engine.Value(0.0)
    trace = []
    for step in range(steps):
        loss = engine.sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        loss.backward()
        w.data -= lr * w.grad
        b.data -= lr * b.grad
        w.grad = 0
        b.grad = 0
        if step % 500 == 0:
            trace.append(loss.data)
    return w.data, b.data, trace


PROBLEMS = [
    ((1.0, 2.0, 3.0), (3.0, 5.0, 7.0)),      # y = 2x + 1
    ((-1.0, 0.5, 2.0), (2.5, -0.5, -3.5)),   # y = -2x + 0.5
]


def test_two_threads_training_simultaneously(engine):
    steps = 6000
    expected = [_train(engine, xs, ys, steps, 0.05) for xs, ys in PROBLEMS]
    barrier = threading.Barrier(len(PROBLEMS))
    results = [None] * len(PROBLEMS)
    errors = []

    def run(k):
        try:
            xs, ys = PROBLEMS[k]
            results[k] = _train(engine, xs, ys, steps, 0.05, barrier=barrier)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(PROBLEMS))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)     # interleave the two loops finely
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    # same arithmetic as the sequential run: bit for bit
    assert results == expected
    assert results[0][0] == pytest.approx(2.0, abs=1e-6)
    assert results[0][1] == pytest.approx(1.0, abs=1e-6)
    assert results[1][0] == pytest.approx(-2.0, abs=1e-6)
    assert results[1][1] == pytest.approx(0.5, abs=1e-6)


def test_clear_tape_is_per_thread(engine):
    """clear_tape() in another thread leaves this thread's intermediates alone."""
    a = engine.Value(3.0)
    c = a * a
    _in_thread(engine.clear_tape)
    assert c.data == 9.0
    c.backward()
    assert a.grad == 6.0

    def other():
        x = engine.Value(1.0)
        y = x.exp()
        engine.clear_tape()
        with pytest.raises(RuntimeError, match="clear_tape"):
            y.data
        return (x * 2.0).data

    assert _in_thread(other) == 2.0
    assert c.data == 9.0


def test_intermediates_from_different_threads_cannot_be_combined(engine):
    made = {}
    ready = threading.Event()
    done = threading.Event()

    def worker():
        x = engine.Value(2.0)
        made["y"] = x * 3.0
        ready.set()
        done.wait(30)        # keep the thread (and its tape) alive meanwhile

    t = threading.Thread(target=worker)
    t.start()
    try:
        assert ready.wait(30)
        mine = engine.Value(1.0) + 1.0
        with pytest.raises(RuntimeError, match="thread"):
            mine + made["y"]
        with pytest.raises(RuntimeError, match="thread"):
            made["y"] * mine
    finally:
        done.set()
        t.join(30)


def test_thread_started_after_another_ends_has_one_consistent_tape(engine):
    """Threads started one after another (often with the id of a finished thread):
    Values made by one thread combine, whatever other threads did in between, and a
    new thread starts on an empty tape of its own."""
    def finished_thread_work():
        keep = [engine.Value(1.0) * 2.0 for _ in range(10)]
        return [v.data for v in keep]

    results = []
    for _ in range(8):
        _in_thread(finished_thread_work)
        go, back = threading.Event(), threading.Event()

        def work():
            x = engine.Value(1.5)
            if engine.ENGINE == "c":
                fresh = engine.tape_stats()["nodes"]
            else:
                fresh = 0
            go.set()
            assert back.wait(30)
            w = engine.Value(2.0)          # after the main thread used the engine
            return fresh, (x * w + x).data

        box = []
        t = threading.Thread(target=lambda: box.append(_in_thread_result(work)))
        t.start()
        assert go.wait(30)
        (engine.Value(5.0) * 1.0).data     # the engine is used on the main thread meanwhile
        back.set()
        t.join(30)
        results.append(box[0])
    for fresh, value in results:
        assert not isinstance(value, BaseException), repr(value)
        assert fresh == 0, "a new thread started on a tape holding someone else's nodes"
        assert value == 1.5 * 2.0 + 1.5


def _in_thread_result(fn):
    try:
        return fn()
    except BaseException as exc:
        return (None, exc)
