"""The parser and topology engine against QEMU's own tables and recorded answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import lookup_machine, qemu_text

from cmdxlate.catalog import Catalog
from cmdxlate.emit.convert import convert
from cmdxlate.error import CmdxlateError, QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.resolver.smp import SmpSupport, resolve_smp
from cmdxlate.syntax.argv import CommandLine, parse_argv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


# ------------------------------------------------------------------ -smp

RELEASE_10_0 = Catalog.builtin().release("10.0")


def smp_cases() -> list[dict]:
    """QEMU's test-smp-parse table (tests/data/smp-cases.json), one record per case."""
    data = json.loads((DATA / "smp-cases.json").read_text())
    fields = data["expect_fields"]
    out = []
    for c in data["cases"]:
        r = {"id": c["id"], "smp": c["smp"], "config": c["config"],
             "machine_support": data["machines"][c["machine"]]}
        if "expect" in c:
            r["expect"] = dict(zip(fields, c["expect"], strict=True))
        else:
            r["error"] = c["error"]
        out.append(r)
    assert len(out) == data["record_count"]
    return out


def test_every_smp_case_of_qemu_test_table() -> None:
    cases = smp_cases()
    failures = []
    for r in cases:
        ms = r["machine_support"]
        levels = frozenset(k for k in ("drawers", "books", "dies", "clusters", "modules")
                           if ms[k])
        sup = SmpSupport(ms["name"], levels, ms["prefer_sockets"], ms["min_cpus"],
                         ms["max_cpus"], RELEASE_10_0)
        try:
            got = resolve_smp(r["config"], sup)
        except CmdxlateError as e:
            if e.message != r.get("error"):
                failures.append((r["id"], e.message, r.get("error")))
            continue
        if "error" in r:
            failures.append((r["id"], "accepted", r["error"]))
            continue
        exp = r["expect"]
        want = {k: exp[k] for k in ("cpus", "drawers", "books", "sockets", "dies", "clusters",
                                    "modules", "cores", "threads")}
        want["maxcpus"] = exp["max_cpus"]
        if got.as_dict() != want:
            failures.append((r["id"], got.as_dict(), want))
    assert len(cases) == 1194
    assert failures == []


@pytest.mark.parametrize("machine,smp,arch,want", [
    ("pc", "4", "x86_64", (4, 4, 1, 4, 1)),
    ("pc", "4,maxcpus=8", "x86_64", (4, 8, 1, 8, 1)),
    ("pc", "maxcpus=8", "x86_64", (8, 8, 1, 8, 1)),
    ("pc", "sockets=2", "x86_64", (2, 2, 2, 1, 1)),
    ("pc", "8,cores=2", "x86_64", (8, 8, 4, 2, 1)),
    ("pc", "8,threads=2", "x86_64", (8, 8, 1, 4, 2)),
    ("pc-i440fx-6.1", "4", "x86_64", (4, 4, 4, 1, 1)),
    ("pc-i440fx-6.1", "8,threads=2", "x86_64", (8, 8, 4, 1, 2)),
    ("virt-6.1", "4", "aarch64", (4, 4, 4, 1, 1)),
    ("pc", "0x4,maxcpus=010", "x86_64", (4, 8, 1, 8, 1)),
])
def test_worked_examples(machine: str, smp: str, arch: str, want: tuple) -> None:
    t = resolve(parse_argv(["-M", machine, "-smp", smp]), "10.0", arch)
    s = t.smp
    assert (s.cpus, s.maxcpus, s.sockets, s.cores, s.threads) == want


@pytest.mark.parametrize("argv,arch,target,message", [
    (["-M", "pc", "-smp", "8,sockets=3"], "x86_64", "10.0",
     "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1)"
     " * modules (1) * cores (2) * threads (1) != maxcpus (8)"),
    (["-M", "s390-ccw-virtio-8.1", "-smp", "8,books=2"], "s390x", "10.0",
     "books > 1 not supported by this machine's CPU topology"),
    (["-M", "pseries", "-smp", "6,maxcpus=8,threads=4"], "ppc64", "10.0",
     "smp_cpus (6) must be multiple of threads (4)"),
    (["-M", "pc", "-smp", "4,modules=2"], "x86_64", "7.2", "Parameter 'smp.modules' is unexpected"),
    (["-M", "pc", "-smp", "4,clusters=2"], "x86_64", "7.2",
     "clusters not supported by this machine's CPU topology"),
    (["-M", "pc", "-smp", "0"], "x86_64", "10.0",
     "Invalid CPU topology: CPU topology parameters must be greater than zero"),
    (["-M", "pc", "-smp", "4,maxcpus="], "x86_64", "10.0",
     "Parameter 'smp.maxcpus' expects integer"),
    (["-M", "pc", "-smp", "4,,sockets=2"], "x86_64", "10.0", "Invalid parameter ''"),
    (["-M", "pc", "-smp", "2,foo=1,bar=2"], "x86_64", "10.0",
     "Parameter 'smp.bar' is unexpected"),
    (["-M", "q35", "-smp", "300"], "x86_64", "7.2",
     "Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-q35-7.2' is 288"),
    (["-M", "s390-ccw-virtio", "-smp", "4,threads=2"], "s390x", "10.0",
     "S390 does not support more than 1 threads."),
])
def test_qemu_error_texts(argv: list[str], arch: str, target: str, message: str) -> None:
    with pytest.raises(CmdxlateError) as ei:
        resolve(parse_argv(argv), target, arch)
    assert ei.value.message.endswith(message)


def test_smp_zero_is_a_warning_in_72() -> None:
    t = resolve(parse_argv(["-M", "pc", "-smp", "4,cores=0"]), "7.2")
    assert t.smp.cores == 4
    assert any("greater than zero" in w for w in t.warnings)


def test_several_smp_options_merge() -> None:
    for argv in (["-smp", "4", "-smp", "sockets=2"], ["-smp", "sockets=2", "-smp", "4"],
                 ["-machine", "pc,smp.cpus=4,smp.sockets=2"]):
        s = resolve(parse_argv(argv)).smp
        assert (s.cpus, s.sockets, s.cores) == (4, 2, 2)


# ------------------------------------------------------------------ machines

@pytest.mark.parametrize("name,target,resolved", [
    ("pc", "10.0", "pc-i440fx-10.0"), ("pc", "7.2", "pc-i440fx-7.2"),
    ("q35", "10.0", "pc-q35-10.0"), (None, "10.0", "pc-i440fx-10.0"),
])
def test_aliases(name: str | None, target: str, resolved: str) -> None:
    assert lookup_machine(name, "x86_64", target).name == resolved


@pytest.mark.parametrize("version,limit", [("2.7", 255), ("2.8", 288), ("8.0", 288),
                                           ("8.1", 1024), ("8.2", 1024), ("9.0", 4096),
                                           ("10.0", 4096)])
def test_q35_max_cpus_by_version(version: str, limit: int) -> None:
    assert lookup_machine(f"pc-q35-{version}", "x86_64", "10.0").max_cpus == limit


def test_prefer_sockets_and_unknown_machines() -> None:
    assert lookup_machine("pc-q35-6.1", "x86_64", "10.0").prefer_sockets
    assert not lookup_machine("pc-q35-6.2", "x86_64", "10.0").prefer_sockets
    with pytest.raises(CmdxlateError, match='unsupported machine type: "frob"'):
        lookup_machine("frob", "x86_64", "10.0")
    with pytest.raises(CmdxlateError, match='unsupported machine type: "pc-i440fx-1.4"'):
        lookup_machine("pc-i440fx-1.4", "x86_64", "10.0")
    assert lookup_machine("pc-i440fx-1.4", "x86_64", "7.2").name == "pc-i440fx-1.4"
    with pytest.raises(CmdxlateError, match="unknown target"):
        lookup_machine("pc", "x86_64", "4.2")


# ------------------------------------------------------------------ slots and NUMA

def _norm(entries: list[dict]) -> list[dict]:
    return [{"type": e["type"], "vcpus-count": e["vcpus-count"], "props": e["props"],
             "plugged": "qom-path" in e} for e in entries]


LIVE = sorted((DATA / "live-10.0.2").glob("*.json"))


@pytest.mark.parametrize("path", [p for p in LIVE if "argv" in json.loads(p.read_text())],
                         ids=lambda p: p.name)
def test_live_qemu_answers(path: Path) -> None:
    data = json.loads(path.read_text())
    argv = data["argv"]
    if "-readconfig" in argv:
        i = argv.index("-readconfig")
        argv = argv[:i + 1] + [str(path.parent / argv[i + 1])] + argv[i + 2:]
        from cmdxlate.syntax.source import expand_readconfig

        cl = expand_readconfig(parse_argv(argv[1:], argv[0]))
    else:
        cl = parse_argv(argv[1:], argv[0])
    expected = data["query-hotpluggable-cpus"]
    if isinstance(expected, dict):
        t = resolve(cl, "10.0")  # answers captured on QEMU 10.0.2
        with pytest.raises(CmdxlateError) as ei:
            t.hotpluggable_cpus()
        assert ei.value.message == expected["desc"]
    else:
        t = resolve(cl, "10.0")
        assert t.hotpluggable_cpus() == _norm(expected)
    fast = data.get("query-cpus-fast")
    if fast is not None:
        assert [c["cpu-index"] for c in t.present_cpus()] == [c["cpu-index"] for c in fast]
        assert [c["props"] for c in t.present_cpus()] == [c["props"] for c in fast]


def test_apic_ids_are_sparse() -> None:
    t = resolve(parse_argv(["-smp", "6,sockets=2,cores=3"]))
    assert [s.arch_id for s in t.slots] == [0, 1, 2, 4, 5, 6]


def _numa(*opts: str, smp: str = "4,sockets=2,cores=2", nodes: int = 2) -> list[str]:
    argv = ["-M", "pc", "-m", f"{128 * nodes}M", "-smp", smp]
    for i in range(nodes):
        argv += ["-object", f"memory-backend-ram,id=m{i},size=128M"]
    return argv + list(opts)


def test_numa_default_partial_and_explicit() -> None:
    t = resolve(parse_argv(_numa("-numa", "node,memdev=m0", "-numa", "node,memdev=m1")))
    assert [s.node for s in t.slots] == [0, 0, 1, 1]  # socket % nodes
    t = resolve(parse_argv(_numa("-numa", "node,memdev=m0", "-numa", "node,memdev=m1,cpus=3")))
    assert [s.node for s in t.slots] == [0, 0, 0, 1]
    assert t.warnings[0].startswith("CPU(s) not present in any NUMA nodes: CPU 0 [socket-id: 0")
    t = resolve(parse_argv(_numa("-numa", "node,memdev=m0", "-numa", "node,memdev=m1",
                                 "-numa", "cpu,node-id=1,socket-id=0",
                                 "-numa", "cpu,node-id=0,socket-id=1")))
    assert [s.node for s in t.slots] == [1, 1, 0, 0] and t.warnings == []
    t = resolve(parse_argv(_numa("-numa", "node,memdev=m0,cpus=0,cpus=2",
                                 "-numa", "node,memdev=m1,cpus=1,cpus=3")))
    assert [s.node for s in t.slots] == [0, 1, 0, 1]


@pytest.mark.parametrize("opts,message", [
    (("-numa", "node,memdev=m0,cpus=0-1", "-numa", "node,memdev=m1,cpus=1"),
     "CPU is already assigned to node-id: 0"),
    (("-numa", "node,memdev=m0", "-numa", "node,memdev=m1", "-numa", "cpu,node-id=1,socket-id=5"),
     "no match found"),
    (("-numa", "node,memdev=m0", "-numa", "node,memdev=m1", "-numa", "cpu,node-id=1,die-id=0"),
     "die-id is not supported"),
    (("-numa", "node,memdev=m0", "-numa", "cpu,node-id=1,socket-id=0",
      "-numa", "node,memdev=m1"),
     "Invalid node-id=1, NUMA node must be defined with -numa node,nodeid=ID before it's used "
     "with -numa cpu,node-id=ID"),
    (("-numa", "node,memdev=m0,cpus=9", "-numa", "node,memdev=m1"),
     "CPU index (9) should be smaller than maxcpus (4)"),
    (("-numa", "node,memdev=m0", "-numa", "node,nodeid=0,memdev=m1"), "Duplicate NUMA nodeid: 0"),
    (("-numa", "node,memdev=m0",), "total memory for NUMA nodes (0x8000000) should equal RAM "
     "size (0x10000000)"),
    (("-numa", "node,mem=128M", "-numa", "node,mem=128M"),
     "Parameter -numa node,mem is not supported by this machine type"),
])
def test_numa_errors(opts: tuple[str, ...], message: str) -> None:
    with pytest.raises(CmdxlateError) as ei:
        resolve(parse_argv(_numa(*opts)))
    assert qemu_text(ei.value) == message


def test_numa_mem_on_old_machines_and_s390x() -> None:
    argv = ["-M", "pc-i440fx-5.0", "-m", "256M", "-smp", "2", "-numa", "node,mem=128M",
            "-numa", "node,mem=128M"]
    t = resolve(parse_argv(argv), "10.0")  # pc-i440fx-5.0 is gone from 11.0
    assert "Parameter -numa node,mem is deprecated, use -numa node,memdev instead" in t.warnings
    with pytest.raises(CmdxlateError, match="NUMA is not supported by this machine-type"):
        resolve(parse_argv(["-M", "s390-ccw-virtio", "-numa", "node"]), arch="s390x")


def test_spapr_default_nodes_and_core_ids() -> None:
    argv = ["-M", "pseries", "-m", "512M", "-smp", "4,maxcpus=8,sockets=2,cores=2,threads=2",
            "-object", "memory-backend-ram,id=m0,size=256M",
            "-object", "memory-backend-ram,id=m1,size=256M",
            "-numa", "node,memdev=m0", "-numa", "node,memdev=m1"]
    t = resolve(parse_argv(argv), arch="ppc64")
    assert [s.props["core-id"] for s in t.slots] == [0, 2, 4, 6]
    assert [s.node for s in t.slots] == [0, 0, 1, 1]
    assert [s.plugged for s in t.slots] == [True, True, False, False]


def test_memory_hotplug_slots_create_node_0() -> None:
    t = resolve(parse_argv(["-M", "pc", "-m", "1G,slots=4,maxmem=8G", "-smp", "2"]))
    assert all(e["props"]["node-id"] == 0 for e in t.hotpluggable_cpus())
    t = resolve(parse_argv(["-M", "pc-i440fx-2.10", "-m", "1G,slots=4,maxmem=8G", "-smp", "2"]),
                "10.0")  # pc-i440fx-2.10 is gone from 10.1
    assert all("node-id" not in e["props"] for e in t.hotpluggable_cpus())


@pytest.mark.parametrize(("argv", "target", "arch", "want"), [
    (["-M", "q35", "-smp", "4"], "10.0", "x86_64", {"socket-id", "core-id", "thread-id"}),
    (["-M", "q35", "-smp", "4,dies=2"], "10.0", "x86_64",
     {"socket-id", "die-id", "core-id", "thread-id"}),
    (["-M", "q35", "-smp", "8,dies=2,modules=2"], "10.0", "x86_64",
     {"socket-id", "die-id", "module-id", "core-id", "thread-id"}),
    (["-M", "pc-i440fx-7.2", "-smp", "4,dies=2"], "7.2", "x86_64",
     {"socket-id", "die-id", "core-id", "thread-id"}),
    (["-M", "s390-ccw-virtio", "-smp", "4"], "10.0", "s390x",
     {"drawer-id", "book-id", "socket-id", "core-id"}),
    (["-M", "s390-ccw-virtio", "-smp", "4"], "7.2", "s390x", {"core-id"}),
    (["-M", "pseries", "-smp", "4,threads=2"], "10.0", "ppc64", {"core-id"}),
])
def test_slot_props_come_from_the_machine_data(argv: list[str], target: str, arch: str,
                                               want: set[str]) -> None:
    """Which ids a slot carries is data (slot_props): by target release and by -smp."""
    topo = resolve(parse_argv(argv), target, arch)
    assert topo.slot_keys == want
    assert all(set(s.props) - {"node-id"} == want for s in topo.slots)


@pytest.mark.parametrize(("argv", "target", "message"), [
    (["-M", "q35", "-smp", "300"], "10.0", "APIC ID 255 requires x2APIC feature in CPU"),
    (["-M", "q35", "-smp", "300", "-cpu", "max"], "10.0", None),
    (["-M", "q35", "-smp", "300", "-cpu", "max,x2apic=off"], "10.0",
     "APIC ID 255 requires x2APIC feature in CPU"),
    (["-M", "q35", "-smp", "300", "-cpu", "qemu64,-x2apic,+x2apic"], "10.0",
     "APIC ID 255 requires x2APIC feature in CPU"),
    (["-M", "q35", "-smp", "300", "-accel", "kvm"], "10.0", None),
    (["-M", "q35", "-smp", "300", "-machine", "accel=kvm,kernel-irqchip=off"], "10.0",
     "current -smp configuration requires kernel irqchip and X2APIC API support."),
    (["-M", "q35", "-smp", "2,maxcpus=300", "-device",
      "qemu64-x86_64-cpu,socket-id=0,core-id=257,thread-id=0"], "10.0",
     "APIC ID 257 requires x2APIC feature in CPU"),
    (["-M", "q35", "-smp", "2,maxcpus=256"], "7.2",
     "current -smp configuration requires kernel irqchip and X2APIC API support."),
    (["-M", "q35", "-smp", "2,maxcpus=256", "-enable-kvm"], "7.2", None),
])
def test_x2apic_rules(argv: list[str], target: str, message: str | None) -> None:
    """APIC IDs >= 255: per CPU from QEMU 9.0 (model, -cpu, -device, KVM), per line before."""
    if message is None:
        resolve(parse_argv(argv), target, "x86_64")
        return
    with pytest.raises(CmdxlateError) as ei:
        resolve(parse_argv(argv), target, "x86_64")
    assert qemu_text(ei.value) == message
    assert isinstance(ei.value, QemuRefusal)
    if message.startswith("APIC ID"):
        assert ei.value.qemu_hint == "Try x2apic=on in -cpu."


def test_x2apic_unknown_model_is_a_warning_not_a_guess() -> None:
    """qemu-system-i386's model list is not in the data: no check, and no silent guess."""
    topo = resolve(parse_argv(["-M", "q35", "-smp", "300", "-cpu", "NoSuchModel"]), "10.0",
                   "i386")
    assert any("cannot tell whether CPU model 'NoSuchModel' has x2apic" in w
               for w in topo.warnings)
    with pytest.raises(CmdxlateError, match="unable to find CPU model 'NoSuchModel'"):
        resolve(parse_argv(["-M", "q35", "-smp", "300", "-cpu", "NoSuchModel"]), "10.0",
                "x86_64")


def _cpu(core: int, dev_id: str, as_json: bool = False) -> str:
    if as_json:
        return json.dumps({"driver": "qemu64-x86_64-cpu", "id": dev_id, "socket-id": 0,
                           "core-id": core, "thread-id": 0})
    return f"qemu64-x86_64-cpu,id={dev_id},socket-id=0,core-id={core},thread-id=0"


@pytest.mark.parametrize(("devices", "message"), [
    (["-device", _cpu(1, "a"), "-device", "virtio-net-pci,id=a"], "Duplicate ID 'a' for device"),
    (["-device", _cpu(1, "a", True), "-device", _cpu(2, "a")], "Duplicate device ID 'a'"),
    (["-device", _cpu(1, "j", True), "-device", _cpu(1, "q")], "CPU[1] with APIC ID 1 exists"),
])
def test_device_id_clashes(devices: list[str], message: str) -> None:
    with pytest.raises(CmdxlateError) as ei:
        resolve(parse_argv(["-M", "q35", "-smp", "1,maxcpus=4", *devices]))
    assert qemu_text(ei.value) == message


def test_option_string_devices_are_created_before_json_ones() -> None:
    argv = ["-M", "q35", "-smp", "1,maxcpus=4", "-device", _cpu(3, "j", True),
            "-device", _cpu(2, "q"), "-device", _cpu(1, "r")]
    topo = resolve(parse_argv(argv))
    assert [c["props"]["core-id"] for c in topo.present_cpus()] == [0, 2, 1, 3]
    assert [c["cpu-index"] for c in topo.present_cpus()] == [0, 2, 1, 3]


def test_json_only_when_the_value_starts_with_a_brace() -> None:
    """QEMU checks optarg[0] == '{': a leading blank makes it an option string."""
    text = '{"driver":"qemu64-x86_64-cpu","socket-id":0,"core-id":1,"thread-id":0}'
    assert parse_argv(["-device", text]).options[0].is_json
    cl = parse_argv(["-device", " " + text])
    assert not cl.options[0].is_json
    topo = resolve(parse_argv(["-smp", "1,maxcpus=2", "-device", " " + text]))
    assert [s.plugged for s in topo.slots] == [True, False]


def test_oracle_reads_the_error_after_located_warnings() -> None:
    from cmdxlate.oracle.qemu import _split_stderr

    text = ("qemu-system-x86_64: -device x,a: warning: short-form boolean option 'a' deprecated\n"
            "Please use a=on instead\n"
            "qemu-system-x86_64: -device x,a: 'x' is not a valid device model name\n")
    err, warnings = _split_stderr(text, "/usr/bin/qemu-system-x86_64")
    assert err == "-device x,a: 'x' is not a valid device model name"
    assert warnings == ["short-form boolean option 'a' deprecated"]


HELP_REQUESTS = [["-smp", "help"], ["-smp", "2,help"], ["-machine", "q35,help"], ["-M", "?"],
                 ["-accel", "help"], ["-object", "memory-backend-ram,help"], ["-device", "help"],
                 ["-device", "virtio-net-pci,help"], ["-cpu", "?"], ["-cpu", "help"]]


@pytest.mark.parametrize("args", HELP_REQUESTS)
def test_help_requests_have_no_topology(args: list[str]) -> None:
    """QEMU lists and exits for these: cmdxlate says so instead of resolving a default."""
    with pytest.raises(CmdxlateError) as ei:
        resolve(parse_argv(["-smp", "2", *args]))
    assert "QEMU prints help for this" in ei.value.message
    assert ei.value.where is not None and ei.value.where.index == 2


@pytest.mark.parametrize("args", [["-machine", "type=help"], ["-accel", "tcg,help"],
                                  ["-numa", "help"], ["-cpu", "qemu64,help"]])
def test_help_words_that_are_not_help_requests(args: list[str]) -> None:
    try:
        resolve(parse_argv(args))
    except CmdxlateError as e:
        assert "QEMU prints help" not in e.message


def test_x2apic_values_are_read_case_sensitively() -> None:
    """QEMU refuses x2apic=ON (measured: "expects 'on' or 'off'"); cmdxlate does not take it
    as on, and says it cannot tell."""
    from cmdxlate.boards.apic import CpuFeatures

    assert CpuFeatures("qemu64,x2apic=y").effective(False) is True
    assert CpuFeatures("qemu64,x2apic=ON").effective(False) is None
    topo = resolve(parse_argv(["-M", "q35", "-smp", "256", "-cpu", "qemu64,x2apic=ON"]))
    assert any("cannot tell whether CPU model 'qemu64' has x2apic" in w for w in topo.warnings)


def test_switching_machine_files_never_reads_the_previous_one(tmp_path: Path) -> None:
    """Each database is its own catalog (no process-wide switch), and a file changed on
    disk is read again, CPU model tables included."""
    from cmdxlate.catalog import Catalog
    from cmdxlate.catalog.datafiles import read_json

    fams = [read_json("boards", "pc_q35.json")]
    table = dict(read_json("cpus", "x86.json"), releases=["10.0"], models=[{"name": "only"}])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    db = {"format": "cmdxlate-machines/2", "qemu_version": "10.0.2", "families": fams}
    a.write_text(json.dumps(dict(db, cpu_tables={"x86": table})))
    b.write_text(json.dumps(db))
    ca, cb = Catalog.from_file(str(a)), Catalog.from_file(str(b))
    assert ca.cpu_tables["x86"].names(ca.release("10.0").version) == {"only"}
    assert cb.cpu_tables == {}
    a.write_text(json.dumps(db) + " ")
    assert Catalog.from_file(str(a)).cpu_tables == {}


def test_public_api_follows_the_pipeline() -> None:
    """``cmdxlate.parse`` -> ``cmdxlate.resolve`` -> ``cmdxlate.convert``, as the package
    docstring shows; ``cmdxlate.resolve`` is the function (the stage is ``cmdxlate.resolver``)."""
    import cmdxlate

    line = cmdxlate.parse(["-M", "q35", "-smp", "4,maxcpus=8"])
    assert callable(cmdxlate.resolve)
    topo = cmdxlate.resolve(line, target="10.0")
    assert len(topo.hotpluggable_cpus()) == 8 and len(topo.present_cpus()) == 4
    assert cmdxlate.convert(line, topo).argv()[-2:] == [
        "-device", "qemu64-x86_64-cpu,id=vcpu3,socket-id=0,core-id=3,thread-id=0"]
    assert isinstance(cmdxlate.Catalog.builtin(), cmdxlate.Catalog)
    with pytest.raises(cmdxlate.QemuRefusal) as e:
        cmdxlate.resolve(cmdxlate.parse(["-smp", "2,maxcpus=1"]), target="10.0")
    assert isinstance(e.value, cmdxlate.CmdxlateError)
    with pytest.raises(AttributeError):
        cmdxlate.no_such_name  # noqa: B018


def _answer(line: CommandLine, release: str) -> str:
    try:
        return " ".join(convert(line, resolve(line, release, "x86_64")).argv())
    except CmdxlateError as e:
        return f"refused: {e.message}"


def test_a_parsed_line_answers_every_release_as_a_fresh_one() -> None:
    """The library parses a line once and may resolve it for several releases: what an
    option's value parses to (or the refusal) is kept, and must not change the answer
    (an option string refused once used to read as no value the second time)."""
    data = Path(__file__).parent / "data"
    lines = [c["argv"] for c in json.loads((data / "memory-measured.json").read_text())["cases"]]
    lines += [c["argv"] for c in json.loads((data / "json-measured.json").read_text())["cases"]]
    lines += [["-M", "pc-i440fx-5.2", "-smp", "4,,sockets=2"], ["-smp", "2,foo=1"],
              ["-m", "1G,x=1"], ["-numa", "node,nodeid=x"]]
    assert len(lines) > 400
    for argv in lines:
        shared = parse_argv(argv)
        for release in ("11.1", "5.2", "7.2", "10.0"):
            assert _answer(shared, release) == _answer(parse_argv(argv), release), argv
