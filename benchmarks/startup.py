"""Start-up: one typical line, cmdxlate against a clean Python and against QEMU itself."""

from __future__ import annotations

import json
import shutil
import subprocess

from harness import (
    Cmd,
    Ctx,
    Part,
    Sample,
    Target,
    clean_env,
    interleaved,
    peak_rss_mib,
    ratios,
    spread,
    walls,
)

# q35 with two NUMA nodes, each a socket with its memory: what libvirt writes for a small guest.
TYPICAL = ("-machine", "q35", "-smp", "8,sockets=2,cores=4,threads=1", "-m", "1G",
           "-object", "memory-backend-ram,id=m0,size=512M",
           "-object", "memory-backend-ram,id=m1,size=512M",
           "-numa", "node,nodeid=0,cpus=0-3,memdev=m0",
           "-numa", "node,nodeid=1,cpus=4-7,memdev=m1")
QEMU = "/usr/bin/qemu-system-x86_64"
QEMU_FLAGS = ("-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-qmp", "stdio")
QMP = (b'{"execute":"qmp_capabilities"}\n{"execute":"query-hotpluggable-cpus"}\n'
       b'{"execute":"quit"}\n')


def qemu_binary() -> str | None:
    """QEMU 10.0 as installed system-wide (the release cmdxlate targets by default)."""
    path = QEMU if shutil.which(QEMU) else shutil.which("qemu-system-x86_64")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return path if "version 10.0" in out.stdout else None


def _same_answer(ctx: Ctx, qemu: str) -> str:
    """Does cmdxlate give QEMU's answer for this line?  Checked once, outside the timing."""
    mine = json.loads(subprocess.run([*ctx.cli("slots", "--format", "json", "--", *TYPICAL)],
                                     cwd=ctx.scratch, env=clean_env(), capture_output=True,
                                     check=True, text=True).stdout)
    res = subprocess.run([qemu, *QEMU_FLAGS, *TYPICAL], input=QMP, capture_output=True,
                         check=True, timeout=60)
    replies = [json.loads(x) for x in res.stdout.decode().splitlines() if x.strip()]
    theirs = next(r["return"] for r in replies if isinstance(r.get("return"), list))

    def key(e: dict[str, object]) -> tuple[object, ...]:
        return e["type"], e["vcpus-count"], sorted(dict(e["props"]).items())  # type: ignore[call-overload]

    same = [key(e) for e in mine] == [key(e) for e in theirs]
    return "yes, same slots in the same order" if same else "NO: the answers differ"


def bench_startup(ctx: Ctx) -> Part:
    """python -c pass, python -I -c pass, convert, slots --format json and QEMU, interleaved."""
    part = Part("startup", "Start-up on a typical line (q35, 8 vCPUs, two NUMA nodes)")
    qemu = qemu_binary()
    cmds = [Cmd("python", ctx.py("-c", "pass")), Cmd("python -I", ctx.py("-I", "-c", "pass")),
            Cmd("convert", ctx.cli("convert", "--", *TYPICAL)),
            Cmd("slots json", ctx.cli("slots", "--format", "json", "--", *TYPICAL))]
    if qemu:
        cmds.append(Cmd("qemu", (qemu, *QEMU_FLAGS, *TYPICAL), stdin=QMP))
    res = interleaved(cmds, ctx.rounds, ctx.scratch)
    part.row("line", "`" + " ".join(TYPICAL) + "`")
    part.row("rounds (each runs every command once, order rotated)", ctx.rounds)
    for label, samples in res.items():
        part.row(f"{label}: wall ms", walls(samples).text(" ms", 1))
    part.row("peak RSS (one run each)", "; ".join(
        f"{c.label} {peak_rss_mib(c.argv, cwd=ctx.scratch, stdin=c.stdin):.1f} MiB" for c in cmds))
    base = res["python"]
    for label in ("convert", "slots json"):
        per_round = ratios(res[label], base)
        r = spread(per_round)
        half = len(per_round) // 2
        part.row(f"{label} / python -c pass (wall)", r.text("x"))
        if half >= 3:
            part.row(f"{label} / python -c pass: median of the first and of the second half "
                     "of the rounds (stability)", f"{spread(per_round[:half]).median:.2f}x, "
                     f"{spread(per_round[half:]).median:.2f}x")
        part.row(f"{label} / python -I -c pass (wall)",
                 spread(ratios(res[label], res["python -I"])).text("x"))
        part.row(f"{label} / python -c pass (CPU time)",
                 spread(ratios(res[label], base, "cpu")).text("x"))
        cpu = spread(ratios(res[label], base, "cpu"))
        part.targets.append(Target(f"`{label.replace(' json', ' --format json')}` on the typical "
                                   "line, ratio to clean `python -c pass`", "<= 2x",
                                   f"{r.text('x')}; CPU time {cpu.median:.2f}x", r.median <= 2.0))
    if qemu:
        _qemu_rows(ctx, part, res, qemu)
    else:
        part.targets.append(Target("`slots --format json` faster than QEMU 10.0 answering",
                                   "< 1x", "not measured: no QEMU 10.0 binary", None))
    return part


def _qemu_rows(ctx: Ctx, part: Part, res: dict[str, list[Sample]], qemu: str) -> None:
    r = spread(ratios(res["slots json"], res["qemu"]))
    part.row("QEMU", f"`{qemu} {' '.join(QEMU_FLAGS)} LINE` with qmp_capabilities, "
             "query-hotpluggable-cpus, quit on stdin; timed to its exit")
    part.row("QEMU / python -c pass (wall)", spread(ratios(res["qemu"], res["python"])).text("x"))
    part.row("slots json / QEMU (wall)", r.text("x"))
    part.row("slots json / QEMU (CPU time, QEMU's threads included)",
             spread(ratios(res["slots json"], res["qemu"], "cpu")).text("x"))
    part.row("same answer as QEMU", _same_answer(ctx, qemu))
    cpu = spread(ratios(res["slots json"], res["qemu"], "cpu"))
    part.targets.append(Target("`slots --format json` against QEMU 10.0 answering the same "
                               "line (ratio cmdxlate/QEMU, same rounds)", "< 1x (faster)",
                               f"{r.text('x')}; CPU time {cpu.median:.2f}x", r.median < 1.0))


def bench_oracle(ctx: Ctx) -> Part:
    """``cmdxlate verify`` (QEMU twice, in parallel) against one QEMU answer."""
    part = Part("oracle", "verify: cmdxlate asking QEMU")
    qemu = qemu_binary()
    if qemu is None:
        part.row("skipped", "no QEMU 10.0 binary")
        return part
    rounds = 3 if ctx.quick else 7
    cmds = [Cmd("qemu", (qemu, *QEMU_FLAGS, *TYPICAL), stdin=QMP),
            Cmd("verify", ctx.cli("verify", "--qemu", qemu, "--", *TYPICAL))]
    res = interleaved(cmds, rounds, ctx.scratch)
    part.row("qemu: wall ms", walls(res["qemu"]).text(" ms", 1))
    part.row("verify: wall ms", walls(res["verify"]).text(" ms", 1))
    part.row("verify / QEMU answering once (wall)",
             spread(ratios(res["verify"], res["qemu"])).text("x"))
    part.notes.append("verify starts QEMU twice (the original and the converted line), in "
                      "parallel, and pays for the full CLI and qemu.qmp's asyncio.")
    return part
