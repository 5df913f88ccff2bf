"""x86 PC boards (pc-i440fx, pc-q35, microvm, isapc): APIC-ID slots and x2APIC rules."""

from __future__ import annotations

from itertools import islice, product

from cmdxlate.boards.base import Board, id_width, numa_pre_plug
from cmdxlate.error import QemuRefusal
from cmdxlate.resolver.topology import CpuSlot
from cmdxlate.syntax.numbers import qemu_bool

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.boards.apic import ApicRules
    from cmdxlate.catalog import MachineType
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import Topology

UNASSIGNED_APIC_ID = 0xFFFFFFFF
# The placement ids of an x86 CPU, outermost first, and the -smp level each counts in.
ID_LEVELS = (("socket-id", "sockets"), ("die-id", "dies"), ("module-id", "modules"),
             ("core-id", "cores"), ("thread-id", "threads"))


def _irqchip(spec: VmSpec) -> str | None:
    props = spec.machine_props
    s = props.get("kernel-irqchip") or props.get("kernel_irqchip")
    value = s.text if s is not None else None
    for opt in spec.accel_options:
        o = opt.opts
        assert o is not None
        value = o.get("kernel-irqchip") or value
    return value


def _iommu_eim(spec: VmSpec) -> bool:
    """An intel-iommu with interrupt remapping in Extended Interrupt Mode (5.2's condition)."""
    return any(d.driver == "intel-iommu" and qemu_bool(d.props.get("intremap")) is True
               and qemu_bool(d.props.get("eim")) is True for d in spec.devices)


class ApicLayout:
    """How an APIC ID packs socket, die, module, core and thread (x86 topology.h)."""

    def __init__(self, smp: SmpConfig) -> None:
        self.counts = {"sockets": smp.sockets, "dies": smp.dies, "modules": smp.modules,
                       "cores": smp.cores, "threads": smp.threads}
        self.widths = {lv: id_width(n) for lv, n in self.counts.items()}
        off, self.offsets = 0, {}
        for level in ("threads", "cores", "modules", "dies", "sockets"):
            self.offsets[level] = off
            off += self.widths[level]

    def apic_id(self, ids: dict[str, int]) -> int:
        return sum(ids[key] << self.offsets[level] for key, level in ID_LEVELS)

    def ids(self, apic_id: int) -> dict[str, int]:
        """x86_topo_ids_from_apicid: every level masked to its width, the socket unbounded."""
        out = {}
        for key, level in ID_LEVELS:
            value = apic_id >> self.offsets[level]
            if level != "sockets":
                value &= (1 << self.widths[level]) - 1
            out[key] = value
        return out


class X86Board(Board):
    """pc_possible_cpu_arch_ids: one slot per thread, APIC IDs packed by level widths."""

    name = "x86"
    cpu_int_props = {"socket-id": "int32_t", "die-id": "int32_t", "module-id": "int32_t",
                     "core-id": "int32_t", "thread-id": "int32_t", "node-id": "int32_t",
                     "apic-id": "uint32_t"}

    def __init__(self, machine: MachineType) -> None:
        super().__init__(machine)
        self.apic: ApicRules | None = None
        self.max_apic_id = 0
        self.acpi: str | None = None

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        at = ApicLayout(smp).offsets  # the APIC ID is the ids shifted into place
        at_s, at_d, at_m, at_c = at["sockets"], at["dies"], at["modules"], at["cores"]
        d, m, c, t = smp.dies, smp.modules, smp.cores, smp.threads
        dies, modules = "die-id" in keys, "module-id" in keys
        out: list[CpuSlot] = []
        sockets = -(-smp.maxcpus // (d * m * c * t))  # the last socket may be partial (5.2)
        # Thread fastest, as cpu-index counts them.
        ids = islice(product(range(sockets), range(d), range(m), range(c), range(t)),
                     smp.maxcpus)
        for i, (socket, die, module, core, thread) in enumerate(ids):
            if dies or modules:
                props = {"socket-id": socket}
                if dies:
                    props["die-id"] = die
                if modules:
                    props["module-id"] = module
                props["core-id"] = core
                props["thread-id"] = thread
            else:
                props = {"socket-id": socket, "core-id": core, "thread-id": thread}
            apic_id = (socket << at_s) + (die << at_d) + (module << at_m) + (core << at_c) + thread
            out.append(CpuSlot(i, props, 1, apic_id))
        return out

    def check_device_memory(self, ram: int, maxram: int, slots: int) -> None:
        """pc_memory_init (pc and q35, after x86_cpus_init): isapc has no device memory;
        the others take at most 256 slots and a maxmem of whole 4 KiB pages."""
        family = self.machine.family.name
        if family == "isapc" and (slots or maxram > ram):
            raise QemuRefusal("\"-memory 'slots|maxmem'\" is not supported by: isapc")
        if family not in ("pc-i440fx", "pc-q35") or ram >= maxram:
            return
        if slots > 256:  # ACPI_MAX_RAM_SLOTS
            raise QemuRefusal(f"unsupported amount of memory slots: {slots}")
        if maxram % 4096:
            raise QemuRefusal("maximum memory size must by aligned to multiple of 4096 bytes")

    # ------------------------------------------------------------ APIC IDs of 255 and up

    def prepare_cpus(self, spec: VmSpec, topo: Topology) -> None:
        acpi = spec.machine_props.get("acpi")
        self.acpi = acpi.text if acpi is not None else None
        # Slots are in APIC ID order, so the last one has the highest.
        if not self.machine.facts["x2apic_rules"] or not topo.slots:
            return
        self.max_apic_id = topo.slots[-1].arch_id
        if self.max_apic_id < 255:
            return
        cpu = spec.cpu
        from cmdxlate.boards.apic import ApicRules  # APIC IDs of 255 and up only

        self.apic = ApicRules(self.machine.cpus, self.machine.release,
                              cpu.value if cpu else None, topo.cpu_model, topo.cpu_type,
                              topo.accel, _irqchip(spec), spec.globals, _iommu_eim(spec))
        self.apic.check_line(self.max_apic_id)

    def check_cpu(self, slot: CpuSlot, device: Device | None) -> None:
        if self.apic is not None:
            self.apic.check_cpu(slot.arch_id, device.props.get("x2apic") if device else None)

    def finish_cpus(self, topo: Topology) -> None:
        if self.apic is None:
            return
        if self.machine.family.name != "microvm":  # pc_machine_done; microvm has its own
            self.apic.machine_done(self.max_apic_id)
        if w := self.apic.warning():
            topo.warnings.append(w)

    # ------------------------------------------------------------ -device CPUs

    def check_device_type(self, topo: Topology, driver: str) -> None:
        """x86 CPU types are always user-creatable: whether the board takes them is up to
        its hotplug handlers (microvm's ACPI device refused them before 9.1, see plug)."""
        self.check_type_exists(topo, driver)

    def absent_device_props(self) -> frozenset[str]:
        if self.machine.release.has("x86-cpu-module-id"):
            return frozenset()
        return frozenset({"module-id"})

    def pre_plug(self, topo: Topology, device: Device, values: dict[str, int]) -> CpuSlot:
        """x86_cpu_pre_plug: the slot by APIC ID, given or computed from the ids."""
        if device.driver != topo.cpu_type:
            raise QemuRefusal(f"Invalid CPU type, expected cpu type: '{topo.cpu_type}'")
        layout = ApicLayout(topo.smp)
        with_module = self.machine.release.has("x86-cpu-module-id")
        given = {key: values.get(key, -1) for key, _ in ID_LEVELS}
        if not with_module:
            given["module-id"] = -1
        apic_id = values.get("apic-id", UNASSIGNED_APIC_ID)
        if apic_id == UNASSIGNED_APIC_ID:
            ids = dict(given)
            for key, level in ID_LEVELS:
                # die-id (and module-id) may be left out when there is one per socket
                if key in ("die-id", "module-id") and ids[key] < 0 and layout.counts[level] == 1:
                    ids[key] = 0
                if key == "module-id" and not with_module:
                    continue
                if ids[key] < 0:
                    raise QemuRefusal(f"CPU {key} is not set")
                top = layout.counts[level] - 1
                if ids[key] > top:
                    raise QemuRefusal(f"Invalid CPU {key}: {ids[key]} must be in range 0:{top}")
            apic_id = layout.apic_id({k: max(v, 0) for k, v in ids.items()})
        slot = next((s for s in topo.slots if s.arch_id == apic_id), None)
        decoded = layout.ids(apic_id)
        if slot is None:
            where = ", ".join(f"{key.split('-')[0]}: {decoded[key]}" for key, _ in ID_LEVELS
                              if with_module or key != "module-id")
            raise QemuRefusal(f"Invalid CPU [{where}] with APIC ID {apic_id}, valid index "
                              f"range 0:{len(topo.slots) - 1}")
        if slot.plugged:
            raise QemuRefusal(f"CPU[{slot.index}] with APIC ID {apic_id} exists")
        for key, _ in ID_LEVELS:
            if given[key] != -1 and given[key] != decoded[key]:
                raise QemuRefusal(f"property {key}: {given[key]} doesn't match set apic-id: "
                                  f"0x{apic_id:x} ({key}: {decoded[key]})")
        numa_pre_plug(topo, slot, device)
        return slot

    def plug(self, topo: Topology, slot: CpuSlot, device: Device) -> None:
        """x86_cpu_plug hands the CPU to the ACPI device: microvm's GED took none before 9.1."""
        if (self.machine.family.name == "microvm"
                and not self.machine.release.has("microvm-device-cpu")
                and qemu_bool(self.acpi) is not False):
            raise QemuRefusal(
                f"virt: device plug request for unsupported device type: {device.driver}")
