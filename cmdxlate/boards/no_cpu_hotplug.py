"""Boards cmdxlate knows only by name and CPU limit: CPUs by index, no slot ids
(or only thread-id, the index, where the catalog says so: sbsa-ref)."""

from __future__ import annotations

from cmdxlate.boards.arm_virt import thread_id_slots
from cmdxlate.boards.base import Board
from cmdxlate.error import QemuRefusal

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.resolver.numa import NumaState
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import CpuSlot


class NoCpuHotplugBoard(Board):
    name = "no-cpu-hotplug"

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        if keys == {"thread-id"}:
            return thread_id_slots(smp.maxcpus)
        return super().possible_cpus(smp, keys)

    def check_memory(self, ram: int, numa: NumaState) -> None:
        """The board's own RAM bound (g3beige, mac99, powernv), where the catalog has one."""
        limit = self.machine.facts.get("ram_limit")
        if limit is not None and limit.refuses(ram):
            raise QemuRefusal(limit.message.format(mib=ram >> 20))
