"""The hotplug route to a command line's CPUs, as libvirt takes it: start QEMU with one
boot unit and ``-S``, then ``device_add`` every other CPU over QMP.

The argv keeps the line whole except -smp's boot count (one CPU; one core on
pseries; maxcpus and every level unchanged) and its -device CPUs, and starts
paused (``-S`` is added when the line lacks it: ``cont`` starts the guest). The
device_adds follow the line's creation order: the other boot slots in slot
order, then the line's -device CPUs in QEMU's order. QEMU then ends with the
line's slots, plugged set, node-ids, cpu-indexes and query-cpus-fast order;
only the qom-paths differ (measured on QEMU 10.0.2 and 11.1.3). With ``cpus`` the plan
reaches that many CPUs instead, filling slots in slot order as ``-smp cpus=N``
does.
"""

from __future__ import annotations

from cmdxlate.emit.convert import _strip_smp_from_machine, _used_ids, device_id, smp_value
from cmdxlate.error import QueryRefusal, UsageError
from cmdxlate.model import build_spec
from cmdxlate.records import dataclass
from cmdxlate.resolver.devices import line_cpu_devices
from cmdxlate.resolver.topology import CpuSlot, Topology
from cmdxlate.syntax.argv import CommandLine

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

_DEVICE_KEYS = frozenset({"driver", "id", "node-id"})


@dataclass
class Plan:
    groups: list[list[str]]  # the QEMU command line, one option per element
    commands: list[dict[str, Any]]  # device_add, in order
    boot_cpus: int
    cpus: int  # present vCPUs after the last command
    warnings: list[str]

    def argv(self, binary: str | None = None) -> list[str]:
        return ([binary] if binary else []) + [w for g in self.groups for w in g]

    def as_dict(self, binary: str | None = None) -> dict[str, Any]:
        return {"argv": self.argv(binary), "qmp": self.commands}


def _argv(cl: CommandLine, topo: Topology, boot_cpus: int) -> list[list[str]]:
    """The line with -smp booting ``boot_cpus``, without its -device CPUs, and paused
    (``-S``) so that no guest code runs before every CPU is there."""
    smp_opts = cl.find("smp")
    new_smp = [(smp_opts[0].spelling if smp_opts else None) or "-smp",
               smp_value(topo, boot_cpus)]
    cpu_options = set(topo.device_cpu_options)
    groups: list[list[str]] = []
    placed = False
    for opt in cl.options:
        if opt.index in cpu_options:
            continue
        if opt.name == "smp":
            if not placed:
                groups.append(new_smp)
                placed = True
            continue
        if opt.name == "machine":
            kept = _strip_smp_from_machine(opt)
            if kept is not None:
                groups.append(kept)
            if not smp_opts and not placed:
                groups.append(new_smp)
                placed = True
            continue
        groups.append(opt.args())
    if not placed:
        groups.insert(0, new_smp)
    if not cl.find("S"):
        groups.insert(0, ["-S"])
    return groups


def _check_cpus(topo: Topology, cpus: int, unit: int) -> None:
    maxcpus = topo.smp.maxcpus
    if cpus < unit:
        raise UsageError(f"--cpus {cpus}: the plan boots {unit} CPU{'s' if unit > 1 else ''}, "
                         "so it cannot have fewer")
    if cpus > maxcpus:
        raise UsageError(f"--cpus {cpus}: more than maxcpus ({maxcpus})")
    if cpus % unit:
        raise UsageError(f"--cpus {cpus}: {topo.machine.name} plugs whole cores of {unit} "
                         f"threads, so give a multiple of {unit}")


def make_plan(cl: CommandLine, topo: Topology, cpus: int | None = None) -> Plan:
    """Boot one unit, then device_add the rest of the line's CPUs (or reach ``cpus``)."""
    machine = topo.machine
    if not machine.hotpluggable_cpus or not machine.device_cpus:
        raise QueryRefusal("machine does not support hot-plugging CPUs")
    unit = topo.slots[0].vcpus_count
    line = line_cpu_devices(build_spec(cl), topo)
    warnings = list(topo.warnings)
    order: list[CpuSlot]
    if cpus is None:
        order = sorted((s for s in topo.slots if s.plugged and s.index != 0),
                       key=lambda s: s.created)
    else:
        _check_cpus(topo, cpus, unit)
        order = topo.slots[1:cpus // unit]
        if line:
            ids = ", ".join(d.id or d.option.args()[1] for d, _ in line)
            warnings.append(f"--cpus {cpus} plugs slots in slot order: the line's -device "
                            f"CPUs ({ids}) are not in the plan")
            line = []
    by_slot = {slot.index: dev for dev, slot in line}
    used = _used_ids(cl) | {d.id for d, _ in line if d.id}
    commands: list[dict[str, Any]] = []
    for slot in order:
        dev = by_slot.get(slot.index)
        props = topo.slot_props(slot)
        args: dict[str, Any] = {
            "driver": dev.driver if dev is not None else topo.cpu_type,
            "id": dev.id if dev is not None and dev.id else device_id(slot, used), **props}
        if dev is not None:
            extra = sorted(set(dev.props) - _DEVICE_KEYS - set(props))
            if extra:
                warnings.append(f"{' '.join(dev.option.args())}: the plan's device_add "
                                f"{args['id']} leaves out {', '.join(extra)} (add them by hand)")
        commands.append({"execute": "device_add", "arguments": args})
    present = unit + sum(s.vcpus_count for s in order)
    return Plan(_argv(cl, topo, unit), commands, unit, present, warnings)


__all__ = ["Plan", "make_plan"]
