"""The benchmark harness (``tapegrad.bench``, ``python -m tapegrad bench``):
the command line on a tiny workload set, the table's layout, the targets kept
out of the package (benchmarks/targets.py adds them), and the size rule."""

import ast
import json
import os
import re
import subprocess
import sys

import pytest

import tapegrad
from tapegrad import bench
from tapegrad.bench import report, settings

PKG = os.path.dirname(os.path.abspath(bench.__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCHMARKS = os.path.join(ROOT, "benchmarks")   # absent where only tests/ is copied (wheels)
TINY = ["--engines", "c,reference", "--workloads", "chain,chain-replay", "--chain-ops", "400",
        "--chain-repeats", "1", "--clock", "cpu", "-q"]


def _run_cli(*args):
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def table():
    proc = _run_cli("-m", "tapegrad", "bench", *TINY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def _rows(lines):
    """The table's rows: (workload phase, engine) of every line between the
    dashes under the header and the first line of ratios in words."""
    start = next(i for i, line in enumerate(lines) if line.startswith("workload "))
    rows = []
    for line in lines[start + 2:]:
        if " vs " in line:
            break
        if line:
            rows.append(line)
    return lines[start], lines[start + 1], rows


def test_cli_prints_the_table(table):
    assert table[0].startswith("tapegrad %s benchmark: Python " % tapegrad.__version__)
    assert table[1] == ("chain: 400 ops, median of 1 runs after 2 warm-up runs; chain backward "
                        "subnormal: from (x0, y) = (0.5, 0.7), gradients subnormal; c flush: "
                        "set_flush_denormal(True), runs interleaved with c's")
    assert table[2] == ("chain-replay: 400 ops recorded once, forward and backward timed "
                        "apart, median of 1 after 2 warm-up")
    assert "clock: CPU time of the calling thread (time.thread_time; --clock cpu)" in table
    header, dashes, rows = _rows(table)
    names = ["workload", "engine", "figure", "time / c", "time / ref", "notes"]
    starts = [header.index(n) for n in names]
    assert starts == sorted(starts) and starts[0] == 0
    assert [c.strip() for c in header.split("  ") if c.strip()] == names
    assert set(dashes) == {"-", " "} and len(dashes.split()) == len(names)
    cells = [[r[a:b].strip() for a, b in zip(starts, starts[1:] + [None])] for r in rows]
    assert [c[:2] for c in cells] == [
        ["chain build", "c"], ["chain build", "reference"],
        ["chain backward", "c"], ["chain backward", "reference"],
        ["chain backward subnormal", "c"], ["chain backward subnormal", "c flush"],
        ["chain build relu", "c"], ["chain build relu", "plain floats"],
        ["chain-replay forward", "c replay"], ["chain-replay forward", "reference replay"],
        ["chain-replay backward", "c replay"], ["chain-replay backward", "reference replay"]]
    assert [c[2].split()[1] for c in cells] == \
        ["ns/op"] * 2 + ["ns/node"] * 4 + ["ns/op"] * 2 + ["ns/node"] * 4
    assert all(float(c[2].split()[0]) > 0 for c in cells)
    # time / c and time / ref: the compiled row is 1.00x of itself
    assert cells[0][3] == "1.00x" and cells[1][4] == "1.00x"
    assert cells[0][4].endswith("x") and cells[8][3] == cells[9][3] == ""
    assert cells[8][5].startswith("400 nodes; record ") and cells[9][5].startswith("400 nodes")
    assert cells[0][5] == cells[1][5] == ""
    assert cells[4][3] == "1.00x" and cells[5][3].endswith("x")    # flushed / kept
    # the floor: the relu chain on plain floats, and c's median ratio to it
    assert cells[6][3] == "1.00x" and cells[7][3].endswith("x") and cells[7][5] == ""
    assert re.fullmatch(r"\d+\.\d\dx plain floats \(median of 1 interleaved pairs\)", cells[6][5])
    assert any(line.startswith("c vs reference: chain build ") for line in table)
    assert any(line.startswith("c flush vs c: chain backward subnormal ") for line in table)
    assert "checks passed (relative differences):" in table
    assert not any("target" in line or "MISSED" in line for line in table)


def test_cli_json_has_the_config_keys():
    proc = _run_cli("-m", "tapegrad", "bench", *TINY, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    cfg = out["config"]
    assert list(cfg) == [
        "engines", "chain_ops", "chain_repeats", "demo_steps", "demo_repeats",
        "peer_demo_repeats", "peer_demo_warmup", "workloads", "seed", "n_samples", "noise",
        "op_block_s", "op_repeats", "op_sizes", "mlp_steps", "mlp_repeats", "mlp_shape",
        "mlp_lr", "matmul_n", "matmul_steps", "matmul_repeats", "randn_n", "randn_repeats",
        "blas_threads_requested",
        "loadavg_start", "clock", "demo_replay_steps", "demo_replay_repeats", "lstm_steps",
        "lstm_repeats", "wall_s", "command"]
    assert cfg["engines"] == ["c", "reference"] and cfg["chain_ops"] == 400
    assert cfg["workloads"] == ["chain", "chain-replay"] and cfg["clock"] == "cpu"
    assert [(r["workload"], r["phase"], r["label"]) for r in out["results"]] == [
        ("chain", "build", "c"), ("chain", "backward", "c"),
        ("chain", "build relu", "c"), ("chain", "build relu", "plain floats"),
        ("chain", "backward subnormal", "c"), ("chain", "backward subnormal", "c flush"),
        ("chain", "build", "reference"), ("chain", "backward", "reference"),
        ("chain-replay", "forward", "c replay"), ("chain-replay", "backward", "c replay"),
        ("chain-replay", "forward", "reference replay"),
        ("chain-replay", "backward", "reference replay")]
    assert all(c["ok"] for c in out["checks"]) and len(out["checks"]) == 3
    relu = out["results"][2]
    assert relu["check"][0] == relu["check"][1]       # Values and floats: the same result
    assert len(relu["ratios"]) == 1 and relu["ratios"][0] > 0
    assert out["missing"] == {}


def test_bad_workload_is_exit_status_2():
    proc = _run_cli("-m", "tapegrad", "bench", "--workloads", "nope", "-q")
    assert proc.returncode == 2
    assert "unknown workload 'nope'" in proc.stderr


def test_quick_sizes_and_config():
    cfg = bench.BenchConfig(workloads=["chain"], sizes=bench.QUICK.replace(chain_ops=10))
    j = cfg.as_json()
    assert j["chain_ops"] == 8 and j["workloads"] == ["chain"] and j["demo_steps"] == 3
    assert bench.FULL.chain_ops == 100_000 and bench.QUICK.chain_ops == 20_000


def _imports(path):
    names = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_package_does_not_import_benchmarks_or_hold_targets():
    files = [os.path.join(PKG, f) for f in sorted(os.listdir(PKG)) if f.endswith(".py")]
    assert len(files) >= 10
    for path in files:
        for name in _imports(path):
            assert not name.split(".")[-1].startswith(("benchmarks", "targets")), (path, name)
        text = open(path).read()
        assert "TARGETS" not in text and "MISSED" not in text, path
    # and at run time: importing the whole package loads nothing from benchmarks/
    code = ("import sys, tapegrad.bench, tapegrad.bench.cli; "
            "bad = [m for m, mod in sys.modules.items() if m.split('.')[0] in "
            "('benchmarks', 'targets', '_runner') or "
            "(getattr(mod, '__file__', None) or '').startswith(%r)]; "
            "assert not bad, bad; print('ok')" % BENCHMARKS)
    proc = _run_cli("-c", code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_functions_are_at_most_100_lines():
    for f in sorted(os.listdir(PKG)):
        if not f.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(PKG, f)).read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                assert n <= 100, "%s: %s is %d lines" % (f, node.name, n)


def _report(results):
    env = {"tapegrad": "x", "python": "3", "implementation": "CPython", "machine": "m",
           "cpu": "cpu", "cpus": 2, "loadavg": None}
    cfg = settings.BenchConfig(workloads=["chain"]).as_json()
    return {"env": env, "config": cfg, "results": results, "missing": {}, "checks": []}


def _result(phase, label, value, unit="ns/op"):
    return {"workload": "chain", "phase": phase, "engine": label, "label": label,
            "value": value, "unit": unit, "version": ""}


def test_annotator_adds_notes_and_lines():
    results = [_result("build", "c", 30.0), _result("build", "reference", 300.0),
               _result("backward", "c", 9.0, "ns/node"),
               _result("backward", "reference", 90.0, "ns/node")]

    class Mark(report.Annotator):
        def row_note(self, r, values):
            return "note %s %g" % (r["label"], values[("chain", r["phase"], "c")])

        def summary_lines(self, values):
            return ["summary line"]

    plain = report.format_table(_report(results)).splitlines()
    marked = report.format_table(_report(results), Mark()).splitlines()
    assert "c vs reference: chain build 10.0x faster, chain backward 10.0x faster" in plain
    assert marked[-1] == "summary line" and "summary line" not in plain
    row = next(line for line in marked if line.startswith("chain build") and " c " in line)
    assert row.endswith("note c 30")
    first = next(line for line in plain if line.startswith("chain build"))
    assert first.split()[-2:] == ["1.00x", "0.10x"]


@pytest.mark.skipif(not os.path.isdir(BENCHMARKS), reason="benchmarks/ is not beside tests/")
def test_benchmarks_targets_mark_met_and_missed():
    results = [_result("build", "c", 30.0), _result("build", "reference", 300.0),
               _result("backward", "c", 9.0, "ns/node"),
               _result("backward", "reference", 90.0, "ns/node")]
    sys.path.insert(0, BENCHMARKS)
    try:
        import targets
    finally:
        sys.path.remove(BENCHMARKS)
    lines = report.format_table(_report(results), targets.Targets()).splitlines()
    build = next(line for line in lines if line.startswith("chain build") and " c " in line)
    back = next(line for line in lines if line.startswith("chain backward") and " c " in line)
    assert build.endswith("target <= 40 ns/op: met")
    assert back.endswith("target <= 8 ns/node: MISSED")
    ref = next(line for line in lines if line.startswith("chain build") and "reference" in line)
    assert "target" not in ref
    demo = {("demo", "step", "reference"): 40.0, ("demo", "step", "micrograd"): 1000.0}
    assert targets.Targets().summary_lines(demo) == [
        "target: reference demo step no slower than micrograd: met"]
    demo[("demo", "step", "reference")] = 2000.0
    assert targets.Targets().summary_lines(demo) == [
        "target: reference demo step no slower than micrograd: MISSED"]


def test_plot_and_progress_with_time_left(tmp_path):
    """--plot FILE draws the table (issue 14, item 4); progress on stderr says how many
    runs have started and the time left, and stdout stays the table."""
    import _pictures
    try:
        import matplotlib  # noqa: F401
        have = True
    except ImportError:
        have = False
    _pictures.require(have, 'matplotlib (pip install "tapegrad[plot]")')
    path = tmp_path / "bench.svg"
    args = [a for a in TINY if a != "-q"]
    proc = _run_cli("-m", "tapegrad", "bench", *args, "--plot", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    progress = proc.stderr.splitlines()
    assert progress[0].endswith("] chain: c ...")           # nothing done yet: no estimate
    assert progress[-1].startswith("[") and " chain-replay: reference ...  [4/4, about " \
        in progress[-1] and progress[-1].endswith("s left]")
    # lines within the first run (the c chain and its subnormal rows) have no estimate yet
    second = next(i for i, line in enumerate(progress) if "  [2/4, about " in line)
    assert all("left]" not in line for line in progress[:second])
    assert all("left]" in line for line in progress[second:])
    assert proc.stdout.startswith("tapegrad ") and "left]" not in proc.stdout
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for title in ("chain build", "chain backward", "chain-replay forward", "1.00x c"):
        assert title in svg, title


def test_plot_refuses_other_formats_before_running(tmp_path):
    proc = _run_cli("-m", "tapegrad", "bench", *TINY, "--plot", str(tmp_path / "b.jpg"))
    assert proc.returncode == 2
    assert "the file must end in .svg or .png" in proc.stderr and proc.stdout == ""
