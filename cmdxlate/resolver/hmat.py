"""``-numa hmat-lb`` and ``-numa hmat-cache``: QEMU's checks, in its order.

QEMU reads every field of the option first (its options visitor: malformed
fields in declaration order, then unknown keys), then refuses the option when
``-machine hmat=on`` is missing, then checks the entry against the nodes and
entries defined before it on the command line. Latencies and bandwidths are
kept the way QEMU compresses them to 16 bits, because an entry too far from
the earlier ones is refused.
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal
from cmdxlate.records import dataclass
from cmdxlate.resolver.numa import (
    HmatTable,
    NumaState,
    bounded_uint,
    check_keys,
    enum_value,
    visit_size,
)
from cmdxlate.syntax.optstring import OptString
from cmdxlate.syntax.sizes import size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Release

HMAT_DISABLED = ("ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with "
                 "-machine hmat=on before using any of hmat specific options")
HIERARCHIES = ("memory", "first-level", "second-level", "third-level")
DATA_TYPES = ("access-latency", "read-latency", "write-latency", "access-bandwidth",
              "read-bandwidth", "write-bandwidth")
ASSOCIATIVITIES = ("none", "direct", "complex")
POLICIES = ("none", "write-back", "write-through")
LB_LEVELS = 4  # HMAT_LB_LEVELS: memory plus three cache levels
UINT16_MAX = 0xFFFF
MIB = 1 << 20


@dataclass(frozen=True)
class LbOptions:
    initiator: int
    target: int
    hierarchy: str
    data_type: str
    latency: int | None
    bandwidth: int | None


@dataclass(frozen=True)
class CacheOptions:
    node_id: int
    size: int
    level: int


def visit_lb(o: OptString, release: Release) -> LbOptions:
    """NumaHmatLBOptions as the options visitor reads them."""
    initiator = bounded_uint(o.get("initiator"), "initiator", 16)
    target = bounded_uint(o.get("target"), "target", 16)
    hierarchy = enum_value(o, "hierarchy", HIERARCHIES, release)
    data_type = enum_value(o, "data-type", DATA_TYPES, release)
    latency = bounded_uint(o.get("latency"), "latency", 64) if o.has("latency") else None
    bandwidth = (visit_size(o.get("bandwidth"), "bandwidth", size_syntax(release))
                 if o.has("bandwidth") else None)
    check_keys(o, ("initiator", "target", "hierarchy", "data-type", "latency", "bandwidth"))
    return LbOptions(initiator, target, hierarchy, data_type, latency, bandwidth)


def visit_cache(o: OptString, release: Release) -> CacheOptions:
    """NumaHmatCacheOptions as the options visitor reads them."""
    node_id = bounded_uint(o.get("node-id"), "node-id", 32)
    text = o.get("size")
    if text is None:
        raise QemuRefusal("Parameter 'size' is missing")
    size = visit_size(text, "size", size_syntax(release))
    level = bounded_uint(o.get("level"), "level", 8)
    enum_value(o, "associativity", ASSOCIATIVITIES, release)
    enum_value(o, "policy", POLICIES, release)
    bounded_uint(o.get("line"), "line", 16)
    check_keys(o, ("node-id", "size", "level", "associativity", "policy", "line"))
    return CacheOptions(node_id, size, level)


def set_lb(lb: LbOptions, state: NumaState, enabled: bool) -> None:
    """parse_numa_hmat_lb()."""
    initiator, target, hierarchy, data_type = lb.initiator, lb.target, lb.hierarchy, lb.data_type
    latency, bandwidth = lb.latency, lb.bandwidth
    if not enabled:
        raise QemuRefusal(HMAT_DISABLED)
    count = len(state.nodes)
    # QEMU compares with '>' here, so an id equal to the node count falls through
    # to the checks below.
    if initiator > count:
        raise QemuRefusal(f"Invalid initiator={initiator}, it should be less than {count}")
    if target > count:
        raise QemuRefusal(f"Invalid target={target}, it should be less than {count}")
    ini_node = state.peek(initiator)  # numa_info[initiator], present or not
    if ini_node is None or not ini_node.has_cpu:
        raise QemuRefusal(
            f"Invalid initiator={initiator}, it isn't an initiator proximity domain")
    if target not in state.nodes:
        raise QemuRefusal(f"The target={target} should point to an existing node")
    table = state.hmat_lb.setdefault((hierarchy, data_type), HmatTable())
    pair = (initiator, target)
    if data_type.endswith("latency"):
        if latency is None:
            raise QemuRefusal("Missing 'latency' option")
        if bandwidth is not None:
            raise QemuRefusal("Invalid option 'bandwidth' since the data type is latency")
        if pair in table.pairs:
            raise QemuRefusal(f"Duplicate configuration of the latency for "
                                f"initiator={initiator} and target={target}")
        table.base = table.base or (1 << 64) - 1
        if latency:
            base, rng = _compress_latency(table, latency)
            _record(state, table, target, 1, base, rng, rng < UINT16_MAX,
                    f"Latency {latency} between initiator={initiator} and target={target} "
                    "should not differ from previously entered min or max values on more "
                    f"than {UINT16_MAX - 1}")
    else:
        if bandwidth is None:
            raise QemuRefusal("Missing 'bandwidth' option")
        if latency is not None:
            raise QemuRefusal("Invalid option 'latency' since the data type is bandwidth")
        if bandwidth % MIB:
            raise QemuRefusal(f"Bandwidth {bandwidth} between initiator={initiator} and "
                                f"target={target} should be 1MB aligned")
        if pair in table.pairs:
            raise QemuRefusal(f"Duplicate configuration of the bandwidth for "
                                f"initiator={initiator} and target={target}")
        table.base = table.base or 1
        if bandwidth:
            bits = table.range_bitmap | bandwidth
            first_bit = (bits & -bits).bit_length() - 1
            fits = bits.bit_length() - first_bit <= 16 and bandwidth >> first_bit < UINT16_MAX
            _record(state, table, target, 2, 1 << first_bit, bits, fits,
                    f"Bandwidth {bandwidth} between initiator={initiator} and target={target} "
                    f"should not differ from previously entered values on more than "
                    f"{UINT16_MAX - 1}")
    table.pairs.add(pair)


def _compress_latency(table: HmatTable, latency: int) -> tuple[int, int]:
    """The base (a power of ten) and the largest compressed entry after adding ``latency``."""
    entry, power = latency, 1
    while entry % 10 == 0:
        entry //= 10
        power *= 10
    return min(table.base, power), max(table.range_bitmap, latency // table.base)


def _record(state: NumaState, table: HmatTable, target: int, bit: int, base: int, rng: int,
            fits: bool, too_far: str) -> None:
    """Keep the new base and range, or refuse an entry that no longer fits 16 bits."""
    if not fits:
        raise QemuRefusal(too_far)
    table.base, table.range_bitmap = base, rng
    state.lb_info[target] = state.lb_info.get(target, 0) | bit


def set_cache(cache: CacheOptions, state: NumaState, enabled: bool) -> None:
    """parse_numa_hmat_cache()."""
    node_id, size, level = cache.node_id, cache.size, cache.level
    if not enabled:
        raise QemuRefusal(HMAT_DISABLED)
    count = len(state.nodes)
    if node_id >= count:
        raise QemuRefusal(f"Invalid node-id={node_id}, it should be less than {count}")
    if state.lb_info.get(node_id, 0) != 3:
        raise QemuRefusal(f"The latency and bandwidth information of node-id={node_id} "
                            "should be provided before memory side cache attributes")
    if level < 1 or level >= LB_LEVELS:
        raise QemuRefusal(f"Invalid level={level}, it should be larger than 0 and less than "
                            f"or equal to {LB_LEVELS - 1}")
    caches = state.hmat_cache
    if (node_id, level) in caches:
        raise QemuRefusal(f"Duplicate configuration of the side cache for node-id={node_id} "
                            f"and level={level}")
    below = caches.get((node_id, level - 1))
    if level > 1 and below is None:
        raise QemuRefusal(f"Cache level={level - 1} shall be defined first")
    if level > 1 and below is not None and size <= below:
        raise QemuRefusal(f"Invalid size={size}, the size of level={level} should be larger "
                            f"than the size({below}) of level={level - 1}")
    above = caches.get((node_id, level + 1))
    if level < LB_LEVELS - 1 and above is not None and size >= above:
        raise QemuRefusal(f"Invalid size={size}, the size of level={level} should be less "
                            f"than the size({above}) of level={level + 1}")
    caches[(node_id, level)] = size
