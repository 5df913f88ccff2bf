"""The machine options QEMU applies together: properties, -smp among or before them,
and the accelerator those options and ``-accel`` select."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdxlate.error import QemuRefusal, pointing_at
from cmdxlate.resolve.qdict_order import first_unexpected, qdict_iteration_order
from cmdxlate.resolve.smp import SmpConfig, SmpSupport, resolve_smp
from cmdxlate.syntax.numbers import c_int, c_uint64

if TYPE_CHECKING:
    from cmdxlate.boards.base import Board
    from cmdxlate.catalog import MachineType, Release
    from cmdxlate.model import Setting, VmSpec

_INT64 = 1 << 63


def _smp_int(key: str, text: str) -> int:
    try:
        v = c_int(text)
    except ValueError:
        raise QemuRefusal(f"Parameter 'smp.{key}' expects integer") from None
    if v >= _INT64 or v < -_INT64:
        raise QemuRefusal(f"Parameter 'smp.{key}' expects integer")
    return v


def smp_given(settings: list[Setting], members: tuple[str, ...],
              release: Release | None = None) -> dict[str, int]:
    """Merge every -smp and -machine smp.* key (later values win) into what QEMU's parser
    gets. From 6.1 (keyval) QEMU's visitor checks them here: members in QAPI order, then the
    first unexpected key in QEMU's hash-table order. Before, QemuOpts checked each key and
    number while reading argv (model.build_spec), so only the numbers are left to read."""
    merged: dict[str, Setting] = {}
    for s in settings:
        merged[s.key] = s
    given: dict[str, int] = {}
    if release is not None and not release.has("smp-keyval-parse"):
        return {k: c_uint64(s.text) for k, s in merged.items()}
    for key in members:
        if key in merged:
            with pointing_at(merged[key].where):
                given[key] = _smp_int(key, merged[key].text)
    unknown = [k for k in merged if k not in members]
    if unknown:
        key = first_unexpected(list(merged), list(members)) or unknown[0]
        raise QemuRefusal(f"Parameter 'smp.{key}' is unexpected", where=merged[key].where)
    return given


def _smp(spec: VmSpec, machine: MachineType) -> tuple[SmpConfig, dict[str, int]]:
    """The ``smp`` machine property (6.1+), or the -smp group QEMU 5.2/6.0 parse."""
    if spec.smp_scalar is not None:
        raise QemuRefusal("Invalid parameter type for 'smp', expected: object",
                          where=spec.smp_scalar.where)
    release = machine.release
    given = smp_given(spec.smp, tuple(release.fact("smp_keys")), release)
    support = SmpSupport(machine.name, machine.levels, machine.prefer_sockets,
                         machine.min_cpus, machine.max_cpus, release)
    with pointing_at(spec.smp[-1].where if spec.smp else None):
        return resolve_smp(given, support), given


def _check_property(spec: VmSpec, board: Board, setting: Setting) -> None:
    """One -machine property cmdxlate knows the fate of; before 6.1 ``smp`` and ``smp.*``
    are not properties of any machine."""
    key = setting.key
    absent_smp = key == "smp" or key.startswith("smp.")
    if absent_smp and spec.release is not None and spec.release.has(
            "machine-smp-property-absent"):
        raise QemuRefusal(f"Property '{board.machine.name}-machine.{key}' not found",
                          where=setting.where)
    if key in board.checked_properties:
        with pointing_at(setting.where):
            board.check_property(key, setting.text)


def apply_machine_options(spec: VmSpec, machine: MachineType, board: Board
                          ) -> tuple[SmpConfig, dict[str, int]]:
    """How QEMU applies -machine properties and -smp: from 6.1 all are one keyval dict,
    set in its iteration order (qemu_apply_machine_options); before, -smp was parsed
    first and the QemuOpts properties were set afterwards, in option order."""
    release = machine.release
    if not release.has("processing-order-6.1"):
        smp, given = _smp(spec, machine)
        for s in spec.machine_settings:
            if s.key not in ("type", "accel"):
                _check_property(spec, board, s)
        return smp, given
    checked = [k for k in spec.machine_props if k in board.checked_properties]
    order = qdict_iteration_order(checked + ["smp"]) if checked else ["smp"]
    result: tuple[SmpConfig, dict[str, int]] | None = None
    for key in order:
        if key == "smp":
            result = _smp(spec, machine)
        else:
            _check_property(spec, board, spec.machine_props[key])
    assert result is not None
    return result


def accelerator(spec: VmSpec, program: str | None) -> str | None:
    """configure_accelerators: ``-accel`` or ``-machine accel=`` (never both), else the
    default (KVM first when the program's name ends in "kvm"); None means TCG's default."""
    machine_accel = spec.machine_props.get("accel")
    legacy = machine_accel.text if machine_accel is not None else None
    kvm = spec.enable_kvm
    if kvm is not None and (machine_accel is None or
                            (machine_accel.where.index or 0) < kvm.index):
        legacy = "kvm"  # -enable-kvm is -machine accel=kvm, and the later one wins
    if spec.accel_options:
        if legacy is not None:
            raise QemuRefusal('The -accel and "-machine accel=" options are incompatible',
                              where=spec.accel_options[0].where)
        o = spec.accel_options[0].opts
        assert o is not None
        return o.get("accel")
    if legacy is not None:
        return legacy.split(":")[0]
    if program is not None and program.endswith("kvm"):
        return "kvm"
    return None
