"""x86 APIC IDs of 255 and up: the x2APIC rules QEMU applies at board init.

QEMU before 9.0 refuses the whole line unless KVM runs the interrupt
controller in the kernel; from 9.0 each CPU whose APIC ID is 255 or more
must have the x2apic feature, which KVM turns on by default and TCG takes
from the CPU model (spec 1.4). The model table is data: ``cpus/x86.json``.
"""

from __future__ import annotations

from cmdxlate.catalog.cpus import has_x2apic, table
from cmdxlate.errors import CmdxlateError
from cmdxlate.syntax.numbers import qemu_bool

X2APIC_HINT = "Try x2apic=on in -cpu."
IRQCHIP_MESSAGE = "current -smp configuration requires kernel irqchip and X2APIC API support."


def _since(target: tuple[int, int]) -> bool:
    major, minor = (int(x) for x in table("x86")["per_cpu_check_since_qemu"].split("."))
    return target >= (major, minor)


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
               target: tuple[int, int]) -> None:
    """x86_cpus_init: the whole-line check, by apic_id_limit (every slot, empty ones too)."""
    if max_apic_id < 255 or accel == "xen":
        return
    if accel == "kvm":
        if irqchip == "off":
            raise CmdxlateError(IRQCHIP_MESSAGE, qemu=True)
        return
    if not _since(target) and accel in (None, "tcg"):
        raise CmdxlateError(IRQCHIP_MESSAGE, qemu=True)


def cpu_default(model: str, accel: str | None, target: tuple[int, int]) -> bool | None:
    """The x2apic a CPU of ``model`` starts with before any -cpu/-device setting."""
    if accel == "kvm" and table("x86").get("kvm_default_x2apic"):
        return True
    return has_x2apic("x86", model, target)


def check_cpu(apic_id: int, has_x2apic: bool | None, target: tuple[int, int]) -> bool:
    """apic_common_set_id: False when the answer can't be told (model not in the table)."""
    if apic_id < 255 or not _since(target):
        return True
    if has_x2apic is None:
        return False
    if not has_x2apic:
        raise CmdxlateError(f"APIC ID {apic_id} requires x2APIC feature in CPU", qemu=True,
                            hint=X2APIC_HINT)
    return True
