"""Resolve a parsed command line into its CPU topology, exactly as QEMU would.

Works in QEMU's own order so the first error reported is the one QEMU
reports: option syntax, then ``-smp``, then ``-numa`` in order, then memory
completion and board checks, then ``-device`` CPUs in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmdxlate.boards.checks import board_checks, check_machine_prop, socket_per_node_checks
from cmdxlate.syntax.argv import CommandLine, Option
from cmdxlate.errors import CmdxlateError
from cmdxlate.catalog.machines import SMP_KEY_SINCE, MachineType, infer_arch, lookup_machine
from cmdxlate.resolve.numa import (
    NumaState,
    apply_numa_option,
    complete,
    finish_cpu_init,
    parse_size,
)
from cmdxlate.syntax.numbers import c_int, qemu_bool
from cmdxlate.resolve.devices import ApicRule, plug_devices
from cmdxlate.boards.layouts import LAYOUTS, PROP_ORDER, CpuSlot
from cmdxlate.resolve.smp import SmpConfig, SmpSupport, resolve_smp

_INT64 = 1 << 63


@dataclass
class Topology:
    """Everything cmdxlate knows about a line's CPUs after resolving it."""

    machine: MachineType
    smp: SmpConfig
    smp_given: dict[str, int]
    cpu_model: str
    cpu_type: str
    slots: list[CpuSlot]
    numa: NumaState
    ram_bytes: int
    accel: str | None
    warnings: list[str] = field(default_factory=list)
    device_cpu_options: list[int] = field(default_factory=list)
    hmat: bool = False

    @property
    def has_numa(self) -> bool:
        return bool(self.numa.nodes)

    def slot_props(self, slot: CpuSlot) -> dict[str, int]:
        props = dict(slot.props)
        if self.has_numa:
            props["node-id"] = slot.node if slot.node is not None else 0
        return {k: props[k] for k in PROP_ORDER if k in props}

    def hotpluggable_cpus(self) -> list[dict[str, Any]]:
        """What query-hotpluggable-cpus answers: last slot first."""
        if not self.machine.hotpluggable_cpus:
            raise CmdxlateError("machine does not support hot-plugging CPUs", qemu=True)
        out = []
        for slot in reversed(self.slots):
            out.append({
                "type": self.cpu_type,
                "vcpus-count": slot.vcpus_count,
                "props": self.slot_props(slot),
                "plugged": slot.plugged,
            })
        return out

    def cpu_indexes(self, slot: CpuSlot) -> list[int]:
        """The cpu-index of each vCPU of a slot: a pseries core's threads take core-id and
        up; elsewhere a slot is one vCPU with the slot's index."""
        if self.machine.slot_layout == "spapr":
            return [slot.arch_id + t for t in range(slot.vcpus_count)]
        return [slot.index]

    def present_cpus(self) -> list[dict[str, Any]]:
        """What query-cpus-fast answers: present vCPUs in the CPU list's order, which is
        creation order (boot CPUs, then -device CPUs as QEMU creates them)."""
        out = []
        created = sorted((s for s in self.slots if s.plugged), key=lambda s: s.created)
        for slot in created:
            props = self.slot_props(slot)
            for index in self.cpu_indexes(slot):
                p = dict(props)
                if self.machine.slot_layout == "spapr":
                    p["core-id"] = slot.props["core-id"]
                out.append({"cpu-index": index, "props": p})
        return out


def _int_value(key: str, text: str) -> int:
    try:
        v = c_int(text)
    except ValueError:
        raise CmdxlateError(f"Parameter 'smp.{key}' expects integer", qemu=True) from None
    if v >= _INT64 or v < -_INT64:
        raise CmdxlateError(f"Parameter 'smp.{key}' expects integer", qemu=True)
    return v


def smp_members(target: tuple[int, int]) -> list[str]:
    """SMPConfiguration's members in QAPI order, for a QEMU version."""
    order = ["cpus", "drawers", "books", "sockets", "dies", "clusters", "modules", "cores",
             "threads", "maxcpus"]
    return [k for k in order if target >= SMP_KEY_SINCE.get(k, (0, 0))]


def _collect_smp(cl: CommandLine, target: tuple[int, int]) -> tuple[dict[str, int], int | None]:
    """Merge every -smp and -machine smp.* key by key (later values win), then
    check them the way QEMU's visitor does: members in QAPI order, then the
    first unexpected key in QEMU's hash-table order."""
    merged: dict[str, tuple[str, int]] = {}
    last_index: int | None = None
    for opt in cl.options:
        pairs: list[tuple[str, str]] = []
        if opt.name == "smp":
            o = opt.opts
            assert o is not None
            pairs = [(p.key, p.value) for p in o.pairs]
        elif opt.name == "machine":
            o = opt.opts
            assert o is not None
            pairs = [(p.key[4:], p.value) for p in o.pairs if p.key.startswith("smp.")]
        if not pairs:
            continue
        last_index = opt.index
        for key, value in pairs:
            merged[key] = (value, opt.index)
    given: dict[str, int] = {}
    members = smp_members(target)
    for key in members:
        if key in merged:
            value, index = merged[key]
            try:
                given[key] = _int_value(key, value)
            except CmdxlateError as e:
                raise CmdxlateError(e.message, option_index=index, qemu=True) from None
    unknown = [k for k in merged if k not in members]
    if unknown:
        from cmdxlate.resolve.qdict_order import first_unexpected

        key = first_unexpected(list(merged), members) or unknown[0]
        raise CmdxlateError(f"Parameter 'smp.{key}' is unexpected",
                            option_index=merged[key][1], qemu=True)
    return given, last_index


def _machine_options(cl: CommandLine) -> tuple[str | None, dict[str, str], int | None]:
    mtype: str | None = None
    props: dict[str, str] = {}
    index: int | None = None
    for opt in cl.find("machine"):
        o = opt.opts
        assert o is not None
        for p in o.pairs:
            if p.key == "type":
                mtype = p.value
                index = opt.index
            elif not p.key.startswith("smp."):
                props[p.key] = p.value
    return mtype, props, index


def _accel(cl: CommandLine, mprops: dict[str, str]) -> str | None:
    accel: str | None = None
    if "accel" in mprops:
        accel = mprops["accel"].split(":")[0]
    for opt in cl.options:
        if opt.name == "accel":
            o = opt.opts
            assert o is not None
            accel = accel or o.get("accel")
        elif opt.name == "enable-kvm":
            accel = accel or "kvm"
    return accel


def _kernel_irqchip(cl: CommandLine, mprops: dict[str, str]) -> str | None:
    value = mprops.get("kernel-irqchip", mprops.get("kernel_irqchip"))
    for opt in cl.find("accel"):
        o = opt.opts
        assert o is not None
        value = o.get("kernel-irqchip") or value
    return value


def _cpu_model(cl: CommandLine) -> tuple[str | None, int | None]:
    model: str | None = None
    index: int | None = None
    for opt in cl.find("cpu"):
        assert opt.value is not None
        model = opt.value.split(",", 1)[0]
        index = opt.index
    return model, index


def _memory(cl: CommandLine, default: int) -> tuple[int, int, int]:
    """RAM size, hotplug slots and maxmem from -m (later options win per key)."""
    size, slots, maxmem = default, 0, 0
    for opt in cl.find("m"):
        o = opt.opts
        assert o is not None
        try:
            if o.has("size"):
                size = parse_size(o.get("size") or "", "size", 1 << 20)
            if o.has("slots"):
                slots = c_int(o.get("slots") or "")
            if o.has("maxmem"):
                maxmem = parse_size(o.get("maxmem") or "", "maxmem", 1 << 20)
        except (CmdxlateError, ValueError) as e:
            msg = e.message if isinstance(e, CmdxlateError) else "Parameter 'slots' expects uint64"
            raise CmdxlateError(f"-m {opt.value}: {msg}", option_index=opt.index,
                                qemu=True) from None
    return size, slots, max(maxmem, size)


def memory_backend(opt: Option) -> tuple[str, int | str] | None:
    """(id, size) of a memory-backend -object, JSON or not; None for other objects."""
    j = opt.json
    if j is not None:
        qtype, oid, size = j.get("qom-type"), j.get("id"), j.get("size")
    else:
        o = opt.opts
        assert o is not None
        qtype, oid, size = o.get("qom-type"), o.get("id"), o.get("size")
    if not isinstance(qtype, str) or not qtype.startswith("memory-backend"):
        return None
    if oid is None or not isinstance(size, (int, str)):
        return None
    return str(oid), size


def _memdevs(cl: CommandLine) -> dict[str, int]:
    out: dict[str, int] = {}
    for opt in cl.find("object"):
        backend = memory_backend(opt)
        if backend is None:
            continue
        oid, size = backend
        if isinstance(size, int):
            out[oid] = size
        else:
            try:
                out[oid] = parse_size(size, "size")
            except CmdxlateError as e:
                raise CmdxlateError(e.message, option_index=opt.index, qemu=True) from None
    return out


_HELP_WORDS = ("help", "?")
_HELP_CAPABLE = frozenset({"machine", "smp", "object", "device", "accel", "cpu"})
_PARSED_WHILE_READING = frozenset({"numa", "smp", "machine", "device", "m", "object"})


def _asks_for_help(opt: Option) -> bool:
    """Whether QEMU would print a list for this option and exit instead of starting."""
    name = opt.name
    if name == "cpu":
        return opt.value in _HELP_WORDS
    if name not in ("machine", "smp", "object", "device", "accel") or opt.is_json:
        return False
    o = opt.opts
    if o is None:
        return False
    if o.help:
        return True
    if name == "device":
        return o.get("driver") in _HELP_WORDS or any(p.flag and p.key in _HELP_WORDS
                                                     for p in o.pairs)
    return name == "accel" and o.get("accel") in _HELP_WORDS


def resolve(cl: CommandLine, target: str = "10.0", arch: str | None = None) -> Topology:
    """Resolve ``cl`` for a target QEMU; raise QEMU's error where it would fail."""
    # Option syntax errors come first, as QEMU parses them while reading argv;
    # so does a repeated id among option-string -device (one QemuOpts list).
    # Help requests are acted on once argv has been read.
    device_ids: set[str] = set()
    help_opt: Option | None = None
    for opt in cl.options:
        name = opt.name
        if name in _PARSED_WHILE_READING:
            o = opt.opts
            if name == "device" and o is not None and o.id is not None:
                if o.id in device_ids:
                    raise CmdxlateError(f"Duplicate ID '{o.id}' for device",
                                        option_index=opt.index, qemu=True)
                device_ids.add(o.id)
        if help_opt is None and name in _HELP_CAPABLE and _asks_for_help(opt):
            help_opt = opt
    if help_opt is not None:
        raise CmdxlateError(
            f"{' '.join(help_opt.args())}: QEMU prints help for this and exits without "
            "starting a machine, so there is no topology to resolve",
            option_index=help_opt.index)
    mtype, mprops, m_index = _machine_options(cl)
    arch = arch or cl.arch or infer_arch(mtype) or "x86_64"
    try:
        machine = lookup_machine(mtype, arch, target)
    except CmdxlateError as e:
        raise CmdxlateError(e.message, option_index=m_index, qemu=e.qemu, hint=e.hint) from None
    tver = machine.target
    support = SmpSupport(machine.name, machine.levels, machine.prefer_sockets,
                         machine.min_cpus, machine.max_cpus, tver)
    # QEMU sets the machine's properties, "smp" among them, in its QDict's order.
    checked = [k for k in mprops if k in machine.checked_props]
    order = ["smp"]
    if checked:
        from cmdxlate.resolve.qdict_order import qdict_iteration_order

        order = qdict_iteration_order(checked + ["smp"])
    for key in order:
        if key != "smp":
            check_machine_prop(machine, key, mprops[key], m_index)
            continue
        given, smp_index = _collect_smp(cl, tver)
        try:
            smp = resolve_smp(given, support)
        except CmdxlateError as e:
            raise CmdxlateError(e.message, option_index=smp_index, qemu=True) from None
    warnings = list(smp.warnings)

    accel = _accel(cl, mprops)
    model, cpu_index = _cpu_model(cl)
    cpu_family = machine.data.get("cpu_models", {}).get(machine.arch)
    if model is not None and cpu_family:
        from cmdxlate.catalog.cpus import check_model

        try:
            check_model(cpu_family, model, tver, accel)
        except CmdxlateError as e:
            raise CmdxlateError(e.message, option_index=cpu_index, qemu=True) from None
    cpu_model = model if model is not None else machine.default_cpu_model(accel)
    cpu_type = machine.cpu_type(cpu_model)
    ram, ram_slots, maxram = _memory(cl, machine.default_ram_bytes)
    hmat = qemu_bool(mprops.get("hmat")) is True

    layout = machine.slot_layout
    slot_keys = machine.slot_prop_names(smp)
    slots = LAYOUTS[layout](smp, slot_keys)
    if layout == "spapr":
        index_to_slot = [i // smp.threads for i in range(smp.maxcpus)]
    else:
        index_to_slot = list(range(len(slots)))
    lookup = {tuple(sorted(s.props.items())): s for s in slots}

    numa = NumaState(hmat=hmat)
    numa_opts = cl.find("numa")
    if numa_opts and not machine.numa_supported:
        raise CmdxlateError("NUMA is not supported by this machine-type",
                            option_index=numa_opts[0].index, qemu=True)
    memdevs = _memdevs(cl)
    for opt in numa_opts:
        apply_numa_option(opt, numa, slots, index_to_slot, smp.maxcpus,
                          machine.numa_mem_supported, hmat, slot_keys, lookup, memdevs)
    if not numa.nodes and machine.auto_numa(ram_slots, maxram, ram):
        from cmdxlate.resolve.numa import NumaNode

        numa.nodes[0] = NumaNode(0, size=ram)
    try:
        complete(numa, ram)
    except CmdxlateError as e:
        raise CmdxlateError(e.message, option_index=numa_opts[0].index if numa_opts else None,
                            qemu=True) from None
    if numa.nodes:
        nn = len(numa.nodes)
        finish_cpu_init(numa, slots, _default_nodes(machine, smp, slots, nn))
    if machine.data.get("numa_mem_align_mib"):
        # spapr_validate_node_memory(): all of RAM, then each node.
        align_mib = int(machine.data["numa_mem_align_mib"])
        align = align_mib << 20
        if ram % align:
            raise CmdxlateError(f"Memory size 0x{ram:x} is not aligned to {align_mib} MiB",
                                qemu=True)
        if numa.nodes:
            for nid in sorted(numa.nodes):
                    size = numa.nodes[nid].size
                    if size % align:
                        raise CmdxlateError(
                            f"Node {nid} memory size 0x{size:x} is not aligned to "
                            f"{machine.data['numa_mem_align_mib']} MiB", qemu=True)
    warnings.extend(numa.warnings)
    board_checks(machine, smp, accel, mprops)
    if machine.data.get("numa_nodes_are_sockets"):
        socket_per_node_checks(machine, smp, numa, slots)

    if cpu_family and slots:
        from cmdxlate.catalog.cpus import check_accel, check_runnable

        try:
            check_accel(cpu_family, cpu_model, accel)
            cpu_opts = cl.find("cpu")
            check_runnable(cpu_family, cpu_opts[-1].value or "" if cpu_opts else cpu_model,
                           accel, tver)
        except CmdxlateError as e:
            raise CmdxlateError(e.message, option_index=cpu_index, qemu=True,
                                hint=e.hint) from None
    apic_rule = None
    # Slots are in APIC ID order, so the last one has the highest.
    if machine.data.get("x2apic_rules") and slots and slots[-1].arch_id >= 255:
        from cmdxlate.boards.apic import check_line

        check_line(slots[-1].arch_id, accel, _kernel_irqchip(cl, mprops), tver)
        apic_rule = ApicRule(cl, cpu_model, cpu_type, accel, tver)

    # Boot CPUs fill the first slots.
    boot_units = smp.cpus // smp.threads if layout == "spapr" else smp.cpus
    for i in range(min(boot_units, len(slots))):
        slots[i].plugged = True
        slots[i].boot = True
        slots[i].created = i
        if apic_rule is not None and slots[i].arch_id >= 255:
            apic_rule.check(slots[i])
    topo = Topology(machine, smp, given, cpu_model, cpu_type, slots, numa, ram, accel,
                    warnings, hmat=hmat)
    plug_devices(cl, topo, lookup, apic_rule)
    if apic_rule is not None and (w := apic_rule.warning()):
        topo.warnings.append(w)
    return topo


def _default_nodes(machine: MachineType, smp: SmpConfig, slots: list[CpuSlot], nn: int
                   ) -> list[int]:
    rule = machine.data.get("default_node")
    if rule == "spapr-core":
        return [(i // smp.cores) % nn for i in range(len(slots))]
    if rule == "riscv-block":
        if nn > smp.cpus:
            raise CmdxlateError(
                f"Number of NUMA nodes ({nn}) cannot exceed the number of available CPUs "
                f"({smp.cpus}).", qemu=True)
        per = smp.cpus // nn
        return [min(i // per, nn - 1) for i in range(len(slots))]
    if rule == "index":
        return [i % nn for i in range(len(slots))]
    return [s.props.get("socket-id", 0) % nn for s in slots]
