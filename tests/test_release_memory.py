"""Guest memory per release (-object memory backends with their host-nodes and policy and
the members their type lacks, object ids, -m maxmem and slots) against measured answers.

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
from cmdxlate.oracle.qemu import QemuBinary, run_topology_queries
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
                 "Parameter 'slots' expects a number", "Parameter 'foo' is unexpected",
                 "Property 'memory-backend-ram.foo' not found", "Insufficient permission",
                 "Invalid parameter 'mem-path'", "Invalid parameter 'rom'",
                 "Parameter 'memory.size' expects size", "too large 'size' option value",
                 "Parameter 'share' expects 'on' or 'off'", "expects uint32_t",
                 "Invalid parameter type for 'share', expected: boolean",
                 "Parameter 'rom' does not accept value", "doesn't take value '0'"):
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
    # 10.0 is asked every line; the others every second one (alternating), which keeps
    # each line asked at least twice and the suite short. Aborting QEMUs are slow to
    # reap: their lines are checked offline only.
    picked = CASES if release == "10.0" else CASES[RELEASES.index(release) % 2::2]
    cases = [c for c in picked if not (c["error"][release] or "").startswith("crash")]
    answers = run_topology_queries(binary, [c["argv"] for c in cases])
    for case, answer in zip(cases, answers, strict=True):
        assert answer.startup_error == case["error"][release], case["argv"]


@pytest.mark.parametrize("release", ("7.2", "10.0", "11.1"))
def test_a_nul_in_a_member_name_is_hashed_as_qemus_bytes(release: str) -> None:
    """JSON's \\u0000 is the bytes C0 80 in QEMU (kept as two surrogates here): hashing the
    names must not fail, and QEMU's choice among unknown members and its bytes come out
    (measured on 7.2.22, 10.0.2 and 11.1.3; the oracle decodes C0 80 as two U+FFFD)."""
    head = '{"qom-type":"memory-backend-ram","id":"m0","size":67108864,'
    for members, named in (('"a\\u0000":1,"b":2', "b"),
                           ('"\\u0000z":1,"zz\\u0000":2,"q":3', "zz\udcc0\udc80")):
        value = head + members + "}"
        got = ours(["-m", "64M", "-object", value, "-numa", "node,memdev=m0"], release)
        assert got == f"-object {value}: Parameter '{named}' is unexpected"
        assert got.encode("utf-8", "surrogateescape").endswith(
            named.encode("utf-8", "surrogateescape") + b"' is unexpected")


@pytest.mark.parametrize(("argv", "warning", "first"), [
    (["-m", "0x10M"], "0x10M", "6.0"),
    # Read again as 0x40M by the machine's memory property, which 6.1 brought.
    (["-m", "0x40"], "0x40M", "6.1"),
    (["-m", "64M", "-object", "memory-backend-ram,id=m0,size=0x40M", "-numa", "node,memdev=m0"],
     "0x40M", "6.0"),
])
def test_hex_sizes_with_a_suffix_warn_until_7_2(argv: list[str], warning: str,
                                                first: str) -> None:
    """Measured on 7.2.22 (QEMU takes the size and warns); 5.2 takes it silently, 10.0 and
    11.1 refuse it (tests/data/memory-measured.json)."""
    text = f"Using a multiplier suffix on hex numbers is deprecated: {warning}"
    for release in (first, "7.2"):
        assert text in resolve(parse_argv(argv), release, "x86_64").warnings
    assert not any("multiplier" in w for w in resolve(parse_argv(argv), "5.2", "x86_64").warnings)
    assert ours(argv, "10.0") is not None
