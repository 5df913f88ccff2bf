"""``cmdxlate explain``: the topology as a tree, and why each value is what it is."""

from __future__ import annotations

from cmdxlate.resolver.smp import LEVELS, SMP_KEYS
from cmdxlate.resolver.topology import CpuSlot, Topology

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

def _origin_text(topo: Topology, key: str) -> str:
    origin = topo.smp.origin.get(key, "")
    if origin.startswith("computed") and "prefers" not in origin and key in ("sockets", "cores"):
        pref = "sockets" if topo.machine.prefer_sockets else "cores"
        origin += f" ({topo.machine.name} prefers {pref})"
    return origin


def explain_data(topo: Topology) -> dict[str, Any]:
    smp = topo.smp
    values = {k: {"value": smp.level(k), "origin": _origin_text(topo, k)} for k in SMP_KEYS
              if k in ("cpus", "maxcpus", "sockets", "cores", "threads")
              or k in topo.machine.levels}
    slots = []
    for s in topo.slots:
        entry: dict[str, Any] = {"index": s.index, "props": topo.slot_props(s),
                                 "state": _state(s), "vcpus-count": s.vcpus_count,
                                 "cpu-index": topo.cpu_indexes(s)}
        if s.device_id:
            entry["device-id"] = s.device_id
        slots.append(entry)
    return {
        "machine": topo.machine.name,
        "target": str(topo.machine.target),
        "cpu-type": topo.cpu_type,
        "prefer-sockets": topo.machine.prefer_sockets,
        "smp": values,
        "numa-nodes": sorted(topo.numa.nodes),
        "slots": slots,
        "warnings": topo.warnings,
    }


def _state(slot: CpuSlot) -> str:
    if slot.boot:
        return "boot"
    if slot.plugged:
        return "device"
    return "empty"


def tree_lines(topo: Topology) -> list[tuple[int, str]]:
    """The explain tree as (depth, text) lines: the machine, the -smp values and where
    each came from, then NUMA nodes, containers and CPUs."""
    smp = topo.smp
    lines: list[tuple[int, str]] = [
        (0, f"{topo.machine.name} (QEMU {topo.machine.target}), CPU type {topo.cpu_type}"),
        (1, "-smp resolved")]
    for k in ("cpus", "maxcpus") + LEVELS:
        if k in ("cpus", "maxcpus", "sockets", "cores", "threads") or k in topo.machine.levels:
            lines.append((2, f"{k}={smp.level(k)}  {_origin_text(topo, k)}".rstrip()))
    has_nodes = bool(topo.numa.nodes)
    groups: dict[int | None, list[CpuSlot]] = {}
    for slot in topo.slots:
        groups.setdefault(slot.node if has_nodes else None, []).append(slot)
    what = {"boot": "boot CPU (from -smp)", "device": "-device CPU", "empty": "empty slot"}
    for node, slots in groups.items():
        label = f"NUMA node {node}" if has_nodes else "CPUs"
        if has_nodes and node in topo.numa.nodes:
            label += f" ({topo.numa.nodes[node].size >> 20} MiB)"
        lines.append((1, label))
        open_path: list[tuple[str, int]] = []
        for slot in slots:
            path = topo.board.tree_containers(slot)
            common = 0
            while (common < len(path) and common < len(open_path)
                   and path[common] == open_path[common]):
                common += 1
            for depth in range(common, len(path)):
                lines.append((2 + depth, f"{path[depth][0]} {path[depth][1]}"))
            open_path = path
            state = _state(slot)
            text = what[state] + (f" id={slot.device_id}" if state == "device"
                                  and slot.device_id else "")
            idx = topo.cpu_indexes(slot)
            index = f"{idx[0]}-{idx[-1]}" if len(idx) > 1 else str(idx[0])
            lines.append((2 + len(path), f"{topo.board.slot_label(slot)}: {text} "
                                         f"cpu-index {index}"))
    for nid in sorted(n for n in topo.numa.nodes if n not in groups):
        lines.append((1, f"NUMA node {nid} ({topo.numa.nodes[nid].size >> 20} MiB): no CPUs"))
    return lines
