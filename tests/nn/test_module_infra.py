"""Module infrastructure and containers against torch 2.13 (issue 12 item 3): print(model)
strings, traversal names, buffers (persistent or not) in state_dict, apply, requires_grad_,
to / float / double, train / eval, and Sequential / ModuleList / ModuleDict / ParameterList /
ParameterDict / Unflatten behaviour. Each scenario runs the same code on torch and on the
engine's nn, and compares what it reports, with "torch" read as "tapegrad"."""

import collections

import numpy as np
import pytest

from _tensors import npy


def _same(torch_value, engine_value):
    assert str(engine_value) == str(torch_value).replace("torch", "tapegrad")


def _model(nn):
    return nn.Sequential(
        nn.Embedding(27, 10), nn.Flatten(), nn.Linear(30, 100, bias=False),
        nn.BatchNorm1d(100), nn.Tanh(),
        nn.Sequential(nn.Linear(100, 4), nn.LayerNorm(4), nn.Dropout(0.25), nn.Identity()),
        nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Linear(4, 4)]),
        nn.ModuleDict({"act": nn.Sigmoid(), "out": nn.Linear(4, 2)}),
        nn.Unflatten(1, (1, 2)), nn.Flatten(0), nn.LayerNorm((3, 4), bias=False),
        nn.BatchNorm1d(5, affine=False, track_running_stats=False, momentum=None),
        nn.Softmax(dim=1))


def test_print_model_is_torchs(libs, torch):
    _same(_model(torch.nn), _model(libs.nn))
    _same(torch.nn.ModuleList(), libs.nn.ModuleList())
    _same(torch.nn.Sequential(), libs.nn.Sequential())
    _same(torch.nn.Unflatten(-1, (2, 3)), libs.nn.Unflatten(-1, (2, 3)))
    _same(torch.nn.Linear(3, 1, bias=False), libs.nn.Linear(3, 1, bias=False))


def test_print_parameter_containers(engine, libs, torch):
    t = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3)),
                                torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))])
    e = libs.nn.ParameterList([libs.nn.Parameter(engine.zeros(2, 3)),
                               libs.nn.Parameter(engine.zeros(3, dtype=engine.float64))])
    _same(t, e)
    _same(torch.nn.ParameterDict({"x": torch.nn.Parameter(torch.zeros(2))}),
          libs.nn.ParameterDict({"x": libs.nn.Parameter(engine.zeros(2))}))
    _same(torch.nn.ParameterDict({"x": torch.zeros(2), "y": torch.ones(2, 2)}),
          libs.nn.ParameterDict({"x": engine.zeros(2), "y": engine.ones(2, 2)}))


def _traversal(nn):
    m = _model(nn)
    shared = nn.Linear(2, 2)
    box = nn.Sequential(shared, nn.Sequential(shared, nn.Tanh()))
    return {
        "named_modules": [n for n, _ in m.named_modules()],
        "modules": [type(x).__name__ for x in m.modules()],
        "children": [type(x).__name__ for x in m.children()],
        "named_children": [n for n, _ in m[5].named_children()],
        "named_buffers": [(n, tuple(b.shape)) for n, b in m.named_buffers()],
        "buffers": len(list(m.buffers())),
        "named_parameters": [(n, tuple(p.shape)) for n, p in m.named_parameters()],
        "state_dict": [(k, tuple(v.shape)) for k, v in m.state_dict().items()],
        "shared_modules": [n for n, _ in box.named_modules()],
        "shared_all": [n for n, _ in box.named_modules(remove_duplicate=False)],
        "shared_state": list(box.state_dict()),
        "shared_params": [n for n, _ in box.named_parameters()],
        "no_recurse": [n for n, _ in m[3].named_buffers(recurse=False)],
        "prefix": [n for n, _ in m[3].named_buffers(prefix="bn")],
    }


def test_traversal_names_are_torchs(libs, torch):
    assert _traversal(libs.nn) == _traversal(torch.nn)


def test_buffers_persistent_and_not(engine, libs, torch):
    def build(M, nn):
        m = nn.Linear(2, 2)
        m.register_buffer("kept", M.ones(3))
        m.register_buffer("scratch", M.zeros(2), persistent=False)
        m.register_buffer("nothing", None)
        outer = nn.Sequential(m)
        return outer, {"buffers": [n for n, _ in outer.named_buffers()],
                       "state": list(outer.state_dict()),
                       "attr": npy(m.scratch).tolist()}

    t, want = build(torch, torch.nn)
    e, got = build(engine, libs.nn)
    assert got == want
    # a non-persistent buffer becomes persistent when registered again
    e[0].register_buffer("scratch", engine.zeros(2))
    assert "0.scratch" in e.state_dict()
    # load_state_dict restores buffers and refuses a missing persistent one
    sd = {k: v.clone() for k, v in e.state_dict().items()}
    with engine.no_grad():
        e[0].kept.fill_(7.0)
    e.load_state_dict(sd)
    assert npy(e[0].kept).tolist() == [1.0, 1.0, 1.0]
    del sd["0.kept"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0.kept"'):
        e.load_state_dict(sd)


@pytest.mark.parametrize("call, exc", [
    (lambda M, m: m.register_buffer("a.b", M.zeros(1)), KeyError),
    (lambda M, m: m.register_buffer("", M.zeros(1)), KeyError),
    (lambda M, m: m.register_buffer("weight", M.zeros(1)), KeyError),
    (lambda M, m: m.register_buffer("x", [1.0]), TypeError),
    (lambda M, m: m.register_buffer(3, M.zeros(1)), TypeError),
    (lambda M, m: m.register_parameter("bias.x", None), KeyError),
    (lambda M, m: m.register_parameter("y", M.zeros(1)), TypeError),
    (lambda M, m: m.add_module("weight", None), KeyError),
    (lambda M, m: m.add_module("a.b", None), KeyError),
    (lambda M, m: m.add_module("x", 3), TypeError),
])
def test_registration_errors_are_torchs(engine, libs, torch, call, exc):
    with pytest.raises(exc) as want:
        call(torch, torch.nn.Linear(1, 1))
    with pytest.raises(exc) as got:
        call(engine, libs.nn.Linear(1, 1))
    _same(want.value, got.value)


def test_apply_requires_grad_train_eval(engine, libs):
    m = _model(libs.nn)
    seen = []

    def init(mod):
        seen.append(type(mod).__name__)
        if isinstance(mod, libs.nn.Linear):
            with engine.no_grad():
                mod.weight.fill_(0.5)

    assert m.apply(init) is m
    assert seen[-1] == "Sequential" and seen.count("Linear") == 4
    assert npy(m[2].weight).min() == npy(m[2].weight).max() == 0.5
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m[5].train()
    assert m[5][1].training and not m[3].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")


def test_to_float_double(engine, libs, torch):
    m = libs.nn.Sequential(libs.nn.Linear(2, 3), libs.nn.BatchNorm1d(3))
    assert m.to(engine.float64) is m
    assert {str(t.dtype) for t in m.parameters()} == {"tapegrad.float64"}
    assert str(m[1].running_mean.dtype) == "tapegrad.float64"
    assert str(m[1].num_batches_tracked.dtype) == "tapegrad.int64"      # not floating: kept
    m.float()
    assert {str(t.dtype) for t in list(m.parameters()) + [m[1].running_var]} == \
        {"tapegrad.float32"}
    m.double()
    assert str(m[0].weight.dtype) == "tapegrad.float64"
    assert m.to("cpu") is m and m.to(device="cpu", dtype=engine.float32) is m
    assert str(m[0].bias.dtype) == "tapegrad.float32"
    m.to(engine.zeros(1, dtype=engine.float64))
    assert str(m[0].bias.dtype) == "tapegrad.float64"
    with pytest.raises(TypeError) as want:
        torch.nn.Linear(1, 1).to(torch.int64)
    with pytest.raises(TypeError) as got:
        m.to(engine.int64)
    _same(want.value, got.value)
    x = engine.ones(4, 2, dtype=engine.float64)
    assert str(m(x).dtype) == "tapegrad.float64"


# ------------------------------------------------------------------------ containers


def _sequential_script(nn):
    out = collections.OrderedDict()
    s = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh())
    out["len"] = len(s)
    out["neg"] = repr(s[-1])
    out["slice"] = repr(s[1:3])
    s.append(nn.Sigmoid())
    s.insert(1, nn.Identity())
    s.insert(-1, nn.Dropout())
    s.extend([nn.ReLU()])
    out["after_insert"] = repr(s)
    out["pop"] = repr(s.pop(2))
    del s[0]
    out["after_del"] = repr(s)
    s[0] = nn.Flatten()
    out["setitem"] = repr(s)
    out["iter"] = [type(m).__name__ for m in s]
    out["add"] = repr(nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh()))
    out["mul"] = repr(nn.Sequential(nn.ReLU(), nn.Tanh()) * 2)
    d = nn.Sequential(collections.OrderedDict([("first", nn.ReLU()), ("second", nn.Tanh())]))
    out["named"] = repr(d) + repr(d[1:])
    for bad in (lambda: s[10], lambda: s.insert(20, nn.ReLU()), lambda: s + 1,
                lambda: s * 0):
        try:
            bad()
        except Exception as e:      # (the messages name the classes' modules)
            out.setdefault("errors", []).append(f"{type(e).__name__}: {str(e)[:20]}")
    return out


def _modulelist_script(nn):
    out = collections.OrderedDict()
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.append(nn.Linear(2, 2))
    ml.extend([nn.ReLU(), nn.ReLU()])
    ml.insert(1, nn.Sigmoid())
    ml += [nn.Identity()]
    out["repr"] = repr(ml)
    out["slice"] = repr(ml[1:4])
    out["neg"] = repr(ml[-2])
    out["pop"] = repr(ml.pop(1))
    del ml[0:2]
    out["after_del"] = repr(ml)
    ml[0] = nn.Tanh()
    out["add"] = repr(ml + nn.ModuleList([nn.ReLU()]))
    out["params"] = [n for n, _ in ml.named_parameters()]
    for bad in (lambda: ml[9], lambda: ml.extend(3)):
        try:
            bad()
        except Exception as e:
            out.setdefault("errors", []).append(f"{type(e).__name__}: {e}")
    return out


def _moduledict_script(nn):
    out = collections.OrderedDict()
    md = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Linear(1, 2)})
    md["c"] = nn.Tanh()
    md.update([("d", nn.Sigmoid())])
    md.update(collections.OrderedDict([("a", nn.Identity())]))
    out["repr"] = repr(md)
    out["keys"] = list(md.keys())
    out["iter"] = list(md)
    out["values"] = [type(m).__name__ for m in md.values()]
    out["items"] = [(k, type(m).__name__) for k, m in md.items()]
    out["contains"] = ("b" in md, "z" in md)
    out["pop"] = repr(md.pop("b"))
    del md["c"]
    out["len"] = len(md)
    out["params"] = [n for n, _ in nn.ModuleDict({"x": nn.Linear(1, 1)}).named_parameters()]
    md.clear()
    out["clear"] = repr(md)
    for bad in (lambda: md.update(3), lambda: md.update([("a", nn.ReLU(), 1)]),
                lambda: md["nope"]):
        try:
            bad()
        except Exception as e:
            out.setdefault("errors", []).append(f"{type(e).__name__}: {e}")
    return out


@pytest.mark.parametrize("script", [_sequential_script, _modulelist_script, _moduledict_script])
def test_module_containers_are_torchs(libs, torch, script):
    got, want = script(libs.nn), script(torch.nn)
    assert list(got) == list(want)
    for key in want:
        _same(want[key], got[key])


def _parameter_containers(M, nn):
    out = collections.OrderedDict()
    pl = nn.ParameterList([nn.Parameter(M.ones(2)), M.zeros(3)])
    pl.append(M.ones(1, 2))
    pl.extend([nn.Parameter(M.zeros(2, dtype=M.float64))])
    out["types"] = [type(p).__name__ == "Parameter" for p in pl]
    out["names"] = [(n, tuple(p.shape)) for n, p in pl.named_parameters()]
    out["len"] = len(pl)
    out["slice"] = repr(pl[1:3])
    out["neg"] = tuple(pl[-1].shape)
    pl[0] = M.full((4,), 2.0)
    out["set"] = npy(pl[0]).tolist()
    pd = nn.ParameterDict({"w": M.ones(2)})
    pd["b"] = nn.Parameter(M.zeros(1))
    pd.update({"c": M.zeros(3)})
    out["pd_keys"] = list(pd.keys())
    out["pd_params"] = [(n, tuple(p.shape)) for n, p in pd.named_parameters()]
    out["pd_pop"] = tuple(pd.pop("w").shape)
    out["pd_contains"] = ("w" in pd, "b" in pd)
    out["pd_len"] = len(pd)
    out["pd_get"] = pd.get("zz", "default")
    holder = nn.Module()
    holder.ps = pl
    out["state"] = list(holder.state_dict())
    for bad in (lambda: pl(), lambda: pd(), lambda: pl.extend(M.ones(2)), lambda: pl[7]):
        try:
            bad()
        except Exception as e:
            out.setdefault("errors", []).append(f"{type(e).__name__}: {e}")
    return out


def test_parameter_containers_are_torchs(engine, libs, torch):
    got, want = _parameter_containers(engine, libs.nn), _parameter_containers(torch, torch.nn)
    assert list(got) == list(want)
    for key in want:
        _same(want[key], got[key])


def test_unflatten_flatten_identity(engine, libs, torch):
    x = np.arange(24.0).reshape(2, 12)
    for args in ((1, (3, 4)), (-1, (2, -1, 3)), (1, [12]), (0, (1, 2))):
        t = torch.nn.Unflatten(*args)(torch.tensor(x, requires_grad=True))
        e = libs.nn.Unflatten(*args)(engine.tensor(x.tolist(), dtype=engine.float64,
                                                   requires_grad=True))
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(npy(e), t.detach().numpy())
        assert type(e.grad_fn).__name__ == "ViewBackward0"
        e.sum().backward()
    for args in ((1, (5, 5)),):
        with pytest.raises(RuntimeError) as want:
            torch.nn.Unflatten(*args)(torch.tensor(x))
        with pytest.raises(RuntimeError) as got:
            libs.nn.Unflatten(*args)(engine.tensor(x.tolist()))
        _same(want.value, got.value)
    with pytest.raises(TypeError):
        libs.nn.Unflatten(1, 3)
    with pytest.raises(TypeError):
        libs.nn.Unflatten(1, (2, 1.5))
    x3 = engine.ones(2, 3, 4)
    assert tuple(libs.nn.Flatten()(x3).shape) == (2, 12)
    assert tuple(libs.nn.Flatten(0, 1)(x3).shape) == (6, 4)
    assert libs.nn.Identity(3, k=1)(x3) is x3
