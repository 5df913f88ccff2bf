"""Board and -device CPU behaviours at the releases where they change.

Expected answers marked (m) were measured on the real binary of that release
(5.2.0, 7.2.22, 10.0.2, 11.1.3: -S -display none -nodefaults -accel tcg, then
query-hotpluggable-cpus and query-cpus-fast); the others follow QEMU's source
or the qemu-devel archive, as data/releases.json records for each behaviour.
Lines here avoid facts that are catalog data (default CPU models, machine
lists): they name the CPU model when it matters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmdxlate.catalog import Catalog
from cmdxlate.catalog.releases import load_releases
from cmdxlate.error import QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

ALL_RELEASES = ("5.2", "6.0", "6.1", "6.2", "7.0", "7.1", "7.2", "8.0", "8.1", "8.2", "9.0",
                "9.1", "9.2", "10.0", "10.1", "10.2", "11.0", "11.1")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The built-in catalog, with every release of 5.2 to 11.1 as a target.

    Releases the built-in data does not list yet get the behaviours their
    version falls in; board and CPU data come from the built-in families.
    """
    from importlib import resources

    builtin = Catalog.builtin()
    path = resources.files("cmdxlate.catalog").joinpath("data", "releases.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    have = {r["version"] for r in data["releases"]}
    data["releases"] += [{"version": v, "point": v, "checked": "read"}
                         for v in ALL_RELEASES if v not in have]
    return Catalog(load_releases(data), builtin.families, builtin.cpu_tables)


def run(catalog: Catalog, release: str, arch: str, line: str) -> Any:
    """QEMU's error text, or the present CPUs as (cpu-index, props) in creation order."""
    try:
        topo = resolve(parse_argv(line.split()), release, arch, catalog)
    except QemuRefusal as e:
        return e.message
    return [(c["cpu-index"], c["props"]) for c in topo.present_cpus()]


def error(catalog: Catalog, release: str, arch: str, line: str) -> QemuRefusal:
    with pytest.raises(QemuRefusal) as info:
        resolve(parse_argv(line.split()), release, arch, catalog)
    return info.value


def indexes(result: Any) -> list[int]:
    assert isinstance(result, list), result
    return [i for i, _ in result]


Q4 = "-smp 2,maxcpus=4,sockets=1,cores=4"
CPU = "qemu64-x86_64-cpu"

# ---------------------------------------------------------------- -device, any board

JSON3 = '{"driver":"qemu64-x86_64-cpu","socket-id":0,"core-id":3,"thread-id":0}'


@pytest.mark.parametrize("release", ["5.2", "6.0", "6.1"])
def test_json_device_before_6_2_is_an_option_string(catalog: Catalog, release: str) -> None:
    # (m) 5.2: the driver is the text up to the first comma
    assert run(catalog, release, "x86_64", f"{Q4} -device {JSON3}") == (
        f"-device {JSON3}: '{{\"driver\":\"qemu64-x86_64-cpu\"' is not a valid device model name")


@pytest.mark.parametrize("release", ["6.2", "7.2", "10.0", "11.1"])
def test_json_device_from_6_2(catalog: Catalog, release: str) -> None:
    assert indexes(run(catalog, release, "x86_64", f"{Q4} -device {JSON3}")) == [0, 1, 3]


def test_json_devices_are_created_last_from_6_2_and_in_argv_order_before(
        catalog: Catalog) -> None:
    # Two CPUs for the same slot: the one created second is refused.
    json_dev = JSON3[:-1] + ',"id":"j"}'
    line = f"{Q4} -device {json_dev} -device {CPU},id=q,socket-id=0,core-id=3,thread-id=0"
    assert run(catalog, "7.2", "x86_64", line) == (
        f"-device {json_dev}: CPU[3] with APIC ID 3 exists")
    assert run(catalog, "6.1", "x86_64", line).endswith("is not a valid device model name")


@pytest.mark.parametrize(("release", "text"), [
    ("5.2", "Parameter 'driver' expects pluggable device type"),     # (m)
    ("6.0", "Parameter 'driver' expects a pluggable device type"),
    ("11.1", "Parameter 'driver' expects a pluggable device type"),  # (m)
])
def test_not_pluggable_wording(catalog: Catalog, release: str, text: str) -> None:
    line = "-M virt -smp 2 -device cortex-a15-arm-cpu"
    assert run(catalog, release, "aarch64", line) == f"-device cortex-a15-arm-cpu: {text}"


@pytest.mark.parametrize(("release", "text"), [
    ("5.2", "Parameter 'socket-id' expects int64"),   # (m)
    ("7.2", "Parameter 'socket-id' expects integer"),  # (m)
    ("11.1", "Parameter 'socket-id' expects integer"),  # (m)
])
def test_integer_property_texts(catalog: Catalog, release: str, text: str) -> None:
    dev = f"{CPU},socket-id=x,core-id=2,thread-id=0"
    assert run(catalog, release, "x86_64", f"{Q4} -device {dev}") == f"-device {dev}: {text}"


@pytest.mark.parametrize(("dev", "text"), [
    (f"{CPU},socket-id=4294967296,core-id=2,thread-id=0", "Parameter 'socket-id' expects int32_t"),
    (f"{CPU},apic-id=-1", "Parameter 'apic-id' expects uint32_t"),
    ('{"driver":"qemu64-x86_64-cpu","socket-id":"0","core-id":1,"thread-id":0}',
     "Invalid parameter type for 'socket-id', expected: integer"),
])
def test_integer_property_ranges_and_json_types(catalog: Catalog, dev: str, text: str) -> None:
    # (m) 10.0.2 and 11.1.3
    assert run(catalog, "10.0", "x86_64", f"{Q4} -device {dev}") == f"-device {dev}: {text}"


def test_json_duplicate_id_comes_after_the_type_lookup(catalog: Catalog) -> None:
    line = (f"{Q4} -device {CPU},id=a,socket-id=0,core-id=2,thread-id=0 "
            '-device {"driver":"foo-x86_64-cpu","id":"a"}')
    assert run(catalog, "10.0", "x86_64", line) == (
        '-device {"driver":"foo-x86_64-cpu","id":"a"}: '
        "'foo-x86_64-cpu' is not a valid device model name")  # (m) 11.1.3


# ---------------------------------------------------------------- x86 pre-plug


@pytest.mark.parametrize(("release", "text"), [
    ("5.2", "Invalid CPU [socket: 2, die: 0, core: 0, thread: 0] with APIC ID 8, "
            "valid index range 0:3"),  # (m)
    ("9.0", "Invalid CPU [socket: 2, die: 0, core: 0, thread: 0] with APIC ID 8, "
            "valid index range 0:3"),
    ("9.1", "Invalid CPU [socket: 2, die: 0, module: 0, core: 0, thread: 0] with APIC ID 8, "
            "valid index range 0:3"),
    ("11.1", "Invalid CPU [socket: 2, die: 0, module: 0, core: 0, thread: 0] with APIC ID 8, "
             "valid index range 0:3"),  # (m)
])
def test_apic_id_without_a_slot(catalog: Catalog, release: str, text: str) -> None:
    line = f"{Q4} -device {CPU},apic-id=8"
    assert run(catalog, release, "x86_64", line) == f"-device {CPU},apic-id=8: {text}"


@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
def test_apic_id_alone_selects_the_slot(catalog: Catalog, release: str) -> None:
    # (m) all four
    assert indexes(run(catalog, release, "x86_64", f"{Q4} -device {CPU},apic-id=3")) == [0, 1, 3]


@pytest.mark.parametrize(("line", "text"), [
    (f"{Q4} -device {CPU},socket-id=0,core-id=3,thread-id=0,apic-id=2",
     "property core-id: 3 doesn't match set apic-id: 0x2 (core-id: 2)"),  # (m) 5.2, 11.1
    ("-smp 2,maxcpus=8,sockets=2,modules=2,cores=2 -device qemu64-x86_64-cpu,apic-id=6,"
     "module-id=0", "property module-id: 0 doesn't match set apic-id: 0x6 (module-id: 1)"),
    ("-smp 2,maxcpus=8,sockets=2,dies=2,cores=2 -device qemu64-x86_64-cpu,apic-id=6,die-id=0",
     "property die-id: 0 doesn't match set apic-id: 0x6 (die-id: 1)"),  # (m) 11.1
])
def test_ids_against_a_given_apic_id(catalog: Catalog, line: str, text: str) -> None:
    got = run(catalog, "10.0", "x86_64", line)
    assert isinstance(got, str) and got.endswith(": " + text)


def test_apic_id_with_modules(catalog: Catalog) -> None:
    # (m) 11.1.3: APIC ID 7 = socket 1, module 1, core 1
    line = "-smp 2,maxcpus=8,sockets=2,modules=2,cores=2 -device qemu64-x86_64-cpu,apic-id=7"
    got = run(catalog, "10.0", "x86_64", line)
    assert got[-1] == (7, {"socket-id": 1, "module-id": 1, "core-id": 1, "thread-id": 0})


def test_given_die_id_is_range_checked_with_one_die(catalog: Catalog) -> None:
    dev = f"{CPU},socket-id=0,core-id=2,thread-id=0,die-id=1"
    for release in ("5.2", "10.0", "11.1"):  # (m)
        assert run(catalog, release, "x86_64", f"{Q4} -device {dev}") == (
            f"-device {dev}: Invalid CPU die-id: 1 must be in range 0:0")


@pytest.mark.parametrize(("release", "ok"), [("5.2", False), ("9.0", False), ("9.1", True),
                                             ("11.1", True)])
def test_module_id_property(catalog: Catalog, release: str, ok: bool) -> None:
    dev = f"{CPU},socket-id=0,core-id=2,thread-id=0,module-id=0"
    got = run(catalog, release, "x86_64", f"{Q4} -device {dev}")
    if ok:
        assert indexes(got) == [0, 1, 2]
    else:
        assert got == f"-device {dev}: Property '{CPU}.module-id' not found"  # (m) 5.2, 7.2


def test_node_id_is_checked_without_numa(catalog: Catalog) -> None:
    dev = f"{CPU},socket-id=0,core-id=3,thread-id=0,node-id=1"
    for release in ("5.2", "11.1"):  # (m)
        assert run(catalog, release, "x86_64", f"{Q4} -device {dev}") == (
            f"-device {dev}: invalid node-id, must be 0")
    assert indexes(run(catalog, "11.1", "x86_64",
                       f"{Q4} -device {dev.replace('node-id=1', 'node-id=0')}")) == [0, 1, 3]


def test_unknown_cpu_model_is_not_a_device_type(catalog: Catalog) -> None:
    dev = "foo-x86_64-cpu,socket-id=0,core-id=2,thread-id=0"
    for release in ("7.2", "10.0"):  # (m); 5.2 and 11.1 too, given their CPU lists
        assert run(catalog, release, "x86_64", f"{Q4} -device {dev}") == (
            f"-device {dev}: 'foo-x86_64-cpu' is not a valid device model name")


# ---------------------------------------------------------------- microvm

MICROVM = ("-smp 1,maxcpus=4,sockets=1,cores=4 "
           "-device qemu64-x86_64-cpu,socket-id=0,core-id=3,thread-id=0")


@pytest.mark.parametrize("release", ["5.2", "7.2", "9.0"])
def test_microvm_ged_refuses_cpus_up_to_9_0(catalog: Catalog, release: str) -> None:
    # (m) 5.2.0, 7.2.22
    assert run(catalog, release, "x86_64", f"-M microvm {MICROVM}") == (
        "-device qemu64-x86_64-cpu,socket-id=0,core-id=3,thread-id=0: virt: device plug "
        "request for unsupported device type: qemu64-x86_64-cpu")
    # pre-plug comes first (m) 5.2.0
    assert run(catalog, release, "x86_64", f"-M microvm {MICROVM.replace('core-id=3', 'core-id=4')}"
               ).endswith("Invalid CPU core-id: 4 must be in range 0:3")
    # without ACPI there is no GED (m) 5.2.0
    assert indexes(run(catalog, release, "x86_64", f"-M microvm,acpi=off {MICROVM}")) == [0, 3]


@pytest.mark.parametrize("release", ["9.1", "10.0", "11.1"])
def test_microvm_takes_device_cpus_from_9_1(catalog: Catalog, release: str) -> None:
    assert indexes(run(catalog, release, "x86_64", f"-M microvm {MICROVM}")) == [0, 3]  # (m)


# ---------------------------------------------------------------- x86 APIC IDs >= 255

BIG_BOOT = "-M q35 -smp 256"
BIG_SLOTS = "-M q35 -smp 1,maxcpus=256"
EIM = ("current -smp configuration requires Extended Interrupt Mode enabled. You can add an "
       "IOMMU using: -device intel-iommu,intremap=on,eim=on")
IRQCHIP = "current -smp configuration requires kernel irqchip and X2APIC API support."
APIC_LIMIT = "apic initialization failed. APIC ID 255 is invalid"


@pytest.mark.parametrize(("release", "boot", "slots"), [
    ("5.2", APIC_LIMIT, EIM),  # (m)
    ("6.0", APIC_LIMIT, "current -smp configuration requires kernel irqchip support."),
    ("7.0", APIC_LIMIT, "current -smp configuration requires kernel irqchip support."),
    ("7.1", IRQCHIP, IRQCHIP),
    ("8.1", IRQCHIP, IRQCHIP),
    ("7.2", IRQCHIP, IRQCHIP),  # (m)
    ("8.2", APIC_LIMIT, None),
])
def test_x2apic_before_9_0(catalog: Catalog, release: str, boot: str,
                           slots: str | None) -> None:
    assert run(catalog, release, "x86_64", BIG_BOOT) == boot
    got = run(catalog, release, "x86_64", BIG_SLOTS)
    assert got == slots if slots else indexes(got) == [0]


def test_x2apic_5_2_device_cpu_and_order(catalog: Catalog) -> None:
    # (m) 5.2.0: the -device CPU's APIC fails (located) before the machine-done check
    line = ("-M q35 -smp 255,maxcpus=256,sockets=1,cores=256 "
            f"-device {CPU},socket-id=0,core-id=255,thread-id=0")
    assert run(catalog, "5.2", "x86_64", line) == (
        f"-device {CPU},socket-id=0,core-id=255,thread-id=0: {APIC_LIMIT}")
    # The machine-done check comes after every -device CPU is plugged.
    line = ("-M q35 -smp 1,maxcpus=256,sockets=1,cores=256 "
            f"-device {CPU},socket-id=0,core-id=3,thread-id=0")
    assert run(catalog, "5.2", "x86_64", line) == EIM


@pytest.mark.parametrize(("release", "hint", "aborts", "at"), [
    ("9.0", None, True, None),
    ("9.1", "Try x2apic=on in -cpu.", True, None),
    ("10.0", "Try x2apic=on in -cpu.", True, "hw/intc/apic_common.c:447"),  # (m)
    ("10.2", "Try x2apic=on in -cpu.", True, "hw/intc/apic_common.c:430"),
    ("11.0", "Try x2apic=on in -cpu.", False, None),
    ("11.1", "Try x2apic=on in -cpu.", False, None),  # (m)
])
def test_x2apic_per_cpu(catalog: Catalog, release: str, hint: str | None, aborts: bool,
                        at: str | None) -> None:
    from cmdxlate.boards.apic import QemuAbort

    err = error(catalog, release, "x86_64", f"{BIG_BOOT} -cpu qemu64,x2apic=off")
    assert err.message == "APIC ID 255 requires x2APIC feature in CPU"
    assert err.qemu_hint == hint
    assert isinstance(err, QemuAbort) == aborts
    if isinstance(err, QemuAbort):
        assert err.preamble == (f"Unexpected error in apic_common_set_id() at {at}:"
                                if at else None)
    assert indexes(run(catalog, release, "x86_64", f"{BIG_BOOT} -cpu qemu64,x2apic=on")) == list(
        range(256))


# ---------------------------------------------------------------- pseries

P9 = "-M pseries -cpu power9_v2.0"
P9_CORE = "power9_v2.0-spapr-cpu-core"


@pytest.mark.parametrize(("release", "threads", "text"), [
    ("5.2", 2, "TCG cannot support more than 1 thread/core on a pseries machine"),  # (m)
    ("8.0", 3, "TCG cannot support more than 1 thread/core on a pseries machine"),
    ("8.1", 3, "Cannot support 3 threads/core on a pseries machine because it must be a "
               "power of 2"),
    ("10.0", 16, "TCG cannot support more than 8 threads/core on a pseries machine"),  # (m)
    ("11.1", 3, "Cannot support 3 threads/core on a pseries machine because it must be a "
                "power of 2"),  # (m)
])
def test_pseries_tcg_threads(catalog: Catalog, release: str, threads: int, text: str) -> None:
    assert run(catalog, release, "ppc64", f"{P9} -smp {threads},threads={threads}") == text


@pytest.mark.parametrize("release", ["8.1", "10.0", "11.1"])
def test_pseries_smt_needs_power8(catalog: Catalog, release: str) -> None:
    smt = "TCG only supports SMT on POWER8 or newer CPUs"
    # (m) 10.0.2, 11.1.3; checked before the power-of-two and the memory checks
    assert run(catalog, release, "ppc64", "-M pseries -cpu POWER7 -m 500M -smp 3,threads=3") == smt
    assert run(catalog, release, "ppc64", "-M pseries,max-cpu-compat=power7 -cpu power9_v2.0 "
                                          "-smp 2,threads=2") == smt
    assert indexes(run(catalog, release, "ppc64",
                       "-M pseries,max-cpu-compat=power8 -cpu power9_v2.0 -smp 2,threads=2")
                   ) == [0, 1]


_RMA = "pSeries SLOF firmware requires >= 80ldMiB guest RMA (Real Mode Area memory)"
_NODES = ("-object memory-backend-ram,id=a,size={} -object memory-backend-ram,id=b,size={} "
          "-numa node,memdev=a -numa node,memdev=b")


@pytest.mark.parametrize("release", ("5.2", "10.0", "11.1"))
@pytest.mark.parametrize(("line", "answer"), [
    ("-m 64M", _RMA), ("-m 127M", _RMA),
    ("-m 128M", "Memory size 0x8000000 is not aligned to 256 MiB"),
    ("-m 100M -smp 2,threads=2", _RMA), ("-m 100M -smp 3,threads=3", _RMA),
    ("-m 1G " + _NODES.format("100M", "924M"), _RMA),
    ("-m 1G " + _NODES.format("384M", "640M"),
     "Node 0 memory size 0x18000000 is not aligned to 256 MiB"),
    ("-m 1G " + _NODES.format("256M", "768M"), None),
])
def test_pseries_needs_128_mib_of_rma_first(catalog: Catalog, release: str, line: str,
                                            answer: str | None) -> None:
    """Measured on 5.2.0, 10.0.2 and 11.1.3 (2026-11-30): spapr_rma_size() refuses less
    than 128 MiB of RAM or of the first node with memory (rounded down to a power of two:
    384M counts as 256M) before the threads and the 256 MiB alignment are checked, and
    prints 128 in hex with a stray "ld"."""
    got = run(catalog, release, "ppc64", "-M pseries " + line)
    assert got == answer if answer is not None else isinstance(got, list)


def test_pseries_memory_before_threads_multiple(catalog: Catalog) -> None:
    # (m) 11.1.3: node memory is validated before the CPUs are created
    line = f"{P9} -m 500M -smp 3,maxcpus=4,threads=2"
    assert run(catalog, "11.1", "ppc64", line) == "Memory size 0x1f400000 is not aligned to 256 MiB"
    assert run(catalog, "11.1", "ppc64", line.replace("500M", "512M")) == (
        "smp_cpus (3) must be multiple of threads (2)")


def test_pseries_nested_hv_with_smt_is_checked_at_reset(catalog: Catalog) -> None:
    base = "-M pseries,cap-nested-hv=on -cpu power9_v2.0 -smp 2,maxcpus=8,threads=2"
    # (m) 11.1.3: a -device error comes first
    assert run(catalog, "11.1", "ppc64", f"{base} -device {P9_CORE},core-id=1") == (
        f"-device {P9_CORE},core-id=1: invalid core id 1")
    err = error(catalog, "11.1", "ppc64", f"{base} -device {P9_CORE},core-id=2")
    assert err.message == "TCG does not support nested-HV with SMT"
    assert err.qemu_hint == "Try appending -machine cap-nested-hv=off or use threads=1 with -smp"


@pytest.mark.parametrize(("dev", "text"), [
    (P9_CORE, "core 0 already populated"),                        # core-id defaults to 0
    (f"{P9_CORE},core-id=2,nr-threads=2", "invalid nr-threads 2, must be 1"),
    (f"{P9_CORE},core-id=2,node-id=1", "invalid node-id, must be 0"),
    (f"{P9_CORE},core-id=-2", "Invalid core id -2"),
    (f"{P9_CORE},core-id=4", "core id 4 out of range"),
    ("power9_v2.0-powerpc64-cpu", "Parameter 'driver' expects pluggable device type"),
])
def test_pseries_core_pre_plug_5_2(catalog: Catalog, dev: str, text: str) -> None:
    # (m) 5.2.0
    assert run(catalog, "5.2", "ppc64", f"{P9} -smp 2,maxcpus=4 -device {dev}") == (
        f"-device {dev}: {text}")


def test_pseries_device_cores_in_creation_order(catalog: Catalog) -> None:
    # (m) 5.2.0: cpu-index = core-id, query-cpus-fast in creation order
    line = f"{P9} -smp 2,maxcpus=4 -device {P9_CORE},core-id=3 -device {P9_CORE},core-id=2"
    assert indexes(run(catalog, "5.2", "ppc64", line)) == [0, 1, 3, 2]


# ---------------------------------------------------------------- s390x


@pytest.mark.parametrize(("release", "machine", "mixed"), [
    ("5.2", "s390-ccw-virtio", True),       # (m)
    ("7.0", "s390-ccw-virtio", True),
    ("7.1", "s390-ccw-virtio", False),
    ("11.1", "s390-ccw-virtio-7.1", True),  # (m)
    ("11.1", "s390-ccw-virtio-7.2", False),  # (m)
    ("10.0", "s390-ccw-virtio", False),     # (m)
])
def test_s390x_max_and_qemu_models(catalog: Catalog, release: str, machine: str,
                                   mixed: bool) -> None:
    line = f"-M {machine} -smp 2,maxcpus=4 -device max-s390x-cpu,core-id=3"
    got = run(catalog, release, "s390x", line)
    if mixed:
        assert got == ("-device max-s390x-cpu,core-id=3: "
                       "Mixed CPU models are not supported on s390x.")
    else:
        assert indexes(got) == [0, 1, 3]


@pytest.mark.parametrize(("release", "dev", "text"), [
    ("5.2", "qemu-s390x-cpu", "Unable to add CPU with core-id: 0, it already exists"),  # (m)
    ("5.2", "qemu-s390x-cpu,core-id=-1", "Parameter 'core-id' expects uint32_t"),  # (m)
    ("5.2", "qemu-s390x-cpu,core-id=3,socket-id=0",
     "Property 'qemu-s390x-cpu.socket-id' not found"),  # (m)
    ("8.1", "qemu-s390x-cpu,core-id=3,book-id=0", "Property 'qemu-s390x-cpu.book-id' not found"),
    ("11.1", "qemu-s390x-cpu,core-id=3,node-id=0",
     "Property 'qemu-s390x-cpu.node-id' not found"),  # (m)
    ("11.1", "qemu-s390x-cpu,core-id=4", "Unable to add CPU with core-id: 4, maximum core-id: 3"),
])
def test_s390x_device_cpu(catalog: Catalog, release: str, dev: str, text: str) -> None:
    assert run(catalog, release, "s390x", f"-smp 2,maxcpus=4 -device {dev}") == (
        f"-device {dev}: {text}")


def test_s390x_placement_ids_are_ignored_under_tcg(catalog: Catalog) -> None:
    # (m) 11.1.3: socket-id 7 of 1 socket is accepted; the slot keeps its own ids
    got = run(catalog, "11.1", "s390x", "-smp 2,maxcpus=4 -device qemu-s390x-cpu,core-id=3,"
                                        "socket-id=7")
    assert indexes(got) == [0, 1, 3]


def test_s390x_cpu_model_before_mixed_models(catalog: Catalog) -> None:
    # (m) 10.0.2: the model TCG cannot run is reported, not the mix
    got = run(catalog, "10.0", "s390x", "-smp 2,maxcpus=4 -device z14-s390x-cpu,core-id=9")
    assert isinstance(got, str) and got.startswith(
        "-device z14-s390x-cpu,core-id=9: Some features requested in the CPU model are not "
        "available in the current configuration: ")


# ---------------------------------------------------------------- LoongArch

LA = "-M virt -smp 1,maxcpus=4"


@pytest.mark.parametrize(("dev", "text"), [
    ("la464-loongarch-cpu", "cpu(id-1=0:0:0) with arch-id 0 exists"),
    ("la464-loongarch-cpu,socket-id=0,core-id=4,thread-id=0",
     "Invalid core-id 4 specified, must be in range 1:3"),
    ("la464-loongarch-cpu,core-id=-1",
     "Invalid core-id 4294967295 specified, must be in range 1:3"),
    ("la464-loongarch-cpu,core-id=3,node-id=1", "invalid node-id, must be 0"),
])
def test_loongarch_pre_plug(catalog: Catalog, dev: str, text: str) -> None:
    for release in ("10.0", "11.1"):  # (m)
        got = run(catalog, release, "loongarch64", f"{LA} -device {dev}")
        assert got == f"-device {dev}: {text}"


def test_loongarch_any_model_and_default_ids(catalog: Catalog) -> None:
    # (m) 10.0.2, 11.1.3
    assert indexes(run(catalog, "11.1", "loongarch64",
                       f"{LA} -device max-loongarch-cpu,socket-id=0,core-id=2,thread-id=0")
                   ) == [0, 2]
    got = run(catalog, "11.1", "loongarch64", f"{LA} -device la464-loongarch-cpu,core-id=2")
    assert indexes(got) == [0, 2]


def test_loongarch_threads_and_wide_topologies(catalog: Catalog) -> None:
    # (m) 11.1.3
    dev = "la464-loongarch-cpu,core-id=1,thread-id=2"
    assert run(catalog, "11.1", "loongarch64", f"-M virt -smp 1,maxcpus=4,threads=2 -device {dev}"
               ) == f"-device {dev}: Invalid thread-id 2 specified, must be in range 1:1"
    assert run(catalog, "11.1", "loongarch64", "-M virt -smp 240,sockets=3,cores=80") == (
        "Exceeding max cpuid 256 with sockets[3] cores[80] threads[1]")


@pytest.mark.parametrize("release", ["7.2", "9.2"])
def test_loongarch_no_device_cpus_before_10_0(catalog: Catalog, release: str) -> None:
    got = run(catalog, release, "loongarch64", f"{LA} -device la464-loongarch-cpu,core-id=2")
    assert got == ("-device la464-loongarch-cpu,core-id=2: Parameter 'driver' expects a "
                   "pluggable device type")


# ---------------------------------------------------------------- arm virt

EXCEEDS = "Number of SMP CPUs requested ({}) exceeds max CPUs supported by machine 'mach-virt' ({})"


@pytest.mark.parametrize(("release", "ok"), [("5.2", False), ("7.2", False), ("8.0", True),
                                             ("11.1", True)])
def test_arm_virt_tcg_default_gic(catalog: Catalog, release: str, ok: bool) -> None:
    # (m) 5.2.0 refuses, 10.0.2/11.1.3 take GICv3
    got = run(catalog, release, "aarch64", "-M virt -smp 2,maxcpus=9")
    assert (got == EXCEEDS.format(9, 8)) != ok


@pytest.mark.parametrize(("release", "text"), [
    ("5.2", "VGICv3 redist region number(2) not equal to 1"),  # (m)
    ("6.1", "VGICv3 redist region number(2) not equal to 1"),
    ("6.2", None),
    ("11.1", None),  # (m) 10.0.2
])
def test_arm_virt_gicv3_one_region_before_6_2(catalog: Catalog, release: str,
                                              text: str | None) -> None:
    got = run(catalog, release, "aarch64", "-M virt,gic-version=3 -smp 124")
    assert got == text if text else len(got) == 124
    # only boot CPUs count (m) 5.2.0
    assert indexes(run(catalog, release, "aarch64", "-M virt,gic-version=3 -smp 2,maxcpus=124")
                   ) == [0, 1]


@pytest.mark.parametrize(("release", "text", "hint"), [
    ("7.2", "Capacity of the redist regions(123) does not match the number of vcpus(124)", None),
    ("8.0", EXCEEDS.format(124, 123), "Try 'highmem-redists=on' for more CPUs"),
    ("11.1", EXCEEDS.format(124, 123), "Try 'highmem-redists=on' for more CPUs"),  # (m)
])
def test_arm_virt_highmem_off(catalog: Catalog, release: str, text: str,
                              hint: str | None) -> None:
    err = error(catalog, release, "aarch64", "-M virt,gic-version=3,highmem=off -smp 124")
    assert (err.message, err.qemu_hint) == (text, hint)


@pytest.mark.parametrize(("release", "text"), [
    ("7.1", "gic-version=4 requires virtualization enabled"),
    ("7.2", "gic-version=4 requires virtualization enabled"),
    ("8.0", "tcg does not support GICv4 emulation, is virtualization=on?"),
    ("11.1", "tcg does not support GICv4 emulation, is virtualization=on?"),  # (m) 10.0.2
])
def test_arm_virt_gicv4(catalog: Catalog, release: str, text: str) -> None:
    assert run(catalog, release, "aarch64", "-M virt,gic-version=4 -smp 4") == text


def test_arm_virt_gicv4_limits(catalog: Catalog) -> None:
    # (m) 11.1.3: 61 redistributors below 4 GiB, 317 with the high region
    line = "-M virt,gic-version=4,virtualization=on -cpu max -smp 318"
    assert run(catalog, "11.1", "aarch64", line) == EXCEEDS.format(318, 317)
    err = error(catalog, "11.1", "aarch64", line.replace("virtualization=on", "virtualization=on,"
                                                         "highmem=off").replace("318", "62"))
    assert (err.message, err.qemu_hint) == (EXCEEDS.format(62, 61),
                                       "Try 'highmem-redists=on' for more CPUs")
    # 'max' with virtualization=on is GICv4 from 7.1
    assert run(catalog, "11.1", "aarch64", "-M virt,gic-version=max,virtualization=on -cpu max "
                                           "-smp 62,maxcpus=318") == EXCEEDS.format(318, 317)


def test_thread_id_only_slots(catalog: Catalog) -> None:
    """arm virt up to 7.0 and sbsa-ref: a CPU's only id is thread-id, its index."""
    from cmdxlate.boards.arm_virt import ArmVirtBoard

    topo = resolve(parse_argv("-M virt -smp 3,sockets=3".split()), "10.0", "aarch64", catalog)
    board = ArmVirtBoard(topo.machine)
    slots = board.possible_cpus(topo.smp, frozenset({"thread-id"}))
    assert [s.props for s in slots] == [{"thread-id": 0}, {"thread-id": 1}, {"thread-id": 2}]


@pytest.mark.parametrize(("release", "dev", "text"), [
    ("5.2", f"{CPU},apic-id=x", "Parameter 'apic-id' expects uint64"),
    ("5.2", f"{CPU},socket-id=9223372036854775808,core-id=0,thread-id=0",
     "Parameter 'socket-id' expects int64"),
    ("11.1", f"{CPU},apic-id=18446744073709551616", "Parameter 'apic-id' expects integer"),
    ("11.1", f"{CPU},socket-id=9223372036854775808,core-id=0,thread-id=0",
     "Parameter 'socket-id' expects integer"),
])
def test_integers_beyond_64_bits(catalog: Catalog, release: str, dev: str, text: str) -> None:
    # (m) 5.2.0 and 11.1.3
    assert run(catalog, release, "x86_64", f"{Q4} -device {dev}") == f"-device {dev}: {text}"


def test_microvm_has_no_machine_done_apic_check(catalog: Catalog) -> None:
    # (m) 5.2.0: pc_machine_done's EIM check is the PC boards'; the APIC limit is everyone's
    assert indexes(run(catalog, "5.2", "x86_64",
                       "-M microvm -smp 1,maxcpus=256,sockets=1,cores=256")) == [0]
    assert run(catalog, "5.2", "x86_64", "-M microvm -smp 256,sockets=1,cores=256") == APIC_LIMIT


@pytest.mark.parametrize(("release", "driver", "text"), [
    ("11.1", "foo-spapr-cpu-core", "'foo-spapr-cpu-core' is not a valid device model name"),  # (m)
    ("10.0", "405-spapr-cpu-core", "'405-spapr-cpu-core' is not a valid device model name"),  # (m)
    ("5.2", "power9_v2.2-spapr-cpu-core",
     "'power9_v2.2-spapr-cpu-core' is not a valid device model name"),  # (m)
    ("11.1", "power11_v2.0-powerpc64-cpu",
     "Parameter 'driver' expects a pluggable device type"),  # (m)
    ("10.0", "foo-powerpc64-cpu", "'foo-powerpc64-cpu' is not a valid device model name"),  # (m)
])
def test_pseries_device_types(catalog: Catalog, release: str, driver: str, text: str) -> None:
    line = f"{P9} -smp 2,maxcpus=4 -device {driver},core-id=2"
    assert run(catalog, release, "ppc64", line) == f"-device {driver},core-id=2: {text}"
