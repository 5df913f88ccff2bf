"""What resolving a line produces: CPU slots in QEMU's order, NUMA nodes, and the answers
QEMU's ``query-hotpluggable-cpus`` and ``query-cpus-fast`` would give."""

from __future__ import annotations

from cmdxlate.error import QueryRefusal
from cmdxlate.records import dataclass, field

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from cmdxlate.boards.base import Board
    from cmdxlate.catalog import MachineType
    from cmdxlate.resolver.numa import NumaState
    from cmdxlate.resolver.smp import SmpConfig

# The order QEMU's CpuInstanceProperties declares its members; output uses it.
PROP_ORDER: tuple[str, ...] = (
    "node-id", "drawer-id", "book-id", "socket-id", "die-id", "cluster-id", "module-id",
    "core-id", "thread-id",
)

SLOT_ID_ORDER = tuple(k for k in PROP_ORDER if k != "node-id")


@dataclass(slots=True)
class CpuSlot:
    """One hot-pluggable unit: an x86 thread, a spapr core, an s390x CPU..."""

    index: int
    props: dict[str, int]
    vcpus_count: int = 1
    arch_id: int = 0
    node: int | None = None
    plugged: bool = False
    qom_path: str | None = None
    device_id: str | None = None
    boot: bool = False
    created: int = 0  # creation order among present CPUs (query-cpus-fast lists them so)

    def ids(self) -> list[tuple[str, int]]:
        """Slot-identifying props in QEMU's declaration order (no node-id)."""
        props = self.props
        return [(k, props[k]) for k in SLOT_ID_ORDER if k in props]

    def label(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.ids())


@dataclass
class Topology:
    """Everything cmdxlate knows about a line's CPUs after resolving it."""

    machine: MachineType
    board: Board
    smp: SmpConfig
    smp_given: dict[str, int]
    cpu_model: str
    cpu_type: str
    slots: list[CpuSlot]
    numa: NumaState
    ram_bytes: int
    accel: str | None
    warnings: list[str] = field(default_factory=list)
    device_cpu_options: list[int] = field(default_factory=list)
    hmat: bool = False
    slot_keys: frozenset[str] = frozenset()  # the ids query-hotpluggable-cpus reports
    _by_ids: dict[tuple[tuple[str, int], ...], CpuSlot] | None = field(default=None, repr=False)

    def slot_with(self, ids: dict[str, int]) -> CpuSlot | None:
        """The slot with exactly these ids (every id the slots carry)."""
        if self._by_ids is None:
            self._by_ids = {tuple(sorted(s.props.items())): s for s in self.slots}
        return self._by_ids.get(tuple(sorted(ids.items())))

    @property
    def has_numa(self) -> bool:
        return bool(self.numa.nodes)

    def slot_props(self, slot: CpuSlot) -> dict[str, int]:
        props = dict(slot.props)
        if self.has_numa:
            props["node-id"] = slot.node if slot.node is not None else 0
        return {k: props[k] for k in PROP_ORDER if k in props}

    def hotpluggable_cpus(self) -> list[dict[str, Any]]:
        """What query-hotpluggable-cpus answers: last slot first."""
        if not self.machine.hotpluggable_cpus:
            # QMP's error text; the wording changed in 8.0.
            if self.machine.release.has("hotpluggable-cpus-feature-disabled-text"):
                raise QueryRefusal("The feature 'query-hotpluggable-cpus' is not enabled")
            raise QueryRefusal("machine does not support hot-plugging CPUs")
        return [{"type": self.cpu_type, "vcpus-count": slot.vcpus_count,
                 "props": self.slot_props(slot), "plugged": slot.plugged}
                for slot in reversed(self.slots)]

    def cpu_indexes(self, slot: CpuSlot) -> list[int]:
        return self.board.cpu_indexes(slot)

    def present_cpus(self) -> list[dict[str, Any]]:
        """What query-cpus-fast answers: present vCPUs in creation order (boot CPUs, then
        -device CPUs as QEMU creates them)."""
        out = []
        for slot in sorted((s for s in self.slots if s.plugged), key=lambda s: s.created):
            for index, props in self.board.cpus_of(slot, self.slot_props(slot)):
                out.append({"cpu-index": index, "props": props})
        return out
