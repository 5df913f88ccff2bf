"""The machine options QEMU applies together: properties, -smp among or before them,
and the accelerator those options and ``-accel`` select."""

from __future__ import annotations

from cmdxlate.catalog.version import Version
from cmdxlate.error import QemuRefusal, pointing_at
from cmdxlate.model.spec import Setting
from cmdxlate.resolver.qdict_order import first_unexpected, qdict_iteration_order
from cmdxlate.resolver.smp import SmpConfig, SmpSupport, resolve_smp
from cmdxlate.syntax.numbers import c_int, c_uint64

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from collections.abc import Callable

    from cmdxlate.boards.base import Board
    from cmdxlate.catalog import MachineType, Release
    from cmdxlate.model import VmSpec

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


# -machine keys that are no machine property: QEMU takes them aside before it sets the rest
# (qemu_apply_legacy_machine_options; 5.2's machine_set_property). From 6.1 the
# keyval dict also holds memory-backend there; 5.2 and 6.0 set it as a property.
_LEGACY_KEYS = frozenset({"type", "accel", "igd-passthru", "kvm-shadow-mem", "kernel-irqchip"})
_LEGACY_KEYS_KEYVAL = _LEGACY_KEYS | {"memory-backend"}


def machine_properties(spec: VmSpec, release: Release) -> list[Setting]:
    """The -machine settings QEMU sets as properties of the machine, one per property, in
    insertion order. From 6.1 (one keyval dict) ``a.b=v`` is part of property ``a``
    (kept dotted here), and '_' in a top-level key becomes '-', the renamed keys
    re-inserted last; before, QemuOpts set keys as written (``dump_guest_core`` is not
    found on 5.2)."""
    settings = list(spec.machine_props.values())
    if not release.has("machine-keyval-parse"):
        return [s for s in settings if s.key.replace("_", "-") not in _LEGACY_KEYS]
    first: dict[str, Setting] = {}
    for s in settings:
        first.setdefault(s.key.split(".", 1)[0], s)
    keys = list(first)
    renamed = [k for k in qdict_iteration_order(keys) if "_" in k]
    for old in renamed:
        if old.replace("_", "-") in keys:
            raise QemuRefusal(f"Conflict between '{old}' and '{old.replace('_', '-')}'")

    def top(k: str) -> Setting:
        s, new = first[k], k.replace("_", "-")
        return Setting(new + s.key[len(k):], s.text, s.where)

    out = [top(k) for k in keys if "_" not in k] + [top(k) for k in renamed]
    return [s for s in out if s.key.split(".", 1)[0] not in _LEGACY_KEYS_KEYVAL]


def check_memory_sizes(spec: VmSpec, release: Release, ram: int) -> None:
    """``-m`` maxmem and slots against the initial size (``ram``, the machine's default
    when -m gives none): set_memory_options at the -m option in 5.2 and 6.0, the
    machine's ``memory`` property (machine_set_mem, no location) from 6.1."""
    mem = spec.memory
    if "maxmem" not in mem and "slots" not in mem:
        return
    from cmdxlate.resolver.numa import parse_size
    from cmdxlate.syntax.sizes import size_syntax

    legacy = not release.has("machine-keyval-parse")
    where = spec.memory_where if legacy else None  # the first -m, where QemuOpts merged
    size = -(-ram // 8192) * 8192  # QEMU_ALIGN_UP(size, 8192)
    if "maxmem" not in mem:
        raise QemuRefusal("invalid -m option value: missing 'maxmem' option" if legacy
                          else "slots specified but no max-size", where=where, located=legacy)
    prefix = "invalid value of -m option maxmem: " if legacy else "invalid value of maxmem: "
    maxmem = parse_size(mem["maxmem"].text, "maxmem", 1, size_syntax(release))  # bytes
    slots = c_uint64(mem["slots"].text) if "slots" in mem else 0  # checked at the option
    if maxmem < size:
        raise QemuRefusal(f"{prefix}maximum memory size (0x{maxmem:x}) must be at least the "
                          f"initial memory size (0x{size:x})", where=where, located=legacy)
    if slots and maxmem == size:
        raise QemuRefusal(f"{prefix}memory slots were specified but maximum memory size "
                          f"(0x{maxmem:x}) is equal to the initial memory size (0x{size:x})",
                          where=where, located=legacy)


def apply_machine_options(spec: VmSpec, machine: MachineType, board: Board, ram: int,
                          make_objects: Callable[[], None] | None = None
                          ) -> tuple[SmpConfig, dict[str, int]]:
    """qemu_apply_machine_options: every machine property and ``smp``. From 6.1 they are
    one keyval dict, set in its iteration order (``memory``, from -m, among them);
    before, -m and -smp were read first, then the objects made (``make_objects``), and
    the properties set afterwards."""
    release = machine.release
    props = machine_properties(spec, release)
    if not release.has("machine-keyval-parse"):
        # -m and -smp first; then the QemuOpts properties, "smp" among them as a name.
        check_memory_sizes(spec, release, ram)
        result = _smp(spec, machine)
        if make_objects is not None:
            make_objects()
        for prop in props:
            with pointing_at(prop.where):
                if (prop.key == "smp" or prop.key.startswith("smp.")) and release.has(
                        "machine-smp-property-absent"):
                    # Before 6.1 no machine has an smp property, measured or not.
                    raise QemuRefusal(f"Property '{machine.name}-machine.{prop.key}' not found")
                board.check_property(prop.key, prop.text)
        return result
    by_key = {s.key.split(".", 1)[0]: s for s in props}
    smp: tuple[SmpConfig, dict[str, int]] | None = None
    # parse_memory_options adds "memory" after the option loop, always: the newest key.
    for key in qdict_iteration_order([*by_key, "smp", "memory"]):
        if key == "smp":  # -smp and -machine smp.* left the dict's other keys
            smp = _smp(spec, machine)
            continue
        if key == "memory":
            check_memory_sizes(spec, release, ram)
            continue
        prop = by_key[key]
        with pointing_at(prop.where):
            board.check_property(key, prop.text, nested=prop.key != key)
    assert smp is not None
    return smp


def accelerator(spec: VmSpec, program: str | None, release: Release | None = None,
                warnings: list[str] | None = None) -> str | None:
    """configure_accelerators: ``-accel`` or ``-machine accel=`` (never both), else the
    default (KVM first when the program's name ends in "kvm"); None means TCG's default.

    An accelerator a Linux build of the release lacks is "invalid": QEMU says so and
    tries the next one (``falling back to tcg``), or stops when none is left. cmdxlate
    takes every other accelerator as one that starts (KVM needs the host's).
    """
    machine_accel = spec.machine_props.get("accel")
    legacy = machine_accel.text if machine_accel is not None else None
    kvm = spec.enable_kvm
    if kvm is not None and (machine_accel is None or
                            (machine_accel.where.index or 0) < kvm.index):
        legacy = "kvm"  # -enable-kvm is -machine accel=kvm, and the later one wins
    known = frozenset(release.fact("accelerators")) if release is not None else None
    errors: list[QemuRefusal] = []
    chosen: str | None = None
    if spec.accel_options:
        if legacy is not None:
            raise QemuRefusal('The -accel and "-machine accel=" options are incompatible',
                              where=spec.accel_options[0].where)
        for opt in spec.accel_options:
            o = opt.opts
            assert o is not None
            name = o.get("accel")
            assert name is not None  # without one, -accel prints the list (model.spec)
            if known is None or name in known:
                chosen = name
                break
            errors.append(QemuRefusal(f"invalid accelerator {name}", where=opt.where,
                                      located=True))
    elif legacy is not None:
        for name in legacy.split(":"):
            if known is None or name in known:
                chosen = chosen or name
            else:
                errors.append(QemuRefusal(f"invalid accelerator {name}",
                                          where=machine_accel.where if machine_accel else None))
    elif program is not None and program.endswith("kvm"):
        return "kvm"
    else:
        return None
    if chosen is None:
        first, *rest = errors
        first.more = tuple(e.message for e in rest)
        raise first
    if errors and warnings is not None:
        # QEMU prints these as errors, and goes on with the accelerator that started
        # (kept, as every warning, without the option's location).
        warnings += [e.text for e in errors] + [f"falling back to {chosen}"]
    return chosen


def deprecation_warning(machine: MachineType) -> str | None:
    """QEMU's warning for a deprecated machine type: from 9.1 every versioned type more
    than 3 years (major releases) old, before that a few old versions by name."""
    rule = machine.release.fact("machine_deprecations")
    v, fam = machine.version, machine.family.name
    if v is None:
        return None
    reason: str | None = None
    if "age_years" in rule:
        r = machine.release.version
        years = r.major - v.major
        if fam in rule["families"] and (years > rule["age_years"] or
                                         (years == rule["age_years"] and r.minor >= v.minor)):
            reason = rule["reason"]
    for entry in rule.get("versions", ()):
        since, until = Version.parse(entry["since"]), Version.parse(entry["until"])
        if entry["family"] == fam and since <= v.release <= until:
            reason = entry["reason"]
    return None if reason is None else f"Machine type '{machine.name}' is deprecated: {reason}"
