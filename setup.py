"""Build the compiled engine. Metadata lives in pyproject.toml.

Environment switches:
  TAPEGRAD_DEBUG_BUILD=1   bounds checks on, -O0 -g, assertions kept (for hunting bugs)
  TAPEGRAD_NATIVE=1        add -march=native (a copy tuned for this CPU; never for wheels)
  TAPEGRAD_SANITIZE=1      AddressSanitizer + UBSan, -O1 -g (CI's sanitizer pass; build it
                           into its own directory, see .ci/run, and run with libasan preloaded)
"""
import glob
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("TAPEGRAD_DEBUG_BUILD", "") not in ("", "0")
NATIVE = os.environ.get("TAPEGRAD_NATIVE", "") not in ("", "0")
SANITIZE = os.environ.get("TAPEGRAD_SANITIZE", "") not in ("", "0")

if sys.platform == "win32":
    compile_args = ["/Od", "/Zi"] if DEBUG else ["/O2"]
    link_args = ["/DEBUG"] if DEBUG else []
else:
    # Release: -g0 overrides the -g that many Pythons put in CFLAGS, so wheels
    # carry no debug info and no build-machine paths (the symbol table stays).
    compile_args = ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O3", "-g0"]
    # No fused multiply-add: results stay bit-identical to the pure-Python
    # reference on every CPU (aarch64 compilers fuse by default).
    compile_args.append("-ffp-contract=off")
    # FP operations never trap here, so branch-free selects may vectorise; values are
    # unchanged (this allows no reassociation, unlike -ffast-math).
    compile_args.append("-fno-trapping-math")
    if NATIVE and not DEBUG:
        compile_args.append("-march=native")
    link_args = ["-g"] if DEBUG else []
    if SANITIZE:
        # Any report aborts the process (no recovery), so a sanitizer finding fails CI.
        sanitizers = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
        compile_args += ["-O1", "-g", "-fno-omit-frame-pointer"] + sanitizers
        link_args += sanitizers

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,          # IEEE division by zero (inf/nan), as torch does
    "embedsignature": True,
}

extensions = [
    Extension(
        "tapegrad._engine",
        sources=["src/tapegrad/_engine.pyx", "csrc/tg_tape.c", "csrc/tg_tensor.c",
                 "csrc/tg_optim.c", "csrc/tg_replay.c", "csrc/tg_index.c",
                 "csrc/tg_math.c", "csrc/tg_higher.c", "csrc/tg_activation.c",
                 "csrc/tg_pyfunc.c", "csrc/tg_norm.c"],
        include_dirs=["csrc"],
        # a changed header rebuilds the C sources (setuptools tracks only the .c files)
        depends=sorted(glob.glob("csrc/*.h")),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[] if DEBUG else [("NDEBUG", "1")],
    ),
    # torch's random transforms (tapegrad._random uses them when built, numpy otherwise)
    Extension(
        "tapegrad._crandom",
        sources=["src/tapegrad/_crandom.pyx", "csrc/tg_random.c"],
        include_dirs=["csrc"],
        depends=["csrc/tg_random.h"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        libraries=[] if sys.platform == "win32" else ["m"],
        define_macros=[] if DEBUG else [("NDEBUG", "1")],
    ),
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
