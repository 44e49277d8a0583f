"""Do the engines compute the same numbers? The checks of a run's results:
each engine against the reference (or the compiled engine), matmul against
float64 numpy, and each replay against the same engine eager."""

import builtins
import math

from .settings import HIGHER_WORKLOADS, REPLAY_WORKLOADS


def rel(a, b):
    """The relative difference of a and b (0 when equal)."""
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# Tolerances of the checks (relative differences).
CHECK_RTOL = {
    "chain": 1e-9,      # float64, same ops in the same order
    "demo": 1e-6,       # float64, 100 steps
    "overhead": 1e-6,   # float32 values that are exact
    "mlp": 1e-4,        # float32, different BLAS and summation orders over the run
    "matmul": 1e-4,     # the float32 sum s; the gradients must be exact
    "adamw": 1e-5,      # float32 parameters' norms; torch's gradients come from its BLAS
    "makemore": 1e-4,   # float32 losses from the same weights (different BLAS orders)
    "mnist": 1e-4,      # float32 loss after the run, from the same weights
    "char-lstm": 1e-4,  # float32 losses of the first 5 steps and the last, same weights
    "makemore3": 1e-4,  # float32, batch norm between the layers
    # replay workloads, eager rows and peers against the reference's eager row
    "demo-replay": 1e-6,
    "mlp-replay": 1e-4,
    "pinn": 1e-3,       # float32, two nested gradients, BLAS and tanh differ from torch's
    "hvp": 1e-4,        # float32: sum of |H v|
}
# A replay against the same engine eager: the same operations on the same numbers.
REPLAY_RTOL = {
    "demo-replay": 1e-12,   # float64: the loss at every step and after the last update
    "mlp-replay": 1e-6,     # float32: the loss after the last update
    "chain-replay": 1e-12,  # float64: the result and both gradients
    "pinn": 1e-6,           # float32: the loss after the last update
    "hvp": 1e-4,            # float32: sum of |H v| (replay: H v by a double backward)
}


def run_checks(results):
    """Do the engines compute the same numbers? Compared with the reference
    (with the compiled engine if the reference did not run); matmul's
    gradients are compared with float64 numpy."""
    out = []
    by = {}
    for r in results:
        by[(r["workload"], r["phase"], r["label"])] = r
    labels = [r["label"] for r in results]
    for r in results:
        w = r["workload"]
        if w in REPLAY_WORKLOADS or w in HIGHER_WORKLOADS:
            continue
        if w == "matmul":
            c = r["check"]
            d = c["s_rel_err"]
            out.append({"what": "matmul s and gradients", "engine": r["label"],
                        "vs": "float64 numpy", "max_rel_diff": d,
                        "grad_max_abs_err": c["grad_max_abs_err"],
                        "ok": d <= CHECK_RTOL[w] and c["grad_max_abs_err"] == 0})
            continue
        base_label = next((b for b in ("reference", "c") if b in labels
                           and (w, r["phase"], b) in by), None)
        if base_label is None or r["label"] == base_label:
            continue
        ref = by[(w, r["phase"], base_label)]
        if w == "chain" and r["phase"] == "build":
            d = builtins.max(rel(a, b) for a, b in zip(r["check"], ref["check"]))
            out.append({"what": "chain out.data, x.grad, y.grad", "engine": r["label"],
                        "vs": base_label, "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "demo":
            d = rel(r["loss"], ref["loss"])
            out.append({"what": "demo loss after %d steps" % r["steps"], "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "overhead":
            d = builtins.max(rel(a, b) for a, b in zip(r["check"], ref["check"]))
            out.append({"what": "overhead %s y, w.grad, b.grad" % r["phase"], "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
        elif w == "adamw":
            d = builtins.max(rel(a, b) for a, b in zip(r["check"], ref["check"]))
            out.append({"what": "adamw parameters after %d steps" % r["steps"],
                        "vs": base_label, "engine": r["label"], "max_rel_diff": d,
                        "ok": d <= CHECK_RTOL[w]})
        elif w == "char-lstm":
            d = builtins.max(rel(a, b) for a, b in zip(r["losses"] + [r["loss"]],
                                                       ref["losses"] + [ref["loss"]]))
            out.append({"what": "char-lstm losses (first 5, after %d steps)" % r["steps"],
                        "vs": base_label, "engine": r["label"], "max_rel_diff": d,
                        "ok": d <= CHECK_RTOL[w]})
        elif w in ("mlp", "makemore", "makemore3", "mnist"):
            d = rel(r["loss"], ref["loss"])
            out.append({"what": "%s loss after %d steps" % (w, r["steps"]), "vs": base_label,
                        "engine": r["label"], "max_rel_diff": d, "ok": d <= CHECK_RTOL[w]})
    return out + replay_checks(results, by)


_REPLAY_WORDS = {
    "demo-replay": "demo-replay loss at every step and after the last update",
    "mlp-replay": "mlp-replay loss after the last step",
    "chain-replay": "chain-replay result and gradients",
    "pinn": "pinn loss after the last step",
    "hvp": "hvp sum of |H v|",
}


def replay_checks(results, by):
    """A replay computes what the same engine computes eagerly (REPLAY_RTOL) and
    records fn once; eager rows and peers agree with the reference (CHECK_RTOL)."""
    out = []
    for r in results:
        w = r["workload"]
        if (w not in REPLAY_WORKLOADS and w not in HIGHER_WORKLOADS) or \
                r["phase"].split(" ")[0] not in ("step", "forward"):
            continue
        if r.get("replay"):
            vs = r["eager_label"]
            if w == "chain-replay":
                d = builtins.max(rel(a, b) for a, b in zip(r["check"], r["eager_check"]))
                what = "chain-replay out, dx, dy (%d nodes)" % r["nodes"]
            else:
                eager = by.get((w, r["phase"], vs))
                if eager is None:
                    continue
                if w == "demo-replay":
                    a, b = r["losses"] + [r["loss"]], eager["losses"] + [eager["loss"]]
                    d = builtins.max(rel(x, y) for x, y in zip(a, b)) \
                        if len(a) == len(b) else math.inf
                    what = "demo-replay (%s) loss at each of %d steps and after the last" % (
                        r["style"], r["steps"])
                else:
                    d = rel(r["loss"], eager["loss"])
                    what = "%s after %d steps" % (_REPLAY_WORDS[w], r["steps"])
            out.append({"what": what, "engine": r["label"], "vs": vs + " (eager)",
                        "max_rel_diff": d, "recordings": r["recordings"],
                        "group": "%s, replay vs the same engine eager" % _REPLAY_WORDS[w],
                        "ok": d <= REPLAY_RTOL[w] and r["recordings"] == 1})
            continue
        base = next((b for b in ("reference", "c") if (w, r["phase"], b) in by), None)
        if base is None or base == r["label"]:
            continue
        d = rel(r["loss"], by[(w, r["phase"], base)]["loss"])
        what = "%s (%s) loss after %d steps" % (w, r["phase"], r["steps"])
        out.append({"what": what, "engine": r["label"], "vs": base, "max_rel_diff": d,
                    "group": "%s final loss, eager, vs %s" % (w, base),
                    "ok": d <= CHECK_RTOL[w]})
    return out


