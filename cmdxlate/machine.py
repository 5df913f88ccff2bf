"""Machine types as data: one JSON file per family under cmdxlate/machines/.

A ``MachineType`` is one concrete machine (``pc-q35-6.1``) as a given QEMU
release (the *target*) registers it, with every fact the resolver needs.
Files are read on the first lookup, not at import (commands that resolve no
topology never pay for them). Which slot ids a machine reports, and since
which QEMU release, is data too (``slot_props``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from cmdxlate.errors import CmdxlateError

if TYPE_CHECKING:
    from cmdxlate.smp import SmpConfig

SUPPORTED_TARGETS: tuple[str, ...] = ("7.2", "10.0")
DEFAULT_TARGET = "10.0"
MAX_MACHINE_FILE_BYTES = 64 * 1024 * 1024  # a probed database is well under 1 MiB

# Which -smp keys each QEMU release knows (spec 1.2).
SMP_KEY_SINCE: dict[str, tuple[int, int]] = {
    "dies": (4, 1), "clusters": (7, 0), "books": (8, 2), "drawers": (8, 2), "modules": (9, 1),
}

FAMILY_FILES: tuple[str, ...] = (
    "pc_i440fx", "pc_q35", "microvm", "isapc", "pseries", "s390_ccw_virtio", "arm_virt",
    "riscv_virt", "loongarch_virt", "other",
)

# Binary-name spellings of architectures (libvirt writes qemu-system-i686).
ARCH_ALIASES: dict[str, str] = {"i686": "i386", "armv7l": "arm", "x86": "x86_64"}

_override_file: str | None = None


def use_machine_file(path: str | None) -> None:
    """Make every lookup use a probed database (``--machines FILE``)."""
    global _override_file
    if path == _override_file:
        return
    _override_file = path
    _override_data.cache_clear()
    _families.cache_clear()
    _override_cpu_models.cache_clear()
    lookup_machine.cache_clear()
    from cmdxlate import cpumodels

    cpumodels.clear_caches()


@lru_cache(maxsize=1024)
def version_key(v: str) -> tuple[Any, ...]:
    """'2.12-sxxm' sorts just after '2.12'; '4.0.1' after '4.0'."""
    base, _, suffix = v.partition("-")
    nums = [int(x) for x in base.split(".")] + [0, 0]
    return (nums[0], nums[1], nums[2], 1 if suffix else 0, suffix)


def known_targets() -> list[str]:
    """Built-in targets, or those a probed database (--machines) describes."""
    if _override_file is None:
        return list(SUPPORTED_TARGETS)
    return sorted({t for f in _families() for t in f.get("versions", {})}, key=version_key)


def parse_target(target: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", target.strip())
    supported = known_targets()
    if not m or f"{m.group(1)}.{m.group(2)}" not in supported:
        raise CmdxlateError(
            f"unknown target QEMU version '{target}'; supported: {', '.join(supported)}"
        )
    return int(m.group(1)), int(m.group(2))


# No QEMU machine allows more; a database claiming more is not believed.
ABSOLUTE_MAX_CPUS = 16384
_LEVELS = (None, "drawers", "books", "sockets", "dies", "clusters", "modules", "cores", "threads")
_LAYOUTS = ("x86", "spapr", "s390x", "arm-virt", "riscv", "loongarch", "generic")


def _valid_family(f: Any) -> bool:
    """The shape lookups rely on, so a bad --machines file fails here, clearly."""
    try:
        return (isinstance(f, dict) and isinstance(f["family"], str)
                and isinstance(f["arches"], list) and isinstance(f["versions"], dict)
                and all(isinstance(v, list) for v in f["versions"].values())
                and f["slot_layout"] in _LAYOUTS
                and all(isinstance(p["name"], str) and p.get("only_if_above_1") in _LEVELS
                        for p in f["slot_props"])
                and isinstance(f["cpu_type_suffix"], dict) and isinstance(f["default_cpu"], str)
                and all(isinstance(r, dict) and isinstance(r["value"], int)
                        and 1 <= r["value"] <= ABSOLUTE_MAX_CPUS for r in f["max_cpus"])
                and all(isinstance(m, dict) and isinstance(m.get("max_cpus"), int)
                        and 1 <= m["max_cpus"] <= ABSOLUTE_MAX_CPUS
                        for ms in f.get("machines", {}).values() for m in ms.values()))
    except (KeyError, TypeError, AttributeError):
        return False


@cache
def _override_data() -> Any:
    assert _override_file is not None
    from cmdxlate.files import read_text_limited

    try:
        return json.loads(read_text_limited(_override_file, MAX_MACHINE_FILE_BYTES))
    except CmdxlateError as e:
        raise CmdxlateError(f"cannot read machine database {_override_file}: {e.message}"
                            ) from None
    except (ValueError, RecursionError) as e:
        raise CmdxlateError(f"cannot read machine database {_override_file}: {e}") from None


@cache
def _override_cpu_models() -> dict[str, Any] | None:
    if _override_file is None:
        return None
    models = _override_data().get("cpu_models") if isinstance(_override_data(), dict) else None
    if models is None:
        return None
    if not isinstance(models, dict) or not all(
            isinstance(t, dict) and isinstance(t.get("models"), dict) for t in models.values()):
        raise CmdxlateError(f"{_override_file}: not a cmdxlate machine database")
    return models


def using_machine_file() -> bool:
    return _override_file is not None


def cpu_model_table(family: str) -> dict[str, Any] | None:
    """A probed database's CPU model table for ``family`` (None: use the built-in one)."""
    models = _override_cpu_models()
    if models is None:
        return None
    table = models.get(family)
    return table if isinstance(table, dict) else None


@cache
def _families() -> tuple[dict[str, Any], ...]:
    if _override_file is not None:
        data = _override_data()
        fams = data.get("families") if isinstance(data, dict) else None
        if not isinstance(fams, list) or not all(_valid_family(f) for f in fams):
            raise CmdxlateError(f"{_override_file}: not a cmdxlate machine database")
        return tuple(fams)
    out = []
    pkg = resources.files("cmdxlate.machines")
    for name in FAMILY_FILES:
        out.append(json.loads((pkg / f"{name}.json").read_text(encoding="utf-8")))
    return tuple(out)


def all_families() -> tuple[dict[str, Any], ...]:
    return _families()


def _by_version(rules: list[dict[str, Any]], version: str | None, default: Any) -> Any:
    """First rule whose max_version bounds the machine version (unversioned: the last)."""
    for rule in rules:
        mv = rule.get("max_version")
        if mv is None:
            return rule["value"]
        if version is not None and version_key(version) <= version_key(mv):
            return rule["value"]
    return default


@dataclass(frozen=True)
class MachineType:
    """One machine type of one QEMU release, with its topology rules."""

    name: str
    family: str
    version: str | None
    arch: str
    target: tuple[int, int]
    data: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @cached_property
    def levels(self) -> frozenset[str]:
        lv = set(self.data.get("smp_levels", []))
        for since, extra in self.data.get("smp_levels_from_version", {}).items():
            if self.version is not None and version_key(self.version) >= version_key(since):
                lv.update(extra)
        return frozenset(x for x in lv if self.target >= SMP_KEY_SINCE.get(x, (0, 0)))

    @cached_property
    def prefer_sockets(self) -> bool:
        mv = self.data.get("prefer_sockets_max_version")
        if self.version is None or mv is None:
            return False
        return version_key(self.version) <= version_key(mv)

    @cached_property
    def max_cpus(self) -> int:
        rules = self.data["max_cpus"]
        return int(_by_version(rules, self.version, rules[-1]["value"]))

    @cached_property
    def min_cpus(self) -> int:
        return int(self.data.get("min_cpus", 1))

    @cached_property
    def slot_layout(self) -> str:
        return str(self.data["slot_layout"])

    @cached_property
    def _slot_prop_rules(self) -> tuple[tuple[str, str | None], ...]:
        rules = []
        for rule in self.data.get("slot_props", []):
            since = rule.get("since_qemu")
            if since and self.target < tuple(int(x) for x in since.split(".")[:2]):
                continue
            rules.append((str(rule["name"]), rule.get("only_if_above_1")))
        return tuple(rules)

    def slot_prop_names(self, smp: SmpConfig) -> frozenset[str]:
        """The slot ids this target's QEMU reports (die-id only with dies > 1, ...)."""
        return frozenset(name for name, level in self._slot_prop_rules
                         if level is None or getattr(smp, level) > 1)

    @cached_property
    def checked_props(self) -> frozenset[str]:
        """-machine properties whose values cmdxlate checks as QEMU sets them, and
        those the machine is known not to have (QEMU: "Property ... not found")."""
        return (frozenset(self.data.get("bool_props", ()))
                | frozenset(self.data.get("enum_props", {}))
                | frozenset(self.data.get("absent_props", ())))

    @cached_property
    def hotpluggable_cpus(self) -> bool:
        return bool(self.data.get("hotpluggable_cpus"))

    @cached_property
    def device_cpus(self) -> bool:
        since = self.data.get("device_cpus_since_qemu")
        if since and self.target < tuple(int(x) for x in since.split(".")):
            return False
        return bool(self.data.get("device_cpus"))

    @cached_property
    def numa_supported(self) -> bool:
        return bool(self.data.get("numa"))

    @cached_property
    def numa_mem_supported(self) -> bool:
        if self.data.get("numa_mem_always"):
            return True
        mv = self.data.get("numa_mem_max_version")
        return bool(mv and self.version and version_key(self.version) <= version_key(mv))

    @cached_property
    def auto_enable_numa(self) -> bool:
        return bool(self.data.get("auto_enable_numa"))

    def _since(self, key: str) -> bool:
        if self.data.get(key.replace("min_version", "always")):
            return True
        mv = self.data.get(key)
        return bool(mv and self.version and version_key(self.version) >= version_key(mv))

    def auto_numa(self, ram_slots: int, maxram: int, ram: int) -> bool:
        """Whether QEMU creates node 0 by itself (numa_complete_configuration)."""
        if self.auto_enable_numa:
            return True
        if ram_slots and self._since("auto_numa_memhp_min_version"):
            return True
        return maxram > ram and self._since("auto_numa_memdev_min_version")

    @cached_property
    def default_ram_bytes(self) -> int:
        return int(self.data.get("default_ram_mib", 128)) * 1024 * 1024

    @cached_property
    def max_threads(self) -> int | None:
        for since, value in self.data.get("max_threads_from_version", {}).items():
            if self.version is not None and version_key(self.version) >= version_key(since):
                return int(value)
        return None

    def default_cpu_model(self, accel: str | None = None) -> str:
        if accel == "kvm" and "default_cpu_kvm" in self.data:
            return str(self.data["default_cpu_kvm"])
        if self.arch == "i386" and "default_cpu_i386" in self.data:
            return str(self.data["default_cpu_i386"])
        rules = self.data.get("default_cpu_by_version", [])
        return str(_by_version(rules, self.version, self.data["default_cpu"]) if rules
                   else self.data["default_cpu"])

    def resolve_cpu_model(self, model: str) -> str:
        """The class name QEMU resolves a -cpu model to (ppc aliases)."""
        if self.data.get("cpu_names_case_insensitive"):
            model = model.lower()
        return str(self.data.get("cpu_aliases", {}).get(model, model))

    def cpu_type(self, model: str) -> str:
        suffix = self.data["cpu_type_suffix"].get(self.arch) or next(
            iter(self.data["cpu_type_suffix"].values()))
        return f"{self.resolve_cpu_model(model)}{suffix}"

    def is_cpu_driver(self, driver: str) -> bool:
        return any(driver.endswith(s) for s in self.data["cpu_type_suffix"].values())


def infer_arch(name: str | None) -> str | None:
    """The architecture a machine name implies, when no binary says (pseries -> ppc64)."""
    if name is None:
        return None
    for fam in _families():
        if fam["family"] == "other":
            continue
        prefix = fam.get("name_prefix")
        if (name in fam.get("aliases", []) or name == fam.get("unversioned_name")
                or (prefix and name.startswith(prefix))):
            return str(fam["arches"][0])
    return None


def _arch_families(arch: str) -> list[dict[str, Any]]:
    return [f for f in _families() if arch in f.get("arches", [])]


@lru_cache(maxsize=256)
def lookup_machine(name: str | None, arch: str = "x86_64", target: str = DEFAULT_TARGET
                   ) -> MachineType:
    """Resolve a -machine type name (or the arch's default) for a target QEMU."""
    tver = parse_target(target)
    tkey = f"{tver[0]}.{tver[1]}"
    arch = ARCH_ALIASES.get(arch, arch)
    fams = _arch_families(arch)
    if not fams:
        raise CmdxlateError(f"unknown architecture '{arch}': cmdxlate has no machine types for it")
    if name is None:
        for fam in fams:
            if arch in fam.get("default_for_arches", []):
                return _make(fam, None, arch, tver, tkey, alias=True)
        raise CmdxlateError(f"no default machine type known for {arch}: give -machine")
    for fam in fams:
        other = fam.get("machines", {}).get(arch, {}).get(name)
        if other is not None:
            data = dict(fam, max_cpus=[{"value": other["max_cpus"]}])
            return MachineType(other.get("alias_of", name), fam["family"], None, arch, tver, data)
        unv = fam.get("unversioned_name")
        if unv and name == unv:
            return MachineType(unv, fam["family"], None, arch, tver, fam)
        if name in fam.get("aliases", []):
            return _make(fam, None, arch, tver, tkey, alias=True)
        prefix = fam.get("name_prefix")
        if prefix and name.startswith(prefix):
            ver = name[len(prefix):]
            if ver in fam["versions"].get(tkey, []):
                return MachineType(name, fam["family"], ver, arch, tver, fam)
            others = [t for t in SUPPORTED_TARGETS if ver in fam["versions"].get(t, [])]
            hint = f"QEMU {tkey} no longer has it" + (
                f"; try --target {others[0]}" if others else "")
            raise CmdxlateError(f"unsupported machine type: \"{name}\"", qemu=True, hint=hint)
    raise CmdxlateError(
        f"machine type '{name}' is not in cmdxlate's machine database for {arch} "
        f"(known: {', '.join(sorted(_known_names(fams)))})"
    )


def _known_names(fams: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for f in fams:
        out.update(f.get("aliases", []))
        if f.get("unversioned_name"):
            out.add(f["unversioned_name"])
        if f.get("name_prefix"):
            out.add(f["name_prefix"] + "*")
    return out


def _make(fam: dict[str, Any], _v: str | None, arch: str, tver: tuple[int, int], tkey: str,
          alias: bool) -> MachineType:
    versions = fam["versions"].get(tkey, [])
    if not versions:
        name = fam.get("unversioned_name") or fam["family"]
        return MachineType(name, fam["family"], None, arch, tver, fam)
    newest = max((v for v in versions if "-" not in v), key=version_key)
    return MachineType(fam["name_prefix"] + newest, fam["family"], newest, arch, tver, fam)
