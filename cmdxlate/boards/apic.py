"""x86 APIC IDs of 255 and up: what each QEMU release does about them.

Four regimes follow each other (the behaviours in data/releases.json):

* up to 8.2 an APIC emulated in userspace (TCG, or KVM without the in-kernel
  irqchip) cannot have an ID of 255 or more: realizing such a CPU fails;
* 5.2 then refuses, once every device exists, a line whose APIC IDs reach 255
  without an IOMMU doing Extended Interrupt Mode; 6.0 to 7.0 refuse it there
  unless KVM runs the irqchip;
* from 7.1 the board refuses such a line before creating any CPU unless KVM
  runs the irqchip (under TCG too until 8.1, for KVM only from 8.2);
* from 9.0 each CPU whose APIC ID is 255 or more needs the x2apic feature,
  which KVM turns on by default and TCG takes from the CPU model (spec 1.4);
  9.0 to 10.2 report it through an abort.

Which models have x2apic is data: the x86 CPU table.
"""

from __future__ import annotations

from cmdxlate.catalog.cpus import CpuTable
from cmdxlate.catalog.releases import Release
from cmdxlate.error import QemuRefusal, Where
from cmdxlate.syntax.numbers import qemu_bool

X2APIC_HINT = "Try x2apic=on in -cpu."
IRQCHIP_MESSAGE = "current -smp configuration requires kernel irqchip and X2APIC API support."
IRQCHIP_MESSAGE_6_0 = "current -smp configuration requires kernel irqchip support."
EIM_MESSAGE = ("current -smp configuration requires Extended Interrupt Mode enabled. You can add "
               "an IOMMU using: -device intel-iommu,intremap=on,eim=on")


class QemuAbort(QemuRefusal):
    """QEMU prints ``message`` and then aborts (SIGABRT) instead of exiting.

    ``preamble`` is the line QEMU prints first ("Unexpected error in ..."),
    None where the source line of the release is not known.
    """

    signal = 6

    def __init__(self, text: str, *, preamble: str | None, hint: str | None = None,
                 where: Where | None = None) -> None:
        super().__init__(text, hint=hint, where=where)
        self.preamble = preamble

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out["signal"] = "SIGABRT"
        if self.preamble:
            out["preamble"] = self.preamble
        return out


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


class ApicRules:
    """The APIC ID rules of one release, applied to one line's CPUs as QEMU creates them."""

    def __init__(self, table: CpuTable | None, release: Release, cpu_value: str | None,
                 model: str, cpu_type: str, accel: str | None, irqchip: str | None,
                 globals_: list[str], iommu_eim: bool = False) -> None:
        self.release = release
        self.accel = accel or "tcg"
        self.irqchip = irqchip
        self.iommu_eim = iommu_eim
        self.features = CpuFeatures(cpu_value)
        if self.accel == "kvm" and table is not None and table.kvm_default_x2apic:
            self.default: bool | None = True
        else:
            self.default = None if table is None else table.x2apic(model, release.version)
        self.global_value = global_x2apic(globals_, cpu_type)
        self.model = model
        self.untold = False

    @property
    def kernel_irqchip(self) -> bool:
        return self.accel == "kvm" and self.irqchip != "off"

    def check_line(self, max_apic_id: int) -> None:
        """x86_cpus_init (7.1 on): the whole line, by its highest APIC ID, before any CPU."""
        if max_apic_id < 255 or self.accel == "xen" or not self.release.has("x86-x2apic-7.1"):
            return
        if self.accel == "kvm":
            if self.irqchip == "off":
                raise QemuRefusal(IRQCHIP_MESSAGE)
        elif self.release.has("x86-x2apic-tcg-line-check"):
            raise QemuRefusal(IRQCHIP_MESSAGE)

    def check_cpu(self, apic_id: int, device_value: str | None = None) -> None:
        """As one CPU is realized: the userspace APIC's limit, or the x2apic feature."""
        if apic_id < 255 or self.accel == "xen":
            return
        release = self.release
        if release.has("x86-x2apic-userspace-limit") and not self.kernel_irqchip:
            raise QemuRefusal(f"apic initialization failed. APIC ID {apic_id} is invalid")
        if not release.has("x86-x2apic-per-cpu"):
            return
        has = self.features.effective(self.default, device_value, self.global_value)
        if has is None:
            self.untold = True
            return
        if has:
            return
        text = f"APIC ID {apic_id} requires x2APIC feature in CPU"
        hint = X2APIC_HINT if release.has("x86-x2apic-hint") else None
        if release.has("x86-x2apic-aborts"):
            at = release.fact("x2apic_abort_at")
            raise QemuAbort(text, hint=hint, preamble=(
                f"Unexpected error in apic_common_set_id() at {at}:" if at else None))
        raise QemuRefusal(text, hint=hint)

    def machine_done(self, max_apic_id: int) -> None:
        """pc_machine_done (5.2 to 7.0): the line's APIC IDs, once every device exists."""
        if max_apic_id < 255 or self.accel == "xen":
            return
        if self.release.has("x86-x2apic-5.2") and not self.iommu_eim:
            raise QemuRefusal(EIM_MESSAGE)
        if self.release.has("x86-x2apic-6.0") and not self.kernel_irqchip:
            raise QemuRefusal(IRQCHIP_MESSAGE_6_0)

    def warning(self) -> str | None:
        if not self.untold:
            return None
        return (f"cmdxlate cannot tell whether CPU model '{self.model}' has x2apic: QEMU refuses "
                "APIC IDs of 255 and up without it (set x2apic=on in -cpu to be sure)")
