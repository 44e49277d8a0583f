"""The machine a benchmark runs on: BLAS thread counts (the same number for
numpy, the compiled engine and torch) and the environment the report shows."""

import gc
import os
import platform
import sys


_OPENBLAS_API = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _openblas_libs():
    """``[(label, get, set)]`` for every OpenBLAS loaded in this process.

    Linux only (reads /proc/self/maps); elsewhere the environment variables set
    before numpy's import are all there is. OPENBLAS_NUM_THREADS is read once,
    when a library loads, and ``import tapegrad`` already imports numpy, so the
    bench also sets the count through each library's own API.
    """
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f
                            if "openblas" in line.lower() and "/" in line})
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _OPENBLAS_API:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get_fn, set_fn = getattr(lib, get_name), getattr(lib, set_name)
                get_fn.restype = ctypes.c_int
                set_fn.argtypes = [ctypes.c_int]
                set_fn.restype = None
                parts = path.split(os.sep)
                owner = next((p[:-len(".libs")] for p in parts if p.endswith(".libs")),
                             os.path.basename(path))
                out.append((owner, get_fn, set_fn))
                break
    return out


def blas_threads(threads=None):
    """Set (if ``threads``) and report the thread count of every loaded BLAS:
    ``{"numpy": n, "scipy": n, "torch": n}`` (scipy's OpenBLAS is the one the
    compiled engine's matmul calls; torch only once it has been imported)."""
    info = {}
    for owner, get_fn, set_fn in _openblas_libs():
        if threads:
            set_fn(threads)
        info[owner] = int(get_fn())
    torch = sys.modules.get("torch")
    if torch is not None:
        if threads:
            torch.set_num_threads(threads)
        info["torch"] = int(torch.get_num_threads())
    return info


def load_blas_libraries():
    """Load the BLAS libraries the tensor workloads use, so that their threads
    can be set before anything is timed."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        pass
    try:  # the compiled engine's matmul calls SciPy's BLAS, loaded on first use
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass


def environment():
    from .._version import __version__
    info = {
        "tapegrad": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
        "gc_enabled": gc.isenabled(),
        "loadavg": loadavg(),
        "gc_threshold": list(gc.get_threshold()),
        "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                           "OMP_NUM_THREADS", "TAPEGRAD_PURE_PYTHON")
                if k in os.environ},
    }
    try:
        import numpy
        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""

