"""-numa per QEMU release: each release behaviour on both sides of the release that changed it,
and fresh lines measured on real 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (tests/data/numa-fresh).

The boundary releases without a binary here (6.0/6.1, 6.1/6.2, 7.1, 8.0/8.1, 8.2, 9.0/9.1) are
checked against what the behaviour's evidence in data/releases.json says; the measured sides
are checked against the binaries' own answers.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.catalog import Catalog
from cmdxlate.error import CmdxlateError, InputError, QemuRefusal
from cmdxlate.resolver import Topology, resolve
from cmdxlate.syntax.argv import parse_argv

RELEASES = ("5.2", "6.0", "6.1", "6.2", "7.0", "7.1", "7.2", "8.0", "8.1", "8.2", "9.0", "9.1",
            "9.2", "10.0", "10.1", "10.2", "11.0", "11.1")
FRESH = Path(__file__).resolve().parent / "data" / "numa-fresh.jsonl.gz"
M2 = "-object memory-backend-ram,id=m0,size=128M -object memory-backend-ram,id=m1,size=128M "
TWO = M2 + "-numa node,memdev=m0 -numa node,memdev=m1 "


def catalog() -> Catalog:
    return Catalog.builtin()


def test_every_release_is_a_target() -> None:
    assert [str(v) for v in catalog().targets] == list(RELEASES)


def run(line: str, release: str, arch: str = "x86_64") -> Topology:
    return resolve(parse_argv(line.split()), release, arch, catalog())


def error(line: str, release: str, arch: str = "x86_64") -> str:
    with pytest.raises(QemuRefusal) as e:
        run(line, release, arch)
    return e.value.message


# ---------------------------------------------------------------- release boundaries

@pytest.mark.parametrize(("release", "message"), [
    ("5.2", "-numa foo,memdev=m0: Invalid parameter 'foo'"),      # measured 5.2.0
    ("6.1", "-numa foo,memdev=m0: Invalid parameter 'foo'"),
    ("6.2", "-numa foo,memdev=m0: Parameter 'type' does not accept value 'foo'"),
    ("7.2", "-numa foo,memdev=m0: Parameter 'type' does not accept value 'foo'"),  # measured
    ("11.1", "-numa foo,memdev=m0: Parameter 'type' does not accept value 'foo'"),  # measured
])
def test_unknown_numa_type(release: str, message: str) -> None:
    assert error("-smp 4 -m 256M " + M2 + "-numa foo,memdev=m0", release) == message


@pytest.mark.parametrize(("release", "message"), [
    ("6.1", "Invalid parameter 'bogus'"),
    ("6.2", "Parameter 'hierarchy' does not accept value 'bogus'"),
])
def test_hmat_enum_wording(release: str, message: str) -> None:
    opt = "hmat-lb,initiator=0,target=0,hierarchy=bogus,data-type=access-latency,latency=1"
    assert error(f"-M pc,hmat=on -smp 2 -m 256M -numa {opt}", release) == f"-numa {opt}: {message}"


# With hmat=on, -numa node,cpus= on a node other than 0 meets a zeroed initiator up to 6.0.
LATE_CPUS = "-M pc,hmat=on -smp 4 -m 256M " + M2 + (
    "-numa node,memdev=m0,initiator=1 -numa node,memdev=m1,cpus=0-3")
OWN_INITIATOR = "-M pc,hmat=on -smp 4 -m 256M " + M2 + (
    "-numa node,memdev=m0,cpus=0-3,initiator=1 -numa node,memdev=m1")


def test_initiator_after_cpus_up_to_6_0() -> None:
    for release in ("5.2", "6.0"):
        assert error(LATE_CPUS, release) == (
            "-numa node,memdev=m1,cpus=0-3: The initiator of CPU NUMA node 1 should be itself")
        # cpus= first, then initiator=1 replaces node 0's own: found invalid at board init
        assert error(OWN_INITIATOR, release) == "The initiator of NUMA node 0 is invalid"


def test_initiator_before_cpus_from_6_1() -> None:
    for release in ("6.1", "7.2", "11.1"):
        run(LATE_CPUS, release)
        assert error(OWN_INITIATOR, release) == (
            "-numa node,memdev=m0,cpus=0-3,initiator=1: The initiator of CPU NUMA node 0 "
            "should be itself (got 1)")


def test_hmat_nodes_need_an_initiator_up_to_7_1() -> None:
    line = "-M pc,hmat=on -smp 4 -m 256M " + M2 + (
        "-numa node,memdev=m0,cpus=0-3 -numa node,memdev=m1")
    assert error(line, "5.2") == (   # measured on 5.2.0: node 0's initiator is unset there
        "The initiator of NUMA node 0 is missing, use '-numa node,initiator' option to declare "
        "it")
    assert error(line, "7.1") == (
        "The initiator of NUMA node 1 is missing, use '-numa node,initiator' option to declare "
        "it")
    for release in ("7.2", "10.0"):
        assert run(line, release).numa.nodes[1].has_cpu is False


def test_partial_mapping_warning_slot_label() -> None:
    line = ("-smp 8,sockets=2,dies=2 -m 256M " + TWO
            + "-numa cpu,node-id=1,socket-id=0,die-id=1")
    glued = "CPU 0 [socket-id: 0die-id: 0, core-id: 0, thread-id: 0]"
    comma = "CPU 0 [socket-id: 0, die-id: 0, core-id: 0, thread-id: 0]"
    for release, label in (("5.2", glued), ("6.1", glued), ("6.2", comma), ("7.2", comma)):
        warnings = run(line, release).warnings
        assert warnings[0].startswith("CPU(s) not present in any NUMA nodes: " + label)
        assert warnings[1].startswith("All CPU(s) up to maxcpus should be described")


def test_mem_read_again_in_mib() -> None:
    line = "-M pc-i440fx-5.0 -smp 2 -m 256M -numa node,mem=17592186044416"
    for release in ("5.2", "8.0"):   # the byte value stays (measured 5.2.0, 7.2.22)
        assert error(line, release) == (
            "total memory for NUMA nodes (0x100000000000) should equal RAM size (0x10000000)")
    for release in ("8.1", "10.0"):
        assert error(line, release) == (
            "-numa node,mem=17592186044416: could not parse memory size '17592186044416': "
            "Numerical result out of range")


def test_riscv_more_nodes_than_cpus() -> None:
    line = ("-M virt -smp 2 -m 192M " + M2 + "-object memory-backend-ram,id=m2,size=64M "
            "-numa node,memdev=m0 -numa node,memdev=m1 -numa node,memdev=m2").replace(
                "size=128M", "size=64M")
    for release in ("5.2", "8.0"):   # SIGFPE on 5.2.0
        with pytest.raises(InputError, match="crashes"):
            run(line, release, "riscv64")
    for release in ("8.1", "10.0"):
        assert error(line, release, "riscv64") == (
            "Number of NUMA nodes (3) cannot exceed the number of available CPUs (2).")


def test_riscv_default_node_only_for_unmapped_cpus() -> None:
    line = ("-M virt -smp 1,maxcpus=2 -m 256M " + M2
            + "-numa node,memdev=m0,cpus=0 -numa node,memdev=m1,cpus=1")
    for release in ("5.2", "10.0"):   # measured: the board's own check, no default node asked
        assert error(line, release, "riscv64") == "discontinuous hartids in socket1"


def test_cluster_boundary_warning_from_8_1() -> None:
    line = ("-M virt -smp 4,sockets=2,cores=2 -m 256M " + M2
            + "-numa node,memdev=m0,cpus=0 -numa node,memdev=m1,cpus=1-3")
    warning = ("CPU-0 and CPU-1 in socket-0-cluster-0 have been associated with node-0 and "
               "node-1 respectively. It can cause OSes like Linux to misbehave")
    assert warning not in run(line, "8.0", "aarch64").warnings
    for release in ("8.1", "10.0", "11.1"):
        assert run(line, release, "aarch64").warnings == [warning]


def test_memory_backend_size_check_moves_to_board_init_in_7_1() -> None:
    line = ("-M pc,memory-backend=m0 -smp 2 -m 256M " + M2.replace("m1,size=128M", "m1,size=256M")
            + "-numa node,cpus=9")
    early = ("Size specified by -m option must match size of explicitly specified "
             "'memory-backend' property")
    for release in ("5.2", "7.0"):   # measured on 5.2.0: before the -numa options
        assert error(line, release) == early
    for release in ("7.1", "7.2", "11.1"):
        assert error(line, release) == (
            "-numa node,cpus=9: CPU index (9) should be smaller than maxcpus (2)")
        assert error(line.replace("cpus=9", "memdev=m1"), release) == (
            "Machine memory size does not match the size of the memory backend")


@pytest.mark.parametrize(("release", "message"), [
    ("5.2", "The feature 'query-hotpluggable-cpus' is not enabled"),
    ("7.2", "The feature 'query-hotpluggable-cpus' is not enabled"),
    ("8.0", "machine does not support hot-plugging CPUs"),
    ("11.1", "machine does not support hot-plugging CPUs"),
])
def test_query_hotpluggable_cpus_without_hotplug(release: str, message: str) -> None:
    topo = run("-M microvm -smp 2", release)
    with pytest.raises(QemuRefusal) as e:
        topo.hotpluggable_cpus()
    assert e.value.message == message


@pytest.mark.parametrize(("release", "key", "message"), [
    ("7.0", "cluster-id", "Invalid parameter 'cluster-id'"),
    ("7.1", "cluster-id", "cluster-id is not supported"),
    ("8.1", "drawer-id", "Invalid parameter 'drawer-id'"),
    ("8.2", "drawer-id", None),   # known, never compared
    ("9.0", "module-id", "Invalid parameter 'module-id'"),
    ("9.1", "module-id", "module-id is not supported"),
])
def test_numa_cpu_keys(release: str, key: str, message: str | None) -> None:
    line = "-smp 4,sockets=2 -m 256M " + TWO + f"-numa cpu,node-id=1,socket-id=0,{key}=5"
    if message is None:
        assert [s.node for s in run(line, release).slots] == [1, 1, 0, 0]
    else:
        assert error(line, release) == f"-numa cpu,node-id=1,socket-id=0,{key}=5: {message}"


# ---------------------------------------------------------------- the same in every release

@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
def test_every_release(release: str) -> None:
    base = "-smp 4 -m 256M " + M2
    # mixing is reported before "mem= not supported"; mem= must be a size
    assert error(base + "-numa node,memdev=m0,mem=128M", release).endswith(
        "numa configuration should use either mem= or memdev=,mixing both is not allowed")
    assert error(base + "-numa node,mem=foo", release) == (
        "-numa node,mem=foo: Parameter 'mem' expects a size value")
    assert error(base + "-numa node,cpus=9,mem=foo", release).endswith("expects a size value")
    assert error(base + "-numa node,cpus=70000", release) == (
        "-numa node,cpus=70000: Parameter 'null' expects uint16_t")
    assert error(base + "-numa dist,src=0,dst=1,val=20,foo=1", release).endswith(
        "Invalid parameter 'foo'")
    assert error("-M pc,memory-backend=m0 -smp 2 -m 128M " + M2 + "-numa node,memdev=m1",
                 release) == ("'-machine memory-backend' and '-numa memdev' properties are "
                              "mutually exclusive")
    assert error("-smp 4 -m 192M " + M2.replace("128M", "64M")
                 + "-object memory-backend-ram,id=m2,size=64M -numa node,memdev=m0 "
                 "-numa node,memdev=m1 -numa node,memdev=m2 -numa dist,src=0,dst=1,val=20 "
                 "-numa dist,src=1,dst=0,val=30 -numa dist,src=0,dst=2,val=20 "
                 "-numa dist,src=1,dst=2,val=20", release) == (
        "At least one asymmetrical pair of distances is given, please provide distances for "
        "both directions of all node pairs.")
    # an initiator out of range is reported, and QEMU goes on without that node
    line = "-M pc,hmat=on -smp 4 -m 256M " + M2 + (
        "-numa node,memdev=m0,initiator=128 -numa node,memdev=m1")
    assert error(line, release) == (
        "total memory for NUMA nodes (0x8000000) should equal RAM size (0x10000000)")


@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
def test_node_id_minus_one(release: str) -> None:
    """QEMU reads numa_info[-1] unchecked; every binary measured accepts -1."""
    topo = run("-smp 4,sockets=2 -m 256M " + TWO + "-numa cpu,node-id=-1,socket-id=0", release)
    assert [s.node for s in topo.slots] == [-1, -1, 0, 0]
    with pytest.raises(InputError, match="outside its bounds"):
        run("-smp 4,sockets=2 -m 256M " + TWO + "-numa cpu,node-id=-2,socket-id=0", release)
    assert error("-smp 4,sockets=2 -m 256M " + TWO + "-numa cpu,node-id=128,socket-id=0",
                 release).endswith("Invalid node-id=128, NUMA node must be defined with -numa "
                                   "node,nodeid=ID before it's used with -numa cpu,node-id=ID")


def test_numa_not_supported_after_the_fields() -> None:
    for release in ("5.2", "10.0"):
        assert error("-smp 2 -m 256M -numa node", release, "s390x") == (
            "-numa node: NUMA is not supported by this machine-type")
        assert error("-smp 2 -m 256M -numa node,foo=1", release, "s390x") == (
            "-numa node,foo=1: Invalid parameter 'foo'")


# ---------------------------------------------------------------- fresh measured lines

def _fresh() -> list[dict[str, Any]]:
    with gzip.open(FRESH, "rt", encoding="utf-8") as f:
        header = json.loads(f.readline())
        rows = [json.loads(line) for line in f]
    assert header["records"] == len(rows)
    return rows


NUMA_WARNINGS = ("CPU(s) not present", "All CPU(s) up to", "Parameter -numa node,mem is",
                 "The initiator id", "have been associated with node")


def _qemu_warning(text: str) -> str:
    """A warning line's message: no location, no 'warning: '."""
    if "warning: " in text:
        return text.split("warning: ", 1)[1]
    return text.split(": ", 1)[1]   # an error_report() QEMU carries on after


def _differs(rec: dict[str, Any]) -> str | None:
    try:
        topo = resolve(parse_argv(rec["argv"]), rec["release"], rec["arch"], catalog())
    except QemuRefusal as e:
        return None if rec["exit"] != 0 and e.message == rec["error"] else (
            f"QEMU {rec['exit']} {rec['error']!r}; ours {e.message!r}")
    except CmdxlateError as e:
        return None if rec["exit"] < 0 and rec["error"] is None else f"ours refuses: {e}"
    if rec["exit"] != 0:
        return f"QEMU {rec['error']!r}; ours accepts"
    try:
        slots = topo.hotpluggable_cpus()
    except QemuRefusal as e:
        if e.message != rec["hp_error"]:
            return f"query-hotpluggable-cpus: QEMU {rec['hp_error']!r}, ours {e.message!r}"
        slots = None
    if slots != rec["slots"]:
        return f"slots: QEMU {rec['slots']}, ours {slots}"
    cpus = [[c["cpu-index"], c["props"]] for c in topo.present_cpus()]
    if rec["cpus"] is not None and cpus != rec["cpus"]:
        return f"query-cpus-fast: QEMU {rec['cpus']}, ours {cpus}"
    theirs = [_qemu_warning(w) for w in rec["warnings"] if any(k in w for k in NUMA_WARNINGS)]
    ours = [w.split(" (QEMU prints")[0] for w in topo.warnings
            if any(k in w for k in NUMA_WARNINGS)]
    return None if ours == theirs else f"warnings: QEMU {theirs}, ours {ours}"


def test_fresh_measured_lines() -> None:
    rows = _fresh()
    assert {r["release"] for r in rows} == {"5.2", "7.2", "10.0", "11.1"}
    bad = [f"[{r['release']}] {' '.join(r['argv'])}\n    {why}"
           for r in rows if (why := _differs(r)) is not None]
    assert not bad, f"{len(bad)} of {len(rows)} differ:\n" + "\n".join(bad[:20])
