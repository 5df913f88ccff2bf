"""Text views for people: tables, the explain tree, the verify report.

Everything that came from the input is shown with control characters escaped,
so a command line cannot move the cursor or retitle the terminal. Small views
use rich on a terminal; large ones, and any view written to a pipe or a file, are plain
tab-separated lines (rich's import and layout cost more than the answer).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cmdxlate.cli.common import visible

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from cmdxlate.emit.plan import Plan
    from cmdxlate.oracle.verify import VerifyReport
    from cmdxlate.resolver.topology import Topology
    from cmdxlate.syntax.argv import CommandLine

RICH_ROWS = 256  # above this, plain text


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    if len(rows) > RICH_ROWS or not sys.stdout.isatty():
        out = [visible(title), "\t".join(columns)]
        out += ["\t".join(visible(c) for c in row) for row in rows]
        sys.stdout.write("\n".join(out) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(visible(title)))
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text(visible(c)) for c in row))
    Console().print(table)


def parse_view(cl: CommandLine, options: list[dict[str, Any]]) -> None:
    rows: list[tuple[str, ...]] = []
    for o in options:
        if "pairs" in o:
            desc = ", ".join(f"{k}={v}" for k, v in o["pairs"])
        elif "json" in o:
            import json

            desc = "JSON " + json.dumps(o["json"])
        else:
            desc = " ".join(o["args"][1:]) if o["option"] else o["args"][0]
        name = o["args"][0] if o["option"] else "(argument)"
        if o.get("known") is False:
            name += " (unknown)"
        rows.append((str(o["index"]), name, desc))
    if cl.binary:
        sys.stdout.write(f"binary: {visible(cl.binary)}  arch: {cl.arch}\n")
    _table("QEMU options", ("#", "option", "value / pairs"), rows)


def slots_table(machine: str, answer: list[dict[str, Any]], live: str | None = None) -> None:
    """The slots in QEMU's order; a live VM's (``live`` says which) with its qom-paths."""
    rows = [(e["type"], str(e["vcpus-count"]),
             ", ".join(f"{k}={v}" for k, v in e["props"].items()),
             e.get("qom-path", "") if live else "yes" if e["plugged"] else "") for e in answer]
    if live:
        sys.stdout.write(visible(live) + "\n")
    _table(f"{machine}: {len(answer)} CPU slots (QEMU's order)",
           ("type", "vcpus", "props", "plugged: qom-path" if live else "plugged"), rows)


def plan_view(plan: Plan, line: str) -> None:
    """The plan for a person: the line to start, then each command in order."""
    out = [f"2. then send over QMP, in this order ({len(plan.commands)} command"
           f"{'' if len(plan.commands) == 1 else 's'}):"]
    for n, c in enumerate(plan.commands, 1):
        args = c["arguments"]
        out.append(visible(f"   {n}. device_add "
                           + " ".join(f"{k}={v}" for k, v in args.items())))
    out.append(f"the VM then has {plan.cpus} present CPUs; 'cont' starts the guest")
    # ``line`` is shell output already: quoted, control characters written as escapes
    sys.stdout.write(f"1. start QEMU paused (-S) with {plan.boot_cpus} boot CPU"
                     f"{'s' if plan.boot_cpus > 1 else ''}:\n{line.rstrip()}\n"
                     + "\n".join(out) + "\n")


def explain_tree(topo: Topology) -> None:
    from cmdxlate.emit.explain import tree_lines

    lines = tree_lines(topo)
    if len(lines) > RICH_ROWS or not sys.stdout.isatty():
        sys.stdout.write("\n".join("  " * depth + visible(text) for depth, text in lines)
                         + "\n")
        return
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    root = Tree(Text(visible(lines[0][1])))
    stack: list[Tree] = [root]
    for depth, text in lines[1:]:
        del stack[depth:]
        stack.append(stack[-1].add(Text(visible(text))))
    Console().print(root)


def verify_report(report: VerifyReport) -> None:
    out = sys.stdout
    qemu = visible(report.qemu)
    if report.equal:
        out.write(f"equal: QEMU ({qemu}) reports the same CPUs for the original and the "
                  "converted line\n")
    else:
        out.write(f"different: QEMU ({qemu}) reports different CPUs\n")
        for d in report.differences:
            out.write(f"  - {visible(d)}\n")
    if report.prediction_matches is False:
        out.write("note: cmdxlate's own prediction differs from QEMU's answer\n")
    for note in report.notes:
        out.write(f"note: {visible(note)}\n")
