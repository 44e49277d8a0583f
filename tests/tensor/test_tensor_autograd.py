"""Autograd semantics of tensors, as PyTorch's: requires_grad propagation, leaves,
gradient accumulation, retain_grad, vector-Jacobian products, .data and detach, no_grad
(context manager, decorator, thread-local), in-place updates and the version counter,
grad_fn graphs (names, next_functions), tapegrad.autograd.grad and Variable."""

import re
import threading

import numpy as np
import pytest

from _tensors import assert_close, npy


def T(engine, data, **kw):
    return engine.tensor(data, **kw)


# ---------------------------------------------------------------------------- requires_grad


def test_requires_grad_propagation(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    c = T(engine, [3.0, 4.0])
    assert x.requires_grad is True and c.requires_grad is False
    assert (x * c).requires_grad is True
    assert (c * 2.0 + c).requires_grad is False
    assert (c + x).exp().sum().requires_grad is True
    assert (x.detach() * c).requires_grad is False
    assert engine.zeros(2).requires_grad is False
    assert engine.ones(2, requires_grad=True).requires_grad is True
    assert engine.zeros(2, 3, requires_grad=True).requires_grad is True


def test_is_leaf(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    c = T(engine, [3.0, 4.0])
    assert x.is_leaf and c.is_leaf
    y = x * c
    assert not y.is_leaf and y.grad_fn is not None
    assert (c * 2).is_leaf                 # no grad required: a leaf, like torch
    assert (c * 2).grad_fn is None
    assert x.detach().is_leaf
    with engine.no_grad():
        z = x * 2
    assert z.is_leaf and z.requires_grad is False and z.grad_fn is None
    assert x.grad_fn is None


def test_requires_grad_setter(engine):
    x = T(engine, [1.0, 2.0])
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf
    (x * 3).sum().backward()
    assert npy(x.grad).tolist() == [3.0, 3.0]
    x.requires_grad = False
    assert (x * 3).requires_grad is False
    y = T(engine, [1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_requires_grad_underscore_returns_self(engine):
    x = T(engine, 3.0, requires_grad=True)
    assert x.requires_grad_(False) is x
    assert x.requires_grad is False
    assert x.requires_grad_() is x and x.requires_grad is True
    assert x.requires_grad_(True) is x


# ---------------------------------------------------------------------------- accumulation


def test_grad_accumulates_seed_003(engine):
    x = T(engine, 3.0, requires_grad=True)
    grads = []
    for _ in range(3):
        y = 3 * x ** 2 + 4 * x + 2
        y.backward()
        grads.append(x.grad.item())
    assert grads == [22.0, 44.0, 66.0]
    x.grad.zero_()
    assert x.grad.item() == 0.0 and x.grad is not None
    (3 * x ** 2).backward()
    assert x.grad.item() == 18.0


def test_backward_twice_on_same_graph_adds_again(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)       # torch frees the graph without it (MulBackward0)
    y.backward()
    assert npy(x.grad).tolist() == [4.0, 8.0]


def test_grad_zero_keeps_the_tensor(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    (x * 5).sum().backward()
    g = x.grad
    assert g.zero_() is g
    assert npy(g).tolist() == [0.0, 0.0]
    assert npy(x.grad).tolist() == [0.0, 0.0]       # g shares x.grad's storage
    (x * 2).sum().backward()
    assert npy(x.grad).tolist() == [2.0, 2.0]


def test_grad_is_settable(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * 5).sum().backward()
    x.grad = None
    assert x.grad is None
    (x * 2).sum().backward()
    assert npy(x.grad).tolist() == [2.0, 2.0]
    x.grad = T(engine, [10.0, 20.0])
    (x * 1).sum().backward()
    assert npy(x.grad).tolist() == [11.0, 21.0]


def test_diamond_graph_counts_each_path_once(engine):
    x = T(engine, 2.0, requires_grad=True)
    y = x * x
    z = y + y
    (z * y).backward()             # z*y = 2 x^4 -> 8 x^3 = 64
    assert x.grad.item() == 64.0


def test_leaf_without_requires_grad_gets_no_grad(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    c = T(engine, [3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert npy(x.grad).tolist() == [3.0, 4.0]


def test_grad_dtype_and_shape(engine):
    for dt in (engine.float32, engine.float64):
        x = engine.ones(2, 3, dtype=dt, requires_grad=True)
        (x * 2).sum().backward()
        assert x.grad.dtype == dt and tuple(x.grad.shape) == (2, 3)
        assert x.grad.requires_grad is False


# ---------------------------------------------------------------------------- non-leaf grads


def test_non_leaf_grad_is_none_unless_retained(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    y = x * 3
    z = y * 3
    z.retain_grad()
    (z ** 2).sum().backward()
    assert y.grad is None
    assert npy(z.grad).tolist() == [18.0, 36.0]
    assert npy(x.grad).tolist() == [162.0, 324.0]


def test_retained_grad_accumulates_like_torch(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = (y ** 2).sum()
    z.backward(retain_graph=True)       # torch frees the graph without it (PowBackward0)
    assert npy(y.grad).tolist() == [6.0, 12.0]
    z.backward()
    assert npy(y.grad).tolist() == [12.0, 24.0]


def _retain_graph(M):
    """b = a*2 and d = w*5 retain their grads; d is on no path to a."""
    a = M.tensor([1.0, 2.0], dtype=M.float64, requires_grad=True)
    w = M.tensor([3.0, 4.0], dtype=M.float64, requires_grad=True)
    b, d = a * 2, w * 5
    b.retain_grad()
    d.retain_grad()
    return a, w, b, d, (b * b).sum() + (d * d).sum()


_RETAIN_SWEEPS = {
    "grad [a]": lambda M, ag, a, w, b, d, c: ag.grad(c, [a]),
    "grad [a, b]": lambda M, ag, a, w, b, d, c: ag.grad(c, [a, b]),
    "grad [b]": lambda M, ag, a, w, b, d, c: ag.grad(c, [b]),
    "grad [w]": lambda M, ag, a, w, b, d, c: ag.grad(c, [w]),
    "grad twice": lambda M, ag, a, w, b, d, c: (ag.grad(c, [a], retain_graph=True),
                                                 ag.grad(c, [a])),
    "backward, then grad [b]": lambda M, ag, a, w, b, d, c: (
        c.backward(retain_graph=True), ag.grad(c, [b])),
    "backward(inputs=[a])": lambda M, ag, a, w, b, d, c: c.backward(inputs=[a]),
    "backward(inputs=[b])": lambda M, ag, a, w, b, d, c: c.backward(inputs=[b]),
    "backward()": lambda M, ag, a, w, b, d, c: c.backward(),
}


@pytest.mark.parametrize("sweep", list(_RETAIN_SWEEPS))
def test_retain_grad_during_autograd_grad_like_torch(engine, libs, torch, sweep):
    """retain_grad() tensors on a path to the inputs get their .grad during
    autograd.grad and backward(inputs=) too, others none (issue 10, item 15)."""
    got = _retain_graph(engine)
    _RETAIN_SWEEPS[sweep](engine, libs.autograd, *got)
    want = _retain_graph(torch)
    _RETAIN_SWEEPS[sweep](torch, torch.autograd, *want)
    for mine, theirs in zip(got[:4], want[:4]):
        assert (None if mine.grad is None else npy(mine.grad).tolist()) == \
            (None if theirs.grad is None else theirs.grad.tolist())


# ---------------------------------------------------------------------------- backward(gradient)


def test_backward_with_gradient_is_vjp_seed_003(engine):
    x = T(engine, [1.0, 2.0, 3.0], requires_grad=True)
    z = (x * 2 + 3) ** 2
    z.backward(T(engine, [1.0, 1.0, 1.0]))
    assert npy(x.grad).tolist() == [20.0, 28.0, 36.0]
    x.grad = None
    z = (x * 2 + 3) ** 2
    z.backward(gradient=T(engine, [1.0, -2.0, 0.5]))
    assert npy(x.grad).tolist() == [20.0, -56.0, 18.0]


def test_backward_with_gradient_matrix(engine):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 2))
    v = rng.standard_normal((3, 2))
    x = engine.tensor(a.tolist(), dtype=engine.float64, requires_grad=True)
    y = x @ engine.tensor(w.tolist(), dtype=engine.float64)
    y.backward(engine.tensor(v.tolist(), dtype=engine.float64))
    assert_close(npy(x.grad), v @ w.T, rtol=1e-14, atol=1e-15)


def test_backward_scalar_with_explicit_gradient(engine):
    x = T(engine, 2.0, requires_grad=True)
    (x ** 3).backward(T(engine, 0.5))
    assert x.grad.item() == 6.0


def test_backward_errors(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError,
                       match="element 0 of tensors does not require grad and does not have a grad_fn"):
        T(engine, [1.0, 2.0]).sum().backward()
    with engine.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"(?i)shape"):
        (x * 2).backward(engine.ones(3))
    assert x.grad is None


# ---------------------------------------------------------------------------- .data / detach


def test_data_get_shares_storage(engine):
    w = T(engine, [1.0, 2.0, 3.0], requires_grad=True)
    d = w.data
    assert d is not w
    assert d.requires_grad is False and d.is_leaf and d.grad_fn is None
    assert npy(d).tolist() == [1.0, 2.0, 3.0]
    d.mul_(2)                      # d does not require grad: in-place allowed
    assert npy(w.detach()).tolist() == [2.0, 4.0, 6.0]
    d.zero_()
    assert npy(w.detach()).tolist() == [0.0, 0.0, 0.0]


def test_data_set_replaces_values(engine):
    w = T(engine, [1.0, 2.0, 3.0], requires_grad=True)
    (w * 2).sum().backward()
    w.data = w.data - 0.5 * w.grad.data
    assert npy(w.detach()).tolist() == [0.0, 1.0, 2.0]
    assert w.requires_grad and w.is_leaf
    assert npy(w.grad).tolist() == [2.0, 2.0, 2.0]
    w.grad.data.zero_()
    assert npy(w.grad).tolist() == [0.0, 0.0, 0.0]
    w.data = T(engine, [5.0, 6.0, 7.0, 8.0])      # shape may change, as torch
    assert tuple(w.shape) == (4,)
    assert w.requires_grad and w.is_leaf
    w.grad = None
    (w * w).sum().backward()
    assert npy(w.grad).tolist() == [10.0, 12.0, 14.0, 16.0]


def test_data_set_keeps_graph_semantics(engine):
    """Setting .data is invisible to autograd: no version bump, later ops use the new
    values."""
    w = T(engine, [1.0, 2.0], requires_grad=True)
    w.data = T(engine, [3.0, 4.0])
    y = (w * w).sum()
    y.backward()
    assert npy(w.grad).tolist() == [6.0, 8.0]


def test_detach_shares_storage(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.requires_grad is False and d.is_leaf and d.grad_fn is None
    with engine.no_grad():
        d.add_(10.0)
    assert npy(x.detach()).tolist() == [11.0, 12.0]
    y = (x * 2).detach()
    assert y.requires_grad is False and y.grad_fn is None
    assert npy(y).tolist() == [22.0, 24.0]


def test_detach_cuts_the_graph(engine):
    x = T(engine, 3.0, requires_grad=True)
    y = x * x.detach()             # d/dx = x (only one path)
    y.backward()
    assert x.grad.item() == 3.0


# ---------------------------------------------------------------------------- no_grad


def test_no_grad_context_manager(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    assert engine.is_grad_enabled() is True
    with engine.no_grad():
        assert engine.is_grad_enabled() is False
        y = x * 2
        with engine.no_grad():
            z = y + x
        assert engine.is_grad_enabled() is False
    assert engine.is_grad_enabled() is True
    assert y.requires_grad is False and y.grad_fn is None
    assert z.requires_grad is False
    assert (x * 2).requires_grad is True


def test_no_grad_restored_after_exception(engine):
    with pytest.raises(ZeroDivisionError):
        with engine.no_grad():
            1 / 0
    assert engine.is_grad_enabled() is True


def test_enable_grad_and_set_grad_enabled(engine):
    x = T(engine, [1.0], requires_grad=True)
    with engine.no_grad():
        with engine.enable_grad():
            assert engine.is_grad_enabled() is True
            y = x * 2
        assert engine.is_grad_enabled() is False
    assert y.requires_grad is True
    with engine.set_grad_enabled(False):
        assert (x * 2).requires_grad is False
    assert engine.is_grad_enabled() is True
    engine.set_grad_enabled(False)
    try:
        assert engine.is_grad_enabled() is False
        assert (x * 2).requires_grad is False
    finally:
        engine.set_grad_enabled(True)
    assert (x * 2).requires_grad is True


def test_no_grad_decorator(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)

    @engine.no_grad()
    def f(t):
        assert engine.is_grad_enabled() is False
        return t * 2

    y = f(x)
    assert y.requires_grad is False
    assert engine.is_grad_enabled() is True
    assert f.__name__ == "f"


def test_no_grad_bare_decorator(engine):
    """``@torch.no_grad`` without parentheses works in torch 2.x."""
    x = T(engine, [1.0, 2.0], requires_grad=True)

    @engine.no_grad
    def f(t):
        return t * 2

    assert f(x).requires_grad is False
    assert engine.is_grad_enabled() is True


def test_no_grad_is_thread_local(engine):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    entered, done = threading.Event(), threading.Event()
    box = {}

    def other():
        with engine.no_grad():
            entered.set()
            done.wait(10)
            box["inside"] = (x * 2).requires_grad

    t = threading.Thread(target=other)
    t.start()
    assert entered.wait(10)
    # the other thread is inside no_grad: this one still records
    assert engine.is_grad_enabled() is True
    y = x * 3
    assert y.requires_grad is True and y.grad_fn is not None
    done.set()
    t.join(10)
    assert box["inside"] is False

    # and the other way round: a thread started while this one is in no_grad records
    with engine.no_grad():
        def record():
            x2 = T(engine, [1.0], requires_grad=True)
            out = (x2 * 5).sum()
            out.backward()
            box["flag"] = engine.is_grad_enabled()
            box["grad"] = npy(x2.grad).tolist()
        t = threading.Thread(target=record)
        t.start()
        t.join(10)
    assert box["flag"] is True and box["grad"] == [5.0]


# ---------------------------------------------------------------------------- in-place


def test_inplace_update_of_leaf_under_no_grad(engine):
    w = T(engine, [1.0, 2.0], requires_grad=True)
    ident = id(w)
    (w * w).sum().backward()
    with engine.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == ident
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert_close(npy(w.detach()), [0.8, 1.6], rtol=1e-7)
    with engine.no_grad():
        w += 1.0
        w *= 2.0
        w /= 4.0
        w.add_(T(engine, [1.0, 1.0]))
        w.sub_(0.5)
        w.mul_(T(engine, [2.0, 1.0]))
        w.div_(2.0)
    assert_close(npy(w.detach()), [1.4, 0.9], rtol=1e-6)
    with engine.no_grad():
        w.fill_(3.0)
    assert npy(w.detach()).tolist() == [3.0, 3.0]
    with engine.no_grad():
        w.copy_(T(engine, [7.0, 8.0]))
    assert npy(w.detach()).tolist() == [7.0, 8.0]
    with engine.no_grad():
        w.zero_()
    assert npy(w.detach()).tolist() == [0.0, 0.0]
    w.grad = None
    (w + 1).sum().backward()
    assert npy(w.grad).tolist() == [1.0, 1.0]


def test_inplace_returns_self(engine):
    x = T(engine, [1.0, 2.0])
    for op in (lambda t: t.add_(1.0), lambda t: t.sub_(1.0), lambda t: t.mul_(2.0),
               lambda t: t.div_(2.0), lambda t: t.zero_(), lambda t: t.fill_(1.0),
               lambda t: t.copy_(T(engine, [3.0, 4.0]))):
        assert op(x) is x


def test_inplace_on_leaf_requiring_grad_raises(engine):
    w = T(engine, [1.0, 2.0], requires_grad=True)
    msg = "a leaf Variable that requires grad is being used in an in-place operation"
    for op in (lambda t: t.add_(1.0), lambda t: t.mul_(2.0), lambda t: t.zero_(),
               lambda t: t.sub_(1.0), lambda t: t.div_(2.0), lambda t: t.fill_(0.0),
               lambda t: t.copy_(T(engine, [0.0, 0.0]))):
        with pytest.raises(RuntimeError, match=msg):
            op(w)
    with pytest.raises(RuntimeError, match=msg):
        w -= 1.0
    assert npy(w.detach()).tolist() == [1.0, 2.0]


def test_inplace_on_plain_tensor_outside_no_grad(engine):
    x = T(engine, [1.0, 2.0])
    x += 1.0
    x *= T(engine, [2.0, 3.0])
    x.sub_(1.0)
    assert npy(x).tolist() == [3.0, 8.0]


_VERSION = r"one of the variables needed for gradient computation has been modified by an " \
           r"inplace operation: .*is at version 1; expected version 0 instead"


def test_version_counter_saved_leaf(engine):
    x = T(engine, [1.0, 2.0, 3.0], requires_grad=True)
    y = x ** 2                       # saves x
    with engine.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=_VERSION):
        y.sum().backward()


def test_version_counter_saved_constant(engine):
    a = T(engine, [1.0, 2.0])
    w = T(engine, [3.0, 4.0], requires_grad=True)
    y = w * a                        # saves a for dy/dw
    a.mul_(2.0)
    with pytest.raises(RuntimeError, match=_VERSION):
        y.sum().backward()


def test_version_counter_not_tripped_by_unsaved_inputs(engine):
    a = T(engine, [1.0, 2.0])
    w = T(engine, [3.0, 4.0], requires_grad=True)
    y = w + a                        # add saves nothing (as torch)
    a.add_(1.0)
    y.sum().backward()
    assert npy(w.grad).tolist() == [1.0, 1.0]


def test_version_counter_fresh_graph_after_update(engine):
    """The training-loop pattern: update in place, then build a new graph: no error."""
    w = T(engine, [1.0, 2.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with engine.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
    assert_close(npy(w.detach()), [0.512, 1.024], rtol=1e-6)


# ---------------------------------------------------------------------------- grad_fn graphs

_NAME = re.compile(r"<(\w+) object at 0x[0-9a-fA-F]+>")


def describe(node, depth=6):
    """(name, [children]) from repr(), the way torch names nodes (AccumulateGrad too)."""
    if node is None:
        return None
    m = _NAME.fullmatch(repr(node))
    assert m, repr(node)
    if depth == 0:
        return m.group(1)
    kids = []
    for pair in node.next_functions:
        assert isinstance(pair, tuple) and len(pair) == 2 and pair[1] == 0, pair
        kids.append(describe(pair[0], depth - 1))
    return (m.group(1), kids)


def test_next_functions_seed_graph(engine):
    x, y = T(engine, 1.0), T(engine, 2.0)
    w = T(engine, 1.0, requires_grad=True)
    loss = (w * x - y) ** 2
    assert describe(loss.grad_fn) == (
        "PowBackward0", [("SubBackward0", [("MulBackward0", [("AccumulateGrad", []), None]),
                                           None])])
    assert isinstance(loss.grad_fn.next_functions, tuple)


GRAPHS = [
    "(w * x - y) ** 2",
    "3 * w ** 2 + 4 * w + 2",
    "(v @ u - y) ** 2",
    "((v * 2 + 3) ** 2).mean()",
    "(v * u).sum()",
    "(v.tanh() + u.exp()).sum() / 2",
    "(m @ v).relu().sigmoid().sum()",
    "m.sum(0).max()",
    "-(v - u) * 2.0",
    "1.0 - v",
    "v.reshape(3, 1).transpose(0, 1).squeeze(0).unsqueeze(1).mean()",
    "m.softmax(-1).log_softmax(0)[1]",
    "v[1:] + v[0]",
    "(v / u) ** u",
]


@pytest.mark.parametrize("expr", GRAPHS)
def test_graph_structure_like_torch(engine, torch, expr):
    def build(M):
        env = dict(
            w=M.tensor(1.5, requires_grad=True), x=M.tensor(1.0), y=M.tensor(2.0),
            v=M.tensor([1.0, 2.0, 3.0], requires_grad=True), u=M.tensor([0.5, 1.0, 2.0]),
            m=M.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, 1.0]], requires_grad=True))
        return eval(expr, env)
    assert describe(build(engine).grad_fn) == describe(build(torch).grad_fn)


def test_leaf_and_no_grad_have_no_grad_fn(engine):
    x = T(engine, 1.0, requires_grad=True)
    assert x.grad_fn is None
    with engine.no_grad():
        assert (x * 2).grad_fn is None


# ---------------------------------------------------------------------------- autograd.grad


def test_autograd_grad(engine, libs):
    ag = libs.autograd
    x = T(engine, [1.0, 2.0], requires_grad=True)
    u = T(engine, 3.0, requires_grad=True)
    y = (x * x * u).sum()
    gx, gu = ag.grad(y, [x, u])
    assert npy(gx).tolist() == [6.0, 12.0] and gu.item() == 5.0
    assert x.grad is None and u.grad is None          # nothing accumulated
    (g,) = ag.grad((x * 2).sum(), x)
    assert npy(g).tolist() == [2.0, 2.0]
    res = ag.grad(x * 3, [x], grad_outputs=[T(engine, [1.0, -1.0])])
    assert isinstance(res, tuple) and npy(res[0]).tolist() == [3.0, -3.0]
    res = ag.grad(x * 3, (x,), grad_outputs=T(engine, [2.0, 2.0]))
    assert npy(res[0]).tolist() == [6.0, 6.0]


def test_autograd_grad_unused(engine, libs):
    ag = libs.autograd
    x = T(engine, [1.0, 2.0], requires_grad=True)
    unused = T(engine, 1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ag.grad((x * 2).sum(), [x, unused])
    gx, gn = ag.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert npy(gx).tolist() == [2.0, 2.0] and gn is None


def test_autograd_grad_nonscalar_needs_grad_outputs(engine, libs):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        libs.autograd.grad(x * 2, [x])


def test_autograd_grad_then_backward(engine, libs):
    x = T(engine, [1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = libs.autograd.grad(y, [x], retain_graph=True)
    assert npy(g).tolist() == [3.0, 12.0]
    y.backward()
    assert npy(x.grad).tolist() == [3.0, 12.0]


def test_variable(engine, libs):
    t = engine.Tensor([1.0])
    v = libs.autograd.Variable(t, requires_grad=True)
    assert v.requires_grad is True
    assert isinstance(v, engine.Tensor)
    assert npy(v.detach()).tolist() == [1.0]
    c = libs.autograd.Variable(engine.Tensor([2.0]))
    assert c.requires_grad is False
    (v * 4).sum().backward()
    assert npy(v.grad).tolist() == [4.0]
