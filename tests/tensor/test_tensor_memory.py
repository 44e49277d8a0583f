"""Tensor memory: a training-style loop over 512x512 float32 tensors holds at most a few
steps' worth of buffers (DESIGN.md: reclaim by bytes held, as PyTorch frees each buffer
the moment nothing needs it). Runs on a fresh thread, so on a fresh tape."""

import gc

import numpy as np
import pytest

from _util import rss_bytes, run_in_fresh_thread

MB = 1 << 20
N = 512
BUF = N * N * 4          # one 512x512 float32 buffer: 1 MiB
STEPS = 200
WARMUP = 20


def _loop(engine):
    rng = np.random.default_rng(0)
    a = engine.tensor((rng.standard_normal((N, N)) / N).astype(np.float32),
                      requires_grad=True)
    b = engine.tensor((rng.standard_normal((N, N))).astype(np.float32))
    lr = 1e-3
    rss = []
    losses = []
    for step in range(STEPS):
        # elementwise 512x512 work: a 512^3 matmul per step would make this test take
        # seconds (BLAS on a busy machine) without telling more about memory
        loss = (a * b).relu().sum()
        loss.backward()
        with engine.no_grad():
            a -= lr * a.grad
        a.grad = None
        losses.append(loss.item())
        if step >= WARMUP - 1:
            rss.append(rss_bytes())
    return rss, losses


@pytest.mark.memory_growth
def test_512x512_loop_holds_a_few_steps_of_buffers(engine):
    gc.collect()
    rss, losses = run_in_fresh_thread(_loop, engine)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    if rss[0] is None:
        return
    growth = max(rss) - rss[0]
    # each step makes ~5 buffers (a*b, relu, their grads, a's grad, the update): a loop that kept every
    # step's buffers would grow by ~1 GB here; allow a few steps' worth
    assert growth < 24 * BUF, (
        f"RSS grew by {growth / MB:.0f} MiB over {STEPS - WARMUP} steps of 512x512 "
        f"float32 work (first {rss[0] / MB:.0f} MiB, last {rss[-1] / MB:.0f} MiB, "
        f"max {max(rss) / MB:.0f} MiB)")
