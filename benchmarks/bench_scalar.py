#!/usr/bin/env python
"""Scalar-engine benchmarks: tapegrad's compiled engine vs the pure-Python
reference, and micrograd / PyTorch where installed.

A thin wrapper over ``tapegrad._bench`` (the same code as ``python -m tapegrad
bench``) that runs the scalar workloads (chain, demo) by default; the tensor
ones are in bench_tensor.py. Examples::

    python benchmarks/bench_scalar.py                 # full run (a few minutes)
    python benchmarks/bench_scalar.py --quick         # short run
    python benchmarks/bench_scalar.py --chain-ops 1000000 --chain-repeats 3 --workloads chain
    python benchmarks/bench_scalar.py --engines reference,micrograd   # no compiled engine needed
    python benchmarks/bench_scalar.py --json results.json             # table + JSON file

See benchmarks/README.md for what each workload measures.
"""

import os
import sys


def _engines_arg(argv):
    for i, arg in enumerate(argv):
        if arg == "--engines" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--engines="):
            return arg.split("=", 1)[1]
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    engines = _engines_arg(argv)
    if engines is not None and "c" not in [e.strip() for e in engines.split(",")]:
        # `import tapegrad` needs the compiled engine unless told otherwise; the
        # benchmark imports each engine explicitly, so this only allows the
        # import to succeed when the compiled engine is not wanted.
        os.environ.setdefault("TAPEGRAD_PURE_PYTHON", "1")
    try:
        import tapegrad  # noqa: F401
    except ImportError:
        # Running from a checkout without an install: use its src/ directory.
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.normpath(os.path.join(here, os.pardir, "src")))
    from tapegrad import _bench

    return _bench.main(argv, prog="python benchmarks/bench_scalar.py",
                       default_workloads=_bench.SCALAR_WORKLOADS)


if __name__ == "__main__":
    sys.exit(main())
