"""Write an equivalent command line with every CPU explicit.

The boot CPUs QEMU must create itself shrink to the minimum (one CPU; one
core on pseries); every other present CPU becomes a ``-device`` with its slot
ids; every NUMA node is written out and every slot pinned with ``-numa cpu``.
All other arguments pass through unchanged and in order.
"""

from __future__ import annotations

from cmdxlate.error import CmdxlateError
from cmdxlate.records import dataclass
from cmdxlate.resolver.numa import parse_uint
from cmdxlate.resolver.smp import LEVELS
from cmdxlate.resolver.topology import CpuSlot, Topology
from cmdxlate.syntax.argv import CommandLine, Option
from cmdxlate.syntax.optstring import escape_value, render_pairs


@dataclass
class Converted:
    """The converted argv, grouped one option per element for pretty output."""

    groups: list[list[str]]
    topology: Topology

    def argv(self) -> list[str]:
        return [w for g in self.groups for w in g]


def boot_units(topo: Topology) -> int:
    """Slots QEMU must fill itself: at least one CPU, or one core on pseries."""
    return 1


def smp_value(topo: Topology, boot_cpus: int) -> str:
    smp = topo.smp
    pairs = [("cpus", str(boot_cpus)), ("maxcpus", str(smp.maxcpus))]
    for lvl in LEVELS:
        if lvl in ("sockets", "cores", "threads") or lvl in topo.machine.levels:
            pairs.append((lvl, str(smp.level(lvl))))
    return render_pairs(pairs)


def _used_ids(cl: CommandLine) -> set[str]:
    """Ids on the line that a generated ``vcpuN`` id could collide with."""
    ids: set[str] = set()
    for opt in cl.options:
        # Generated ids all start with "vcpu": other values cannot collide.
        if opt.value is None or opt.name is None or "vcpu" not in opt.value:
            continue
        try:
            v = opt.get("id")
        except CmdxlateError:
            v = None
        if v:
            ids.add(v)
    return ids


def device_id(slot: CpuSlot, used: set[str]) -> str:
    base = f"vcpu{slot.index}"
    cand = base
    n = 1
    while cand in used:
        cand = f"{base}-{n}"
        n += 1
    used.add(cand)
    return cand


def _strip_smp_from_machine(opt: Option) -> list[str] | None:
    """-machine without its smp.* keys; None when nothing else was in it."""
    o = opt.opts
    assert o is not None and opt.spelling is not None
    kept = [p.raw for p in o.pairs if not p.key.startswith("smp.")]
    if len(kept) == len(o.pairs):
        return opt.args()
    if not kept:
        return None
    return [opt.spelling, ",".join(kept)]


def _node_option(opt: Option, nodeid: int) -> list[str]:
    """A -numa node without cpus= (every slot is pinned separately)."""
    o = opt.opts
    assert o is not None and opt.spelling is not None
    kept = [p.raw for p in o.pairs if p.key != "cpus"]
    if not o.has("nodeid"):
        kept.insert(1 if kept and o.pairs[0].key == "type" else 0, f"nodeid={nodeid}")
    if o.pairs and o.pairs[0].implied and kept and kept[0] == o.pairs[0].raw:
        pass
    return [opt.spelling, ",".join(kept)]


def convert(cl: CommandLine, topo: Topology) -> Converted:
    """The line with every present CPU but the boot unit a -device (unchanged on a
    machine without hot-pluggable CPUs, with a warning saying so)."""
    machine = topo.machine
    if not machine.hotpluggable_cpus or not machine.device_cpus:
        # QEMU creates every CPU of such a machine itself: the line is its own conversion.
        topo.warnings.append(f"{machine.name} has no hot-pluggable CPUs, so none can be a "
                             "-device: the line is unchanged")
        return Converted([opt.args() for opt in cl.options], topo)
    board = topo.board
    k_units = boot_units(topo)
    boot_cpus = sum(s.vcpus_count for s in topo.slots[:k_units])
    numa_on = bool(topo.numa.nodes) and bool(cl.find("numa"))

    used = _used_ids(cl)
    # A slot's ids are integers (no comma to escape), written once for -device and -numa cpu.
    ids_text: dict[int, str] = {}

    def ids_of(slot: CpuSlot) -> str:
        text = ids_text.get(slot.index)
        if text is None:
            text = ids_text[slot.index] = board.device_id_text(slot)
        return text

    generated: list[list[str]] = []
    driver = escape_value(topo.cpu_type)
    for slot in topo.slots:
        if slot.boot and slot.index >= k_units:
            parts = [driver, f"id={device_id(slot, used)}"]  # "vcpuN[-K]": nothing to escape
            ids = ids_of(slot)
            if ids:
                parts.append(ids)
            if numa_on and slot.node is not None:
                parts.append(f"node-id={slot.node}")
            generated.append(["-device", ",".join(parts)])

    numa_groups: list[list[str]] = []
    if numa_on:
        node_opts: dict[int, Option] = {}
        others: list[list[str]] = []
        count = 0
        for opt in cl.find("numa"):
            o = opt.opts
            assert o is not None
            kind = o.get("type")
            if kind == "node":
                nid = parse_uint(o.get("nodeid") or "", "nodeid") if o.has("nodeid") else count
                count += 1
                node_opts[nid] = opt
            elif kind == "cpu":
                continue
            else:
                others.append(opt.args())
        for nid, opt in node_opts.items():
            numa_groups.append(_node_option(opt, nid))
        spelling = cl.find("numa")[0].spelling or "-numa"
        for slot in topo.slots:
            ids = ids_of(slot)
            node = f"cpu,node-id={slot.node if slot.node is not None else 0}"
            numa_groups.append([spelling, f"{node},{ids}" if ids else node])
        numa_groups.extend(others)

    cpu_device_idx = set(topo.device_cpu_options)
    first_cpu_dev = min(cpu_device_idx) if cpu_device_idx else None
    smp_opts = [o for o in cl.options if o.name == "smp"]
    new_smp = [smp_opts[0].spelling or "-smp" if smp_opts else "-smp",
               smp_value(topo, boot_cpus)]

    out: list[list[str]] = []
    smp_done = numa_done = gen_done = False
    machine_idx = next((o.index for o in cl.options if o.name == "machine"), None)

    def emit_generated() -> None:
        nonlocal gen_done
        if not gen_done:
            out.extend(generated)
            gen_done = True

    for opt in cl.options:
        if opt.name == "smp":
            if not smp_done:
                out.append(new_smp)
                smp_done = True
                if first_cpu_dev is None:
                    emit_generated()
            continue
        if opt.name == "numa" and numa_on:
            if not numa_done:
                out.extend(numa_groups)
                numa_done = True
            continue
        if opt.index in cpu_device_idx and opt.index == first_cpu_dev:
            emit_generated()
        if opt.name == "machine":
            kept = _strip_smp_from_machine(opt)
            if kept is not None:
                out.append(kept)
            if not smp_opts and opt.index == machine_idx:
                out.append(new_smp)
                smp_done = True
                if first_cpu_dev is None:
                    emit_generated()
            continue
        out.append(opt.args())
    if not smp_done:
        out.insert(0, new_smp)
        smp_done = True
        if not gen_done and first_cpu_dev is None:
            out[1:1] = generated
            gen_done = True
    if not gen_done:
        out.extend(generated)
    return Converted(out, topo)
