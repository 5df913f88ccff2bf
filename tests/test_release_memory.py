"""Guest memory per release (-object memory backends with their host-nodes and policy,
object ids, -m maxmem and slots) against measured answers.

tests/data/memory-measured.json holds QEMU's own answer (error text, null when it
starts, or an abort) for each line on 5.2, 7.2, 10.0 and 11.1.  The offline test
checks cmdxlate against it; the ``qemu`` test asks the installed binaries again, so
the data cannot drift from what QEMU says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.oracle.qemu import QemuBinary, run_topology_query
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

DATA = json.loads((Path(__file__).parent / "data" / "memory-measured.json").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
RELEASES = ("5.2", "7.2", "10.0", "11.1")


def ours(argv: list[str], release: str) -> str | None:
    """cmdxlate's answer in the data's terms: QEMU's text, None, or the crash it names."""
    try:
        resolve(parse_argv(argv), release, "x86_64")
    except InputError as e:
        if "crashes on this line (SIGABRT)" in e.message:
            return "crash: SIGABRT"
        raise
    except CmdxlateError as e:
        return e.message
    return None


def test_the_data_covers_every_kind() -> None:
    """Refusals at argv time and at creation, starts, and an abort, on every release."""
    answers = [c["error"][r] for c in CASES for r in RELEASES]
    assert len(CASES) >= 40 and None in answers and "crash: SIGABRT" in answers
    texts = " ".join(a for a in answers if a)
    for part in ("Duplicate ID", "is missing", "expects uint64", "expects a size value",
                 "doesn't take value '0'", "can't be used multiple times",
                 "attempt to add duplicate property", "mem-path property not set",
                 "slots specified but no max-size", "invalid value of -m option maxmem",
                 "host-nodes must be set for policy bind", "host-nodes must be empty",
                 "Invalid host-nodes value: 128", "expects a uint64 value or range",
                 "Parameter 'policy' does not accept value", "Invalid parameter 'foo'",
                 "Parameter 'host-nodes[0]' expects uint64", "Parameter 'null' expects uint16_t",
                 "is out of range for parameter 'size'", "Parameter 'qom-type' is missing",
                 "Parameter 'slots' expects a number", "Invalid parameter 'foo'"):
        assert part in texts, part


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_objects_match_measured(case: dict[str, Any], release: str) -> None:
    assert ours(case["argv"], release) == case["error"][release]


@pytest.mark.qemu
@pytest.mark.parametrize("release", RELEASES)
def test_qemu_still_answers_so(release: str,
                               qemu_release: Callable[[str, str], QemuBinary]) -> None:
    binary = qemu_release("x86_64", release)
    for case in CASES:
        expected = case["error"][release]
        if expected is not None and expected.startswith("crash"):
            continue  # aborting QEMUs are slow to reap; cmdxlate's side is checked offline
        assert run_topology_query(binary, case["argv"]).startup_error == expected, case
