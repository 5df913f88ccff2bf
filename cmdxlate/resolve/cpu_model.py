"""``-cpu``: whether the release knows the model, and whether the accelerator can run it.

QEMU resolves the model name (parse_cpu_option) before it reads -numa; models
that only an accelerator provides (x86 ``host``) fail when the first CPU is
realized; s390x models TCG cannot fully give fail with the missing features.
"""

from __future__ import annotations

from cmdxlate.catalog.cpus import CpuTable
from cmdxlate.catalog.releases import Release
from cmdxlate.error import QemuRefusal


def check_model(table: CpuTable, model: str, release: Release, accel: str | None) -> None:
    """parse_cpu_option: an unknown -cpu model stops QEMU before NUMA is read.

    Some models exist only under an accelerator (ppc64/s390x 'host' with KVM).
    """
    names = table.names(release.version)
    if names is None or model in names:
        return
    if table.case_insensitive and model.lower() in {n.lower() for n in names}:
        return
    if (accel or "tcg") in table.accel_registered.get(model, ()):
        return
    raise QemuRefusal(f"unable to find CPU model '{model}'")


def check_accel(table: CpuTable, model: str, accel: str | None) -> None:
    """Models only an accelerator can provide (x86 'host'), checked as CPUs are realized."""
    need = table.accel_only.get(model)
    if need and (accel or "tcg") not in need:
        names = " or ".join(a.upper() for a in need)
        raise QemuRefusal(f"CPU model '{model}' requires {names}")


def check_runnable(table: CpuTable, cpu_value: str, accel: str | None,
                   release: Release) -> None:
    """TCG cannot give some models every feature (s390x): QEMU names the missing ones.

    Features switched off on -cpu leave the list; a line that switches any
    feature on is not judged (whether TCG has it is not in the data).
    """
    if (accel or "tcg") != "tcg":
        return
    missing_by_model = table.tcg_unavailable.get(release.version)
    if not missing_by_model:
        return
    model, *items = cpu_value.split(",")
    missing = missing_by_model.get(model)
    if not missing:
        return
    msg = table.messages
    if "type" in missing:
        raise QemuRefusal(msg["too_new_message"], hint=msg["too_new_hint"])
    off: set[str] = set()
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or value not in ("off", "false", "no"):
            return
        off.add(name)
    left = [f for f in missing if f not in off]
    if left:
        raise QemuRefusal(msg["unavailable_message"] + "".join(f + " " for f in left) + " ",
                          hint=msg["unavailable_hint"])
