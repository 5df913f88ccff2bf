"""s390-ccw-virtio: one slot per CPU, named by core-id; drawers and books from 8.2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.base import Board, device_int
from cmdxlate.error import QemuRefusal
from cmdxlate.resolve.topology import CpuSlot

if TYPE_CHECKING:
    from cmdxlate.model import Device
    from cmdxlate.resolve.smp import SmpConfig
    from cmdxlate.resolve.topology import Topology

# Under TCG "max" is the "qemu" model, so CPU devices of either type mix.
_SAME_UNDER_TCG = frozenset({"qemu-s390x-cpu", "max-s390x-cpu"})


class S390xBoard(Board):
    name = "s390x"
    device_id_keys = ("core-id",)
    tree_levels = (("drawer-id", "drawer"), ("book-id", "book"), ("socket-id", "socket"))

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

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str]) -> None:
        mt = self.machine.facts["max_threads"]
        if mt is not None and smp.threads > mt:
            raise QemuRefusal(f"S390 does not support more than {mt} threads.")

    def pre_plug(self, topo: Topology, device: Device) -> CpuSlot:
        same = {device.driver, topo.cpu_type} <= _SAME_UNDER_TCG and topo.accel in (None, "tcg")
        if device.driver != topo.cpu_type and not same:
            raise QemuRefusal("Mixed CPU models are not supported on s390x.")
        cid = device_int(device.props, "core-id")
        maxcpus = topo.smp.maxcpus
        if cid is None or cid < 0 or cid >= maxcpus:
            raise QemuRefusal(
                f"Unable to add CPU with core-id: {cid if cid is not None else -1}, maximum "
                f"core-id: {maxcpus - 1}")
        slot = topo.slots[cid]
        if slot.plugged:
            raise QemuRefusal(f"Unable to add CPU with core-id: {cid}, it already exists")
        return slot
