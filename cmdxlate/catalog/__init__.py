"""The release catalog: QEMU releases, machine-type families and CPU models, as typed data.

``Catalog.builtin()`` reads the package's data files (on first use, once per
process); ``Catalog.from_file(path)`` reads a database written by
``cmdxlate probe``. Nothing here is process-wide mutable state: callers pass
the catalog they use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from cmdxlate.catalog.boards import (
    BoardFamily,
    MachineType,
    NamedMachine,
    load_family,
    make_machine,
)
from cmdxlate.catalog.cpus import CpuTable, load_cpu_table
from cmdxlate.catalog.datafiles import read_json
from cmdxlate.catalog.releases import Release, ReleaseTable, load_releases
from cmdxlate.catalog.version import Version
from cmdxlate.error import InputError, QemuRefusal

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# Each family file with its board and architectures, so that a command reads only
# the files of its architecture (tests/test_catalog.py checks this against the files).
FAMILY_INDEX: dict[str, tuple[str, tuple[str, ...]]] = {
    "pc_i440fx": ("x86", ("x86_64", "i386")),
    "pc_q35": ("x86", ("x86_64", "i386")),
    "microvm": ("x86", ("x86_64", "i386")),
    "isapc": ("x86", ("x86_64", "i386")),
    "pseries": ("spapr", ("ppc64",)),
    "s390_ccw_virtio": ("s390x", ("s390x",)),
    "arm_virt": ("arm-virt", ("aarch64", "arm")),
    "riscv_virt": ("riscv-virt", ("riscv64", "riscv32")),
    "loongarch_virt": ("loongarch-virt", ("loongarch64",)),
    "sbsa_ref": ("no-cpu-hotplug", ("aarch64",)),
    "other": ("no-cpu-hotplug", ("aarch64", "arm", "i386", "loongarch64", "ppc", "ppc64",
                                 "riscv32", "riscv64", "s390x", "x86_64")),
}
FAMILY_FILES: tuple[str, ...] = tuple(FAMILY_INDEX)
_INDEX_ARCHES = frozenset(a for _, arches in FAMILY_INDEX.values() for a in arches)
CPU_TABLES: tuple[str, ...] = ("x86", "ppc64", "s390x", "aarch64", "riscv64", "loongarch64")
# Boards whose family names no CPU table still have their binary's -cpu names checked.
ARCH_CPU_TABLES: dict[str, str] = {"aarch64": "aarch64", "riscv64": "riscv64",
                                   "loongarch64": "loongarch64"}

# Spellings of architectures in binary names and in people's mouths.
ARCH_ALIASES: dict[str, str] = {
    "i686": "i386", "x86": "x86_64", "amd64": "x86_64", "armv7l": "arm", "armhf": "arm",
    "armel": "arm", "arm64": "aarch64", "ppc64le": "ppc64", "ppc64el": "ppc64",
    "powerpc": "ppc", "loong64": "loongarch64",
}
DATABASE_FORMAT = "cmdxlate-machines/2"


def normalise_arch(arch: str) -> str:
    return ARCH_ALIASES.get(arch, arch)




class _CpuTables(dict[str, CpuTable]):
    """The built-in CPU tables, each read when a machine first needs it."""

    def __missing__(self, name: str) -> CpuTable:
        if name not in CPU_TABLES:
            raise KeyError(name)
        table = self[name] = load_cpu_table(read_json("cpus", f"{name}.json"),
                                            f"cpus/{name}.json")
        return table

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


class Catalog:
    """Releases, families and CPU tables; lookups answer for one target release."""

    def __init__(self, releases: ReleaseTable, families: tuple[BoardFamily, ...] | None,
                 cpu_tables: dict[str, CpuTable], origin: str = "built-in") -> None:
        """``families`` None: the built-in files, each read when first needed."""
        self.releases = releases
        self._families = families
        self._loaded: dict[tuple[str, str | None], BoardFamily] = {}
        # Lookups a batch repeats for every line (a MachineType is immutable).
        self._names: dict[tuple[str, Version], tuple[str, ...]] = {}
        self._machines: dict[tuple[str | None, str, Version], MachineType] = {}
        self._targets: dict[str, Release] = {}  # --target spellings already looked up
        self.cpu_tables = cpu_tables
        self.origin = origin

    @property
    def families(self) -> tuple[BoardFamily, ...]:
        if self._families is None:
            self._families = tuple(self._family(n) for n in FAMILY_FILES)
        return self._families

    def _family(self, name: str, arch: str | None = None) -> BoardFamily:
        """A built-in family file, whole or with one architecture's named machines (only
        files of boards without CPU hotplug have named machines)."""
        if FAMILY_INDEX[name][0] != "no-cpu-hotplug":
            arch = None
        fam = self._loaded.get((name, arch))
        if fam is None:
            fam = self._loaded[name, arch] = load_family(
                read_json("boards", f"{name}.json"), f"boards/{name}.json", arch)
        return fam

    # ------------------------------------------------------------ construction

    @staticmethod
    def builtin() -> Catalog:
        return _builtin()

    @staticmethod
    def from_file(path: str) -> Catalog:
        """A database written by ``cmdxlate probe`` (its release and machine types)."""
        import os

        try:
            st = os.stat(path)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read machine database {path!r}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
        return _from_file(path, st.st_mtime_ns, st.st_size, st.st_ino)

    # ------------------------------------------------------------ releases

    @property
    def targets(self) -> list[Version]:
        return sorted(r.version for r in self.releases.releases)

    @property
    def default_target(self) -> Release:
        return self.releases.newest

    def release(self, target: str | Version | None) -> Release:
        """The release ``--target`` names (``10.0``, ``10.0.2`` and ``10`` spellings)."""
        if target is None:
            return self.default_target
        if isinstance(target, str) and target in self._targets:
            return self._targets[target]
        v = target if isinstance(target, Version) else Version.try_parse(str(target).strip())
        found = self.releases.get(v.release) if v is not None else None
        if found is None:
            known = ", ".join(str(t) for t in self.targets)
            raise InputError(f"unknown target QEMU release '{target}'; cmdxlate models: {known}")
        if isinstance(target, str):
            self._targets[target] = found
        return found

    # ------------------------------------------------------------ machines

    @property
    def arches(self) -> frozenset[str]:
        """Every architecture some family serves (binary spellings: ``x86_64``, ``ppc64``)."""
        if self._families is None:
            return _INDEX_ARCHES
        return frozenset(a for fam in self.families for a in fam.arches)

    def arch_families(self, arch: str) -> list[BoardFamily]:
        if self._families is None:
            return [self._family(n, arch) for n, (_, arches) in FAMILY_INDEX.items()
                    if arch in arches]
        return [f for f in self.families if arch in f.arches]

    def _hotplug_families(self) -> Iterable[BoardFamily]:
        """Families with CPU slots, in file order; built-in ones read one by one."""
        if self._families is not None:
            return [f for f in self._families if f.board != "no-cpu-hotplug"]
        return (self._family(n) for n, (board, _) in FAMILY_INDEX.items()
                if board != "no-cpu-hotplug")

    def infer_arch(self, name: str | None) -> str | None:
        """The architecture a machine name implies when no binary says (pseries -> ppc64)."""
        if name is None:
            return None
        for fam in self._hotplug_families():
            if (name in fam.any_names or name in fam.version_names.values()
                    or (fam.name_prefix and name.startswith(fam.name_prefix))):
                return fam.arches[0]
        return None

    def machine(self, name: str | None, arch: str, release: Release) -> MachineType:
        """The machine type ``-machine NAME`` selects (None: the arch's default)."""
        arch = normalise_arch(arch)
        key = (name, arch, release.version)
        found = self._machines.get(key)
        if found is None or found.release is not release:
            found = self._machines[key] = self._machine(name, arch, release)
        return found

    def _machine(self, name: str | None, arch: str, release: Release) -> MachineType:
        fams = self.arch_families(arch)
        if not fams:
            raise InputError(f"unknown architecture '{arch}': cmdxlate has no machine types "
                             "for it")
        v = release.version
        if not self.machine_names(arch, release):
            having = [r.version for r in self.releases.releases
                      if self.machine_names(arch, r)]
            since = f" (it has one from {min(having)})" if having else ""
            raise InputError(f"QEMU {release} has no {arch} system emulator{since}")
        if name is None:
            for fam in fams:
                if arch in fam.default_for(v):
                    return self._newest(fam, arch, release)
            raise InputError(f"no default machine type known for {arch}: give -machine")
        for fam in fams:
            if not fam.present_in(v):
                continue
            for m in fam.machines:
                if m.arch == arch and m.name == name and v in m.releases:
                    target = (self._named(fam, arch, m.alias_of, v) or m) if m.alias_of else m
                    return make_machine(fam, m.alias_of or name, None, arch, release,
                                        None, self.cpu_tables, target)
            if name == fam.unversioned_in(v):
                return make_machine(fam, name, None, arch, release, None, self.cpu_tables)
            if name in fam.aliases_in(v):
                return self._newest(fam, arch, release)
            mv = fam.version_named(name, v)
            if mv is not None:
                return make_machine(fam, name, mv, arch, release, None, self.cpu_tables)
        raise unsupported_machine(name, release, self._unknown_hint(name, arch, release))

    @staticmethod
    def _named(fam: BoardFamily, arch: str, name: str, v: Version) -> NamedMachine | None:
        """The named machine an alias stands for (its limits are the alias's)."""
        for m in fam.machines:
            if m.arch == arch and m.name == name and v in m.releases and not m.alias_of:
                return m
        return None

    def _newest(self, fam: BoardFamily, arch: str, release: Release) -> MachineType:
        versions = [v for v in fam.versions_in(release.version) if not v.suffix]
        if not versions:
            name = fam.unversioned_in(release.version) or fam.name
            return make_machine(fam, name, None, arch, release, None, self.cpu_tables)
        newest = max(versions)
        return make_machine(fam, fam.version_name(newest), newest, arch, release, None,
                            self.cpu_tables)

    def _unknown_hint(self, name: str, arch: str, release: Release) -> str | None:
        """cmdxlate's own advice about a name this release lacks (None: nothing true to add)."""
        base, plus, downstream = name.partition("+")
        if plus:
            return (f"'{name}' is a downstream machine type (the '+{downstream}' suffix is not "
                    f"upstream QEMU's); cmdxlate models upstream QEMU's machine types only")
        having = [r.version for r in self.releases.releases
                  if name in self.machine_names(arch, r)]
        if having:
            if min(having) > release.version:
                return (f"QEMU {release} does not have it yet (it is newer); "
                        f"try --target {min(having)}")
            return f"QEMU {release} no longer has it; try --target {max(having)}"
        return None

    def machine_names(self, arch: str, release: Release) -> list[str]:
        key = (arch, release.version)
        names = self._names.get(key)
        if names is None:
            out: list[str] = []
            for fam in self.arch_families(normalise_arch(arch)):
                out += fam.names_in(release.version, arch)
            names = self._names[key] = tuple(out)
        return list(names)

    # ------------------------------------------------------------ CPU models

    def cpu_table(self, name: str | None) -> CpuTable | None:
        return None if name is None else self.cpu_tables.get(name)

    def cpu_names_table(self, machine: MachineType) -> CpuTable | None:
        """The table ``-cpu NAME`` is looked up in: the machine's, else its binary's."""
        if machine.cpus is not None:
            return machine.cpus
        table = self.cpu_tables.get(ARCH_CPU_TABLES.get(machine.arch, ""))
        return None if table is None else table.settle(machine.release.version)


MACHINE_HELP_HINT = "Use -machine help to list supported machines"


def unsupported_machine(name: str, release: Release, note: str | None = None) -> QemuRefusal:
    """QEMU's refusal of a machine type it lacks, in the words of ``release``: the name
    in quotes from 9.1, none before; 5.2 and 6.0 print it at the first -machine option
    (the caller locates it), later releases without a location."""
    text = (f'unsupported machine type: "{name}"' if release.has("machine-unsupported-named")
            else "unsupported machine type")
    return QemuRefusal(text, hint=MACHINE_HELP_HINT, note=note)


@lru_cache(maxsize=1)
def _builtin() -> Catalog:
    return Catalog(load_releases(read_json("releases.json")), None, _CpuTables())


@lru_cache(maxsize=8)
def _from_file(path: str, _mtime: int, _size: int, _inode: int) -> Catalog:
    from cmdxlate.files import read_text_limited

    text = read_text_limited(path, 16 * 1024 * 1024)
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"cannot read machine database {path}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != DATABASE_FORMAT:
        raise InputError(f"{path}: not a cmdxlate machine database (format "
                         f"{DATABASE_FORMAT}; write one with 'cmdxlate probe')")
    try:
        from cmdxlate.catalog.probed import probed_catalog

        catalog: Catalog = probed_catalog(data, _builtin(), path)
        return catalog
    except ValueError as e:
        raise InputError(f"{path}: not a valid machine database: {e}") from None


__all__ = ["ARCH_ALIASES", "MACHINE_HELP_HINT", "Catalog", "MachineType", "Release", "Version",
           "normalise_arch", "unsupported_machine"]
