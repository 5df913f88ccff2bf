"""Work that runs inside the clean venv (``venv/bin/python -I benchmarks/invenv.py ...``).

Run isolated, so only the installed cmdxlate and its dependencies can be imported.
Each subcommand prints one JSON document on stdout:

    prepare OUT LIBVIRT CORPUS MEASURED   the corpora, deduplicated, as batch's JSON Lines
                                          ({"argv": [...], "source": ...})
    api LINES PASSES                      parse_argv + resolve + convert, in a loop
    scale LINES REPS                      every output format in-process, per line size
    limits RUNS                           hostile inputs that must stay cheap
"""

from __future__ import annotations

import gc
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FORMATS = [("slots", "text"), ("slots", "json"), ("convert", "shell"), ("convert", "json"),
           ("explain", "text"), ("explain", "json"), ("parse", "text"), ("parse", "json")]


def prepare(out: str, libvirt: str, corpus: str, measured: str) -> dict[str, int]:
    """Every line of the project's corpora once, as the words a shell would pass."""
    from cmdxlate.error import CmdxlateError
    from cmdxlate.syntax.shell import read_command_file

    seen: set[str] = set()
    counts = {"libvirt": 0, "corpus": 0, "measured": 0, "duplicates": 0, "unreadable": 0}
    lines: list[str] = []

    def add(source: str, words: list[str]) -> None:
        text = json.dumps(words)
        if text in seen:
            counts["duplicates"] += 1
            return
        seen.add(text)
        lines.append(json.dumps({"argv": words, "source": source}))
        counts[source] += 1

    def args_files(source: str, folder: Path) -> None:
        for path in sorted(folder.rglob("*.args")):
            try:
                add(source, read_command_file(str(path)).words())
            except CmdxlateError:
                counts["unreadable"] += 1

    if Path(libvirt).is_dir():
        args_files("libvirt", Path(libvirt))
    args_files("corpus", Path(corpus))
    for raw in (Path(corpus) / "lines.jsonl").read_text().splitlines():
        if raw.strip():
            obj = json.loads(raw)
            add("corpus", obj["argv"] if isinstance(obj, dict) else obj)
    for path in sorted(Path(measured).glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for raw in f:
                rec = json.loads(raw)
                if "argv" in rec:  # the first line is a header
                    add("measured", [f"qemu-system-{rec['arch']}", *rec["argv"]])
    Path(out).write_text("".join(x + "\n" for x in lines))
    counts["total"] = len(lines)
    return counts


def api(path: str, passes: int) -> dict[str, Any]:
    """Lines per second of the library itself, with no process start-up.

    Timed per line: ``parse_argv`` + ``resolve`` + ``convert`` + ``Converted.argv()``;
    a line QEMU would refuse counts as done when cmdxlate raises its error.
    The first pass (lazy imports, data loading) is reported on its own.
    """
    from cmdxlate.catalog import Catalog
    from cmdxlate.emit.convert import convert
    from cmdxlate.error import CmdxlateError
    from cmdxlate.resolver import resolve
    from cmdxlate.syntax.argv import parse_argv
    from cmdxlate.syntax.shell import split_command

    items = []
    for raw in Path(path).read_text().splitlines():
        obj = json.loads(raw)
        sc = split_command(obj["argv"])
        items.append((sc.args, sc.binary, sc.env, obj["source"]))
    t0 = time.perf_counter()
    catalog = Catalog.builtin()
    catalog_s = time.perf_counter() - t0
    clock = time.perf_counter

    def one_pass() -> tuple[float, float, dict[str, int], list[float]]:
        n = {"ok": 0, "refused": 0, "internal": 0}
        each = []
        cpu = time.process_time()
        t = clock()
        for args, binary, env, _source in items:
            t_line = clock()
            try:
                cl = parse_argv(args, binary, env)
                convert(cl, resolve(cl, "10.0", None, catalog)).argv()
                n["ok"] += 1
            except CmdxlateError:
                n["refused"] += 1
            except Exception:  # noqa: BLE001 - counted, as batch does
                n["internal"] += 1
            each.append(clock() - t_line)
        return clock() - t, time.process_time() - cpu, n, each

    first, _cpu, counts, _ = one_pass()
    times, cpu_times, per_line = [], [], []
    for _ in range(passes):
        gc.collect()
        total, cpu, _n, each = one_pass()
        times.append(total)
        cpu_times.append(cpu)
        per_line.append(each)
    # Per source and the slowest lines, from the median pass of each line.
    median_each = [statistics.median(x) for x in zip(*per_line, strict=True)]
    by_source: dict[str, list[float]] = {}
    for (_a, _b, _e, source), dt in zip(items, median_each, strict=True):
        by_source.setdefault(source, []).append(dt)
    slowest = sorted(range(len(items)), key=lambda i: -median_each[i])[:8]
    parsed = []
    for args, binary, env, _source in items:
        try:
            parsed.append(parse_argv(args, binary, env))
        except CmdxlateError:
            pass
    resolve_only = []
    for _ in range(passes):
        t = clock()
        for cl in parsed:
            try:
                convert(cl, resolve(cl, "10.0", None, catalog)).argv()
            except Exception:  # noqa: BLE001,S112 - refusals are part of the work
                continue
        resolve_only.append(clock() - t)
    return {"lines": len(items), "counts": counts, "catalog_s": catalog_s, "first_s": first,
            "pass_s": times, "pass_cpu_s": cpu_times, "parsed_lines": len(parsed),
            "resolve_convert_s": resolve_only,
            "by_source": {k: [len(v), sum(v)] for k, v in by_source.items()},
            "slowest": [[median_each[i], " ".join([items[i][1] or "", *items[i][0]])[:120]]
                        for i in slowest]}


def scale(path: str, reps: int) -> dict[str, dict[str, list[list[float]]]]:
    """Every output format, in-process (typer's CliRunner), per line: [wall, CPU] seconds
    of each run (CPU time is what a busy machine disturbs least)."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    runner = CliRunner()
    lines: dict[str, list[str]] = json.loads(Path(path).read_text())
    out: dict[str, dict[str, list[list[float]]]] = {}
    for name, argv in lines.items():
        out[name] = {}
        for cmd, fmt in FORMATS:
            args = [cmd, "--format", fmt, "--", *argv]
            res = runner.invoke(app, args)  # warm-up, and the check
            if res.exit_code != 0:
                raise SystemExit(f"{name} {cmd} {fmt}: exit {res.exit_code}: {res.output[-500:]}")
            times = []
            for _ in range(reps):
                gc.collect()  # no collection of earlier runs' garbage inside this one
                t, cpu = time.perf_counter(), time.process_time()
                runner.invoke(app, args)
                times.append([time.perf_counter() - t, time.process_time() - cpu])
            out[name][f"{cmd} {fmt}"] = times
    return out


# ---------------------------------------------------------------- limits





def limits(runs: int) -> list[dict[str, Any]]:
    """Hostile inputs that must stay cheap (tests/test_hostile_*.py check their answers;
    the time budgets live here, so a busy machine cannot fail a test)."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app
    from cmdxlate.testing.lines import big_line, numa_distances

    runner = CliRunner()

    def worst(cases: list[tuple[list[str], int]]) -> float:
        """Slowest case (each the best of ``runs``); every case must end with its exit code."""
        slowest = 0.0
        for args, code in cases:
            best = float("inf")
            for _ in range(max(1, runs)):
                t = time.perf_counter()
                res = runner.invoke(app, args)
                best = min(best, time.perf_counter() - t)
                if res.exit_code != code:
                    raise SystemExit(f"{args[:4]}...: exit {res.exit_code}, expected {code}")
            slowest = max(slowest, best)
        return slowest

    huge_smp = [(["slots", "--format", "json", "--", "-machine", m, "-smp", smp], 2)
                for m in ("pc", "q35", "pseries", "s390-ccw-virtio", "virt")
                for smp in ("maxcpus=100000000", "cores=10000,threads=10000",
                            "maxcpus=9223372036854775807", "drawers=65536,books=65536")]
    huge_ranges = [(["slots", "--format", "json", "--", "-machine", "q35", "-smp", "4", "-m",
                     "128M", "-numa", f"node,cpus={c}"], 2)
                   for c in ("0-4000000000", "0-18446744073709551615", "0-65535")]
    many_ranges = ["-machine", "pc-q35-8.2", "-smp", "1024"]
    for _ in range(2000):
        many_ranges += ["-numa", "node,cpus=0-1023,cpus=0-1023"]
    deep = 100_000
    bad = [(["slots", "--", "-device", '{"a":' * deep + "1" + "}" * deep], 2),
           (["slots", "--", "-smp", "99999999999999999999"], 2)]
    big = big_line()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = str(Path(tmp) / "vm.cfg")
        t_big = worst([([*cmd, "--", *big], 0) for cmd in (
            ["parse", "--format", "json"], ["slots", "--format", "json"],
            ["convert", "--format", "json"], ["explain", "--format", "json"],
            ["writeconfig", "-o", cfg, "--force", "--format", "json"])])
    t10 = worst([(["slots", "--format", "json", "--", *numa_distances(64, 10_000)], 0)])
    t20 = worst([(["slots", "--format", "json", "--", *numa_distances(64, 20_000)], 0)])
    zero = [(["convert", "--from-file", "/dev/zero"], 2), (["readconfig", "/dev/zero"], 2)]

    def row(what: str, seconds: float, budget: float) -> dict[str, Any]:
        return {"what": what, "value": seconds, "budget": budget, "unit": "s"}

    return [
        row("huge -smp rejected, worst of 20", worst(huge_smp), 1.0),
        row("huge -numa cpus range rejected, worst of 3", worst(huge_ranges), 1.0),
        row("2000 maximal -numa cpus ranges rejected",
            worst([(["slots", "--format", "json", "--", *many_ranges], 2)]), 2.0),
        row("deep JSON / huge integer rejected, worst", worst(bad), 1.0),
        row("100k-argument line, worst of 5 commands", t_big, 5.0),
        row("64-node distances + 20k repeated -numa dist", t20, 1.5),
        {"what": "growth 20k/10k repeated -numa dist (linear 2)", "value": t20 / t10,
         "budget": 2.5, "unit": "x"},
        row("/dev/zero as input, worst of 2", worst(zero), 5.0),
    ]


def passes(path: str, count: int, step: int) -> dict[str, Any]:
    """``count`` plain passes over every ``step``-th line, for an instruction count
    (``valgrind --tool=cachegrind`` around this process; no clock in it)."""
    from cmdxlate.catalog import Catalog
    from cmdxlate.emit.convert import convert
    from cmdxlate.error import CmdxlateError
    from cmdxlate.resolver import resolve
    from cmdxlate.syntax.argv import parse_argv
    from cmdxlate.syntax.shell import split_command

    lines = Path(path).read_text().splitlines()[::step]
    items = [split_command(json.loads(raw)["argv"]) for raw in lines]
    catalog = Catalog.builtin()
    for _ in range(count):
        for sc in items:
            try:
                cl = parse_argv(sc.args, sc.binary, sc.env)
                convert(cl, resolve(cl, "10.0", None, catalog)).argv()
            except CmdxlateError:
                pass
    return {"lines": len(items)}


def main(argv: list[str]) -> None:
    cmd, args = argv[0], argv[1:]
    result: Any
    if cmd == "prepare":
        result = prepare(*args)
    elif cmd == "api":
        result = api(args[0], int(args[1]))
    elif cmd == "passes":
        result = passes(args[0], int(args[1]), int(args[2]))
    elif cmd == "scale":
        result = scale(args[0], int(args[1]))
    elif cmd == "limits":
        result = limits(int(args[0]))
    else:
        raise SystemExit(f"unknown subcommand {cmd!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
