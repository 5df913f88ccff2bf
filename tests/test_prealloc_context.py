"""A memory backend's prealloc-context against QEMU's measured answers.

tests/data/prealloc-context-measured.json holds QEMU's answer for each line on 5.2, 7.2,
10.0 and 11.1 (x86_64), for a few names on other boards (10.0 and 11.1), and which names
of each board's QOM tree exist when the backends are made. cmdxlate must give QEMU's
answer, or, where its words depend on what cmdxlate does not model, say it cannot tell
(exit 2) on a line QEMU refuses. The ``qemu`` test asks the binaries again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.catalog import Catalog
from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.model.links import ALWAYS_THERE, BOARD_CHILDREN, ROOT_CHILDREN
from cmdxlate.oracle.qemu import QemuBinary, run_topology_queries
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

DATA = json.loads((Path(__file__).parent / "data" / "prealloc-context-measured.json").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
BOARDS: list[dict[str, Any]] = DATA["boards"]
RELEASES = ("5.2", "7.2", "10.0", "11.1")
CANNOT_TELL = "cannot tell"


def ours(argv: list[str], release: str, arch: str = "x86_64") -> str | None:
    try:
        resolve(parse_argv(argv), release, arch)
    except InputError as e:
        assert "QEMU's words for it depend on objects cmdxlate does not model" in e.message
        return CANNOT_TELL
    except CmdxlateError as e:
        return e.message
    return None


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_prealloc_context_matches_measured(case: dict[str, Any], release: str) -> None:
    measured = case["error"][release]
    got = ours(case["argv"], release)
    if got == CANNOT_TELL:
        assert measured is not None  # only where QEMU refuses the line anyway
    else:
        assert got == measured


def test_cannot_tell_is_rare() -> None:
    """Saying 'cannot tell' is for the monitor's chardevs and 7.2's lazy containers."""
    told = [(c["argv"], r) for c in CASES for r in RELEASES
            if ours(c["argv"], r) == CANNOT_TELL]
    assert 0 < len(told) <= 6, told


@pytest.mark.parametrize("case", BOARDS, ids=[f"{b['arch']}-{b['release']}-{i}"
                                              for i, b in enumerate(BOARDS)])
def test_board_names_match_measured(case: dict[str, Any]) -> None:
    assert ours(case["argv"], case["release"], case["arch"]) == case["error"]


@pytest.mark.parametrize("board", sorted(DATA["trees"]))
def test_the_names_each_board_has_are_modelled(board: str) -> None:
    """Every name a measured tree has when the backends are made is one cmdxlate knows:
    a root container, one every board has, a chardev of the oracle's monitor, or the
    board's own; and the board's own are exactly those."""
    arch, machine = board.split()
    catalog = Catalog.builtin()
    family = catalog.machine(machine, arch, catalog.release("10.0")).family.name
    found = set(DATA["trees"][board]["found"]) - {"compat_monitor0"}
    assert found - ROOT_CHILDREN - ALWAYS_THERE == BOARD_CHILDREN[family]
    assert ROOT_CHILDREN | ALWAYS_THERE <= found


def test_a_later_thread_context_is_found_and_a_later_backend_is_not() -> None:
    """Every object but memory backends and the late types is made first (measured)."""
    tc = ["-object", "thread-context,id=tc"]
    ram = "memory-backend-ram,id=m0,size=64M,prealloc-context="
    assert ours(["-object", ram + "tc", *tc], "10.0") is None
    assert ours(["-object", ram + "m1", "-object", "memory-backend-ram,id=m1,size=1M"],
                "10.0") == "Device 'm1' not found"


@pytest.mark.qemu
@pytest.mark.parametrize("release", RELEASES)
def test_qemu_still_answers_so(release: str,
                               qemu_release: Callable[[str, str], QemuBinary]) -> None:
    binary = qemu_release("x86_64", release)
    answers = run_topology_queries(binary, [c["argv"] for c in CASES])
    for case, answer in zip(CASES, answers, strict=True):
        assert answer.startup_error == case["error"][release], case["argv"]
