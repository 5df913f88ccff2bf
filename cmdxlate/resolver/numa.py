"""``-numa`` options applied to CPU slots, with QEMU's checks and messages.

Each ``-numa`` is handled in two steps, as QEMU does: its options visitor
reads every field of the option (malformed values first, in the order the
fields are declared, then unknown keys), then ``set_numa_options`` acts on
the node table. The table mirrors QEMU's: an entry can be touched without
being present (a node whose parse stopped half-way), and its raw initiator
is 0 until set, which QEMU 5.2 and 6.0 read before setting it. Completion at
board init is in ``numa_init``.
"""

from __future__ import annotations

from collections.abc import Callable

from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.model.objects import resolve_backend
from cmdxlate.records import dataclass, field
from cmdxlate.resolver.topology import CpuSlot
from cmdxlate.syntax.numbers import c_int
from cmdxlate.syntax.optstring import OptString
from cmdxlate.syntax.sizes import NEWEST, c_size, size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Release

MAX_NODES = 128
NO_INITIATOR = MAX_NODES  # QEMU's "no initiator" value
CPU_PROP_KEYS = ("drawer-id", "book-id", "socket-id", "die-id", "cluster-id", "module-id",
                 "core-id", "thread-id")
# machine_set_cpu_numa_node() refuses ids the slots lack in this order; it never looks
# at drawer-id and book-id.
UNSUPPORTED_ORDER = ("thread-id", "core-id", "module-id", "cluster-id", "socket-id", "die-id")
NODE_KEYS = ("nodeid", "cpus", "mem", "memdev", "initiator")
OPTS_RANGE_MAX = 65536  # the options visitor's longest lo-hi range
# Ids past the node table that still land inside QEMU's NumaState (its HMAT
# pointers, NULL without hmat-lb/hmat-cache options): such a node reads as absent.
LAST_ID_INSIDE_STATE = 156


@dataclass
class NumaNode:
    """One entry of QEMU's node table (NodeInfo)."""

    nodeid: int
    memdev: str | None = None
    size: int = 0
    initiator: int = 0  # raw: 0 until set, NO_INITIATOR for none
    has_cpu: bool = False
    present: bool = False


@dataclass
class NumaState:
    nodes: dict[int, NumaNode] = field(default_factory=dict)  # present nodes
    absent: dict[int, NumaNode] = field(default_factory=dict)  # touched, not present
    dist: dict[tuple[int, int], int] = field(default_factory=dict)  # last one wins
    uses_mem: bool = False  # QEMU's have_mem: some node used mem= (even one that failed)
    uses_memdev: bool = False  # have_memdevs
    warnings: list[str] = field(default_factory=list)
    hmat: bool = False
    # hmat-lb tables by (hierarchy, data-type): initiator/target pairs and the
    # base and range QEMU keeps to compress entries to 16 bits.
    hmat_lb: dict[tuple[str, str], HmatTable] = field(default_factory=dict)
    lb_info: dict[int, int] = field(default_factory=dict)  # bit 0 latency, bit 1 bandwidth
    hmat_cache: dict[tuple[int, int], int] = field(default_factory=dict)  # (node, level): size

    def entry(self, nodeid: int) -> NumaNode:
        """QEMU's numa_info[nodeid], present or not."""
        node = self.nodes.get(nodeid)
        if node is None:
            node = self.absent.setdefault(nodeid, NumaNode(nodeid))
        return node

    def peek(self, nodeid: int) -> NumaNode | None:
        return self.nodes.get(nodeid) or self.absent.get(nodeid)


@dataclass
class HmatTable:
    pairs: set[tuple[int, int]] = field(default_factory=set)
    base: int = 0
    range_bitmap: int = 0


# ---------------------------------------------------------------- the options visitor

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


def parse_size(text: str, what: str, default_unit: int = 1, syntax: str = NEWEST) -> int:
    """QEMU size strings: '1G', '512M', '1048576k', plain numbers in default_unit."""
    try:
        return c_size(text, default_unit.bit_length() - 1, syntax)
    except ValueError:
        raise QemuRefusal(
            f"Parameter '{what}' expects a non-negative number below 2^64"
        ) from None


def visit_size(text: str | None, what: str, syntax: str = NEWEST) -> int:
    """An options-visitor size member (bytes without a suffix)."""
    try:
        return c_size(text or "", 0, syntax)
    except ValueError:
        raise QemuRefusal(f"Parameter '{what}' expects a size value") from None


def bounded_uint(text: str | None, what: str, bits: int) -> int:
    """An OptsVisitor uintN member: missing, malformed and too big are errors."""
    if text is None:
        raise QemuRefusal(f"Parameter '{what}' is missing")
    v = parse_uint(text, what, f"uint{bits}_t")
    if v >= 1 << bits:
        raise QemuRefusal(f"Parameter '{what}' expects uint{bits}_t")
    return v


def enum_value(o: OptString, key: str, values: tuple[str, ...], release: Release) -> str:
    """A QAPI enum member; the refusal names the key from 6.2 on, only the value before."""
    text = o.get(key)
    if text is None:
        raise QemuRefusal(f"Parameter '{key}' is missing")
    if text not in values:
        if release.has("qapi-enum-error-names-parameter"):
            raise QemuRefusal(f"Parameter '{key}' does not accept value '{text}'")
        raise QemuRefusal(f"Invalid parameter '{text}'")
    return text


def check_keys(o: OptString, allowed: tuple[str, ...]) -> None:
    """After the members: any key the option type does not have."""
    for key in o.keys():
        if key != "type" and key not in allowed:
            raise QemuRefusal(f"Invalid parameter '{key}'")


def cpu_ranges(values: list[str]) -> list[tuple[int, int]]:
    """``cpus=`` as the visitor reads a uint16 list: values and lo-hi ranges."""
    out: list[tuple[int, int]] = []
    for v in values:
        lo_s, sep, hi_s = v.partition("-")
        try:
            lo = parse_uint(lo_s, "cpus")
            hi = parse_uint(hi_s, "cpus") if sep else lo
        except QemuRefusal:
            raise QemuRefusal("Parameter 'cpus' expects a uint64 value or range") from None
        if hi < lo or hi - lo >= OPTS_RANGE_MAX:
            raise QemuRefusal("Parameter 'cpus' expects a uint64 value or range")
        if hi > 0xFFFF:
            # List elements have no name in QEMU's uint16 check.
            raise QemuRefusal("Parameter 'null' expects uint16_t")
        out.append((lo, hi))
    return out


@dataclass
class NodeOptions:
    nodeid: int | None
    cpus: list[tuple[int, int]]
    mem: int | None
    memdev: str | None
    initiator: int | None


def _visit_node(o: OptString, release: Release) -> NodeOptions:
    nodeid = bounded_uint(o.get("nodeid"), "nodeid", 16) if o.has("nodeid") else None
    cpus = cpu_ranges(o.get_all("cpus"))
    mem_text = o.get("mem")
    syntax = size_syntax(release)
    mem = visit_size(mem_text, "mem", syntax) if mem_text is not None else None
    memdev = o.get("memdev")
    initiator = bounded_uint(o.get("initiator"), "initiator", 16) if o.has("initiator") else None
    check_keys(o, NODE_KEYS)
    if mem_text is not None:
        # parse_numa() reads mem= again with MiB as the default unit.
        try:
            mem = c_size(mem_text, 20, syntax)
        except ValueError:
            if release.has("numa-mem-reparse-checked"):
                raise QemuRefusal(f"could not parse memory size '{mem_text}': "
                                  "Numerical result out of range") from None
            # Older releases ignore the failure and keep the value in bytes.
    return NodeOptions(nodeid, cpus, mem, memdev, initiator)


# ---------------------------------------------------------------- set_numa_options

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
    release: Release
    numa_supported: bool = True


def apply_numa_option(o: OptString, state: NumaState, ctx: NumaContext) -> None:
    """One ``-numa`` option: QEMU's parse_numa(), then set_numa_options()."""
    kind = o.get("type")
    if kind is None:
        raise QemuRefusal("Parameter 'type' is missing")
    enum_value(o, "type", ("node", "dist", "cpu", "hmat-lb", "hmat-cache"), ctx.release)
    if kind == "node":
        node = _visit_node(o, ctx.release)
        _supported(ctx)
        set_node(node, state, ctx)
    elif kind == "cpu":
        node_id, sel = _visit_cpu(o, ctx.release)
        _supported(ctx)
        _set_cpu(node_id, sel, state, ctx)
    elif kind == "dist":
        src, dst, val = _visit_dist(o)
        _supported(ctx)
        _set_dist(src, dst, val, state)
    elif kind == "hmat-lb":
        from cmdxlate.resolver import hmat  # imported by the lines that use it

        lb = hmat.visit_lb(o, ctx.release)
        _supported(ctx)
        hmat.set_lb(lb, state, ctx.hmat)
    else:
        from cmdxlate.resolver import hmat

        cache = hmat.visit_cache(o, ctx.release)
        _supported(ctx)
        hmat.set_cache(cache, state, ctx.hmat)


def _supported(ctx: NumaContext) -> None:
    if not ctx.numa_supported:
        raise QemuRefusal("NUMA is not supported by this machine-type")


def set_node(n: NodeOptions, state: NumaState, ctx: NumaContext) -> None:
    """parse_numa_node(): initiator= is read before cpus= from 6.1, after them up to 6.0."""
    nodeid = n.nodeid if n.nodeid is not None else len(state.nodes)
    if nodeid >= MAX_NODES:
        raise QemuRefusal(f"Max number of NUMA nodes reached: {nodeid}")
    if nodeid in state.nodes:
        raise QemuRefusal(f"Duplicate NUMA nodeid: {nodeid}")
    node = state.entry(nodeid)
    early = ctx.release.has("numa-initiator-before-cpus")
    if early and not _set_initiator(n, node, state, ctx):
        return
    for lo, hi in n.cpus:
        for index in range(lo, hi + 1):
            if index >= ctx.maxcpus:
                raise QemuRefusal(f"CPU index ({index}) should be smaller than maxcpus "
                                  f"({ctx.maxcpus})")
            assign(ctx.slots[ctx.slot_of_index(index)], nodeid, state, ctx.release)
    state.uses_memdev = state.uses_memdev or n.memdev is not None
    state.uses_mem = state.uses_mem or n.mem is not None
    if (n.mem is not None and state.uses_memdev) or (n.memdev is not None and state.uses_mem):
        raise QemuRefusal(
            "numa configuration should use either mem= or memdev=,mixing both is not allowed")
    if n.mem is not None:
        if not ctx.mem_supported:
            raise QemuRefusal("Parameter -numa node,mem is not supported by this machine type",
                              hint="Use -numa node,memdev instead")
        node.size = n.mem
        state.warnings.append(
            "Parameter -numa node,mem is deprecated, use -numa node,memdev instead")
    if n.memdev is not None:
        backend = resolve_backend(n.memdev, ctx.memdevs)
        if backend is None:
            raise QemuRefusal(f"memdev={n.memdev} is ambiguous")
        node.memdev = backend
        node.size = ctx.memdevs[backend]
    if not early and not _set_initiator(n, node, state, ctx):
        return
    node.present = True
    state.absent.pop(nodeid, None)
    state.nodes[nodeid] = node


def _set_initiator(n: NodeOptions, node: NumaNode, state: NumaState, ctx: NumaContext
                   ) -> bool:
    """False when QEMU reports a bad initiator and goes on without the node."""
    node.initiator = NO_INITIATOR
    if n.initiator is None:
        return True
    if not ctx.hmat:
        raise QemuRefusal(
            "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with "
            "-machine hmat=on before using any of hmat specific options")
    if n.initiator >= MAX_NODES:
        # error_report(), not an error: QEMU prints it with the option's location and
        # carries on, the node left out.
        state.warnings.append(
            f"The initiator id {n.initiator} expects an integer between 0 and "
            f"{MAX_NODES - 1} (QEMU prints this as an error for node {node.nodeid}, "
            "then starts without that node)")
        return False
    node.initiator = n.initiator
    return True


def assign(slot: CpuSlot, node: int, state: NumaState, release: Release) -> None:
    """machine_set_cpu_numa_node() for one slot: with HMAT a node holding CPUs is its own
    initiator."""
    if slot.node is not None and slot.node != node:
        raise QemuRefusal(f"CPU is already assigned to node-id: {slot.node}")
    slot.node = node
    if state.hmat and 0 <= node < MAX_NODES:
        info = state.entry(node)
        if info.initiator < NO_INITIATOR and info.initiator != node:
            got = (f" (got {info.initiator})" if release.has("numa-initiator-before-cpus")
                   else "")
            raise QemuRefusal(f"The initiator of CPU NUMA node {node} should be itself{got}")
        info.has_cpu = True
        info.initiator = node


def _visit_cpu(o: OptString, release: Release) -> tuple[int | None, dict[str, int]]:
    known: tuple[str, ...] = tuple(release.fact("numa_cpu_keys"))
    node_id = _int64(o.get("node-id") or "", "node-id") if o.has("node-id") else None
    sel = {key: _int64(o.get(key) or "", key) for key in CPU_PROP_KEYS
           if key in known and o.has(key)}
    check_keys(o, ("node-id", *known))
    return node_id, sel


def _set_cpu(node_id: int | None, sel: dict[str, int], state: NumaState,
             ctx: NumaContext) -> None:
    if node_id is None:
        raise QemuRefusal("Missing mandatory node-id property")
    if not _node_reads_present(node_id, state):
        raise QemuRefusal(
            f"Invalid node-id={node_id}, NUMA node must be defined with -numa node,nodeid=ID "
            f"before it's used with -numa cpu,node-id=ID")
    for key in UNSUPPORTED_ORDER:
        if key in sel and key not in ctx.slot_keys:
            raise QemuRefusal(f"{key} is not supported")
    # QEMU compares only the ids it checks above (never drawer-id or book-id).
    ids = {k: v for k, v in sel.items() if k in UNSUPPORTED_ORDER}
    matched = False
    if all(k in ids for k in ctx.slot_keys):
        hit = ctx.slot_with({k: ids[k] for k in ctx.slot_keys})
        if hit is not None:
            assign(hit, node_id, state, ctx.release)
            matched = True
    else:
        for slot in ctx.slots:
            if all(slot.props.get(k) == v for k, v in ids.items()):
                assign(slot, node_id, state, ctx.release)
                matched = True
    if not matched:
        raise QemuRefusal("no match found")


def _node_reads_present(node_id: int, state: NumaState) -> bool:
    """numa_info[node-id].present, which QEMU reads without checking the index."""
    if 0 <= node_id < MAX_NODES:
        return node_id in state.nodes
    if node_id == -1:
        # Measured on 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (pc, q35, pseries, virt): the
        # memory before QEMU's node table reads as a present node.
        return True
    inside = MAX_NODES <= node_id <= LAST_ID_INSIDE_STATE
    if inside and not state.hmat_lb and not state.hmat_cache:
        return False
    raise InputError(
        f"-numa cpu,node-id={node_id}: QEMU reads its node table outside its bounds for this "
        "id, so whether it accepts the line depends on memory contents (real QEMU binaries "
        "differ); give a node-id defined with -numa node")


def _visit_dist(o: OptString) -> tuple[int, int, int]:
    src = bounded_uint(o.get("src"), "src", 16)
    dst = bounded_uint(o.get("dst"), "dst", 16)
    val = bounded_uint(o.get("val"), "val", 8)
    check_keys(o, ("src", "dst", "val"))
    return src, dst, val


def _set_dist(src: int, dst: int, val: int, state: NumaState) -> None:
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
