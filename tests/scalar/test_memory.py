"""Scale and memory: 10**6-op chains, 10**5-step training loops in bounded memory, no cycles."""

import gc
import math

import pytest

from _util import assert_same_float, rss_bytes, run_in_fresh_thread

MB = 1 << 20

# ---------------------------------------------------------------------------- deep chains

CHAIN = 10 ** 6


def _chain(engine):
    x = engine.Value(0.5)
    w = engine.Value(1.0 + 1e-7)
    y = x
    for _ in range(CHAIN):
        y = y * w          # depth 10**6, w reused 10**6 times
    return x, w, y


@pytest.mark.slow
@pytest.mark.memory_growth
def test_deep_chain_build_backward_free(engine):
    """10**6 chained ops: no RecursionError or stack overflow, right gradients, and the
    memory of a dropped chain is reused (after a warm-up round, a new chain costs nothing)."""
    rss0 = rss_bytes()
    peaks = []
    capacities = []
    for _ in range(3):
        x, w, y = _chain(engine)
        y.backward()
        wn = (1.0 + 1e-7) ** CHAIN
        assert_same_float(y.data, 0.5 * wn, rel=1e-9, what="chain value")
        assert_same_float(x.grad, wn, rel=1e-9, what="d/dx")
        assert_same_float(w.grad, 0.5 * CHAIN * wn / (1.0 + 1e-7), rel=1e-8, what="d/dw")
        peaks.append(rss_bytes())
        capacities.append(engine.tape_stats().get("node_capacity"))
        del x, w, y        # frees a 10**6-deep graph: must not recurse on the C stack
    if engine.ENGINE == "c":
        # dropped chains are reclaimed: the third one fits in the tape the second needed
        assert capacities[2] <= capacities[1], capacities
    if rss0 is not None:
        grown = peaks[0] - rss0
        # a chain that is never freed would add its whole footprint every round
        assert peaks[2] - peaks[1] < 0.25 * grown + 8 * MB, (
            f"RSS {rss0 / MB:.0f} MB at start, then "
            + ", ".join(f"{p / MB:.0f} MB" for p in peaks) + " after each 10**6-op chain")


def test_deep_unary_chain(engine):
    """2*10**5 nested unary and constant ops, backward from the end."""
    x = engine.Value(0.25)
    y = x
    for _ in range(100_000):
        y = -(y + 1.0)      # alternates x+1 -> -(x+1) -> x ...: after two steps y == x
    y.backward()
    assert y.data == 0.25
    assert x.grad == 1.0


# ---------------------------------------------------------------------------- training loops

XS = (1.0, 2.0)
YS = (3.0, 5.0)     # y = 2x + 1


def _sgd_step(engine, w, b, lr=0.1):
    preds = [engine.dot([w], [x]) + b for x in XS]
    loss = engine.sum((p - y) ** 2 for p, y in zip(preds, YS)) / 2.0
    loss.backward()
    for p in (w, b):
        p.data -= lr * p.grad
        p.grad = 0
    return loss.data


def _train(engine, steps, pin):
    """Run the SGD loop on this thread's tape; return stats at step 1e3 and at the end."""
    w, b = engine.Value(0.0), engine.Value(0.0)
    # a long-lived intermediate (e.g. a value precomputed before the loop) must not
    # keep the loop's garbage alive
    pinned = (w * 1.0 + 2.0).tanh() if pin else None
    early = rss_early = loss = None
    for step in range(steps):
        loss = _sgd_step(engine, w, b)
        if step == 999:
            early = engine.tape_stats()
            rss_early = rss_bytes()
    late = engine.tape_stats()
    rss_late = rss_bytes()
    if pinned is not None:
        assert pinned.data == math.tanh(2.0)
    return w.data, b.data, loss, early, late, rss_early, rss_late


@pytest.mark.slow
@pytest.mark.memory_growth
@pytest.mark.parametrize("pin", [False, True], ids=["plain", "pinned_intermediate"])
def test_training_loop_constant_memory(engine, pin):
    """10**5 SGD steps of y = w*x + b on two points: tape and RSS stay flat.

    Runs on a fresh thread, so on a fresh tape whatever the tests before did."""
    w, b, loss, early, late, rss_early, rss_late = run_in_fresh_thread(
        _train, engine, 100_000, pin)
    assert abs(w - 2.0) < 1e-9 and abs(b - 1.0) < 1e-9
    assert loss < 1e-20
    assert late["engine"] == engine.ENGINE == early["engine"]
    if engine.ENGINE == "c":
        for key in ("nodes", "node_capacity", "leaves", "leaf_capacity", "collections"):
            assert isinstance(late[key], int), key
        for key in ("nodes", "node_capacity", "leaf_capacity", "arg_capacity"):
            if key in early:
                assert late[key] <= max(2 * early[key], 1024), (
                    f"tape_stats()[{key!r}]: {early[key]} at step 1e3, {late[key]} at step 1e5;"
                    f" early {early}, late {late}")
        assert late["nodes"] <= late["node_capacity"]
        assert late["leaves"] <= 8
        assert late["collections"] > early["collections"]
    if rss_early is not None:
        assert rss_late - rss_early < 5 * MB, (
            f"RSS grew {(rss_late - rss_early) / MB:.1f} MB between step 1e3 and 1e5")


def test_handles_survive_reclamation(engine):
    """Live handles (and the nodes they depend on) survive any number of collections."""
    run_in_fresh_thread(_handles_survive_reclamation, engine)


def _handles_survive_reclamation(engine):
    a, b = engine.Value(1.5), engine.Value(-0.5)
    keep = ((a * b) + 1.0).tanh()        # a*b has no handle of its own
    inner = a * 2.0
    probe = inner * inner                # backward now, read inner.grad after the churn
    probe.backward()
    assert inner.grad == 6.0
    a.grad = 0.0
    start = engine.tape_stats().get("collections", 0)
    done = 0
    while done < 1_000_000:
        for i in range(1000):
            junk = (a * b + float(i)).exp()     # noqa: F841 - garbage at once
        done += 1000
        if engine.ENGINE != "c" or engine.tape_stats()["collections"] >= start + 3:
            break
    if engine.ENGINE == "c":
        # 3 * 10**6 dead nodes: an engine in bounded memory has reclaimed some by now
        assert engine.tape_stats()["collections"] > start, (
            f"no collection in {done} rounds of 3 ops: {engine.tape_stats()}")
    t = math.tanh(1.5 * -0.5 + 1.0)
    assert keep.data == t
    assert inner.data == 3.0 and inner.grad == 6.0
    keep.backward()
    assert_same_float(a.grad, (1 - t * t) * -0.5)
    assert_same_float(b.grad, (1 - t * t) * 1.5)


# ---------------------------------------------------------------------------- garbage collector

def test_compiled_values_not_tracked_by_gc(engine):
    a = engine.Value(1.0)
    b = (a * 2.0 + a).tanh()
    s = engine.sum([a, b])
    if engine.ENGINE == "c":
        assert not gc.is_tracked(a)
        assert not gc.is_tracked(b)
        assert not gc.is_tracked(s)
    else:
        # the reference keeps parents on its nodes; no cycles is checked below
        assert s.data == 1.0 + math.tanh(3.0)


def test_no_reference_cycles(engine):
    """A training step leaves nothing for the cyclic garbage collector."""
    gc.collect()
    gc.disable()
    try:
        w, b = engine.Value(0.3), engine.Value(-0.1)
        for _ in range(20):
            _sgd_step(engine, w, b)
        x = engine.Value(2.0)
        y = engine.dot([x, w], [b, x.exp()]).sigmoid() ** 2 - 1.0 / x
        y.backward()
        del w, b, x, y
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0, f"{found} objects were only freed by the cyclic GC"
