"""Replay under misuse (issue 10, items 7 and 12), on both engines.

- Between ``forward()`` and ``backward()`` the tensors that backward() gives
  gradients to are checked again: a parameter that no longer requires grad, or
  one whose data was replaced (``w.data = ...``), is a RuntimeError naming it
  and the fix, never a gradient written to the wrong slot or of the wrong size.
- ``clear_tape()`` inside a recorded function is refused.
- A Tape belongs to one thread from ``forward()`` to ``backward()``: another
  thread's forward() (or backward(), vmap(), reset()) raises "busy".
- Hostile arguments to ``forward()`` and ``vmap()`` raise the same exception
  type on both engines, with a message naming the argument, or work as eager
  code does.
"""

import threading

import numpy as np
import pytest

from _replay_cases import replay_api
from _util import run_in_fresh_thread


def is_c(engine):
    return engine.ENGINE == "c"


def vec(engine, values, requires_grad=False):
    return engine.tensor([float(v) for v in values], requires_grad=requires_grad)


def linear_tape(engine, n=3):
    """w (a parameter) and the Tape of (w * x).sum() recorded on a vector of n ones."""
    w = vec(engine, range(1, n + 1), requires_grad=True)
    tape = replay_api(engine).record(lambda x: (w * x).sum(), vec(engine, [1.0] * n))
    return w, tape


# ============================================================================
# 7. parameters changed between forward() and backward()

def test_parameter_stops_requiring_grad_between_forward_and_backward(engine):
    """The compiled engine read and wrote the slot at index -2 (a crash); the
    reference accumulated into a tensor that no longer requires grad."""
    w, tape = linear_tape(engine)
    tape.forward(vec(engine, [1.0, 2.0, 3.0]))
    w.requires_grad_(False)
    with pytest.raises(RuntimeError, match=r"a parameter \(a Tensor of shape \(3,\), "
                       r"tapegrad.float32\) no longer requires grad since forward\(\).*"
                       r"Call forward\(\) again"):
        tape.backward()
    assert w.grad is None
    w.requires_grad_(True)                      # the fix: forward() again, then backward()
    assert tape.forward(vec(engine, [1.0, 2.0, 3.0])).item() == 14.0
    tape.backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0]


def test_parameter_data_replaced_between_forward_and_backward(engine):
    """``w.data = randn(100000)`` after forward(): the compiled engine installed a
    3-element gradient on a 100000-element tensor, and the next step crashed."""
    w, tape = linear_tape(engine)
    tape.forward(vec(engine, [1.0, 1.0, 1.0]))
    w.data = engine.randn(100000)
    with pytest.raises(RuntimeError, match=r"a parameter \(a Tensor of shape \(3,\), "
                       r"tapegrad.float32\) had its data replaced \(now shape \(100000,\), "
                       r"tapegrad.float32\) since forward\(\)"):
        tape.backward()
    assert w.grad is None
    x = engine.ones(100000)
    for _ in range(2):                          # records fn again for the new shape, replays
        loss = tape.forward(x)
        tape.backward()
    assert loss.item() == pytest.approx(w.detach().sum().item(), rel=1e-4)
    assert w.grad.shape == (100000,) and w.grad.detach().sum().item() == 200000.0


def test_parameter_data_replaced_with_same_shape_is_refused_too(engine):
    """The gradient would fit, but it is the gradient of data that w no longer holds."""
    w, tape = linear_tape(engine)
    tape.forward(vec(engine, [1.0, 1.0, 1.0]))
    w.data = vec(engine, [5.0, 5.0, 5.0])
    with pytest.raises(RuntimeError, match="had its data replaced"):
        tape.backward()


def test_parameter_changed_before_forward_is_seen(engine):
    """Before forward() the same changes are fine: the replay reads w as it is then."""
    w, tape = linear_tape(engine)
    w.data = vec(engine, [5.0, 5.0, 5.0])
    assert tape.forward(vec(engine, [1.0, 2.0, 3.0])).item() == 30.0
    tape.backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0]


def test_parameter_in_place_between_forward_and_backward(engine):
    """An in-place change (same buffer) is caught by the version check, as eagerly."""
    w = vec(engine, [1.0, 2.0], requires_grad=True)
    tape = replay_api(engine).record(lambda x: (w * w * x).sum(), vec(engine, [1.0, 1.0]))
    tape.forward(vec(engine, [1.0, 1.0]))
    with engine.no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tape.backward()


def test_argument_data_replaced_between_forward_and_backward(engine):
    w, _ = linear_tape(engine, 2)
    tape = replay_api(engine).record(lambda x: (w * x).sum(),
                                     vec(engine, [1.0, 1.0], requires_grad=True))
    x = vec(engine, [1.0, 1.0], requires_grad=True)
    tape.forward(x)
    x.data = engine.ones(7)
    with pytest.raises(RuntimeError, match=r"tensor argument 0 \(a Tensor of shape \(2,\), "
                       r"tapegrad.float32\) had its data replaced \(now shape \(7,\)"):
        tape.backward()
    assert x.grad is None and w.grad is None


def test_parameter_made_to_require_grad_again_on_another_thread(engine):
    """A parameter detached and made to require grad on another thread lives on that
    thread's tape now: the replay reads it there (the compiled engine kept reading the
    recording thread's tape at the old index)."""
    w, tape = linear_tape(engine)
    tape.forward(vec(engine, [1.0, 1.0, 1.0]))
    tape.backward()

    def toggle():
        w.requires_grad_(False)
        w.requires_grad_(True)
        engine.ones(1000, requires_grad=True)     # more leaves there

    run_in_fresh_thread(toggle)
    w.grad = None
    assert tape.forward(vec(engine, [1.0, 2.0, 3.0])).item() == 14.0
    tape.backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0]


# ============================================================================
# 7. clear_tape() inside a recorded function

def guarded_clear(engine, w):
    def fn(x):
        z = w * x
        if z > 0:                                # a comparison guard on z
            pass
        engine.clear_tape()
        return w * x + 1.0
    return fn


def test_clear_tape_inside_a_recorded_function_is_refused(engine):
    """The compiled engine freed the guard's Value under the recording ("double free")."""
    w = engine.Value(2.0)
    with pytest.raises(RuntimeError, match=r"tapegrad.clear_tape\(\) inside a function being "
                       "recorded for replay would not be repeated"):
        replay_api(engine).record(guarded_clear(engine, w), 1.0)
    step = replay_api(engine).compile(guarded_clear(engine, w))
    with pytest.raises(RuntimeError, match=r"clear_tape\(\)"):
        step(1.0)
    # the thread can record, replay and clear afterwards
    tape = replay_api(engine).record(lambda x: w * x + 1.0, 1.0)
    assert tape.forward(3.0).data == 7.0
    tape.backward()
    assert w.grad == 3.0
    engine.clear_tape()
    assert (w * 2.0).data == 4.0


def test_clear_tape_while_another_thread_records_on_this_tape(engine):
    """A worker's fn that uses this thread's tensors records on this thread's tape:
    clearing it meanwhile is refused on the compiled engine. (The reference records
    nothing on a tape, so its clear_tape has nothing to break.)"""
    w = vec(engine, [1.0, 2.0], requires_grad=True)
    inside, cleared = threading.Event(), threading.Event()
    outcome = []

    def fn(x):
        y = (w * x).sum()
        inside.set()
        cleared.wait(30)
        return y

    worker = threading.Thread(target=lambda: outcome.append(
        replay_api(engine).record(fn, vec(engine, [1.0, 1.0]))))
    worker.start()
    assert inside.wait(30)
    if is_c(engine):
        with pytest.raises(RuntimeError, match="recording for replay on another thread"):
            engine.clear_tape()
    else:
        engine.clear_tape()
    cleared.set()
    worker.join(30)
    tape = outcome[0]
    assert tape.forward(vec(engine, [2.0, 3.0])).item() == 8.0


# ============================================================================
# 12. a Tape shared between threads

BUSY = r"busy: held by thread 'MainThread' between forward\(\) and backward\(\)"


def test_tape_is_held_from_forward_to_backward(engine):
    """A forward, B forward, A backward gave A the gradients of B's arguments."""
    w, tape = linear_tape(engine, 2)
    tape.forward(vec(engine, [1.0, 1.0]))
    with pytest.raises(RuntimeError, match="Tape.forward\\(\\): " + BUSY):
        run_in_fresh_thread(tape.forward, vec(engine, [100.0, 100.0]))
    with pytest.raises(RuntimeError, match="Tape.backward\\(\\): " + BUSY):
        run_in_fresh_thread(tape.backward)
    with pytest.raises(RuntimeError, match="Tape.reset\\(\\): " + BUSY):
        run_in_fresh_thread(tape.reset)
    tape.backward()
    assert w.grad.tolist() == [1.0, 1.0]        # A's own gradients

    def other_step():                           # released: B may use it now
        loss = tape.forward(vec(engine, [100.0, 100.0]))
        tape.backward()
        return loss.item()

    assert run_in_fresh_thread(other_step) == 300.0
    assert w.grad.tolist() == [101.0, 101.0]


def test_tape_is_held_until_backward_has_run(engine):
    """Another thread's forward() while this backward() runs would rebind the
    recording under it: the Tape is released only when backward() is done."""
    w, tape = linear_tape(engine, 2)
    tape.forward(vec(engine, [1.0, 2.0]))
    program, tried = tape._program, []

    class Meanwhile:
        """The recording, with another thread's forward() at the start of backward."""

        def __getattr__(self, name):
            return getattr(program, name)

        def backward(self, scalars, tensors):
            try:
                run_in_fresh_thread(tape.forward, vec(engine, [100.0, 100.0]))
            except RuntimeError as exc:
                tried.append(str(exc))
            return program.backward(scalars, tensors)

    tape._program = Meanwhile()
    tape.backward()
    assert len(tried) == 1 and "busy" in tried[0]
    assert w.grad.tolist() == [1.0, 2.0]


def test_vmap_is_refused_while_another_thread_holds_the_tape(engine):
    w = [engine.Value(0.5), engine.Value(-1.5)]
    tape = replay_api(engine).record(lambda x: engine.dot(w, x), [1.0, 2.0])
    tape.forward([1.0, 1.0])
    with pytest.raises(RuntimeError, match="Tape.vmap\\(\\): " + BUSY):
        run_in_fresh_thread(tape.vmap, np.ones((3, 2)))
    tape.backward()
    assert [v.grad for v in w] == [1.0, 1.0]


def test_a_failed_forward_does_not_hold_the_tape(engine):
    w, tape = linear_tape(engine, 2)
    with pytest.raises(TypeError, match="not 'str'"):
        tape.forward("two")
    assert run_in_fresh_thread(lambda: tape.forward(vec(engine, [1.0, 2.0])).item()) == 5.0


def test_a_finished_thread_does_not_hold_the_tape(engine):
    """A thread that called forward() and ended without backward() holds nothing."""
    w, tape = linear_tape(engine, 2)
    run_in_fresh_thread(tape.forward, vec(engine, [7.0, 7.0]))
    with pytest.raises(RuntimeError, match="needs a forward"):   # its forward() is not ours
        tape.backward()
    assert w.grad is None
    assert tape.forward(vec(engine, [1.0, 2.0])).item() == 5.0
    tape.backward()
    assert w.grad.tolist() == [1.0, 2.0]


def test_compiled_step_raises_busy_cleanly(engine):
    """compile: another thread's step while this one is between forward() and
    backward() of the same Tape raises busy; nothing accumulates from it."""
    w = vec(engine, [1.0, 2.0], requires_grad=True)
    step = replay_api(engine).compile(lambda x: (w * x).sum())
    step(vec(engine, [1.0, 1.0]))
    step.tape.forward(vec(engine, [3.0, 3.0]))
    with pytest.raises(RuntimeError, match="Tape.forward\\(\\): " + BUSY):
        run_in_fresh_thread(step, vec(engine, [100.0, 100.0]))
    step.tape.backward()
    assert w.grad.tolist() == [4.0, 4.0]


def test_compiled_step_from_two_threads_keeps_each_calls_gradients(engine):
    """Every call either returns its loss after accumulating its own gradients or
    raises busy: the sum of the gradients is that of the calls that returned."""
    w = vec(engine, [0.0, 0.0], requires_grad=True)
    step = replay_api(engine).compile(lambda x: (w * x).sum())
    step(vec(engine, [0.0, 0.0]))
    done, errors = [], []

    def work(scale):
        for _ in range(200):
            try:
                step(vec(engine, [scale, -scale]))
                done.append(scale)
            except RuntimeError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=work, args=(s,)) for s in (1.0, 1000.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("busy" in e for e in errors), errors[:3]
    assert w.grad.tolist() == [sum(done), -sum(done)]


# ============================================================================
# hostile arguments: the same exception type on both engines, or eager's answer

def test_forward_with_another_shape_records_again_or_raises(engine):
    w, tape = linear_tape(engine)
    with pytest.raises(RuntimeError, match="mul: shapes"):      # fn itself fails on it
        tape.forward(vec(engine, [1.0, 2.0]))
    w2, _ = linear_tape(engine)
    strict = replay_api(engine).record(lambda x: (w2 * x).sum(), vec(engine, [1.0] * 3),
                                       on_guard_failure="raise")
    with pytest.raises(replay_api(engine).GuardFailure, match="shapes or dtypes differ"):
        strict.forward(vec(engine, [1.0, 2.0]))
    with pytest.raises(RuntimeError, match="needs a forward"):
        strict.backward()


@pytest.mark.parametrize("array", [np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0]),
                                   np.array([1, 2, 3], dtype=np.float16),
                                   np.array([True, False, True])],
                         ids=["int64", "float64", "float16", "bool"])
def test_forward_with_another_dtype_gives_eager_result(engine, array):
    w, tape = linear_tape(engine)
    loss = tape.forward(array)
    tape.backward()
    eager_w = vec(engine, [1.0, 2.0, 3.0], requires_grad=True)
    eager = (eager_w * engine.tensor(array.tolist())).sum()
    eager.backward()
    assert loss.item() == eager.item() and w.grad.tolist() == eager_w.grad.tolist()


def self_containing_list():
    a = []
    a.append(a)
    return a


@pytest.mark.parametrize("bad, error, message", [
    ("three", TypeError, "not 'str'"),
    (1j, TypeError, "not 'complex'"),
    (10 ** 400, OverflowError, "too large"),
    (self_containing_list(), RecursionError, "nest lists or tuples more than 100 deep"),
    (None, TypeError, "not 'NoneType'"),
    ({"x": 1.0}, TypeError, "not 'dict'"),
    (np.array([object(), 1.0], dtype=object), TypeError, None),   # numpy's message
])
def test_forward_with_a_wrong_argument_type(engine, bad, error, message):
    w, tape = linear_tape(engine)
    with pytest.raises(error, match=message):
        tape.forward(bad)
    assert w.grad is None


def test_forward_with_the_other_engines_tensor_or_value(engine):
    import tapegrad._engine
    import tapegrad.reference
    other = tapegrad.reference if is_c(engine) else tapegrad._engine
    w, tape = linear_tape(engine, 2)
    with pytest.raises(TypeError, match="not 'Tensor'"):
        tape.forward(other.ones(2))
    with pytest.raises(TypeError, match="not 'Value'"):
        tape.forward(other.Value(3.0))


def test_a_failed_forward_leaves_nothing_to_backward(engine):
    w, tape = linear_tape(engine, 2)
    tape.forward(vec(engine, [1.0, 1.0]))
    with pytest.raises(TypeError):
        tape.forward("x")
    with pytest.raises(RuntimeError, match="needs a forward"):
        tape.backward()
    assert w.grad is None


def test_zero_size_batch(engine):
    w = vec(engine, [1.0, 2.0], requires_grad=True)
    api = replay_api(engine)
    total = api.record(lambda x: (x @ w).sum(), engine.ones(3, 2))
    mean = api.record(lambda x: (x @ w).mean(), engine.ones(3, 2))
    assert total.forward(np.ones((0, 2), dtype=np.float32)).item() == 0.0
    total.backward()
    assert w.grad.tolist() == [0.0, 0.0]
    assert np.isnan(mean.forward(engine.ones(0, 2)).item())
    mean.backward()
    assert w.grad.tolist() == [0.0, 0.0]
    empty = api.record(lambda x: (x @ w).sum(), engine.ones(0, 2))   # recorded on 0 rows
    empty.forward(engine.ones(0, 2))
    empty.backward()
    assert empty.forward(engine.ones(2, 2)).item() == 6.0
    empty.backward()
    assert w.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("layout", ["reversed", "every_other", "transposed"])
def test_strided_numpy_arguments(engine, layout):
    """Negative strides, gaps and transposes read the same numbers as a contiguous copy."""
    base = np.arange(24, dtype=np.float32)
    array = {"reversed": base[::-1][:12].reshape(6, 2)[::-1],
             "every_other": base.reshape(6, 4)[:, ::2],
             "transposed": base[:12].reshape(2, 6).T}[layout]
    assert not array.flags.c_contiguous or layout == "reversed"
    w = vec(engine, [1.0, -2.0], requires_grad=True)
    tape = replay_api(engine).record(lambda x: (x @ w).sum(), np.ones((6, 2), np.float32))
    loss = tape.forward(array)
    tape.backward()
    assert loss.item() == float((array @ np.array([1.0, -2.0], np.float32)).sum())
    assert w.grad.tolist() == array.sum(axis=0).tolist()


def test_backward_without_forward_and_twice(engine):
    w, tape = linear_tape(engine, 2)
    with pytest.raises(RuntimeError, match=r"Tape.backward\(\) needs a forward\(\) first"):
        tape.backward()
    tape.forward(vec(engine, [1.0, 1.0]))
    tape.backward()
    with pytest.raises(RuntimeError, match=r"one backward\(\) per forward\(\)"):
        tape.backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_backward_after_vmap(engine):
    """vmap leaves no forward() pending, even after a forward()."""
    w, tape = scalar_tape(engine)
    tape.forward([1.0, 1.0], 0.0)
    tape.vmap(np.ones((2, 2)), np.zeros(2))
    with pytest.raises(RuntimeError, match="needs a forward"):
        tape.backward()
    assert [v.grad for v in w] == [0.0, 0.0]


def scalar_tape(engine):
    w = [engine.Value(0.5), engine.Value(-1.5)]
    tape = replay_api(engine).record(lambda x, t: (engine.dot(w, x) - t) ** 2, [1.0, 2.0], 0.0)
    return w, tape


@pytest.mark.parametrize("args, error, message", [
    ((np.ones((2, 2)), np.ones(3)), ValueError, r"argument 1 must hold 2 rows of 1 numbers"),
    ((np.ones((2, 3)), np.ones(2)), ValueError, r"argument 0 must hold 2 rows of 2 numbers"),
    ((np.ones((2, 2)), 3.0), ValueError, r"argument 1 must hold 2 rows.*got shape \(\)"),
    ((np.ones((2, 2)),), TypeError, r"got 1 batched arguments"),
    ((np.ones((2, 2)), np.ones(2), np.ones(2)), TypeError, r"got 3 batched arguments"),
    (([[1.0, 2.0], [3.0]], [1.0, 2.0]), ValueError, r"argument 0 must be an array of numbers"),
    (([["a", "b"]], ["c"]), ValueError, r"argument 0 must be an array of numbers"),
    (([{"a": 1}], [1.0]), ValueError, r"argument 0 must be an array of numbers"),
])
def test_vmap_with_mismatched_rows(engine, args, error, message):
    w, tape = scalar_tape(engine)
    with pytest.raises(error, match=message):
        tape.vmap(*args, backward=True)
    assert [v.grad for v in w] == [0.0, 0.0]
    assert tape.vmap(np.ones((1, 2)), np.zeros(1)).tolist() == [1.0]    # still usable


def test_vmap_with_zero_rows(engine):
    """numpy could not reshape 0 rows "into shape (0, newaxis)"."""
    w, tape = scalar_tape(engine)
    losses = tape.vmap(np.zeros((0, 2)), np.zeros(0), backward=True)
    assert losses.shape == (0,)
    assert [g.shape for g in tape.batch_grads] == [(0, 2), (0,)]
    assert [v.grad for v in w] == [0.0, 0.0]


def test_vmap_with_strided_rows(engine):
    w, tape = scalar_tape(engine)
    x = np.arange(8.0).reshape(4, 2)[::-1, ::-1]
    t = np.arange(4.0)[::-1]
    losses = tape.vmap(x, t, backward=True)
    expected = (x @ np.array([0.5, -1.5]) - t) ** 2
    assert losses.tolist() == expected.tolist()
    assert tape.batch_grads[1].tolist() == (-2 * (x @ np.array([0.5, -1.5]) - t)).tolist()


def test_vmap_of_a_tensor_recording(engine):
    w, tape = linear_tape(engine, 2)
    with pytest.raises(NotImplementedError, match="vmap batches number arguments"):
        tape.vmap(np.ones((3, 2)))


# ============================================================================
# class targets: int64 arguments that a replay uses as indices

def cross_entropy_tape(engine, libs):
    w = engine.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], requires_grad=True)
    tape = replay_api(engine).record(lambda x, y: libs.F.cross_entropy(x @ w, y),
                                     engine.ones(2, 2), engine.tensor([0, 1]))
    return w, tape


@pytest.mark.parametrize("targets, bad", [([5, 1], 5), ([0, -7], -7), ([-1, 9], -1)])
def test_replayed_cross_entropy_checks_targets(engine, libs, targets, bad, torch):
    """Eager cross entropy checks its targets before indexing; a replay, which binds
    new targets, read and wrote out of bounds instead. torch names the first bad one."""
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        torch.nn.functional.cross_entropy(torch.ones(2, 3), torch.tensor(targets))
    w, tape = cross_entropy_tape(engine, libs)
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        tape.forward(engine.ones(2, 2), engine.tensor(targets))
    assert w.grad is None
    loss = tape.forward(engine.ones(2, 2), engine.tensor([2, 2]))
    tape.backward()
    assert loss.item() == pytest.approx(0.7586, abs=1e-4)
    assert w.grad[:, 2].tolist() == pytest.approx([-0.5317, -0.5317], abs=1e-4)


def test_targets_changed_through_numpy_between_forward_and_backward(engine, libs):
    """Targets changed in memory shared with numpy after forward(): the compiled
    engine's backward wrote out of bounds; now it refuses them as forward() does.
    (The reference engine's backward uses its forward pass's copy of the targets.)"""
    w, tape = cross_entropy_tape(engine, libs)
    y = engine.tensor([0, 1])
    tape.forward(engine.ones(2, 2), y)
    y.numpy()[0] = 100000000
    if is_c(engine):
        with pytest.raises(IndexError, match="Target 100000000 is out of bounds"):
            tape.backward()
    else:
        tape.backward()
        assert w.grad is not None


def test_recording_that_allocates_much_is_not_collected_midway(engine):
    """A recorded fn whose tensors pass the tape's reclaim-by-bytes threshold (8 MB)
    while dead nodes of earlier eager steps lie below it: the compiled engine collected
    the tape inside fn, moving the nodes recorded so far, and compile() then refused
    with "computed before the recording began"."""
    w = engine.tensor(np.full((512, 512), 1e-3, np.float32), requires_grad=True)
    x = engine.tensor(np.ones((512, 512), np.float32))
    for _ in range(3):                               # dead graphs left on the tape
        (x @ w).tanh().sum().backward()

    def fn(x):
        h = x
        for _ in range(12):                         # 24 buffers of 1 MB
            h = (h @ w).tanh()
        return h.sum()

    w.grad = None
    step = replay_api(engine).compile(fn)
    loss = step(x)
    want = fn(x)
    assert abs(float(loss) - float(want)) <= 1e-6 * abs(float(want))
    assert w.grad is not None and float(w.grad.abs().sum()) > 0
