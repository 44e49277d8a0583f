"""The README's Python examples run and print what their comments say."""
import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "README.md")


def _blocks():
    if not os.path.exists(README):
        return []
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.mark.skipif(not _blocks(), reason="README.md is not beside these tests")
@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example(index):
    code = _blocks()[index]
    # print(...) lines followed by "# expected" comments: the expected text starts the output
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*?\)\s+#\s*(.+)$", code, re.M)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {index}", "exec"), {})
    printed = out.getvalue().splitlines()
    for want, got in zip(expected, printed):
        text = re.split(r",? i\.e\.|,? the ", want)[0].strip()
        assert got.startswith(text), (want, got)
    assert len(printed) >= len(expected)
