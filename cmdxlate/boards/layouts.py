"""CPU slots: the board's possible-CPU list, in QEMU's order, with its ids.

Each layout mirrors one board's ``possible_cpu_arch_ids`` (spec section 3);
the slot order is the cpu-index order, and ``query-hotpluggable-cpus`` lists
the same slots last first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cmdxlate.resolve.smp import SmpConfig

# The order QEMU's CpuInstanceProperties declares its members; output uses it.
PROP_ORDER: tuple[str, ...] = (
    "node-id", "drawer-id", "book-id", "socket-id", "die-id", "cluster-id", "module-id",
    "core-id", "thread-id",
)


@dataclass
class CpuSlot:
    """One hot-pluggable unit: an x86 thread, a spapr core, an s390x CPU..."""

    index: int
    props: dict[str, int]
    vcpus_count: int = 1
    arch_id: int = 0
    node: int | None = None
    plugged: bool = False
    qom_path: str | None = None
    device_id: str | None = None
    boot: bool = False
    created: int = 0  # creation order among present CPUs (query-cpus-fast lists them so)
    extra: dict[str, object] = field(default_factory=dict)

    def ids(self) -> list[tuple[str, int]]:
        """Slot-identifying props in QEMU's declaration order (no node-id)."""
        return [(k, self.props[k]) for k in PROP_ORDER if k in self.props and k != "node-id"]

    def label(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.ids())


def _width(n: int) -> int:
    return 0 if n <= 1 else (n - 1).bit_length()


def x86_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    d, m, c, t = smp.dies, smp.modules, smp.cores, smp.threads
    with_die, with_module = "die-id" in names, "module-id" in names
    off_core = _width(t)
    off_mod = off_core + _width(c)
    off_die = off_mod + _width(m)
    off_pkg = off_die + _width(d)
    out: list[CpuSlot] = []
    per_pkg = d * m * c * t
    for i in range(smp.maxcpus):
        pkg = i // per_pkg
        die = (i // (m * c * t)) % d
        mod = (i // (c * t)) % m
        core = (i // t) % c
        smt = i % t
        props = {"socket-id": pkg}
        if with_die:
            props["die-id"] = die
        if with_module:
            props["module-id"] = mod
        props["core-id"] = core
        props["thread-id"] = smt
        apic = (pkg << off_pkg) | (die << off_die) | (mod << off_mod) | (core << off_core) | smt
        out.append(CpuSlot(i, props, 1, apic))
    return out


def spapr_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    t = smp.threads
    return [CpuSlot(i, {"core-id": i * t}, t, i * t) for i in range(smp.maxcpus // t)]


def s390x_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    out: list[CpuSlot] = []
    c, s, b, dr = smp.cores, smp.sockets, smp.books, smp.drawers
    for i in range(smp.maxcpus):
        props = {"drawer-id": (i // (c * s * b)) % dr, "book-id": (i // (c * s)) % b,
                 "socket-id": (i // c) % s, "core-id": i}
        if len(names) < len(props):
            props = {k: v for k, v in props.items() if k in names}
        out.append(CpuSlot(i, props, 1, i))
    return out


def arm_virt_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    cl, c, t = smp.clusters, smp.cores, smp.threads
    out: list[CpuSlot] = []
    for n in range(smp.maxcpus):
        props = {
            "socket-id": n // (cl * c * t),
            "cluster-id": (n // (c * t)) % cl,
            "core-id": (n // t) % c,
            "thread-id": n % t,
        }
        out.append(CpuSlot(n, props, 1, n))
    return out


def riscv_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    return [CpuSlot(n, {"core-id": n}, 1, n) for n in range(smp.maxcpus)]


def _p2(n: int) -> int:
    return 1 << _width(n)


def loongarch_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    c, t = smp.cores, smp.threads
    out: list[CpuSlot] = []
    for n in range(smp.maxcpus):
        s, core, th = n // (c * t), (n // t) % c, n % t
        arch = th + core * _p2(t) + s * _p2(t) * _p2(c)
        out.append(CpuSlot(n, {"socket-id": s, "core-id": core, "thread-id": th}, 1, arch))
    return out


def generic_slots(smp: SmpConfig, names: frozenset[str]) -> list[CpuSlot]:
    """Boards cmdxlate knows only by name: CPUs by index, no slot ids."""
    return [CpuSlot(n, {}, 1, n) for n in range(smp.maxcpus)]


# Each layout computes every id its board has; ``names`` (the machine's
# ``slot_props`` for this target and -smp) says which ones QEMU reports.
LAYOUTS: dict[str, Callable[[SmpConfig, frozenset[str]], list[CpuSlot]]] = {
    "generic": generic_slots,
    "x86": x86_slots,
    "spapr": spapr_slots,
    "s390x": s390x_slots,
    "arm-virt": arm_virt_slots,
    "riscv": riscv_slots,
    "loongarch": loongarch_slots,
}
