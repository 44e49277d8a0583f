"""Random expression graphs (hypothesis): DAGs mixing every op, reusing nodes.

Each graph is built in the engine under test and compared with
  * an independent oracle (plain floats + the rules of ``tapegrad._ops``), and
  * the other engine, built identically in the same test.
Values and gradients (leaves, and intermediates the root depends on) must agree
to 1e-12 relative; nan equals nan, infinities must match with their sign.
"""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from _graphs import (Graph, mismatches, oracle, run_engine, tame_graphs, wild_graphs)
from _util import load_engine, other_engine_name

REL = 1e-12
# The order in which gradient contributions are summed is free, so results that
# cancel (near zero) are compared to 1e-12 of their running error bound
# (_graphs.error_scales) rather than of themselves.
ABS_SCALE = 1e-12


def _check(graph, got, expected, reach, label):
    bad = mismatches(graph, got, expected, reach, REL, ABS_SCALE)
    assert not bad, f"{label} disagrees on\n{graph!r}\n" + "\n".join(bad[:12])


@settings(max_examples=300)
@given(graph=wild_graphs())
def test_wild_graph_matches_oracle(engine, graph):
    values, grads, _ = run_engine(engine, graph)
    ev, eg, reach = oracle(graph)
    _check(graph, (values, grads), (ev, eg), reach, f"engine {engine.ENGINE!r} vs oracle")


@settings(max_examples=200)
@given(graph=tame_graphs(max_ops=24))
def test_tame_graph_matches_oracle(engine, graph):
    values, grads, _ = run_engine(engine, graph)
    ev, eg, reach = oracle(graph)
    assert all(math.isfinite(v) for v in ev)
    _check(graph, (values, grads), (ev, eg), reach, f"engine {engine.ENGINE!r} vs oracle")


@settings(max_examples=200)
@given(graph=wild_graphs())
def test_engines_agree(engine, graph):
    other = load_engine(other_engine_name(engine.ENGINE))
    values, grads, _ = run_engine(engine, graph)
    ov, og, _ = run_engine(other, graph)
    _, _, reach = oracle(graph)
    _check(graph, (values, grads), (ov, og), reach,
           f"engine {engine.ENGINE!r} vs engine {other.ENGINE!r}")


@settings(max_examples=60)
@given(graph=wild_graphs(max_ops=12), repeats=st.integers(2, 3))
def test_repeated_backward_on_random_graph(engine, graph, repeats):
    """Leaf grads add up over repeated backward(); intermediate grads do not."""
    values, grads, nodes = run_engine(engine, graph)
    for _ in range(repeats - 1):
        nodes[-1].backward()
    ev, eg, reach = oracle(graph)
    L = len(graph.leaves)
    expected_grads = [repeats * g if k < L else g for k, g in enumerate(eg)]
    # a leaf root gets +1 per backward as well
    got = ([v.data for v in nodes], [v.grad for v in nodes])
    bad = mismatches(graph, got, (ev, expected_grads), reach, 1e-12, ABS_SCALE)
    assert not bad, f"after {repeats} backward() calls on\n{graph!r}\n" + "\n".join(bad[:12])


def test_oracle_sanity(engine):
    """The oracle on a hand-checked graph: f = (a*b + a).tanh(), plus a dangling log(a*b)."""
    g = Graph([0.5, -2.0], [("mul", 0, 1), ("add", 2, 0), ("log", 2), ("tanh", 3)])
    vals, grads, reach = oracle(g)
    t = math.tanh(0.5 * -2.0 + 0.5)
    assert vals[-1] == t
    assert reach == [True, True, True, True, False, True]
    dt = 1 - t * t
    assert math.isclose(grads[0], dt * (-2.0 + 1.0), rel_tol=1e-15)
    assert math.isclose(grads[1], dt * 0.5, rel_tol=1e-15)
    assert grads[4] == 0.0
    values, egrads, _ = run_engine(engine, g)
    assert values[:4] == vals[:4] and math.isnan(values[4]) and values[5] == vals[5]
    assert [egrads[k] for k in (0, 1, 2, 3, 5)] == [grads[k] for k in (0, 1, 2, 3, 5)]
