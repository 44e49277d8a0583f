"""Typing habits: the shared layers' public functions are annotated, and the
compiled engine's stub (_engine.pyi) says what the built module accepts."""

import ast
import importlib
import inspect
import os

import pytest

import tapegrad

PKG = os.path.dirname(os.path.abspath(tapegrad.__file__))

# Modules whose public functions and public classes' methods must be fully annotated.
ANNOTATED = [
    "tapegrad.nn.parameter", "tapegrad.nn.modules", "tapegrad.nn.loss",
    "tapegrad.nn.functional", "tapegrad.nn._reduction",
    "tapegrad.optim.optimizer", "tapegrad.optim.sgd", "tapegrad.optim.adam",
    "tapegrad.autograd", "tapegrad.autograd.grad_mode",
    "tapegrad.serialization", "tapegrad._replay", "tapegrad._backend", "tapegrad._dtype",
    "tapegrad._format", "tapegrad._contract", "tapegrad._api",
    "tapegrad.reference._functions",
]
# Only the module-level functions (the factories) of these: their classes are the
# engine's own (the reference Tensor gets its methods at import time).
ANNOTATED_FUNCTIONS_ONLY = ["tapegrad.reference._tensor"]


def _unannotated(fn):
    """The parameters (and '->' for the return) of fn that lack an annotation."""
    sig = inspect.signature(fn)
    missing = [p.name for i, p in enumerate(sig.parameters.values())
               if p.annotation is p.empty and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is sig.empty:
        missing.append("->")
    return missing


def _public_functions(modname, with_methods=True):
    mod = importlib.import_module(modname)
    for name, obj in vars(mod).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != modname:
            continue
        if inspect.isfunction(obj):
            yield f"{modname}.{name}", obj
        elif inspect.isclass(obj) and with_methods:
            for attr, member in vars(obj).items():
                if attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__")):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                elif isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member) and member.__module__ == modname:
                    yield f"{modname}.{name}.{attr}", member


def test_the_checked_modules_have_public_functions():
    # guards the test below against checking nothing (a renamed module, a moved class)
    names = {n for m in ANNOTATED for n, _ in _public_functions(m)}
    for expected in ("tapegrad.nn.modules.Linear.__init__", "tapegrad.nn.modules.Module.parameters",
                     "tapegrad.optim.sgd.SGD.step", "tapegrad._replay.compile",
                     "tapegrad._replay.Tape.forward", "tapegrad.serialization.save",
                     "tapegrad.reference._functions.exp", "tapegrad._dtype.promote_types"):
        assert expected in names
    factories = {n for m in ANNOTATED_FUNCTIONS_ONLY for n, _ in _public_functions(m, False)}
    assert "tapegrad.reference._tensor.zeros" in factories


@pytest.mark.parametrize("modname", ANNOTATED + ANNOTATED_FUNCTIONS_ONLY)
def test_public_functions_are_annotated(modname):
    members = _public_functions(modname, modname not in ANNOTATED_FUNCTIONS_ONLY)
    lacking = {name: miss for name, fn in members for miss in [_unannotated(fn)] if miss}
    assert lacking == {}


# ------------------------------------------------------------------ the stub vs the runtime

_STUB = ast.parse(open(os.path.join(PKG, "_engine.pyi")).read())


@pytest.fixture(scope="module")
def engine():
    return pytest.importorskip("tapegrad._engine")


def _stub_params(fn):
    """[(name, kind, default)] of a stub def, kind in P (positional or keyword),
    O (positional only), * , K (keyword only), **; default '<req>' or the literal."""
    a = fn.args
    lit = lambda d: "<req>" if d is None else ast.literal_eval(d)
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    out = [(p.arg, "O" if p in a.posonlyargs else "P", lit(d)) for p, d in zip(pos, defaults)]
    if a.vararg:
        out.append((a.vararg.arg, "*", "<req>"))
    out += [(p.arg, "K", lit(d)) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append((a.kwarg.arg, "**", "<req>"))
    return out


_KINDS = {inspect.Parameter.POSITIONAL_ONLY: "O", inspect.Parameter.POSITIONAL_OR_KEYWORD: "P",
          inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.KEYWORD_ONLY: "K",
          inspect.Parameter.VAR_KEYWORD: "**"}


def _runtime_params(obj):
    out = []
    for p in inspect.signature(obj).parameters.values():
        d = p.default
        if d is p.empty or type(d) is object:      # a private "not given" sentinel: required
            d = "<req>"
        out.append((p.name, _KINDS[p.kind], d))
    return out


def _is_property(fn):
    return any(ast.unparse(d) == "property" or ast.unparse(d).endswith((".setter", ".deleter"))
               for d in fn.decorator_list)


def _is_overload(fn):
    return any(ast.unparse(d) == "overload" for d in fn.decorator_list)


def _stub_defs(engine):
    """(qualified name, stub def, runtime object) for every function and non-dunder,
    non-property method the stub declares."""
    for node in _STUB.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, node, getattr(engine, node.name, None)
        elif isinstance(node, ast.ClassDef) and node.name in ("Tensor", "Value"):
            cls = getattr(engine, node.name)
            for m in node.body:
                if (isinstance(m, ast.FunctionDef) and not _is_property(m)
                        and not m.name.startswith("__")):
                    yield f"{node.name}.{m.name}", m, getattr(cls, m.name, None)


def test_stub_signatures_match_the_runtime(engine):
    checked, wrong = 0, {}
    for name, fn, obj in _stub_defs(engine):
        assert obj is not None, f"_engine.pyi declares {name}, the module has no such thing"
        runtime = _runtime_params(obj)
        stub = _stub_params(fn)
        if stub and stub[0][0] in ("self", "cls"):
            stub, runtime = stub[1:], runtime[1:]
        if _is_overload(fn):
            # an overload narrows the runtime signature: its parameters are runtime
            # parameters (same name and kind), in order
            names = [p[:2] for p in runtime]
            ok = all(p[:2] in names for p in stub) and \
                [names.index(p[:2]) for p in stub] == sorted(names.index(p[:2]) for p in stub)
            if not ok:
                wrong[name] = (stub, runtime)
        elif stub != runtime:
            wrong[name] = (stub, runtime)
        checked += 1
    assert wrong == {}
    assert checked > 100


def test_stub_declares_every_public_method(engine):
    for node in _STUB.body:
        if isinstance(node, ast.ClassDef) and node.name in ("Tensor", "Value"):
            declared = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
            public = {n for n in dir(getattr(engine, node.name)) if not n.startswith("_")}
            assert public - declared == set(), node.name
