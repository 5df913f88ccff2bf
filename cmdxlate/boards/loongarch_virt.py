"""LoongArch virt: socket/core/thread slots with power-of-two packed arch ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.base import Board, id_width
from cmdxlate.boards.x86 import plug_by_ids
from cmdxlate.resolve.topology import CpuSlot

if TYPE_CHECKING:
    from cmdxlate.model import Device
    from cmdxlate.resolve.smp import SmpConfig
    from cmdxlate.resolve.topology import Topology


class LoongarchVirtBoard(Board):
    name = "loongarch-virt"

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        c, t = smp.cores, smp.threads
        pt, pc = 1 << id_width(t), 1 << id_width(c)
        out: list[CpuSlot] = []
        for n in range(smp.maxcpus):
            s, core, th = n // (c * t), (n // t) % c, n % t
            out.append(CpuSlot(n, {"socket-id": s, "core-id": core, "thread-id": th}, 1,
                               th + core * pt + s * pt * pc))
        return out

    def pre_plug(self, topo: Topology, device: Device) -> CpuSlot:
        return plug_by_ids(topo, device, ("socket-id", "core-id", "thread-id"))
