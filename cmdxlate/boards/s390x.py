"""s390-ccw-virtio: one slot per CPU, named by core-id; drawers and books from 8.2."""

from __future__ import annotations

from cmdxlate.boards.base import Board
from cmdxlate.catalog.version import Version
from cmdxlate.error import QemuRefusal
from cmdxlate.resolver.cpu_model import check_runnable
from cmdxlate.resolver.topology import CpuSlot

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.model import Device
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import Topology

# The CPU's placement properties that arrived with the CPU topology (8.2).
TOPOLOGY_PROPS = frozenset({"socket-id", "book-id", "drawer-id", "dedicated", "entitlement"})


class S390xBoard(Board):
    name = "s390x"
    device_id_keys = ("core-id",)
    tree_levels = (("drawer-id", "drawer"), ("book-id", "book"), ("socket-id", "socket"))
    cpu_int_props = {"core-id": "uint32_t", "socket-id": "int32_t", "book-id": "int32_t",
                     "drawer-id": "int32_t"}

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        out: list[CpuSlot] = []
        c, s, b, dr = smp.cores, smp.sockets, smp.books, smp.drawers
        for i in range(smp.maxcpus):
            props = {"drawer-id": (i // (c * s * b)) % dr, "book-id": (i // (c * s)) % b,
                     "socket-id": (i // c) % s, "core-id": i}
            if len(keys) < len(props):
                props = {k: v for k, v in props.items() if k in keys}
            out.append(CpuSlot(i, props, 1, i))
        return out

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str],
                   cpu_model: str) -> None:
        mt = self.machine.facts["max_threads"]
        if mt is not None and smp.threads > mt:
            raise QemuRefusal(f"S390 does not support more than {mt} threads.")

    # ------------------------------------------------------------ -device CPUs

    def absent_device_props(self) -> frozenset[str]:
        if self.machine.release.has("s390x-cpu-topology-props"):
            return frozenset({"node-id"})
        return TOPOLOGY_PROPS | {"node-id"}

    def _max_is_qemu(self) -> bool:
        """Under TCG "max" is the "qemu" model of the release's newest machine (7.1 on).

        Machines older than the release that made them equal keep an older
        "qemu" model: 7.1 for 7.1, 7.2 from 7.2 (s390_set_qemu_cpu_model calls).
        """
        release = self.machine.release
        if not release.has("s390x-max-is-qemu"):
            return False
        v = self.machine.version
        return v is None or v >= min(release.version, Version(7, 2))

    def pre_plug(self, topo: Topology, device: Device, values: dict[str, int]) -> CpuSlot:
        """s390_cpu_realizefn: the CPU model, then the core id (there is no pre-plug check)."""
        table = self.machine.cpus
        model = device.driver[:-len(self.machine.cpu_type_suffix)]
        if table is not None:
            check_runnable(table, model, topo.accel, self.machine.release)
        pair = {device.driver, topo.cpu_type}
        same = (pair <= {"qemu-s390x-cpu", "max-s390x-cpu"} and topo.accel in (None, "tcg")
                and self._max_is_qemu())
        if device.driver != topo.cpu_type and not same:
            raise QemuRefusal("Mixed CPU models are not supported on s390x.")
        cid = values.get("core-id", 0)
        maxcpus = topo.smp.maxcpus
        if cid >= maxcpus:
            raise QemuRefusal(
                f"Unable to add CPU with core-id: {cid}, maximum core-id: {maxcpus - 1}")
        slot = topo.slots[cid]
        if slot.plugged:
            raise QemuRefusal(f"Unable to add CPU with core-id: {cid}, it already exists")
        return slot
