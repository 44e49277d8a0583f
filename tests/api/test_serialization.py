"""pickle, copy.deepcopy and tapegrad.save / tapegrad.load on both engines; the
layers' real module-level names (qualname, module, pickle by reference)."""

import copy
import io
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

import tapegrad
from tapegrad import _backend
from _tensors import npy


@pytest.fixture(autouse=True)
def _registered(engine):
    """tapegrad registers the engines it imports (pickle reducers, engine_of); under
    TAPEGRAD_PURE_PYTHON=1 the compiled engine is imported by the test fixture
    only, so register it here."""
    _backend.engine_named(engine.ENGINE)


def _by_name(libs):
    """Skip when libs' nn classes are not importable by name (the compiled engine's
    under TAPEGRAD_PURE_PYTHON=1 are bound by the tests, see _tensors.libs_for)."""
    if not isinstance(libs.nn, types.ModuleType):
        pytest.skip("the compiled engine's nn is not importable under TAPEGRAD_PURE_PYTHON=1")


def _roundtrip(obj, weights_only=False):
    buf = io.BytesIO()
    tapegrad.save(obj, buf)
    buf.seek(0)
    return tapegrad.load(buf, weights_only=weights_only)


def _copies(obj):
    """pickle at every protocol >= 2, deepcopy, and save/load."""
    out = [pickle.loads(pickle.dumps(obj, protocol=p))
           for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]
    return out + [copy.deepcopy(obj), _roundtrip(obj)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_tensor_roundtrip_keeps_data_dtype_engine(engine, dtype):
    dt = getattr(engine, dtype)
    t = engine.tensor([[1.5, -2.0, 3.25], [0.0, 7.0, -1e-3]], dtype=dt)
    for u in _copies(t):
        assert type(u) is engine.Tensor and u is not t
        assert u.dtype is dt and tuple(u.shape) == (2, 3)
        assert np.array_equal(npy(u), npy(t)) and npy(u).dtype == npy(t).dtype
        assert u.requires_grad is False
        u.add_(1) if dtype != "int64" else None
    assert npy(t)[0, 0] == (1 if dtype == "int64" else 1.5)     # copies own their memory


def test_tensor_pickles_requires_grad_not_graph(engine):
    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    for u in pickle.loads(pickle.dumps(x)), pickle.loads(pickle.dumps(x * 3)):
        assert u.requires_grad is True and u.is_leaf and u.grad_fn is None
        assert u.grad is None                                      # as torch.save
    u = pickle.loads(pickle.dumps(x * 3))
    assert npy(u).tolist() == [3.0, 6.0, 9.0]
    (u * u).sum().backward()
    assert npy(u.grad).tolist() == [6.0, 12.0, 18.0]
    assert npy(x.grad).tolist() == [2.0, 2.0, 2.0]                # the original is untouched


def test_tensor_deepcopy_copies_grad_like_torch(engine):
    x = engine.tensor([1.0, -1.0], requires_grad=True)
    (x * 4).sum().backward()
    d = copy.deepcopy(x)
    assert d.requires_grad and npy(d.grad).tolist() == [4.0, 4.0]


def test_value_roundtrip(engine):
    a = engine.Value(2.5)
    b = a * a
    b.backward()
    for v in _copies(b) + _copies(a):
        assert type(v) is engine.Value
        assert v.grad == 0.0                      # a fresh leaf: no graph, no gradient
    assert [v.data for v in _copies(b)] == [6.25] * len(_copies(b))
    c = pickle.loads(pickle.dumps(a))
    (c * 3).backward()
    assert (c.grad, a.grad) == (3.0, 5.0)


def test_parameter_roundtrip(engine, libs):
    p = libs.nn.Parameter(engine.tensor([1.0, 2.0]))
    q = libs.nn.Parameter(engine.tensor([3.0]), requires_grad=False)
    assert isinstance(p, tapegrad.nn.Parameter) and isinstance(p, engine.Tensor)
    for orig in (p, q):
        for u in _copies(orig):
            assert isinstance(u, tapegrad.nn.Parameter) and isinstance(u, engine.Tensor)
            assert type(u) is type(orig)
            assert u.requires_grad is orig.requires_grad
            assert npy(u).tolist() == npy(orig).tolist()
    assert repr(pickle.loads(pickle.dumps(p))).startswith("Parameter containing:\ntensor([1., 2.]")


def _model(libs):
    nn = libs.nn
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.LogSoftmax(1))


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "save"])
def test_module_roundtrip(engine, libs, how):
    if how != "deepcopy":
        _by_name(libs)
    engine.manual_seed(3)
    model = _model(libs)
    x = engine.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    copy_ = {"pickle": lambda m: pickle.loads(pickle.dumps(m)), "deepcopy": copy.deepcopy,
             "save": _roundtrip}[how](model)
    assert type(copy_) is type(model) and repr(copy_) == repr(model)
    assert np.array_equal(npy(copy_(x)), npy(model(x)))
    names = [n for n, _ in model.named_parameters()]
    assert [n for n, _ in copy_.named_parameters()] == names
    for (_, p), (_, q) in zip(model.named_parameters(), copy_.named_parameters()):
        assert p is not q and isinstance(q, tapegrad.nn.Parameter) and isinstance(q, engine.Tensor)
    # the copy trains on its own
    copy_(x).sum().backward()
    assert all(p.grad is None for p in model.parameters())
    assert all(q.grad is not None for q in copy_.parameters())


def test_module_subclass_and_shared_parameters(engine, libs):
    class Twice(libs.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = libs.nn.Linear(2, 2)
            self.b = self.a                       # the same module twice

        def forward(self, x):
            return self.b(self.a(x))

    m = Twice()
    d = copy.deepcopy(m)
    assert d.a is d.b and d.a.weight is d.b.weight
    assert len(list(d.parameters())) == 2


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_optimizer_state_dict_roundtrip(engine, libs, opt):
    engine.manual_seed(0)
    model = _model(libs)
    kwargs = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.01}
    optimizer = getattr(libs.optim, opt)(model.parameters(), **kwargs)
    x = engine.tensor([[0.5, -1.0, 2.0]])
    for _ in range(2):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    sd = optimizer.state_dict()
    for loaded in (pickle.loads(pickle.dumps(sd)), copy.deepcopy(sd), _roundtrip(sd, True)):
        assert loaded["param_groups"] == sd["param_groups"]
        assert sorted(loaded["state"]) == sorted(sd["state"])
        for k, st in sd["state"].items():
            for name, v in st.items():
                assert type(loaded["state"][k][name]) is type(v)
                assert np.array_equal(npy(loaded["state"][k][name]), npy(v))
    # a second model and optimizer restored from the saved state continue identically
    model2 = copy.deepcopy(model)
    opt2 = getattr(libs.optim, opt)(model2.parameters(), **kwargs)
    opt2.load_state_dict(_roundtrip(sd, True))
    for m, o in ((model, optimizer), (model2, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        assert np.array_equal(npy(p), npy(q))


def test_save_load_path_and_state_dict(engine, libs, tmp_path):
    model = _model(libs)
    path = tmp_path / "model.tg"
    tapegrad.save(model.state_dict(), path)
    sd = tapegrad.load(path)                          # weights_only=True by default
    assert list(sd) == list(model.state_dict())
    fresh = _model(libs)
    fresh.load_state_dict(sd)
    for (_, p), (_, q) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert np.array_equal(npy(p), npy(q))
    tapegrad.save({"step": 3, "lr": 0.5, "names": ("a", "b"), "t": engine.tensor([1.0])},
                  str(tmp_path / "misc.tg"))
    misc = tapegrad.load(str(tmp_path / "misc.tg"))
    assert misc["step"] == 3 and misc["names"] == ("a", "b") and npy(misc["t"]).tolist() == [1.0]


def test_weights_only_refuses_modules_and_code(engine, libs):
    _by_name(libs)
    buf = io.BytesIO()
    tapegrad.save(_model(libs), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match=r"(?s)Weights only load failed.*"
                       r"Unsupported global: GLOBAL tapegrad\.[a-z.]+\.Sequential"):
        tapegrad.load(buf)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    buf = io.BytesIO()
    pickle.dump({"w": Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|nt|os)\.system"):
        tapegrad.load(buf)
    with pytest.raises(RuntimeError, match="map_location"):
        tapegrad.load(io.BytesIO(b""), map_location="cuda")


def test_layer_names_are_module_level(engine, libs):
    nn, optim = tapegrad.nn, tapegrad.optim
    assert nn.Linear.__qualname__ == "Linear" and nn.Linear.__module__ == "tapegrad.nn.modules"
    assert nn.MSELoss.__module__ == "tapegrad.nn.loss"
    assert nn.Parameter.__module__ == "tapegrad.nn.parameter"
    assert optim.SGD.__module__ == "tapegrad.optim.sgd" and optim.Adam.__qualname__ == "Adam"
    assert tapegrad.Tape.__qualname__ == "Tape" and tapegrad.Tape.__module__ == "tapegrad._replay"
    assert tapegrad.compile.__qualname__ == "compile"
    ref = tapegrad.reference
    assert ref.nn.Linear.__module__ == "tapegrad.reference.nn"
    assert ref.nn.Linear.__qualname__ == "Linear"
    assert ref.nn.Linear is ref.nn.Linear and issubclass(ref.nn.Linear, nn.Linear)
    assert issubclass(ref.Tape, tapegrad.Tape)
    if tapegrad.ENGINE == "c":     # else the reference is the active engine: tapegrad's Tape
        assert ref.Tape.__module__ == "tapegrad.reference" and ref.Tape is not tapegrad.Tape
    assert ref.optim is optim and ref.autograd is tapegrad.autograd
    assert ref.nn.functional is nn.functional and ref.nn.Parameter is nn.Parameter
    assert pickle.loads(pickle.dumps(ref.nn.Linear)) is ref.nn.Linear
    assert pickle.loads(pickle.dumps(nn.Linear)) is nn.Linear
    lin = libs.nn.Linear(2, 1)
    assert isinstance(lin, nn.Linear) and isinstance(lin.weight, engine.Tensor)
    assert "Linear" in dir(ref.nn)
    with pytest.raises(AttributeError):
        ref.nn.NoSuchLayer


def test_grad_mode_is_shared_by_the_engines():
    from tapegrad import _engine as c_engine

    ref = tapegrad.reference
    with tapegrad.no_grad():
        assert not tapegrad.is_grad_enabled() and not ref.is_grad_enabled()
        assert not c_engine.is_grad_enabled()
        assert not (c_engine.ones(1, requires_grad=True) * 2).requires_grad
        assert not (ref.ones(1, requires_grad=True) * 2).requires_grad
        with ref.enable_grad():
            assert c_engine.is_grad_enabled() and tapegrad.is_grad_enabled()
    assert tapegrad.is_grad_enabled() and c_engine.is_grad_enabled() and ref.is_grad_enabled()
    assert ref.no_grad is tapegrad.no_grad is tapegrad.autograd.no_grad
    with pytest.raises(TypeError):
        tapegrad.no_grad(5)


def test_pickle_in_a_fresh_process(engine, libs):
    """Classes are found by name on load, in a process that never built them."""
    _by_name(libs)
    engine.manual_seed(1)
    model = _model(libs)
    x = engine.tensor([[1.0, 2.0, 3.0]])
    blob = pickle.dumps((model, x))
    code = ("import pickle, sys; m, x = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(m).__module__, type(x).__module__, m(x).detach().numpy().tolist())")
    src = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    mod, tmod, out = proc.stdout.decode().split(" ", 2)
    assert mod == type(model).__module__ and tmod == type(x).__module__
    assert eval(out) == npy(model(x)).tolist()
