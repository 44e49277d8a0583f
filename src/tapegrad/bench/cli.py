"""Command line of the benchmark (``python -m tapegrad bench``, and the
scripts in the repository's benchmarks/ folder, which add their targets)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional, Sequence, Union

from . import plot
from .report import Annotator, format_table
from .runner import run
from .settings import ALL_ENGINES, ALL_WORKLOADS, FULL, QUICK, BenchConfig
from .timing import CLOCKS


def add_arguments(parser: argparse.ArgumentParser,
                  default_workloads: Sequence[str] = ALL_WORKLOADS) -> argparse.ArgumentParser:
    parser.add_argument("--quick", action="store_true",
                        help="short run: %(chain_ops)d-op chain x %(chain_repeats)d, "
                             "%(demo_steps)d demo steps x %(demo_repeats)d, overhead blocks "
                             "of %(op_block_s)g s x %(op_repeats)d, %(mlp_steps)d mlp steps x "
                             "%(mlp_repeats)d, %(matmul_steps)d matmul steps x "
                             "%(matmul_repeats)d, %(demo_replay_steps)d demo-replay steps x "
                             "%(demo_replay_repeats)d" % QUICK.as_dict())
    parser.add_argument("--engines", default=",".join(ALL_ENGINES),
                        help="comma-separated subset of %s (default: all; missing peers "
                             "are left out)" % ",".join(ALL_ENGINES))
    parser.add_argument("--workloads", default=",".join(default_workloads),
                        help="comma-separated subset of %s (default: %s)"
                        % (",".join(ALL_WORKLOADS), ",".join(default_workloads)))
    parser.add_argument("--chain-ops", type=int, default=None,
                        help="ops in the chain (default %d)" % FULL.chain_ops)
    parser.add_argument("--chain-repeats", type=int, default=None,
                        help="timed chain runs per engine (default %d)" % FULL.chain_repeats)
    parser.add_argument("--demo-steps", type=int, default=None,
                        help="training steps per demo run (default %d)" % FULL.demo_steps)
    parser.add_argument("--demo-repeats", type=int, default=None,
                        help="demo runs per engine (default %d)" % FULL.demo_repeats)
    parser.add_argument("--peer-demo-repeats", type=int, default=None,
                        help="demo runs for micrograd (default %d)" % FULL.peer_demo_repeats)
    parser.add_argument("--peer-demo-warmup", type=int, default=None,
                        help="untimed demo steps before micrograd's runs (default %d, %d with "
                             "--quick)" % (FULL.peer_demo_warmup, QUICK.peer_demo_warmup))
    parser.add_argument("--op-block-s", type=float, default=None,
                        help="seconds per timed overhead block (default %g)" % FULL.op_block_s)
    parser.add_argument("--op-repeats", type=int, default=None,
                        help="timed overhead blocks (default %d)" % FULL.op_repeats)
    parser.add_argument("--higher-steps", type=int, default=None,
                        help="pinn steps / hvp products per run (default %d)"
                        % FULL.higher_steps)
    parser.add_argument("--higher-repeats", type=int, default=None,
                        help="pinn / hvp runs per engine (default %d)" % FULL.higher_repeats)
    parser.add_argument("--mlp-steps", type=int, default=None,
                        help="training steps per mlp run (default %d)" % FULL.mlp_steps)
    parser.add_argument("--mlp-repeats", type=int, default=None,
                        help="mlp runs per engine (default %d)" % FULL.mlp_repeats)
    parser.add_argument("--matmul-n", type=int, default=None,
                        help="matrix size of the matmul workload (default %d)" % FULL.matmul_n)
    parser.add_argument("--matmul-steps", type=int, default=None,
                        help="steps per matmul run (default %d)" % FULL.matmul_steps)
    parser.add_argument("--matmul-repeats", type=int, default=None,
                        help="matmul runs per engine (default %d)" % FULL.matmul_repeats)
    parser.add_argument("--randn-n", type=int, default=None,
                        help="values per randn call (default %d)" % FULL.randn_n)
    parser.add_argument("--randn-repeats", type=int, default=None,
                        help="randn runs per engine (default %d)" % FULL.randn_repeats)
    parser.add_argument("--demo-replay-steps", type=int, default=None,
                        help="training steps per demo-replay run, the replay's recording "
                             "first call included (default %d)" % FULL.demo_replay_steps)
    parser.add_argument("--demo-replay-repeats", type=int, default=None,
                        help="demo-replay runs for the compiled engine (default %d; the "
                             "reference and micrograd get --peer-demo-repeats)"
                             % FULL.demo_replay_repeats)
    parser.add_argument("--lstm-steps", type=int, default=None,
                        help="training steps per char-lstm run (default %d)" % FULL.lstm_steps)
    parser.add_argument("--lstm-repeats", type=int, default=None,
                        help="char-lstm runs per engine (default %d)" % FULL.lstm_repeats)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads for numpy, the compiled engine (SciPy's OpenBLAS) "
                             "and torch (default: $OPENBLAS_NUM_THREADS if set, else 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="what to time: wall time (default) or the CPU time of the "
                             "calling thread, less disturbed by other processes")
    parser.add_argument("--gc-off-all", action="store_true",
                        help="also time tapegrad's engines with gc disabled")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as JSON to PATH (or to stdout instead of "
                             "the table when no PATH is given)")
    parser.add_argument("--plot", default=None, metavar="FILE",
                        help="also draw the table to FILE (.svg or .png): per workload, the "
                             "time of each engine and peer on a log scale with its ratio to "
                             "the compiled engine (needs matplotlib: tapegrad[plot])")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress (with the time left) on stderr")
    return parser


def _single_threaded_blas():
    """Keep BLAS thread pools at one thread unless the user chose otherwise: set
    before numpy's import when possible (``python -m tapegrad`` imports numpy
    first; ``run()`` then also sets the count through each library)."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def _default_blas_threads():
    try:
        return max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    except ValueError:
        return 1


def config_from_args(args: argparse.Namespace) -> Union[BenchConfig, str]:
    """The ``BenchConfig`` of parsed arguments, or an error message."""
    sizes = QUICK if args.quick else FULL
    sizes = sizes.replace(**{k: getattr(args, k) for k in sizes.as_dict()
                             if getattr(args, k) is not None})
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for e in engines:
        if e not in ALL_ENGINES:
            return "unknown engine %r (choose from %s)\n" % (e, ",".join(ALL_ENGINES))
    for w in workloads:
        if w not in ALL_WORKLOADS:
            return "unknown workload %r (choose from %s)\n" % (w, ",".join(ALL_WORKLOADS))
    blas = args.blas_threads if args.blas_threads else _default_blas_threads()
    return BenchConfig(engines=tuple(engines), workloads=tuple(workloads), sizes=sizes,
                       gc_off_all=args.gc_off_all, blas=blas, clock=args.clock)


def main_from_args(args: argparse.Namespace, command: Optional[str] = None,
                   annotator: Optional[Annotator] = None) -> int:
    """Run the bench for parsed arguments and print the table (or the JSON).
    ``annotator``: a ``report.Annotator`` adding notes to the table. Returns the
    exit status: 1 if the compiled engine was asked for and is missing, if a
    workload failed or if a check failed, 2 for a bad argument."""
    _single_threaded_blas()
    config = config_from_args(args)
    if isinstance(config, str):
        sys.stderr.write(config)
        return 2
    if args.plot:
        bad = plot.check(args.plot)
        if bad:
            sys.stderr.write(bad)
            return 2
    t0 = time.time()
    progress = None if args.quiet else (lambda m: (sys.stderr.write(
        "[%6.1fs] %s\n" % (time.time() - t0, m)), sys.stderr.flush()))
    report = run(config, progress=progress)
    report["config"]["wall_s"] = round(time.time() - t0, 1)
    report["config"]["command"] = command or " ".join(sys.argv)
    if args.json and args.json != "-":
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.json == "-":
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_table(report, annotator))
    if args.plot:
        plot.write_plot(report, args.plot)
    if "c" in config.engines and "c" in report["missing"]:
        return 1
    if any(why.startswith("failed") for why in report["missing"].values()):
        return 1
    if any(not c["ok"] for c in report["checks"]):
        return 1
    return 0


def main(argv: Optional[List[str]] = None, prog: Optional[str] = None,
         default_workloads: Sequence[str] = ALL_WORKLOADS,
         annotator: Optional[Annotator] = None) -> int:
    """``python -m tapegrad bench [options]``: parse ``argv`` and run."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Time tapegrad's compiled engine against the pure-Python "
        "reference and, where installed, micrograd, PyTorch and numpy by hand.")
    add_arguments(parser, default_workloads)
    if argv is None:
        argv = sys.argv[1:]
    command = " ".join([prog or os.path.basename(sys.argv[0])] + list(argv))
    return main_from_args(parser.parse_args(argv), command, annotator)
