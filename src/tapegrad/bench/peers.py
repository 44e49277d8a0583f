"""The engines a benchmark runs: tapegrad's two (compiled and reference) and
the peers found installed (micrograd, PyTorch, numpy by hand), each as a
``Row`` of the table."""

import builtins
import math
import os
import random
import types

from .settings import ALL_ENGINES, ENGINE_WORKLOADS


class Row(object):
    """One engine as a row of the table: the engine object and the gc mode."""

    def __init__(self, key, label, engine, gc_off=False, workloads=None,
                 version="", path="", tensor=None):
        self.key = key
        self.label = label
        self.engine = engine          # scalar API (chain, demo)
        self.tensor = tensor          # tensor API: namespace(T, nn, optim) (overhead, mlp, matmul)
        self.gc_off = gc_off
        if workloads is None:
            workloads = ENGINE_WORKLOADS.get(key, ENGINE_WORKLOADS.get(key.split("-")[0], ()))
        self.workloads = workloads
        self.version = version
        self.path = path


def replay_row(row):
    """The row of ``row``'s engine replayed: label "c replay" ("c replay gc off")."""
    import copy
    out = copy.copy(row)
    out.label = row.key + " replay" + (" gc off" if row.gc_off else "")
    return out


def _micrograd_engine():
    import micrograd
    from micrograd import engine as mg_engine
    from micrograd import nn as mg_nn

    MgValue = mg_engine.Value
    if not hasattr(MgValue, "tanh"):
        # micrograd 0.1.0 on PyPI has no tanh; this is the one from its lecture,
        # in its own style (a closure per node), with math.tanh for the value.
        def tanh(self):
            t = math.tanh(self.data)
            out = MgValue(t, (self,), "tanh")

            def _backward():
                self.grad += (1 - t ** 2) * out.grad
            out._backward = _backward
            return out
        MgValue.tanh = tanh

    def make_mlp(nin, nouts, seed):
        # micrograd.nn draws from the global `random`: seed it like the demo, then
        # restore the caller's state. Same sequence as random.Random(seed).
        state = random.getstate()
        random.seed(seed)
        try:
            return mg_nn.MLP(nin, list(nouts))
        finally:
            random.setstate(state)

    eng = types.SimpleNamespace(
        Value=MgValue, sum=builtins.sum, dot=None, make_mlp=make_mlp,
        recursive_backward=True, ENGINE="micrograd")
    return eng, _dist_version("micrograd"), os.path.dirname(micrograd.__file__)


def torch_engine(threads=None):
    import torch

    if threads:
        torch.set_num_threads(threads)

    def Value(x):
        return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)

    eng = types.SimpleNamespace(Value=Value, sum=None, dot=None, ENGINE="torch")
    tensor = types.SimpleNamespace(T=torch, nn=torch.nn, optim=torch.optim)
    return eng, tensor, torch.__version__, os.path.dirname(torch.__file__)


def tapegrad_tensor_api(engine):
    """The tensor workloads' view of a tapegrad engine: the engine's own nn and
    optim (``tapegrad.nn``/``tapegrad.optim`` when it is the active engine)."""
    from .. import _api, _backend, nn, optim, reference

    if engine.ENGINE == "python":
        engine_nn = reference.nn
    elif engine.ENGINE == _backend.default_engine().ENGINE:
        engine_nn = nn
    else:   # the compiled engine under TAPEGRAD_PURE_PYTHON=1: its layers bound to it
        engine_nn = types.SimpleNamespace(functional=nn.functional, **{
            name: (_backend.bind_class(obj, engine, engine.__name__ + ".nn")
                   if isinstance(obj, type) and issubclass(obj, nn.Module) else obj)
            for name, obj in ((n, getattr(nn, n)) for n in _api.NN)})
    return types.SimpleNamespace(T=engine, nn=engine_nn, optim=optim)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return ""


def load_rows(engines=ALL_ENGINES, gc_off_all=False):
    """The rows to run, in order, and ``{name: reason}`` for engines not available.

    Peers (micrograd, numpy) are imported only here; torch is imported by
    ``run()`` after the others have run, so that importing it does not change
    the heap the other engines are timed with.
    """
    rows, missing = [], {}
    for name in engines:
        if name == "c":
            try:
                from .. import _engine
            except Exception as exc:
                missing["c"] = "compiled engine not importable (%s: %s); build it with "\
                    "`pip install -e .`" % (type(exc).__name__, exc)
                continue
            modes = (False, True) if gc_off_all else (False,)
            for off in modes:
                rows.append(Row("c", "c" + (" gc off" if off else ""), _engine, off,
                                path=getattr(_engine, "__file__", ""),
                                tensor=tapegrad_tensor_api(_engine)))
        elif name == "reference":
            from .. import reference
            modes = (False, True) if gc_off_all else (False,)
            for off in modes:
                rows.append(Row("reference", "reference" + (" gc off" if off else ""),
                                reference, off,
                                path=os.path.dirname(getattr(reference, "__file__", "")),
                                tensor=tapegrad_tensor_api(reference)))
        elif name == "micrograd":
            try:
                eng, ver, path = _micrograd_engine()
            except ImportError as exc:
                missing["micrograd"] = "not installed (pip install micrograd==0.1.0): %s" % exc
                continue
            rows.append(Row("micrograd", "micrograd", eng, False, version=ver, path=path))
            rows.append(Row("micrograd-gcoff", "micrograd gc off", eng, True,
                            version=ver, path=path))
        elif name == "numpy":
            try:
                import numpy
            except ImportError as exc:
                missing["numpy"] = "not installed: %s" % exc
                continue
            rows.append(Row("numpy", "numpy", None, False, version=numpy.__version__,
                            path=os.path.dirname(numpy.__file__)))
        elif name == "torch":
            pass  # imported lazily by run(), after the others
        else:
            raise ValueError("unknown engine %r (choose from %s)" % (name, ", ".join(ALL_ENGINES)))
    return rows, missing


