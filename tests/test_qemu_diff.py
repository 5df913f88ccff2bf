"""Differential tests: cmdxlate's predictions and conversions against real QEMU.

Each check starts QEMU paused (about 0.05 s); original and converted lines
run in parallel.  Marked ``qemu``: they skip with a reason when QEMU is
missing, and fail instead under CMDXLATE_REQUIRE_QEMU=1 (CI).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from cmdxlate.emit.convert import convert
from cmdxlate.error import CmdxlateError, OracleCrash
from cmdxlate.oracle.qemu import QemuBinary, run_topology_query
from cmdxlate.oracle.verify import normalise_cpus_fast, normalise_hotpluggable, project, verify_line
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv
from cmdxlate.syntax.shell import read_command_file
from cmdxlate.testing.strategies import FAMILIES, topology_lines

pytestmark = pytest.mark.qemu
DATA = Path(__file__).resolve().parent / "data"

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def same_error(qemu_msg: str | None, ours: str) -> bool:
    """QEMU may put the option's location before its message."""
    return qemu_msg is not None and (qemu_msg == ours or qemu_msg.endswith(": " + ours))


def assert_same_outcome(binary: QemuBinary, argv: list[str], target: str, arch: str) -> None:
    """QEMU and cmdxlate both accept the line, or refuse it with the same message."""
    real = run_topology_query(binary, argv).startup_error
    try:
        resolve(parse_argv(argv), target, arch)
    except CmdxlateError as e:
        assert same_error(real, e.message), (real, e.message)
        return
    assert real is None, real


def check_line(binary: QemuBinary, arch: str, argv: list[str], target: str) -> None:
    """Prediction == QEMU, and the conversion makes QEMU answer the same."""
    cl = parse_argv(argv)
    try:
        topo = resolve(cl, target, arch)
    except CmdxlateError as e:
        if "crashes on this line" in e.message:  # cmdxlate's own refusal of a QEMU crash
            with pytest.raises(OracleCrash):
                run_topology_query(binary, argv)
            return
        ans = run_topology_query(binary, argv)
        assert ans.startup_error is not None, f"QEMU accepted a line cmdxlate rejects: {e}"
        assert same_error(ans.startup_error, e.message), (ans.startup_error, e.message)
        return
    if not (topo.machine.hotpluggable_cpus and topo.machine.device_cpus):
        ans = run_topology_query(binary, argv)
        assert ans.startup_error is None, f"cmdxlate accepted a line QEMU rejects: {ans}"
        with pytest.raises(CmdxlateError) as ei:
            topo.hotpluggable_cpus()
        assert ans.hotpluggable_error == ei.value.message
        assert ans.cpus_fast is not None
        assert [(c["cpu-index"], c.get("props")) for c in ans.cpus_fast] == [
            (c["cpu-index"], c["props"]) for c in topo.present_cpus()]
        assert convert(cl, topo).argv() == cl.to_argv()  # the line is its own conversion
        return
    conv = convert(cl, topo)
    with ThreadPoolExecutor(2) as pool:
        fa = pool.submit(run_topology_query, binary, argv)
        fb = pool.submit(run_topology_query, binary, conv.argv())
        a, b = fa.result(), fb.result()
    assert a.startup_error is None, f"cmdxlate accepted a line QEMU rejects: {a.startup_error}"
    assert a.hotpluggable is not None
    assert topo.hotpluggable_cpus() == normalise_hotpluggable(a.hotpluggable)
    assert b.startup_error is None, f"converted line rejected: {b.startup_error} {conv.argv()}"
    assert b.hotpluggable is not None and a.cpus_fast is not None and b.cpus_fast is not None
    assert normalise_hotpluggable(b.hotpluggable) == normalise_hotpluggable(a.hotpluggable)
    assert normalise_cpus_fast(b.cpus_fast) == normalise_cpus_fast(a.cpus_fast)
    assert [c["cpu-index"] for c in topo.present_cpus()] == [
        c["cpu-index"] for c in a.cpus_fast]


@pytest.mark.parametrize("family", [f for f in FAMILIES if FAMILIES[f].get("target") is None])
@pytest.mark.parametrize("valid", [True, False])
def test_generated_lines_match_qemu_10(family: str, valid: bool, qemu10_for) -> None:
    binary = qemu10_for(FAMILIES[family]["arch"])

    @SETTINGS
    @given(topology_lines(family, valid))
    def run(line: tuple[str, list[str]]) -> None:
        check_line(binary, line[0], line[1], "10.0")

    run()


@pytest.mark.parametrize("valid", [True, False])
def test_generated_lines_match_qemu_72(valid: bool, qemu72_x86: QemuBinary) -> None:
    @SETTINGS
    @given(topology_lines("pc-7.2", valid))
    def run(line: tuple[str, list[str]]) -> None:
        check_line(qemu72_x86, line[0], line[1], "7.2")

    run()


@pytest.mark.parametrize("argv,target", [
    (["-M", "pc", "-smp", "4,modules=2"], "7.2"),  # 'modules' unknown to 7.2
    (["-M", "pc", "-smp", "0"], "7.2"),  # zero: warning in 7.2 ...
    (["-M", "pc", "-smp", "0"], "10.0"),  # ... error since 9.0
    (["-M", "pc", "-smp", "4,clusters=2"], "7.2"),
    (["-M", "pc", "-smp", "4,clusters=2"], "10.0"),
    (["-M", "pc-i440fx-6.1", "-smp", "maxcpus=8"], "7.2"),
    (["-M", "q35", "-smp", "300"], "7.2"),  # q35-7.2 allows 288
    (["-M", "pc", "-smp", "0x4,maxcpus=010"], "10.0"),  # base-0 numbers
    (["-M", "pc", "-smp", "4,maxcpus="], "10.0"),
    (["-M", "pc", "-smp", "4,,sockets=2"], "10.0"),
])
def test_version_differences(argv: list[str], target: str, qemu10_x86: QemuBinary,
                             qemu72_x86: QemuBinary) -> None:
    binary = qemu72_x86 if target == "7.2" else qemu10_x86
    check_line(binary, "x86_64", argv, target)


def _corpus_lines(corpus: list[Path]) -> list[tuple[str, str, list[str]]]:
    out = []
    for p in corpus:
        sc = read_command_file(str(p))
        cl = parse_argv(sc.args, sc.binary)
        if cl.arch in ("x86_64", "ppc64", "s390x"):
            out.append((p.name, cl.arch, sc.args))
    return out


@pytest.mark.shared
def test_corpus_verifies_equal(libvirt_corpus: list[Path], qemu10_for) -> None:
    """Every x86_64/ppc64/s390x corpus topology: QEMU answers the same after convert."""
    lines = _corpus_lines(libvirt_corpus)
    assert len(lines) > 700
    for arch in ("x86_64", "ppc64", "s390x"):
        qemu10_for(arch)

    def one(item: tuple[str, str, list[str]]) -> tuple[str, str]:
        name, arch, args = item
        cl = parse_argv(args, f"qemu-system-{arch}")
        try:
            report = verify_line(cl, target="10.0", arch=arch, timeout=60)
        except CmdxlateError as e:
            return name, "error: " + e.message
        if not report.equal:
            return name, "different: " + "; ".join(report.differences[:3])
        if report.prediction_matches is False:
            return name, "prediction differs from QEMU"
        return name, "ok"

    # Lines whose topology projection and offline answer are the same ask QEMU the same
    # question (864 lines, about 210 questions): each is asked once, for all of them.
    def question(item: tuple[str, str, list[str]]) -> tuple[object, ...]:
        _, arch, args = item
        cl = parse_argv(args, f"qemu-system-{arch}")
        try:
            resolve(cl, "10.0", arch)
            answer = None
        except CmdxlateError as e:
            answer = e.message
        try:
            return (arch, answer, tuple(project(cl, arch).to_argv()))
        except CmdxlateError as e:
            return (arch, answer, e.message)

    asked: dict[tuple[object, ...], tuple[str, str, list[str]]] = {}
    keys = {}
    for item in lines:
        keys[item[0]] = key = question(item)
        asked.setdefault(key, item)
    with ThreadPoolExecutor(4) as pool:
        answers = dict(zip(asked, (r for _, r in pool.map(one, asked.values())), strict=True))
    results = {name: answers[key] for name, key in keys.items()}
    bad = {n: r for n, r in results.items() if r != "ok"}
    # What may legitimately fail: machines gone from 10.0, machines without CPU
    # hotplug, and lines QEMU itself rejects (checked against QEMU's text).
    allowed = ("error: unsupported machine type", "error: machine does not support hot-plugging",
               "error: total memory for NUMA nodes")
    # Options QEMU 10.0 no longer has (-no-acpi, -no-hpet: removed in 9.0) are refused
    # as QEMU 10.0 refuses them: "-no-acpi: invalid option".
    # Machines without CPU hotplug convert to themselves, so verify runs them too: their
    # boards' own RAM bounds are refused as QEMU refuses them (test_qemu_rules.py).
    allowed += ("error: Too much memory for this machine: ", "error: RAM size more than 2 GiB",
                "error: Invalid RAM size, should be bigger than ")
    unexpected = {n: r for n, r in bad.items()
                  if not r.startswith(allowed) and not r.endswith(": invalid option")}
    assert not unexpected, json.dumps(unexpected, indent=1)
    ok = sum(1 for r in results.values() if r == "ok")
    gone = sum(1 for r in results.values() if r.endswith(": invalid option"))
    assert ok + gone >= 845 and ok >= 600, (ok, gone)


@pytest.mark.shared
def test_corpus_rejections_match_qemu(libvirt_corpus: list[Path], qemu10_for) -> None:
    """Where cmdxlate rejects a corpus line, QEMU rejects its projection the same way."""
    for name, arch, args in _corpus_lines(libvirt_corpus):
        cl = project(parse_argv(args, f"qemu-system-{arch}"), arch)
        try:
            resolve(cl, "10.0", arch)
        except CmdxlateError as e:
            real = _qemu_error(qemu10_for(arch), cl.to_argv())
            assert real is not None, name
            assert same_error(real.split("\n")[0], e.message), (name, real, e.message)


def test_live_fixture_lines_match(qemu10_for) -> None:
    for path in sorted((DATA / "live-10.0.2").glob("*.json")):
        data = json.loads(path.read_text())
        if "argv" not in data or "-readconfig" in data["argv"]:
            continue
        arch = data["argv"][0].rsplit("-", 1)[-1]
        if arch not in ("x86_64", "ppc64", "s390x"):
            continue
        check_line(qemu10_for(arch), arch, data["argv"][1:], "10.0")


NUMA_BASE = ["-M", "pc", "-smp", "4,sockets=2,cores=2", "-m", "256",
             "-object", "memory-backend-ram,id=m0,size=128M",
             "-object", "memory-backend-ram,id=m1,size=128M",
             "-numa", "node,memdev=m0", "-numa", "node,memdev=m1"]


@pytest.mark.parametrize("extra", [
    "-numa dist,src=0,dst=1,val=20", "-numa dist,src=0,dst=1,val=5",
    "-numa dist,src=0,dst=0,val=20", "-numa dist,src=0,dst=2,val=20",
    "-numa dist,src=0,dst=1,val=20 -numa dist,src=1,dst=0,val=30",
    "-numa dist,src=0,dst=1,val=300", "-numa dist,src=200,dst=1,val=20",
    "-numa dist,src=0,val=20", "-numa dist,src=0,dst=1,val=x",
    "-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=5",
    "-numa foo", "-numa node,memdev=m2", "-numa node,nodeid=5", "-numa node,nodeid=3",
    "-numa cpu,socket-id=0", "-numa node,cpus=1-0", "-numa node,foo=1", "-numa node,nodeid=0x1",
    "-numa cpu,node-id=1", "-numa node,cpus=a", "-numa node,nodeid=70000",
    "-numa cpu,node-id=0,socket-id=0,core-id=0,thread-id=0 -numa cpu,node-id=1,socket-id=0",
    "-numa cpu,node-id=x,socket-id=0", "-numa cpu,node-id=0,socket-id=-1",
    "-numa cpu,node-id=0,socket-id=0x1", "-numa cpu,node-id=1,die-id=0",
])
def test_numa_options_match_qemu(extra: str, qemu10_x86: QemuBinary) -> None:
    check_line(qemu10_x86, "x86_64", NUMA_BASE + extra.split(), "10.0")


DEVICE_AND_MEMORY_CASES = [
    ('x86_64', '-M pc -smp 1,maxcpus=8,sockets=2,dies=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=1,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=8,sockets=2,dies=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=1,die-id=1,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=8,sockets=2,dies=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=1,die-id=2,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=1,die-id=0,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=2,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device qemu64-x86_64-cpu,socket-id=1,core-id=0,thread-id=0'),
    ('x86_64', '-M pc -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device \'{"driver":"qemu64-x86_64-cpu","id":"c","socket-id":1,"core-id":1,'
     '"thread-id":0}\''),
    ('x86_64', '-M pc -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=1,core-id=0,thread-id=0'
     ' -device qemu64-x86_64-cpu,id=d,socket-id=1,core-id=0,thread-id=0'),
    ('x86_64', '-M microvm -smp 1,maxcpus=4'
     ' -device qemu64-x86_64-cpu,id=c,socket-id=0,core-id=2,thread-id=0'),
    ('ppc64', '-M pseries -smp 2,maxcpus=8,threads=2'
     ' -device power10_v2.0-spapr-cpu-core,id=c,core-id=4'),
    ('ppc64', '-M pseries -smp 2,maxcpus=8,threads=2'
     ' -device power10_v2.0-spapr-cpu-core,id=c,core-id=3'),
    ('ppc64', '-M pseries -smp 2,maxcpus=8,threads=2'
     ' -device power10_v2.0-spapr-cpu-core,id=c,core-id=8'),
    ('ppc64', '-M pseries -smp 2,maxcpus=8,threads=2'
     ' -device power10_v2.0-spapr-cpu-core,id=c,core-id=0'),
    ('ppc64', '-M pseries -smp 2,maxcpus=8,threads=2'
     ' -device power9_v2.2-spapr-cpu-core,id=c,core-id=4'),
    ('ppc64', '-M pseries -cpu POWER9 -smp 2,maxcpus=8,threads=2'
     ' -device power9_v2.2-spapr-cpu-core,id=c,core-id=4'),
    ('s390x', '-M s390-ccw-virtio -smp 1,maxcpus=4'
     ' -device qemu-s390x-cpu,id=c,core-id=2'),
    ('s390x', '-M s390-ccw-virtio -smp 1,maxcpus=4'
     ' -device qemu-s390x-cpu,id=c,core-id=4'),
    ('s390x', '-M s390-ccw-virtio -smp 1,maxcpus=4'
     ' -device qemu-s390x-cpu,id=c,core-id=0'),
    ('s390x', '-M s390-ccw-virtio -smp 1,maxcpus=4'
     ' -device max-s390x-cpu,id=c,core-id=1'),
    ('loongarch64', '-M virt -smp 1,maxcpus=4,sockets=2,cores=2'
     ' -device la464-loongarch-cpu,id=c,socket-id=1,core-id=1,thread-id=0'),
    ("x86_64", "-M pc -m 1G,slots=2,maxmem=2G -smp 2"),
    ("x86_64", "-M pc -m 0 -smp 2"),
    ("x86_64", "-M pc -m 1Q -smp 2"),
    ("x86_64", "-M q35 -smp 2 -machine smp.cpus=4,smp.maxcpus=8"),
    ("x86_64", "-smp 4 -M pc-q35-6.1"),
]


@pytest.mark.parametrize("arch,line", DEVICE_AND_MEMORY_CASES)
def test_device_cpus_and_memory_match_qemu(arch: str, line: str, qemu10_for) -> None:
    import shlex

    check_line(qemu10_for(arch), arch, shlex.split(line), "10.0")


X2APIC_CASES = [
    # (target, argv, QEMU refuses it)
    ("10.0", ["-M", "q35", "-smp", "300"], True),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "Skylake-Client"], False),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "Nehalem"], True),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "Nehalem-v2,x2apic=yes"], False),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "qemu64,x2apic"], False),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "qemu64,x2apic=on,-x2apic"], True),
    ("10.0", ["-M", "q35", "-smp", "300", "-cpu", "max,+x2apic,-x2apic"], True),
    ("10.0", ["-M", "q35", "-smp", "2,maxcpus=300"], False),
    ("10.0", ["-M", "q35", "-smp", "1,maxcpus=300", "-device",
              "qemu64-x86_64-cpu,socket-id=0,core-id=299,thread-id=0"], True),
    ("10.0", ["-M", "q35", "-smp", "1,maxcpus=300", "-device",
              "qemu64-x86_64-cpu,socket-id=0,core-id=299,thread-id=0,x2apic=on"], False),
    ("10.0", ["-M", "q35", "-smp", "300,sockets=2", "-device",
              "qemu64-x86_64-cpu,socket-id=0,core-id=0,thread-id=0"], True),
    ("10.0", ["-M", "q35", "-smp", "200,sockets=2,cores=100"], False),
    ("10.0", ["-M", "q35", "-smp", "256", "-global", "qemu64-x86_64-cpu.x2apic=on"], False),
    ("10.0", ["-M", "q35", "-smp", "256", "-global", "qemu64-x86_64-cpu.x2apic=on",
              "-cpu", "qemu64,x2apic=off"], True),
    ("10.0", ["-M", "q35", "-smp", "256", "-cpu", "qemu64,x2apic=on",
              "-global", "qemu64-x86_64-cpu.x2apic=off"], False),
    ("10.0", ["-M", "q35", "-smp", "256", "-global", "x86_64-cpu.x2apic=on"], False),
    ("10.0", ["-M", "q35", "-smp", "256", "-global",
              "driver=qemu64-x86_64-cpu,property=x2apic,value=on"], False),
    ("7.2", ["-M", "q35", "-smp", "2,maxcpus=256"], True),
    ("7.2", ["-M", "q35", "-smp", "2,maxcpus=255"], False),
    ("7.2", ["-M", "q35", "-smp", "2,maxcpus=200,sockets=2,cores=100"], False),
    ("7.2", ["-M", "q35", "-smp", "256", "-cpu", "Skylake-Client"], True),
]


def _qemu_error(binary: QemuBinary, argv: list[str]) -> str | None:
    """QEMU's refusal: a clean exit with a message, or an abort after one (the 10.0 APIC path)."""
    from cmdxlate.error import OracleCrash

    try:
        return run_topology_query(binary, argv).startup_error
    except OracleCrash as e:
        lines = [ln for ln in e.message.splitlines() if ln.startswith("qemu-system-")]
        assert lines, e.message
        return lines[0].split(": ", 1)[1]


@pytest.mark.parametrize(("target", "argv", "refused"), X2APIC_CASES)
def test_x2apic_rules_match_qemu(target: str, argv: list[str], refused: bool,
                                 qemu10_x86: QemuBinary, qemu72_x86: QemuBinary) -> None:
    binary = qemu10_x86 if target == "10.0" else qemu72_x86
    real = _qemu_error(binary, argv)
    assert (real is not None) == refused, real
    try:
        resolve(parse_argv(argv), target, "x86_64")
        ours = None
    except CmdxlateError as e:
        ours = e.message
    if real is None:
        assert ours is None
    else:
        assert ours is not None and same_error(real, ours), (real, ours)


def _cpu_q(core: int, dev_id: str) -> str:
    return f"qemu64-x86_64-cpu,id={dev_id},socket-id=0,core-id={core},thread-id=0"


def _cpu_j(core: int, dev_id: str) -> str:
    return json.dumps({"driver": "qemu64-x86_64-cpu", "id": dev_id, "socket-id": 0,
                       "core-id": core, "thread-id": 0})


DEVICE_ORDER_CASES = [
    ["-device", _cpu_q(1, "a"), "-device", _cpu_q(2, "a")],
    ["-device", _cpu_q(1, "a"), "-device", "virtio-net-pci,id=a"],
    ["-device", _cpu_q(1, "a"), "-device", _cpu_j(2, "a")],
    ["-device", _cpu_j(1, "a"), "-device", _cpu_q(2, "a")],
    ["-device", _cpu_j(1, "a"), "-device", _cpu_j(2, "a")],
    ["-device", _cpu_j(1, "j"), "-device", _cpu_q(1, "q")],
    ["-device", _cpu_j(3, "j"), "-device", _cpu_q(2, "q"), "-device", _cpu_q(1, "r")],
]


@pytest.mark.parametrize("target", ["10.0", "7.2"])
@pytest.mark.parametrize("devices", DEVICE_ORDER_CASES)
def test_device_ids_and_creation_order_match_qemu(target: str, devices: list[str],
                                                  qemu10_x86: QemuBinary,
                                                  qemu72_x86: QemuBinary) -> None:
    """Option-string devices are created before JSON ones; ids clash as QEMU says."""
    argv = ["-M", "q35", "-smp", "1,maxcpus=4", *devices]
    binary = qemu10_x86 if target == "10.0" else qemu72_x86
    ans = run_topology_query(binary, argv)
    try:
        topo = resolve(parse_argv(argv), target, "x86_64")
    except CmdxlateError as e:
        assert same_error(ans.startup_error, e.message), (ans.startup_error, e.message)
        return
    assert ans.startup_error is None and ans.cpus_fast is not None
    assert normalise_cpus_fast(ans.cpus_fast) == topo.present_cpus()


RISCV_SOCKET_CASES = [
    # (argv, QEMU's outcome: None = accepted, "CRASH" = dies without a message, else its error)
    ("-smp 4 -m 1G -numa node,mem=512M,cpus=0-1 -numa node,mem=512M,cpus=2-3", None),
    ("-smp 2,maxcpus=4 -m 1G -numa node,mem=512M,cpus=0-1 -numa node,mem=512M,cpus=2-3",
     "discontinuous hartids in socket1"),
    ("-smp 2,maxcpus=4 -m 1G -numa node,mem=512M,cpus=0,cpus=2 -numa node,mem=512M,cpus=1,cpus=3",
     None),
    ("-smp 3,maxcpus=4 -m 1G -numa node,mem=512M,cpus=0,cpus=2 -numa node,mem=512M,cpus=1,cpus=3",
     "discontinuous hartids in socket0"),
    ("-smp 3 -m 1G -numa node,mem=512M,cpus=0-2 -numa node,mem=512M",
     "discontinuous hartids in socket1"),
    ("-smp 5 -m 1280M" + " -numa node,mem=256M" * 5,
     "number of sockets/nodes should be less than 4"),
    ("-smp 2 -m 1G -numa node,mem=512M,cpus=1 -numa node,mem=512M,cpus=0", "CRASH"),
    ("-smp 3 -m 768M -numa node,mem=256M,cpus=0 -numa node,mem=256M,cpus=2 "
     "-numa node,mem=256M,cpus=1", "CRASH"),
]


@pytest.mark.parametrize(("args", "outcome"), RISCV_SOCKET_CASES)
def test_riscv_nodes_as_sockets_match_qemu(args: str, outcome: str | None, qemu10_for) -> None:
    """riscv virt: node count, contiguous harts per node, and the line QEMU crashes on."""
    from cmdxlate.error import OracleCrash

    argv = ["-M", "virt", *args.split()]
    try:
        real = run_topology_query(qemu10_for("riscv64"), argv).startup_error
    except OracleCrash:
        real = "CRASH"
    assert real == outcome
    try:
        resolve(parse_argv(argv), "10.0", "riscv64")
        ours = None
    except CmdxlateError as e:
        ours = "CRASH" if e.message.startswith("QEMU crashes on this line") else e.message
    assert ours == outcome


