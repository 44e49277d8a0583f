"""Reclamation of unreachable nodes must never change a result.

Random graphs are built on the compiled engine and, step for step, on the
reference engine; handles are dropped at random while thousands of filler
nodes force the tape to collect, compact and grow. Every surviving handle
must still give the reference engine's value and gradients.
"""
import functools
import random
import threading

import pytest

import tapegrad._engine as C
import tapegrad.reference as R


def fresh_tape(test):
    """Run the test on a new thread, hence on a new, empty tape."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        box = []

        def run():
            try:
                box.append(test(*args, **kwargs))
            except BaseException as exc:  # re-raised on the calling thread
                box.append(exc)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if isinstance(box[0], BaseException):
            raise box[0]
    return wrapper


def _grow_tape(engine, n):
    """Record and drop n nodes, so the tape has to make room."""
    x = engine.Value(0.5)
    for _ in range(n):
        x = x * 1.0000001 + 0.0
    return x.data


@pytest.mark.parametrize("seed", range(12))
@fresh_tape
def test_random_graphs_survive_collections(seed):
    rng = random.Random(seed)
    leaves_c = [C.Value(rng.uniform(-2, 2)) for _ in range(6)]
    leaves_r = [R.Value(v.data) for v in leaves_c]
    live_c, live_r = list(leaves_c), list(leaves_r)
    for step in range(300):
        i, j = rng.randrange(len(live_c)), rng.randrange(len(live_c))
        kind = rng.randrange(7)
        pair = []
        for eng, live in ((C, live_c), (R, live_r)):
            a, b = live[i], live[j]
            if kind == 0:
                out = a * b
            elif kind == 1:
                out = a + b * 0.5
            elif kind == 2:
                out = (a - b).tanh()
            elif kind == 3:
                out = eng.sum([a, b, 1.5, a])
            elif kind == 4:
                out = eng.dot([a, 0.25, b], [b, a, 2.0])
            elif kind == 5:
                out = a.sigmoid() / (1.0 + b * b)
            else:
                out = (a * 0.3).exp() - b.relu()
            pair.append(out)
        live_c.append(pair[0])
        live_r.append(pair[1])
        if len(live_c) > 12 and rng.random() < 0.5:       # drop a random handle
            k = rng.randrange(6, len(live_c))
            del live_c[k], live_r[k]
        if step % 37 == 0:
            _grow_tape(C, rng.choice([100, 1500, 5000]))
    for k in rng.sample(range(len(live_c)), 5):
        for v in leaves_c + leaves_r:
            v.grad = 0.0
        live_c[k].backward()
        live_r[k].backward()
        assert live_c[k].data == pytest.approx(live_r[k].data, rel=1e-12, nan_ok=True)
        for lc, lr in zip(leaves_c, leaves_r):
            assert lc.grad == pytest.approx(lr.grad, rel=1e-12, abs=1e-300, nan_ok=True)
    assert C.tape_stats()["collections"] > 0


@fresh_tape
def test_training_loop_reclaims_by_dead_prefix():
    w, b = C.Value(0.1), C.Value(0.0)
    caps = []
    for step in range(20000):
        loss = (w * 2.0 + b - 3.0) ** 2 + (w * -1.0 + b + 1.0) ** 2
        loss.backward()
        for p in (w, b):
            p.data -= 0.01 * p.grad
            p.grad = 0.0
        if step in (2000, 19999):
            caps.append(C.tape_stats()["node_capacity"])
    assert caps[0] == caps[1]
    assert abs(w.data - 4.0 / 3.0) < 1e-6 and abs(b.data - 1.0 / 3.0) < 1e-6


@fresh_tape
def test_kept_old_node_does_not_pin_later_garbage():
    """A value computed once and reused every step has a low index; later
    steps' dead nodes must still be reclaimed (full marking, not only the
    dead-prefix shortcut)."""
    w = C.Value(0.5)
    scale = w * 2.0                     # kept alive for the whole loop
    caps = []
    for step in range(30000):
        loss = (scale * w - 1.0) ** 2
        loss.backward()
        w.grad = 0.0
        if step in (3000, 29999):
            caps.append(C.tape_stats()["node_capacity"])
    assert caps[0] == caps[1]
    assert scale.data == 1.0


@fresh_tape
def test_leaves_created_every_step_are_recycled():
    w = C.Value(1.0)
    caps = []
    for step in range(20000):
        x = C.Value(float(step % 7))
        loss = (w * x - x) ** 2
        loss.backward()
        if step in (2000, 19999):
            caps.append(C.tape_stats()["leaf_capacity"])
    assert caps[0] == caps[1]
    assert caps[1] <= 512          # slots of dead inputs are reused, not accumulated
