"""4096 vCPUs: every output format against a clean Python start-up, and how cost grows."""

from __future__ import annotations

import json
import statistics

from harness import Cmd, Ctx, Part, Target, interleaved, peak_rss_mib, ratios, spread, walls

FORMATS = [("slots", "text"), ("slots", "json"), ("convert", "shell"), ("convert", "json"),
           ("explain", "text"), ("explain", "json"), ("parse", "text"), ("parse", "json")]
ISSUE_LINE = ("-machine", "q35", "-smp", "1,maxcpus=4096")


def scale_line(maxcpus: int, nodes: int) -> list[str]:
    """q35, half the CPUs present, 64 sockets of 2 threads, one memory backend per node."""
    args = ["-machine", "q35", "-cpu", "qemu64,x2apic=on",
            "-smp", f"{maxcpus // 2},maxcpus={maxcpus},sockets=64,threads=2",
            "-m", f"{max(nodes, 1) * 256}M"]
    for i in range(nodes):
        args += ["-object", f"memory-backend-ram,id=m{i},size=256M",
                 "-numa", f"node,nodeid={i},memdev=m{i}"]
    return args


def bench_scale(ctx: Ctx) -> Part:
    part = Part("scale", "4096 vCPUs: every output format, growth, peak memory")
    big = scale_line(4096, 64)
    part.row("line", f"`{' '.join(big[:6])} ...` and 64 x (`-object memory-backend-ram` + "
             "`-numa node`); the 512 line has maxcpus=512, the no-NUMA line no -numa")
    cmds = [Cmd("python", ctx.py("-c", "pass"))]
    cmds += [Cmd(f"{c} {f}", ctx.cli(c, "--format", f, "--", *big)) for c, f in FORMATS]
    cmds.append(Cmd("slots text, issue's -smp 1,maxcpus=4096",
                    ctx.cli("slots", "--", *ISSUE_LINE)))
    rounds = 2 if ctx.quick else max(5, ctx.rounds // 3)
    res = interleaved(cmds, rounds, ctx.scratch)
    base = res["python"]
    part.row("processes: rounds", rounds)
    base_rss = peak_rss_mib(cmds[0].argv, cwd=ctx.scratch)
    part.row("python -c pass: wall ms; peak RSS", f"{walls(base).text(' ms', 1)}; "
             f"{base_rss:.1f} MiB")
    for c in cmds[1:]:
        r = spread(ratios(res[c.label], base))
        rss = peak_rss_mib(c.argv, cwd=ctx.scratch)
        part.row(f"{c.label}: wall / python -c pass; median wall; peak RSS",
                 f"{r.text('x')}; {walls(res[c.label]).median:.0f} ms; {rss:.1f} MiB")
        if c.label in {f"{a} {b}" for a, b in FORMATS}:
            what = c.label.replace(" ", " --format ")
            part.targets.append(Target(f"4096 vCPUs, 64 nodes: `{what}` / clean python "
                                       "start-up", "<= 10x", r.text("x"), r.median <= 10))
    _growth(ctx, part)
    return part


def _growth(ctx: Ctx, part: Part) -> None:
    """Growth measured in-process (typer's CliRunner in the venv), so start-up cost, which
    does not grow, neither hides nor inflates it."""
    lines = {"512x64": scale_line(512, 64), "4096x64": scale_line(4096, 64),
             "4096x1": scale_line(4096, 0)}
    path = ctx.path("scale-lines.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(lines, out)
    reps = 1 if ctx.quick else 7
    res = ctx.driver("scale", path, str(reps))
    assert isinstance(res, dict)
    part.row("in-process growth: runs per format and line; figure used",
             f"{reps}; the least CPU time (process_time) of the runs, which load disturbs least")
    worst_label, worst = "", 0.0
    for c, f in FORMATS:
        label = f"{c} {f}"
        t512, t4096, t1 = (min(cpu for _wall, cpu in res[k][label])
                           for k in ("512x64", "4096x64", "4096x1"))
        w512, w4096 = (statistics.median(w for w, _cpu in res[k][label])
                       for k in ("512x64", "4096x64"))
        growth = t4096 / t512
        if growth > worst:
            worst_label, worst = label, growth
        part.row(f"{label}: in-process CPU ms at 512 / 4096 vCPUs (64 nodes); growth; "
                 "4096 with 64 nodes / no NUMA; growth of median wall",
                 f"{t512 * 1000:.1f} / {t4096 * 1000:.1f} ms; {growth:.2f}x; {t4096 / t1:.2f}x; "
                 f"{w4096 / w512:.2f}x")
    part.targets.append(Target("growth 512 -> 4096 vCPUs with 64 NUMA nodes, worst format "
                               f"({worst_label}); linear is 8", "<= 10x (linear, with noise)",
                               f"{worst:.2f}x (least CPU time of {reps} runs each)",
                               worst <= 10))
