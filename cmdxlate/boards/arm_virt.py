"""arm virt: CPUs by index (up to 7.0) or socket/cluster/core/thread slots, no CPU
hotplug, and the GIC's CPU limits."""

from __future__ import annotations

from cmdxlate.boards.base import Board
from cmdxlate.error import QemuRefusal
from cmdxlate.resolver.topology import CpuSlot
from cmdxlate.syntax.numbers import qemu_bool

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.resolver.smp import SmpConfig

# How many redistributors fit below 4 GiB and in the high region (64 KiB and 128 KiB
# frames per CPU for GICv3 and GICv4): hw/arm/virt.c's memory map.
REDIST_LOW = {"3": 123, "4": 61}
REDIST_HIGH = {"3": 512, "4": 256}
GIC_V2_CPUS = 8
HIGHMEM_REDISTS_HINT = "Try 'highmem-redists=on' for more CPUs"


def thread_id_slots(maxcpus: int) -> list[CpuSlot]:
    """Boards whose CPUs carry only thread-id, which is their index."""
    return [CpuSlot(n, {"thread-id": n}, 1, n) for n in range(maxcpus)]


class ArmVirtBoard(Board):
    name = "arm-virt"

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        if keys == {"thread-id"}:
            return thread_id_slots(smp.maxcpus)  # up to 7.0
        cl, c, t = smp.clusters, smp.cores, smp.threads
        out: list[CpuSlot] = []
        for n in range(smp.maxcpus):
            props = {"socket-id": n // (cl * c * t), "cluster-id": (n // (c * t)) % cl,
                     "core-id": (n // t) % c, "thread-id": n % t}
            out.append(CpuSlot(n, {k: v for k, v in props.items() if k in keys}, 1, n))
        return out

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str],
                   cpu_model: str) -> None:
        """machvirt_init(): the GIC version QEMU settles on, and the CPUs it can serve.

        Under TCG without gic-version QEMU keeps GICv2 up to 7.2; from 8.0 it takes
        v3 when more than 8 CPUs are possible. 'max' is v3, or v4 (7.1 on) with
        virtualization=on.
        """
        release = self.machine.release
        tcg = accel in (None, "tcg")
        auto_v3 = release.has("arm-virt-gic-auto-v3")
        gic = props.get("gic-version")
        if gic is None:
            gic = "3" if smp.maxcpus > GIC_V2_CPUS and (auto_v3 or not tcg) else "2"
        virtualization = qemu_bool(props.get("virtualization")) is True
        if gic == "host":
            if accel != "kvm":
                raise QemuRefusal("gic-version=host requires KVM")
            return
        if not tcg:
            return
        if gic == "max":
            gic = "4" if virtualization and release.has("arm-virt-gicv4") else "3"
        if gic == "4" and not virtualization:
            raise QemuRefusal("tcg does not support GICv4 emulation, is virtualization=on?"
                              if auto_v3 else "gic-version=4 requires virtualization enabled")
        high = False not in (qemu_bool(props.get("highmem-redists")),
                             qemu_bool(props.get("highmem")))
        if gic == "2":
            limit, hint = GIC_V2_CPUS, None
        else:
            # Up to 7.2 the high region counts whether or not highmem is on.
            limit = REDIST_LOW[gic] + (REDIST_HIGH[gic] if high or not auto_v3 else 0)
            hint = HIGHMEM_REDISTS_HINT if auto_v3 and not high else None
        if smp.maxcpus > limit:
            raise QemuRefusal(
                f"Number of SMP CPUs requested ({smp.maxcpus}) exceeds max CPUs supported by "
                f"machine 'mach-virt' ({limit})", hint=hint)
        if gic != "2":
            self._check_redistributors(smp, gic, high)

    def _check_redistributors(self, smp: SmpConfig, gic: str, high: bool) -> None:
        """The GICv3 device (realized with the board): its redistributor regions.

        Before 6.2 the TCG GICv3 takes one region only, so more boot CPUs than fit
        below 4 GiB fail. Up to 7.2, with highmem off the machine's limit still
        counts the high region while the GIC gets only the low one.
        """
        release = self.machine.release
        low = REDIST_LOW[gic]
        if smp.cpus <= low:
            return
        if not release.has("arm-virt-gicv3-redist-regions"):
            raise QemuRefusal("VGICv3 redist region number(2) not equal to 1")
        if not release.has("arm-virt-gic-auto-v3") and not high:
            raise QemuRefusal(f"Capacity of the redist regions({low}) does not match the "
                              f"number of vcpus({smp.cpus})")
