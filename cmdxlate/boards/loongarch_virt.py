"""LoongArch virt: socket/core/thread slots with power-of-two packed arch ids."""

from __future__ import annotations

from cmdxlate.boards.base import Board, id_width, numa_pre_plug
from cmdxlate.error import QemuRefusal
from cmdxlate.resolver.topology import CpuSlot

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.model import Device
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import Topology


class LoongarchVirtBoard(Board):
    name = "loongarch-virt"
    cpu_int_props = {"socket-id": "int32_t", "core-id": "int32_t", "thread-id": "int32_t",
                     "node-id": "int32_t"}

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        """virt_possible_cpu_arch_ids: each level's width rounded up to a power of two."""
        c, t = smp.cores, smp.threads
        pt, pc, ps = 1 << id_width(t), 1 << id_width(c), 1 << id_width(smp.sockets)
        if pt * pc * ps > 256:
            raise QemuRefusal(f"Exceeding max cpuid 256 with sockets[{smp.sockets}] "
                              f"cores[{c}] threads[{t}]")
        out: list[CpuSlot] = []
        for n in range(smp.maxcpus):
            s, core, th = n // (c * t), (n // t) % c, n % t
            out.append(CpuSlot(n, {"socket-id": s, "core-id": core, "thread-id": th}, 1,
                               th + core * pt + s * pt * pc))
        return out

    def pre_plug(self, topo: Topology, device: Device, values: dict[str, int]) -> CpuSlot:
        """virt_cpu_pre_plug (10.0 on): any LoongArch model; ids default to 0, and the
        range texts say '1:' (sic). acpi=off changes nothing (measured 10.0.2)."""
        smp = topo.smp
        ids = {key: values.get(key, 0) for key in ("socket-id", "core-id", "thread-id")}
        for key, count in (("thread-id", smp.threads), ("core-id", smp.cores),
                           ("socket-id", smp.sockets)):
            if not 0 <= ids[key] < count:
                raise QemuRefusal(f"Invalid {key} {ids[key] & 0xFFFFFFFF} specified, must be "
                                  f"in range 1:{count - 1}")
        slot = topo.slot_with({k: v for k, v in ids.items() if k in topo.slot_keys})
        assert slot is not None
        if slot.plugged:
            # QEMU prints the new CPU's cpu_index, which is still unassigned (-1).
            raise QemuRefusal(f"cpu(id-1={ids['socket-id']}:{ids['core-id']}:"
                              f"{ids['thread-id']}) with arch-id {slot.arch_id} exists")
        numa_pre_plug(topo, slot, device)
        return slot
