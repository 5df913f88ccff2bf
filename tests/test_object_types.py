"""-object qom-types a release does not know or a binary cannot make, against measured
answers (tests/data/object-types-measured.json: 5.2, 7.2, 10.0 and 11.1 on x86_64, and
other binaries), and the releases between, read from the catalog's table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.catalog.object_types import enum_names, made_names
from cmdxlate.catalog.version import Version
from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.oracle.qemu import QemuBinary, run_topology_queries
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

DATA = json.loads((Path(__file__).parent / "data" / "object-types-measured.json").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
ARCHES: list[dict[str, Any]] = DATA["arches"]


def ours(argv: list[str], release: str, arch: str = "x86_64") -> str | None:
    try:
        resolve(parse_argv(argv), release, arch)
    except InputError as e:
        assert "depends on members cmdxlate does not model" in e.message
        return "cannot tell"  # on a line QEMU refuses either way
    except CmdxlateError as e:
        return e.message
    return None


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_object_types_match_measured(case: dict[str, Any]) -> None:
    """QEMU's answer, except where the data says why cmdxlate answers otherwise (a type
    these Debian binaries lack on this host and others make)."""
    for release, answer in case["error"].items():
        expected = case.get("cmdxlate", {}).get(release, answer)
        assert ours(case["argv"], release) == expected, release
        if expected == "cannot tell":
            assert answer is not None


def test_a_type_that_depends_on_the_host_is_not_refused_where_it_may_exist() -> None:
    """s390-pv-guest is built with s390x KVM only: on s390x it is unsure, elsewhere
    QEMU never makes it (measured on x86_64, ppc64, aarch64)."""
    line = ["-object", "s390-pv-guest,id=pv"]
    assert ours(line, "10.0", "s390x") is None
    assert ours(line, "10.0", "x86_64") == "invalid object type: s390-pv-guest"
    assert ours(line, "5.2", "s390x") == "-object s390-pv-guest,id=pv: invalid object type: " \
                                         "s390-pv-guest"  # a type since 6.0


@pytest.mark.parametrize("case", ARCHES, ids=[f"{c['arch']}-{c['release']}-{i}"
                                              for i, c in enumerate(ARCHES)])
def test_other_binaries_match_measured(case: dict[str, Any]) -> None:
    assert ours(case["argv"], case["release"], case["arch"]) == case["error"]


def test_the_data_covers_both_refusals_and_their_order() -> None:
    answers = " ".join(a or "" for c in CASES for a in c["error"].values())
    for part in ("does not accept value 'foo'", "invalid object type: s390-pv-guest",
                 "-object foo,id=x: invalid object type: foo", "Parameter 'id' is missing",
                 "Parameter 'id' expects an identifier", "Duplicate ID"):
        assert part in answers, part


@pytest.mark.parametrize(("release", "name", "known"), [
    ("6.0", "thread-context", False), ("7.2", "thread-context", True),
    ("6.1", "memory-backend-epc", False), ("6.2", "memory-backend-epc", True),
    ("8.2", "iommufd", False), ("9.0", "iommufd", True),
    ("9.0", "memory-backend-shm", False), ("9.1", "memory-backend-shm", True),
    ("10.0", "tdx-guest", False), ("10.1", "tdx-guest", True),
    ("8.0", "secret", True), ("9.2", "foo", False),
])
def test_releases_between_take_the_enum_from_their_sources(release: str, name: str,
                                                           known: bool) -> None:
    """Read in qapi/qom.json (the first release of each type): a name the measured
    releases around one disagree on is decided by it."""
    names = enum_names(Version.parse(release))
    assert names is not None and names.lacks(name) is not known


def test_what_cannot_be_decided_is_never_refused() -> None:
    """11.0: monitor-qmp is in 11.1's enum, not in 10.2's source; igvm-cfg is a build
    option Debian leaves out (from 10.1). Neither is refused; 6.0's and 6.1's words
    are the old enum error."""
    assert not enum_names(Version.parse("11.0")).lacks("monitor-qmp")  # type: ignore[union-attr]
    assert not enum_names(Version.parse("10.1")).lacks("igvm-cfg")  # type: ignore[union-attr]
    assert enum_names(Version.parse("10.0")).lacks("igvm-cfg")  # type: ignore[union-attr]
    assert ours(["-object", "foo,id=x"], "6.1") == "-object foo,id=x: Invalid parameter 'foo'"
    assert ours(["-object", "monitor-qmp,id=x,chardev=c", "-chardev", "null,id=c"],
                "11.0") is None
    # 8.0 on aarch64: no release before 10.0 was measured there, so nothing is refused.
    assert made_names(Version.parse("8.0"), "aarch64") is None


@pytest.mark.qemu
@pytest.mark.parametrize("release", ("5.2", "7.2", "10.0", "11.1"))
def test_qemu_still_answers_so(release: str,
                               qemu_release: Callable[[str, str], QemuBinary]) -> None:
    cases = [c for c in CASES if release in c["error"]]
    answers = run_topology_queries(qemu_release("x86_64", release), [c["argv"] for c in cases])
    for case, answer in zip(cases, answers, strict=True):
        assert answer.startup_error == case["error"][release], case["argv"]
