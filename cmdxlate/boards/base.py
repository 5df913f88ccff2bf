"""The board base class: what every board family does the same way, and the hooks where
boards differ.

Like a sqlglot dialect, a board is one class: table attributes for what is
data-like (which ids its ``-device`` CPUs carry, how explain labels a slot), and
methods for the steps of QEMU's board init where boards differ (the possible-CPU
list, boot CPUs, the default NUMA node, board checks, CPU pre-plug). The
machine-type facts (limits, versions, properties) come from the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cmdxlate.catalog.properties import machine_property_names
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.resolve.topology import CpuSlot
from cmdxlate.syntax.numbers import c_int, qemu_bool

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolve.numa import NumaState
    from cmdxlate.resolve.smp import SmpConfig
    from cmdxlate.resolve.topology import Topology


def id_width(n: int) -> int:
    """Bits needed for ids 0..n-1 (QEMU's apicid_bitwidth_for_count)."""
    return 0 if n <= 1 else (n - 1).bit_length()


def device_int(props: dict[str, str], key: str) -> int | None:
    """An int32 property of a -device; None when absent."""
    if key not in props:
        return None
    try:
        return c_int(props[key])
    except ValueError:
        raise QemuRefusal(f"Parameter '{key}' expects int32") from None


class Board:
    """A board family's behaviour; subclasses override the hooks that differ."""

    name: ClassVar[str] = "generic"
    # Ids a converted line writes for each slot in -device and -numa cpu.
    device_id_keys: ClassVar[tuple[str, ...] | None] = None  # None: every id the slot has
    # Slot props that explain draws as containers (outermost first).
    tree_levels: ClassVar[tuple[tuple[str, str], ...]] = (
        ("drawer-id", "drawer"), ("book-id", "book"), ("socket-id", "socket"),
        ("die-id", "die"), ("cluster-id", "cluster"), ("module-id", "module"),
        ("core-id", "core"),
    )

    def __init__(self, machine: MachineType) -> None:
        self.machine = machine

    # ------------------------------------------------------------ the possible CPUs

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        """The board's possible_cpu_arch_ids list, in cpu-index order."""
        return [CpuSlot(n, {}, 1, n) for n in range(smp.maxcpus)]

    def slot_of_cpu_index(self, smp: SmpConfig, index: int) -> int:
        """Which slot holds cpu-index ``index`` (for ``-numa node,cpus=``)."""
        return index

    def boot_slots(self, smp: SmpConfig) -> int:
        """How many slots (from the first) the -smp boot CPUs fill."""
        return smp.cpus

    def cpu_indexes(self, slot: CpuSlot) -> list[int]:
        return [slot.index]

    def cpus_of(self, slot: CpuSlot, props: dict[str, int]) -> list[tuple[int, dict[str, int]]]:
        """query-cpus-fast entries for a present slot: (cpu-index, props) per vCPU."""
        return [(i, dict(props)) for i in self.cpu_indexes(slot)]

    # ------------------------------------------------------------ NUMA

    def default_nodes(self, smp: SmpConfig, slots: list[CpuSlot], nodes: int) -> list[int]:
        """The node of each slot when no -numa option maps any CPU (get_default_cpu_node_id)."""
        rule = self.machine.default_node
        if rule == "index":
            return [i % nodes for i in range(len(slots))]
        if rule == "block":
            # LoongArch virt 8.1-9.0: runs of cpus/nodes CPUs, the rest on the last node.
            per = smp.cpus // nodes
            if not per:
                raise InputError(f"QEMU divides by zero on this line (fewer CPUs than the "
                                 f"{nodes} NUMA nodes) and crashes",
                                 hint="give at least one CPU per NUMA node")
            return [min(i // per, nodes - 1) for i in range(len(slots))]
        return [s.props.get("socket-id", 0) % nodes for s in slots]

    def check_numa_layout(self, smp: SmpConfig, numa: NumaState, slots: list[CpuSlot]) -> None:
        """Board rules about how CPUs may spread over nodes (after the defaults are set)."""

    def check_memory(self, ram: int, numa: NumaState) -> None:
        """Board rules about RAM and node sizes."""

    # ------------------------------------------------------------ machine properties and init

    def check_property(self, key: str, value: str, nested: bool = False) -> None:
        """A -machine property, as QEMU sets it: one the machine type lacks (in the
        measured property lists, catalog.properties) is not found; the values of
        those cmdxlate reads are checked (not ``nested`` ones: ``sgx-epc.0.node=0``)."""
        facts = self.machine.facts
        names = machine_property_names(self.machine)
        if key in facts["absent_props"] or (names is not None and names.lacks(key)):
            raise QemuRefusal(f"Property '{self.machine.name}-machine.{key}' not found")
        if nested:
            return
        if key in facts["bool_props"]:
            if qemu_bool(value) is None:
                raise QemuRefusal(f"Parameter '{key}' expects 'on' or 'off'")
            return
        enum = facts["enum_props"].get(key)
        if enum is not None:
            values, message = enum
            if value not in values:
                raise QemuRefusal(message)

    @property
    def checked_properties(self) -> frozenset[str]:
        """-machine properties checked as QEMU sets them (and those the machine lacks)."""
        facts = self.machine.facts
        return (frozenset(facts["bool_props"]) | frozenset(facts["enum_props"])
                | frozenset(facts["absent_props"]))

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str]) -> None:
        """Checks of the board's init function that depend only on -smp and properties."""

    # ------------------------------------------------------------ CPUs

    def prepare_cpus(self, spec: VmSpec, topo: Topology) -> None:
        """Before any CPU is created (x86: the x2APIC line check)."""

    def check_cpu(self, slot: CpuSlot, device: Device | None) -> None:
        """As one CPU is realized (a boot CPU, or a -device CPU)."""

    def finish_cpus(self, topo: Topology) -> None:
        """After every CPU is created."""

    def pre_plug(self, topo: Topology, device: Device) -> CpuSlot:
        """The slot a -device CPU takes, with the checks of the board's pre-plug handler."""
        raise QemuRefusal("Parameter 'driver' expects a pluggable device type")

    # ------------------------------------------------------------ emit and explain

    def device_ids(self, slot: CpuSlot) -> list[tuple[str, str]]:
        """The ids a -device CPU or -numa cpu names this slot by."""
        keys = self.device_id_keys
        return [(k, str(v)) for k, v in slot.ids() if keys is None or k in keys]

    def slot_label(self, slot: CpuSlot) -> str:
        if "thread-id" in slot.props:
            return f"thread {slot.props['thread-id']}"
        return f"cpu {slot.props.get('core-id', slot.index)}"

    def tree_containers(self, slot: CpuSlot) -> list[tuple[str, int]]:
        """(level name, id) pairs explain nests a slot under, outermost first."""
        return [(label, slot.props[prop]) for prop, label in self.tree_levels
                if prop in slot.props]

    def describe(self) -> dict[str, Any]:
        return {"board": self.name, "machine": self.machine.name}
