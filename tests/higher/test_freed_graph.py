"""retain_graph=False frees the swept graph, as torch (issue 13 item 6, first error):
a later sweep through a node that holds saved tensors raises torch's RuntimeError;
nodes that save nothing stay usable; retain_graph=True and create_graph=True keep
the graph; scalar Values keep micrograd's retained semantics; replay is unaffected.
"""

import numpy as np
import pytest

import tapegrad
from tapegrad import _replay
from tapegrad._freed import FREED_MESSAGE
from _tensors import npy

SECOND_TIME = "Trying to backward through the graph a second time"


def ag(M):
    return M.autograd if hasattr(M, "autograd") else tapegrad.autograd


def _F(M):
    return M.nn.functional if hasattr(M, "nn") else tapegrad.nn.functional


def f64(M, data, requires_grad=True):
    return M.tensor(data, dtype=M.float64, requires_grad=requires_grad)


X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.3, 0.9, -2.0]]
C = [[1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [2.0, 1.0, 0.0]]

# op -> whether torch raises on a second backward without retain_graph
CASES = {
    "add": (lambda M, x, c: (x + c).sum(), False),
    "add_scalar": (lambda M, x, c: (x + 2).sum(), False),
    "sub": (lambda M, x, c: (x - c).sum(), False),
    "rsub": (lambda M, x, c: (2 - x).sum(), False),
    "neg": (lambda M, x, c: (-x).sum(), False),
    "sum": (lambda M, x, c: x.sum(), False),
    "mean": (lambda M, x, c: x.mean(), False),
    "view": (lambda M, x, c: x.reshape(9).sum(), False),
    "t": (lambda M, x, c: x.t().sum(), False),
    "slice": (lambda M, x, c: x[1:].sum(), False),
    "clone": (lambda M, x, c: x.clone().sum(), False),
    "mul": (lambda M, x, c: (x * c).sum(), True),
    "mul_scalar": (lambda M, x, c: (x * 2).sum(), True),
    "div_scalar": (lambda M, x, c: (x / 2).sum(), True),
    "exp": (lambda M, x, c: x.exp().sum(), True),
    "tanh": (lambda M, x, c: x.tanh().sum(), True),
    "relu": (lambda M, x, c: x.relu().sum(), True),
    "pow": (lambda M, x, c: (x ** 2).sum(), True),
    "mm": (lambda M, x, c: (x @ c).sum(), True),
    "softmax": (lambda M, x, c: x.softmax(0).sum(), True),
    "mse_loss": (lambda M, x, c: _F(M).mse_loss(x, c), True),
}


def _second_backward(M, name):
    build, _ = CASES[name]
    x = f64(M, X)
    y = build(M, x, M.tensor(C, dtype=M.float64))
    y.backward()
    try:
        y.backward()
    except RuntimeError as exc:
        return str(exc), npy(x.grad)
    return None, npy(x.grad)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_backward_raises_where_torch_does(engine, torch, name):
    mine, grad_mine = _second_backward(engine, name)
    theirs, grad_theirs = _second_backward(torch, name)
    assert (mine is None) == (theirs is None) == (not CASES[name][1])
    if theirs is not None:
        assert mine == FREED_MESSAGE == theirs
    else:                              # nothing saved: the gradient is added again
        np.testing.assert_allclose(grad_mine, grad_theirs, rtol=1e-15)


def test_autograd_grad_twice_raises(engine):
    x = f64(engine, X)
    y = (x * x).sum()
    (g,) = ag(engine).grad(y, [x])
    np.testing.assert_allclose(npy(g), 2 * np.array(X))
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        ag(engine).grad(y, [x])


def test_retain_graph_keeps_it(engine):
    x = f64(engine, X)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    y.backward()                       # the second one frees it
    np.testing.assert_allclose(npy(x.grad), 2 * (1 - np.tanh(X) ** 2), rtol=1e-14)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        y.backward()


def test_create_graph_retains_by_default(engine, torch):
    """create_graph=True implies retain_graph; an explicit retain_graph=False frees."""
    def run(M):
        x = f64(M, X)
        y = x.tanh().sum()
        (g,) = ag(M).grad(y, [x], create_graph=True)
        y.backward()                    # still there
        first = npy(x.grad)
        z = (x * x).sum()
        ag(M).grad(z, [x], create_graph=True, retain_graph=False)
        try:
            z.backward()
        except RuntimeError as exc:
            return first, str(exc)
        return first, None
    mine, theirs = run(engine), run(torch)
    np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-14)
    assert mine[1] == theirs[1] == FREED_MESSAGE


def test_sweep_through_a_freed_node_of_another_graph(engine, torch):
    """A new root over a node freed by an earlier sweep raises too (torch frees
    the node, not the root's graph); a create_graph sweep through it too."""
    def run(M, create):
        x = f64(M, X)
        a = x.tanh()
        a.sum().backward()
        try:
            if create:
                ag(M).grad((a * 2).sum(), [x], create_graph=True)
            else:
                (a * 2).sum().backward()
        except RuntimeError as exc:
            return str(exc)
        return None
    for create in (False, True):
        assert run(engine, create) == run(torch, create) == FREED_MESSAGE


def test_autograd_backward_several_roots_sharing_a_graph(engine, torch):
    """One sweep from several roots: the shared nodes are freed after it, not between."""
    def run(M):
        x = f64(M, X)
        a = x.exp()
        ag(M).backward([a.sum(), (a * 3).sum()])
        return npy(x.grad)
    np.testing.assert_allclose(run(engine), run(torch), rtol=1e-14)


def test_values_keep_retained_semantics(engine):
    """Scalar Values keep micrograd's retained graph: a second backward adds the
    same gradient again (README, 'Higher-order gradients')."""
    a = engine.Value(1.5)
    b = (a * a).tanh()
    b.backward()
    first = a.grad
    b.backward()
    assert a.grad == pytest.approx(2 * first, rel=1e-15)


def test_replayed_step_runs_many_times(engine):
    """A compiled step's backward runs on every call (its program keeps its graph)."""
    w = f64(engine, [[0.5, -0.25], [1.0, 2.0]])

    def step(x):
        return (x @ w).tanh().sum()

    compiled = _replay.api_for(engine).compile(step)
    x = f64(engine, [[1.0, 2.0]], requires_grad=False)
    grads = []
    for _ in range(3):
        w.grad = None
        compiled(x)
        grads.append(npy(w.grad))
    t = np.tanh(np.array([[1.0, 2.0]]) @ np.array([[0.5, -0.25], [1.0, 2.0]]))
    expected = np.array([[1.0], [2.0]]) @ (1 - t * t)
    for g in grads:
        np.testing.assert_allclose(g, expected, rtol=1e-14)
