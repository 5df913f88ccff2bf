"""arm virt: socket/cluster/core/thread slots, no CPU hotplug, and the GIC's CPU limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.base import Board
from cmdxlate.error import QemuRefusal
from cmdxlate.resolve.topology import CpuSlot
from cmdxlate.syntax.numbers import qemu_bool

if TYPE_CHECKING:
    from cmdxlate.resolve.smp import SmpConfig


class ArmVirtBoard(Board):
    name = "arm-virt"

    def possible_cpus(self, smp: SmpConfig, keys: frozenset[str]) -> list[CpuSlot]:
        cl, c, t = smp.clusters, smp.cores, smp.threads
        out: list[CpuSlot] = []
        for n in range(smp.maxcpus):
            props = {"socket-id": n // (cl * c * t), "cluster-id": (n // (c * t)) % cl,
                     "core-id": (n // t) % c, "thread-id": n % t}
            out.append(CpuSlot(n, props, 1, n))
        return out

    def check_init(self, smp: SmpConfig, accel: str | None, props: dict[str, str]) -> None:
        """machvirt_init(): the GIC version QEMU settles on, and the CPUs its redistributors fit.

        Without gic-version QEMU keeps GICv2 while 8 CPUs fit and takes v3 beyond; under TCG
        'max' is v3, or v4 with virtualization=on. The redistributor space below 4 GiB holds
        123 GICv3 or 61 GICv4 CPUs, which is all there is with highmem(-redists)=off.
        """
        tcg = accel in (None, "tcg")
        gic = props.get("gic-version") or ("3" if smp.maxcpus > 8 else "2")
        virtualization = qemu_bool(props.get("virtualization")) is True
        if gic == "host":
            if accel != "kvm":
                raise QemuRefusal("gic-version=host requires KVM")
            return
        if gic == "max":
            if not tcg:
                return
            gic = "4" if virtualization else "3"
        if gic == "4" and tcg and not virtualization:
            raise QemuRefusal("tcg does not support GICv4 emulation, is virtualization=on?")
        low_only = False in (qemu_bool(props.get("highmem-redists")),
                             qemu_bool(props.get("highmem")))
        limit = 8 if gic == "2" else (123 if gic == "3" else 61) if low_only else None
        if limit is not None and smp.maxcpus > limit:
            raise QemuRefusal(
                f"Number of SMP CPUs requested ({smp.maxcpus}) exceeds max CPUs supported by "
                f"machine 'mach-virt' ({limit})")
