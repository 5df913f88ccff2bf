"""The board base class: what every board family does the same way, and the hooks where
boards differ.

Like a sqlglot dialect, a board is one class: table attributes for what is
data-like (which ids its ``-device`` CPUs carry, how explain labels a slot), and
methods for the steps of QEMU's board init where boards differ (the possible-CPU
list, boot CPUs, the default NUMA node, board checks, CPU pre-plug). The
machine-type facts (limits, versions, properties) come from the catalog.
"""

from __future__ import annotations

from cmdxlate.catalog.properties import machine_property_names
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.resolver.topology import SLOT_ID_ORDER, CpuSlot
from cmdxlate.syntax.numbers import c_int, qemu_bool

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any, ClassVar

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType, Release
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolver.numa import NumaState
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import Topology


def id_width(n: int) -> int:
    """Bits needed for ids 0..n-1 (QEMU's apicid_bitwidth_for_count)."""
    return 0 if n <= 1 else (n - 1).bit_length()


_INT_RANGES = {"int32_t": (-(1 << 31), (1 << 31) - 1), "uint32_t": (0, (1 << 32) - 1),
               "int64_t": (-(1 << 63), (1 << 63) - 1)}


def device_int(device: Device, key: str, release: Release, kind: str = "int32_t") -> int | None:
    """An integer property of a -device as QEMU sets it; None when absent.

    Option strings are parsed like strtoll (base 0); a JSON -device must give a
    JSON integer. The texts differ by release: 6.2 moved -device to QDicts and
    the keyval visitor ("expects integer"); 5.2's string visitor said "int64"
    or "uint64" (measured 5.2.0 and 11.1.3).
    """
    if key not in device.props:
        return None
    low, high = _INT_RANGES[kind]
    raw = device.option.json.get(key) if device.is_json and device.option.json else None
    if device.is_json and release.has("device-json"):
        # QEMU keeps a JSON integer as int64, else uint64, else a double: a signed
        # property takes int64 only; an unsigned one uint64, or int64 modulo 2^64.
        if (isinstance(raw, bool) or not isinstance(raw, int)
                or (low < 0 and not -(1 << 63) <= raw < (1 << 63))):
            raise QemuRefusal(f"Invalid parameter type for '{key}', expected: integer")
        if low == 0 and not -(1 << 63) <= raw < (1 << 64):
            raise QemuRefusal(f"Parameter '{key}' expects uint64")
        value = raw % (1 << 64) if low == 0 else raw
    else:
        # strtoll for signed properties, strtoull (negative numbers wrap) for unsigned
        word = ("integer" if release.has("device-json")
                else "uint64" if low == 0 else "int64")
        try:
            value = c_int(device.props[key])
        except ValueError:
            raise QemuRefusal(f"Parameter '{key}' expects {word}") from None
        if low < 0 and not -(1 << 63) <= value < (1 << 63) or not -(1 << 64) < value < (1 << 64):
            raise QemuRefusal(f"Parameter '{key}' expects {word}")
        if low == 0 and value < 0:
            value += 1 << 64
    if not low <= value <= high:
        raise QemuRefusal(f"Parameter '{key}' expects {kind}")
    return value


def numa_pre_plug(topo: Topology, slot: CpuSlot, device: Device) -> None:
    """numa_cpu_pre_plug: a given node-id must be the slot's (node 0 without NUMA)."""
    node = device_int(device, "node-id", topo.machine.release)
    if node is None or node == -1:
        return
    want = slot.node if slot.node is not None else 0
    if node != want:
        raise QemuRefusal(f"invalid node-id, must be {want}")


def not_pluggable(release: Release) -> str:
    """qdev_get_device_class's text for a type -device cannot create."""
    article = "a " if release.has("device-expects-a-pluggable-type") else ""
    return f"Parameter 'driver' expects {article}pluggable device type"


class Board:
    """A board family's behaviour; subclasses override the hooks that differ."""

    name: ClassVar[str] = "generic"
    # Ids a converted line writes for each slot in -device and -numa cpu.
    device_id_keys: ClassVar[tuple[str, ...] | None] = None  # None: every id the slot has
    id_order: ClassVar[tuple[str, ...]] = SLOT_ID_ORDER  # device_id_keys in QEMU's order
    # Slot props that explain draws as containers (outermost first).
    tree_levels: ClassVar[tuple[tuple[str, str], ...]] = (
        ("drawer-id", "drawer"), ("book-id", "book"), ("socket-id", "socket"),
        ("die-id", "die"), ("cluster-id", "cluster"), ("module-id", "module"),
        ("core-id", "core"),
    )

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        keys = cls.device_id_keys
        if keys is not None:
            cls.id_order = tuple(k for k in SLOT_ID_ORDER if k in keys)

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

    def check_early_memory(self, ram: int, numa: NumaState) -> None:
        """Board rules about RAM that its init function checks before check_init's."""

    def check_memory(self, ram: int, numa: NumaState) -> None:
        """Board rules about RAM and node sizes."""

    def check_device_memory(self, ram: int, maxram: int, slots: int) -> None:
        """Board rules about -m slots and maxmem, checked after the boot CPUs."""

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

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str],
                   cpu_model: str) -> None:
        """Checks of the board's init function before RAM and CPUs (-smp, properties, model)."""

    # ------------------------------------------------------------ CPUs

    def prepare_cpus(self, spec: VmSpec, topo: Topology) -> None:
        """Before any CPU is created (x86: the x2APIC line check)."""

    def check_cpu(self, slot: CpuSlot, device: Device | None) -> None:
        """As one CPU is realized (a boot CPU, or a -device CPU)."""

    def finish_cpus(self, topo: Topology) -> None:
        """After every CPU is created."""

    # ------------------------------------------------------------ -device CPUs

    # Integer properties of the CPU device and their C types (parsed as QEMU sets them).
    cpu_int_props: ClassVar[dict[str, str]] = {}

    def is_cpu_device(self, driver: str) -> bool:
        """Whether a -device driver is one of this machine's CPU types (or a CPU part)."""
        return self.machine.is_cpu_driver(driver)

    def check_device_type(self, topo: Topology, driver: str) -> None:
        """qdev_get_device_class: the type must exist, and be creatable with -device."""
        self.check_type_exists(topo, driver)
        if not self.machine.device_cpus:
            raise QemuRefusal(not_pluggable(self.machine.release))

    def check_type_exists(self, topo: Topology, driver: str) -> None:
        """A CPU type the release registers (where the CPU table lists the release's models)."""
        table = self.machine.cpus
        if table is None:
            return
        names = table.names(self.machine.release.version)
        model = driver[:-len(self.machine.cpu_type_suffix)]
        if (names is not None and model not in names
                and (topo.accel or "tcg") not in table.accel_registered.get(model, ())):
            raise QemuRefusal(f"'{driver}' is not a valid device model name")

    def absent_device_props(self) -> frozenset[str]:
        """CPU properties the release does not have yet (x86 module-id before 9.1)."""
        return frozenset()

    def set_device_props(self, topo: Topology, device: Device) -> dict[str, int]:
        """Set each property in turn, as qdev_device_add does; the integers, parsed."""
        absent = self.absent_device_props()
        release = self.machine.release
        values: dict[str, int] = {}
        for key in device.props:
            if key in ("driver", "id"):
                continue
            if key in absent:
                raise QemuRefusal(f"Property '{device.driver}.{key}' not found")
            kind = self.cpu_int_props.get(key)
            if kind is not None:
                value = device_int(device, key, release, kind)
                assert value is not None
                values[key] = value
        return values

    def pre_plug(self, topo: Topology, device: Device, values: dict[str, int]) -> CpuSlot:
        """The slot a -device CPU takes, with the checks of the board's pre-plug handler."""
        raise QemuRefusal(not_pluggable(self.machine.release))

    def plug(self, topo: Topology, slot: CpuSlot, device: Device) -> None:
        """The board's plug handler, after the CPU is realized."""

    # ------------------------------------------------------------ emit and explain

    def device_ids(self, slot: CpuSlot) -> list[tuple[str, str]]:
        """The ids a -device CPU or -numa cpu names this slot by."""
        props = slot.props
        return [(k, str(props[k])) for k in self.id_order if k in props]

    def device_id_text(self, slot: CpuSlot) -> str:
        """``device_ids`` as an option string (the ids are integers: nothing to escape)."""
        props = slot.props
        return ",".join([f"{k}={props[k]}" for k in self.id_order if k in props])

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
