"""clear_tape(), stale handles and tape_stats()."""

import pytest

STALE_USES = {
    ".data": lambda c, a, E: c.data,
    ".grad": lambda c, a, E: c.grad,
    "set .grad": lambda c, a, E: setattr(c, "grad", 0.0),
    "backward": lambda c, a, E: c.backward(),
    "v+1": lambda c, a, E: c + 1,
    "1+v": lambda c, a, E: 1 + c,
    "v*leaf": lambda c, a, E: c * a,
    "leaf*v": lambda c, a, E: a * c,
    "leaf-v": lambda c, a, E: a - c,
    "leaf/v": lambda c, a, E: a / c,
    "leaf**v": lambda c, a, E: a ** c,
    "v**2": lambda c, a, E: c ** 2,
    "2**v": lambda c, a, E: 2 ** c,
    "-v": lambda c, a, E: -c,
    "exp": lambda c, a, E: c.exp(),
    "log": lambda c, a, E: c.log(),
    "tanh": lambda c, a, E: c.tanh(),
    "relu": lambda c, a, E: c.relu(),
    "sigmoid": lambda c, a, E: c.sigmoid(),
    "sum": lambda c, a, E: E.sum([a, c]),
    "dot": lambda c, a, E: E.dot([a, 1.0], [2.0, c]),
    "float": lambda c, a, E: float(c),
    "v<1": lambda c, a, E: c < 1,
    "leaf<v": lambda c, a, E: a < c,
}


@pytest.mark.parametrize("use", list(STALE_USES), ids=list(STALE_USES))
def test_stale_intermediate_raises(engine, use):
    a, b = engine.Value(2.0), engine.Value(3.0)
    c = a * b
    engine.clear_tape()
    with pytest.raises(RuntimeError, match="clear_tape"):
        STALE_USES[use](c, a, engine)


def test_stale_handle_never_aliases_new_nodes(engine):
    a = engine.Value(2.0)
    old = [a * float(i) for i in range(50)]
    engine.clear_tape()
    new = [a + float(i) for i in range(200)]      # may reuse the freed slots
    for v in old:
        with pytest.raises(RuntimeError, match="clear_tape"):
            v.data
    assert [v.data for v in new] == [2.0 + i for i in range(200)]


def test_descendant_of_stale_node_raises(engine):
    a = engine.Value(1.0)
    c = a.exp()
    d = c * 2.0
    engine.clear_tape()
    with pytest.raises(RuntimeError, match="clear_tape"):
        d.backward()
    with pytest.raises(RuntimeError, match="clear_tape"):
        d.data


def test_leaves_survive_clear_tape(engine):
    a, b = engine.Value(2.0), engine.Value(3.0)
    (a * b).backward()
    engine.clear_tape()
    assert (a.data, a.grad, b.data, b.grad) == (2.0, 3.0, 3.0, 2.0)
    c = a * b + a
    assert c.data == 8.0
    c.backward()
    assert (a.grad, b.grad) == (3.0 + 4.0, 2.0 + 2.0)
    a.data = 5.0
    a.grad = 0
    assert (a * 2.0).data == 10.0
    a.backward()
    assert a.grad == 1.0
    engine.clear_tape()
    engine.clear_tape()           # twice in a row is fine
    assert (a + b).data == 8.0


def test_clear_tape_message(engine):
    a = engine.Value(1.0)
    c = a + 1.0
    engine.clear_tape()
    with pytest.raises(RuntimeError) as info:
        c.data
    msg = str(info.value)
    assert "tapegrad.clear_tape()" in msg
    assert "recompute" in msg.lower()


def test_tape_stats(engine):
    stats = engine.tape_stats()
    assert isinstance(stats, dict)
    assert stats["engine"] == engine.ENGINE
    if engine.ENGINE == "c":
        engine.clear_tape()
        a = engine.Value(1.0)
        keep = [a * float(i) for i in range(10)]
        stats = engine.tape_stats()
        for key in ("nodes", "node_capacity", "leaves", "leaf_capacity", "collections"):
            assert isinstance(stats[key], int) and stats[key] >= 0, key
        assert stats["nodes"] >= len(keep)
        assert stats["leaves"] >= 1
        assert stats["node_capacity"] >= stats["nodes"]
        assert stats["leaf_capacity"] >= stats["leaves"]
        engine.clear_tape()
        assert engine.tape_stats()["nodes"] == 0
        assert a.data == 1.0
