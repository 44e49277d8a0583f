"""Cross-check against PyTorch in float64.

Skipped when torch is not installed, unless TAPEGRAD_REQUIRE_TORCH=1 (then a
missing torch fails); see ``require_torch`` in conftest.py.
"""

import math

import pytest
from hypothesis import example, given, settings

from _cases import EDGE_CASES, OP_CASES
from _graphs import Graph, mismatches, oracle, run_engine, run_torch, tame_graphs
from _util import assert_same_float, same_float
from test_backward import micrograd_readme


def _torch_leaf(torch):
    return lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _torch_run(torch, fn, xs):
    leaves = [_torch_leaf(torch)(x) for x in xs]
    out = fn(*leaves)
    out.backward()
    return float(out.detach()), [float(t.grad) if t.grad is not None else 0.0 for t in leaves]


def test_micrograd_readme_example_against_torch(engine, torch):
    a, b, g = micrograd_readme(engine.Value)
    g.backward()
    ta, tb, tg = micrograd_readme(_torch_leaf(torch))
    tg.backward()
    assert_same_float(g.data, float(tg.detach()), rel=1e-14)
    assert_same_float(a.grad, float(ta.grad), rel=1e-13)
    assert_same_float(b.grad, float(tb.grad), rel=1e-13)
    assert round(g.data, 4) == 24.7041
    assert round(a.grad, 4) == 138.8338
    assert round(b.grad, 4) == 645.5773


OP_POINTS = [(case, point) for case in OP_CASES for point in case.points]


@pytest.mark.parametrize("case,point", OP_POINTS,
                         ids=[f"{c.name}@{','.join(map(str, p))}" for c, p in OP_POINTS])
def test_op_against_torch(engine, torch, case, point):
    leaves = [engine.Value(x) for x in point]
    out = case.fn(*leaves)
    out.backward()
    value, grads = _torch_run(torch, case.fn, point)
    assert_same_float(out.data, value, rel=1e-14, what=f"{case.name} value")
    for k, (leaf, g) in enumerate(zip(leaves, grads)):
        assert_same_float(leaf.grad, g, rel=1e-13, what=f"{case.name} grad {k}")


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c.name for c in EDGE_CASES])
def test_ieee_edge_case_against_torch(engine, torch, case):
    leaves = [engine.Value(x) for x in case.leaves]
    out = case.fn(*leaves)
    out.backward()
    value, grads = _torch_run(torch, case.fn, case.leaves)
    assert same_float(case.value, value) and all(
        same_float(e, g, rel=1e-15) for e, g in zip(case.grads, grads)), (
        f"the table's expectation for {case.name} is not torch's: {value!r} {grads!r}")
    assert_same_float(out.data, value, rel=0.0, what=f"{case.name} value")
    for k, (leaf, g) in enumerate(zip(leaves, grads)):
        assert_same_float(leaf.grad, g, rel=1e-15, what=f"{case.name} grad {k}")


def test_sum_and_dot_against_torch(engine, torch):
    V = engine.Value
    xs = [V(0.3 * i - 1.0) for i in range(7)]
    ws = [V(0.7 - 0.2 * i) for i in range(7)]
    y = engine.sum([engine.dot(xs, ws).tanh(), engine.sum(xs) * 0.5, 2.0]) ** 2
    y.backward()
    T = _torch_leaf(torch)
    txs = [T(0.3 * i - 1.0) for i in range(7)]
    tws = [T(0.7 - 0.2 * i) for i in range(7)]
    ty = (torch.dot(torch.stack(txs), torch.stack(tws)).tanh()
          + torch.stack(txs).sum() * 0.5 + 2.0) ** 2
    ty.backward()
    assert_same_float(y.data, float(ty.detach()), rel=1e-13)
    for v, t in zip(xs + ws, txs + tws):
        assert_same_float(v.grad, float(t.grad), rel=1e-12, abs_tol=1e-14)


# log(49 / x) at x = 49: torch's 49 / x is x.reciprocal() * 49 = 1 - 1.1e-16, so its log is
# -1.1e-16 where tapegrad's exact division gives 0 (issue 10, item 17)
LOG_OF_A_RATIO_NEAR_ONE = Graph([49.0], [("rdiv_const", 0, 49.0), ("log", 1)])


@settings(max_examples=150)
@given(graph=tame_graphs(max_ops=20))
@example(graph=LOG_OF_A_RATIO_NEAR_ONE)
def test_random_graph_against_torch(engine, torch, graph):
    values, grads, _ = run_engine(engine, graph)
    tv, tg = run_torch(torch, graph)
    _, _, reach = oracle(graph)
    # torch computes some derivatives with other (equivalent) formulas, e.g.
    # (x / y) / y for d(x/y)/dy: a few ulps apart, accumulated along the graph.
    bad = mismatches(graph, (values, grads), (tv, tg), reach, rel=1e-10, abs_scale=1e-12)
    assert not bad, f"engine {engine.ENGINE!r} vs torch on\n{graph!r}\n" + "\n".join(bad[:12])


def test_graph_comparison_still_catches_small_errors(engine, torch):
    """The tolerance near log(1) is a few ulps of the input, not more: a value or a
    gradient off by 1e-9 relative is still reported."""
    graph = LOG_OF_A_RATIO_NEAR_ONE
    values, grads, _ = run_engine(engine, graph)
    tv, tg = run_torch(torch, graph)
    _, _, reach = oracle(graph)
    assert tv[2] == -1.1102230246251565e-16 and values[2] == 0.0
    assert not mismatches(graph, (values, grads), (tv, tg), reach, rel=1e-10, abs_scale=1e-12)
    for k in (1, 2):
        off = list(values)
        off[k] = values[k] + 1e-9 * (1.0 if k == 2 else values[k])
        assert mismatches(graph, (off, grads), (tv, tg), reach, rel=1e-10, abs_scale=1e-12)
        wrong = list(grads)
        wrong[k - 1] = grads[k - 1] * (1 + 1e-9)
        assert mismatches(graph, (values, wrong), (tv, tg), reach, rel=1e-10, abs_scale=1e-12)


def test_training_loop_against_torch(engine, torch):
    """A few SGD steps of a tiny tanh network, parameter by parameter."""
    import random
    rng = random.Random(7)
    init = [rng.uniform(-1, 1) for _ in range(9)]
    data = [((rng.uniform(-2, 2), rng.uniform(-2, 2)), rng.choice([-1.0, 1.0])) for _ in range(6)]

    def model(p, x):
        h0 = (p[0] * x[0] + p[1] * x[1] + p[2]).tanh()
        h1 = (p[3] * x[0] + p[4] * x[1] + p[5]).relu()
        return p[6] * h0 + p[7] * h1 + p[8]

    params = [engine.Value(v) for v in init]
    tparams = [_torch_leaf(torch)(v) for v in init]
    for _ in range(20):
        loss = engine.sum((model(params, x) - y) ** 2 for x, y in data) / len(data)
        loss.backward()
        tloss = sum(((model(tparams, x) - y) ** 2 for x, y in data), torch.tensor(0.0, dtype=torch.float64)) / len(data)
        tloss.backward()
        assert_same_float(loss.data, float(tloss.detach()), rel=1e-11)
        for p, tp in zip(params, tparams):
            assert_same_float(p.grad, float(tp.grad), rel=1e-9, abs_tol=1e-12)
            p.data -= 0.1 * p.grad
            p.grad = 0
            with torch.no_grad():
                tp -= 0.1 * tp.grad
            tp.grad = None
    assert math.isfinite(loss.data)
