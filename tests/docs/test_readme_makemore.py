"""The README's makemore example (issue 11, done means) prints torch's numbers: the
block is run as written (tapegrad, both engines) and with torch in tapegrad's place,
and the two outputs must be the same text (but for the Size's module name)."""

import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "README.md")


def _makemore_block():
    if not os.path.exists(README):
        return None
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    found = [b for b in blocks if "C[X]" in b and "cross_entropy" in b and "Generator" in b]
    return found[0] if found else None


def _run(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README makemore block", "exec"), {})
    return out.getvalue()


@pytest.mark.skipif(_makemore_block() is None, reason="README.md is not beside these tests")
def test_readme_makemore_example_prints_torchs_numbers(engine, torch):
    code = _makemore_block()
    as_torch = code.replace("import tapegrad as torch", "import torch").replace(
        "tapegrad.nn.functional", "torch.nn.functional")
    assert as_torch != code and "import tapegrad" not in as_torch
    want = _run(as_torch)
    if engine.ENGINE == "python":       # the block imports tapegrad: point it at the engine
        code = code.replace("import tapegrad as torch", "import tapegrad.reference as torch")
        code = code.replace("import tapegrad.nn.functional as F",
                            "import tapegrad.reference.nn.functional as F")
    got = _run(code)
    assert got.replace("tapegrad.", "torch.") == want
    assert re.search(r"\[3\.\d{4}, ", got)       # the losses were printed
