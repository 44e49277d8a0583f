"""The engine contract: one list of public names (tapegrad._api) used by both
__init__s, the static re-exports and the stubs; the Engine protocol
(tapegrad._contract) fulfilled by both engines; mypy resolves the API."""

import ast
import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import tapegrad
from tapegrad import _api, _backend, _contract

SRC = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
PKG = os.path.join(SRC, "tapegrad")

def test_public_names_are_one_list():
    assert tapegrad.__all__ == list(_api.PUBLIC)
    assert len(set(_api.PUBLIC)) == len(_api.PUBLIC)
    for name in _api.PUBLIC:
        assert hasattr(tapegrad, name), name
    ref = tapegrad.reference
    assert set(ref.__all__) == set(_api.PUBLIC) - {"reference"} | {"bool", "Node",
                                                                  "AccumulateGrad"}
    for name in ref.__all__:
        assert hasattr(ref, name), name
    assert tapegrad.nn.__all__ == list(_api.NN) + ["functional"]
    assert tapegrad.nn.functional.__all__ == list(_api.NN_FUNCTIONAL)
    assert tapegrad.optim.__all__ == list(_api.OPTIM)
    assert set(tapegrad.autograd.__all__) == set(_api.AUTOGRAD) | {"grad_mode"}


def test_active_engine_names_are_reexported():
    active = _backend.default_engine()
    for name in _api.ENGINE_NAMES:
        assert getattr(tapegrad, name) is getattr(active, name), name
    for name in _api.GRAD_MODE:
        assert getattr(tapegrad, name) is getattr(tapegrad.autograd.grad_mode, name)
        assert getattr(tapegrad.reference, name) is getattr(tapegrad, name)


def _type_checking_names():
    tree = ast.parse(open(os.path.join(PKG, "__init__.py")).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return [a.name for stmt in node.body if isinstance(stmt, ast.ImportFrom)
                    for a in stmt.names]
    raise AssertionError("no `if TYPE_CHECKING:` block in tapegrad/__init__.py")


def test_static_reexports_match_the_list():
    assert _type_checking_names() == list(_api.ENGINE_NAMES)


def _pyi_names():
    tree = ast.parse(open(os.path.join(PKG, "_engine.pyi")).read())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def test_stub_declares_every_public_name():
    assert set(_api.ENGINE_NAMES) - _pyi_names() == set()
    # and the private hooks the layers call
    assert set(_api.HOOKS) - _pyi_names() == set()


@pytest.mark.parametrize("name", ["c", "python"])
def test_engines_fulfil_the_contract(name):
    eng = _backend.engine_named(name)
    assert _contract.missing(eng) == ()
    assert eng is importlib.import_module(_backend._MODULES[name])   # the module itself
    protocol = set(_contract.Engine.__annotations__) | {
        n for n in vars(_contract.Engine) if n.startswith("_") and not n.startswith("__")
        and callable(vars(_contract.Engine)[n])}
    for attr in protocol:
        assert hasattr(eng, attr), attr


def test_an_engine_lacking_a_hook_is_refused():
    import types

    fake = types.ModuleType("fake_engine")
    fake.__dict__.update({n: getattr(_backend.engine_named("python"), n)
                          for n in dir(_backend.engine_named("python")) if not n.startswith("__")})
    del fake._addmm
    with pytest.raises(ImportError, match="lacks _addmm"):
        _backend._register(fake)


MYPY_USER = textwrap.dedent('''
    import tapegrad
    from tapegrad import nn, optim

    x = tapegrad.tensor([1.0, 2.0], requires_grad=True)
    y: tapegrad.Tensor = tapegrad.zeros(2) + x
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.mse_loss(model(x.reshape(1, 2)), tapegrad.zeros(1, 1))
    opt.step()
    step = tapegrad.compile(lambda a: (a * x).sum())
    tape = tapegrad.record(lambda a: a * 2.0, 1.0)
    v: tapegrad.Value = tapegrad.Value(2.0)
    with tapegrad.no_grad():
        pass
    tapegrad.save(model.state_dict(), "model.tg")
    sd = tapegrad.load("model.tg")
    reveal_type(nn.Linear)
    reveal_type(optim.SGD)
    reveal_type(tapegrad.tensor)
    m = nn.Linear(2, 3)
    o = optim.SGD(m.parameters(), lr=0.1)
    step0 = tapegrad.compile(lambda: None)
    reveal_type(step0)
    for p in m.parameters():
        reveal_type(p.grad)
    reveal_type(tapegrad.max(x, 0).indices)
    r = tapegrad.reference.tensor([1.0])
    reveal_type(r)
''')


def test_mypy_resolves_the_public_api(tmp_path):
    pytest.importorskip("mypy")
    script = tmp_path / "user.py"
    script.write_text(MYPY_USER)
    env = dict(os.environ)
    if os.path.basename(SRC) != "site-packages":
        # a source checkout: point mypy at it (an installed tapegrad is found through
        # site-packages and py.typed; mypy refuses site-packages in MYPYPATH)
        env["MYPYPATH"] = SRC
    # --strict: also --no-implicit-reexport, so every public name must be an explicit
    # re-export (`name as name`) in the package's __init__s
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                           "--cache-dir", os.devnull, "--follow-imports=silent", "--strict",
                           str(script)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    out = proc.stdout
    assert 'Revealed type is "def (in_features' in out, out
    assert "tapegrad.optim.sgd.SGD" in out, out
    assert "def (data: Any" in out or "tapegrad._engine.tensor" in out, out
    revealed = [line.split("Revealed type is ", 1)[1] for line in out.splitlines()
                if "Revealed type is " in line]
    assert revealed[3:] == ['"tapegrad._replay.CompiledStep"', '"tapegrad._engine.Tensor | None"',
                            '"tapegrad._engine.Tensor"', '"tapegrad.reference._tensor.Tensor"'], out
    errors = [line for line in out.splitlines() if ": error:" in line and "user.py" in line]
    assert errors == [], out
