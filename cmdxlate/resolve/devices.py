"""CPUs given with -device: the checks a board's pre-plug and a CPU's realize make.

QEMU creates option-string devices first and JSON ones after them, so that is
the order CPUs are plugged, checked and given their place in the CPU list.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cmdxlate.syntax.argv import CommandLine, Option
from cmdxlate.errors import CmdxlateError
from cmdxlate.syntax.numbers import c_int
from cmdxlate.boards.layouts import CpuSlot

if TYPE_CHECKING:
    from cmdxlate.resolve.resolver import Topology


class ApicRule:
    """The x2APIC checks of an x86 board, applied to each CPU as QEMU realizes it."""

    def __init__(self, cl: CommandLine, model: str, cpu_type: str, accel: str | None,
                 target: tuple[int, int]) -> None:
        from cmdxlate.boards import apic

        self.apic = apic
        cpus = cl.find("cpu")
        self.features = apic.CpuFeatures(cpus[-1].value if cpus else None)
        self.default = apic.cpu_default(model, accel, target)
        self.global_value = apic.global_x2apic(
            [o.value for o in cl.find("global") if o.value is not None], cpu_type)
        self.model = model
        self.target = target
        self.untold = False

    def check(self, slot: CpuSlot, device_value: str | None = None) -> None:
        has = self.features.effective(self.default, device_value, self.global_value)
        if not self.apic.check_cpu(slot.arch_id, has, self.target):
            self.untold = True

    def warning(self) -> str | None:
        if not self.untold:
            return None
        return (f"cmdxlate cannot tell whether CPU model '{self.model}' has x2apic: QEMU refuses "
                "APIC IDs of 255 and up without it (set x2apic=on in -cpu to be sure)")


def _device_props(opt: Option) -> dict[str, str]:
    j = opt.json
    if j is not None:
        out: dict[str, str] = {}
        for k, v in j.items():
            out[k] = json.dumps(v) if not isinstance(v, str) else v
        return out
    o = opt.opts
    assert o is not None
    return {p.key: p.value for p in o.pairs}


def plug_devices(cl: CommandLine, topo: Topology,
                  lookup: dict[tuple[tuple[str, int], ...], CpuSlot],
                  apic_rule: ApicRule | None = None) -> None:
    """-device CPUs already on the line, checked as the board's pre-plug and realize do.

    QEMU creates option-string devices first and JSON ones after them
    (qemu_create_cli_devices), each group in argv order; a JSON device's id
    is checked against every device created before it.
    """
    machine = topo.machine
    devices = cl.find("device")
    ids: set[str] = set()
    created = len(topo.slots)
    for opt in [d for d in devices if not d.is_json] + [d for d in devices if d.is_json]:
        props = _device_props(opt)
        dev_id = props.get("id")
        if opt.is_json and dev_id is not None:
            if dev_id in ids:
                raise CmdxlateError(f"Duplicate device ID '{dev_id}'", option_index=opt.index,
                                    qemu=True)
        if dev_id is not None:
            ids.add(dev_id)
        driver = props.get("driver", "")
        if not machine.is_cpu_driver(driver):
            continue
        try:
            slot = _plug_one(topo, props, driver, lookup)
            slot.created = created
            created += 1
            if apic_rule is not None and slot.arch_id >= 255:
                apic_rule.check(slot, props.get("x2apic"))
        except CmdxlateError as e:
            raise CmdxlateError(e.message, option_index=opt.index, qemu=e.qemu,
                                hint=e.hint) from None
        topo.device_cpu_options.append(opt.index)


def _num(props: dict[str, str], key: str) -> int | None:
    if key not in props:
        return None
    try:
        return c_int(props[key])
    except ValueError:
        raise CmdxlateError(f"Parameter '{key}' expects int32", qemu=True) from None


def _plug_one(topo: Topology, props: dict[str, str], driver: str,
              lookup: dict[tuple[tuple[str, int], ...], CpuSlot]) -> CpuSlot:
    machine = topo.machine
    layout = machine.slot_layout
    if not machine.device_cpus:
        raise CmdxlateError("Parameter 'driver' expects a pluggable device type", qemu=True)
    smp = topo.smp
    if layout in ("x86", "loongarch"):
        if driver != topo.cpu_type:
            raise CmdxlateError(f"Invalid CPU type, expected cpu type: '{topo.cpu_type}'",
                                qemu=True)
        want: dict[str, int] = {}
        limits = {"socket-id": smp.sockets, "die-id": smp.dies, "module-id": smp.modules,
                  "core-id": smp.cores, "thread-id": smp.threads}
        # The ids the slots carry (machine data: die-id only with dies > 1, ...).
        names = machine.slot_prop_names(smp)
        for key in [k for k in limits if k in names]:
            v = _num(props, key)
            if v is None or v < 0:
                raise CmdxlateError(f"CPU {key} is not set", qemu=True)
            if v >= limits[key]:
                raise CmdxlateError(
                    f"Invalid CPU {key}: {v} must be in range 0:{limits[key] - 1}", qemu=True)
            want[key] = v
        slot = lookup.get(tuple(sorted(want.items())))
    elif layout == "spapr":
        if driver != topo.cpu_type:
            raise CmdxlateError(f"CPU core type should be {topo.cpu_type}", qemu=True)
        cid = _num(props, "core-id")
        if cid is None:
            cid = -1
        if cid % smp.threads:
            raise CmdxlateError(f"invalid core id {cid}", qemu=True)
        if cid < 0 or cid >= smp.maxcpus:
            raise CmdxlateError(f"core id {cid} out of range", qemu=True)
        slot = topo.slots[cid // smp.threads]
        if slot.plugged:
            raise CmdxlateError(f"core {cid} already populated", qemu=True)
    elif layout == "s390x":
        # Under TCG "max" is the "qemu" model; other pairs of models differ.
        same_model = {driver, topo.cpu_type} <= {"qemu-s390x-cpu", "max-s390x-cpu"} and (
            topo.accel in (None, "tcg"))
        if driver != topo.cpu_type and not same_model:
            raise CmdxlateError("Mixed CPU models are not supported on s390x.", qemu=True)
        cid = _num(props, "core-id")
        if cid is None or cid < 0 or cid >= smp.maxcpus:
            raise CmdxlateError(
                f"Unable to add CPU with core-id: {cid if cid is not None else -1}, maximum "
                f"core-id: {smp.maxcpus - 1}", qemu=True)
        slot = topo.slots[cid]
        if slot.plugged:
            raise CmdxlateError(f"Unable to add CPU with core-id: {cid}, it already exists",
                                qemu=True)
    else:
        raise CmdxlateError("Parameter 'driver' expects a pluggable device type", qemu=True)
    if slot is None:
        raise CmdxlateError("CPU slot not found", qemu=True)
    if slot.plugged:
        raise CmdxlateError(f"CPU[{slot.index}] with APIC ID {slot.arch_id} exists", qemu=True)
    node = _num(props, "node-id")
    if node is not None and topo.numa.nodes and node != slot.node:
        raise CmdxlateError(f"invalid node-id, must be {slot.node}", qemu=True)
    slot.plugged = True
    dev_id = props.get("id")
    slot.device_id = dev_id
    slot.qom_path = f"/machine/peripheral/{dev_id}" if dev_id else None
    return slot
