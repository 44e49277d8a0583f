"""Higher-order gradients (issue 13): create_graph on autograd.grad and backward,
torch's errors, autograd.functional against torch, a third-order closed form,
random programs (hypothesis), and replay of a step that differentiates twice.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad
from tapegrad import _replay
from tapegrad.autograd.gradcheck import GradcheckError
from _tensors import libs_for, npy


def ag(M):
    """The autograd module serving M (torch's own, or tapegrad's shared one)."""
    return M.autograd if hasattr(M, "autograd") else tapegrad.autograd


def f64(M, data, requires_grad=True):
    return M.tensor(data, dtype=M.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------------------- item 1

def test_third_derivative_of_tanh_closed_form(engine):
    """d^3/dx^3 tanh = -2 (1 - t^2)^2 + 4 t^2 (1 - t^2), t = tanh x."""
    ag = libs_for(engine).autograd
    xs = [-1.3, -0.2, 0.0, 0.7, 2.1]
    x = f64(engine, xs)
    (g1,) = ag.grad(x.tanh().sum(), [x], create_graph=True)
    (g2,) = ag.grad(g1.sum(), [x], create_graph=True)
    (g3,) = ag.grad(g2.sum(), [x])
    t = np.tanh(np.array(xs))
    np.testing.assert_allclose(npy(g1), 1 - t * t, rtol=1e-14)
    np.testing.assert_allclose(npy(g2), -2 * t * (1 - t * t), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(npy(g3), -2 * (1 - t * t) ** 2 + 4 * t * t * (1 - t * t),
                               rtol=1e-13)
    assert g1.grad_fn is not None and g2.grad_fn is not None and g3.grad_fn is None


def test_backward_create_graph_gives_grad_with_history(engine, torch):
    """backward(create_graph=True): x.grad has a grad_fn and differentiates again;
    a second create_graph backward accumulates out of place, as torch."""
    def run(M):
        x = f64(M, [0.5, -1.5, 2.0])
        (x ** 3).sum().backward(create_graph=True)
        first = npy(x.grad)
        assert x.grad.grad_fn is not None
        (gx,) = ag(M).grad(x.grad.sum(), [x])
        (x ** 2).sum().backward(create_graph=True)
        return first, npy(gx), npy(x.grad), x.grad.requires_grad
    mine, theirs = run(engine), run(torch)
    for a, b in zip(mine[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert mine[3] is theirs[3] is True


def test_gradient_penalty_matches_torch(engine, libs, torch):
    """WGAN-GP style: || d out / d x ||^2 backpropagated into the weights."""
    rs = np.random.RandomState(0)
    W1, b1, W2 = rs.randn(8, 3), rs.randn(8), rs.randn(1, 8)
    X = rs.randn(5, 3)

    def run(M, F):
        w1, c1, w2 = f64(M, W1), f64(M, b1), f64(M, W2)
        x = f64(M, X)
        out = F.linear(F.linear(x, w1, c1).tanh(), w2).sum()
        (gx,) = ag(M).grad(out, [x], create_graph=True)
        (((gx * gx).sum(1) - 1.0) ** 2).mean().backward()
        return [npy(t.grad) for t in (w1, c1, w2)]
    for a, b in zip(run(engine, libs.F), run(torch, torch.nn.functional)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_grad_outputs_and_retain_graph(engine, torch):
    def run(M):
        x = f64(M, [[0.5, -1.0], [2.0, 0.25]])
        y = x.exp() * x
        v = f64(M, [[1.0, 2.0], [-1.0, 0.5]])
        (g,) = ag(M).grad([y], [x], [v], retain_graph=True, create_graph=True)
        (h,) = ag(M).grad([(g * g).sum()], [v])     # differentiable in grad_outputs
        return npy(g), npy(h)
    for a, b in zip(run(engine), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-13)


# ---------------------------------------------------------------------------- item 6

def test_allow_unused_false_raises_as_torch(engine, torch):
    for M in (engine, torch):
        x, z = f64(M, [1.0]), f64(M, [2.0])
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            ag(M).grad((x * x).sum(), [x, z], create_graph=True)
        g = ag(M).grad((x * x).sum(), [x, z], create_graph=True, allow_unused=True)
        assert g[1] is None and npy(g[0]).tolist() == [2.0]


def test_inplace_change_of_saved_tensor_raises(engine, torch):
    for M in (engine, torch):
        x = f64(M, [1.0, 2.0])
        h = x * 1.0
        y = (h * h).sum()
        (g,) = ag(M).grad(y, [x], create_graph=True)
        with M.no_grad():
            h.mul_(2.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            ag(M).grad(y, [x], create_graph=True)


@pytest.mark.parametrize("op", ["relu", "abs", "clamp"])
def test_piecewise_linear_second_derivative_as_torch(engine, torch, op):
    """relu's and abs's second derivative is 0, not an error; clamp's gradient has no
    history in torch (a where on a mask), so differentiating it again raises."""
    for M in (engine, torch):
        x = f64(M, [-1.5, 0.5, 2.0])
        y = x.clamp(-1.0, 1.0) if op == "clamp" else getattr(x, op)()
        (g,) = ag(M).grad(y.sum(), [x], create_graph=True)
        assert g.requires_grad is (op != "clamp")
        if op == "clamp":
            with pytest.raises(RuntimeError, match="does not require grad"):
                ag(M).grad(g.sum(), [x])
            continue
        (h,) = ag(M).grad(g.sum(), [x])
        assert (h + M.zeros(3, dtype=M.float64)).tolist() == [0.0, 0.0, 0.0]  # torch: ZeroTensor


def test_create_graph_off_graph_output_raises(engine):
    x = f64(engine, [1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag(engine).grad(f64(engine, [1.0], requires_grad=False).sum(), [x], create_graph=True)


# ---------------------------------------------------------------------------- item 3

def _mlp_loss(M, X, Y):
    def f(w1, b1, w2):
        h = (M.tensor(X, dtype=M.float64) @ w1.t() + b1).tanh()
        return ((h @ w2.t() - M.tensor(Y, dtype=M.float64)) ** 2).mean()
    return f


def _mlp_params(M):
    rs = np.random.RandomState(1)
    return tuple(M.tensor(a, dtype=M.float64) for a in (rs.randn(6, 3), rs.randn(6),
                                                         rs.randn(2, 6)))


def _data():
    rs = np.random.RandomState(2)
    return rs.randn(7, 3), rs.randn(7, 2)


@pytest.mark.parametrize("vectorize", [False, True])
def test_mlp_hessian_matches_torch(engine, torch, vectorize):
    F = libs_for(engine).autograd.functional
    X, Y = _data()
    mine = F.hessian(_mlp_loss(engine, X, Y), _mlp_params(engine), vectorize=vectorize)
    theirs = torch.autograd.functional.hessian(_mlp_loss(torch, X, Y), _mlp_params(torch),
                                               vectorize=vectorize)
    for i in range(3):
        for j in range(3):
            assert tuple(mine[i][j].shape) == tuple(theirs[i][j].shape)
            np.testing.assert_allclose(npy(mine[i][j]), npy(theirs[i][j]), rtol=1e-11,
                                       atol=1e-13)


@pytest.mark.parametrize("fn", ["vjp", "jvp", "hvp", "vhp"])
def test_products_match_torch(engine, torch, fn):
    F = libs_for(engine).autograd.functional
    X, Y = _data()

    def run(M, mod):
        params = _mlp_params(M)
        if fn in ("hvp", "vhp"):
            v = tuple(M.ones_like(p) * 0.5 for p in params)
            return getattr(mod, fn)(_mlp_loss(M, X, Y), params, v)
        f = (lambda a, b: (a * b).tanh() * a) if fn == "jvp" else (lambda a, b: a.exp() * b)
        ins = (f64(M, [0.3, -0.2, 1.1], False), f64(M, [1.0, 2.0, -0.5], False))
        v = f64(M, [1.0, -1.0, 0.5], False)
        return getattr(mod, fn)(f, ins, (v, v) if fn == "jvp" else v)
    (o1, r1), (o2, r2) = run(engine, F), run(torch, torch.autograd.functional)
    np.testing.assert_allclose(npy(o1), npy(o2), rtol=1e-14)
    for a, b in zip(r1 if isinstance(r1, tuple) else (r1,), r2 if isinstance(r2, tuple)
                    else (r2,)):
        np.testing.assert_allclose(npy(a), npy(b), rtol=1e-12, atol=1e-14)
        assert not a.requires_grad


def test_jacobian_shapes_and_create_graph(engine, torch):
    def run(M, F):
        a = f64(M, [[0.3, -0.2], [0.5, 1.0]])
        J = F.jacobian(lambda x: (x * x).sum(0).exp(), a, create_graph=True)
        (g,) = ag(M).grad(J.sum(), [a])
        return J, g
    (J1, g1), (J2, g2) = run(engine, libs_for(engine).autograd.functional), \
        run(torch, torch.autograd.functional)
    assert tuple(J1.shape) == tuple(J2.shape) == (2, 2, 2)
    assert J1.requires_grad
    np.testing.assert_allclose(npy(J1), npy(J2), rtol=1e-13)
    np.testing.assert_allclose(npy(g1), npy(g2), rtol=1e-13)


# ---------------------------------------------------------------------------- item 4

def test_gradcheck_reports_a_wrong_gradient(engine):
    ag = libs_for(engine).autograd
    x = f64(engine, [0.5, 1.5])
    assert ag.gradcheck(lambda a: a.sigmoid() * a, (x,))
    # a Python-side trick gives a value whose recorded derivative is wrong: detach
    def wrong(a):            # recorded d/da is a, finite differences see 2a
        return a.detach() * a
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        ag.gradcheck(wrong, (x,))
    assert ag.gradcheck(wrong, (x,), raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


# ---------------------------------------------------------------------------- item 7

_UNARY = ("tanh", "sigmoid", "exp_tanh", "square", "neg", "softplusish")
_BINARY = ("add", "mul", "sub", "div_pos")


def _unary(kind, a):
    if kind == "exp_tanh":
        return a.tanh().exp()
    if kind == "square":
        return a * a
    if kind == "neg":
        return -a
    if kind == "softplusish":
        return (a.exp() + 1.0).log()
    return getattr(a, kind)()


def _binary(kind, a, b):
    if kind == "div_pos":
        return a / (b.sigmoid() + 0.5)
    return {"add": a + b, "sub": a - b, "mul": a * b}[kind]


_programs = st.lists(st.one_of(
    st.tuples(st.sampled_from(_UNARY), st.integers(0, 20)),
    st.tuples(st.sampled_from(_BINARY), st.integers(0, 20), st.integers(0, 20))),
    min_size=1, max_size=8)


def _run_program(M, prog, leaves):
    xs = [f64(M, v) for v in leaves]
    nodes = list(xs)
    for ins in prog:
        if len(ins) == 2:
            nodes.append(_unary(ins[0], nodes[ins[1] % len(nodes)]))
        else:
            nodes.append(_binary(ins[0], nodes[ins[1] % len(nodes)], nodes[ins[2] % len(nodes)]))
    y = (nodes[-1] * nodes[-1]).sum() + nodes[-1].sum()
    gs = ag(M).grad(y, xs, create_graph=True, allow_unused=True)
    terms = [(g * g).sum() for g in gs if g is not None and g.requires_grad]
    if not terms:
        return [npy(g) for g in gs if g is not None], []
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    hs = ag(M).grad(total, xs, allow_unused=True)
    return [npy(g) for g in gs if g is not None], [None if h is None else npy(h) for h in hs]


@settings(max_examples=40, deadline=None)
@given(prog=_programs, data=st.data())
def test_random_programs_second_order_against_torch(engine, torch, prog, data):
    leaves = [data.draw(st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
              for _ in range(2)]
    mine = _run_program(engine, prog, leaves)
    theirs = _run_program(torch, prog, leaves)
    for a, b in zip(mine[0] + mine[1], theirs[0] + theirs[1]):
        if b is None:
            assert a is None or not np.any(a)
            continue
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------- item 2

def _pinn(M, nn, replay, steps=3):
    api = _replay.api_for(M)
    M.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 1))
    opt = tapegrad.optim.SGD(model.parameters(), lr=1e-3)

    def fn(x, src):
        u = model(x)
        (du,) = tapegrad.autograd.grad(u.sum(), [x], create_graph=True)
        (d2u,) = tapegrad.autograd.grad(du.sum(), [x], create_graph=True)
        r = d2u + src
        return (r * r).mean() + (u * u).mean()

    step = api.compile(fn) if replay else None
    losses = []
    for k in range(steps):
        opt.zero_grad()
        xs = np.linspace(0, 1, 16).reshape(-1, 1) + 0.01 * k
        x = M.tensor(xs, dtype=M.float32, requires_grad=True)
        src = M.tensor(math.pi ** 2 * np.sin(math.pi * xs), dtype=M.float32)
        if replay:
            out = step(x, src)
        else:
            out = fn(x, src)
            out.backward()
        losses.append(out.item())
        opt.step()
    return losses, [npy(p) for p in model.parameters()], step


def test_replayed_second_order_step_equals_eager(engine, libs):
    eager, p_eager, _ = _pinn(engine, libs.nn, False)
    replayed, p_replayed, step = _pinn(engine, libs.nn, True)
    assert replayed == eager
    for a, b in zip(p_eager, p_replayed):
        assert np.array_equal(a, b)
    assert step.recordings == 1
    if engine.ENGINE == "c":
        assert step.tape.nodes > 40      # the double-backward nodes are in the program


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_nll_loss_second_order_with_ignored_targets(torch, reduction):
    """The reference records weights and ignore_index (the compiled engine refuses them)."""
    import tapegrad.reference as ref
    A = np.random.RandomState(0).randn(3, 4)
    out = []
    for M, F in ((ref, tapegrad.nn.functional), (torch, torch.nn.functional)):
        a = f64(M, A)
        w = M.tensor([1.0, 2.0, 0.5, 1.5], dtype=M.float64)
        loss = F.nll_loss(a.log_softmax(1), M.tensor([1, 3, 0]), weight=w,
                          reduction=reduction, ignore_index=3)
        (g,) = ag(M).grad((loss * loss).sum(), [a], create_graph=True)
        (h,) = ag(M).grad((g * g).sum(), [a])
        out.append(npy(h))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-14)
