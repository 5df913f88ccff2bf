"""CPUs given with ``-device``: created as QEMU creates CLI devices, checked by the board.

QEMU creates option-string devices first and JSON ones after them
(qemu_create_cli_devices, 6.2 on), each group in argv order, with each
option's location set, so their errors carry it. Before 6.2 there is no JSON
``-device``: ``{...}`` is an option string like any other, whose driver is the
text up to the first comma. Each device goes through qdev_device_add's steps:
the type is looked up, a JSON device's id is checked against every device
created before it, the properties are set, then the board's pre-plug handler,
the CPU's realize and the board's plug handler run.
"""

from __future__ import annotations

from cmdxlate.error import CmdxlateError, QemuRefusal, locate_at
from cmdxlate.syntax.optstring import id_wellformed, parse_qemuopts

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Release
    from cmdxlate.model import Device, VmSpec
    from cmdxlate.resolver.topology import CpuSlot, Topology


def creation_order(spec: VmSpec, release: Release) -> list[Device]:
    if not release.has("device-json"):
        return list(spec.devices)
    return [d for d in spec.devices if not d.is_json] + [d for d in spec.devices if d.is_json]


def _old_json_driver(dev: Device) -> str | None:
    """A ``-device {...}`` before 6.2: the driver QemuOpts reads from it (None: none given)."""
    value = dev.option.value or ""
    return parse_qemuopts(value, "driver").get("driver")


def plug_devices(spec: VmSpec, topo: Topology) -> None:
    """Every -device that is a CPU of this machine, plugged into its slot."""
    board, release = topo.board, topo.machine.release
    ids: set[str] = set()
    created = len(topo.slots)
    for dev in creation_order(spec, release):
        try:  # as ``with qemu_located(dev.where)``, building the Where only for an error
            if dev.is_json and not release.has("device-json"):
                driver = _old_json_driver(dev)
                if driver is None:
                    raise QemuRefusal("Parameter 'driver' is missing")
                # A driver read from "{..." is never a type name.
                raise QemuRefusal(f"'{driver}' is not a valid device model name")
            if not dev.driver_given:
                raise QemuRefusal("Parameter 'driver' is missing")
            cpu = board.is_cpu_device(dev.driver)
            if cpu:
                board.check_device_type(topo, dev.driver)
            dev_id = dev.id
            if (dev.is_json and dev_id is not None and not id_wellformed(dev_id)
                    and release.has("device-json-id-checked")):
                raise QemuRefusal(f"Invalid qdev ID '{dev_id}'")
            if dev.is_json and dev_id is not None and dev_id in ids:
                raise QemuRefusal(f"Duplicate device ID '{dev_id}'")
            if dev_id is not None:
                ids.add(dev_id)
            if not cpu:
                continue
            values = board.set_device_props(topo, dev)
            slot = board.pre_plug(topo, dev, values)
            board.check_cpu(slot, dev)
            board.plug(topo, slot, dev)
        except CmdxlateError as e:
            locate_at(e, dev.where)
            raise
        slot.plugged = True
        slot.device_id = dev_id
        slot.qom_path = f"/machine/peripheral/{dev_id}" if dev_id else None
        slot.created = created
        created += 1
        topo.device_cpu_options.append(dev.option.index)


def line_cpu_devices(spec: VmSpec, topo: Topology) -> list[tuple[Device, CpuSlot]]:
    """The line's -device CPUs in creation order, each with the slot it took."""
    devices = [d for d in creation_order(spec, topo.machine.release)
               if topo.board.is_cpu_device(d.driver)]
    taken = sorted((s for s in topo.slots if s.plugged and not s.boot), key=lambda s: s.created)
    return list(zip(devices, taken, strict=True))
