"""nn.Dropout / F.dropout: torch's mask from the generator, its scaling, train/eval."""

import numpy as np
import pytest

from _rng import same


@pytest.mark.parametrize("p", [0.1, 0.37, 0.5, 0.93])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_is_torchs(libs, engine, torch, p, dtype):
    x = np.random.default_rng(0).standard_normal((8, 33))
    ours = engine.tensor(x, dtype=getattr(engine, dtype), requires_grad=True)
    theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    engine.manual_seed(5)
    torch.manual_seed(5)
    y, ty = libs.F.dropout(ours, p), torch.nn.functional.dropout(theirs, p)
    same(y, ty)
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    ty.sum().backward()
    same(ours.grad, theirs.grad)
    same(engine.rand(3), torch.rand(3))            # the streams stay in step


def test_dropout_module_train_and_eval(libs, engine, torch):
    d, td = libs.nn.Dropout(0.25), torch.nn.Dropout(0.25)
    assert repr(d) == repr(td) == "Dropout(p=0.25, inplace=False)"
    x = engine.ones(4, 20)
    engine.manual_seed(9)
    torch.manual_seed(9)
    same(d(x), td(torch.ones(4, 20)))
    d.eval()
    assert d(x) is x
    assert libs.F.dropout(x, 0.0) is x
    assert libs.F.dropout(x, 0.3, training=False) is x
    same(libs.F.dropout(x, 1.0), torch.nn.functional.dropout(torch.ones(4, 20), 1.0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        libs.F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        libs.nn.Dropout(-0.1)


def test_dropout_with_a_generator(libs, engine, torch):
    x = engine.ones(50)
    g = engine.Generator().manual_seed(3)
    a = libs.F.dropout(x, 0.5, generator=g)
    g.manual_seed(3)
    same(libs.F.dropout(x, 0.5, generator=g), a)
    vals = set(np.unique(a.numpy()).tolist())
    assert vals <= {0.0, 2.0} and len(vals) == 2
