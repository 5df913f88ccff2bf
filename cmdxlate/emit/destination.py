"""The migration destination line for a running VM: its command line with every CPU that is
plugged right now.

The line stays as it is (-smp and its boot CPUs too); the VM's other CPUs follow as
``-device`` in the order the VM created them (the order of first appearance in its
query-cpus-fast), with the VM's ids and slot props, node-id included. Creation
order, not cpu-index order: loongarch numbers its CPU migration sections by creation
and a destination in cpu-index order takes the wrong vCPU's state without an error,
and query-cpus-fast lists CPUs in creation order everywhere (measured on QEMU
10.0.2 and 11.1.3).
"""

from __future__ import annotations

import json

from cmdxlate.emit.convert import _used_ids, device_id
from cmdxlate.records import dataclass
from cmdxlate.resolver.live import LiveState, LiveUnit
from cmdxlate.resolver.topology import PROP_ORDER
from cmdxlate.syntax.argv import CommandLine
from cmdxlate.syntax.optstring import render_pairs


@dataclass
class Destination:
    groups: list[list[str]]
    warnings: list[str]


def _device(unit: LiveUnit, dev_id: str, props: dict[str, int], as_json: bool) -> list[str]:
    if as_json:
        return ["-device", json.dumps({"driver": unit.driver, "id": dev_id, **props})]
    pairs = [("id", dev_id)] + [(k, str(v)) for k, v in props.items()]
    return ["-device", render_pairs(pairs, implied=unit.driver)]


def destination(cl: CommandLine, state: LiveState) -> Destination:
    """``cl`` plus the VM's hot-plugged CPUs; the line's CPUs the VM no longer has go."""
    vm = state.vm
    assert vm.slots is not None or not state.units
    warnings = list(state.warnings)
    used = _used_ids(cl) | {u.device_id for u in state.units if u.device_id}
    as_json = any(d.is_json for d in state.line_devices)
    added: list[list[str]] = []
    for unit in state.units:
        if unit.device is not None:
            continue
        dev_id = unit.device_id
        if dev_id is None:
            dev_id = device_id(unit.slot, used)
            where = ",".join(f"{k}={v}" for k, v in unit.slot.ids())
            warnings.append(f"the CPU hot-plugged at {where} has no id ({unit.qom_path}); the "
                            f"destination line names it {dev_id}")
        assert vm.slots is not None
        props = vm.slots[unit.slot.index].props
        ordered = {k: props[k] for k in PROP_ORDER if k in props}
        ordered.update(props)
        added.append(_device(unit, dev_id, ordered, as_json))
    dropped = {d.option.index for d in state.dropped}
    cpu_options = [d.option.index for d in state.line_devices]
    smp = [o.index for o in cl.options if o.name == "smp"]
    after = max(cpu_options) if cpu_options else (smp[-1] if smp else None)
    groups: list[list[str]] = []
    for opt in cl.options:
        if opt.index not in dropped:
            groups.append(opt.args())
        if opt.index == after:
            groups.extend(added)
    if after is None:
        groups.extend(added)
    return Destination(groups, warnings)


__all__ = ["Destination", "destination"]
