"""Throughput: ``cmdxlate batch`` over the project's corpora, and the library in a loop."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

from harness import (
    DRIVER,
    LIBVIRT_CORPUS,
    ROOT,
    Cmd,
    Ctx,
    Part,
    Target,
    clean_env,
    interleaved,
    peak_rss_mib,
    ratios,
    spread,
    walls,
)

BATCH_LINES = 10_000
QUICK_LINES = 2_000


def corpus_lines(ctx: Ctx) -> tuple[Path, dict[str, int]]:
    """The corpora's distinct lines, prepared once per run by the venv's cmdxlate."""
    out = Path(ctx.path("corpus-unique.jsonl"))
    if "corpus" not in ctx.memo:
        ctx.memo["corpus"] = ctx.driver("prepare", str(out), str(LIBVIRT_CORPUS),
                                        str(ROOT / "corpus"),
                                        str(ROOT / "tests" / "data" / "measured"))
    counts: dict[str, int] = ctx.memo["corpus"]
    return out, counts


def _describe(counts: dict[str, int]) -> str:
    libvirt = (f"{counts['libvirt']} libvirt ({LIBVIRT_CORPUS.name}/ in ../shared/corpus)"
               if LIBVIRT_CORPUS.is_dir() else "libvirt corpus ABSENT (../shared/corpus/libvirt)")
    return (f"{counts['total']} distinct lines: {libvirt}, {counts['corpus']} corpus/, "
            f"{counts['measured']} tests/data/measured (binary qemu-system-ARCH prefixed); "
            f"{counts['duplicates']} duplicates dropped")


def bench_batch(ctx: Ctx) -> Part:
    """One ``cmdxlate batch`` process over ~10,000 lines, with --jobs 1 and --jobs 2."""
    part = Part("batch", "batch: one process over the corpora repeated to ~10,000 lines")
    unique, counts = corpus_lines(ctx)
    lines = unique.read_text().splitlines(keepends=True)
    want = QUICK_LINES if ctx.quick else BATCH_LINES
    repeat = max(1, math.ceil(want / len(lines)))
    big = Path(ctx.path("batch-input.jsonl"))
    big.write_text("".join(lines) * repeat)
    n = len(lines) * repeat
    part.row("input", f"{_describe(counts)}; repeated {repeat}x = {n} lines")
    cores = len(os.sched_getaffinity(0))
    part.row("cores", f"{cores} usable (os.cpu_count() = {os.cpu_count()})")

    def batch(jobs: int) -> tuple[str, ...]:
        # --target 10.0: the release the corpora's lines were written for (11.1 refuses
        # their older machine types, which would make most lines cheap errors).
        return ctx.cli("batch", str(big), "-o", ctx.path(f"batch-out-{jobs}.jsonl"), "--force",
                       "--jobs", str(jobs), "--target", "10.0")

    check = subprocess.run(batch(1), cwd=ctx.scratch, env=clean_env(), capture_output=True,
                           text=True)
    if check.returncode not in (0, 2):  # 2: some lines are ones QEMU refuses (the measured
        raise SystemExit(f"batch failed ({check.returncode}): {check.stderr}")  # answers')
    got = sum(1 for _ in open(ctx.path("batch-out-1.jsonl"), encoding="utf-8"))
    if got != n:
        raise SystemExit(f"batch wrote {got} lines for {n}")
    part.row("batch summary (stderr)", check.stderr.strip())
    rounds = 2 if ctx.quick else 5
    res = interleaved([Cmd("python", ctx.py("-c", "pass")),
                       Cmd("jobs 1", batch(1), expect_rc=check.returncode),
                       Cmd("jobs 2", batch(2), expect_rc=check.returncode)],
                      rounds, ctx.scratch, warmup=0)
    for label in ("python", "jobs 1", "jobs 2"):
        part.row(f"{label}: wall ms", walls(res[label]).text(" ms", 0))
    rate1 = spread([n / s.wall for s in res["jobs 1"]])
    rate2 = spread([n / s.wall for s in res["jobs 2"]])
    part.row("--jobs 1: lines/s (whole process, start-up included)", rate1.text("", 0))
    part.row("--jobs 2: lines/s", rate2.text("", 0))
    part.row("--jobs 1: peak RSS", f"{peak_rss_mib(batch(1), cwd=ctx.scratch):.1f} MiB")
    net = spread([n / (a.wall - b.wall) for a, b in zip(res["jobs 1"], res["python"],
                                                       strict=True)])
    part.row("--jobs 1: lines/s net of a clean python -c pass in the same round", net.text("", 0))
    speedup = spread(ratios(res["jobs 1"], res["jobs 2"]))
    part.row("speed-up --jobs 2 over --jobs 1 (wall, same round)", speedup.text("x"))
    part.targets.append(Target(f"`batch` over {n} lines, one process (--jobs 1), lines/s",
                               ">= 10,000 lines/s", rate1.text(" lines/s", 0),
                               rate1.median >= 10_000))
    need = 0.8 * min(2, cores)
    part.targets.append(Target(f"`--jobs 2` speed-up over `--jobs 1` on {cores} usable cores "
                               f"(close to linear read as >= 0.8 x {min(2, cores)})",
                               f">= {need:.1f}x", speedup.text("x"), speedup.median >= need))
    return part


INSTRUCTION_STEP = 4  # every 4th line: under valgrind a pass is some 50 times slower


def instructions(ctx: Ctx, part: Part, lines: Path) -> None:
    """Instructions per line of a warm pass, counted by valgrind's cachegrind (the
    difference of two runs, with one and with two passes): a figure this VM's changing
    speed does not move, for comparing the per-line cost between commits."""
    valgrind = shutil.which("valgrind")
    what = "instructions per line, warm pass (cachegrind; every 4th line)"
    if valgrind is None or ctx.quick:
        part.row(what, "not counted (valgrind absent)" if valgrind is None else "--quick")
        return
    counts = []
    for n in (1, 2):
        res = subprocess.run([valgrind, "--tool=cachegrind", "--cache-sim=no",
                              "--cachegrind-out-file=/dev/null", ctx.venv.python, "-I",
                              str(DRIVER), "passes", str(lines), str(n),
                              str(INSTRUCTION_STEP)],
                             cwd=ctx.scratch, env=clean_env(), capture_output=True, text=True,
                             timeout=1800, check=True)
        found = re.search(r"I\s+refs:\s+([\d,]+)", res.stderr)
        if found is None:
            part.row(what, "valgrind printed no count")
            return
        counts.append(int(found.group(1).replace(",", "")))
    lines_n = json.loads(res.stdout)["lines"]
    part.row(what, f"{(counts[1] - counts[0]) / lines_n:,.0f} ({lines_n} lines)")


def bench_api(ctx: Ctx) -> Part:
    """parse_argv + resolve + convert in a loop in the venv's Python: no start-up at all."""
    part = Part("api", "In-process API: parse_argv + resolve + convert over the parsed lines")
    unique, counts = corpus_lines(ctx)
    passes = 2 if ctx.quick else 7
    res = ctx.driver("api", str(unique), str(passes))
    assert isinstance(res, dict)
    n = res["lines"]
    part.row("lines per pass", f"{_describe(counts)}")
    c = res["counts"]
    part.row("outcome per pass", f"{c['ok']} converted, {c['refused']} refused as QEMU "
             f"would (CmdxlateError), {c['internal']} internal errors")
    part.row("Catalog.builtin() (first call, s)", f"{res['catalog_s']:.3f}")
    part.row("first pass (cold: lazy imports, data), lines/s", f"{n / res['first_s']:.0f}")
    rate = spread([n / t for t in res["pass_s"]])
    cpu_rate = spread([n / t for t in res["pass_cpu_s"]])
    part.row("warm passes, lines/s (wall)", rate.text("", 0))
    part.row("warm passes, lines per CPU second (process_time)", cpu_rate.text("", 0))
    if res["resolve_convert_s"]:
        m = res["parsed_lines"]
        only = spread([m / t for t in res["resolve_convert_s"]])
        part.row(f"resolve + convert only, on {m} pre-parsed lines, lines/s", only.text("", 0))
    for source, (count, seconds) in sorted(res["by_source"].items()):
        part.row(f"{source}: {count} lines, lines/s (median pass of each line)",
                 f"{count / seconds:.0f} ({seconds / count * 1000:.2f} ms a line)")
    part.row("slowest lines (ms, median pass)", "<br>".join(
        f"{dt * 1000:.1f} `{text}`" for dt, text in res["slowest"]))
    instructions(ctx, part, unique)
    part.targets.append(Target("in-process parse_argv + resolve + convert, lines/s (warm "
                               f"passes over {n} lines)", ">= 20,000 lines/s",
                               f"{rate.text(' lines/s', 0)}; per CPU second "
                               f"{cpu_rate.median:.0f}", rate.median >= 20_000))
    return part
