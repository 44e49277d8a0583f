"""The randn workload: drawing ``randn(n)`` float32 (torch's stream, issue 11) from a
seeded generator, tapegrad vs torch, as calls per second of the same draw."""

from __future__ import annotations

import hashlib

import numpy as np

from . import timing
from .settings import SEED


def randn_case(api, n, draws=5):
    """A Case timing ``draws`` calls of ``api.T.randn(n)`` after seeding; its check is a
    digest of the first draw's bytes (equal digests: the engines drew the same numbers)."""
    T = api.T
    first = {}

    def run():
        T.manual_seed(SEED)
        t0 = timing.now()
        for _ in range(draws):
            x = T.randn(n)
        ms = (timing.now() - t0) * 1e3 / draws
        if "digest" not in first:
            T.manual_seed(SEED)
            first["digest"] = hashlib.sha1(np.asarray(T.randn(n).numpy()).tobytes()).hexdigest()
        del x
        return {"ms": ms}

    def warmup():
        T.randn(min(n, 1000))

    case = timing.Case(warmup, run)
    case.first = first
    return case


def randn_summary(case, runs, n):
    ms = [r["ms"] for r in runs]
    med = timing.median(ms)
    return {"ms_per_call": med, "runs_ms": ms, "n": n,
            "mvalues_per_s": n / med / 1e3, "check": case.first.get("digest", "")[:12]}
