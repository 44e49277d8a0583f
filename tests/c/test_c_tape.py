"""The C tape on its own: compile csrc/test_tg_tape.c against csrc/tg_tape.c and run it.

Needs the source tree and a C compiler; skipped when run against an installed
wheel without them (the engine itself is tested through Python everywhere).
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CSRC = os.path.join(ROOT, "csrc")


@pytest.mark.skipif(not os.path.exists(os.path.join(CSRC, "test_tg_tape.c")),
                    reason="the C sources are not beside these tests")
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_c_tape_unit_tests(tmp_path):
    exe = str(tmp_path / "test_tg_tape")
    build = subprocess.run(
        ["cc", "-std=c99", "-O1", "-g", "-Wall", "-Werror", "-I", CSRC,
         os.path.join(CSRC, "test_tg_tape.c"), os.path.join(CSRC, "tg_tape.c"),
         os.path.join(CSRC, "tg_tensor.c"),
         "-o", exe, "-lm"],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "all checks passed" in run.stdout
