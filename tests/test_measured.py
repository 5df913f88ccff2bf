"""cmdxlate against answers recorded from real QEMU binaries (tests/data/measured).

Each record is one command line run on a real QEMU of that release (paused under
TCG): QEMU's error text, or the slots query-hotpluggable-cpus listed and the CPUs
query-cpus-fast listed. cmdxlate, targeting that release, must give exactly the
same answer. No QEMU is needed to run these tests; the live differential tests in
test_qemu_diff.py ask the installed binaries about fresh lines.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.error import CmdxlateError, QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

DATA = Path(__file__).resolve().parent / "data" / "measured"
RELEASES = sorted(p.name.split(".jsonl")[0] for p in DATA.glob("*.jsonl.gz"))


def records(release: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(DATA / f"{release}.jsonl.gz", "rt", encoding="utf-8") as f:
        header = json.loads(f.readline())
        return header, [json.loads(line) for line in f]


# What every measured line ran with, before its own arguments, unless it carries its own
# (the records whose argv has -qmp): QEMU saw "-accel tcg", and so must cmdxlate.
BOILERPLATE = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-qmp", "stdio"]


def qemu_argv(rec: dict[str, Any]) -> list[str]:
    """The arguments QEMU was started with (the record's argv leaves the boilerplate out)."""
    argv: list[str] = rec["argv"]
    return argv if "-qmp" in argv else BOILERPLATE + argv


def outcome(rec: dict[str, Any], release: str) -> tuple[str, Any]:
    """cmdxlate's answer in the record's terms."""
    try:
        topo = resolve(parse_argv(qemu_argv(rec)), release, rec["arch"])
    except QemuRefusal as e:
        return "error", e.message
    except CmdxlateError as e:
        return "refused", e.message
    try:
        slots = topo.hotpluggable_cpus()
    except QemuRefusal:
        slots = None
    cpus = [[c["cpu-index"], c["props"]] for c in topo.present_cpus()]
    return "ok", (slots, cpus)


def mismatch(rec: dict[str, Any], release: str) -> str | None:
    kind, ours = outcome(rec, release)
    if rec["help"]:
        # QEMU printed a list and exited: there is no topology, and cmdxlate says so.
        return None if kind == "refused" and "prints help" in ours else f"help; ours: {ours}"
    if rec["exit"] < 0 and rec["error"] is None:
        # QEMU crashed without a message: cmdxlate refuses the line in its own words.
        return None if kind == "refused" else f"QEMU crashes (signal {-rec['exit']}); ours: {ours}"
    if rec["exit"] != 0:
        if kind != "error" or ours != rec["error"]:
            return f"QEMU: {rec['error']!r}\n    ours ({kind}): {ours!r}"
        return None
    if kind != "ok":
        return f"QEMU accepts; ours ({kind}): {ours!r}"
    slots, cpus = ours
    if rec["slots"] is not None and slots != rec["slots"]:
        return f"slots differ:\n    QEMU {rec['slots']}\n    ours {slots}"
    if rec["slots"] is None and slots is not None:
        return "QEMU has no CPU hotplug for this machine; ours lists slots"
    if rec["cpus"] is not None and cpus != rec["cpus"]:
        return f"query-cpus-fast differs:\n    QEMU {rec['cpus']}\n    ours {cpus}"
    return None


@pytest.mark.parametrize("release", RELEASES)
def test_every_measured_line(release: str) -> None:
    header, recs = records(release)
    assert header["records"] == len(recs) > 100
    bad = []
    for rec in recs:
        why = mismatch(rec, release)
        if why is not None:
            bad.append(f"{rec['id']} [{rec['arch']}] {' '.join(rec['argv'])}\n    {why}")
    assert not bad, f"{len(bad)} of {len(recs)} lines differ from QEMU {header['point']}:\n" + (
        "\n".join(bad[:40]))
