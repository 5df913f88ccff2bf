"""Release fuzz run: the hostile-input and quoting properties with a large budget.

    python benchmarks/fuzz_long.py                  # 5000 examples per property
    python benchmarks/fuzz_long.py --examples 20000
    python benchmarks/fuzz_long.py --examples 500 -- -x -k convert   # extra pytest args

CI runs tests/test_hostile_*.py and tests/test_quoting.py with a small, fixed,
derandomized budget (the same inputs every run, well under a minute).  This
script sets ``CMDXLATE_FUZZ_EXAMPLES``, which both raises the number of
examples per property and switches Hypothesis to fresh random inputs, so every
release run explores new ground.  It prints how every command ended
(exit 0, or exit 2 and the class of error message) from the report the tests
write to ``CMDXLATE_FUZZ_REPORT``, and exits with pytest's status.  A failure
prints Hypothesis' falsifying example and a ``@reproduce_failure`` blob.

Expect roughly 15 ms per example for the in-process properties and a few
milliseconds more for those that start a shell: 3000 examples took 8 minutes,
5000 about 15, on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_hostile_cli.py", "tests/test_hostile_files.py",
         "tests/test_hostile_readconfig.py",
         "tests/test_hostile_regressions.py", "tests/test_quoting.py"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=5000,
                    help="examples per property (CMDXLATE_FUZZ_EXAMPLES)")
    ap.add_argument("--all", action="store_true",
                    help="also run the non-property tests of the two files")
    ap.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "outcomes.json"
        env = dict(os.environ, CMDXLATE_FUZZ_EXAMPLES=str(args.examples),
                   CMDXLATE_FUZZ_REPORT=str(report))
        cmd = [sys.executable, "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider",
               "--hypothesis-show-statistics"]
        if not args.all:
            cmd += ["-k", "fuzz or round_trip or resplits or agrees or splits_back or property"]
        cmd += args.pytest_args
        print("$", " ".join(cmd), f"  (CMDXLATE_FUZZ_EXAMPLES={args.examples})", flush=True)
        start = time.perf_counter()
        status = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
        elapsed = time.perf_counter() - start
        print(f"\npytest exit status {status} after {elapsed:.0f} s")
        if report.exists():
            _print_outcomes(json.loads(report.read_text(encoding="utf-8")))
    return status


def _print_outcomes(rows: list[dict[str, object]]) -> None:
    by_cmd: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        by_cmd[(str(r["command"]), str(r["format"]))].append((int(str(r["count"])),
                                                              str(r["outcome"])))
    print("\nHow the fuzzed runs ended (command, format: count outcome):")
    for (cmd, fmt), outcomes in sorted(by_cmd.items()):
        total = sum(n for n, _ in outcomes)
        print(f"  {cmd} --format {fmt}: {total} runs")
        for n, outcome in sorted(outcomes, reverse=True)[:12]:
            print(f"    {n:7d}  {outcome}")
        if len(outcomes) > 12:
            print(f"    ... {len(outcomes) - 12} more error classes")


if __name__ == "__main__":
    raise SystemExit(main())
