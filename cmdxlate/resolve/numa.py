"""``-numa`` options applied to CPU slots, with QEMU's checks and messages.

Mirrors the order QEMU works in: each ``-numa`` in command-line order
(``parse_numa_opts``), then memory completion, then the default or partial
CPU-to-node rule at board init (``machine_numa_finish_cpu_init``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cmdxlate.error import QemuRefusal
from cmdxlate.resolve.topology import CpuSlot
from cmdxlate.syntax.numbers import c_int, c_size
from cmdxlate.syntax.optstring import OptString

MAX_NODES = 128
CPU_PROP_KEYS = ("drawer-id", "book-id", "socket-id", "die-id", "cluster-id", "module-id",
                 "core-id", "thread-id")


@dataclass
class NumaNode:
    nodeid: int
    mem: int | None = None
    memdev: str | None = None
    size: int = 0
    initiator: int | None = None
    has_cpu: bool = False


@dataclass
class NumaState:
    nodes: dict[int, NumaNode] = field(default_factory=dict)
    dist: dict[tuple[int, int], int] = field(default_factory=dict)  # last one wins
    uses_mem: bool = False
    uses_memdev: bool = False
    warnings: list[str] = field(default_factory=list)
    explicit_cpu_options: int = 0
    hmat: bool = False
    # hmat-lb tables by (hierarchy, data-type): initiator/target pairs and the
    # base and range QEMU keeps to compress entries to 16 bits.
    hmat_lb: dict[tuple[str, str], HmatTable] = field(default_factory=dict)
    lb_info: dict[int, int] = field(default_factory=dict)  # bit 0 latency, bit 1 bandwidth
    hmat_cache: dict[tuple[int, int], int] = field(default_factory=dict)  # (node, level): size


@dataclass
class HmatTable:
    pairs: set[tuple[int, int]] = field(default_factory=set)
    base: int = 0
    range_bitmap: int = 0


def parse_uint(text: str, what: str, kind: str = "uint64") -> int:
    """QEMU number parsing: base 0 (0x.., 0..) and no sign."""
    try:
        v = c_int(text)
        if v < 0 or text.lstrip().startswith(("-", "+")):
            raise ValueError(text)
    except ValueError:
        raise QemuRefusal(f"Parameter '{what}' expects a uint64 value") from None
    return v


def _int64(text: str, what: str) -> int:
    """CpuInstanceProperties members are int64: signed, base 0."""
    try:
        v = c_int(text)
    except ValueError:
        raise QemuRefusal(f"Parameter '{what}' expects an int64 value") from None
    if not -(1 << 63) <= v < 1 << 63:
        raise QemuRefusal(f"Parameter '{what}' expects an int64 value")
    return v


def parse_size(text: str, what: str, default_unit: int = 1) -> int:
    """QEMU size strings: '1G', '512M', '1048576k', plain numbers in default_unit."""
    try:
        return c_size(text, default_unit.bit_length() - 1)
    except ValueError:
        raise QemuRefusal(
            f"Parameter '{what}' expects a non-negative number below 2^64"
        ) from None


def cpu_ranges(values: list[str], maxcpus: int) -> list[int]:
    out: list[int] = []
    for v in values:
        lo_s, sep, hi_s = v.partition("-")
        try:
            lo = parse_uint(lo_s, "cpus")
            hi = parse_uint(hi_s, "cpus") if sep else lo
        except QemuRefusal:
            raise QemuRefusal("Parameter 'cpus' expects a uint64 value or range") from None
        if hi < lo or hi - lo >= 65536:
            raise QemuRefusal("Parameter 'cpus' expects a uint64 value or range")
        if hi >= maxcpus:
            bad = max(lo, maxcpus)
            raise QemuRefusal(
                f"CPU index ({bad}) should be smaller than maxcpus ({maxcpus})"
            )
        out.extend(range(lo, hi + 1))
    return out


def assign(slot: CpuSlot, node: int, state: NumaState) -> None:
    """machine_set_cpu_numa_node(): with HMAT a node holding CPUs is its own initiator."""
    if slot.node is not None and slot.node != node:
        raise QemuRefusal(f"CPU is already assigned to node-id: {slot.node}")
    info = state.nodes.get(node)
    if state.hmat and info is not None:
        if info.initiator is not None and info.initiator != node:
            raise QemuRefusal(f"The initiator of CPU NUMA node {node} should be itself "
                                f"(got {info.initiator})")
        info.has_cpu = True
        info.initiator = node
    slot.node = node


@dataclass
class NumaContext:
    """What -numa options are applied to: the slots, and how cpu indexes find them."""

    slots: list[CpuSlot]
    slot_of_index: Callable[[int], int]
    maxcpus: int
    mem_supported: bool
    hmat: bool
    slot_keys: frozenset[str]
    slot_with: Callable[[dict[str, int]], CpuSlot | None]
    memdevs: dict[str, int]


def apply_numa_option(o: OptString, state: NumaState, ctx: NumaContext) -> None:
    """One ``-numa`` option, as QEMU's set_numa_options() handles it."""
    kind = o.get("type")
    if kind == "node":
        _numa_node(o, state, ctx)
    elif kind == "cpu":
        _numa_cpu(o, state, ctx)
    elif kind == "dist":
        _numa_dist(o, state)
    elif kind in ("hmat-lb", "hmat-cache"):
        from cmdxlate.resolve.hmat import hmat_cache, hmat_lb

        (hmat_lb if kind == "hmat-lb" else hmat_cache)(o, state, ctx.hmat)
    elif kind is None:
        raise QemuRefusal("Parameter 'type' is missing")
    else:
        raise QemuRefusal(f"Parameter 'type' does not accept value '{kind}'")


def _numa_node(o: OptString, state: NumaState, ctx: NumaContext) -> None:
    for key in o.keys():
        if key not in ("type", "nodeid", "cpus", "mem", "memdev", "initiator"):
            raise QemuRefusal(f"Invalid parameter '{key}'")
    if o.has("nodeid"):
        nodeid = parse_uint(o.get("nodeid") or "", "nodeid", "uint16")
        if nodeid > 0xFFFF:
            raise QemuRefusal("Parameter 'nodeid' expects uint16_t")
    else:
        nodeid = len(state.nodes)
    if nodeid >= MAX_NODES:
        raise QemuRefusal(f"Max number of NUMA nodes reached: {nodeid}")
    if nodeid in state.nodes:
        raise QemuRefusal(f"Duplicate NUMA nodeid: {nodeid}")
    node = NumaNode(nodeid)
    if o.has("initiator") and not ctx.hmat:
        raise QemuRefusal(
            "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with "
            "-machine hmat=on before using any of hmat specific options")
    if o.has("initiator"):
        # Set before the node's cpus are assigned, as QEMU does.
        initiator = parse_uint(o.get("initiator") or "", "initiator", "uint16")
        if initiator >= MAX_NODES:
            raise QemuRefusal(f"The initiator id {initiator} expects an integer between 0 "
                                f"and {MAX_NODES - 1}")
        node.initiator = initiator
    state.nodes[nodeid] = node
    for idx in cpu_ranges(o.get_all("cpus"), ctx.maxcpus):
        assign(ctx.slots[ctx.slot_of_index(idx)], nodeid, state)
    if o.has("mem") and not ctx.mem_supported:
        raise QemuRefusal("Parameter -numa node,mem is not supported by this machine type",
                          hint="Use -numa node,memdev instead")
    if o.has("mem"):
        node.mem = parse_size(o.get("mem") or "", "mem", 1 << 20)
        node.size = node.mem
        state.uses_mem = True
        state.warnings.append(
            "Parameter -numa node,mem is deprecated, use -numa node,memdev instead")
    if o.has("memdev"):
        node.memdev = o.get("memdev")
        state.uses_memdev = True
    if state.uses_mem and state.uses_memdev:
        raise QemuRefusal(
            "numa configuration should use either mem= or memdev=,mixing both is not allowed")
    if node.memdev is not None:
        if node.memdev not in ctx.memdevs:
            raise QemuRefusal(f"memdev={node.memdev} is ambiguous")
        node.size = ctx.memdevs[node.memdev]


def _numa_cpu(o: OptString, state: NumaState, ctx: NumaContext) -> None:
    for key in o.keys():
        if key not in ("type", "node-id") + CPU_PROP_KEYS:
            raise QemuRefusal(f"Invalid parameter '{key}'")
    if not o.has("node-id"):
        raise QemuRefusal("Missing mandatory node-id property")
    node = _int64(o.get("node-id") or "", "node-id")
    # QEMU 10.0 does not bounds-check a negative node-id (it reads outside its
    # node table); cmdxlate refuses it as an undefined node instead.
    if node not in state.nodes:
        raise QemuRefusal(
            f"Invalid node-id={node}, NUMA node must be defined with -numa node,nodeid=ID "
            f"before it's used with -numa cpu,node-id=ID")
    sel: dict[str, int] = {}
    for key in CPU_PROP_KEYS:
        if o.has(key):
            sel[key] = _int64(o.get(key) or "", key)
    state.explicit_cpu_options += 1
    _match_and_assign(sel, node, state, ctx)


def _match_and_assign(sel: dict[str, int], node: int, state: NumaState,
                      ctx: NumaContext) -> None:
    # Props the slots don't carry are errors (drawer/book ids are not checked by QEMU).
    for key in ("socket-id", "die-id", "cluster-id", "module-id", "core-id", "thread-id"):
        if key in sel and key not in ctx.slot_keys:
            raise QemuRefusal(f"{key} is not supported")
    matched = False
    if all(k in sel for k in ctx.slot_keys):
        hit = ctx.slot_with({k: v for k, v in sel.items() if k in ctx.slot_keys})
        if hit is not None and all(hit.props.get(k, v) == v for k, v in sel.items()):
            assign(hit, node, state)
            matched = True
    else:
        for slot in ctx.slots:
            if all(slot.props.get(k, 0) == v for k, v in sel.items()):
                assign(slot, node, state)
                matched = True
    if not matched:
        raise QemuRefusal("no match found")


def bounded_uint(text: str | None, what: str, bits: int) -> int:
    """An OptsVisitor uintN member: missing, malformed and too big are errors."""
    if text is None:
        raise QemuRefusal(f"Parameter '{what}' is missing")
    v = parse_uint(text, what, f"uint{bits}_t")
    if v >= 1 << bits:
        raise QemuRefusal(f"Parameter '{what}' expects uint{bits}_t")
    return v


def _numa_dist(o: OptString, state: NumaState) -> None:
    src = bounded_uint(o.get("src"), "src", 16)
    dst = bounded_uint(o.get("dst"), "dst", 16)
    val = bounded_uint(o.get("val"), "val", 8)
    if src >= MAX_NODES or dst >= MAX_NODES:
        raise QemuRefusal(
            f"Parameter '{'src' if src >= MAX_NODES else 'dst'}' expects an integer between 0 "
            f"and {MAX_NODES - 1}")
    if src not in state.nodes or dst not in state.nodes:
        raise QemuRefusal(
            "Source/Destination NUMA node is missing. Please use '-numa node' option to declare "
            "it first.")
    if val < 10:
        raise QemuRefusal(
            f"NUMA distance ({val}) is invalid, it shouldn't be less than 10.")
    if src == dst and val != 10:
        raise QemuRefusal(
            f"Local distance of node {src} should be 10.")
    state.dist[(src, dst)] = val


def complete(state: NumaState, ram_size: int) -> None:
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
    _check_distances(state)


def _check_distances(state: NumaState) -> None:
    """validate_numa_distance(): every pair needs a distance; asymmetry needs both."""
    if not state.dist:
        return
    given = state.dist
    ids = sorted(state.nodes)
    symmetric = all(given.get((d, s), v) == v for (s, d), v in given.items())
    for s in ids:
        for d in ids:
            if s == d:
                continue
            if (s, d) not in given and (d, s) not in given:
                raise QemuRefusal(
                    f"The distance between node {s} and {d} is missing, at least one distance "
                    "value between each nodes should be provided.")
            if not symmetric and (s, d) not in given:
                raise QemuRefusal(
                    "At least one asymmetrical pair of distances is given, please provide "
                    "distance for both directions of all node pairs.")


def finish_cpu_init(state: NumaState, slots: list[CpuSlot], default_node: list[int]
                    ) -> None:
    """Unmapped slots: the board default if none is mapped, else node 0 with a warning."""
    if not state.nodes:
        return
    explicit = any(s.node is not None for s in slots)
    missing: list[str] = []
    for i, slot in enumerate(slots):
        if slot.node is None:
            if explicit:
                missing.append(f"CPU {i} [{slot.label()}]")
                assign(slot, 0, state)
            else:
                assign(slot, default_node[i], state)
    if state.hmat:
        _validate_initiators(state)
    if missing:
        state.warnings.append("CPU(s) not present in any NUMA nodes: " + ", ".join(missing))
        state.warnings.append(
            "All CPU(s) up to maxcpus should be described in NUMA config, ability to start up "
            "with partial NUMA mappings is obsoleted and will be removed in future")


def _validate_initiators(state: NumaState) -> None:
    """numa_validate_initiator(): an explicit initiator must be a node that holds CPUs."""
    for nid in sorted(state.nodes):
        initiator = state.nodes[nid].initiator
        if initiator is None:
            continue
        target = state.nodes.get(initiator)
        if target is None:
            raise QemuRefusal(f"NUMA node {initiator} is missing, use '-numa node' option to "
                                "declare it first")
        if not target.has_cpu:
            raise QemuRefusal(f"The initiator of NUMA node {nid} is invalid")
