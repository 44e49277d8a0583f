"""tapegrad's API fuzzer: hostile calls on both engines, compared case by case.

Each case (see fuzz_cases.py) runs on the compiled engine and on the reference
engine in a child process. A case fails when the engines disagree (one raises and
the other does not, they raise different exception types, or both succeed with
different results). The child writes each case to a file before it runs it, so a
crash or a hang of the child is reported with the case that caused it; the parent
then restarts the child after that case. After the last case both engines must
still be healthy: a small training step gives the same gradients, bit for bit, as
before the fuzzing, and the engines agree with each other.

    python tests/fuzz/fuzz_api.py                     # the CI run (TAPEGRAD_FUZZ_* below)
    python tests/fuzz/fuzz_api.py --cases 20000 --seconds 1200 --random   # a long local run
    python tests/fuzz/fuzz_api.py --replay "<case>"   # one case, in this process
    python tests/fuzz/fuzz_api.py --torch ...         # also show torch's outcome

TAPEGRAD_FUZZ_CASES (default 1500) and TAPEGRAD_FUZZ_SECONDS (default 90) bound the
run; TAPEGRAD_FUZZ_SEED picks another (still deterministic) sequence of cases. Cases
are drawn by hypothesis, derandomized unless --random.
"""

import argparse
import faulthandler
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import types
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SRC = os.path.join(os.path.dirname(TESTS), "src")
for _p in (HERE, TESTS):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import fuzz_cases  # noqa: E402

CASE_TIMEOUT = 30.0          # seconds one case may take before it counts as a hang
MAX_RESTARTS = 20            # crashes / hangs after which the parent gives up


def ci_limits():
    """(cases, seconds, seed) of a CI run, from the environment."""
    return (int(os.environ.get("TAPEGRAD_FUZZ_CASES", "1500")),
            float(os.environ.get("TAPEGRAD_FUZZ_SECONDS", "90")),
            int(os.environ.get("TAPEGRAD_FUZZ_SEED", "0")))


# ---------------------------------------------------------------------------- the APIs

def apis(with_torch=False):
    """The APIs a case runs on: the compiled engine, the reference (and torch)."""
    if os.path.isdir(SRC) and SRC not in sys.path:
        import importlib.util
        if importlib.util.find_spec("tapegrad") is None:
            sys.path.insert(0, SRC)
    import tapegrad
    from tapegrad import _replay

    from _tensors import libs_for
    from _util import load_engine

    out = []
    for name in ("c", "python"):
        M = load_engine(name)
        libs = libs_for(M)
        out.append(types.SimpleNamespace(
            name=name, M=M, nn=libs.nn, F=libs.F, optim=libs.optim, autograd=libs.autograd,
            replay=_replay.api_for(M), save=tapegrad.save, load=tapegrad.load))
    if with_torch:
        import torch
        out.append(types.SimpleNamespace(
            name="torch", M=torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim,
            autograd=torch.autograd, replay=None, save=torch.save, load=torch.load))
    return out


# ---------------------------------------------------------------------------- outcomes

def summarize(r, depth=0):
    """A comparable picture of a result: tensors as (dtype, shape, requires_grad, values)."""
    if depth > 4:
        return ("deep",)
    if hasattr(r, "shape") and hasattr(r, "dtype") and hasattr(r, "detach"):
        a = np.array(r.detach().numpy(), copy=True)
        return ("tensor", str(r.dtype).split(".")[-1], tuple(r.shape),
                bool(getattr(r, "requires_grad", False)), a)
    if isinstance(r, (list, tuple)):
        return (type(r).__name__ if not hasattr(r, "_fields") else "tuple",
                tuple(summarize(x, depth + 1) for x in r))
    if isinstance(r, dict):
        return ("dict", tuple((k, summarize(v, depth + 1)) for k, v in sorted(r.items())))
    if isinstance(r, str):   # an object's address ("at 0x7f..") differs run to run
        return ("py", "str", re.sub(r"0x[0-9a-fA-F]+", "0x?", r))
    if isinstance(r, (bool, int, float, type(None))):
        return ("py", type(r).__name__, r)
    if isinstance(r, np.ndarray):
        return ("ndarray", r.dtype.str, r.shape, r)
    if type(r).__name__ == "Value":
        return ("Value", r.data)
    if type(r).__name__ == "Size" or isinstance(r, tuple):
        return ("py", "tuple", tuple(r))
    return ("object", type(r).__name__)


def same_summary(a, b, values):
    """Whether two summaries agree (values only when ``values``)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not values:
            return True
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind == "f":
            tol = 1e-5 if a.dtype == np.float32 else 1e-12
            return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return not values or (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_summary(x, y, values) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def outcome(A, case):
    """("ok", summary) or ("raise", exception type name, message) or ("n/a",)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fuzz_cases.run_op(A, case)
            return ("ok", summarize(r))
        except fuzz_cases.NotApplicable:
            return ("n/a",)
        except Exception as exc:
            return ("raise", exception_name(type(exc)), str(exc)[:300])


def exception_name(t):
    """The exception class's real name (tapegrad's dual RuntimeError/TypeError classes
    disguise their __qualname__ as "RuntimeError"), with its module when not a builtin."""
    mod = getattr(t, "__module__", "builtins")
    return t.__name__ if mod == "builtins" else f"{mod}.{t.__name__}"


def disagreement(case, outcomes):
    """None when the engines agree on ``case``, else what differs."""
    c, p = outcomes["c"], outcomes["python"]
    if c[0] == "n/a" or p[0] == "n/a":
        return None
    if c[0] != p[0]:
        return "one raises, the other does not"
    if c[0] == "raise":
        return None if c[1] == p[1] else "different exception types"
    if not same_summary(c[1], p[1], not fuzz_cases.random_values(case)):
        return "different results"
    return None


def describe(o):
    if o[0] == "raise":
        return f"{o[1]}: {o[2]}"
    if o[0] == "ok":
        return "ok " + repr(o[1])[:200]
    return o[0]


# ---------------------------------------------------------------------------- health

def health_step(A):
    """Gradients of a small fixed training step (linear, tanh, mse) on API A."""
    rng = np.random.default_rng(1234)
    x = A.M.from_numpy(rng.standard_normal((5, 3)).astype(np.float64))
    y = A.M.from_numpy(rng.standard_normal((5, 2)).astype(np.float64))
    w = A.M.from_numpy(rng.standard_normal((3, 2)).astype(np.float64)).requires_grad_(True)
    b = A.M.from_numpy(rng.standard_normal(2).astype(np.float64)).requires_grad_(True)
    loss = A.F.mse_loss(A.F.linear(x, w.t(), b).tanh(), y)
    loss.backward()
    return [np.array(loss.detach().numpy()), np.array(w.grad.numpy()), np.array(b.grad.numpy())]


def health_problems(all_apis, before):
    """What is wrong with the engines' training step now (an empty list: healthy)."""
    problems = []
    now = {}
    for A in all_apis[:2]:
        try:
            now[A.name] = health_step(A)
        except Exception as exc:
            problems.append(f"{A.name}: the training step raises {type(exc).__name__}: {exc}")
            continue
        if not all(np.array_equal(a, b) for a, b in zip(now[A.name], before[A.name])):
            problems.append(f"{A.name}: the training step's gradients changed: "
                            f"{now[A.name]} != {before[A.name]}")
    if len(now) == 2 and not all(np.allclose(a, b, rtol=1e-12, atol=1e-15)
                                 for a, b in zip(now["c"], now["python"])):
        problems.append(f"the engines' gradients differ: {now['c']} != {now['python']}")
    return problems


# ---------------------------------------------------------------------------- the child

def _without_project_constants():
    """Hypothesis (6.13x+) mixes integer/float/string literals harvested from the loaded
    project modules into what it draws, so any new constant anywhere in tapegrad (a
    struct offset, a threshold) changed the whole case sequence and the disagreement
    count with it. The sequence depends on fuzz_cases alone without them."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:         # pragma: no cover - an older Hypothesis has no harvest
        return
    if hasattr(providers, "_get_local_constants"):
        empty = type(providers._local_constants)()
        providers._get_local_constants = lambda: empty


def child(out_dir, cases, seconds, seed, start, derandomize, with_torch):
    """Run cases start.. of the sequence; write each to out_dir/current first and each
    disagreement to out_dir/results.jsonl; a last line {"done": ...}."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hyp_seed

    _without_project_constants()
    all_apis = apis(with_torch)
    before = {A.name: health_step(A) for A in all_apis[:2]}
    results = open(os.path.join(out_dir, "results.jsonl"), "a")
    current = os.path.join(out_dir, "current")
    deadline = time.monotonic() + seconds
    state = {"index": 0, "ran": 0}

    @hyp_seed(seed)
    @settings(max_examples=cases, derandomize=derandomize, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(fuzz_cases.cases())
    def body(case):
        i = state["index"]
        state["index"] += 1
        if i < start or time.monotonic() > deadline:
            return
        with open(current, "w") as f:
            f.write(f"{i}\t{case!r}\n")
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
        outcomes = {A.name: outcome(A, case) for A in all_apis}
        faulthandler.cancel_dump_traceback_later()
        state["ran"] += 1
        why = disagreement(case, outcomes)
        if why:
            results.write(json.dumps({"index": i, "case": repr(case), "why": why, "outcomes": {
                k: describe(o) for k, o in outcomes.items()}}) + "\n")
            results.flush()

    body()
    problems = health_problems(all_apis, before)
    results.write(json.dumps({"done": True, "ran": state["ran"], "next": state["index"],
                              "health": problems}) + "\n")
    results.close()


# ---------------------------------------------------------------------------- the parent

def run(cases, seconds, seed=0, derandomize=True, with_torch=False, log=print):
    """Fuzz in a child process (restarted after a crash or hang); returns a dict with
    ``ran`` (cases run), ``disagreements``, ``crashes`` (case and how the child died),
    ``health`` (problems after the run) and ``seconds``."""
    t0 = time.monotonic()
    report = {"ran": 0, "disagreements": [], "crashes": [], "health": []}
    with tempfile.TemporaryDirectory(prefix="tapegrad-fuzz-") as out_dir:
        start, restarts = 0, 0
        while True:
            left = seconds - (time.monotonic() - t0)
            if left <= 0:
                break
            done = _run_child(out_dir, cases, left, seed, start, derandomize, with_torch,
                              report)
            if done is not None or restarts >= MAX_RESTARTS:
                break
            restarts += 1
            start = report["crashes"][-1]["index"] + 1
    report["seconds"] = time.monotonic() - t0
    log(f"fuzz: {report['ran']} cases on both engines in {report['seconds']:.1f} s: "
        f"{len(report['disagreements'])} disagreements, {len(report['crashes'])} crashes/hangs"
        f"{', unhealthy afterwards' if report['health'] else ''}")
    return report


def _run_child(out_dir, cases, seconds, seed, start, derandomize, with_torch, report):
    """One child run from case ``start``; adds to report; the done record or None."""
    results = os.path.join(out_dir, "results.jsonl")
    open(results, "w").close()
    cmd = [sys.executable, os.path.abspath(__file__), "--child", out_dir, "--cases", str(cases),
           "--seconds", str(seconds), "--seed", str(seed), "--start", str(start)]
    cmd += [] if derandomize else ["--random"]
    cmd += ["--torch"] if with_torch else []
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=seconds + 2 * CASE_TIMEOUT + 60)
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, err = "timeout", (exc.stderr or b"").decode("utf-8", "replace") \
            if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    done = None
    with open(results) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("done"):
                done = rec
            else:
                report["disagreements"].append(rec)
    if done is not None and rc == 0:
        report["ran"] += done["ran"]
        report["health"] = done["health"]
        return done
    index, case = _current(out_dir)
    report["ran"] += max(0, index - start)
    how = "hang" if (rc == "timeout" or "Timeout (" in err) else f"exit status {rc}"
    report["crashes"].append({"index": index, "case": case, "how": how, "stderr": err[-3000:]})
    return None


def _current(out_dir):
    try:
        with open(os.path.join(out_dir, "current")) as f:
            index, case = f.read().rstrip("\n").split("\t", 1)
            return int(index), case
    except (OSError, ValueError):
        return -1, "(before the first case)"


def format_report(report, limit=40):
    """The report's failures as text, each with the command that reproduces it."""
    lines = []
    for c in report["crashes"]:
        lines.append(f"CRASH ({c['how']}) on case {c['index']}: {c['case']}\n"
                     f"  reproduce: python tests/fuzz/fuzz_api.py --replay \"{c['case']}\"\n"
                     f"  stderr tail:\n{c['stderr'][-1500:]}")
    for d in report["disagreements"][:limit]:
        lines.append(f"DISAGREE ({d['why']}) on case {d['index']}: {d['case']}\n" + "".join(
            f"  {k}: {v}\n" for k, v in d["outcomes"].items()))
    if len(report["disagreements"]) > limit:
        lines.append(f"... and {len(report['disagreements']) - limit} more disagreements")
    lines += [f"UNHEALTHY: {p}" for p in report["health"]]
    return "\n".join(lines)


def replay(text, with_torch):
    """Run one printed case in this process and show each API's outcome."""
    case = fuzz_cases.parse_case(text)
    all_apis = apis(with_torch)
    outcomes = {A.name: outcome(A, case) for A in all_apis}
    for k, o in outcomes.items():
        print(f"{k}: {describe(o)}")
    print("disagreement:", disagreement(case, outcomes))


def main(argv=None):
    cases, seconds, seed = ci_limits()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=cases)
    p.add_argument("--seconds", type=float, default=seconds)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--random", action="store_true", help="not derandomized (a local run)")
    p.add_argument("--torch", action="store_true", help="also run torch, to show its outcome")
    p.add_argument("--replay", metavar="CASE")
    p.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    a = p.parse_args(argv)
    if a.replay:
        return replay(a.replay, a.torch)
    if a.child:
        return child(a.child, a.cases, a.seconds, a.seed, a.start, not a.random, a.torch)
    report = run(a.cases, a.seconds, a.seed, not a.random, a.torch)
    print(format_report(report, limit=10 ** 6))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if report["disagreements"] or report["crashes"] or report["health"] else 0


if __name__ == "__main__":
    sys.exit(main())
