"""SciPy's BLAS for the compiled engine's matrix products, loaded without scipy.linalg.

``from scipy.linalg import cython_blas`` runs ``scipy.linalg/__init__`` first, which
imports most of SciPy (0.2 s on an idle machine, ~1 s under load) before the first
matmul. The ``cython_blas`` extension itself needs only ``scipy``'s top level, so it
is loaded from its file directly (about a tenth of the time); an installation where
that fails falls back to the ordinary import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from typing import Any, Dict

_NAME = "scipy.linalg.cython_blas"


def _load_direct() -> Any:
    module = sys.modules.get(_NAME)
    if module is not None:
        return module
    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        raise ImportError("scipy is not installed")
    folder = os.path.join(os.path.dirname(spec.origin), "linalg")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "cython_blas" + suffix)
        if os.path.exists(path):
            loader = importlib.machinery.ExtensionFileLoader(_NAME, path)
            file_spec = importlib.util.spec_from_file_location(_NAME, path, loader=loader)
            assert file_spec is not None
            module = importlib.util.module_from_spec(file_spec)
            loader.exec_module(module)
            sys.modules.setdefault(_NAME, module)
            return module
    raise ImportError(f"no cython_blas extension in {folder}")


def cython_blas_capi() -> Dict[str, Any]:
    """The capsules of scipy.linalg.cython_blas (``sgemm``, ``dgemm``, ...)."""
    try:
        module = _load_direct()
    except Exception:        # any layout this does not know: the documented import
        try:
            module = importlib.import_module(_NAME)
        except ImportError as exc:
            raise ImportError("tapegrad's matrix products need SciPy's BLAS: "
                              "pip install scipy") from exc
    capi: Dict[str, Any] = module.__pyx_capi__
    return capi
