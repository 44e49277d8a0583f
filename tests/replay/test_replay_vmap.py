"""Batched replay (Tape.vmap) and the recordings a Tape keeps, on both engines."""

import threading

import numpy as np
import pytest

from tapegrad import _replay


def api(engine):
    return _replay.api_for(engine)


def _branchy(engine):
    """A step whose graph depends on the sign of z, and its parameters."""
    a, b = engine.Value(2.0), engine.Value(-3.0)

    def step(x, y):
        z = a * x + b * y
        if z > 0:
            return (z * z).tanh() + a
        return z.relu() + x * b

    return step, a, b


def _eager_rows(engine, step, a, b, xs, ys):
    losses, arg_grads = [], []
    for x, y in zip(xs, ys):
        vx, vy = engine.Value(float(x)), engine.Value(float(y))
        loss = step(vx, vy)
        loss.backward()
        losses.append(loss.data)
        arg_grads.append((vx.grad, vy.grad))
    return np.array(losses), np.array(arg_grads), a.grad, b.grad


def test_vmap_equals_eager_rows(engine):
    rng = np.random.default_rng(3)
    xs, ys = rng.standard_normal(300), rng.standard_normal(300)
    step, a, b = _branchy(engine)
    tape = api(engine).record(step, 1.0, 0.5)
    losses = tape.vmap(xs, ys, backward=True)
    grads_a, grads_b = a.grad, b.grad
    gx, gy = tape.batch_grads
    a.grad = b.grad = 0.0
    ref_losses, ref_arg_grads, ref_a, ref_b = _eager_rows(engine, step, a, b, xs, ys)
    assert losses.tolist() == ref_losses.tolist()           # bit-identical, row by row
    assert gx.tolist() == ref_arg_grads[:, 0].tolist()
    assert gy.tolist() == ref_arg_grads[:, 1].tolist()
    assert (grads_a, grads_b) == (ref_a, ref_b)             # parameters: the sum over rows
    assert gx.shape == xs.shape and gy.shape == ys.shape
    if engine.ENGINE == "c":
        assert tape.recordings == 2        # one recording per branch, kept and reused


def test_vmap_forward_only_leaves_gradients_alone(engine):
    step, a, b = _branchy(engine)
    tape = api(engine).record(step, 1.0, 0.5)
    losses = tape.vmap([1.0, 0.3, -1.0], [0.5, 0.2, 2.0])
    assert losses.tolist() == pytest.approx([np.tanh(0.25) + 2.0, -0.9, 3.0], abs=1e-15)
    assert (a.grad, b.grad) == (0.0, 0.0)
    assert tape.batch_grads is None


def test_vmap_nested_list_arguments(engine):
    w = [engine.Value(0.5), engine.Value(-1.5)]

    def neuron(x, target):
        return (engine.dot(w, x) - target) ** 2

    tape = api(engine).record(neuron, [1.0, 2.0], 0.0)
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.5]])
    T = np.array([1.0, 0.0, -2.0])
    losses = tape.vmap(X, T, backward=True)
    pred = X @ np.array([0.5, -1.5])
    assert losses.tolist() == pytest.approx(((pred - T) ** 2).tolist(), rel=1e-15)
    expected_w = (2 * (pred - T)[:, None] * X).sum(axis=0)
    assert [v.grad for v in w] == pytest.approx(expected_w.tolist(), rel=1e-14)
    gX, gT = tape.batch_grads
    assert gX.shape == (3, 2)
    np.testing.assert_allclose(gX, 2 * (pred - T)[:, None] * np.array([0.5, -1.5]), rtol=1e-14)
    np.testing.assert_allclose(gT, -2 * (pred - T), rtol=1e-14)


def test_vmap_rejects_wrong_shapes_and_tensor_arguments(engine):
    step, _, _ = _branchy(engine)
    tape = api(engine).record(step, 1.0, 0.5)
    with pytest.raises(ValueError, match="rows"):
        tape.vmap([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="batched arguments"):
        tape.vmap([1.0, 2.0])
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    ttape = api(engine).record(lambda x: (w * x).sum(), engine.tensor([1.0, 1.0]))
    with pytest.raises(NotImplementedError, match="tensor"):
        ttape.vmap(np.ones((3, 2)))


def test_vmap_guard_failure_raises_when_asked(engine):
    step, _, _ = _branchy(engine)
    tape = api(engine).record(step, 1.0, 0.5, on_guard_failure="raise")
    if engine.ENGINE == "c":
        with pytest.raises(_replay.GuardFailure):
            tape.vmap([1.0, 0.3], [0.5, 0.2])
    else:   # the reference runs fn again: nothing to fail
        assert tape.vmap([1.0, 0.3], [0.5, 0.2]).tolist()[1] == pytest.approx(-0.9)


def test_recordings_kept_per_signature(engine):
    """Alternating argument shapes and branches reuse earlier recordings."""
    w = engine.Value(1.5)

    def step(xs):
        total = engine.sum(xs) * w
        return total if total > 0 else -total

    compiled = api(engine).compile(step)
    calls = [[1.0, 2.0], [1.0, 2.0, 3.0], [-1.0, -2.0], [-1.0, -2.0, -3.0]] * 3
    for xs in calls:
        w.grad = 0.0
        loss = compiled(xs)
        assert loss.data == abs(1.5 * sum(xs))
        assert w.grad == (sum(xs) if sum(xs) > 0 else -sum(xs))
    if engine.ENGINE == "c":
        assert compiled.recordings == 4     # 2 shapes x 2 branches


def test_one_replay_at_a_time_across_threads(engine):
    """Replays of one Tape from two threads never run at once; both give right answers.
    (The reference runs fn again, so it keeps eager's rule: combine Values only on
    the thread that made them.)"""
    x = [engine.Value(0.001 * k) for k in range(3000)]

    def big(scale):
        return engine.sum(v * scale for v in x).tanh()

    compiled = api(engine).compile(big)
    compiled(1.0)
    if engine.ENGINE != "c":
        caught = []
        t = threading.Thread(target=lambda: caught.append(pytest.raises(RuntimeError, compiled, 0.5)))
        t.start()
        t.join()
        assert "different threads" in str(caught[0].value)
        return
    errors, results = [], []

    def worker():
        for _ in range(20):
            try:
                results.append(compiled(0.5).data)
            except RuntimeError as exc:     # the Tape is held by the other thread: busy
                errors.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(e.startswith("tapegrad: Tape.forward(): busy: held by thread") for e in errors)
    assert results and all(r == results[0] for r in results)
    assert results[0] == pytest.approx(np.tanh(0.5 * sum(0.001 * k for k in range(3000))))


def test_reset_records_again_after_a_layer_is_replaced(engine):
    """Replacing a parameter attribute is invisible to replay; reset() records again."""
    class Model:
        def __init__(self, w):
            self.w = w

    model = Model(engine.Value(2.0))
    compiled = api(engine).compile(lambda x: x * model.w)
    assert compiled(3.0).data == 6.0
    model.w = engine.Value(5.0)
    compiled.reset()
    assert compiled(3.0).data == 15.0 and model.w.grad == 3.0
    tape = api(engine).record(lambda x: x * model.w, 1.0)
    model.w = engine.Value(-1.0)
    tape.reset()
    assert tape.vmap([1.0, 2.0], backward=True).tolist() == [-1.0, -2.0]
    assert model.w.grad == 3.0
    assert tape.parameters == (model.w,)
