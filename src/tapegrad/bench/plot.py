"""``python -m tapegrad bench --plot FILE``: the speed table as a picture.

One panel per workload phase: a bar per engine and peer, its time on a log
scale, annotated with its ratio to the compiled engine. Needs matplotlib (the
optional ``plot`` extra: ``pip install "tapegrad[plot]"``).
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

FORMATS = ("svg", "png")
MISSING = ('--plot needs matplotlib, the optional "plot" extra: '
           'pip install "tapegrad[plot]"')


def check(path: str) -> str:
    """An error message for a plot path that cannot be written, else ""."""
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    if suffix not in FORMATS:
        return "--plot %s: the file must end in .svg or .png\n" % path
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return MISSING + "\n"
    return ""


def _panels(report: dict) -> Dict[Tuple[str, str], List[dict]]:
    """The results by (workload, phase), in the table's order of appearance."""
    panels: Dict[Tuple[str, str], List[dict]] = {}
    for r in report["results"]:
        panels.setdefault((r["workload"], r["phase"]), []).append(r)
    return panels


def _ratio(r: dict, rows: List[dict]) -> str:
    base = next((x["value"] for x in rows if x["engine"] == "c" and x["gc"] == r["gc"]),
                None) or next((x["value"] for x in rows if x["engine"] == "c"), None)
    if not base or not r["value"]:
        return ""
    return "%.2fx c" % (r["value"] / base)


def write_plot(report: dict, path: str) -> str:
    """Draw report (``runner.run``'s) to path (.svg or .png); returns path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(report)
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(8, 0.5 + sum(0.35 * len(v) + 0.6 for v in panels.values())),
                             gridspec_kw={"height_ratios": [len(v) for v in panels.values()]})
    for ax, ((workload, phase), rows) in zip(axes[:, 0], panels.items()):
        labels = [r["label"] for r in rows]
        values = [r["value"] for r in rows]
        ax.barh(range(len(rows)), values, color=["#c0392b" if r["engine"] == "c" else "#7f8c8d"
                                                 for r in rows])
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title("%s %s (%s, log scale)" % (workload, phase, rows[0]["unit"]),
                     fontsize=9, loc="left")
        for k, r in enumerate(rows):
            ax.annotate(_ratio(r, rows), (r["value"], k), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)
        ax.margins(x=0.25)
    env = report.get("env", {})
    fig.suptitle("tapegrad %s benchmark (%s)" % (env.get("tapegrad", ""),
                                                 env.get("machine", "")), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format=os.path.splitext(path)[1].lstrip(".").lower())
    plt.close(fig)
    return path
