#!/usr/bin/env python
"""Import cost (issue 11 target: ``import tapegrad`` plus the first matmul in a fresh
process <= 0.3 s). Each of --runs fresh interpreters times, with perf_counter,
``import tapegrad`` and then its first float32 matmul (which loads SciPy's BLAS);
prints the medians of wall time and of the process's CPU time (the figure to trust on
a loaded machine). The interpreter's own start-up (site, .pth files) is not counted.

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
t0, c0 = time.perf_counter(), time.process_time()
import tapegrad
t1, c1 = time.perf_counter(), time.process_time()
a = tapegrad.ones(3, 3)
(a @ a).sum().item()
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps([t1 - t0, t2 - t1, c1 - c0, c2 - c1]))
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
    for clock, k in (("wall", 0), ("cpu", 2)):
        imp = statistics.median(r[k] for r in runs)
        mm = statistics.median(r[k + 1] for r in runs)
        tot = statistics.median(r[k] + r[k + 1] for r in runs)
        print(f"{clock:4s}: import tapegrad {imp * 1e3:6.1f} ms, first matmul {mm * 1e3:6.1f} ms, "
              f"together {tot * 1e3:6.1f} ms (median of {args.runs}; target <= 300 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
