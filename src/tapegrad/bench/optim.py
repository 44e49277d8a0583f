"""The adamw workload (issue 12): ``optimizer.step()`` of ``AdamW`` over the mlp
workload's parameters (Linear 32->64, Linear 64->10: 2826 float32 elements in 4
tensors), the gradients of one backward kept for every step. It times the
optimizer alone: tapegrad's update loops in C against torch's single-tensor path
(its CPU default), per-parameter Python overhead included."""

from __future__ import annotations

import builtins

from . import timing
from .settings import FULL, MLP_LR, SEED
from .tensor import mlp_setup
from .timing import Case, gc_mode, median


def adamw_case(api, steps=FULL.mlp_steps, gc_off=False, warmup_steps=10):
    """One engine's adamw workload. ``run()`` makes a fresh model and optimizer and
    times ``steps`` steps: ``{"us_per_step", "check"}`` (check: each parameter's
    norms after the run)."""
    nn, optim = api.nn, api.optim
    x, y, make_model = mlp_setup(api, SEED)

    def train(n):
        model = make_model()
        nn.MSELoss()(model(x), y).backward()
        opt = optim.AdamW(model.parameters(), lr=MLP_LR)
        now = timing.now
        with gc_mode(gc_off):
            t0 = now()
            for _ in range(n):
                opt.step()
            dt = now() - t0
        return model, dt

    def warmup():
        if warmup_steps:
            train(warmup_steps)

    def run():
        model, dt = train(steps)
        return {"us_per_step": dt * 1e6 / builtins.max(1, steps), "check": _norms(model)}

    return Case(warmup, run)


def _norms(model):
    """The L1 and L2 norms of each parameter, in float64 (no cancellation: equal
    parameters give equal figures whatever the engine's own summation order)."""
    import numpy as np

    out = []
    for p in model.parameters():
        a = np.asarray(p.detach().numpy(), dtype=np.float64)
        out += [float(np.abs(a).sum()), float(np.sqrt((a * a).sum()))]
    return out


def adamw_summary(runs, steps):
    ordered = sorted(runs, key=lambda r: r["us_per_step"])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    mid["us_per_step"] = median([r["us_per_step"] for r in runs])
    mid["runs_us"] = [r["us_per_step"] for r in runs]
    mid["steps"] = steps
    return mid
