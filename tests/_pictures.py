"""Helpers of the picture tests (tests/draw): the seeds' graphs, the rendering
prerequisites, and the text of a rendered SVG."""

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

REQUIRED = os.environ.get("TAPEGRAD_REQUIRE_DRAW", "") == "1"   # set by .ci/run


def require(ok, what):
    """Skip when what is missing; with TAPEGRAD_REQUIRE_DRAW=1 (CI) fail instead."""
    if ok:
        return
    if REQUIRED:
        pytest.fail(f"TAPEGRAD_REQUIRE_DRAW=1 but {what} is missing", pytrace=False)
    pytest.skip(f"{what} is missing")


def require_graphviz():
    try:
        import graphviz  # noqa: F401
        have = True
    except ImportError:
        have = False
    require(have, 'the graphviz Python package (pip install "tapegrad[draw]")')
    require(shutil.which("dot") is not None, "Graphviz's dot program (apt-get install graphviz)")


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def svg_text(svg):
    """The text of every <text> element of an SVG (entities decoded), one per line."""
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


# ---------------------------------------------------------------------------- seed graphs
# Each returns (root, params, names) after backward(), built on engine M.

def seed000_values(M):
    """seed 000: loss = (x*w - y)**2 at x = 1, w = 1, y = 2, on Values."""
    x, w, y = M.Value(1.0), M.Value(1.0), M.Value(2.0)
    y_hat = x * w
    s = y_hat - y
    loss = s ** 2
    loss.backward()
    return loss, {"w": w}, {"x": x, "y": y, "ŷ": y_hat, "s": s, "loss": loss}


def seed000_tensors(M):
    """seed 000, In18: w = Variable(Tensor([1.0])), l = (x*w - y) * (x*w - y) at x=1, y=2."""
    w = M.tensor([1.0], requires_grad=True)
    y_pred = 1.0 * w
    l = (y_pred - 2.0) * (y_pred - 2.0)
    l.backward()
    return l, {"w": w}, {"y_pred": y_pred, "l": l}


def seed001_scalar(M):
    """seed 001, In5/In6: 0-d tensors, y_hat = w * x, loss = (y_hat - y)**2."""
    x, y = M.tensor(1.0), M.tensor(2.0)
    w = M.tensor(1.0, requires_grad=True)
    y_hat = w * x
    loss = (y_hat - y) ** 2
    loss.backward()
    return loss, {"w": w}, {"y_hat": y_hat, "loss": loss}


def seed001_vector(M):
    """seed 001, In30-In32: y_hat = w @ x, loss = (y_hat - y)**2; w.grad = [16, 24, 8]."""
    x = M.tensor([2.0, 3.0, 1.0])
    w = M.tensor([1.0, 1.0, 2.0], requires_grad=True)
    y = M.tensor(3.0)
    y_hat = w @ x
    loss = (y_hat - y) ** 2
    loss.backward()
    return loss, {"w": w}, {"y_hat": y_hat, "loss": loss}


def seed003_poly(M):
    """seed 003, In27-In30: y = 3x**2 + 4x + 2 at x = 3: y = 41, dy/dx = 22."""
    x = M.tensor(3.0, requires_grad=True)
    y = 3 * x ** 2 + 4 * x + 2
    y.backward()
    return y, {"x": x}, {"y": y}


def seed003_chain(M):
    """seed 003, In34/In35: y = 2x + 3, z = y**2, out = z.mean() at x = [1, 2, 3]."""
    x = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2 + 3
    z = y ** 2
    out = z.mean()
    out.backward()
    return out, {"x": x}, {"y": y, "z": z, "out": out}


def subprocess_env():
    """This environment with src/ importable (when tapegrad is not installed)."""
    import tapegrad
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.abspath(tapegrad.__file__)))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env
