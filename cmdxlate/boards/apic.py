"""x86 APIC IDs of 255 and up: the x2APIC rules QEMU applies at board init.

Releases without the per-CPU check refuse the whole line unless KVM runs the
interrupt controller in the kernel; with it (``x2apic-per-cpu-check``) each CPU
whose APIC ID is 255 or more must have the x2apic feature, which KVM turns on
by default and TCG takes from the CPU model (spec 1.4). Which models have it is
data: the x86 CPU table.
"""

from __future__ import annotations

from cmdxlate.catalog.cpus import CpuTable
from cmdxlate.catalog.releases import Release
from cmdxlate.error import QemuRefusal
from cmdxlate.syntax.numbers import qemu_bool

X2APIC_HINT = "Try x2apic=on in -cpu."
IRQCHIP_MESSAGE = "current -smp configuration requires kernel irqchip and X2APIC API support."


class CpuFeatures:
    """The x2apic setting a ``-cpu`` option gives every CPU of its type.

    ``model,x2apic=on`` sets a property; ``+x2apic``/``-x2apic`` are applied
    later, at realize, and ``-`` wins over ``+`` whatever their order.
    """

    def __init__(self, cpu_value: str | None) -> None:
        self.prop: bool | None = None
        self.plus = self.minus = False
        self.unknown = False
        if not cpu_value:
            return
        for item in cpu_value.split(",")[1:]:
            if item in ("+x2apic", "-x2apic"):
                self.plus |= item[0] == "+"
                self.minus |= item[0] == "-"
                continue
            name, eq, value = item.partition("=")
            if name.replace("_", "-") != "x2apic":
                continue
            parsed = qemu_bool(value) if eq else True
            if parsed is None:
                self.unknown = True
            else:
                self.prop = parsed

    def effective(self, default: bool | None, device_value: str | None = None,
                  global_value: str | None = None) -> bool | None:
        """x2apic of one CPU: model/KVM default < -global < -cpu prop < -device prop < +/-."""
        if self.minus:
            return False
        if self.plus:
            return True
        if device_value is not None:
            return qemu_bool(device_value)
        if self.unknown:
            return None
        if self.prop is not None:
            return self.prop
        if global_value is not None:
            return qemu_bool(global_value)
        return default


def global_x2apic(globals_: list[str], cpu_type: str) -> str | None:
    """The last ``-global`` setting x2apic on the CPU type or its base class.

    ``-global DRIVER.PROP=VALUE`` and ``-global driver=..,property=..,value=..``
    both count; a base class (``x86_64-cpu``) reaches every model.
    """
    base = "x86_64-cpu" if cpu_type.endswith("-x86_64-cpu") else "i386-cpu"
    value: str | None = None
    for text in globals_:
        if text.startswith("driver="):
            fields = dict(p.partition("=")[::2] for p in text.split(","))
            driver, prop, val = fields.get("driver"), fields.get("property"), fields.get("value")
        else:
            head, _, val = text.partition("=")
            driver, _, prop = head.partition(".")
        if driver in (cpu_type, base) and prop == "x2apic" and val is not None:
            value = val
    return value


def check_line(max_apic_id: int, accel: str | None, irqchip: str | None,
               release: Release) -> None:
    """x86_cpus_init: the whole-line check, by apic_id_limit (every slot, empty ones too)."""
    if max_apic_id < 255 or accel == "xen":
        return
    if accel == "kvm":
        if irqchip == "off":
            raise QemuRefusal(IRQCHIP_MESSAGE)
        return
    if not release.has("x2apic-per-cpu-check") and accel in (None, "tcg"):
        raise QemuRefusal(IRQCHIP_MESSAGE)


class ApicRule:
    """The per-CPU x2APIC check, applied to each CPU as QEMU realizes it."""

    def __init__(self, table: CpuTable | None, release: Release, cpu_value: str | None,
                 model: str, cpu_type: str, accel: str | None, globals_: list[str]) -> None:
        self.release = release
        self.features = CpuFeatures(cpu_value)
        if accel == "kvm" and table is not None and table.kvm_default_x2apic:
            self.default: bool | None = True
        else:
            self.default = None if table is None else table.x2apic(model, release.version)
        self.global_value = global_x2apic(globals_, cpu_type)
        self.model = model
        self.untold = False

    def check(self, apic_id: int, device_value: str | None = None) -> None:
        """apic_common_set_id: refuse, or note that the answer can't be told."""
        if apic_id < 255 or not self.release.has("x2apic-per-cpu-check"):
            return
        has = self.features.effective(self.default, device_value, self.global_value)
        if has is None:
            self.untold = True
        elif not has:
            raise QemuRefusal(f"APIC ID {apic_id} requires x2APIC feature in CPU",
                              hint=X2APIC_HINT)

    def warning(self) -> str | None:
        if not self.untold:
            return None
        return (f"cmdxlate cannot tell whether CPU model '{self.model}' has x2apic: QEMU refuses "
                "APIC IDs of 255 and up without it (set x2apic=on in -cpu to be sure)")
