"""cmdxlate benchmarks: one command, ratios to baselines measured in the same run.

    python benchmarks/run.py            # all
    python benchmarks/run.py startup    # one of: startup throughput scale oracle limits

Figures go to stdout as a table and, with --write, into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "libvirt"
PY = sys.executable
ENV = dict(os.environ)
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have .pyc files; so do we


def _time(cmd: list[str], runs: int, stdin: str = "") -> float:
    """Median wall time of ``runs`` executions (after one warm-up)."""
    def once() -> None:
        subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=ENV, check=False,
                       timeout=120)

    once()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


STARTUP_LINE = ["-machine", "q35", "-smp", "8", "-m", "1G",
                "-object", "memory-backend-ram,id=m0,size=512M",
                "-object", "memory-backend-ram,id=m1,size=512M",
                "-numa", "node,memdev=m0", "-numa", "node,memdev=m1"]


def bench_startup(runs: int) -> dict[str, object]:
    base = _time([PY, "-c", "pass"], runs)
    conv = _time([PY, "-m", "cmdxlate", "convert", "--", *STARTUP_LINE], runs)
    # The issue's own line (-numa node twice with no memory) is rejected by
    # QEMU 10.0 (node memory must add up to -m); time it too: it is an error path.
    issue = _time([PY, "-m", "cmdxlate", "convert", "--", "-machine", "q35", "-smp", "8",
                   "-numa", "node", "-numa", "node"], runs)
    return {"python -c pass (s)": round(base, 4), "convert (s)": round(conv, 4),
            "ratio convert/python": round(conv / base, 2),
            "ratio issue line (error path)/python": round(issue / base, 2),
            "target": "<= 2.0"}


def _corpus_jsonl(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from cmdxlate.syntax.shell import read_command_file

    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for p in sorted(CORPUS.rglob("*.args")):
            sc = read_command_file(str(p))
            f.write(json.dumps(sc.words()[len(sc.env):]) + "\n")
            n += 1
    return n


def bench_throughput(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "corpus.jsonl"
        n = _corpus_jsonl(src)
        empty = Path(tmp) / "empty.jsonl"
        empty.write_text("")
        base = _time([PY, "-m", "cmdxlate", "batch", str(empty), "-o", str(Path(tmp) / "e"),
                      "--force"], runs)
        full = _time([PY, "-m", "cmdxlate", "batch", str(src), "-o", str(Path(tmp) / "o"),
                      "--force"], runs)
        per_line = (full - base) / n
        # Same work repeated 5x in one process shows steady-state speed.
        big = Path(tmp) / "big.jsonl"
        big.write_text(src.read_text() * 5)
        full5 = _time([PY, "-m", "cmdxlate", "batch", str(big), "-o", str(Path(tmp) / "o5"),
                       "--force"], max(1, runs // 2))
        lines = [json.loads(x) for x in src.read_text().splitlines()]
    steady = (full5 - base) / (5 * n)
    return {"lines": n, "batch of all lines (s)": round(full, 3),
            "empty batch baseline (s)": round(base, 3),
            "lines/s per core (one pass)": round(1 / per_line),
            "lines/s per core (5 passes)": round(1 / steady),
            "lines/s in one process, best pass of 5 (no start-up)": _in_process_rate(lines),
            "target": ">= 5000"}


def _in_process_rate(lines: list[list[str]]) -> int:
    """The per-line cost alone: cmdxlate.batch.process over the corpus, already warm."""
    sys.path.insert(0, str(ROOT))
    from cmdxlate.cli.batch import process

    for argv in lines:
        process(("argv", argv), "convert", "10.0")
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for argv in lines:
            process(("argv", argv), "convert", "10.0")
        best = min(best, time.perf_counter() - t)
    return round(len(lines) / best)


def _scale_line(maxcpus: int, nodes: int) -> list[str]:
    args = ["-machine", "q35", "-cpu", "qemu64,x2apic=on",
            "-smp", f"{maxcpus // 2},maxcpus={maxcpus},sockets={nodes},threads=2",
            "-m", f"{nodes * 256}M"]
    for i in range(nodes):
        args += ["-object", f"memory-backend-ram,id=m{i},size=256M",
                 "-numa", f"node,nodeid={i},memdev=m{i}"]
    return args


def bench_scale(runs: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from cmdxlate.syntax.argv import parse_argv
    from cmdxlate.emit.convert import convert
    from cmdxlate.resolve.resolver import resolve

    def once(maxcpus: int) -> float:
        best = float("inf")
        for _ in range(max(3, runs)):
            t = time.perf_counter()
            cl = parse_argv(_scale_line(maxcpus, 64))
            convert(cl, resolve(cl))
            best = min(best, time.perf_counter() - t)
        return best

    t512, t4096 = once(512), once(4096)
    return {"convert q35 512 cpus/64 nodes (s)": round(t512, 4),
            "convert q35 4096 cpus/64 nodes (s)": round(t4096, 4),
            "ratio 4096/512": round(t4096 / t512, 2), "target": "<= 10 (linear would be 8)"}


def bench_oracle(runs: int) -> dict[str, object]:
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        return {"skipped": "qemu-system-x86_64 not found (scripts/install-qemu)"}
    base = _time([qemu, "-S", "-display", "none", "-nodefaults", "-accel", "tcg",
                  "-machine", "q35", "-smp", "4", "-qmp", "stdio"], runs,
                 stdin='{"execute":"qmp_capabilities"}\n{"execute":"query-hotpluggable-cpus"}\n'
                       '{"execute":"quit"}\n')
    ver = _time([PY, "-m", "cmdxlate", "verify", "--", "-machine", "q35", "-smp", "4,maxcpus=8"],
                runs)
    return {"qemu start+quit (s)": round(base, 3), "cmdxlate verify (s)": round(ver, 3),
            "ratio verify/qemu start": round(ver / base, 2),
            "note": "verify starts QEMU twice (original and converted), in parallel"}


def _numa_distances(nodes: int, repeats: int) -> list[str]:
    argv = ["-machine", "q35", "-smp", str(nodes), "-m", f"{2 * nodes}M"]
    for i in range(nodes):
        argv += ["-object", f"memory-backend-ram,id=m{i},size=2M",
                 "-numa", f"node,nodeid={i},memdev=m{i},cpus={i}"]
    for s in range(nodes):
        for d in range(nodes):
            argv += ["-numa", f"dist,src={s},dst={d},val={10 if s == d else 20}"]
    return argv + ["-numa", "dist,src=0,dst=0,val=10"] * repeats


def _big_line() -> list[str]:
    """100,000 arguments shaped like a real (if absurd) libvirt line."""
    argv = ["-machine", "q35", "-smp", "4,maxcpus=8", "-m", "1G"]
    i = 0
    while len(argv) < 100_000:
        argv += ["-device", f"virtio-net-pci,id=net{i},mac=52:54:00:00:00:{i % 256:02x}",
                 "-name", f"guest=g{i}", "-S", f"stray-{i}", "-no-user-config",
                 "-chardev", f"socket,id=c{i},path=/tmp/c{i}"]
        i += 1
    return argv[:100_000]


def bench_limits(runs: int) -> dict[str, object]:
    """Hostile inputs that must stay cheap (tests/test_hostile.py checks their answers;
    the time budgets live here, so a busy machine cannot fail a test)."""
    sys.path.insert(0, str(ROOT))
    from typer.testing import CliRunner

    from cmdxlate.cli import app

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
    big = _big_line()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = str(Path(tmp) / "vm.cfg")
        big_cases = [([*cmd, "--", *big], 0) for cmd in (
            ["parse", "--format", "json"], ["slots", "--format", "json"],
            ["convert", "--format", "json"], ["explain", "--format", "json"],
            ["writeconfig", "-o", cfg, "--force", "--format", "json"])]
        t_big = worst(big_cases)
    n10, n20 = _numa_distances(64, 10_000), _numa_distances(64, 20_000)
    t10 = worst([(["slots", "--format", "json", "--", *n10], 0)])
    t20 = worst([(["slots", "--format", "json", "--", *n20], 0)])
    zero = [(["convert", "--from-file", "/dev/zero"], 2), (["readconfig", "/dev/zero"], 2)]
    return {
        "huge -smp rejected, worst (s)": round(worst(huge_smp), 4), "budget huge -smp": "< 1",
        "huge -numa cpus range rejected, worst (s)": round(worst(huge_ranges), 4),
        "budget range": "< 1",
        "2000 maximal -numa ranges rejected (s)": round(
            worst([(["slots", "--format", "json", "--", *many_ranges], 2)]), 3),
        "budget 2000 ranges": "< 2",
        "deep JSON / huge integer rejected, worst (s)": round(worst(bad), 4),
        "budget bad values": "< 1",
        "100k-argument line, worst command (s)": round(t_big, 3), "budget 100k line": "< 5",
        "64-node distances + 20k repeats (s)": round(t20, 3), "budget distances": "< 1.5",
        "ratio 20k/10k repeats": round(t20 / t10, 2), "target ratio": "<= 2.5 (linear 2)",
        "/dev/zero as input, worst (s)": round(worst(zero), 3), "budget /dev/zero": "< 5",
    }


BENCHES = {"startup": bench_startup, "throughput": bench_throughput, "scale": bench_scale,
           "oracle": bench_oracle, "limits": bench_limits}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("which", nargs="*",
                    help="startup, throughput, scale, oracle, limits (default: all)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    a = ap.parse_args()
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "cmdxlate")], env=ENV,
                   capture_output=True, check=False)
    results = {}
    unknown = [w for w in a.which if w not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark: {', '.join(unknown)}")
    for name in a.which or list(BENCHES):
        results[name] = BENCHES[name](a.runs)
        print(f"## {name}")
        for k, v in results[name].items():
            print(f"  {k}: {v}")
    if a.write:
        machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.platform()}")
        lines = ["# Benchmark results", "", f"Measured {time.strftime('%Y-%m-%d')} on: {machine}",
                 "", "Command: `python benchmarks/run.py --write`", ""]
        for name, res in results.items():
            lines += [f"## {name}", "", "| measure | value |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in res.items()]
            lines.append("")
        path = ROOT / "benchmarks" / "RESULTS.md"
        old = path.read_text() if path.exists() else ""
        notes = old[old.index("## Notes"):] if "## Notes" in old else ""
        path.write_text("\n".join(lines) + ("\n" + notes if notes else ""))


if __name__ == "__main__":
    main()
