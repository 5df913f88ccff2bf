"""A running VM against what its command line predicts, and the line's topology with
the VM's CPUs in it.

The check compares what a line fixes and a hot-plug cannot change: the machine
type, the -smp values, every CPU slot (type, vCPUs, props with node-id), the
NUMA nodes and their sizes, which slots the -smp boot CPUs fill and the
cpu-index of every present CPU. A slot the VM has plugged beyond the line is a
hot-plugged CPU, not a difference; QEMU cannot tell an extra CPU on a migration
destination (migration completes), so the destination must come from here.
"""

from __future__ import annotations

from cmdxlate import records
from cmdxlate.error import InputError, UsageError
from cmdxlate.oracle.live import PERIPHERAL, PERIPHERAL_ANON, UNATTACHED, LiveSlot, LiveVm
from cmdxlate.records import dataclass
from cmdxlate.resolver.devices import line_cpu_devices
from cmdxlate.resolver.smp import SMP_KEYS
from cmdxlate.resolver.topology import PROP_ORDER, CpuSlot, Topology

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Catalog, Release
    from cmdxlate.model import Device, VmSpec

SHOWN_DIFFERENCES = 8


class LiveMismatch(InputError):
    """The VM is not the one the command line describes (exit 2)."""

    kind = "mismatch"

    def __init__(self, socket: str, differences: list[str]) -> None:
        slots = [d for d in differences if d.startswith("slot ")]
        shown = [d for d in differences if not d.startswith("slot ")]
        if slots:
            shown.append(slots[0] + (f" (and {len(slots) - 1} more slots)" if slots[1:] else ""))
        if len(shown) > SHOWN_DIFFERENCES:
            shown[SHOWN_DIFFERENCES:] = [f"and {len(shown) - SHOWN_DIFFERENCES} more"]
        super().__init__(
            f"the VM at {socket} does not match the command line: " + "; ".join(shown),
            hint="give the command line the VM was started with (after --)")
        self.differences = differences

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out["differences"] = self.differences
        return out


@dataclass
class LiveUnit:
    """A present CPU (a core on pseries) that -smp did not create, in creation order."""

    slot: CpuSlot
    qom_path: str
    driver: str  # its QOM type
    device: Device | None = None  # the line's own -device, or None: hot-plugged

    @property
    def device_id(self) -> str | None:
        if self.qom_path.startswith(PERIPHERAL):
            return self.qom_path[len(PERIPHERAL):]
        return None


@dataclass
class LiveState:
    """The VM read, checked against the line, as a topology."""

    vm: LiveVm
    topology: Topology
    units: list[LiveUnit]
    line_devices: list[Device]
    dropped: list[Device]
    warnings: list[str]


def live_release(catalog: Catalog, target: str | None, vm: LiveVm) -> Release:
    """The VM's own release; --target may only repeat it."""
    try:
        release = catalog.release(vm.release)
    except InputError:
        known = ", ".join(str(t) for t in catalog.targets)
        raise InputError(
            f"the VM at {vm.socket} runs QEMU {vm.version}, a release cmdxlate does not model "
            f"(it models {known})",
            hint="describe that QEMU with 'cmdxlate probe --qemu BIN -o m.json' and pass "
                 "--machines m.json") from None
    if target is not None and catalog.release(target).version != release.version:
        raise UsageError(f"--target {target} does not match the VM at {vm.socket}, which runs "
                         f"QEMU {vm.version}",
                         hint="leave out --target: a running VM is checked against its own "
                              "release")
    return release


def _props(props: dict[str, int]) -> str:
    known = [k for k in PROP_ORDER if k in props]
    return ",".join(f"{k}={props[k]}" for k in known + sorted(set(props) - set(known)))


def _nodes(nodes: dict[int, int]) -> str:
    return ", ".join(f"{n} ({mib} MiB)" for n, mib in sorted(nodes.items())) or "none"


def _unit_of(path: str, slot_of: dict[str, int]) -> int | None:
    """The slot of a query-cpus-fast entry (a pseries thread sits inside its core)."""
    if path in slot_of:
        return slot_of[path]
    return slot_of.get(path.rsplit("/", 1)[0])


def differences(topo: Topology, vm: LiveVm) -> list[str]:
    """What the VM and the line's prediction disagree on; [] when they agree."""
    out: list[str] = []
    m = topo.machine
    if vm.arch is not None and vm.arch != m.arch:
        out.append(f"architecture: the VM is {vm.arch}, the line is {m.arch}")
    if vm.machine != m.name:
        out.append(f"machine type: the VM is {vm.machine}, the line gives {m.name}")
    for key in SMP_KEYS:
        if vm.smp is not None and key in vm.smp and vm.smp[key] != topo.smp.level(key):
            out.append(f"-smp {key}: the VM has {vm.smp[key]}, the line gives "
                       f"{topo.smp.level(key)}")
    if vm.numa is not None:
        predicted = {nid: node.size >> 20 for nid, node in topo.numa.nodes.items()}
        if vm.numa != predicted:
            out.append(f"NUMA nodes: the VM has {_nodes(vm.numa)}, the line gives "
                       f"{_nodes(predicted)}")
    if vm.slots is not None and m.hotpluggable_cpus:
        return out + _slot_differences(topo, vm, vm.slots)
    if vm.slots is not None:
        out.append(f"CPU hotplug: the VM has CPU slots, cmdxlate's {m.name} has none")
    elif m.hotpluggable_cpus:
        out.append(f"CPU hotplug: the VM answers query-hotpluggable-cpus with "
                   f"'{vm.slots_error}', cmdxlate's {m.name} has CPU slots")
    else:  # no hotplug on either side: the present CPUs are the line's
        got = [c.cpu_index for c in vm.cpus]
        want = [c["cpu-index"] for c in topo.present_cpus()]
        if got != want:
            out.append(f"present CPUs: the VM has cpu-index {got}, the line gives {want}")
    return out


def _slot_differences(topo: Topology, vm: LiveVm, live: list[LiveSlot]) -> list[str]:
    out: list[str] = []
    predicted = list(reversed(topo.hotpluggable_cpus()))
    if len(predicted) != len(live):
        return [f"CPU slots: the VM has {len(live)}, the line gives {len(predicted)}"]
    types = {(s.type, p["type"]) for s, p in zip(live, predicted, strict=True)
             if s.type != p["type"]}
    for vm_type, line_type in sorted(types):
        out.append(f"CPU type: the VM's slots are {vm_type}, the line gives {line_type}")
    for i, (s, p) in enumerate(zip(live, predicted, strict=True)):
        if s.vcpus_count != p["vcpus-count"] or s.props != p["props"]:
            out.append(f"slot {i}: the VM has {_props(s.props)} ({s.vcpus_count} vCPUs), the "
                       f"line gives {_props(p['props'])} ({p['vcpus-count']} vCPUs)")
    if out:
        return out
    slot_of = {s.qom_path: i for i, s in enumerate(live) if s.qom_path is not None}
    indexes: dict[int, list[int]] = {}
    for c in vm.cpus:
        unit = _unit_of(c.qom_path, slot_of)
        if unit is None:
            out.append(f"CPU {c.cpu_index} ({c.qom_path}) is in no slot the VM reports")
            continue
        indexes.setdefault(unit, []).append(c.cpu_index)
    for i, got in sorted(indexes.items()):
        want = topo.cpu_indexes(topo.slots[i])
        if sorted(got) != want:
            out.append(f"slot {i} ({_props(live[i].props)}): the VM numbers its CPUs "
                       f"{sorted(got)}, the line gives {want}")
    boot_vm = {i for i, s in enumerate(live) if s.qom_path and s.qom_path.startswith(UNATTACHED)}
    boot_line = {s.index for s in topo.slots if s.boot}
    for i in sorted(boot_line - boot_vm):
        now = live[i].qom_path
        out.append(f"slot {i} ({_props(live[i].props)}): the line boots a CPU there, the VM "
                   + (f"has {now} there instead" if now else "has none (unplugged?)"))
    for i in sorted(boot_vm - boot_line):
        out.append(f"slot {i} ({_props(live[i].props)}): the VM booted a CPU there (from "
                   "-smp), the line does not")
    return out


def _same_device(dev: Device, path: str) -> bool:
    if dev.id is None:
        return path.startswith(PERIPHERAL_ANON)
    return path == PERIPHERAL + dev.id


def attach(spec: VmSpec, topo: Topology, vm: LiveVm) -> LiveState:
    """Check ``vm`` against ``topo`` (raise ``LiveMismatch``), then the live topology."""
    diffs = differences(topo, vm)
    if diffs:
        raise LiveMismatch(vm.socket, diffs)
    line = line_cpu_devices(spec, topo)
    if vm.slots is None or not topo.machine.hotpluggable_cpus:
        return LiveState(vm, topo, [], [d for d, _ in line], [], list(topo.warnings))
    slots = [records.replace(s, plugged=False, boot=False, device_id=None, qom_path=None,
                                 created=0) for s in topo.slots]
    live = records.replace(topo, slots=slots, _by_ids=None, warnings=list(topo.warnings),
                               device_cpu_options=list(topo.device_cpu_options))
    slot_of = {s.qom_path: i for i, s in enumerate(vm.slots) if s.qom_path is not None}
    units: list[LiveUnit] = []
    for c in vm.cpus:
        i = _unit_of(c.qom_path, slot_of)
        assert i is not None  # differences() checked it
        slot = slots[i]
        if slot.plugged:
            continue
        path = vm.slots[i].qom_path
        assert path is not None
        slot.plugged, slot.qom_path = True, path
        slot.created = sum(1 for s in slots if s.plugged) - 1
        slot.boot = path.startswith(UNATTACHED)
        if not slot.boot:
            unit = LiveUnit(slot, path, vm.unit_types.get(path, vm.slots[i].type))
            slot.device_id = unit.device_id
            units.append(unit)
    # The line's -device CPUs that are still there come first, in their order.
    dropped: list[Device] = []
    j = 0
    for dev, predicted in line:
        if j < len(units) and units[j].slot.index == predicted.index and _same_device(
                dev, units[j].qom_path):
            units[j].device = dev
            j += 1
        else:
            dropped.append(dev)
    warnings = list(topo.warnings)
    later = {u.qom_path for u in units[j:]}
    for dev in dropped:
        if dev.id is None or PERIPHERAL + dev.id not in later:
            warnings.append(f"{' '.join(dev.option.args())}: the VM has no such CPU now "
                            "(unplugged, or the VM was not started with this line); the "
                            "destination line leaves it out")
    return LiveState(vm, live, units, [d for d, _ in line], dropped, warnings)


__all__ = ["LiveMismatch", "LiveState", "LiveUnit", "attach", "differences", "live_release"]
