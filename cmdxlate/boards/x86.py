"""x86 PC boards (pc-i440fx, pc-q35, microvm, isapc): APIC-ID slots and x2APIC rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.apic import ApicRule, check_line
from cmdxlate.boards.base import Board, device_int, id_width
from cmdxlate.error import QemuRefusal
from cmdxlate.resolve.topology import CpuSlot

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolve.smp import SmpConfig
    from cmdxlate.resolve.topology import Topology


def _irqchip(spec: VmSpec) -> str | None:
    props = spec.machine_props
    s = props.get("kernel-irqchip") or props.get("kernel_irqchip")
    value = s.text if s is not None else None
    for opt in spec.accel_options:
        o = opt.opts
        assert o is not None
        value = o.get("kernel-irqchip") or value
    return value


class X86Board(Board):
    """pc_possible_cpu_arch_ids: one slot per thread, APIC IDs packed by level widths."""

    name = "x86"

    def __init__(self, machine: MachineType) -> None:
        super().__init__(machine)
        self.apic: ApicRule | None = None

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        d, m, c, t = smp.dies, smp.modules, smp.cores, smp.threads
        with_die, with_module = "die-id" in keys, "module-id" in keys
        off_core = id_width(t)
        off_mod = off_core + id_width(c)
        off_die = off_mod + id_width(m)
        off_pkg = off_die + id_width(d)
        per_pkg = d * m * c * t
        out: list[CpuSlot] = []
        for i in range(smp.maxcpus):
            pkg, die = i // per_pkg, (i // (m * c * t)) % d
            mod, core, smt = (i // (c * t)) % m, (i // t) % c, i % t
            props = {"socket-id": pkg}
            if with_die:
                props["die-id"] = die
            if with_module:
                props["module-id"] = mod
            props["core-id"] = core
            props["thread-id"] = smt
            apic = (pkg << off_pkg) | (die << off_die) | (mod << off_mod) | (core << off_core) | smt
            out.append(CpuSlot(i, props, 1, apic))
        return out

    # ------------------------------------------------------------ x2APIC

    def prepare_cpus(self, spec: VmSpec, topo: Topology) -> None:
        # Slots are in APIC ID order, so the last one has the highest.
        if not self.machine.facts["x2apic_rules"] or not topo.slots:
            return
        if topo.slots[-1].arch_id < 255:
            return
        release = self.machine.release
        check_line(topo.slots[-1].arch_id, topo.accel, _irqchip(spec), release)
        cpu = spec.cpu
        self.apic = ApicRule(self.machine.cpus, release, cpu.value if cpu else None,
                             topo.cpu_model, topo.cpu_type, topo.accel, spec.globals)

    def check_cpu(self, slot: CpuSlot, device: Device | None) -> None:
        if self.apic is not None and slot.arch_id >= 255:
            self.apic.check(slot.arch_id, device.props.get("x2apic") if device else None)

    def finish_cpus(self, topo: Topology) -> None:
        if self.apic is not None and (w := self.apic.warning()):
            topo.warnings.append(w)

    # ------------------------------------------------------------ -device CPUs

    def pre_plug(self, topo: Topology, device: Device) -> CpuSlot:
        return plug_by_ids(topo, device, ("socket-id", "die-id", "module-id", "core-id",
                                          "thread-id"))


def plug_by_ids(topo: Topology, device: Device, keys: tuple[str, ...]) -> CpuSlot:
    """pc_cpu_pre_plug (and LoongArch's copy): every id the slots carry must be given."""
    if device.driver != topo.cpu_type:
        raise QemuRefusal(f"Invalid CPU type, expected cpu type: '{topo.cpu_type}'")
    smp = topo.smp
    limits = {"socket-id": smp.sockets, "die-id": smp.dies, "module-id": smp.modules,
              "core-id": smp.cores, "thread-id": smp.threads}
    slot_keys = topo.slot_keys
    want: dict[str, int] = {}
    for key in keys:
        if key not in slot_keys:
            continue
        v = device_int(device.props, key)
        if v is None or v < 0:
            raise QemuRefusal(f"CPU {key} is not set")
        if v >= limits[key]:
            raise QemuRefusal(f"Invalid CPU {key}: {v} must be in range 0:{limits[key] - 1}")
        want[key] = v
    slot = topo.slot_with(want)
    if slot is None:
        raise QemuRefusal("CPU slot not found")
    if slot.plugged:
        raise QemuRefusal(f"CPU[{slot.index}] with APIC ID {slot.arch_id} exists")
    return slot
