"""The figures each issue asked for, marked "met" / "MISSED" in the table the
benchmark scripts print (``Targets``, a ``tapegrad.bench.report.Annotator``).

They belong to this repository's history, not to the shipped package:
``python -m tapegrad bench`` prints the same table without these notes.
"""

from tapegrad.bench.report import Annotator, ratio

# The figures issue 2 asks for (compiled engine), and its rule for the reference.
TARGETS = {
    ("chain", "build"): 40.0,     # ns per op
    ("chain", "backward"): 8.0,   # ns per node
    ("demo", "step"): 6.0,        # ms per step
    # issue 3 (compiled engine)
    ("overhead", "n=1"): 2.0,     # us per iteration
    ("overhead", "n=8"): 2.0,     # us per iteration
    ("mlp", "step"): 80.0,        # us per step
}
# Targets relative to a peer: workload -> (peer label, largest ratio c / peer).
TARGET_RATIOS = {
    "matmul": ("numpy", 1.15),
    "mnist": ("torch", 1.1),       # issue 11: BLAS-bound, at most 1.1x torch eager
}
# Targets of the replay (its issue), for rows other than plain "c":
# (workload, phase, label) -> largest value.
LABEL_TARGETS = {
    ("demo-replay", "step ops", "c replay"): 1.0,    # ms per step
    ("mlp-replay", "step", "c replay"): 40.0,        # us per step
}
# (workload, phase, label) -> (other phase, other label, "faster" or "at most", k):
# the row must be k times faster than the other row, or at most k times its time.
RELATIVE_TARGETS = {
    ("demo-replay", "step ops", "c replay"): ("step ops", "micrograd gc off", "faster", 100.0),
    ("mlp-replay", "step", "c replay"): ("step", "torch", "faster", 4.0),
    ("chain-replay", "backward", "c replay"): ("forward", "c replay", "at most", 3.0),
    # issue 13: gradients of gradients against torch eager
    ("pinn", "step", "c"): ("step", "torch", "faster", 3.0),
    ("pinn", "step", "c replay"): ("step", "torch", "faster", 3.1),      # jax.jit's ratio
    ("hvp", "step", "c"): ("step", "torch", "faster", 3.0),
    ("hvp", "step", "c replay"): ("step", "torch", "faster", 6.0),
    # issue 11: the makemore MLP step eager
    ("makemore", "step", "c"): ("step", "torch", "faster", 3.0),
    # issue 16: the char-LSTM step against torch eager (whose nn.LSTM is fused)
    ("char-lstm", "step", "c"): ("step", "torch", "faster", 1.5),
    ("char-lstm", "step", "c replay"): ("step", "torch", "faster", 4.0),
    # issue 12 item 9: the makemore part-3 step (BatchNorm1d) against torch eager
    ("makemore3", "step", "c"): ("step", "torch", "faster", 3.0),
    ("makemore3", "step", "c replay"): ("step", "torch", "faster", 5.0),
}


def target_note(r, values):
    """The row's targets, met or missed (None if it has none)."""
    key = (r["workload"], r["phase"])
    notes = []
    tgt = LABEL_TARGETS.get(key + (r["label"],))
    if tgt is not None:
        notes.append("target <= %g %s: %s" % (tgt, r["unit"].split("/")[0],
                                              "met" if r["value"] <= tgt else "MISSED"))
    rel = RELATIVE_TARGETS.get(key + (r["label"],))
    if rel is not None:
        phase, other, how, k = rel
        base = values.get((r["workload"], phase, other))
        if base and r["value"]:
            if how == "faster":
                notes.append("%s faster than %s (target >= %gx): %s" % (
                    ratio(base / r["value"]), other, k,
                    "met" if base >= k * r["value"] else "MISSED"))
            else:
                notes.append("%s / %s %s (target <= %gx): %s" % (
                    r["phase"], phase, ratio(r["value"] / base), k,
                    "met" if r["value"] <= k * base else "MISSED"))
    if notes:
        return "; ".join(notes)
    if r["label"] != "c":
        return None
    if key in TARGETS:
        tgt = TARGETS[key]
        return "target <= %g %s: %s" % (tgt, r["unit"], "met" if r["value"] <= tgt else "MISSED")
    if r["workload"] in TARGET_RATIOS:
        peer, limit = TARGET_RATIOS[r["workload"]]
        base = values.get(key + (peer,))
        if base:
            return "target <= %gx %s: %s" % (limit, peer, "met" if r["value"] <= limit * base
                                             else "MISSED")
    return None


def summary_lines(values):
    """Issue 2's rule for the reference: its demo step no slower than micrograd's."""
    if values.get(("demo", "step", "reference")) and values.get(("demo", "step", "micrograd")):
        ok = values[("demo", "step", "reference")] <= values[("demo", "step", "micrograd")]
        return ["target: reference demo step no slower than micrograd: %s"
                % ("met" if ok else "MISSED")]
    return []


class Targets(Annotator):
    """The table's notes with the targets: ``tapegrad.bench.main(..., annotator=Targets())``."""

    def row_note(self, r, values):
        return target_note(r, values)

    def summary_lines(self, values):
        return summary_lines(values)
