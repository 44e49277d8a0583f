"""Helpers shared by the test modules: engines, float comparison, RSS, threads."""

import importlib
import math
import os
import sys

ENGINE_MODULES = {"c": "tapegrad._engine", "python": "tapegrad.reference"}


def load_engine(name):
    """Import one engine module by its ``ENGINE`` name; import errors propagate
    (a missing compiled extension is an error of the test, never a skip)."""
    return importlib.import_module(ENGINE_MODULES[name])


def other_engine_name(name):
    return "python" if name == "c" else "c"



def same_float(a, b, rel=1e-12, abs_tol=0.0):
    """Equal within tolerance; nan equals nan; infinities must match exactly (with sign)."""
    a = float(a)
    b = float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def assert_same_float(actual, expected, rel=1e-12, abs_tol=0.0, what=""):
    assert same_float(actual, expected, rel=rel, abs_tol=abs_tol), (
        f"{what}: got {actual!r}, expected {expected!r} (rel={rel}, abs={abs_tol})")


def rss_bytes():
    """Current resident set size of this process in bytes, or None where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        pass
    try:  # peak RSS: still catches growth past the previous peak
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except (ImportError, AttributeError):  # pragma: no cover - Windows
        return None


def run_in_fresh_thread(fn, *args, timeout=300):
    """Run fn(*args) in a new thread (so on a new, empty tape); return its result or
    re-raise its exception here."""
    import threading

    box = {}

    def run():
        try:
            box["result"] = fn(*args)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"thread running {fn.__name__} did not finish in {timeout} s"
    if "error" in box:
        raise box["error"]
    return box.get("result")
