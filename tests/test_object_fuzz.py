"""Random -object lines against real QEMU: object types (known, unknown, unmakeable,
abstract), repeated ids in both syntaxes, late objects, and memory backends whose
prealloc-context names thread-contexts, other objects, paths and links. cmdxlate must
give QEMU's first error, or say it cannot tell on a line QEMU refuses.

The lines are drawn from a fixed seed, so a failure names a line that can be run again.
Left out on purpose: members of objects that are no memory backend (not modelled) and
memory-backend-epc (Debian's binaries lack SGX; cmdxlate never refuses it)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.oracle.qemu import QemuBinary, run_topology_queries
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

IDS = ("tc", "m0", "m1", "x", "io", "prealloc-context", "objects")
CONTEXTS = ("tc", "m0", "m1", "x", "prealloc-context", "m0/prealloc-context", "/objects/tc",
            "objects/m1", "", "machine", "nope", "/objects", "unattached", "/tc")
OTHERS = ("iothread", "secret", "s390-pv-guest", "pef-guest", "foo", "", "can-bus",
          "main-loop", "rng-egd", "rng-backend")


def _object(rnd: random.Random) -> list[str]:
    oid, as_json, k = rnd.choice(IDS), rnd.random() < 0.3, rnd.random()
    members: dict[str, object] = {}
    if k < 0.25:
        qom_type = "thread-context"
    elif k < 0.6:
        qom_type = rnd.choice(("memory-backend-ram", "memory-backend-memfd",
                               "memory-backend-ramm"))
        members["size"] = 67108864 if as_json else "64M"
        if rnd.random() < 0.7:
            members["prealloc-context"] = rnd.choice(CONTEXTS)
        if rnd.random() < 0.1:
            members["prealloc-threads"] = 0 if as_json else "0"
    else:
        qom_type = rnd.choice(OTHERS)
        if qom_type == "secret":
            members["data"] = "x"
        if qom_type == "rng-egd":
            members["chardev"] = "c0"
    if as_json:
        return ["-object", json.dumps({"qom-type": qom_type, "id": oid, **members},
                                      separators=(",", ":"))]
    pairs = [f"{key}={value}" for key, value in members.items()]
    return ["-object", ",".join([qom_type, f"id={oid}", *pairs])]


def lines(seed: int, count: int) -> list[list[str]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        argv = ["-m", "128M", "-chardev", "null,id=c0"]
        for _ in range(rnd.randint(1, 4)):
            argv += _object(rnd)
        if rnd.random() < 0.2:
            argv += ["-smp", rnd.choice(("9999", "2"))]
        out.append(argv)
    return out


def ours(argv: list[str], release: str) -> str | None:
    try:
        resolve(parse_argv(argv), release, "x86_64")
    except InputError as e:
        assert "cmdxlate does not model" in e.message, e.message
        return "cannot tell"
    except CmdxlateError as e:
        return e.message
    return None


def test_the_lines_reach_every_kind_of_answer() -> None:
    """The draw covers starts, both syntaxes' refusals and the links (offline, 10.0)."""
    answers = {ours(argv, "10.0") for argv in lines(2026, 60)}
    assert None in answers
    for part in ("does not accept value", "invalid object type", "duplicate property",
                 "Device '", "Invalid parameter type for 'prealloc-context'"):
        assert any(part in (a or "") for a in answers), part


@pytest.mark.qemu
@pytest.mark.parametrize("release", ("5.2", "7.2", "10.0", "11.1"))
def test_random_object_lines_match_qemu(release: str,
                                        qemu_release: Callable[[str, str], QemuBinary]
                                        ) -> None:
    drawn = lines(2026, 60)
    answers = run_topology_queries(qemu_release("x86_64", release), drawn)
    for argv, answer in zip(drawn, answers, strict=True):
        got = ours(argv, release)
        if got == "cannot tell":
            assert answer.startup_error is not None, argv
        else:
            assert got == answer.startup_error, argv
