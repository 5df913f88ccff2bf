"""CPU models as data: which ``-cpu`` names a release knows, and facts about them.

One table per CPU family (``data/cpus/x86.json``), built from real QEMUs'
``query-cpu-definitions`` and ``query-cpu-model-expansion`` and from QEMU's
source at release tags. A release the table does not describe gives
"unknown" (nothing is checked), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmdxlate.catalog.facts import Case, Fact, load_fact
from cmdxlate.catalog.version import Span, Version


@dataclass(frozen=True, slots=True)
class CpuModel:
    name: str
    releases: Span
    x2apic: Fact[bool | None]


@dataclass(frozen=True)
class CpuTable:
    name: str
    releases: frozenset[Version]  # the releases whose lists this table holds
    models: tuple[CpuModel, ...]
    case_insensitive: bool = False
    accel_only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    accel_registered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra_names: tuple[str, ...] = ()
    kvm_default_x2apic: bool = False
    tcg_unavailable: dict[Version, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    _names: dict[Version, frozenset[str]] = field(default_factory=dict, repr=False)

    def describes(self, release: Version) -> bool:
        return release in self.releases

    def names(self, release: Version) -> frozenset[str] | None:
        """The names ``-cpu`` accepts in ``release``; None when the table can't tell."""
        if release not in self.releases:
            return None
        cached = self._names.get(release)
        if cached is None:
            cached = frozenset(m.name for m in self.models if release in m.releases)
            cached |= frozenset(self.extra_names)
            self._names[release] = cached
        return cached

    def x2apic(self, model: str, release: Version) -> bool | None:
        """x2apic of ``model`` by default under TCG; None when the table can't tell."""
        if release not in self.releases:
            return None
        for m in self.models:
            if m.name == model and release in m.releases:
                return m.x2apic.pick(Case(release))
        return None


def _x2apic(v: Any) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise ValueError(f"x2apic: expected true/false/null, got {v!r}")
    return v


def load_cpu_table(data: Any, where: str) -> CpuTable:
    try:
        models = tuple(
            CpuModel(str(m["name"]), Span.load(m.get("releases"), where),
                     load_fact("x2apic", m.get("x2apic"), _x2apic, where))
            for m in data["models"])
        messages = {k: str(data[k]) for k in ("unavailable_message", "unavailable_hint",
                                              "too_new_message", "too_new_hint") if k in data}
        return CpuTable(
            str(data["table"]), frozenset(Version.parse(r) for r in data["releases"]), models,
            bool(data.get("case_insensitive")),
            {k: tuple(v) for k, v in data.get("accel_only", {}).items()},
            {k: tuple(v) for k, v in data.get("accel_registered", {}).items()},
            tuple(data.get("extra_names", ())), bool(data.get("kvm_default_x2apic")),
            {Version.parse(r): {m: tuple(f) for m, f in per.items()}
             for r, per in data.get("tcg_unavailable", {}).items()},
            messages)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{where}: malformed CPU table ({type(e).__name__}: {e})") from None
