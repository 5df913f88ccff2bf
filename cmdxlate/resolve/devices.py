"""CPUs given with ``-device``: created as QEMU creates CLI devices, checked by the board.

QEMU creates option-string devices first and JSON ones after them
(qemu_create_cli_devices), each group in argv order, with each option's
location set, so their errors carry it. A JSON device's id is checked against
every device created before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.boards.base import device_int
from cmdxlate.error import QemuRefusal, qemu_located

if TYPE_CHECKING:
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolve.topology import CpuSlot, Topology


def creation_order(spec: VmSpec) -> list[Device]:
    return [d for d in spec.devices if not d.is_json] + [d for d in spec.devices if d.is_json]


def plug_devices(spec: VmSpec, topo: Topology) -> None:
    """Every -device that is a CPU of this machine, plugged into its slot."""
    board, machine = topo.board, topo.machine
    ids: set[str] = set()
    created = len(topo.slots)
    for dev in creation_order(spec):
        with qemu_located(dev.where):
            if dev.is_json and dev.id is not None and dev.id in ids:
                raise QemuRefusal(f"Duplicate device ID '{dev.id}'")
            if dev.id is not None:
                ids.add(dev.id)
            if not machine.is_cpu_driver(dev.driver):
                continue
            if not machine.device_cpus:
                raise QemuRefusal("Parameter 'driver' expects a pluggable device type")
            slot = board.pre_plug(topo, dev)
            node = device_int(dev.props, "node-id")
            # numa_cpu_pre_plug(), on every board with NUMA support, NUMA configured or not;
            # -1 is "unset" (the slot's node is taken).
            if node is not None and node != -1 and machine.numa:
                expected = slot.node if slot.node is not None else 0
                if node != expected:
                    raise QemuRefusal(f"invalid node-id, must be {expected}")
            slot.plugged = True
            slot.device_id = dev.id
            slot.qom_path = f"/machine/peripheral/{dev.id}" if dev.id else None
            slot.created = created
            created += 1
            board.check_cpu(slot, dev)
        topo.device_cpu_options.append(dev.option.index)


def line_cpu_devices(spec: VmSpec, topo: Topology) -> list[tuple[Device, CpuSlot]]:
    """The line's -device CPUs in creation order, each with the slot it took."""
    devices = [d for d in creation_order(spec) if topo.machine.is_cpu_driver(d.driver)]
    taken = sorted((s for s in topo.slots if s.plugged and not s.boot), key=lambda s: s.created)
    return list(zip(devices, taken, strict=True))
