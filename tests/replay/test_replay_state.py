"""Changes of state inside a recorded function, which replays would not repeat:
the compiled engine refuses them with a RuntimeError naming the fix, or warns;
the reference engine runs fn again on every call, so they simply happen again."""

import warnings

import pytest

from tapegrad import _replay


def api(engine):
    return _replay.api_for(engine)


def _refused(engine, fn, *args):
    """Compile and call fn: the compiled engine refuses, the reference runs it."""
    step = api(engine).compile(fn)
    if engine.ENGINE == "c":
        with pytest.raises(RuntimeError, match="would not be repeated by the replays"):
            step(*args)
        return None
    return step(*args)


def test_zero_grad_inside_fn(engine):
    w = engine.Value(2.0)

    def step(x):
        w.grad = 0.0                      # zero_grad inside the step
        return w * x

    loss = _refused(engine, step, 3.0)
    if loss is not None:
        assert loss.data == 6.0 and w.grad == 3.0


def test_value_data_set_inside_fn(engine):
    w = engine.Value(2.0)

    def step(x):
        w.data = 1.0
        return w * x

    loss = _refused(engine, step, 3.0)
    if loss is not None:
        assert loss.data == 3.0


def test_tensor_grad_zeroed_in_place_inside_fn(engine):
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    (w * 1.0).sum().backward()

    def step(x):
        w.grad.zero_()
        return (w * x).sum()

    loss = _refused(engine, step, engine.tensor([1.0, 1.0]))
    if loss is not None:
        assert loss.item() == 3.0 and w.grad.tolist() == [1.0, 1.0]


def test_optimizer_step_inside_fn(engine, libs):
    nn, optim = libs.nn, libs.optim
    engine.manual_seed(0)
    layer = nn.Linear(2, 1)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    x = engine.tensor([[1.0, 2.0]])

    def step(inp):
        opt.step()
        return layer(inp).sum()

    (layer(x).sum()).backward()
    _refused(engine, step, x)


def test_graph_tensor_changed_in_place_under_no_grad(engine):
    w = engine.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        h = w * x
        with engine.no_grad():
            h.add_(1.0)
        return (h * w).sum()

    loss = _refused(engine, step, engine.tensor([1.0, 1.0]))
    if loss is not None:
        assert loss.item() == 1.0 * 2.0 + 2.0 * 3.0


def test_temporaries_made_and_filled_inside_fn_are_fine(engine):
    """A tensor fn creates and fills itself is a constant of the recording."""
    w = engine.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        mask = engine.zeros(2)
        mask.fill_(3.0)
        return (w * x * mask).sum()

    compiled = api(engine).compile(step)
    for scale in (1.0, 2.0):
        w.grad = None
        assert compiled(engine.tensor([scale, scale])).item() == 9.0 * scale
        assert w.grad.tolist() == [3.0 * scale, 3.0 * scale]


def test_backward_inside_fn(engine):
    w = engine.Value(2.0)

    def step(x):
        loss = w * x
        loss.backward()
        return loss

    compiled = api(engine).compile(step)
    if engine.ENGINE == "c":
        with pytest.raises(RuntimeError, match="fn must return the loss"):
            compiled(3.0)
    else:   # runs, and the gradient is counted twice, as the eager code would do
        compiled(3.0)
        assert w.grad == 6.0


def test_random_draws_inside_fn_warn(engine):
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api(engine).compile(lambda x: (w * x * engine.randn(2)).sum())(engine.tensor([1.0, 1.0]))
    messages = [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)]
    if engine.ENGINE == "c":
        assert any("replayed unchanged" in m for m in messages)
    else:
        assert not any("replayed unchanged" in m for m in messages)
