"""pseries (sPAPR): CPUs come and go by whole cores; a core's threads share a slot."""

from __future__ import annotations

import re

from cmdxlate.boards.base import Board, not_pluggable, numa_pre_plug
from cmdxlate.catalog.boards import NO_CPU_LIMIT
from cmdxlate.catalog.version import Version
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.resolver.topology import CpuSlot
from cmdxlate.syntax.numbers import qemu_bool

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolver.numa import NumaState
    from cmdxlate.resolver.smp import SmpConfig
    from cmdxlate.resolver.topology import Topology

THREAD_SUFFIX = "-powerpc64-cpu"
# max-cpu-compat values below POWER8 (ISA 2.07): SMT under TCG needs 2.07.
_PRE_POWER8_COMPAT = frozenset({"power5+", "power6", "power7"})
_MIN_RMA_SLOF = 128 << 20  # MIN_RMA_SLOF (hw/ppc/spapr.c)


def power8_or_newer(model: str) -> bool:
    """ppc_type_check_compat(type, ISA 2.07): POWER8, POWER9, POWER10, POWER11 cores."""
    m = re.match(r"power(\d+)", model.lower())
    return m is not None and int(m.group(1)) >= 8


# IRQ numbers below the first device IRQ are the CPUs' IPIs (SPAPR_IRQ_NR_IPIS).
SPAPR_IPIS = 4096


class SpaprBoard(Board):
    name = "spapr"
    device_id_keys = ("core-id",)
    tree_levels = ()
    cpu_int_props = {"core-id": "int64_t", "nr-threads": "int64_t", "node-id": "int32_t"}

    def __init__(self, machine: MachineType) -> None:
        super().__init__(machine)
        self.nested_hv = False

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

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str],
                   cpu_model: str) -> None:
        """spapr_set_vsmt_mode(): threads per core under TCG, then a power of two."""
        t = smp.threads
        if accel in (None, "tcg"):
            if not self.machine.release.has("spapr-tcg-smt-8"):
                if t > 1:
                    raise QemuRefusal(
                        "TCG cannot support more than 1 thread/core on a pseries machine")
            else:
                compat = (props.get("max-cpu-compat") or "").lower()
                model = self.machine.resolve_cpu_model(cpu_model)
                if t > 1 and (not power8_or_newer(model) or compat in _PRE_POWER8_COMPAT):
                    raise QemuRefusal("TCG only supports SMT on POWER8 or newer CPUs")
                if t > 8:
                    raise QemuRefusal(
                        "TCG cannot support more than 8 threads/core on a pseries machine")
        if t & (t - 1):
            raise QemuRefusal(f"Cannot support {t} threads/core on a pseries machine "
                              "because it must be a power of 2")
        self.nested_hv = qemu_bool(props.get("cap-nested-hv")) is True and accel in (None, "tcg")

    def check_early_memory(self, ram: int, numa: NumaState) -> None:
        """spapr_rma_size(), before spapr_set_vsmt_mode(): SLOF needs 128 MiB of RMA, which
        is at most the RAM and the first node that has memory (rounded down to a power of
        two). QEMU prints 128 in hex before a stray "ld" (the same in 5.2 to 11.1)."""
        rma = ram
        first = next((numa.nodes[n].size for n in sorted(numa.nodes) if numa.nodes[n].size),
                     None)
        if first is not None:
            rma = min(rma, 1 << (first.bit_length() - 1))
        if rma < _MIN_RMA_SLOF:
            raise QemuRefusal("pSeries SLOF firmware requires >= 80ldMiB guest RMA "
                              "(Real Mode Area memory)")

    def check_memory(self, ram: int, numa: NumaState) -> None:
        """spapr_validate_node_memory(): all of RAM, then each node, in 256 MiB units."""
        align_mib = self.machine.facts["numa_mem_align_mib"]
        if align_mib:
            align = align_mib << 20
            if ram % align:
                raise QemuRefusal(f"Memory size 0x{ram:x} is not aligned to {align_mib} MiB")
            for nid in sorted(numa.nodes):
                size = numa.nodes[nid].size
                if size % align:
                    raise QemuRefusal(f"Node {nid} memory size 0x{size:x} is not aligned to "
                                      f"{align_mib} MiB")
        self._check_symmetric(numa)

    def _check_symmetric(self, numa: NumaState) -> None:
        """spapr_numa_associativity_init (5.2): pseries-5.2 and later with more than one
        node take only symmetric distances; later releases check it at CAS time."""
        machine = self.machine
        if (not machine.release.has("spapr-asymmetric-numa-refused-at-init")
                or len(numa.nodes) <= 1
                or (machine.version is not None and machine.version < Version(5, 2))):
            return
        if any(numa.dist.get((d, s), v) != v for (s, d), v in numa.dist.items()):
            raise QemuRefusal("Asymmetrical NUMA topologies aren't supported in the pSeries "
                              "machine")

    def prepare_cpus(self, spec: VmSpec, topo: Topology) -> None:
        """spapr_init_cpus(): boot and possible CPUs come in whole cores."""
        smp, t = topo.smp, topo.smp.threads
        if not self.machine.hotpluggable_cpus:
            if smp.maxcpus != smp.cpus:
                raise QemuRefusal("This machine version does not support CPU hotplug")
            return
        if smp.cpus % t:
            raise QemuRefusal(f"smp_cpus ({smp.cpus}) must be multiple of threads ({t})")
        if smp.maxcpus % t:
            raise QemuRefusal(f"max_cpus ({smp.maxcpus}) must be multiple of threads ({t})")

    def finish_cpus(self, topo: Topology) -> None:
        """At machine reset the capabilities are applied: nested-HV under TCG wants no SMT."""
        if self.nested_hv and topo.smp.threads > 1:
            raise QemuRefusal("TCG does not support nested-HV with SMT",
                              hint="Try appending -machine cap-nested-hv=off or use threads=1 "
                                   "with -smp")

    # ------------------------------------------------------------ -device cores

    def is_cpu_device(self, driver: str) -> bool:
        return super().is_cpu_device(driver) or driver.endswith(THREAD_SUFFIX)

    def check_device_type(self, topo: Topology, driver: str) -> None:
        if driver.endswith(THREAD_SUFFIX):
            # A thread type exists for every model, but only whole cores are plugged.
            self._check_model(driver, driver[:-len(THREAD_SUFFIX)], False, topo.accel)
            raise QemuRefusal(not_pluggable(self.machine.release))
        self._check_model(driver, driver[:-len(self.machine.cpu_type_suffix)], True,
                          topo.accel)
        if not self.machine.device_cpus:
            raise QemuRefusal(not_pluggable(self.machine.release))

    def _check_model(self, driver: str, model: str, core: bool, accel: str | None) -> None:
        """The type exists: a model of the release's list (with an sPAPR core type for
        a core), or one an accelerator registers (``host`` with KVM); names the table
        cannot judge are left to QEMU."""
        table, release = self.machine.cpus, self.machine.release.version
        names = table.names(release) if table is not None else None
        if table is None or names is None:
            return
        if (accel or "tcg") in table.accel_registered.get(model, ()):
            return
        if model not in names or (core and table.spapr_core(model, release) is False):
            raise QemuRefusal(f"'{driver}' is not a valid device model name")

    def set_device_props(self, topo: Topology, device: Device) -> dict[str, int]:
        values = super().set_device_props(topo, device)
        # CPUCore's setters refuse negative values as they are set.
        if values.get("core-id", 0) < 0:
            raise QemuRefusal(f"Invalid core id {values['core-id']}")
        return values

    def pre_plug(self, topo: Topology, device: Device, values: dict[str, int]) -> CpuSlot:
        """spapr_core_pre_plug: core type, core id, nr-threads, free slot, NUMA node."""
        if device.driver != topo.cpu_type:
            raise QemuRefusal(f"CPU core type should be {topo.cpu_type}")
        smp = topo.smp
        cid = values.get("core-id", 0)
        if cid % smp.threads:
            raise QemuRefusal(f"invalid core id {cid}")
        nr_threads = values.get("nr-threads", smp.threads)
        if self.machine.hotpluggable_cpus and nr_threads != smp.threads:
            raise QemuRefusal(f"invalid nr-threads {nr_threads}, must be {smp.threads}")
        index = cid // smp.threads
        if index >= len(topo.slots):
            raise QemuRefusal(f"core id {cid} out of range")
        slot = topo.slots[index]
        if slot.plugged:
            raise QemuRefusal(f"core {cid} already populated")
        numa_pre_plug(topo, slot, device)
        return slot

    def slot_label(self, slot: CpuSlot) -> str:
        return f"core {slot.props['core-id']} ({slot.vcpus_count} threads)"
