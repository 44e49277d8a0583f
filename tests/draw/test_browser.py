"""The SVG of seed 001's tensor example in a real browser (issue 14, item 6): an HTML
page holding it, opened in headless Chromium; the screenshot is not blank and the
SVG's text nodes are in the DOM, laid out. Skipped only where Chromium is absent
(CI installs it: .ci/run)."""

import json
import os
import re
import struct
import subprocess
import zlib

import numpy as np
import pytest

import tapegrad
import _pictures as P

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>tapegrad seed 001</title>
<style>svg {{ max-width: 100%; height: auto; }}</style></head>
<body style="margin:0;background:#ffffff">
{svg}
<pre id="report"></pre>
<script>
const texts = [...document.querySelectorAll("svg text")];
document.getElementById("report").textContent = JSON.stringify(
    texts.map(t => [t.textContent, t.getBBox().width]));
</script>
</body></html>
"""


def _chromium(*args):
    exe = P.chromium_path()
    P.require(exe is not None, "Chromium (apt-get install chromium)")
    env = {k: v for k, v in os.environ.items()              # not under the ASan preload
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")}
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--force-device-scale-factor=1", *args],
                          capture_output=True, timeout=120, env=env)


def read_png(data):
    """An 8-bit RGB or RGBA PNG (as Chromium writes them) as an array (h, w, channels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * bpp)
    out = np.zeros((h, w * bpp), np.int32)
    prev = np.zeros(w * bpp, np.int32)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 2:
            line = (line + prev) & 255
        elif kind in (1, 3, 4):
            line = _unfilter(kind, line.tolist(), prev.tolist(), bpp)
        out[y] = line
        prev = out[y]
    return out.reshape(h, w, bpp)


def _unfilter(kind, line, prev, bpp):
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            x = a
        elif kind == 3:
            x = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            x = a if pa <= pb and pa <= pc else b if pb <= pc else c
        line[i] = (line[i] + x) & 255
    return np.array(line, np.int32)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    P.require_graphviz()
    root, params, names = P.seed001_vector(tapegrad)
    svg = tapegrad.draw(root, params, names)._repr_svg_()
    path = tmp_path_factory.mktemp("browser") / "seed001.html"
    path.write_text(PAGE.format(svg=svg[svg.index("<svg"):]), encoding="utf-8")
    return path


def test_screenshot_is_not_blank(page):
    shot = page.with_name("shot.png")
    proc = _chromium("--window-size=900,300", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), proc.stderr.decode(errors="replace")[-2000:]
    pixels = read_png(shot.read_bytes())[:, :, :3]
    assert pixels.shape[:2] == (300, 900)
    not_white = (pixels < 250).any(axis=2)
    assert not_white.mean() > 0.01                       # text, boxes and arrows
    colors = {tuple(c) for c in pixels.reshape(-1, 3)[::7]}
    assert (0xcd, 0xec, 0xcd) in colors and (0xf9, 0xd3, 0xcf) in colors   # param, root fills


def test_svg_text_nodes_are_in_the_dom(page):
    proc = _chromium("--dump-dom", page.as_uri())
    dom = proc.stdout.decode("utf-8")
    report = re.search(r'<pre id="report">(.*?)</pre>', dom, re.S)
    assert report, proc.stderr.decode(errors="replace")[-2000:]
    texts = json.loads(report.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    shown = dict(texts)
    for text in ("w (param)", "data [1, 1, 2]", "grad [16, 24, 8]", "DotBackward0", "data 7",
                 "loss (root)", "PowBackward0", "data 16", "∂y_hat/∂w = [2, 3, 1]"):
        assert shown.get(text, 0) > 0, (text, texts)      # present and laid out
