"""cmdxlate benchmarks: issue 13's targets, each beside a ratio measured in the same run.

    python benchmarks/run.py                  # every part; prints the tables
    python benchmarks/run.py startup scale    # some parts: startup batch api scale limits oracle
    python benchmarks/run.py --quick          # a fast smoke run (few rounds, 2,000 batch lines)
    python benchmarks/run.py --write          # every part, and update benchmarks/RESULTS.md
    python benchmarks/run.py profile          # where the time goes (importtime, cProfile)

Everything is timed in a clean venv (benchmarks/.venv-bench, rebuilt when pyproject.toml or
the Python changes, cmdxlate reinstalled when its source changes) holding only cmdxlate
(``pip install .``) and its dependencies; both sides of every ratio run there.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the sibling modules are found through the line above
    BENCH,
    ROOT,
    Ctx,
    Part,
    ensure_venv,
    log,
    scratch_dir,
    venv_facts,
    verdict,
)
from scale import bench_scale  # noqa: E402
from startup import bench_oracle, bench_startup  # noqa: E402
from throughput import bench_api, bench_batch  # noqa: E402

RESULTS = BENCH / "RESULTS.md"


def bench_limits(ctx: Ctx) -> Part:
    """The time budgets that used to be tests (tests/test_hostile_*.py check the answers)."""
    part = Part("limits", "limits: hostile inputs must stay cheap (in-process, best of runs)")
    runs = 1 if ctx.quick else 3
    res = ctx.driver("limits", str(runs))
    assert isinstance(res, list)
    part.row("runs per case (best taken; the worst case of each group shown)", runs)
    for r in res:
        ok = r["value"] < r["budget"] if r["unit"] == "s" else r["value"] <= r["budget"]
        cmp = "<" if r["unit"] == "s" else "<="
        part.row(r["what"], f"{r['value']:.3f}{r['unit']} (budget {cmp} {r['budget']}"
                 f"{r['unit']}): {verdict(ok)}")
    return part


PARTS: dict[str, Callable[[Ctx], Part]] = {
    "startup": bench_startup, "batch": bench_batch, "api": bench_api, "scale": bench_scale,
    "limits": bench_limits, "oracle": bench_oracle}


def machine(venv_python: str, load: tuple[float, float, float]) -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0))
    return [f"- CPU: {model}, {os.cpu_count()} cores ({usable} usable by this process)",
            f"- load average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in load)}",
            f"- venv Python {venv_python}; {platform.platform()}"]


def wait_for_load(limit: float, patience: float = 900.0) -> None:
    """A shared machine: start when others are quieter, but not never."""
    t0 = time.monotonic()
    while os.getloadavg()[0] >= limit and time.monotonic() - t0 < patience:
        log(f"load average {os.getloadavg()[0]:.2f} >= {limit}: waiting")
        time.sleep(15)


def source_line(venv_key: str) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=False).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "cmdxlate",
                                                  "pyproject.toml") else ""
    version = next((x.split("=", 1)[1].strip().strip('"') for x in
                    (ROOT / "pyproject.toml").read_text().splitlines()
                    if x.startswith("version")), "?")
    return (f"- cmdxlate {version}, commit {git('rev-parse', '--short', 'HEAD')}{dirty}, "
            f"source key {venv_key}")


def render(parts: list[Part], header: list[str]) -> str:
    out = [*header, "", "## Targets (issue 13)", "",
           "| target | limit | measured: median (spread) | verdict |", "|---|---|---|---|"]
    for p in parts:
        for t in p.targets:
            out.append(f"| {t.what} | {t.target} | {t.measured} | {verdict(t.met)} |")
    out.append("")
    for p in parts:
        out += [f"## {p.name}: {p.title}", "", "| measure | value |", "|---|---|"]
        out += [f"| {m} | {v} |" for m, v in p.rows]
        out += [f"\n{n}" for n in p.notes]
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("parts", nargs="*", help=f"{', '.join(PARTS)} (default: all), or profile")
    ap.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of the start-up comparison (default 31, quick 3)")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    ap.add_argument("--rebuild-venv", action="store_true", help="build the clean venv anew")
    ap.add_argument("--wait-load", type=float, default=None, metavar="L",
                    help="first wait (up to 15 min) until the 1-minute load average is below L")
    a = ap.parse_args()
    unknown = [p for p in a.parts if p not in PARTS and p != "profile"]
    if unknown:
        ap.error(f"unknown part: {', '.join(unknown)}")
    if "profile" in a.parts and len(a.parts) > 1:
        ap.error("profile runs on its own")
    if a.write and a.parts:
        ap.error("--write runs every part (RESULTS.md holds them all)")
    venv = ensure_venv(a.rebuild_venv)
    if a.wait_load is not None:
        wait_for_load(a.wait_load)
    load_start = os.getloadavg()
    facts = venv_facts(venv)
    rounds = a.rounds or (3 if a.quick else 31)
    with scratch_dir() as tmp:
        ctx = Ctx(venv, tmp, a.quick, rounds)
        if a.parts == ["profile"]:
            from profiling import run_profile

            print(run_profile(ctx))
            return
        header = ["# Benchmark results", "",
                  f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} with "
                  f"`python benchmarks/run.py{' --quick' if a.quick else ''}"
                  f"{' --write' if a.write else ''}`:",
                  "", *machine(facts["python"], load_start), source_line(venv.source_key),
                  f"- clean venv: {facts['packages']}"]
        parts = []
        for name in a.parts or list(PARTS):
            t0 = time.perf_counter()
            log(f"{name} ...")
            before = os.getloadavg()[0]
            part = PARTS[name](ctx)
            part.row("load average (1 min) at start and end of this part, duration",
                     f"{before:.2f}, {os.getloadavg()[0]:.2f}; {time.perf_counter() - t0:.0f} s")
            parts.append(part)
            log(f"{name} done in {time.perf_counter() - t0:.0f} s")
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header.append(f"- load average at end: {load_end}")
    text = render(parts, header)
    print(text)
    if a.write:
        old = RESULTS.read_text() if RESULTS.exists() else ""
        notes = old[old.index("## Notes"):] if "## Notes" in old else ""
        RESULTS.write_text(text + ("\n" + notes if notes else ""))
        log(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
