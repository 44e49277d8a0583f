"""``import tapegrad`` stays light (issue 11 target: import plus the first matmul in
a fresh process within 0.3 s): it imports neither SciPy nor torch, and the first matmul
loads SciPy's BLAS without ``scipy.linalg`` (whose package import alone took most of
that budget). Checked by module names in a fresh interpreter, not by wall clock; the
figure is measured by ``python benchmarks/bench_import.py``."""

import json
import os
import subprocess
import sys

import tapegrad

# the tapegrad under test: the installed one in CI, src/ in a checkout
SRC = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))

PROBE = """
import json, sys
import tapegrad
after_import = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "torch"))
a = tapegrad.ones(3, 3)
(a @ a).sum().item()
after_matmul = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "torch"))
print(json.dumps([tapegrad.ENGINE, after_import, after_matmul]))
"""


def _probe(extra_env=None):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra_env or {})
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_tapegrad_imports_neither_scipy_nor_torch():
    engine, after_import, _ = _probe()
    assert engine == "c"
    assert after_import == []


def test_first_matmul_loads_blas_without_scipy_linalg():
    _, _, after_matmul = _probe()
    assert "scipy.linalg.cython_blas" in after_matmul
    assert "scipy.linalg" not in after_matmul, after_matmul
    assert not any(m.startswith("torch") for m in after_matmul)


def test_reference_engine_imports_neither():
    engine, after_import, after_matmul = _probe({"TAPEGRAD_PURE_PYTHON": "1"})
    assert engine == "python"
    assert after_import == [] and not any(m.startswith("torch") for m in after_matmul)


def test_blas_capsules_fall_back_to_the_package_import(monkeypatch):
    from tapegrad import _blas

    def fail():
        raise ImportError("simulated layout")
    monkeypatch.setattr(_blas, "_load_direct", fail)
    caps = _blas.cython_blas_capi()
    assert "sgemm" in caps and "dgemm" in caps
