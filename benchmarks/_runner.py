"""What the benchmark scripts share: find tapegrad (installed, or this
checkout's src/) and hand the arguments to ``tapegrad.bench``, with the
targets of targets.py marked in the table."""

import os
import sys


def _engines_arg(argv):
    for i, arg in enumerate(argv):
        if arg == "--engines" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--engines="):
            return arg.split("=", 1)[1]
    return None


def run(prog, workloads, argv=None):
    """Run ``tapegrad.bench`` with ``workloads`` (the name of its default list, e.g.
    "SCALAR_WORKLOADS") and the targets of targets.py."""
    argv = list(sys.argv[1:] if argv is None else argv)
    engines = _engines_arg(argv)
    if engines is not None and "c" not in [e.strip() for e in engines.split(",")]:
        # `import tapegrad` needs the compiled engine unless told otherwise; the
        # benchmark imports each engine explicitly.
        os.environ.setdefault("TAPEGRAD_PURE_PYTHON", "1")
    try:
        import tapegrad  # noqa: F401
    except ImportError:
        # Running from a checkout without an install: use its src/ directory.
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.normpath(os.path.join(here, os.pardir, "src")))
    from tapegrad import bench
    from targets import Targets

    return bench.main(argv, prog=prog, default_workloads=getattr(bench, workloads),
                      annotator=Targets())
