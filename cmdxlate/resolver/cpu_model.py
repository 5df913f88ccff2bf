"""``-cpu``: whether the release knows the model, and whether the accelerator can run it.

QEMU resolves the model name (parse_cpu_option) before it reads -numa; models
that only an accelerator provides (x86 ``host``) fail when the first CPU is
realized; s390x models TCG cannot fully give fail with the missing features.
x86 ``-cpu MODEL,PROP=V`` and ``-global`` become global properties, applied when
the first CPU is created; ``+PROP``/``-PROP`` are set when it is realized.
"""

from __future__ import annotations

from cmdxlate.catalog.cpus import CpuTable
from cmdxlate.catalog.properties import x86_cpu_property_names
from cmdxlate.catalog.releases import Release
from cmdxlate.error import QemuRefusal

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.boards import MachineType


def check_empty(cpu_value: str | None) -> None:
    """``-cpu ""`` names no model at all (every release 5.2-11.1 says so)."""
    if cpu_value == "":
        raise QemuRefusal("-cpu option cannot be empty")


_X86_SUFFIXES = {"-x86_64-cpu": "x86_64-cpu", "-i386-cpu": "i386-cpu"}


def _x86_features(cpu_value: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, value) globals and the ``+``/``-`` names of an x86 -cpu string, as
    x86_cpu_parse_featurestr splits it ('_' becomes '-' in global names)."""
    globals_: list[tuple[str, str]] = []
    signed: list[str] = []
    for item in [f for f in cpu_value.split(",")[1:] if f]:
        if item[0] in "+-":
            signed.append(item)
            continue
        name, eq, value = item.partition("=")
        name = name.replace("_", "-")
        globals_.append(("tsc-frequency" if name == "tsc-freq" else name,
                         value if eq else "on"))
    return globals_, signed


def check_cpu_globals(machine: MachineType, model: str, cpu_value: str | None,
                      user_globals: list[str]) -> None:
    """Global properties for the x86 CPU type, when the first CPU is created: -global
    options that name it (or a parent type) first, then the -cpu features."""
    suffix = machine.cpu_type_suffix
    if suffix not in _X86_SUFFIXES:
        return
    names = x86_cpu_property_names(machine.release.version, machine.resolve_cpu_model(model))
    if names is None:
        return
    typename = machine.cpu_type(model)
    drivers = {typename, _X86_SUFFIXES[suffix], "cpu", "device"}
    pending: list[tuple[str, str, str]] = []
    for text in user_globals:
        driver, dot, rest = text.partition(".")
        prop, eq, value = rest.partition("=")
        if dot and eq and driver in drivers and "=" not in driver:
            pending.append((driver, prop, value))
    if cpu_value:
        pending += [(typename, n, v) for n, v in _x86_features(cpu_value)[0]]
    for driver, prop, value in pending:
        if names.lacks(prop):
            raise QemuRefusal(f"can't apply global {driver}.{prop}={value}: "
                              f"Property '{typename}.{prop}' not found")


def check_cpu_signed_features(machine: MachineType, model: str, cpu_value: str | None) -> None:
    """x86 ``+feature``/``-feature``, set as the CPU is realized (names as written)."""
    if machine.cpu_type_suffix not in _X86_SUFFIXES or not cpu_value:
        return
    names = x86_cpu_property_names(machine.release.version, machine.resolve_cpu_model(model))
    if names is None:
        return
    signed = _x86_features(cpu_value)[1]
    for item in [f for f in signed if f[0] == "+"] + [f for f in signed if f[0] == "-"]:
        if names.lacks(item[1:]):
            raise QemuRefusal(f"Property '{machine.cpu_type(model)}.{item[1:]}' not found")


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


def _valid_cpus() -> dict[str, dict[str, object]]:
    from cmdxlate.catalog.properties import _read

    boards: dict[str, dict[str, object]] = _read("valid_cpus.json")["boards"]
    return boards


def check_valid_for_board(machine: MachineType, model: str, table: CpuTable | None,
                          accel: str | None) -> None:
    """A board that takes only some CPU models (arm virt), checked at board init."""
    board = _valid_cpus().get(machine.family.name)
    if board is None or board["arch"] != machine.arch or table is None:
        return
    names = table.names(machine.release.version)
    if names is None:
        return
    accel_only: dict[str, list[str]] = board["accel_only"]  # type: ignore[assignment]
    order: list[str] = board["order"]  # type: ignore[assignment]
    valid = [m for m in order if (m in names or m in accel_only)
             and (accel or "tcg") in accel_only.get(m, [accel or "tcg"])]
    if model in valid:
        return
    if not machine.release.has("cpu-model-not-valid-for-machine"):
        raise QemuRefusal(f"mach-virt: CPU type {machine.cpu_type(model)} not supported")
    hint = (f"The only valid type is: {valid[0]}" if len(valid) == 1 else
            "The valid models are: " + ", ".join(valid))
    raise QemuRefusal(f"Invalid CPU model: {model}", hint=hint)
