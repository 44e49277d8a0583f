"""The API fuzzer (fuzz_api.py) as a test: hostile calls on both engines in a child
process; no crash, no hang, the same exception type (or the same result) from both
engines on every case, and healthy engines afterwards.

Bounded for CI by TAPEGRAD_FUZZ_CASES / TAPEGRAD_FUZZ_SECONDS (see fuzz_api.py); the
sequence of cases is derandomized, so a CI failure reproduces locally with the same
command. A longer local run: ``python tests/fuzz/fuzz_api.py --cases 20000 --seconds
1200 --random``.
"""

import os

import fuzz_api

# Disagreements left in the CI run (seed 0, 1500 cases): 376 before the issue 10 item 16
# fixes, then 256, 55, 19, 12 and now none. A run that finds any fails: a new disagreement
# is a regression (TAPEGRAD_FUZZ_MAX_DISAGREEMENTS relaxes it for a local experiment).
KNOWN_DISAGREEMENTS = int(os.environ.get("TAPEGRAD_FUZZ_MAX_DISAGREEMENTS", "0"))


def test_engines_agree_on_hostile_calls(capsys):
    cases, seconds, seed = fuzz_api.ci_limits()
    report = fuzz_api.run(cases, seconds, seed)
    with capsys.disabled():
        print(f"\n[fuzz] {report['ran']} cases in {report['seconds']:.1f} s, "
              f"{len(report['disagreements'])} disagreements")
    assert report["ran"] > 0
    problems = fuzz_api.format_report(report)
    assert not report["crashes"] and not report["health"], problems
    assert len(report["disagreements"]) <= KNOWN_DISAGREEMENTS, problems
