"""Replay: ``compile(fn)`` / ``record(fn, *args)`` on both engines.

A replayed step must give exactly what ``loss = fn(*args); loss.backward()``
gives on the same engine: the same loss and the same gradients, bit for bit
(compared with ``==``), on random scalar graphs, micrograd's demo MLP and the
small tensor MLP; guards (comparisons, values read out of the graph, argument
shapes) re-record or raise; parameters changed between calls are seen;
``Tape.grads`` are the gradients with respect to the arguments; errors; memory
over many replays; threads; a torch cross-check.

The compiled engine re-runs a recorded program (``recordings`` counts the
recordings); the reference engine runs fn again on every call.
"""

import gc
import math
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad
from _graphs import NONFINITE, SPECIAL, apply_instr, tame_graphs, wild_graphs
from _replay_cases import (MLP_HID, MLP_IN, MLP_OUT, arr, demo_data, demo_loss_fn, demo_model,
                           replay_api, same, same_array, train_demo, train_mlp)
from _util import rss_bytes, run_in_fresh_thread


def is_c(engine):
    return engine.ENGINE == "c"


def assert_recordings(engine, step, outcomes):
    """How many times fn was recorded over calls whose guard outcomes were `outcomes`
    (one hashable per call): once on the reference (fn runs again anyway); on C at least
    once per distinct outcome (a recording replays only its own outcome) and at most once
    per change of outcome (a recording is reused while the outcome holds; the compiled
    engine also keeps earlier recordings and tries them before recording again)."""
    if not is_c(engine):
        assert step.recordings == 1
        return
    distinct = len(set(outcomes))
    changes = 1 + sum(a != b for a, b in zip(outcomes, outcomes[1:]))
    assert distinct <= step.recordings <= changes, (
        f"{step.recordings} recordings for outcomes {outcomes}")


def f64(engine, a, requires_grad=False):
    return engine.tensor(np.asarray(a, dtype=np.float64).tolist(), dtype=engine.float64,
                         requires_grad=requires_grad)


# ============================================================================
# API


def test_api_surface(engine):
    api = replay_api(engine)
    assert issubclass(tapegrad.GuardFailure, RuntimeError)
    assert api.GuardFailure is tapegrad.GuardFailure
    assert tapegrad.reference.GuardFailure is tapegrad.GuardFailure
    assert tapegrad.reference.compile is replay_api(tapegrad.reference).compile
    if tapegrad.ENGINE == engine.ENGINE:       # the package re-exports the active engine's
        assert tapegrad.compile is api.compile and tapegrad.record is api.record

    w = engine.Value(3.0)

    @api.compile
    def step(x):
        """doc"""
        return x * w

    assert step.__name__ == "step" and step.__doc__ == "doc"
    assert step.recordings == 0 and step.tape is None
    loss = step(2.0)
    assert type(loss) is engine.Value and loss.data == 6.0
    assert w.grad == 2.0
    assert step.recordings == 1 and isinstance(step.tape, api.Tape)
    assert step.tape.parameters == (w,)
    if is_c(engine):
        assert step.tape.nodes == 1 and step.tape.guards == 0
    else:
        assert step.tape.nodes == 0 and step.tape.guards == 0
    assert "step" in repr(step) and "step" in repr(step.tape)

    raising = api.compile(on_guard_failure="raise")(lambda x: x * w)
    assert raising.on_guard_failure == "raise"
    assert raising(1.0).data == 3.0 and w.grad == 3.0


def test_returned_loss_is_detached(engine):
    api = replay_api(engine)
    w = engine.Value(-1.5)
    step = api.compile(lambda x: (x * w).tanh())
    loss = step(0.5)
    assert loss.data == math.tanh(-0.75)
    g = w.grad
    loss.backward()                      # a fresh leaf: nothing flows back to w
    assert w.grad == g and loss.grad == 1.0

    wt = engine.tensor([1.0, 2.0], requires_grad=True)
    tstep = api.compile(lambda x: (x * wt).sum())
    out = tstep(engine.tensor([3.0, 4.0]))
    assert out.item() == 11.0
    assert not out.requires_grad and out.grad_fn is None and out.is_leaf
    assert wt.grad.tolist() == [3.0, 4.0]
    out2 = tstep(engine.tensor([1.0, 1.0]))
    assert out.item() == 11.0 and out2.item() == 3.0     # each call returns its own tensor


# ============================================================================
# 1. random scalar graphs: replay == eager, bit for bit


NUMBERS = st.one_of(st.sampled_from(SPECIAL + NONFINITE),
                    st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
                    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))


def _graph_fn(engine, graph, params):
    """fn(*args) building graph: its first len(params) leaves are params (closure Values),
    the rest are fn's arguments."""

    def fn(*xs):
        nodes = list(params) + list(xs)
        for ins in graph.instrs:
            nodes.append(apply_instr(ins, nodes, lambda c: c, engine.sum, engine.dot))
        return nodes[-1]

    return fn


def _check_graph_replay(engine, graph, n_params, points, value_args):
    api = replay_api(engine)
    n = len(graph.leaves)
    eager_params = [engine.Value(x) for x in graph.leaves[:n_params]]
    replay_params = [engine.Value(x) for x in graph.leaves[:n_params]]
    eager_fn = _graph_fn(engine, graph, eager_params)
    step = api.compile(_graph_fn(engine, graph, replay_params))
    arg_values = [engine.Value(0.0) for _ in range(n - n_params)] if value_args else None
    for k, point in enumerate(points):
        # parameters change between calls (p.data = ...); their grads accumulate
        for pe, pr, x in zip(eager_params, replay_params, point):
            pe.data = pr.data = x
        xs = [engine.Value(x) for x in point[n_params:]]
        expected = eager_fn(*xs)
        expected.backward()
        if value_args:
            before = [v.grad for v in arg_values]
            for v, x in zip(arg_values, point[n_params:]):
                v.data = x
            got = step(*arg_values)
        else:
            got = step(*point[n_params:])
        where = f"call {k} at {point} ({n_params} parameters) of\n{graph!r}"
        assert same(got.data, expected.data), f"loss {got.data!r} != {expected.data!r}: {where}"
        for i, (pr, pe) in enumerate(zip(replay_params, eager_params)):
            assert same(pr.grad, pe.grad), f"parameter {i} grad {pr.grad!r} != {pe.grad!r}: {where}"
        grads = step.tape.grads
        assert isinstance(grads, tuple) and len(grads) == n - n_params
        for i, (g, x) in enumerate(zip(grads, xs)):
            assert same(g, x.grad), f"argument {i} grad {g!r} != {x.grad!r}: {where}"
        if value_args:   # Value arguments: .grad += the gradient
            for i, (v, b, g) in enumerate(zip(arg_values, before, grads)):
                assert same(v.grad, b + g), f"Value argument {i}: {v.grad!r} != {b!r} + {g!r}"
    # scalar graphs hold no comparison: one recording serves every call
    assert step.recordings == 1


@settings(max_examples=70)
@given(graph=wild_graphs(max_leaves=4, max_ops=16), data=st.data())
def test_random_graph_replay_equals_eager(engine, graph, data):
    n = len(graph.leaves)
    n_params = data.draw(st.integers(0, n), label="n_params")
    more = data.draw(st.lists(st.lists(NUMBERS, min_size=n, max_size=n), min_size=2, max_size=4),
                     label="points")
    value_args = data.draw(st.booleans(), label="value_args")
    _check_graph_replay(engine, graph, n_params, [graph.leaves] + more, value_args)


@settings(max_examples=40)
@given(graph=tame_graphs(max_leaves=4, max_ops=20), scale=st.floats(0.5, 1.5))
def test_tame_graph_replay_equals_eager(engine, graph, scale):
    """Smooth graphs, arguments moved around their recording point."""
    n = len(graph.leaves)
    points = [graph.leaves, [x * scale for x in graph.leaves], [-x for x in graph.leaves],
              [x + 0.25 for x in graph.leaves]]
    _check_graph_replay(engine, graph, n // 2, points, value_args=False)


def test_hand_written_graph_every_op(engine):
    """sum, dot, relu, tanh, exp, log, pow, division and constants in one fn, over
    several calls, against eager and against numbers worked out by hand."""
    api = replay_api(engine)
    w = [engine.Value(0.5), engine.Value(-1.25), engine.Value(2.0)]
    c = engine.Value(0.75)

    def fn(x, y, z):
        h = engine.dot(w, [x, y, z])                              # dot
        s = engine.sum([h.relu(), (x * y).tanh(), 3.0, c ** 2])  # sum, relu, tanh, pow, constant
        t = (z * z + 1.0).log() / (1.0 + y.exp())                 # log, exp, division, constants
        return s * t + x ** 3 - 2.0 / (c + z * z) + (2.0 ** c)

    step = api.compile(fn)
    for x, y, z in [(1.0, 2.0, 3.0), (-1.0, 0.5, 0.25), (0.3, -0.7, -2.0), (2.0, 0.0, 1.0)]:
        xs = [engine.Value(v) for v in (x, y, z)]
        e = fn(*xs)
        e.backward()
        got = step(x, y, z)
        assert same(got.data, e.data)
        assert all(same(g, v.grad) for g, v in zip(step.tape.grads, xs))
        # by hand (float64): value and d/dx
        h = 0.5 * x - 1.25 * y + 2.0 * z
        s = max(h, 0.0) + math.tanh(x * y) + 3.0 + 0.5625
        t = math.log(z * z + 1.0) / (1.0 + math.exp(y))
        val = s * t + x ** 3 - 2.0 / (0.75 + z * z) + 2.0 ** 0.75
        dx = (0.5 * (h > 0) + (1 - math.tanh(x * y) ** 2) * y) * t + 3 * x * x
        assert got.data == pytest.approx(val, rel=1e-13)
        assert step.tape.grads[0] == pytest.approx(dx, rel=1e-12)
    if is_c(engine):
        assert step.recordings == 1


# ============================================================================
# 2. micrograd's demo MLP trained 5 steps with SGD


@pytest.mark.parametrize("neuron", ["dot", "sum"])
def test_demo_mlp_training_replay_equals_eager(engine, neuron):
    api = replay_api(engine)
    eager_losses, eager_params, _ = train_demo(engine, api, replay=False, neuron=neuron)
    losses, params, step = train_demo(engine, api, replay=True, neuron=neuron)
    assert losses == eager_losses
    assert len(params) == 337 and params == eager_params
    assert step.recordings == 1
    assert len(step.tape.parameters) == 337
    if is_c(engine):
        assert step.tape.nodes > 5000 and step.tape.guards == 0
    # the loss actually trains, and the first one is the demo's own (bench.demo_loss)
    assert losses[-1] < 0.5 * losses[0]
    from tapegrad import bench
    Xb, yb = demo_data()
    first, _ = bench.demo_loss(engine, demo_model(engine, neuron), Xb, yb)
    assert first.data == pytest.approx(losses[0], rel=1e-14)


def test_demo_loss_value_args_and_grads(engine):
    """The demo loss on a small batch: gradients w.r.t. the inputs (tape.grads) equal
    eager's and are shaped like the nested-list arguments."""
    api = replay_api(engine)
    Xb, yb = demo_data(8)
    model = demo_model(engine)
    fn = demo_loss_fn(engine, model)
    tape = api.record(fn, Xb, yb)
    for shift in (0.0, 0.1, -0.2):
        X = [[x + shift for x in row] for row in Xb]
        loss = tape.forward(X, yb)
        tape.backward()
        model.zero_grad()
        Xv = [[engine.Value(x) for x in row] for row in X]
        yv = [engine.Value(y) for y in yb]
        e = fn(Xv, yv)
        e.backward()
        assert loss.data == e.data
        gX, gy = tape.grads
        assert isinstance(gX, list) and all(isinstance(r, list) and len(r) == 2 for r in gX)
        assert gX == [[v.grad for v in row] for row in Xv]
        assert gy == [v.grad for v in yv]
        assert any(g != 0.0 for row in gX for g in row)


# ============================================================================
# 3. the small tensor MLP


MLP_CASES = [
    ("mse", "sgd", "float32"),
    ("ce", "sgd", "float32"),
    ("mse", "adam", "float32"),
    ("ce", "adam", "float32"),
    ("ce", "adam", "float64"),
]


@pytest.mark.parametrize("loss,opt,dtype", MLP_CASES, ids=["-".join(c) for c in MLP_CASES])
def test_tensor_mlp_training_replay_equals_eager(engine, libs, loss, opt, dtype):
    api = replay_api(engine)
    eager_losses, eager_params, _ = train_mlp(engine, libs, api, False, loss, opt, dtype, steps=5)
    losses, params, step = train_mlp(engine, libs, api, True, loss, opt, dtype, steps=5)
    assert losses == eager_losses
    assert len(params) == 4
    for p, q in zip(params, eager_params):
        assert same_array(p, q)
    assert params[0].dtype == (np.float64 if dtype == "float64" else np.float32)
    assert params[0].shape == (MLP_HID, MLP_IN) and params[2].shape == (MLP_OUT, MLP_HID)
    # new batches (and new int64 targets) bind to the recording: no re-recording
    assert step.recordings == 1
    assert len(step.tape.parameters) == 4
    # the parameters moved, and differently for each step's batch
    init = train_mlp(engine, libs, api, False, loss, opt, dtype, steps=0)[1]
    assert not np.array_equal(init[0], params[0])
    assert len(set(losses)) == len(losses)


def test_tensor_mlp_grads_accumulate_without_zero_grad(engine, libs):
    api = replay_api(engine)
    e_losses, e_params, _ = train_mlp(engine, libs, api, False, "mse", "sgd", "float32",
                                      steps=4, zero_grad=False)
    losses, params, step = train_mlp(engine, libs, api, True, "mse", "sgd", "float32",
                                     steps=4, zero_grad=False)
    assert losses == e_losses
    assert all(same_array(p, q) for p, q in zip(params, e_params))
    assert step.recordings == 1


# ============================================================================
# 4. guards


def test_value_branch_takes_both_sides(engine):
    api = replay_api(engine)
    w = engine.Value(1.5)
    w_eager = engine.Value(1.5)

    def make(w):
        def fn(x):
            h = x * w
            if h > 0:
                return h * h + 1.0
            return -h * 3.0
        return fn

    step = api.compile(make(w))
    xs = [1.0, 2.0, -1.0, -3.0, 0.5, 0.0, 4.0]
    for x in xs:
        xv = engine.Value(x)
        e = make(w_eager)(xv)
        e.backward()
        got = step(x)
        assert got.data == e.data and w.grad == w_eager.grad
        assert step.tape.grads == (xv.grad,)
    assert w.grad == 2 * 1.5 * (1 + 4 + 0.25 + 16) + (-3.0) * (-1 - 3 + 0.0)
    assert_recordings(engine, step, [x * 1.5 > 0 for x in xs])
    if is_c(engine):
        assert step.tape.guards == 1


def test_python_max_of_values(engine):
    api = replay_api(engine)
    a, b = engine.Value(1.0), engine.Value(2.0)
    step = api.compile(lambda x: max(a * x, b) * x)
    expected_grads = [0.0, 0.0]
    xs = [1.0, 1.5, 3.0, 4.0, 1.0]
    for x in xs:
        got = step(x)
        assert got.data == max(1.0 * x, 2.0) * x
        if x > 2.0:
            expected_grads[0] += x * x
        else:
            expected_grads[1] += x
        assert [a.grad, b.grad] == expected_grads
    assert_recordings(engine, step, [x > 2.0 for x in xs])


def test_relu_at_zero_is_no_guard(engine):
    api = replay_api(engine)
    w = engine.Value(2.0)
    step = api.compile(lambda x: (x * w - 2.0).relu() * 3.0)
    for x, value, dw in [(2.0, 6.0, 6.0), (1.0, 0.0, 0.0), (0.5, 0.0, 0.0), (1.5, 3.0, 4.5)]:
        before = w.grad
        got = step(x)
        assert got.data == value and w.grad == before + dw
    assert step.recordings == 1

    wt = engine.tensor([1.0, -1.0, 0.5], requires_grad=True)
    tstep = api.compile(lambda x: (x * wt).relu().sum())
    for x in ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, 4.0]):
        wt.grad = None
        got = tstep(engine.tensor(x))
        xa = np.array(x, dtype=np.float32)
        h = xa * np.array([1.0, -1.0, 0.5], dtype=np.float32)
        assert got.item() == np.maximum(h, 0).sum()
        assert wt.grad.tolist() == (xa * (h > 0)).tolist()     # relu'(0) = 0
    assert tstep.recordings == 1


def _replay_vs_eager(engine, fn_of_params, make_params, argsets, policy="rerecord"):
    """Run fn eagerly and replayed over argsets (grads accumulate, no zero_grad);
    assert losses and parameter grads are equal; return the compiled step."""
    api = replay_api(engine)
    pe, pr = make_params(), make_params()
    fe = fn_of_params(pe)
    step = api.compile(fn_of_params(pr), on_guard_failure=policy)
    for args in argsets:
        e = fe(*args())
        e.backward()
        got = step(*args())
        assert got.item() == e.item()
        for p, q in zip(pr, pe):
            assert same_array(arr(p.grad), arr(q.grad))
    return step


X_SIGNS = [[1.0, 2.0, 3.0], [-1.0, 2.0, -3.0], [1.5, 2.5, 3.5], [0.0, -2.0, 0.0], [-1.0, 4.0, -1.0]]


def _w3(engine):
    return [f64(engine, [0.5, -1.0, 2.0], requires_grad=True)]


def _masks(x, lo, hi):
    """(h > lo, hi < h) for h = x * _w3, as a hashable guard outcome."""
    h = np.array(x) * np.array([0.5, -1.0, 2.0])
    return tuple(h > lo) + tuple(hi < h)


def test_tensor_mask_of_argument(engine):
    """x * (x > 0.0): the mask changes with x; every call right, re-recorded on C when
    the mask differs from the recording's."""
    step = _replay_vs_eager(
        engine, lambda ps: (lambda x: (x * ps[0] * (x > 0.0)).sum()), lambda: _w3(engine),
        [lambda x=x: (f64(engine, x),) for x in X_SIGNS])
    assert_recordings(engine, step, [tuple(v > 0 for v in x) for x in X_SIGNS])


def test_tensor_mask_of_intermediate(engine):
    def fn_of(ps):
        def fn(x):
            h = x * ps[0]
            return (h * (h > 0.0)).sum() + (h * (0.5 < h)).sum()
        return fn

    step = _replay_vs_eager(engine, fn_of, lambda: _w3(engine),
                            [lambda x=x: (f64(engine, x),) for x in X_SIGNS + X_SIGNS[:1]])
    assert_recordings(engine, step, [_masks(x, 0.0, 0.5) for x in X_SIGNS + X_SIGNS[:1]])
    if is_c(engine):
        assert step.tape.guards == 2


def test_tensor_mask_int_constant(engine):
    """`h > 0` / `1 < h` with Python ints: the same as with floats (regression: C once
    took the int for a program slot)."""
    def fn_of(ps):
        def fn(x):
            h = x * ps[0]
            return (h * (h > 0)).sum() + (h * (1 < h)).sum()
        return fn

    step = _replay_vs_eager(engine, fn_of, lambda: _w3(engine),
                            [lambda x=x: (f64(engine, x),) for x in X_SIGNS + X_SIGNS[:1]])
    assert_recordings(engine, step, [_masks(x, 0, 1) for x in X_SIGNS + X_SIGNS[:1]])


def test_tensor_mask_int_constant_not_a_slot(engine):
    """Regression: C once checked `h > 1` as `h > <program slot 1>` (here x, and
    h = 2x > x holds where h > 1 does not), passing the guard and replaying a stale mask."""
    api = replay_api(engine)
    w = f64(engine, [2.0, 2.0], requires_grad=True)

    def fn(x):
        h = x * w
        return (h * (h > 1)).sum()

    step = api.compile(fn)
    assert step(f64(engine, [1.0, 1.0])).item() == 4.0
    assert step(f64(engine, [0.2, 0.2])).item() == 0.0       # eager: h = 0.4 < 1


@pytest.mark.parametrize("how", ["item", "float", "tolist", "detach", "data", "argmax",
                                 "no_grad", "numpy"])
def test_tensor_values_read_out_of_the_graph(engine, how):
    """A value read out of the recorded graph is a constant of the recording: a replay
    where it comes out differently is recorded again; the gradients are eager's."""
    E = engine

    def read(h):
        if how == "item":
            return h.sum().item()
        if how == "float":
            return float(h.sum())
        if how == "tolist":
            return sum(h.tolist())
        if how == "detach":
            return h.detach()
        if how == "data":
            return h.data
        if how == "argmax":
            return float(int(E.argmax(h)))
        if how == "numpy":
            return E.tensor(h.detach().numpy().tolist(), dtype=E.float64)
        with E.no_grad():
            return (h * h).sum()

    def fn_of(ps):
        def fn(x):
            h = x * ps[0]
            return (h * read(h)).sum()
        return fn

    xs = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [-1.0, 2.0, 3.0], [-1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    step = _replay_vs_eager(engine, fn_of, lambda: _w3(engine),
                            [lambda x=x: (f64(engine, x),) for x in xs])
    if is_c(engine):
        assert step.tape.guards >= 1
    # the value read changes at calls 3 and 5 (argmax stays 2, but C may guard on h itself)
    assert_recordings(engine, step, [1] * 5 if how == "argmax" and step.recordings == 1
                      else [tuple(x) for x in xs])


@pytest.mark.parametrize("how", ["data", "float"])
def test_value_read_out_of_the_graph(engine, how):
    api = replay_api(engine)
    w = engine.Value(0.5)
    read = (lambda v: v.data) if how == "data" else float
    step = api.compile(lambda x: (x * w) * read(x * w))
    xs = [2.0, 2.0, 3.0, 3.0, 2.0, 4.0]
    for k, x in enumerate(xs):
        before = w.grad
        got = step(x)
        h = x * 0.5
        assert got.data == h * h
        assert w.grad == before + x * h            # the read value is a constant
        assert step.tape.grads == (0.5 * h,)
        assert_recordings(engine, step, xs[:k + 1])


def test_parameter_read_inside_fn_sees_updates(engine):
    """fn reads a parameter's value (p.data) as a constant; after p changes the replay
    re-records (C) and uses the new value."""
    api = replay_api(engine)
    p = engine.Value(2.0)
    step = api.compile(lambda x: x * p * p.data)
    assert step(3.0).data == 12.0 and p.grad == 6.0
    p.data = 5.0
    p.grad = 0.0
    assert step(3.0).data == 75.0 and p.grad == 15.0
    assert step.recordings == (2 if is_c(engine) else 1)


def test_raise_policy(engine):
    api = replay_api(engine)
    w = engine.Value(2.0)
    step = api.compile(lambda x: x * w if x > 0 else x * x * w, on_guard_failure="raise")
    assert step(1.0).data == 2.0 and w.grad == 1.0
    if is_c(engine):
        with pytest.raises(tapegrad.GuardFailure, match="guard"):
            step(-1.0)
        assert w.grad == 1.0                     # nothing accumulated
        with pytest.raises(tapegrad.GuardFailure):
            step(-2.0)
        assert step.recordings == 1
    else:                                        # fn runs again: no guard can fail
        assert step(-1.0).data == 2.0 and w.grad == 2.0
        assert step(-2.0).data == 8.0 and w.grad == 6.0
    # calls that pass the guard still work after a failure
    before = w.grad
    assert step(3.0).data == 6.0 and w.grad == before + 3.0
    assert step.recordings == 1

    wt = f64(engine, [1.0, 1.0], requires_grad=True)
    tstep = api.compile(lambda x: (x * wt * (x > 0.0)).sum(), on_guard_failure="raise")
    assert tstep(f64(engine, [1.0, 2.0])).item() == 3.0
    if is_c(engine):
        with pytest.raises(tapegrad.GuardFailure):
            tstep(f64(engine, [-1.0, 2.0]))
    else:
        assert tstep(f64(engine, [-1.0, 2.0])).item() == 2.0


def test_tape_raise_policy(engine):
    api = replay_api(engine)
    w = engine.Value(1.0)
    tape = api.record(lambda x: max(x, w), 0.0, on_guard_failure="raise")
    assert tape.forward(0.5).data == 1.0
    if is_c(engine):
        with pytest.raises(tapegrad.GuardFailure):
            tape.forward(2.0)
        with pytest.raises(RuntimeError, match="forward"):
            tape.backward()                      # the failed forward left nothing to sweep
    else:
        assert tape.forward(2.0).data == 2.0
    assert tape.recordings == 1


@pytest.mark.parametrize("policy", ["rerecord", "raise"])
def test_argument_shape_change(engine, policy):
    api = replay_api(engine)
    w = f64(engine, [1.0, 2.0, 3.0], requires_grad=True)

    def fn(x):
        return (x * w[:x.shape[0]]).sum()

    step = api.compile(fn, on_guard_failure=policy)
    assert step(f64(engine, [1.0, 1.0])).item() == 3.0
    if policy == "raise":
        with pytest.raises(tapegrad.GuardFailure, match="shape"):
            step(f64(engine, [1.0, 1.0, 1.0]))
        with pytest.raises(tapegrad.GuardFailure):
            step(engine.tensor([1.0, 1.0]))                  # dtype float32
        with pytest.raises(tapegrad.GuardFailure):
            step([f64(engine, [1.0, 1.0])])                  # structure
        assert w.grad.tolist() == [1.0, 1.0, 0.0]
        assert step.recordings == 1
    else:
        assert step(f64(engine, [1.0, 1.0, 1.0])).item() == 6.0
        assert w.grad.tolist() == [2.0, 2.0, 1.0]
        assert step(f64(engine, [2.0, 0.0])).item() == 2.0   # the old shape again
        assert w.grad.tolist() == [4.0, 2.0, 1.0]
        assert step(f64(engine, [0.0, 0.0, 1.0])).item() == 3.0
        assert w.grad.tolist() == [4.0, 2.0, 2.0]
        # one recording per signature, kept: alternating shapes do not record again
        assert step.recordings == 2


def test_scalar_argument_kind_change(engine):
    """A number and a Value are different signatures; the answers stay right."""
    api = replay_api(engine)
    w = engine.Value(2.0)
    step = api.compile(lambda x, ys: x * w + engine.sum(ys))
    assert step(1.0, [1.0, 2.0]).data == 5.0
    v = engine.Value(3.0)
    assert step(v, [1.0, 2.0]).data == 9.0 and v.grad == 2.0
    assert step(1.0, [1.0, 2.0, 3.0]).data == 8.0
    assert step(1.0, (1.0, 2.0)).data == 5.0
    assert w.grad == 1.0 + 3.0 + 1.0 + 1.0
    assert step.recordings == 4


def test_int64_target_used_off_the_graph(engine):
    """(y == 3) on an int64 argument: the mask is not on the graph; new y values give a
    new mask (C re-records)."""
    ys = [[3, 1, 3], [0, 3, 3], [3, 1, 3], [1, 1, 1], [3, 3, 3]]
    x = [1.0, -2.0, 0.5]

    def fn_of(ps):
        return lambda x, y: (x * ps[0] * (y == 3)).sum() + (x * ps[0] * y.double()).sum()

    step = _replay_vs_eager(engine, fn_of, lambda: _w3(engine),
                            [lambda y=y: (f64(engine, x), engine.tensor(y)) for y in ys])
    assert_recordings(engine, step, [tuple(y) for y in ys])


def test_int64_target_compared_with_graph_tensor(engine):

    def fn_of(ps):
        def fn(x, y):
            h = x * ps[0]
            return (h * (h > y)).sum()
        return fn

    _replay_vs_eager(engine, fn_of, lambda: [f64(engine, [1.0, 1.0], requires_grad=True)],
                     [lambda y=y: (f64(engine, [1.0, 1.0]), engine.tensor(y))
                      for y in ([0, 0], [5, 5], [0, 5])])


def test_cross_entropy_targets_change_without_rerecording(engine, libs):
    api = replay_api(engine)
    lin = libs.nn.Linear(4, 3).double()
    loss_fn = libs.nn.CrossEntropyLoss()
    step = api.compile(lambda x, y: loss_fn(lin(x), y))
    x = f64(engine, np.arange(8.0).reshape(2, 4) / 8)
    for y in ([0, 1], [2, 2], [1, 0]):
        lin.zero_grad()
        got = step(x, engine.tensor(y))
        g = arr(lin.weight.grad)
        lin.zero_grad()
        e = loss_fn(lin(x), engine.tensor(y))
        e.backward()
        assert got.item() == e.item() and same_array(g, arr(lin.weight.grad))
    assert step.recordings == 1


def test_rerecord_streak_warns(engine):
    """A value read out of the graph that is new on every call: every call records fn
    again (C), and the eighth re-recording in a row warns once."""
    api = replay_api(engine)
    w = engine.Value(2.0)
    step = api.compile(lambda x: x * w * (x * w).data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(12):
            x = 1.0 + k
            assert step(x).data == (2 * x) ** 2
            assert step.tape.grads == (2 * 2 * x,)
    assert w.grad == sum(2 * (1.0 + k) ** 2 for k in range(12))
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if is_c(engine):
        assert step.recordings == 12
        assert len(runtime) == 1 and "recorded again 8 times" in str(runtime[0].message)
        assert runtime[0].filename == __file__          # points at the caller of step(...)
    else:
        assert step.recordings == 1 and runtime == []
    # a replay that passes its guards resets the streak: 7 + 7 new values, no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in [12.0] + [20.0 + k for k in range(7)] + [26.0] + [30.0 + k for k in range(7)]:
            assert step(x).data == (2 * x) ** 2
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert step.recordings == (12 + 14 if is_c(engine) else 1)


def test_alternating_guard_outcomes_reuse_recordings(engine):
    """C keeps several recordings per argument signature and tries them before
    recording again: a branch that flips on every call records each side once."""
    api = replay_api(engine)
    w = engine.Value(1.0)
    step = api.compile(lambda x: x * w * 2.0 if x > 0 else x * x * w)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(20):
            x = 1.0 + k if k % 2 == 0 else -1.0 - k
            before = w.grad
            assert step(x).data == (2.0 * x if x > 0 else x * x)
            assert w.grad == before + (2.0 * x if x > 0 else x * x)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert step.recordings == (2 if is_c(engine) else 1)


def _streak_of_new_signatures(call):
    """Nine calls in a row, each with a new argument signature (a list one longer):
    each records fn again, on both engines; returns the RuntimeWarnings caught."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 10):
            assert call([0.5] * n).data == 0.5 * n * 2.0
    return [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_rerecord_warning_on_new_signatures(engine):
    api = replay_api(engine)
    w = engine.Value(2.0)
    step = api.compile(lambda xs: engine.sum(xs) * w)
    runtime = _streak_of_new_signatures(step)
    assert step.recordings == 9
    assert len(runtime) == 1 and "8 times in a row" in str(runtime[0].message)
    assert runtime[0].filename == __file__     # points at the caller of step(...)
    assert w.grad == sum(0.5 * n for n in range(1, 10))


def test_rerecord_warning_from_tape_forward_points_at_the_caller(engine):
    api = replay_api(engine)
    w = engine.Value(2.0)
    tape = api.record(lambda xs: engine.sum(xs) * w, [0.5])
    line = {}

    def call(xs):
        line["n"] = __import__("sys")._getframe().f_lineno + 1
        return tape.forward(xs)

    runtime = _streak_of_new_signatures(call)
    assert len(runtime) == 1
    assert (runtime[0].filename, runtime[0].lineno) == (__file__, line["n"])


# ============================================================================
# 5. parameters changed between replays; gradients accumulate


def _tensor_update(kind, engine, w, b, k):
    if kind == "data_sub":
        w.data -= 0.1 * w.grad
        b.data -= 0.1 * b.grad
    elif kind == "no_grad_isub":
        with engine.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
    elif kind == "data_assign":
        w.data = f64(engine, np.full((2, 2), 0.3 - 0.1 * k))
    elif kind == "copy_":
        with engine.no_grad():
            w.copy_(w * 0.5 + 0.1)
    elif kind == "grad_none":
        w.grad = None
        b.grad = None
    elif kind == "grad_zero_":
        w.grad.zero_()
    elif kind != "accumulate":
        raise AssertionError(kind)


UPDATES = ["data_sub", "no_grad_isub", "data_assign", "copy_", "grad_none", "grad_zero_",
           "accumulate"]


@pytest.mark.parametrize("kind", UPDATES)
def test_tensor_parameter_updates_between_replays(engine, kind):
    api = replay_api(engine)

    def run(replay):
        w = f64(engine, [[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        b = f64(engine, [0.1, -0.2], requires_grad=True)

        def fn(x):
            return ((x @ w + b).tanh() ** 2).sum()

        step = api.compile(fn) if replay else None
        out = []
        for k in range(5):
            x = f64(engine, [[1.0 + k, -0.5], [0.3, 0.7 * k]])
            if replay:
                loss = step(x)
            else:
                loss = fn(x)
                loss.backward()
            out.append((loss.item(), arr(w.grad), arr(b.grad), arr(w), arr(b)))
            _tensor_update(kind, engine, w, b, k)
        return out, arr(w), arr(b), step

    eager, ew, eb, _ = run(False)
    got, gw, gb, step = run(True)
    for k, (e, g) in enumerate(zip(eager, got)):
        assert e[0] == g[0], f"call {k}"
        assert all(same_array(a, c) for a, c in zip(e[1:], g[1:])), f"call {k}"
    assert same_array(ew, gw) and same_array(eb, gb)
    assert step.recordings == 1
    if kind in ("data_sub", "no_grad_isub", "data_assign", "copy_"):
        assert not np.array_equal(got[0][3], gw)       # w did change


def test_optimizer_updates_between_replays(engine, libs):
    api = replay_api(engine)

    def run(replay, opt_name):
        engine.manual_seed(3)
        model = libs.nn.Sequential(libs.nn.Linear(3, 4), libs.nn.Tanh(), libs.nn.Linear(4, 1))
        opt = (libs.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_name == "sgd"
               else libs.optim.Adam(model.parameters(), lr=0.05))
        fn = lambda x: (model(x) ** 2).mean()
        step = api.compile(fn) if replay else None
        losses = []
        for k in range(6):
            x = engine.tensor([[0.1 * k, -1.0, 2.0], [1.0, 0.5, -0.5 * k]])
            opt.zero_grad()
            if replay:
                loss = step(x)
            else:
                loss = fn(x)
                loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [arr(p) for p in model.parameters()]

    for opt_name in ("sgd", "adam"):
        e_losses, e_params = run(False, opt_name)
        losses, params = run(True, opt_name)
        assert losses == e_losses
        assert all(same_array(p, q) for p, q in zip(params, e_params))


def test_scalar_grads_accumulate_across_calls(engine):
    api = replay_api(engine)
    w, b = engine.Value(0.3), engine.Value(-0.1)
    we, be = engine.Value(0.3), engine.Value(-0.1)
    fn = lambda w, b: (lambda x: (w * x + b).tanh() ** 2)
    step = api.compile(fn(w, b))
    for k, x in enumerate([0.5, 1.5, -2.0, 0.25]):
        got = step(x)
        e = fn(we, be)(engine.Value(x))
        e.backward()
        assert got.data == e.data and w.grad == we.grad and b.grad == be.grad
        if k == 1:                     # p.data -= lr * p.grad, no zero
            for p in (w, b, we, be):
                p.data -= 0.5 * p.grad
    assert w.grad != 0.0 and step.recordings == 1


def test_grad_tensor_held_by_user(engine):
    """A .grad tensor the user kept is not changed behind their back once the parameter's
    grad is reset to None (as after zero_grad()); accumulation is eager's."""
    api = replay_api(engine)
    w = f64(engine, [1.0, 2.0], requires_grad=True)
    step = api.compile(lambda x: (x * w).sum())
    step(f64(engine, [1.0, 1.0]))
    kept = w.grad
    w.grad = None
    step(f64(engine, [5.0, 7.0]))
    assert kept.tolist() == [1.0, 1.0] and w.grad.tolist() == [5.0, 7.0]
    step(f64(engine, [1.0, 1.0]))
    assert w.grad.tolist() == [6.0, 8.0]


@pytest.mark.parametrize("how", ["copy_", "iadd", "fill_"])
def test_constant_tensor_updated_in_place_is_seen(engine, how):
    """A tensor fn reads that requires no grad (class weights, a buffer) is a constant of
    the recording; updating it in place between calls is seen by the next replay."""
    api = replay_api(engine)

    def run(replay):
        w = f64(engine, [1.0, 2.0], requires_grad=True)
        c = f64(engine, [0.5, 0.5])
        fn = lambda x: ((x * w) * c).sum()
        step = api.compile(fn) if replay else None
        out = []
        for k in range(3):
            x = f64(engine, [1.0 + k, 2.0])
            loss = step(x) if replay else fn(x)
            if not replay:
                loss.backward()
            out.append((loss.item(), arr(w.grad).tolist()))
            with engine.no_grad():
                if how == "copy_":
                    c.copy_(f64(engine, [3.0, 4.0 + k]))
                elif how == "iadd":
                    c += 1.0
                else:
                    c.fill_(-k)
        return out

    assert run(True) == run(False)


def test_constant_tensor_reassigned_between_calls(engine):
    api = replay_api(engine)
    w = f64(engine, [1.0, 2.0], requires_grad=True)
    c = f64(engine, [0.5, 0.5])
    step = api.compile(lambda x: ((x * w) * c).sum())
    assert step(f64(engine, [1.0, 1.0])).item() == 1.5
    c.data = f64(engine, [3.0, 4.0])
    assert step(f64(engine, [1.0, 1.0])).item() == 11.0          # eager: 3 + 8


def test_comparison_with_constant_tensor_updated_in_place(engine):
    api = replay_api(engine)
    w = f64(engine, [1.0, 1.0], requires_grad=True)
    thr = f64(engine, [0.5, 0.5])
    step = api.compile(lambda x: ((x * w) * ((x * w) > thr)).sum())
    assert step(f64(engine, [1.0, 1.0])).item() == 2.0
    with engine.no_grad():
        thr.fill_(10.0)
    assert step(f64(engine, [1.0, 1.0])).item() == 0.0


def test_rebinding_a_parameter_name(engine):
    """fn reads `w` from its closure at call time: after `w = Value(5.0)` eager uses the
    new Value."""
    api = replay_api(engine)
    w = engine.Value(1.0)
    step = api.compile(lambda x: x * w)
    assert step(2.0).data == 2.0
    w = engine.Value(5.0)
    assert step(2.0).data == 10.0 and w.grad == 2.0


def test_freezing_a_parameter_between_calls(engine):
    """w.requires_grad_(False) after some steps (fine-tuning): eager keeps working and
    w gets no more gradient."""
    api = replay_api(engine)
    w = f64(engine, [1.0, 2.0], requires_grad=True)
    b = f64(engine, [0.5, 0.5], requires_grad=True)
    step = api.compile(lambda x: ((x * w + b) ** 2).sum())
    x = f64(engine, [1.0, 2.0])
    assert step(x).item() == 22.5
    w.requires_grad_(False)
    w.grad = None
    b.grad = None
    assert step(x).item() == 22.5
    assert w.grad is None and arr(b.grad).tolist() == [3.0, 9.0]


def test_constant_starting_to_require_grad(engine):
    api = replay_api(engine)
    w = f64(engine, [1.0, 2.0], requires_grad=True)
    c = f64(engine, [0.5, 0.5])
    step = api.compile(lambda x: ((x * w) * c).sum())
    x = f64(engine, [1.0, 2.0])
    step(x)
    c.requires_grad_(True)
    step(x)
    assert c.grad is not None and arr(c.grad).tolist() == [1.0, 4.0]


# ============================================================================
# 6. Tape.grads: the gradients with respect to the arguments


def test_tape_grads_scalar_args_against_finite_differences(engine):
    api = replay_api(engine)
    w = engine.Value(0.7)

    def fn(a, pair, rest):
        u, v = pair
        return (a * w + u * v).tanh() + engine.sum(rest) ** 2 / (1.0 + a * a) + v.exp()

    def plain(a, u, v, r):
        return math.tanh(a * 0.7 + u * v) + sum(r) ** 2 / (1.0 + a * a) + math.exp(v)

    va = engine.Value(0.25)
    tape = api.record(fn, va, (0.5, -0.5), [1.0, 2.0])
    for a, u, v, r in [(0.25, 0.5, -0.5, [1.0, 2.0]), (-1.0, 0.3, 0.2, [0.5, -0.25])]:
        va.data = a
        before = va.grad
        loss = tape.forward(va, (u, v), list(r))
        assert tape.grads is None                # until backward()
        tape.backward()
        assert loss.data == pytest.approx(plain(a, u, v, r), rel=1e-14)
        ga, (gu, gv), grest = tape.grads
        assert isinstance(tape.grads[1], tuple) and isinstance(grest, list) and len(grest) == 2
        eps = 1e-6
        fd = lambda i: (plain(*[x + eps * (k == i) for k, x in enumerate((a, u, v))], r)
                        - plain(*[x - eps * (k == i) for k, x in enumerate((a, u, v))], r)) / (2 * eps)
        assert ga == pytest.approx(fd(0), rel=1e-6, abs=1e-8)
        assert gu == pytest.approx(fd(1), rel=1e-6, abs=1e-8)
        assert gv == pytest.approx(fd(2), rel=1e-6, abs=1e-8)
        s = sum(r)
        assert grest == [pytest.approx(2 * s / (1 + a * a), rel=1e-14)] * 2
        assert va.grad == before + ga            # Value arguments accumulate
    assert tape.recordings == 1


def test_tape_grads_tensor_args(engine):
    api = replay_api(engine)
    w = f64(engine, [[0.5, -1.0, 0.25], [2.0, 0.1, -0.3]], requires_grad=True)

    def fn(x, pair, y, k, c):
        m, arr_ = pair
        h = (x @ w).tanh()                      # x: (2, 2) requires grad
        return (h * m).sum() + (arr_ * h).mean() * k + (h * y.double()).sum()

    x = f64(engine, [[1.0, 2.0], [-0.5, 0.3]], requires_grad=True)
    m = f64(engine, [[1.0, 0.0, 2.0], [0.5, 0.5, 0.5]])           # no grad: None
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])              # numpy array: None
    y = engine.tensor([[1, 0, 2], [0, 1, 1]])                     # int64: None
    k = f64(engine, 2.0, requires_grad=True)                       # 0-d, requires grad
    tape = api.record(fn, x, (m, a), y, k, 7.0)                   # 7.0: unused number
    for step_no, xs in enumerate([[[1.0, 2.0], [-0.5, 0.3]], [[0.1, -0.2], [0.3, 0.4]]]):
        with engine.no_grad():
            x.copy_(f64(engine, xs))
        loss = tape.forward(x, (m, a), y, k, 7.0)
        tape.backward()
        grads = tape.grads
        assert isinstance(grads, tuple) and len(grads) == 5 and isinstance(grads[1], tuple)
        gx, (gm, ga), gy, gk, gc_ = grads
        assert gm is None and ga is None and gy is None and gc_ == 0.0
        assert isinstance(gx, engine.Tensor) and tuple(gx.shape) == (2, 2)
        assert gx.dtype == engine.float64 and not gx.requires_grad
        assert isinstance(gk, engine.Tensor) and tuple(gk.shape) == ()
        # eager on fresh leaves, same engine: bit-identical
        xe = f64(engine, xs, requires_grad=True)
        ke = f64(engine, 2.0, requires_grad=True)
        we = f64(engine, arr(w), requires_grad=True)
        he = (xe @ we).tanh()
        e = (he * m).sum() + (engine.from_numpy(a) * he).mean() * ke + (he * y.double()).sum()
        e.backward()
        assert loss.item() == e.item()
        assert same_array(arr(gx), arr(xe.grad)) and same_array(arr(gk), arr(ke.grad))
        # and against numpy by hand
        h = np.tanh(np.array(xs) @ arr(w))
        dh = (arr(m) + a * 2.0 / 6 + arr(y)) * (1 - h * h)
        assert np.allclose(arr(gx), dh @ arr(w).T, rtol=1e-13, atol=1e-15)
        assert gk.item() == pytest.approx((a * h).mean(), rel=1e-14)
        # arguments that require grad accumulate theirs
        if step_no == 0:
            first_x, first_k = arr(x.grad), arr(k.grad)
            assert same_array(first_x, arr(gx)) and same_array(first_k, arr(gk))
        else:
            assert same_array(arr(x.grad), first_x + arr(gx))
            assert same_array(arr(k.grad), first_k + arr(gk))
    assert arr(w.grad).shape == (2, 3)          # the parameter got its gradient too


def test_tape_forward_backward_protocol(engine):
    api = replay_api(engine)
    w = engine.Value(2.0)
    tape = api.record(lambda x: x * w, 1.0)
    assert w.grad == 0.0 and tape.grads is None       # recording runs no backward
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()
    assert tape.forward(3.0).data == 6.0
    assert w.grad == 0.0                               # forward alone accumulates nothing
    tape.backward()
    assert w.grad == 3.0 and tape.grads == (2.0,)
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()                                # one backward per forward
    assert tape.forward(4.0).data == 8.0 and tape.grads is None
    assert tape.forward(5.0).data == 10.0              # a second forward replaces the first
    tape.backward()
    assert w.grad == 8.0


def test_tape_vmap_with_guards(engine):
    """Tape.vmap over rows that take both sides of a branch (more in test_replay_vmap.py)."""
    api = replay_api(engine)
    b = engine.Value(1.0)
    tape = api.record(lambda x: x * b if x > 0 else x * x * b, 1.0)
    xs = np.array([1.0, -2.0, 3.0, -4.0, -0.5, 2.0])
    losses = tape.vmap(xs, backward=True)
    assert losses.tolist() == [1.0, 4.0, 3.0, 16.0, 0.25, 2.0]
    assert b.grad == sum(losses)
    assert tape.batch_grads[0].tolist() == [1.0, -4.0, 1.0, -8.0, -1.0, 1.0]
    assert_recordings(engine, tape, [x > 0 for x in xs])


# ============================================================================
# 7. errors


def test_bad_argument_types(engine):
    api = replay_api(engine)
    w = engine.Value(1.0)
    step = api.compile(lambda *a: w * 2.0)
    for bad in ("a", None, {}, {1.0}, object(), b"x", [1.0, "a"], (None,)):
        with pytest.raises(TypeError, match="replay arguments"):
            step(bad)
        with pytest.raises(TypeError, match="replay arguments"):
            api.record(lambda *a: w * 2.0, 1.0, bad)
    assert step.recordings == 0
    assert step(np.float64(2.0), np.int64(3), [np.float32(1.5)]).data == 2.0


def test_bool_argument_rejected(engine):
    api = replay_api(engine)
    with pytest.raises(TypeError, match="bool"):
        api.compile(lambda x: x * 2.0)(True)


def test_tensor_arguments_inside_fn(engine):
    """README: inside fn, float tensor arguments require grad (they are recorded) on
    both engines; the reference handed fn its tensors as passed, so a step whose
    arguments needed no grad failed there ("loss does not require grad") only."""
    api = replay_api(engine)
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def fn(x, y):
        seen.append((x.requires_grad, y.requires_grad, y.dtype))
        return (w * x).sum()

    out = api.compile(fn)(engine.tensor([3.0, 4.0]), engine.tensor([1, 2]))
    assert out.item() == 11.0 and w.grad.tolist() == [3.0, 4.0]
    assert seen[0] == (True, False, engine.int64)
    tape = api.record(lambda a, b: (a * b).sum(), engine.ones(2), engine.ones(2))
    assert tape.forward(engine.ones(2), engine.full((2,), 2.0)).item() == 4.0
    tape.backward()
    assert tape.grads == (None, None)        # neither argument required grad


def test_fn_runs_once_per_recording(engine):
    """C: fn runs only when recording; the reference runs it on every call (and once
    more to record on the first call)."""
    api = replay_api(engine)
    w = engine.Value(2.0)
    calls = []

    def fn(x):
        calls.append(x)          # (reading x.data would be a guard)
        return x * w

    step = api.compile(fn)
    for x in (1.0, 2.0, 3.0):
        step(x)
    assert w.grad == 6.0
    if is_c(engine):
        assert len(calls) == 1 and step.recordings == 1
    else:
        assert [v.data for v in calls[-3:]] == [1.0, 2.0, 3.0] and len(calls) in (3, 4)


def test_loss_must_be_scalar_value_or_tensor(engine):
    api = replay_api(engine)
    w = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = engine.Value(1.0)
    with pytest.raises(RuntimeError, match="scalar"):
        api.compile(lambda x: x * w)(engine.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="scalar"):
        api.record(lambda x: w * x, engine.tensor([1.0, 1.0, 1.0]))
    for bad in (lambda x: 3.0, lambda x: [x * v], lambda x: None, lambda x: (x * v).data,
                lambda x: np.float64(1.0)):
        with pytest.raises(TypeError, match="Value or a one-element Tensor"):
            api.compile(bad)(1.0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        api.compile(lambda x: engine.tensor(1.0) * 2)(1.0)
    # one-element losses of any shape are fine
    step = api.compile(lambda x: (x * w).sum().reshape(1, 1))
    out = step(engine.tensor([1.0, 1.0, 1.0]))
    assert tuple(out.shape) == (1, 1) and out.item() == 6.0 and w.grad.tolist() == [1.0] * 3


def test_intermediate_from_before_recording(engine):
    api = replay_api(engine)
    v = engine.Value(2.0)
    inter = v * 3.0
    t = engine.tensor([1.0, 2.0], requires_grad=True)
    tinter = t * 2.0
    if is_c(engine):
        with pytest.raises(ValueError, match="computed before the recording"):
            api.compile(lambda x: inter * x)(1.0)
        with pytest.raises(ValueError, match="computed before the recording"):
            api.record(lambda x: (tinter * x).sum(), engine.tensor([1.0, 1.0]))
    else:     # the reference runs fn again, so it can use them (as eager would)
        assert api.compile(lambda x: inter * x)(2.0).data == 12.0 and v.grad == 6.0
    # detached before the recording: a constant, fine everywhere
    d = tinter.detach()
    step = api.compile(lambda x: (d * x * t).sum())
    assert step(engine.tensor([1.0, 1.0])).item() == 10.0
    assert t.grad.tolist() == [2.0, 4.0]
    # a leaf made before the recording is a parameter, fine everywhere
    assert api.compile(lambda x: v * x)(4.0).data == 8.0


def test_detaching_an_earlier_intermediate_inside_fn(engine):
    """The ValueError says 'or detach it': detaching inside fn must work."""
    api = replay_api(engine)
    t = engine.tensor([1.0, 2.0], requires_grad=True)
    tinter = t * 2.0
    step = api.compile(lambda x: (tinter.detach() * x * t).sum())
    assert step(engine.tensor([1.0, 1.0])).item() == 10.0


def test_reading_an_earlier_scalar_intermediate_inside_fn(engine):
    api = replay_api(engine)
    v = engine.Value(2.0)
    inter = v * 3.0
    assert api.compile(lambda x: x * inter.data)(2.0).data == 12.0


def test_nested_record_is_an_error(engine):
    api = replay_api(engine)
    inner = api.compile(lambda y: y * 2.0)

    def outer(x):
        inner(1.0)
        return x * 2.0

    def outer_record(x):
        api.record(lambda y: y * 2.0, 1.0)
        return x * 2.0

    with pytest.raises(RuntimeError, match="nested"):
        api.compile(outer)(1.0)
    with pytest.raises(RuntimeError, match="nested"):
        api.record(outer_record, 1.0)


def test_nested_record_error_leaves_tape_usable(engine):
    """Whatever the engine does with nesting, an exception in fn during a recording
    leaves the thread able to record and compute again."""
    api = replay_api(engine)

    def boom(x):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        api.compile(boom)(1.0)
    with pytest.raises(ZeroDivisionError):
        api.record(boom, 1.0)
    w = engine.Value(3.0)
    assert api.compile(lambda x: x * w)(2.0).data == 6.0 and w.grad == 2.0
    y = w * w
    y.backward()
    assert w.grad == 8.0


def test_invalid_on_guard_failure(engine):
    api = replay_api(engine)
    for bad in ("ignore", "RAISE", None, 1):
        with pytest.raises(ValueError, match="on_guard_failure"):
            api.compile(lambda x: x, on_guard_failure=bad)
        with pytest.raises(ValueError, match="on_guard_failure"):
            api.compile(on_guard_failure=bad)(lambda x: x)
        with pytest.raises(ValueError, match="on_guard_failure"):
            api.record(lambda x: x, 1.0, on_guard_failure=bad)


# ============================================================================
# 8. memory and threads


CAPACITIES = ("node_capacity", "leaf_capacity", "arg_capacity")


def _assert_tape_bounded(early, late):
    """The live tape did not grow: no capacity went up, and no more nodes are live
    than after the warm-up (dead leaves are reclaimed by collections, not at once)."""
    for key in CAPACITIES:
        assert late[key] <= early[key], f"tape_stats()[{key!r}]: {early} -> {late}"
    assert late["nodes"] <= early["nodes"], f"{early} -> {late}"
    assert late["leaves"] <= early["leaf_capacity"], f"{early} -> {late}"


def test_many_replays_keep_memory_bounded(engine):
    api = replay_api(engine)
    w = [engine.Value(0.1 * k) for k in range(8)]
    step = api.compile(lambda xs: engine.dot(w, xs).tanh() + engine.sum(wi * wi for wi in w))
    wt = engine.tensor(np.linspace(-1, 1, 12).reshape(4, 3).tolist(), requires_grad=True)
    tstep = api.compile(lambda x: (x @ wt).tanh().sum())
    x = engine.tensor(np.ones((5, 4)).tolist())

    def run(lo, hi):
        for k in range(lo, hi):
            step([0.001 * k] * 8)
            tstep(x)

    run(0, 200)
    gc.collect()
    early = engine.tape_stats()
    tracemalloc.start()
    try:
        run(200, 400)
        gc.collect()
        traced0 = tracemalloc.get_traced_memory()[0]
        run(400, 2000)
        gc.collect()
        traced1 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    late = engine.tape_stats()
    assert traced1 - traced0 < 64 * 1024, f"Python allocations grew {traced1 - traced0} B"
    if is_c(engine):
        _assert_tape_bounded(early, late)
    assert step.recordings == 1 and tstep.recordings == 1
    # 2000 calls accumulated: d/dw_j = sum_k (1 - tanh(s_k)^2) x_k + 2 w_j
    xk = [0.001 * k for k in range(2000)]
    tanh_part = sum((1 - math.tanh(v * sum(0.1 * j for j in range(8))) ** 2) * v for v in xk)
    for j, p in enumerate(w):
        assert p.grad == pytest.approx(2000 * 2 * 0.1 * j + tanh_part, rel=1e-9)
    h = np.ones((5, 4)) @ np.linspace(-1, 1, 12).reshape(4, 3)
    assert np.allclose(arr(wt.grad), 2000 * np.ones((4, 5)) @ (1 - np.tanh(h) ** 2), rtol=1e-4)


@pytest.mark.memory_growth
def test_demo_sized_replays_do_not_grow_the_tape(engine):
    if not is_c(engine):
        pytest.skip("the reference engine has no tape statistics to check (and runs fn "
                    "itself: test_many_replays_keep_memory_bounded covers it)")
    api = replay_api(engine)
    Xb, yb = demo_data(100)
    model = demo_model(engine)
    step = api.compile(demo_loss_fn(engine, model))
    step(Xb, yb)
    for _ in range(100):
        step(Xb, yb)
    gc.collect()
    early = engine.tape_stats()
    rss0 = rss_bytes()
    for _ in range(1900):
        loss = step(Xb, yb)
    gc.collect()
    late = engine.tape_stats()
    rss1 = rss_bytes()
    _assert_tape_bounded(early, late)
    if rss0 is not None:
        assert rss1 - rss0 < 8 * (1 << 20), f"RSS grew {(rss1 - rss0) >> 20} MB"
    assert step.recordings == 1
    assert loss.data == demo_loss_fn(engine, model)(
        [[engine.Value(x) for x in row] for row in Xb], [engine.Value(y) for y in yb]).data


def test_replay_on_another_thread(engine):
    """Recorded on this thread, replayed on another.

    C: the program runs anywhere; the parameters (on this thread's tape) get the
    gradients. Reference: fn runs again on the other thread, where combining this
    thread's Values is an error, exactly as eager code would be; tensors have no
    thread, so the tensor step works on both."""
    api = replay_api(engine)
    wt = f64(engine, [0.5, 1.0], requires_grad=True)
    tstep = api.compile(lambda x: (x * wt).tanh().sum())
    tstep(f64(engine, [1.0, 2.0]))
    loss = run_in_fresh_thread(lambda: tstep(f64(engine, [3.0, -1.0])).item())
    assert loss == pytest.approx(math.tanh(1.5) + math.tanh(-1.0), rel=1e-15)
    assert arr(wt.grad) == pytest.approx(
        [1 * (1 - math.tanh(0.5) ** 2) + 3 * (1 - math.tanh(1.5) ** 2),
         2 * (1 - math.tanh(2.0) ** 2) - 1 * (1 - math.tanh(-1.0) ** 2)], rel=1e-14)

    w = engine.Value(0.5)
    step = api.compile(lambda x: (x * w).tanh())
    step(1.0)
    if is_c(engine):
        assert run_in_fresh_thread(lambda: step(2.0).data) == math.tanh(1.0)
        assert w.grad == pytest.approx((1 - math.tanh(0.5) ** 2) + 2 * (1 - math.tanh(1.0) ** 2),
                                       rel=1e-15)
        assert step.recordings == 1
    else:
        with pytest.raises(RuntimeError, match="thread"):
            run_in_fresh_thread(lambda: step(2.0))


def test_record_and_replay_inside_a_thread(engine):
    """Everything on one worker thread (its own tape), then the step replayed on this one."""
    api = replay_api(engine)

    def work():
        w = engine.Value(1.5)
        step = api.compile(lambda x: x * w + w * w)
        return w, step, [step(x).data for x in (1.0, 2.0, 3.0)]

    w, step, losses = run_in_fresh_thread(work)
    assert losses == [3.75, 5.25, 6.75] and w.grad == 4.0 + 5.0 + 6.0    # x + 2w
    if is_c(engine):
        assert step(4.0).data == 8.25 and w.grad == 15.0 + 7.0


def test_worker_thread_records_with_main_thread_tensor_parameters(engine):
    """Eager code may use tensors made on another thread; so must a recording."""
    api = replay_api(engine)
    wt = engine.tensor([0.5, 1.0], requires_grad=True)

    def eager():
        return (engine.tensor([1.0, 2.0]) * wt).sum().item()

    assert run_in_fresh_thread(eager) == 2.5

    def replayed():
        step = api.compile(lambda x: (x * wt).sum())
        return step(engine.tensor([1.0, 2.0])).item()

    assert run_in_fresh_thread(replayed) == 2.5


def test_threads_each_with_their_own_step(engine):
    api = replay_api(engine)
    results = {}
    barrier = threading.Barrier(3)

    def work(seed):
        barrier.wait()
        w = engine.Value(0.1 * seed)
        step = api.compile(lambda x: (x * w - 1.0) ** 2)
        for _ in range(200):
            step(1.0 + seed)
            w.data -= 0.01 * w.grad
            w.grad = 0.0
        results[seed] = (w.data, step.recordings)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for seed in range(3):
        # plain-float reference of the same SGD loop
        wv, x = 0.1 * seed, 1.0 + seed
        for _ in range(200):
            wv -= 0.01 * (2 * (x * wv - 1.0) * x)
        assert results[seed] == (pytest.approx(wv, rel=1e-12), 1)


# ============================================================================
# 9. torch cross-check


def test_replayed_tensor_step_against_torch(engine, libs, torch):
    api = replay_api(engine)
    nn = libs.nn
    engine.manual_seed(11)
    model = nn.Sequential(nn.Linear(MLP_IN, 16), nn.Tanh(), nn.Linear(16, MLP_OUT)).double()
    tmodel = torch.nn.Sequential(torch.nn.Linear(MLP_IN, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, MLP_OUT)).double()
    with torch.no_grad():
        for tp, p in zip(tmodel.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(arr(p)))
    loss_fn, tloss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    step = api.compile(lambda x, y: loss_fn(model(x), y))
    rs = np.random.RandomState(5)
    for _ in range(3):
        x = rs.standard_normal((8, MLP_IN))
        y = rs.randint(0, MLP_OUT, 8).astype(np.int64)
        model.zero_grad()
        tmodel.zero_grad()
        loss = step(engine.from_numpy(x), engine.from_numpy(y))
        tloss = tloss_fn(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-13)
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            assert np.allclose(arr(p.grad), tp.grad.numpy(), rtol=1e-11, atol=1e-14)
    assert step.recordings == 1
