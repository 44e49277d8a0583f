"""The README's "Higher-order gradients" PINN example (issue 13): it runs, prints
the loss its comment states, and that loss is torch's for the same program (same
weights, u'' from two nested autograd.grad(create_graph=True), 200 Adam steps)."""
import contextlib
import io
import math
import os
import re

import numpy as np
import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "README.md")


def _pinn_block():
    if not os.path.exists(README):
        return None
    with open(README, encoding="utf-8") as f:
        text = f.read()
    section = text.split("### Higher-order gradients", 1)[-1].split("\n### ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "pinn_loss" in b]
    return blocks[0] if blocks else None


def _torch_loss(torch):
    """The README's program, written for torch."""
    rs = np.random.RandomState(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rs.uniform(-1, 1, tuple(p.shape))))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.tensor(np.linspace(0, 1, 64).reshape(-1, 1), requires_grad=True)
    source = torch.tensor(math.pi ** 2 * np.sin(math.pi * x.detach().numpy()))
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    for _ in range(200):
        opt.zero_grad()
        u = model(x)
        (du,) = torch.autograd.grad(u.sum(), [x], create_graph=True)
        (d2u,) = torch.autograd.grad(du.sum(), [x], create_graph=True)
        residual = d2u + source
        ub = model(ends)
        loss = (residual * residual).mean() + (ub * ub).sum()
        loss.backward()
        opt.step()
    return loss.item()


@pytest.mark.skipif(_pinn_block() is None, reason="README.md is not beside these tests")
def test_readme_pinn_prints_torchs_loss(torch):
    code = _pinn_block()
    stated = re.search(r"^print\(f\"\{loss\.item\(\):\.4f\}\"\)\s+#\s*([0-9.]+)", code, re.M)
    assert stated is not None, "the PINN example prints its loss with the value in a comment"
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README PINN example", "exec"), namespace)
    printed = out.getvalue().split()
    assert printed == [stated.group(1)]
    mine = namespace["loss"].item()
    theirs = _torch_loss(torch)
    assert mine == pytest.approx(theirs, rel=1e-6)
    assert f"{theirs:.4f}" == stated.group(1)
    assert theirs < 0.1                  # it trained: the loss starts near 40
