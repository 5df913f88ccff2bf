"""The property names QEMU types have per release: machines (data/machine_props.json) and
x86 CPUs (data/cpu_properties.json), measured on real binaries.

A release that was not measured takes the names the measured releases around it
share; a name only one of them has is *unsure* and never refused. No list at
all (an architecture or board not measured) means nothing is refused.
"""

from __future__ import annotations

from functools import lru_cache

from cmdxlate.catalog.version import Version
from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from cmdxlate.catalog.boards import MachineType

# Binaries whose boards share the measured ones' properties.
_DATA_ARCH = {"i386": "x86_64", "arm": "aarch64", "riscv32": "riscv64", "ppc": "ppc64"}


@dataclass(frozen=True, slots=True)
class Names:
    """Property names of one type in one release."""

    known: frozenset[str]
    unsure: frozenset[str] = frozenset()

    def lacks(self, name: str) -> bool:
        """Whether QEMU would not find ``name`` (an unsure name is never refused)."""
        return name not in self.known and name not in self.unsure


def bracketed(measured: dict[Version, frozenset[str]], release: Version) -> Names | None:
    """The names of ``release``, from the releases measured at or around it."""
    if release in measured:
        return Names(measured[release])
    before = [v for v in measured if v < release]
    after = [v for v in measured if v > release]
    if not before or not after:
        return None
    a, b = measured[max(before)], measured[min(after)]
    return Names(a & b, a ^ b)


@lru_cache(maxsize=8)
def _read(name: str) -> Any:
    """A data file, read once (callers only read it)."""
    from cmdxlate.catalog.datafiles import read_json

    return read_json(name)


def lists_by_release(by_release: dict[str, list[str]]) -> dict[Version, frozenset[str]]:
    """Measured name lists keyed by release."""
    return {Version.parse(r): frozenset(v) for r, v in by_release.items()}


@lru_cache(maxsize=1)
def _machine_data() -> dict[str, dict[str, dict[Version, frozenset[str]]]]:
    data = _read("machine_props.json")
    return {arch: {key: lists_by_release(rels) for key, rels in keys.items()}
            for arch, keys in data["arches"].items()}


@lru_cache(maxsize=1)
def _cpu_data() -> tuple[dict[Version, frozenset[str]], dict[str, frozenset[str]]]:
    data = _read("cpu_properties.json")["x86"]
    return lists_by_release(data["measured"]), {k: frozenset(v) for k, v in data["extra"].items()}


def machine_property_names(machine: MachineType) -> Names | None:
    """The properties ``-machine`` may set on this machine type in its release."""
    fam = machine.family
    key = machine.name if fam.board == "no-cpu-hotplug" else fam.name
    return _machine_names(_DATA_ARCH.get(machine.arch, machine.arch), key,
                          machine.release.version)


@lru_cache(maxsize=256)
def _machine_names(arch: str, key: str, release: Version) -> Names | None:
    found = _machine_data().get(arch, {}).get(key)
    return None if found is None else bracketed(found, release)


@lru_cache(maxsize=1024)
def x86_cpu_property_names(release: Version, model: str) -> Names | None:
    """The properties of an x86 CPU type (``-cpu MODEL,PROP=V``, ``-global``)."""
    measured, extra = _cpu_data()
    names = bracketed(measured, release)
    if names is None:
        return None
    return Names(names.known | extra.get(model, frozenset()), names.unsure)
