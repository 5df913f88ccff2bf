"""-smp in every QEMU release 5.2 ... 11.1: each release behaviour at its boundaries.

Each expectation names where it comes from: ``m`` measured on a real binary (5.2.0,
7.2.22, 10.0.2, 11.1.3; the fresh lines are in tests/data/measured-smp), ``r`` read in
QEMU's source at that release or in the patch on qemu-devel that changed it (the
evidence strings of data/releases.json say which), ``i`` inferred from its neighbours.
Releases without a binary (6.0-7.1, 8.x, 9.x, 10.1, 10.2, 11.0) are asserted from ``r``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.catalog import Catalog
from cmdxlate.error import CmdxlateError, QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv
from cmdxlate.syntax.source import expand_readconfig

ALL = ("5.2", "6.0", "6.1", "6.2", "7.0", "7.1", "7.2", "8.0", "8.1", "8.2", "9.0", "9.1",
       "9.2", "10.0", "10.1", "10.2", "11.0", "11.1")
DATA = Path(__file__).resolve().parent / "data" / "measured-smp"
PC52 = ["-M", "pc-i440fx-5.2"]


CATALOG = Catalog.builtin()


def test_every_release_is_a_target() -> None:
    assert [str(v) for v in CATALOG.targets] == list(ALL)


def answer(argv: list[str], release: str, arch: str = "x86_64") -> str:
    """QEMU's error text (with its location), 'help', 'crash', or 'ok N' for N CPUs."""
    try:
        topo = resolve(parse_argv(argv), release, arch, CATALOG)
    except QemuRefusal as e:
        return e.message
    except CmdxlateError as e:
        if "prints help" in e.message:
            return "help"
        if "crashes" in e.message:
            return "crash"
        raise
    return f"ok {len(topo.present_cpus())}"


def span(first: str, last: str) -> list[str]:
    return list(ALL[ALL.index(first):ALL.index(last) + 1])


def cases(*parts: tuple[str, str, str]) -> list[tuple[str, str]]:
    """(first, last, expected) runs covering every release once, as (release, expected)."""
    out = [(rel, want) for first, last, want in parts for rel in span(first, last)]
    assert [r for r, _ in out] == list(ALL)
    return out


# ------------------------------------------------------------------ the behaviour table

@pytest.mark.parametrize("name,first,last", [
    ("smp-qemuopts-parse", "5.2", "6.0"),
    ("smp-qemuopts-id-rejected", "6.0", "6.0"),
    ("qemuopts-help-flag-only", "6.0", "11.1"),
    ("smp-keyval-parse", "6.1", "11.1"),
    ("machine-smp-property-absent", "5.2", "6.0"),
    ("machine-smp-property", "6.1", "11.1"),
    ("processing-order-6.1", "6.1", "11.1"),
    ("smp-legacy-parser", "5.2", "6.0"),
    ("smp-legacy-parser-6.1", "6.1", "6.1"),
    ("smp-generic-parser", "6.2", "11.1"),
    ("smp-zero-warns", "6.2", "8.2"),
    ("smp-zero-is-error", "9.0", "11.1"),
    ("smp-unsupported-level-not-supported", "6.2", "8.2"),
    ("smp-unsupported-level-gt1", "9.0", "11.1"),  # 9.0 modelled as 9.0.2
])
def test_behaviour_spans(name: str, first: str, last: str) -> None:
    have = [v for v in ALL if CATALOG.release(v).has(name)]
    assert have == span(first, last)


def test_every_release_has_exactly_one_parser_and_syntax() -> None:
    for v in ALL:
        r = CATALOG.release(v)
        assert sum(r.has(n) for n in ("smp-legacy-parser", "smp-legacy-parser-6.1",
                                      "smp-generic-parser")) == 1
        assert r.has("smp-qemuopts-parse") != r.has("smp-keyval-parse")
        assert r.has("machine-smp-property") != r.has("machine-smp-property-absent")


@pytest.mark.parametrize("release,keys", [
    ("5.2", "cpus sockets dies cores threads maxcpus"),  # m 5.2.0
    ("6.1", "cpus sockets dies cores threads maxcpus"),  # r 6.1 SMPConfiguration
    ("7.0", "cpus sockets dies clusters cores threads maxcpus"),  # r clusters 7.0
    ("8.1", "cpus sockets dies clusters cores threads maxcpus"),
    ("8.2", "cpus drawers books sockets dies clusters cores threads maxcpus"),  # r 8.2
    ("9.0", "cpus drawers books sockets dies clusters cores threads maxcpus"),
    ("9.1", "cpus drawers books sockets dies clusters modules cores threads maxcpus"),  # r
    ("11.1", "cpus drawers books sockets dies clusters modules cores threads maxcpus"),  # m
])
def test_smp_keys_per_release(release: str, keys: str) -> None:
    assert CATALOG.release(release).fact("smp_keys") == keys.split()


# ------------------------------------------------------------------ syntax: QemuOpts or keyval

MODULES = "-smp 8,modules=2: Invalid parameter 'modules'"


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", MODULES),  # m 5.2.0 smp-0034; i 6.0
    ("6.1", "9.0", "Parameter 'smp.modules' is unexpected"),  # m 7.2.22; r 6.1
    ("9.1", "11.1", "ok 8"),  # m 10.0.2 / 11.1.3: x86 has modules from 9.1
))
def test_unknown_key(release: str, want: str) -> None:
    assert answer(["-M", "pc-i440fx-5.2", "-smp", "8,modules=2"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "-smp 8,clusters=2: Invalid parameter 'clusters'"),  # m 5.2.0
    ("6.1", "6.2", "Parameter 'smp.clusters' is unexpected"),  # r: clusters are 7.0
    ("7.0", "8.2", "clusters not supported by this machine's CPU topology"),  # m 7.2.22
    ("9.0", "11.1", "clusters > 1 not supported by this machine's CPU topology"),  # m 10.0.2
))
def test_clusters_on_pc(release: str, want: str) -> None:
    assert answer(["-M", "pc-i440fx-5.2", "-smp", "8,clusters=2"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "-smp 8,books=1: Invalid parameter 'books'"),  # m 5.2.0 s390-0658
    ("6.1", "8.1", "Parameter 'smp.books' is unexpected"),  # m 7.2.22
    ("8.2", "11.1", "ok 8"),  # r 8.2: a level of 1 passes; 9.0.2+ never warned for 1
))
def test_level_of_one(release: str, want: str) -> None:
    assert answer(["-M", "pc-i440fx-5.2", "-smp", "8,books=1"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "5.2", "ok 1"),  # m 5.2.0 smp-0064: the named group is never read
    ("6.0", "6.0", "-smp 4,id=x: Invalid parameter 'id'"),  # r PULL 29/31 (6.0)
    ("6.1", "11.1", "Parameter 'smp.id' is unexpected"),  # m 7.2.22, 10.0.2, 11.1.3
))
def test_id(release: str, want: str) -> None:
    assert answer(["-smp", "4,id=x"], release) == want


def test_named_group_on_52_leaves_the_other_options() -> None:
    assert answer(["-smp", "2", "-smp", "4,id=x"], "5.2") == "ok 2"  # m smpx-0053
    assert answer(["-smp", "4,id=x", "-smp", "2"], "5.2") == "ok 2"  # m smpx-0054
    assert answer(["-smp", "4,id=1x"], "5.2") == (  # m smpx-0013
        "-smp 4,id=1x: Parameter 'id' expects an identifier")


@pytest.mark.parametrize("smp,release,want", [
    ("4,,sockets=2", "5.2", "-smp 4,,sockets=2: Parameter 'cpus' expects a number"),  # m
    ("4,,sockets=2", "6.0", "-smp 4,,sockets=2: Parameter 'cpus' expects a number"),  # i
    ("4,,sockets=2", "6.1", "-smp 4,,sockets=2: Invalid parameter ''"),  # r keyval
    ("4,,sockets=2", "10.0", "-smp 4,,sockets=2: Invalid parameter ''"),  # m
    ("4,foo", "5.2", "-smp 4,foo: Invalid parameter 'foo'"),  # m
    ("4,foo", "7.2", "-smp 4,foo: Expected '=' after parameter 'foo'"),  # m
    ("4,cpus", "5.2", "-smp 4,cpus: Parameter 'cpus' expects a number"),  # m smpx-0017
    ("4k", "6.0", "-smp 4k: Parameter 'cpus' expects a number"),  # i
    ("4k", "6.1", "Parameter 'smp.cpus' expects integer"),  # r
    ("18446744073709551616", "5.2",  # m smpx-0019: strtoull's ERANGE
     "-smp 18446744073709551616: Value '18446744073709551616' is too large for parameter "
     "'cpus'"),
    ("18446744073709551616", "9.2", "Parameter 'smp.cpus' expects integer"),  # r
    ("-18446744073709551615", "5.2", "ok 1"),  # m smpx-0020: strtoull wraps
    ("4294967298", "5.2", "ok 2"),  # m smpx-0002: stored into an unsigned
    ("4294967298", "8.0", "ok 2"),  # r
    ("0x8,sockets=010", "6.0", "ok 8"),  # i; m 5.2.0 smpx-0023
    ("cpus=4,cpus.x=1", "6.1", "-smp cpus=4,cpus.x=1: Parameters 'cpus.*' used inconsistently"),
    ("cpus=4,cpus.x=1", "6.0", "-smp cpus=4,cpus.x=1: Invalid parameter 'cpus.x'"),  # m 5.2
])
def test_option_syntax(smp: str, release: str, want: str) -> None:
    assert answer(["-smp", smp], release) == want


@pytest.mark.parametrize("smp,release,want", [
    ("4,help", "5.2", "help"),  # m help-0426 (exit 1)
    ("4,help", "6.0", "help"),  # r PULL 30/31
    ("4,help", "6.1", "help"),  # m 7.2.22 (exit 0)
    ("help", "5.2", "-smp help: Parameter 'cpus' expects a number"),  # m help-0425
    ("help", "6.0", "-smp help: Parameter 'cpus' expects a number"),  # r: the implied value
    ("help", "6.1", "help"),  # m 7.2.22
    ("4,help=1", "5.2", "help"),  # m smpx-0015: any unknown key spelt help asks for help
    ("4,nohelp", "5.2", "help"),  # m smpx-0016
    ("4,help=1", "6.0", "-smp 4,help=1: Invalid parameter 'help'"),  # r PULL 30/31
    ("4,nohelp", "6.0", "-smp 4,nohelp: Invalid parameter 'help'"),  # r PULL 30/31
    ("4,help=1", "6.1", "Parameter 'smp.help' is unexpected"),  # m 7.2.22
])
def test_help(smp: str, release: str, want: str) -> None:
    assert answer(["-smp", smp], release) == want


def test_help_exits_before_later_options_are_read() -> None:
    for release in ("5.2", "7.2", "11.1"):  # m smpx-0069
        assert answer(["-smp", "4,help", "-numa", "node,foo=1"], release) == "help"


def test_syntax_errors_come_in_option_order_before_52() -> None:
    # m 5.2.0 b2-mach-0013: the -smp syntax error, read in the option loop, comes before
    # the machine lookup
    assert answer(["-M", "foo", "-smp", "4,foo=1"], "5.2") == (
        "-smp 4,foo=1: Invalid parameter 'foo'")
    assert answer(["-M", "pc,hmat=maybe", "-smp", "4,foo=1"], "6.0") == (
        "-smp 4,foo=1: Invalid parameter 'foo'")  # m 5.2.0 smpx-0065


# ------------------------------------------------------------------ -machine smp.*

@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "Property 'pc-i440fx-5.2-machine.smp.cpus' not found"),  # m smpx-0072
    ("6.1", "11.1", "ok 4"),  # m 7.2.22, 10.0.2, 11.1.3
))
def test_machine_smp_property(release: str, want: str) -> None:
    assert answer(["-M", "pc-i440fx-5.2", "-machine", "smp.cpus=4"], release) == want
    merged = answer([*PC52, "-smp", "4", "-machine", "smp.maxcpus=8", "-smp", "cores=2"],
                    release)
    assert merged == want.replace("smp.cpus", "smp.maxcpus")


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "Property 'pc-i440fx-5.2-machine.smp' not found"),  # m smpmulti-0364
    ("6.1", "11.1", "Invalid parameter type for 'smp', expected: object"),  # m 7.2.22
))
def test_machine_smp_scalar(release: str, want: str) -> None:
    assert answer(["-M", "pc-i440fx-5.2", "-machine", "smp=4"], release) == want


@pytest.mark.parametrize("argv,want", [  # m 7.2.22, 10.0.2, 11.1.3 (smpx-0056..0061)
    (["-machine", "smp=4", "-smp", "2"], "-smp 2: Parameter 'smp' used inconsistently"),
    (["-smp", "2", "-machine", "smp=4"], "-machine smp=4: Parameters 'smp.*' used inconsistently"),
    (["-machine", "smp=4,smp.cpus=2"],
     "-machine smp=4,smp.cpus=2: Parameters 'smp.*' used inconsistently"),
    (["-machine", "smp.cpus=2,smp=4"],
     "-machine smp.cpus=2,smp=4: Parameters 'smp.*' used inconsistently"),
    (["-machine", "smp=4", "-machine", "smp.cpus=2"],
     "-machine smp.cpus=2: Parameters 'smp.*' used inconsistently"),
    (["-machine", "smp.cpus=2", "-machine", "smp=4"],
     "-machine smp=4: Parameters 'smp.*' used inconsistently"),
])
def test_machine_smp_used_inconsistently(argv: list[str], want: str) -> None:
    for release in ("6.1", "7.2", "11.1"):
        assert answer(argv, release) == want


# ------------------------------------------------------------------ the algorithms

@pytest.mark.parametrize("release,want", cases(
    # m 5.2.0 smp-0012: cores come from cpus (4 / 2), not maxcpus
    ("5.2", "6.1", "Invalid CPU topology deprecated: sockets (2) * dies (1) * cores (2) * "
                   "threads (1) != maxcpus (8)"),
    ("6.2", "11.1", "ok 4"),  # m 7.2.22: from maxcpus
))
def test_legacy_computes_from_cpus(release: str, want: str) -> None:
    assert answer([*PC52, "-smp", "4,maxcpus=8,sockets=2"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "Invalid CPU topology: sockets (1) * cores (1) * threads (1) != maxcpus (8)"),
    ("6.2", "11.1", "ok 8"),  # m 7.2.22 smpx-0043: cpus defaults to maxcpus
))
def test_legacy_non_pc_text(release: str, want: str) -> None:
    # m 5.2.0 smpx-0043: microvm used the generic smp_parse (no dies, no 'deprecated')
    assert answer(["-M", "microvm", "-smp", "maxcpus=8"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "cpu topology: sockets (4) * dies (0) * cores (1) * threads (1) < smp_cpus (4)"),
    ("6.2", "8.2", "ok 4"),  # m 7.2.22: warned, then 0 is omitted
    ("9.0", "11.1", "Invalid CPU topology: CPU topology parameters must be greater than zero"),
))
def test_product_below_cpus(release: str, want: str) -> None:
    # m smpx-0009 on every binary
    assert answer(["-smp", "4,sockets=4,cores=1,threads=1,dies=0"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "crash"),  # m 5.2.0 smp-0048 (SIGFPE); r 6.1 (fixed in 6.2)
    ("6.2", "8.2", "ok 4"),  # m 7.2.22
    ("9.0", "11.1", "Invalid CPU topology: CPU topology parameters must be greater than zero"),
))
def test_x86_dies_zero(release: str, want: str) -> None:
    assert answer(["-smp", "4,dies=0"], release) == want


def test_zero_warning_text() -> None:
    topo = resolve(parse_argv(["-smp", "4,maxcpus=0"]), "8.2", "x86_64", CATALOG)
    assert topo.warnings == ["Deprecated CPU topology (considered invalid): "
                             "CPU topology parameters must be greater than zero"]
    topo = resolve(parse_argv(["-smp", "4,cores=0"]), "6.1", "x86_64", CATALOG)
    assert topo.warnings == []  # r: the warning is 6.2's


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "maxcpus must be equal to or greater than smp"),  # m smpx-0011
    ("6.2", "8.2", "ok 4"),
    ("9.0", "11.1", "Invalid CPU topology: CPU topology parameters must be greater than zero"),
))
def test_maxcpus_zero(release: str, want: str) -> None:
    assert answer(["-smp", "4,maxcpus=0"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "ok 4"),  # m 5.2.0 smpx-0040: non-PC machines ignore dies
    ("6.1", "8.2", "dies not supported by this machine's CPU topology"),  # r 6.1; m 7.2.22
    ("9.0", "11.1", "dies > 1 not supported by this machine's CPU topology"),  # m 10.0.2
))
def test_dies_on_non_pc(release: str, want: str) -> None:
    assert answer(["-M", "microvm", "-smp", "4,dies=2"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "ok 4"),  # m 5.2.0 smpx-0039
    ("6.1", "8.2", "dies not supported by this machine's CPU topology"),  # r; m 7.2.22
    # m 10.0.2 smpx-0039: 9.0.2 and later compare the int64 (-1 is not > 1), and then
    # compute with the unsigned 4294967295
    ("9.0", "11.1", "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                    "sockets (1) * cores (0) * threads (1) != maxcpus (4)"),
))
def test_negative_dies_on_non_pc(release: str, want: str) -> None:
    assert answer(["-M", "microvm", "-smp", "4,dies=-1"], release) == want


def test_unsigned_values_in_texts() -> None:
    # m smpx-0005/0006 on 5.2.0 and 10.0.2
    assert answer(["-smp", "4,sockets=-1"], "5.2") == (
        "Invalid CPU topology deprecated: sockets (4294967295) * dies (1) * cores (1) * "
        "threads (1) != maxcpus (4)")
    assert answer(["-smp", "4,cores=-1"], "6.0") == (
        "Invalid CPU topology deprecated: sockets (0) * dies (1) * cores (4294967295) * "
        "threads (1) != maxcpus (4)")
    assert answer(["-smp", "4,sockets=-1"], "7.1") == (
        "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets "
        "(4294967295) * dies (1) * cores (0) * threads (1) != maxcpus (4)")


@pytest.mark.parametrize("release", ALL)
def test_minus_one_fails_the_maximum(release: str) -> None:
    # m every binary: unsigned compare, printed with %d
    want = "Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-5.2' is 255"
    assert answer([*PC52, "-smp", "-1"], release) == want
    assert answer([*PC52, "-smp", "4,maxcpus=-1"], release) == want


@pytest.mark.parametrize("release", ALL)
def test_product_wrapping_to_zero_crashes(release: str) -> None:
    # m smpx-0004 (SIGFPE) on every binary; smpx-0003: no division, 0 CPUs
    assert answer(["-smp", "8,sockets=65536,threads=65536"], release) == "crash"
    assert answer([*PC52, "-smp", "sockets=65536,threads=65536"], release) == (
        "Invalid SMP CPUs 0. The min CPUs supported by machine 'pc-i440fx-5.2' is 1")


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "maxcpus must be equal to or greater than smp"),  # m smpx-0000
    ("6.2", "11.1", "ok 4"),  # m 7.2.22: 2^32 is not 0 as int64, but 0 as unsigned
))
def test_maxcpus_two_to_the_32(release: str, want: str) -> None:
    assert answer(["-smp", "cpus=4,maxcpus=4294967296"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "Invalid CPU topology deprecated: sockets (3) * dies (1) * cores (1) * "
                   "threads (1) != maxcpus (4)"),
    ("6.2", "9.0", "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                   "sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)"),
    ("9.1", "11.1", "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                    "sockets (3) * dies (1) * modules (1) * cores (1) * threads (1) "
                    "!= maxcpus (4)"),
))
def test_hierarchy_string(release: str, want: str) -> None:
    assert answer([*PC52, "-smp", "4,sockets=3"], release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.1", "Invalid CPU topology deprecated: sockets (2) * dies (1) * cores (1) * "
                   "threads (3) != maxcpus (8)"),  # m smpx-0034: sockets first
    ("6.2", "9.0", "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                   "sockets (1) * dies (1) * cores (2) * threads (3) != maxcpus (8)"),
    ("9.1", "11.1", "Invalid CPU topology: product of the hierarchy must match maxcpus: "
                    "sockets (1) * dies (1) * modules (1) * cores (2) * threads (3) "
                    "!= maxcpus (8)"),
))
def test_prefer_sockets(release: str, want: str) -> None:
    # "pc" is the newest pc-i440fx of each release: cores first from 6.2 (smpx-0034)
    assert answer(["-M", "pc", "-smp", "8,threads=3"], release) == want


# ------------------------------------------------------------------ processing order

@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "Invalid CPU topology deprecated: sockets (3) * dies (1) * cores (1) * "
                   "threads (1) != maxcpus (4)"),  # m 5.2.0 smpx-0064/0066
    ("6.1", "6.1", "Parameter 'hmat' expects 'on' or 'off'"),  # r: one keyval dict from 6.1
    ("6.2", "11.1", "Parameter 'hmat' expects 'on' or 'off'"),  # m 7.2.22, 10.0.2, 11.1.3
))
def test_smp_against_machine_properties(release: str, want: str) -> None:
    assert answer([*PC52, "-smp", "4,sockets=3", "-M", "pc-i440fx-5.2,hmat=maybe"],
                  release) == want


# ------------------------------------------------------------------ [smp-opts] of -readconfig

def _readconfig(tmp_path: Path, text: str, release: str, *more: str) -> str:
    path = tmp_path / "vm.cfg"
    path.write_text(text)
    try:
        cl = expand_readconfig(parse_argv(["-readconfig", str(path), *more]))
        topo = resolve(cl, release, "x86_64", CATALOG)
    except QemuRefusal as e:
        return e.message.replace(str(path), "FILE")
    return f"ok {len(topo.present_cpus())}"


BAD_KEY = '[smp-opts]\n  cpus = "4"\n  modules = "2"\n'


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "6.0", "FILE:3: Invalid parameter 'modules'"),  # m 5.2.0 rc-0560: the key's line
    ("6.1", "9.0", "Parameter 'smp.modules' is unexpected"),  # m 7.2.22 rc-0560
    ("9.1", "11.1", "ok 4"),  # m 10.0.2 rc-0560
))
def test_readconfig_bad_key(tmp_path: Path, release: str, want: str) -> None:
    assert _readconfig(tmp_path, BAD_KEY, release) == want


@pytest.mark.parametrize("release,want", cases(
    ("5.2", "5.2", "ok 1"),  # m 5.2.0 rc-0561: the named section is never read
    ("6.0", "6.0", "FILE:1: Invalid parameter 'id'"),  # r PULL 29/31, at the header
    ("6.1", "11.1", "Parameter 'smp.id' is unexpected"),  # m 7.2.22 rc-0561
))
def test_readconfig_id(tmp_path: Path, release: str, want: str) -> None:
    assert _readconfig(tmp_path, '[smp-opts "x"]\n  cpus = "4"\n', release) == want


@pytest.mark.parametrize("release", ["5.2", "6.0", "6.1", "7.2", "11.1"])
def test_readconfig_merges_like_smp(tmp_path: Path, release: str) -> None:
    text = '[smp-opts]\n  cpus = "4"\n  sockets = "2"\n'  # m rc-0575/0576 on every binary
    assert _readconfig(tmp_path, text, release, "-smp", "8") == "ok 8"
    path = tmp_path / "vm.cfg"
    cl = expand_readconfig(parse_argv(["-smp", "8", "-readconfig", str(path)]))
    assert len(resolve(cl, release, "x86_64", CATALOG).present_cpus()) == 4


# ------------------------------------------------------------------ fresh measured lines

def _records(release: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / f"{release}.jsonl.gz", "rt", encoding="utf-8") as f:
        header = json.loads(f.readline())
        rows = [json.loads(line) for line in f]
    assert header["records"] == len(rows)
    return rows


# Lines whose answer also depends on other areas: the slot ids of aarch64 virt in 5.2
# (boards), and -machine read as QemuOpts in 5.2, where "smp" and "smp.cpus" are two
# unrelated property names (machine option syntax).
OTHER_AREAS = {
    "5.2": {"smpx-0058", "smpx-0059", "smpx-0087", "smpx-0088", "smpx-0089", "smpx-0090"},
}


def _mismatch(rec: dict[str, Any], release: str) -> str | None:
    try:
        topo = resolve(parse_argv(rec["argv"]), release, rec["arch"], CATALOG)
    except QemuRefusal as e:
        kind, ours = "error", e.message
    except CmdxlateError as e:
        kind, ours = "refused", e.message
    else:
        kind, ours = "ok", ""
    if rec["help"]:
        return None if kind == "refused" and "prints help" in ours else f"help; ours {ours}"
    if rec["exit"] < 0:
        return None if kind == "refused" and "crashes" in ours else f"crash; ours {ours}"
    if rec["exit"]:
        return None if (kind, ours) == ("error", rec["error"]) else f"{rec['error']!r}: {ours!r}"
    if kind != "ok":
        return f"QEMU accepts; ours {ours!r}"
    try:
        slots = topo.hotpluggable_cpus()
    except QemuRefusal:
        slots = None
    cpus = [[c["cpu-index"], c["props"]] for c in topo.present_cpus()]
    if rec["slots"] is not None and slots != rec["slots"]:
        return f"slots {rec['slots']} != {slots}"
    if rec["cpus"] is not None and cpus != rec["cpus"]:
        return f"cpus {rec['cpus']} != {cpus}"
    return None


@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
def test_fresh_measured_lines(release: str) -> None:
    bad = []
    for rec in _records(release):
        if rec["id"] in OTHER_AREAS.get(release, ()):
            continue
        why = _mismatch(rec, release)
        if why:
            bad.append(f"{rec['id']} {' '.join(rec['argv'])}: {why}")
    assert not bad, "\n".join(bad)
