"""Where the time goes: ``-X importtime`` and cProfile on the clean venv's cmdxlate.

``python benchmarks/run.py profile`` prints, for ``convert`` and ``slots --format json``
on the typical line and for ``batch`` over the corpora:

* start-up split: clean ``python -c pass``, ``import cmdxlate.cli.app`` (the CLI's
  imports), and the whole command, medians of interleaved runs;
* import time by top-level package and the slowest modules (self time);
* cProfile's top functions by own time and by cumulative time.

The ``.prof`` files stay in benchmarks/.prof/ (git-ignored) for snakeviz or pstats.
"""

from __future__ import annotations

import io
import pstats
import re
import subprocess
from collections import defaultdict
from pathlib import Path

from harness import BENCH, Cmd, Ctx, clean_env, interleaved, walls
from startup import TYPICAL
from throughput import corpus_lines

PROF_DIR = BENCH / ".prof"
_IMPORT = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _importtime(ctx: Ctx, args: tuple[str, ...]) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) for every import of one run."""
    res = subprocess.run([ctx.venv.python, "-X", "importtime", ctx.venv.script, *args],
                         cwd=ctx.scratch, env=clean_env(), capture_output=True, text=True,
                         check=False)
    rows = []
    for line in res.stderr.splitlines():
        m = _IMPORT.match(line)
        if m:
            rows.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    return rows


def import_summary(ctx: Ctx, args: tuple[str, ...], top: int = 15) -> str:
    rows = _importtime(ctx, args)
    by_pkg: dict[str, int] = defaultdict(int)
    for self_us, _cum, _depth, mod in rows:
        by_pkg[mod.split(".")[0]] += self_us
    total = sum(r[0] for r in rows)
    out = [f"  imports: {len(rows)} modules, {total / 1000:.1f} ms (sum of self times)",
           "  by top-level package (self ms): " + ", ".join(
               f"{k} {v / 1000:.1f}" for k, v in sorted(by_pkg.items(), key=lambda kv: -kv[1])
               [:12])]
    out.append("  slowest modules (self ms / cumulative ms):")
    for self_us, cum, _d, mod in sorted(rows, key=lambda r: -r[0])[:top]:
        out.append(f"    {self_us / 1000:7.1f} {cum / 1000:7.1f}  {mod}")
    first = [r for r in rows if r[2] == 0]
    out.append("  top-level imports, largest first (cumulative ms): " + ", ".join(
        f"{m} {c / 1000:.1f}" for _s, c, _d, m in sorted(first, key=lambda r: -r[1])[:8]))
    return "\n".join(out)


def profile_summary(ctx: Ctx, name: str, args: tuple[str, ...], top: int = 18) -> str:
    PROF_DIR.mkdir(exist_ok=True)
    prof = PROF_DIR / f"{name}.prof"
    subprocess.run([ctx.venv.python, "-m", "cProfile", "-o", str(prof), ctx.venv.script, *args],
                   cwd=ctx.scratch, env=clean_env(), capture_output=True, check=False)
    text = []
    for key, only in (("tottime", ""), ("cumulative", "cmdxlate/")):
        buf = io.StringIO()
        st = pstats.Stats(str(prof), stream=buf).sort_stats(key)
        if only:
            st.print_stats(only, top)
        else:
            st.print_stats(top)
        body = buf.getvalue()
        body = body.replace(str(ctx.venv.path), "VENV").replace(
            "VENV/lib/python3.", "VENV/lib/py3.")
        body = re.sub(r"VENV/lib/py3\.\d+/site-packages/", "", body)
        lines = body.splitlines()
        start = next((i for i, x in enumerate(lines) if "ncalls" in x), 0)
        total = next((x.strip() for x in lines if "function calls" in x), "")
        text.append(f"  by {key}{' (cmdxlate functions only)' if only else ''} ({total}):")
        text += ["    " + x[:150] for x in lines[start:] if x.strip()]
    text.append(f"  profile kept in {prof}")
    return "\n".join(text)


def startup_split(ctx: Ctx, args: tuple[str, ...]) -> str:
    rounds = 3 if ctx.quick else 11
    res = interleaved([Cmd("python -c pass", ctx.py("-c", "pass")),
                       Cmd("import cmdxlate.cli.app", ctx.py("-c", "import cmdxlate.cli.app")),
                       Cmd("command", ctx.cli(*args))], rounds, ctx.scratch)
    py, imp, cmd = (walls(res[k]).median for k in res)
    return (f"  medians of {rounds} interleaved runs: python -c pass {py:.1f} ms; "
            f"+ import cmdxlate.cli.app {imp - py:.1f} ms; + the command's own work "
            f"{cmd - imp:.1f} ms; total {cmd:.1f} ms")


def run_profile(ctx: Ctx) -> str:
    unique, _counts = corpus_lines(ctx)
    big = Path(ctx.path("profile-batch.jsonl"))
    big.write_text(unique.read_text() * (1 if ctx.quick else 4))
    commands = {
        "convert": ("convert", "--", *TYPICAL),
        "slots-json": ("slots", "--format", "json", "--", *TYPICAL),
        "batch": ("batch", str(big), "-o", ctx.path("profile-out.jsonl"), "--force"),
    }
    out = []
    for name, args in commands.items():
        out.append(f"## {name}: cmdxlate {' '.join(args[:4])} ...")
        if name != "batch":
            out.append(startup_split(ctx, args))
            out.append(import_summary(ctx, args))
        out.append(profile_summary(ctx, name, args))
        out.append("")
    return "\n".join(out)
