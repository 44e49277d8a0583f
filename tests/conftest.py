"""Shared fixtures: every test runs against both scalar engines.

The ``engine`` fixture is parametrized over ``"c"`` (the compiled
``tapegrad._engine``) and ``"python"`` (the pure-Python ``tapegrad.reference``).
A compiled extension that is missing or fails to import makes the ``[c]``
tests ERROR: it is never a skip.

Torch cross-checks use the ``torch`` fixture: skipped when torch is not
installed, unless ``TAPEGRAD_REQUIRE_TORCH=1``, in which case a missing torch
is a failure.
"""

import importlib.util
import os
import sys

import pytest

# Run from a checkout without an install: fall back to the src/ layout.
_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if importlib.util.find_spec("tapegrad") is None and os.path.isdir(_SRC):  # pragma: no cover
    sys.path.insert(0, _SRC)
# The helper modules (_util, _graphs) next to this file, whatever pytest's import mode.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from hypothesis import HealthCheck, settings  # noqa: E402

from _util import load_engine  # noqa: E402 - after the sys.path set-up above

def _under_address_sanitizer():
    """True when libasan is loaded in this process (CI's sanitizer pass preloads it)."""
    import ctypes

    try:
        return hasattr(ctypes.CDLL(None), "__asan_init")
    except OSError:  # pragma: no cover - platforms without dlopen(NULL)
        return False


UNDER_ASAN = _under_address_sanitizer()


def pytest_collection_modifyitems(config, items):
    if not UNDER_ASAN:
        return
    skip = pytest.mark.skip(reason="RSS growth is not measurable under AddressSanitizer: "
                                   "its allocator keeps freed memory in quarantine")
    for item in items:
        if item.get_closest_marker("memory_growth"):
            item.add_marker(skip)


settings.register_profile(
    "tapegrad",
    deadline=None,  # timings vary with the build and a loaded CI machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tapegrad"))


@pytest.fixture(scope="session", params=["c", "python"])
def engine(request):
    """The engine module under test: ``tapegrad._engine`` or ``tapegrad.reference``.

    Session scoped so that hypothesis tests may use it. An ImportError here
    is an error of every ``[c]`` test, by design.
    """
    return load_engine(request.param)


def require_torch():
    """Return the torch module, or skip; with TAPEGRAD_REQUIRE_TORCH=1 a missing torch fails."""
    if os.environ.get("TAPEGRAD_REQUIRE_TORCH", "") == "1":
        try:
            import torch
        except ImportError as exc:  # a hard failure, not a skip
            pytest.fail(f"TAPEGRAD_REQUIRE_TORCH=1 but torch cannot be imported: {exc!r}",
                        pytrace=False)
        return torch
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def torch():
    return require_torch()


@pytest.fixture
def libs(engine):
    """The engine's (nn, optim, autograd, F) modules: ``tapegrad.reference.nn`` etc. for
    the reference engine, ``tapegrad.nn`` etc. for the compiled one (see _tensors.py)."""
    from _tensors import libs_for

    return libs_for(engine)
