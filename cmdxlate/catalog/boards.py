"""Machine-type families as data, and the concrete machine type a line asks for.

A ``BoardFamily`` is one data file (``data/boards/pc_q35.json``): which
architectures it serves, its machine versions and the releases that have each,
and its facts, gated by release, machine version, architecture or accelerator.
A ``MachineType`` is one machine (``pc-q35-6.1``) in one release, with every
fact settled; the board class named by the family (``boards/``) gives it
behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

from cmdxlate.catalog.cpus import CpuTable
from cmdxlate.catalog.facts import Case, Fact, load_fact
from cmdxlate.catalog.releases import Release
from cmdxlate.catalog.version import ALWAYS, Span, Version
from cmdxlate.records import dataclass, field

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# A cpu_aliases target meaning "the machine's default CPU model".
DEFAULT_CPU_ALIAS = "@default"
# No QEMU machine allows more; a database claiming more is not believed.
ABSOLUTE_MAX_CPUS = 16384
# query-machines' cpu-max of a machine that sets no limit of its own (pseries 6.1-8.2).
NO_CPU_LIMIT = 2**31 - 1
LEVELS = ("drawers", "books", "sockets", "dies", "clusters", "modules", "cores", "threads")
BOARDS = ("x86", "spapr", "s390x", "arm-virt", "riscv-virt", "loongarch-virt", "no-cpu-hotplug")


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true/false, got {v!r}")
    return v


def _int(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= ABSOLUTE_MAX_CPUS:
        raise ValueError(f"expected a count from 1 to {ABSOLUTE_MAX_CPUS}, got {v!r}")
    return v


def _max_cpus(v: Any) -> int:
    """A CPU limit; INT32_MAX is QEMU's "the machine sets none" (pseries 6.1-8.2)."""
    return v if v == NO_CPU_LIMIT and not isinstance(v, bool) else _int(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else _int(v)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def _levels(v: Any) -> frozenset[str]:
    out = frozenset(_str_list(v))
    if out - set(LEVELS):
        raise ValueError(f"unknown -smp levels {sorted(out - set(LEVELS))}")
    return out


@dataclass(frozen=True, slots=True)
class SlotProp:
    """An id query-hotpluggable-cpus reports; some only when their level is above 1."""

    name: str
    only_if_above_1: str | None = None


def _slot_props(v: Any) -> tuple[SlotProp, ...]:
    if not isinstance(v, list):
        raise ValueError("slot_props: expected a list")
    out = []
    for p in v:
        level = p.get("only_if_above_1")
        if not isinstance(p.get("name"), str) or (level is not None and level not in LEVELS):
            raise ValueError(f"slot_props: bad entry {p!r}")
        out.append(SlotProp(p["name"], level))
    return tuple(out)


def _str_dict(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise ValueError(f"expected a mapping of strings, got {v!r}")
    return dict(v)


def _enum_props(v: Any) -> dict[str, tuple[tuple[str, ...], str]]:
    if not isinstance(v, dict):
        raise ValueError("enum_props: expected a mapping")
    return {k: (_str_list(e["values"]), _str(e["message"])) for k, e in v.items()}


# Every fact a family file must give, and how its values are checked.
FACT_TYPES: dict[str, Callable[[Any], Any]] = {
    "max_cpus": _max_cpus, "min_cpus": _int, "smp_levels": _levels, "prefer_sockets": _bool,
    "slot_props": _slot_props, "hotpluggable_cpus": _bool, "device_cpus": _bool,
    "cpu_type_suffix": _str, "default_cpu": _str, "cpu_table": _opt_str, "numa": _bool,
    "numa_mem": _bool, "auto_enable_numa": _bool, "auto_numa_with_memory_slots": _bool,
    "auto_numa_with_maxmem": _bool, "default_node": _opt_str, "default_ram_mib": _int,
    "numa_mem_align_mib": _opt_int, "max_threads_tcg": _opt_int, "max_threads": _opt_int,
    "bool_props": _str_list, "enum_props": _enum_props, "absent_props": _str_list,
    "x2apic_rules": _bool, "max_numa_nodes": _opt_int, "numa_nodes_are_sockets": _bool,
    "cpu_aliases": _str_dict, "cpu_names_case_insensitive": _bool,
}


@dataclass(frozen=True, slots=True)
class NamedMachine:
    """A machine of the ``no-cpu-hotplug`` family, known by name and CPU limits.

    One entry holds for its ``releases``; a machine whose limits or alias target
    changed between releases has one entry per span. ``min_cpus`` above 1 makes
    ``-smp`` below it an error; ``default_cpus`` is what the board starts without
    ``-smp`` (None: not measured, QEMU's default of 1 unless the board sets it).
    """

    arch: str
    name: str
    max_cpus: int
    default_cpu_type: str
    alias_of: str | None
    releases: Span
    min_cpus: int = 1
    default_cpus: int | None = None
    evidence: tuple[str, ...] = ()
    ram_limit: RamLimit | None = None


@dataclass(frozen=True)
class RamLimit:
    """A board's own RAM bound, checked when its init function allocates RAM:
    ``-m`` above ``max_mib`` or below ``min_mib`` is refused with ``message``
    (``{mib}``: the RAM in MiB), in the releases of ``releases``."""

    message: str
    releases: Span
    max_mib: int | None = None
    min_mib: int | None = None

    def refuses(self, ram: int) -> bool:
        return ((self.max_mib is not None and ram > self.max_mib << 20)
                or (self.min_mib is not None and ram < self.min_mib << 20))


def _ram_limit(v: Any, where: str) -> RamLimit | None:
    if v is None:
        return None
    if not isinstance(v, dict) or not ({"max_mib", "min_mib"} & set(v)):
        raise ValueError(f"{where}: ram_limit needs max_mib or min_mib and a message")
    return RamLimit(_str(v["message"]), Span.load(v.get("releases"), where),
                    _opt_int(v.get("max_mib")), _opt_int(v.get("min_mib")))


def _named_machine(m: Any, where: str) -> NamedMachine:
    min_cpus = _int(m.get("min_cpus", 1))
    default_cpus = _opt_int(m.get("default_cpus"))
    max_cpus = _max_cpus(m["max_cpus"])
    if min_cpus > max_cpus:
        raise ValueError(f"machine {m.get('name')!r}: min_cpus {min_cpus} > max_cpus {max_cpus}")
    alias = m.get("alias_of")
    ev = m.get("evidence", ())
    return NamedMachine(_str(m["arch"]), _str(m["name"]), max_cpus,
                        str(m.get("default_cpu_type") or ""),
                        None if alias is None else _str(alias),
                        Span.load(m.get("releases"), where), min_cpus, default_cpus,
                        _str_list(ev) if ev else (), _ram_limit(m.get("ram_limit"), where))


@dataclass(frozen=True)
class BoardFamily:
    """One family file; the naming facts (aliases, default arches, unversioned name)
    are gated by release like the board facts (LoongArch ``virt`` becomes an alias of
    ``virt-11.1`` in 11.1)."""

    name: str
    description: str
    board: str
    arches: tuple[str, ...]
    name_prefix: str | None
    unversioned: Fact[str | None]
    alias_names: Fact[tuple[str, ...]]
    default_arches: Fact[tuple[str, ...]]
    machine_versions: tuple[tuple[Version, Span], ...]
    facts: dict[str, Fact[Any]]
    machines: tuple[NamedMachine, ...] = ()
    evidence: tuple[str, ...] = ()
    releases: Span = ALWAYS  # the releases that have the family at all
    version_names: dict[Version, str] = field(default_factory=dict)  # pc-1.0 style names

    def present_in(self, release: Version) -> bool:
        return release in self.releases

    def unversioned_in(self, release: Version) -> str | None:
        return self.unversioned.pick(Case(release)) if self.present_in(release) else None

    def aliases_in(self, release: Version) -> tuple[str, ...]:
        return self.alias_names.pick(Case(release)) if self.present_in(release) else ()

    def default_for(self, release: Version) -> tuple[str, ...]:
        return self.default_arches.pick(Case(release)) if self.present_in(release) else ()

    @property
    def any_names(self) -> frozenset[str]:
        """Every alias or unversioned name of any release (to guess an architecture)."""
        out = {c.value for c in self.unversioned.candidates if c.value}
        for c in self.alias_names.candidates:
            out.update(c.value)
        return frozenset(out)

    def version_name(self, v: Version) -> str:
        return self.version_names.get(v) or f"{self.name_prefix or ''}{v}"

    def version_named(self, name: str, release: Version) -> Version | None:
        """The machine version ``name`` selects in ``release`` (``pc-q35-6.1``, ``pc-1.0``)."""
        for v in self.versions_in(release):
            if self.version_name(v) == name:
                return v
        return None

    def versions_in(self, release: Version) -> list[Version]:
        """The machine versions ``release`` has, oldest first."""
        if not self.present_in(release):
            return []
        return [v for v, span in self.machine_versions if release in span]

    def names_in(self, release: Version, arch: str) -> list[str]:
        """Every machine name of this family ``release`` knows for ``arch``."""
        out = [self.version_name(v) for v in self.versions_in(release)]
        if out:
            out += list(self.aliases_in(release))
        unversioned = self.unversioned_in(release)
        if unversioned:
            out.append(unversioned)
        out += [m.name for m in self.machines if m.arch == arch and release in m.releases]
        return out


def load_family(data: Any, where: str, arch: str | None = None) -> BoardFamily:
    """A family from its JSON form, checked; ValueError names what is wrong.

    ``arch``: keep only that architecture's named machines (a command needs one).
    """
    try:
        if data["board"] not in BOARDS:
            raise ValueError(f"unknown board {data['board']!r}")
        versions = []
        names: dict[Version, str] = {}
        for e in data.get("machine_versions", ()):
            v = Version.parse(e["version"])
            span = Span.load(e.get("releases"), where)
            if span.since is None:
                span = Span(v.release, span.until)
            versions.append((v, span))
            if e.get("name"):
                names[v] = _str(e["name"])
        raw = data["facts"]
        missing = set(FACT_TYPES) - set(raw)
        if missing:
            raise ValueError(f"facts missing: {sorted(missing)}")
        unknown = set(raw) - set(FACT_TYPES)
        if unknown:
            raise ValueError(f"unknown facts: {sorted(unknown)}")
        facts = {name: load_fact(name, raw[name], check, where)
                 for name, check in FACT_TYPES.items()}
        machines = tuple(_named_machine(m, where) for m in data.get("machines", ())
                         if arch is None or m.get("arch") == arch)
        return BoardFamily(
            _str(data["family"]), str(data.get("description", "")), data["board"],
            _str_list(data["arches"]), _opt_str(data.get("name_prefix")),
            load_fact("unversioned_name", data.get("unversioned_name"), _opt_str, where),
            load_fact("aliases", data.get("aliases", []), _str_list, where),
            load_fact("default_for_arches", data.get("default_for_arches", []), _str_list,
                      where),
            tuple(versions), facts, machines, tuple(data.get("evidence", ())),
            Span.load(data.get("releases"), where), names)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{where}: malformed ({type(e).__name__}: {e})") from None
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


@dataclass(frozen=True)
class MachineType:
    """One machine type of one release, every fact settled (accel-dependent ones aside)."""

    name: str
    family: BoardFamily
    version: Version | None
    arch: str
    release: Release
    max_cpus: int
    min_cpus: int
    levels: frozenset[str]
    prefer_sockets: bool
    slot_props: tuple[SlotProp, ...]
    hotpluggable_cpus: bool
    device_cpus: bool
    cpu_type_suffix: str
    cpu_table: str | None
    numa: bool
    numa_mem: bool
    default_node: str | None
    default_ram_bytes: int
    facts: dict[str, Any] = field(repr=False, compare=False, hash=False)
    cpus: CpuTable | None = field(default=None, repr=False, compare=False, hash=False)
    # CPUs the board starts without -smp, when it is not 1 (named machines only).
    default_cpus: int | None = None

    @property
    def board(self) -> str:
        return self.family.board

    @property
    def target(self) -> Version:
        return self.release.version

    def fact(self, name: str, accel: str | None = None) -> Any:
        """A fact by name; accelerator-dependent facts need ``accel``."""
        if accel is None and name in self.facts:
            return self.facts[name]
        case = Case(self.release.version, self.version, self.arch, accel)
        return self.family.facts[name].pick(case)

    def evidence(self, name: str) -> tuple[str, ...]:
        case = Case(self.release.version, self.version, self.arch)
        return self.family.facts[name].evidence(case) or self.family.evidence

    def default_cpu_model(self, accel: str | None = None) -> str:
        return str(self.fact("default_cpu", accel or "tcg"))

    def resolve_cpu_model(self, model: str) -> str:
        """The model name QEMU resolves a -cpu name to (ppc aliases, case).

        An alias to ``@default`` is the machine's own default model (ppc ``max``
        from 7.1: the default CPU of the pseries version).
        """
        if self.facts["cpu_names_case_insensitive"]:
            model = model.lower()
        target = str(self.facts["cpu_aliases"].get(model, model))
        return self.default_cpu_model() if target == DEFAULT_CPU_ALIAS else target

    def cpu_type(self, model: str) -> str:
        return f"{self.resolve_cpu_model(model)}{self.cpu_type_suffix}"

    def is_cpu_driver(self, driver: str) -> bool:
        return driver.endswith(self.cpu_type_suffix)


def make_machine(family: BoardFamily, name: str, version: Version | None, arch: str,
                 release: Release, max_cpus: int | None = None,
                 cpu_tables: dict[str, CpuTable] | None = None,
                 named: NamedMachine | None = None) -> MachineType:
    """Settle every fact of ``family`` for one machine of ``release``.

    A named machine (``raspi3b``) brings its own CPU limits; the CPU table is
    settled for the release too (its messages and accelerator rules).
    """
    case = Case(release.version, version, arch)
    facts = {k: f.pick(case) for k, f in family.facts.items() if k != "default_cpu"}
    table = (cpu_tables.get(facts["cpu_table"]) if cpu_tables is not None and facts["cpu_table"]
             else None)
    if named is not None:
        max_cpus = named.max_cpus
        facts["min_cpus"] = named.min_cpus
        limit = named.ram_limit
        facts["ram_limit"] = (limit if limit is not None and release.version in limit.releases
                              else None)
    return MachineType(
        name, family, version, arch, release, max_cpus or facts["max_cpus"],
        facts["min_cpus"], facts["smp_levels"], facts["prefer_sockets"], facts["slot_props"],
        facts["hotpluggable_cpus"], facts["device_cpus"], facts["cpu_type_suffix"],
        facts["cpu_table"], facts["numa"], facts["numa_mem"], facts["default_node"],
        facts["default_ram_mib"] << 20, facts,
        table.settle(release.version) if table is not None else None,
        named.default_cpus if named is not None else None)


__all__ = ["ALWAYS", "BOARDS", "BoardFamily", "MachineType", "NamedMachine", "SlotProp",
           "load_family", "make_machine"]
