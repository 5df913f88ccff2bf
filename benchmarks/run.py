"""cmdxlate benchmarks: one command, ratios to baselines measured in the same run.

    python benchmarks/run.py            # all
    python benchmarks/run.py startup    # one of: startup throughput scale oracle

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


BENCHES = {"startup": bench_startup, "throughput": bench_throughput, "scale": bench_scale,
           "oracle": bench_oracle}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("which", nargs="*", help="startup, throughput, scale, oracle (default: all)")
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
