#!/usr/bin/env python
"""Import cost (issue 11 target: ``import tapegrad`` plus the first matmul in a fresh
process <= 0.3 s). Each of --runs fresh interpreters times, with perf_counter,
``import tapegrad`` and then its first float32 matmul (which loads SciPy's BLAS);
prints the medians. The interpreter's own start-up (site, .pth files) is not counted.

    python benchmarks/bench_import.py [--runs 7] [--pure]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = """
import json, time
t0 = time.perf_counter()
import tapegrad
t1 = time.perf_counter()
a = tapegrad.ones(3, 3)
(a @ a).sum().item()
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1]))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--pure", action="store_true", help="the reference engine")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.pure:
        env["TAPEGRAD_PURE_PYTHON"] = "1"
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True,
                                      text=True, env=env, check=True).stdout)
            for _ in range(args.runs)]
    imp = statistics.median(r[0] for r in runs)
    mm = statistics.median(r[1] for r in runs)
    tot = statistics.median(r[0] + r[1] for r in runs)
    print(f"import tapegrad {imp * 1e3:6.1f} ms, first matmul {mm * 1e3:6.1f} ms, "
          f"together {tot * 1e3:6.1f} ms (median of {args.runs}; target <= 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
