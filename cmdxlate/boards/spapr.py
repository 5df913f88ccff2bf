"""pseries (sPAPR): CPUs come and go by whole cores; a core's threads share a slot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.base import Board, device_int
from cmdxlate.catalog.boards import NO_CPU_LIMIT
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.resolve.topology import CpuSlot

if TYPE_CHECKING:
    from cmdxlate.model import Device
    from cmdxlate.resolve.numa import NumaState
    from cmdxlate.resolve.smp import SmpConfig
    from cmdxlate.resolve.topology import Topology


# IRQ numbers below the first device IRQ are the CPUs' IPIs (SPAPR_IRQ_NR_IPIS).
SPAPR_IPIS = 4096


class SpaprBoard(Board):
    name = "spapr"
    device_id_keys = ("core-id",)
    tree_levels = ()

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        if self.machine.max_cpus == NO_CPU_LIMIT and smp.maxcpus > SPAPR_IPIS:
            # 6.1-8.2 set no CPU limit: the IPI of CPU 4096 collides with the first device
            # IRQ, and beyond 8192 QEMU asserts (read:ml: the 9.0 fix's commit message).
            if smp.maxcpus > 2 * SPAPR_IPIS:
                raise InputError(f"QEMU {self.machine.release} aborts on more than "
                                 f"{2 * SPAPR_IPIS} pseries CPUs (an assertion fails)",
                                 hint=f"use at most {SPAPR_IPIS} CPUs")
            raise QemuRefusal(f"IRQ {SPAPR_IPIS} is not free")
        t = smp.threads
        return [CpuSlot(i, {"core-id": i * t}, t, i * t) for i in range(smp.maxcpus // t)]

    def slot_of_cpu_index(self, smp: SmpConfig, index: int) -> int:
        return index // smp.threads

    def boot_slots(self, smp: SmpConfig) -> int:
        return smp.cpus // smp.threads

    def cpu_indexes(self, slot: CpuSlot) -> list[int]:
        """A core's threads take the cpu-indexes from its core-id up."""
        return [slot.arch_id + t for t in range(slot.vcpus_count)]

    def default_nodes(self, smp: SmpConfig, slots: list[CpuSlot], nodes: int) -> list[int]:
        return [(i // smp.cores) % nodes for i in range(len(slots))]

    def check_memory(self, ram: int, numa: NumaState) -> None:
        """spapr_validate_node_memory(): all of RAM, then each node, in 256 MiB units."""
        align_mib = self.machine.facts["numa_mem_align_mib"]
        if not align_mib:
            return
        align = align_mib << 20
        if ram % align:
            raise QemuRefusal(f"Memory size 0x{ram:x} is not aligned to {align_mib} MiB")
        for nid in sorted(numa.nodes):
            size = numa.nodes[nid].size
            if size % align:
                raise QemuRefusal(
                    f"Node {nid} memory size 0x{size:x} is not aligned to {align_mib} MiB")

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str]) -> None:
        t = smp.threads
        if smp.cpus % t:
            raise QemuRefusal(f"smp_cpus ({smp.cpus}) must be multiple of threads ({t})")
        if smp.maxcpus % t:
            raise QemuRefusal(f"max_cpus ({smp.maxcpus}) must be multiple of threads ({t})")
        limit = self.machine.facts["max_threads_tcg"] or 8
        if accel in (None, "tcg") and (t & (t - 1) or t > limit):
            raise QemuRefusal(
                f"TCG cannot support more than {limit} threads/core on a pseries machine")

    def pre_plug(self, topo: Topology, device: Device) -> CpuSlot:
        if device.driver != topo.cpu_type:
            raise QemuRefusal(f"CPU core type should be {topo.cpu_type}")
        smp = topo.smp
        cid = device_int(device.props, "core-id")
        if cid is None:
            cid = -1
        if cid % smp.threads:
            raise QemuRefusal(f"invalid core id {cid}")
        if cid < 0 or cid >= smp.maxcpus:
            raise QemuRefusal(f"core id {cid} out of range")
        slot = topo.slots[cid // smp.threads]
        if slot.plugged:
            raise QemuRefusal(f"core {cid} already populated")
        return slot

    def slot_label(self, slot: CpuSlot) -> str:
        return f"core {slot.props['core-id']} ({slot.vcpus_count} threads)"
