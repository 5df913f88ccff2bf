"""``cmdxlate explain``: the topology as a tree, and why each value is what it is."""

from __future__ import annotations

from typing import Any

from cmdxlate.slots import CpuSlot
from cmdxlate.smp import LEVELS, SMP_KEYS
from cmdxlate.topology import Topology

# Container levels drawn between node and thread, by slot prop.
_TREE_LEVELS = (
    ("drawer-id", "drawer"), ("book-id", "book"), ("socket-id", "socket"), ("die-id", "die"),
    ("cluster-id", "cluster"), ("module-id", "module"), ("core-id", "core"),
)


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
        "target": f"{topo.machine.target[0]}.{topo.machine.target[1]}",
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


def render_tree(topo: Topology) -> None:
    from rich.console import Console
    from rich.markup import escape as markup_escape
    from rich.tree import Tree

    from cmdxlate.termsafe import visible

    def escape(text: str) -> str:  # user text: no markup, no terminal controls
        return markup_escape(visible(text))

    smp = topo.smp
    title = (f"[bold]{escape(topo.machine.name)}[/] (QEMU {topo.machine.target[0]}."
             f"{topo.machine.target[1]}), CPU type {escape(topo.cpu_type)}")
    root = Tree(title)
    summary = root.add("[bold]-smp resolved[/]")
    for k in ("cpus", "maxcpus") + LEVELS:
        if k in ("cpus", "maxcpus", "sockets", "cores", "threads") or k in topo.machine.levels:
            summary.add(f"{k}={smp.level(k)}  [dim]{escape(_origin_text(topo, k))}[/]")
    nodes: dict[int | None, Tree] = {}
    has_nodes = bool(topo.numa.nodes)
    containers: dict[tuple[Any, ...], Tree] = {}
    for slot in topo.slots:
        node_key = slot.node if has_nodes else None
        if node_key not in nodes:
            label = f"[bold cyan]NUMA node {node_key}[/]" if has_nodes else "[bold]CPUs[/]"
            if has_nodes and node_key in topo.numa.nodes:
                size = topo.numa.nodes[node_key].size
                label += f" [dim]({size >> 20} MiB)[/]"
            nodes[node_key] = root.add(label)
        parent = nodes[node_key]
        path: tuple[Any, ...] = (node_key,)
        for prop, name in _TREE_LEVELS:
            if prop not in slot.props or (prop == "core-id" and topo.machine.slot_layout in (
                    "spapr", "s390x", "riscv")):
                continue
            path = path + (prop, slot.props[prop])
            if path not in containers:
                containers[path] = parent.add(f"{name} {slot.props[prop]}")
            parent = containers[path]
        state = _state(slot)
        style = {"boot": "green", "device": "yellow", "empty": "dim"}[state]
        what = {"boot": "boot CPU (from -smp)", "device": "-device CPU", "empty": "empty slot"}
        if "thread-id" in slot.props:
            label = f"thread {slot.props['thread-id']}"
        elif topo.machine.slot_layout == "spapr":
            label = f"core {slot.props['core-id']} ({slot.vcpus_count} threads)"
        else:
            label = f"cpu {slot.props.get('core-id', slot.index)}"
        text = what[state] + (f" id={slot.device_id}" if state == "device" and slot.device_id
                              else "")
        cpu_indexes = topo.cpu_indexes(slot)
        index = (f"{cpu_indexes[0]}-{cpu_indexes[-1]}" if len(cpu_indexes) > 1
                 else str(cpu_indexes[0]))
        parent.add(f"[{style}]{escape(label)}: {escape(text)}[/] [dim]cpu-index {index}[/]")
    for nid in sorted(n for n in topo.numa.nodes if n not in nodes):
        size = topo.numa.nodes[nid].size
        root.add(f"[bold cyan]NUMA node {nid}[/] [dim]({size >> 20} MiB)[/]: no CPUs")
    console = Console()
    console.print(root)
