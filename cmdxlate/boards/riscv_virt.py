"""riscv virt: harts by index; each NUMA node is a socket holding one run of harts."""

from __future__ import annotations

from cmdxlate.boards.base import Board
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.resolver.topology import CpuSlot

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.resolver.numa import NumaState
    from cmdxlate.resolver.smp import SmpConfig


class RiscvVirtBoard(Board):
    name = "riscv-virt"
    tree_levels = ()

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        if "socket-id" not in keys:  # up to 10.2: the hart index is the core-id
            return [CpuSlot(n, {"core-id": n}, 1, n) for n in range(smp.maxcpus)]
        per_socket = smp.clusters * smp.cores * smp.threads
        return [CpuSlot(n, {"socket-id": n // per_socket,
                            "cluster-id": n // (smp.cores * smp.threads) % smp.clusters,
                            "core-id": n // smp.threads % smp.cores,
                            "thread-id": n % smp.threads}, 1, n)
                for n in range(smp.maxcpus)]

    def default_nodes(self, smp: SmpConfig, slots: list[CpuSlot], nodes: int) -> list[int]:
        if nodes > smp.cpus:
            raise QemuRefusal(f"Number of NUMA nodes ({nodes}) cannot exceed the number of "
                              f"available CPUs ({smp.cpus}).")
        per = smp.cpus // nodes
        return [min(i // per, nodes - 1) for i in range(len(slots))]

    def check_numa_layout(self, smp: SmpConfig, numa: NumaState, slots: list[CpuSlot]) -> None:
        count = len(numa.nodes) or 1
        limit = self.machine.facts["max_numa_nodes"]
        if limit is not None and count > limit:
            raise QemuRefusal(f"number of sockets/nodes should be less than {limit}")
        if not numa.nodes:
            return
        present = slots[:smp.cpus]
        runs: list[tuple[int, int]] = []
        for node in range(count):
            harts = [s.index for s in present if s.node == node]
            if not harts or harts[-1] - harts[0] + 1 != len(harts):
                raise QemuRefusal(f"discontinuous hartids in socket{node}")
            runs.append((harts[0], harts[-1]))
        for node in range(1, count):
            if runs[node][0] < runs[node - 1][1]:
                # Measured: QEMU 10.0.2 dies from SIGSEGV here, with no message to reproduce.
                raise InputError(
                    f"QEMU crashes on this line: NUMA node {node}'s CPUs come before node "
                    f"{node - 1}'s, and this board needs each node's CPUs after the previous "
                    "node's", hint="give the nodes ascending cpus= ranges")

    def slot_label(self, slot: CpuSlot) -> str:
        return f"hart {slot.index}"
