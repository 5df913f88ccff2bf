"""Board checks QEMU makes while a machine is set up, one rule per board kind.

Called by the resolver at the points QEMU makes them: machine properties as
they are set (next to -smp, in QEMU's QDict order), and the board's own
checks after -numa is complete, before any CPU exists.
"""

from __future__ import annotations

from cmdxlate.errors import CmdxlateError
from cmdxlate.catalog.machines import MachineType
from cmdxlate.resolve.numa import NumaState
from cmdxlate.syntax.numbers import qemu_bool
from cmdxlate.boards.layouts import CpuSlot
from cmdxlate.resolve.smp import SmpConfig


def board_checks(machine: MachineType, smp: SmpConfig, accel: str | None,
                 mprops: dict[str, str]) -> None:
    """Checks of the board's init function that depend only on -smp and properties."""
    if machine.slot_layout == "arm-virt":
        _arm_gic_checks(smp, accel, mprops)
    if machine.slot_layout == "spapr":
        t = smp.threads
        if smp.cpus % t:
            raise CmdxlateError(f"smp_cpus ({smp.cpus}) must be multiple of threads ({t})",
                                qemu=True)
        if smp.maxcpus % t:
            raise CmdxlateError(f"max_cpus ({smp.maxcpus}) must be multiple of threads ({t})",
                                qemu=True)
        limit = machine.data.get("max_threads_tcg", 8)
        if accel in (None, "tcg") and (t & (t - 1) or t > limit):
            raise CmdxlateError(
                f"TCG cannot support more than {limit} threads/core on a pseries machine",
                qemu=True)
    mt = machine.max_threads
    if mt is not None and smp.threads > mt:
        raise CmdxlateError(f"S390 does not support more than {mt} threads.", qemu=True)


def socket_per_node_checks(machine: MachineType, smp: SmpConfig, numa: NumaState,
                           slots: list[CpuSlot]) -> None:
    """riscv virt: each NUMA node is a socket holding one contiguous run of present harts."""
    count = len(numa.nodes) or 1
    limit = machine.data.get("max_numa_nodes")
    if limit is not None and count > limit:
        raise CmdxlateError(f"number of sockets/nodes should be less than {limit}", qemu=True)
    if not numa.nodes:
        return
    present = slots[:smp.cpus]
    runs: list[tuple[int, int]] = []
    for node in range(count):
        harts = [s.index for s in present if s.node == node]
        if not harts or harts[-1] - harts[0] + 1 != len(harts):
            raise CmdxlateError(f"discontinuous hartids in socket{node}", qemu=True)
        runs.append((harts[0], harts[-1]))
    for node in range(1, count):
        if runs[node][0] < runs[node - 1][1]:
            # Measured: QEMU 10.0.2 dies from SIGSEGV here, with no message to reproduce.
            raise CmdxlateError(
                f"QEMU crashes on this line: NUMA node {node}'s CPUs come before node "
                f"{node - 1}'s, and this board needs each node's CPUs after the previous "
                "node's", hint="give the nodes ascending cpus= ranges")


def check_machine_prop(machine: MachineType, key: str, value: str,
                       index: int | None) -> None:
    if key in machine.data.get("bool_props", ()):
        if qemu_bool(value) is None:
            raise CmdxlateError(f"Parameter '{key}' expects 'on' or 'off'", option_index=index,
                                qemu=True)
        return
    enum = machine.data.get("enum_props", {}).get(key)
    if enum is not None:
        if value not in enum["values"]:
            raise CmdxlateError(enum["message"], option_index=index, qemu=True)
        return
    # absent_props: a property this machine does not have at all.
    raise CmdxlateError(f"Property '{machine.name}-machine.{key}' not found",
                        option_index=index, qemu=True)


def _arm_gic_checks(smp: SmpConfig, accel: str | None, mprops: dict[str, str]) -> None:
    """machvirt_init(): the GIC version QEMU settles on, and the CPUs its redistributors fit.

    Without gic-version QEMU keeps GICv2 while 8 CPUs fit and takes v3 beyond; under TCG
    'max' is v3, or v4 with virtualization=on. The redistributor space below 4 GiB holds
    123 GICv3 or 61 GICv4 CPUs, which is all there is with highmem(-redists)=off.
    """
    tcg = accel in (None, "tcg")
    gic = mprops.get("gic-version") or ("3" if smp.maxcpus > 8 else "2")
    virtualization = qemu_bool(mprops.get("virtualization")) is True
    if gic == "host":
        if accel != "kvm":
            raise CmdxlateError("gic-version=host requires KVM", qemu=True)
        return
    if gic == "max":
        if not tcg:
            return
        gic = "4" if virtualization else "3"
    if gic == "4" and tcg and not virtualization:
        raise CmdxlateError("tcg does not support GICv4 emulation, is virtualization=on?",
                            qemu=True)
    low_only = False in (qemu_bool(mprops.get("highmem-redists")),
                         qemu_bool(mprops.get("highmem")))
    limit = 8 if gic == "2" else (123 if gic == "3" else 61) if low_only else None
    if limit is not None and smp.maxcpus > limit:
        raise CmdxlateError(
            f"Number of SMP CPUs requested ({smp.maxcpus}) exceeds max CPUs supported by "
            f"machine 'mach-virt' ({limit})", qemu=True)
