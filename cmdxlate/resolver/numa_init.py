"""NUMA at board init: QEMU's numa_complete_configuration() and
machine_numa_finish_cpu_init().

None of these errors carries a location: QEMU reports them after the option
loop, from machine_run_board_init(). The order is QEMU's: dense node ids,
the memory total, ``-machine memory-backend`` against ``memdev=``, distances;
then each slot no option mapped gets the board's default node (or node 0
with a warning when some CPUs were mapped), then HMAT initiators are checked.
"""

from __future__ import annotations

from collections.abc import Callable

from cmdxlate.error import QemuRefusal
from cmdxlate.resolver.numa import (
    NO_INITIATOR,
    NodeOptions,
    NumaContext,
    NumaState,
    assign,
    set_node,
)
from cmdxlate.resolver.topology import CpuSlot

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Release

# cpu_slot_to_string(): the ids a partial-mapping warning names, in its order.
LABEL_KEYS = ("socket-id", "die-id", "cluster-id", "module-id", "core-id", "thread-id")


def add_auto_node(state: NumaState, ctx: NumaContext, ram: int) -> None:
    """A machine that enables NUMA by itself gets node 0 holding all of RAM."""
    set_node(NodeOptions(None, [], None, None, None), state, ctx)
    state.nodes[0].size = ram


def complete(state: NumaState, ram_size: int, memory_backend: bool) -> None:
    """numa_complete_configuration(): dense ids and memory adding up to -m."""
    if not state.nodes:
        return
    # QEMU reports the largest missing id first.
    for i in range(max(state.nodes) - 1, -1, -1):
        if i not in state.nodes:
            raise QemuRefusal(f"numa: Node ID missing: {i}")
    total = sum(n.size for n in state.nodes.values())
    if total != ram_size:
        raise QemuRefusal(
            f"total memory for NUMA nodes (0x{total:x}) should equal RAM size (0x{ram_size:x})")
    if state.uses_memdev and memory_backend:
        raise QemuRefusal("'-machine memory-backend' and '-numa memdev' properties are "
                          "mutually exclusive")
    if state.uses_memdev:  # numa_init_memdev_container maps each node's backend once
        mapped: set[str] = set()
        for nid in sorted(state.nodes):
            memdev = state.nodes[nid].memdev
            if memdev in mapped:
                raise QemuRefusal(f"memory backend {memdev} can't be used multiple times.")
            if memdev is not None:
                mapped.add(memdev)
    _check_distances(state)


def _check_distances(state: NumaState) -> None:
    """validate_numa_distance(): every pair needs a distance; asymmetry needs both."""
    if not state.dist:
        return
    given = state.dist
    ids = sorted(state.nodes)
    for s in ids:
        for d in ids:
            if s < d and (s, d) not in given and (d, s) not in given:
                raise QemuRefusal(
                    f"The distance between node {s} and {d} is missing, at least one distance "
                    "value between each nodes should be provided.")
    if all(given.get((d, s), v) == v for (s, d), v in given.items()):
        return
    for s in ids:
        for d in ids:
            if s != d and (s, d) not in given:
                raise QemuRefusal(
                    "At least one asymmetrical pair of distances is given, please provide "
                    "distances for both directions of all node pairs.")


def slot_label(slot: CpuSlot, release: Release) -> str:
    """cpu_slot_to_string(); up to 6.1 it printed no ', ' before die-id."""
    out = ""
    for key in LABEL_KEYS:
        if key in slot.props:
            glued = key == "die-id" and release.has("numa-slot-label-die-comma-missing")
            sep = ", " if out and not glued else ""
            out += f"{sep}{key}: {slot.props[key]}"
    return out


def finish_cpu_init(state: NumaState, slots: list[CpuSlot],
                    default_nodes: Callable[[], list[int]], release: Release) -> None:
    """Unmapped slots: the board default if none is mapped, else node 0 with a warning.

    ``default_nodes`` is asked only when some slot is unmapped: QEMU calls the board's
    default-node function for those slots only (and the function can fail).
    """
    if not state.nodes:
        return
    explicit = any(s.node is not None for s in slots)
    missing: list[str] = []
    defaults: list[int] | None = None
    for i, slot in enumerate(slots):
        if slot.node is not None:
            continue
        if defaults is None:
            defaults = default_nodes()
        node = defaults[i]
        if explicit:
            missing.append(f"CPU {i} [{slot_label(slot, release)}]")
            node = 0
        assign(slot, node, state, release)
    if state.hmat:
        _validate_initiators(state, release)
    if missing:
        state.warnings.append("CPU(s) not present in any NUMA nodes: " + ", ".join(missing))
        state.warnings.append(
            "All CPU(s) up to maxcpus should be described in NUMA config, ability to start up "
            "with partial NUMA mappings is obsoleted and will be removed in future")


def _validate_initiators(state: NumaState, release: Release) -> None:
    """numa_validate_initiator(): every initiator a node names must hold CPUs; up to 7.1
    every node must name one."""
    required = release.has("numa-hmat-initiator-required")
    for nid in sorted(state.nodes):
        initiator = state.nodes[nid].initiator
        if initiator == NO_INITIATOR:
            if required:
                raise QemuRefusal(f"The initiator of NUMA node {nid} is missing, use "
                                  "'-numa node,initiator' option to declare it")
            continue
        target = state.nodes.get(initiator)
        if target is None:
            raise QemuRefusal(f"NUMA node {initiator} is missing, use '-numa node' option to "
                              "declare it first")
        if not target.has_cpu:
            raise QemuRefusal(f"The initiator of NUMA node {nid} is invalid")


def cluster_boundary_warnings(state: NumaState, slots: list[CpuSlot], release: Release
                              ) -> list[str]:
    """validate_cpu_cluster_to_numa_boundary() (8.1+): one cluster split over nodes.

    QEMU asks it of arm virt, sbsa-ref and riscv boards; of the boards cmdxlate
    models only arm virt's slots carry both socket-id and cluster-id.
    """
    if not release.has("numa-cluster-boundary-warning") or len(state.nodes) <= 1:
        return []
    clusters: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(slots):
        if "socket-id" in s.props and "cluster-id" in s.props and s.node is not None:
            clusters.setdefault((s.props["socket-id"], s.props["cluster-id"]), []).append(i)
    out = []
    for i, a in enumerate(slots):
        key = (a.props.get("socket-id", -1), a.props.get("cluster-id", -1))
        for j in clusters.get(key, ()):
            b = slots[j]
            if j > i and a.node is not None and a.node != b.node:
                out.append(f"CPU-{i} and CPU-{j} in socket-{key[0]}-cluster-{key[1]} have been "
                           f"associated with node-{a.node} and node-{b.node} respectively. It "
                           "can cause OSes like Linux to misbehave")
    return out
