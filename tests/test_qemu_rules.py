"""Fixed cases against real QEMU, by rule: help requests, CPU models, HMAT, the arm GIC,
machine properties (QEMU 10.0 and 7.2). Marked ``qemu``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_qemu_diff import assert_same_outcome

from cmdxlate.error import CmdxlateError
from cmdxlate.oracle.qemu import QemuBinary, run_topology_query
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

pytestmark = pytest.mark.qemu


def both_answers(binary: QemuBinary, argv: list[str], release: str, arch: str | None = None,
                 program: str | None = None) -> tuple[str | None, str | None]:
    """cmdxlate's refusal of ``argv`` for ``release`` (None: it resolves), and QEMU's."""
    real = run_topology_query(binary, argv).startup_error
    try:
        resolve(parse_argv(argv, program), release, arch)
    except CmdxlateError as e:
        return e.message, real
    return None, real


def test_help_requests_make_qemu_exit_without_a_machine(qemu10_x86: QemuBinary) -> None:
    """The options cmdxlate calls help requests really make QEMU 10.0 print and exit 0."""
    import subprocess

    from test_resolver import HELP_REQUESTS

    for args in HELP_REQUESTS:
        proc = subprocess.run([qemu10_x86.path, "-S", "-display", "none", "-nodefaults",
                               "-smp", "2", *args], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0 and proc.stdout, (args, proc.stderr)


@pytest.mark.parametrize("target", ["10.0", "7.2"])
@pytest.mark.parametrize("cpu", ["foo", "host", "EPYC-Genoa", "Skylake-Client-v4", "qemu64-v1",
                                 "max", "Qemu64"])
def test_cpu_models_match_qemu(target: str, cpu: str, qemu10_x86: QemuBinary,
                               qemu72_x86: QemuBinary) -> None:
    """Unknown -cpu models and 'host' without KVM fail as QEMU fails; known ones resolve."""
    argv = ["-M", "q35", "-smp", "2", "-cpu", cpu]
    binary = qemu10_x86 if target == "10.0" else qemu72_x86
    ours, real = both_answers(binary, argv, target, "x86_64")
    assert ours == real


@pytest.mark.parametrize("target", ["10.0", "7.2"])
@pytest.mark.parametrize("word", ["-", "--", "---", "--smp"])
def test_words_starting_with_a_dash_are_options(target: str, word: str,
                                                qemu10_x86: QemuBinary,
                                                qemu72_x86: QemuBinary) -> None:
    """QEMU reads every word that starts with "-" as an option: "-" and "--" are invalid
    options, not disk images (cmdxlate once passed them through)."""
    argv = ["-M", "q35", "-smp", "2", word, *(["2"] if word == "--smp" else []), "-name", "x"]
    binary = qemu10_x86 if target == "10.0" else qemu72_x86
    ours, real = both_answers(binary, argv, target, "x86_64")
    assert ours == real
    assert (ours is None) == (word == "--smp")


def test_cpu_model_table_is_what_qemu_lists(qemu10_x86: QemuBinary,
                                            qemu72_x86: QemuBinary) -> None:
    from cmdxlate.catalog import Catalog
    from cmdxlate.oracle.qemu import cpu_definitions

    table = Catalog.builtin().cpu_tables["x86"]
    for binary, target in ((qemu10_x86, "10.0"), (qemu72_x86, "7.2")):
        release = Catalog.builtin().release(target).version
        assert table.names(release) == {d["name"] for d in cpu_definitions(binary)}


@pytest.mark.parametrize(("arch", "machine", "cpu"), [
    ("ppc64", "pseries", "foo"), ("ppc64", "pseries", "POWER9"), ("ppc64", "pseries", "host"),
    ("ppc64", "pseries", "power8_v2.0"), ("ppc64", "pseries", "max"),
    ("s390x", "s390-ccw-virtio", "Z14"),
    ("s390x", "s390-ccw-virtio", "host"), ("s390x", "s390-ccw-virtio", "z14"),
    ("s390x", "s390-ccw-virtio", "z13-base,dfp=off"), ("s390x", "s390-ccw-virtio", "z900"),
    ("s390x", "s390-ccw-virtio", "qemu"), ("s390x", "s390-ccw-virtio", "gen16a-base"),
])
def test_cpu_models_of_other_arches_match_qemu(arch: str, machine: str, cpu: str,
                                               qemu10_for) -> None:
    """Model names (ppc64 case-insensitive), KVM-only 'host', and s390x models TCG can't run."""
    argv = ["-M", machine, "-cpu", cpu]
    ours, real = both_answers(qemu10_for(arch), argv, "10.0", arch)
    assert ours == real


def test_s390x_model_table_is_what_qemu_lists(qemu10_for) -> None:
    from cmdxlate.catalog import Catalog
    from cmdxlate.oracle.qemu import cpu_definitions

    catalog = Catalog.builtin()
    v = catalog.release("10.0").version
    defs = cpu_definitions(qemu10_for("s390x"))
    assert catalog.cpu_tables["s390x"].names(v) == {d["name"] for d in defs}
    assert {m: list(f) for m, f in catalog.cpu_tables["s390x"].tcg_unavailable[v].items()} == {
        d["name"]: d["unavailable-features"] for d in defs if d.get("unavailable-features")}
    # query-cpu-definitions lists power5gs, which -cpu refuses from 9.0 (measured on 10.0.2:
    # unable to find CPU model 'power5gs'); -cpu takes max, which is not listed from 7.1.
    ppc64 = {d["name"] for d in cpu_definitions(qemu10_for("ppc64"))}
    assert catalog.cpu_tables["ppc64"].listed(v) == ppc64
    assert catalog.cpu_tables["ppc64"].names(v) == ppc64 - {"power5gs"} | {"max"}


# -numa hmat-lb / hmat-cache / initiator: (hmat=, the -numa part of the line)
N2 = ("-numa node,nodeid=0,memdev=m0,initiator=0,cpus=0-1 "
      "-numa node,nodeid=1,memdev=m1,initiator=0 ")
TWO = "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 "


def _lb(fields: str) -> str:
    return f"-numa hmat-lb,{fields} "


def _lb0(rest: str) -> str:
    return _lb("initiator=0,target=0,hierarchy=memory," + rest)


def lat(t: int = 0, v: int = 10) -> str:
    return _lb(f"initiator=0,target={t},hierarchy=memory,data-type=access-latency,latency={v}")


def bw(t: int = 0, v: str = "1G") -> str:
    return _lb(f"initiator=0,target={t},hierarchy=memory,data-type=access-bandwidth,"
               f"bandwidth={v}")


def cache(size: str, level: int, node: int = 0, assoc: str = "direct",
          line: str = ",line=8") -> str:
    return (f"-numa hmat-cache,node-id={node},size={size},level={level},"
            f"associativity={assoc},policy=write-back{line} ")


LB_OK = lat() + bw()
HMAT_CASES = [
    ("off", TWO + "-numa hmat-lb"),
    ("off", TWO + lat()),
    ("on", N2 + "-numa hmat-lb,initiator=0"),
    ("on", N2 + _lb("initiator=0,target=0,hierarchy=foo,data-type=access-latency,latency=1")),
    ("on", N2 + _lb0("data-type=foo,latency=1")),
    ("on", N2 + _lb0("data-type=access-latency")),
    ("on", N2 + _lb0("data-type=access-latency,latency=5,bandwidth=1M")),
    ("on", N2 + _lb0("data-type=access-bandwidth,latency=5")),
    ("on", N2 + _lb0("data-type=access-latency,latency=x")),
    ("on", N2 + _lb0("data-type=access-bandwidth,bandwidth=x")),
    ("on", N2 + _lb("initiator=70000,target=0,hierarchy=memory,data-type=access-latency,"
                    "latency=5")),
    ("on", N2 + _lb0("data-type=access-latency,latency=5,foo=1")),
    ("on", N2 + _lb("initiator=2,target=0,hierarchy=memory,data-type=access-latency,latency=5")),
    ("on", N2 + lat(t=2, v=5)),
    ("on", N2 + bw(v="1000")),
    ("on", N2 + bw() + bw()),
    ("on", N2 + lat(0, 1) + lat(1, 100000)),
    ("on", N2 + lat(0, 10) + lat(1, 70000)),
    ("on", N2 + lat(0, 0) + lat(1, 5)),
    ("on", N2 + bw(0, "1M") + bw(1, "128G")),
    ("on", N2 + bw(0, "1M") + bw(1, "32G")),
    ("on", N2 + LB_OK + cache("10K", 1)),
    ("on", N2 + LB_OK + cache("10K", 0)),
    ("on", N2 + LB_OK + cache("10K", 4)),
    ("on", N2 + LB_OK + cache("10K", 2)),
    ("on", N2 + LB_OK + cache("10K", 1) + cache("10K", 1)),
    ("on", N2 + LB_OK + cache("10K", 1) + cache("8K", 2)),
    ("on", N2 + LB_OK + cache("10K", 1) + cache("20K", 2) + cache("30K", 3)),
    ("on", N2 + LB_OK + cache("1K", 1, node=5)),
    ("on", N2 + LB_OK + cache("1K", 1, assoc="foo")),
    ("on", N2 + LB_OK + cache("1K", 1, line="")),
    ("on", N2 + lat(0, 0) + bw(0, "0") + cache("10K", 1)),
    ("on", "-numa node,nodeid=0,memdev=m0,cpus=0-1,initiator=1 -numa node,nodeid=1,memdev=m1"),
    ("on", "-numa node,nodeid=0,memdev=m0,initiator=1 -numa node,nodeid=1,memdev=m1,initiator=1"),
    ("on", "-numa node,nodeid=0,memdev=m0,initiator=1 -numa node,nodeid=1,memdev=m1"),
    ("on", "-numa node,nodeid=0,memdev=m0,initiator=5 -numa node,nodeid=1,memdev=m1"),
    ("on", TWO + "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 "
     + _lb("initiator=1,target=0,hierarchy=memory,data-type=access-latency,latency=5")),
    ("on", TWO + lat(0, 5)),
]


def test_hmat_cases_are_not_one_sided() -> None:
    from cmdxlate.resolver import resolve as _resolve

    outcomes = set()
    for hmat, numa in HMAT_CASES:
        try:
            _resolve(parse_argv(_hmat_argv(hmat, numa)))
            outcomes.add("ok")
        except CmdxlateError:
            outcomes.add("error")
    assert outcomes == {"ok", "error"}


def _hmat_argv(hmat: str, numa: str) -> list[str]:
    return (f"-M q35,hmat={hmat} -smp 2,sockets=2 -m 2G -object memory-backend-ram,id=m0,size=1G "
            "-object memory-backend-ram,id=m1,size=1G " + numa).split()


@pytest.mark.parametrize("target", ["10.0", "7.2"])
@pytest.mark.parametrize(("hmat", "numa"), HMAT_CASES)
def test_hmat_rules_match_qemu(target: str, hmat: str, numa: str, qemu10_x86: QemuBinary,
                               qemu72_x86: QemuBinary) -> None:
    """Field parsing, the hmat=on gate, initiators, entry ranges, cache levels: as QEMU says."""
    argv = _hmat_argv(hmat, numa)
    binary = qemu10_x86 if target == "10.0" else qemu72_x86
    assert_same_outcome(binary, argv, target, "x86_64")


ARM_GIC_CASES = [
    "-M virt -smp 9", "-M virt,gic-version=2 -smp 9", "-M virt,highmem=off -smp 124",
    "-M virt,highmem=off -smp 123", "-M virt,gic-version=3,highmem=off -smp 124",
    "-M virt,gic-version=max,highmem=off -smp 124",
    "-M virt,gic-version=max,highmem=off,virtualization=on -smp 62",
    "-M virt,gic-version=4 -smp 4", "-M virt,gic-version=4,virtualization=on -smp 4",
    "-M virt,gic-version=4,virtualization=on,highmem=off -smp 62",
    "-M virt,gic-version=4,virtualization=on,highmem-redists=off -smp 61",
    "-M virt,gic-version=host -smp 4", "-M virt,gic-version=foo -smp 4",
    "-M virt,gic-version=foo -smp x", "-M virt,gic-version=foo -numa node,foo=1",
    "-M virt,virtualization=on,highmem=off -smp 124", "-M virt-6.1,highmem=off -smp 124",
    "-M virt,gic-version=2,highmem=off -smp 8", "-M virt,gic-version=max -smp 300",
]


@pytest.mark.parametrize("args", ARM_GIC_CASES)
def test_arm_virt_gic_rules_match_qemu(args: str, qemu10_for) -> None:
    """GIC version defaults, TCG's GICv4 and host rules, and the redistributor CPU limits."""
    argv = args.split()
    assert_same_outcome(qemu10_for("aarch64"), argv, "10.0", "aarch64")



MACHINE_PROP_CASES = [
    ("x86_64", '-M q35,hmat=maybe'),
    ("x86_64", '-M q35,hmat=y -smp 2 -m 1G -numa node,mem=1G'),
    ("x86_64", '-M q35,hmat=ON'),
    ("x86_64", '-M q35,hmat=maybe -smp x'),
    ("x86_64", '-M q35,hmat=maybe -numa foo'),
    ("x86_64", '-M q35,hmat= -smp 1000'),
    ("x86_64", '-M pc-i440fx-2.12,hmat=1 -smp 1,maxcpus=300'),
    ("x86_64", '-M q35,hmat=n -smp 2 -m 1G -object memory-backend-ram,id=m,size=1G '
     '-numa node,memdev=m -numa '
     'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=1'),
    ("x86_64", '-M q35,hmat=y -smp 2 -m 1G -object memory-backend-ram,id=m,size=1G '
     '-numa node,memdev=m,cpus=0-1 -numa '
     'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=1'),
    ("aarch64", '-M virt,highmem=maybe'),
    ("aarch64", '-M virt,virtualization=maybe'),
    ("aarch64", '-M virt,highmem-redists=x'),
    ("aarch64", '-M virt,gic-version=foo -smp x'),
    ("aarch64", '-M virt,gic-version=foo,hmat=maybe'),
    ("aarch64", '-M virt,highmem=maybe -smp x'),
    ("aarch64", '-M virt,virtualization=x -smp 1000'),
    ("aarch64", '-M virt,highmem=n -smp 124'),
    ("aarch64", '-M virt,gic-version=4,virtualization=y -smp 4'),
    ("s390x", '-M s390-ccw-virtio,hmat=on'),
    ("s390x", '-M s390-ccw-virtio,hmat=on -smp x'),
    ("ppc64", '-M pseries,hmat=x'),
    ("riscv64", '-M virt,hmat=x -smp 1000'),
]


@pytest.mark.parametrize(("arch", "args"), MACHINE_PROP_CASES)
def test_machine_properties_match_qemu(arch: str, args: str, qemu10_for) -> None:
    """Bool and enum -machine properties, and which error comes first next to -smp's."""
    argv = args.split()
    assert_same_outcome(qemu10_for(arch), argv, "10.0", arch)


@pytest.mark.parametrize("release", ["5.2", "10.0", "11.1"])
def test_board_ram_bounds_match_qemu(release: str,
                                     qemu_release: Callable[[str, str], QemuBinary]) -> None:
    """g3beige, mac99 and powernv bound -m in their init functions (mac99 and powernv
    from 7.2 on; 5.2 starts those lines): refused with QEMU's words, or started."""
    binary = qemu_release("ppc64", release)
    lines = [["-M", "g3beige", "-m", "2048M"], ["-M", "g3beige", "-m", "2047M"],
             ["-M", "mac99", "-m", "2049M"], ["-M", "mac99", "-m", "2G"],
             ["-M", "powernv9", "-m", "1023M"], ["-M", "powernv8", "-m", "1G"]]
    refused = 0
    for argv in lines:
        ours, real = both_answers(binary, argv, release, program="qemu-system-ppc64")
        assert ours == real, argv
        refused += real is not None
    assert refused == (1 if release == "5.2" else 3)


@pytest.mark.parametrize("release", ["5.2", "10.0", "11.1"])
def test_pseries_asymmetric_distances_match_qemu(release: str,
                                                 qemu_release: Callable[[str, str], QemuBinary]
                                                 ) -> None:
    """5.2 refuses asymmetric NUMA distances on pseries-5.2 and later when it builds the
    machine; later releases check them at CAS time, with the guest, and start."""
    binary = qemu_release("ppc64", release)
    nodes = ["-m", "512M", "-smp", "4", "-object", "memory-backend-ram,id=m0,size=256M",
             "-object", "memory-backend-ram,id=m1,size=256M", "-numa", "node,nodeid=0,memdev=m0",
             "-numa", "node,nodeid=1,memdev=m1", "-numa", "dist,src=0,dst=1,val=20"]
    refused = 0
    for machine in ("pseries", "pseries-5.1", "pseries-5.2"):
        for back in ("30", "20", None):
            argv = ["-M", machine, *nodes, *(["-numa", f"dist,src=1,dst=0,val={back}"]
                                            if back else [])]
            ours, real = both_answers(binary, argv, release, program="qemu-system-ppc64")
            assert ours == real, argv
            refused += "Asymmetrical" in (real or "")  # pseries-5.1 left QEMU 11.1
    assert refused == (2 if release == "5.2" else 0)
