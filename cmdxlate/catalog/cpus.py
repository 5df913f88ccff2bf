"""CPU models as data: which ``-cpu`` names a release knows, and facts about them.

One table per CPU family (``data/cpus/x86.json``), built from real QEMUs'
``query-cpu-definitions`` and ``query-cpu-model-expansion`` and from QEMU's
source at release tags. A release the table does not describe gives
"unknown" (nothing is checked), never a guess; so does a name whose presence
in a described release is not established (the table's ``unknown`` map).

What differs by release besides the names (the messages, which accelerators
a model needs) is gated data too; ``settle(release)`` gives the table as one
release sees it, which is what a machine type carries.
"""

from __future__ import annotations

from cmdxlate.catalog.facts import Case, Fact, Gated, load_fact
from cmdxlate.catalog.version import ALWAYS, Span, Version
from cmdxlate.records import dataclass, field, replace

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# A span no release is in (``"accepted": false``: listed, never taken by -cpu).
NEVER = Span(Version(1, 0), Version(0, 0))
MESSAGE_KEYS = ("unavailable_message", "unavailable_hint", "too_new_message", "too_new_hint")


@dataclass(frozen=True, slots=True)
class CpuModel:
    """A ``-cpu`` name. ``releases``: the releases that have the name at all;
    ``accepted``/``listed``: within those, when ``-cpu`` takes it and when
    ``query-cpu-definitions`` lists it (ppc64 ``power5gs`` is listed from 9.0 but
    refused; ``max`` is accepted but no longer listed from 7.1)."""

    name: str
    releases: Span
    x2apic: Fact[bool | None]
    accepted: Span = ALWAYS
    listed: Span = ALWAYS
    spapr_core: Fact[bool | None] = field(
        default_factory=lambda: Fact("spapr_core", (Gated(None),)))


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
    # Names whose presence in a release is not established: -cpu NAME is not judged.
    unknown: dict[Version, frozenset[str]] = field(default_factory=dict)
    # The release-gated forms of accel_only and messages (settle() picks from them).
    accel_only_rules: dict[str, Fact[tuple[str, ...]]] = field(default_factory=dict)
    message_rules: Fact[dict[str, str]] | None = None
    settled_for: Version | None = None
    _names: dict[Version, frozenset[str]] = field(default_factory=dict, repr=False)
    _settled: dict[Version, CpuTable] = field(default_factory=dict, repr=False)

    def describes(self, release: Version) -> bool:
        return release in self.releases

    def names(self, release: Version) -> frozenset[str] | None:
        """The names ``-cpu`` accepts in ``release``; None when the table can't tell.

        Names the table marks unknown for ``release`` are included: cmdxlate then
        lets QEMU decide rather than refuse them.
        """
        if release not in self.releases:
            return None
        cached = self._names.get(release)
        if cached is None:
            cached = frozenset(m.name for m in self.models
                               if release in m.releases and release in m.accepted)
            cached |= frozenset(self.extra_names) | self.unknown.get(release, frozenset())
            self._names[release] = cached
        return cached

    def listed(self, release: Version) -> frozenset[str] | None:
        """What ``query-cpu-definitions`` of ``release`` lists (unknown names left out)."""
        if release not in self.releases:
            return None
        unknown = self.unknown.get(release, frozenset())
        return frozenset(m.name for m in self.models if release in m.releases
                         and release in m.listed and m.name not in unknown)

    def unknown_names(self, release: Version) -> frozenset[str]:
        return self.unknown.get(release, frozenset())

    def _model(self, model: str, release: Version) -> CpuModel | None:
        if release not in self.releases:
            return None
        for m in self.models:
            if m.name == model and release in m.releases:
                return m
        return None

    def x2apic(self, model: str, release: Version) -> bool | None:
        """x2apic of ``model`` by default under TCG; None when the table can't tell."""
        m = self._model(model, release)
        return None if m is None else m.x2apic.pick(Case(release))

    def spapr_core(self, model: str, release: Version) -> bool | None:
        """Whether ``-M pseries -cpu MODEL`` finds an sPAPR core type; None: unknown."""
        if self.case_insensitive:
            model = model.lower()
            found = next((m for m in self.models if m.name.lower() == model
                          and release in m.releases), None)
        else:
            found = self._model(model, release)
        return None if found is None else found.spapr_core.pick(Case(release))

    def settle(self, release: Version) -> CpuTable:
        """The table as ``release`` sees it: its messages and accelerator rules."""
        if self.settled_for == release:
            return self
        done = self._settled.get(release)
        if done is not None:
            return done
        case = Case(release)
        accel_only = {k: f.pick(case) for k, f in self.accel_only_rules.items()} \
            if self.accel_only_rules else dict(self.accel_only)
        messages = dict(self.messages)
        if self.message_rules is not None:
            messages = {k: "" for k in MESSAGE_KEYS} | self.message_rules.pick(case)
        done = replace(self, accel_only=accel_only, messages=messages, settled_for=release,
                       _names=self._names, _settled=self._settled)
        self._settled[release] = done
        return done


def _x2apic(v: Any) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise ValueError(f"x2apic: expected true/false/null, got {v!r}")
    return v


def _accels(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
        raise ValueError(f"accel_only: expected a list of accelerators, got {v!r}")
    return tuple(v)


def _messages(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or set(v) - set(MESSAGE_KEYS) or not all(
            isinstance(x, str) for x in v.values()):
        raise ValueError(f"messages: expected a mapping of {MESSAGE_KEYS}, got {v!r}")
    return dict(v)


def _span(v: Any, where: str) -> Span:
    return NEVER if v is False else Span.load(v, where)


_PLAIN_FACTS: dict[tuple[str, bool | None], Fact[bool | None]] = {}


def _flag(name: str, v: Any, where: str) -> Fact[bool | None]:
    """A model's true/false/unknown fact; the ungated ones (most) are shared."""
    if v is None or isinstance(v, bool):
        fact = _PLAIN_FACTS.get((name, v))
        if fact is None:
            fact = _PLAIN_FACTS[name, v] = load_fact(name, v, _x2apic, where)
        return fact
    return load_fact(name, v, _x2apic, where)


def _model(m: Any, where: str) -> CpuModel:
    return CpuModel(str(m["name"]), Span.load(m.get("releases"), where),
                    _flag("x2apic", m.get("x2apic"), where),
                    _span(m.get("accepted"), where), _span(m.get("listed"), where),
                    _flag("spapr_core", m.get("spapr_core"), where))


def load_cpu_table(data: Any, where: str) -> CpuTable:
    try:
        models = tuple(_model(m, where) for m in data["models"])
        rules = {k: load_fact("accel_only", v, _accels, where)
                 for k, v in data.get("accel_only", {}).items()}
        message_rules = (load_fact("messages", data["messages"], _messages, where)
                         if "messages" in data else None)
        messages = {k: str(data[k]) for k in MESSAGE_KEYS if k in data}
        newest = Case(Version(10**6, 0))
        if message_rules is not None:
            messages = message_rules.pick(newest)
        releases = frozenset(Version.parse(r) for r in data["releases"])
        unknown = {Version.parse(r): frozenset(names)
                   for r, names in data.get("unknown", {}).items()}
        if set(unknown) - releases:
            raise ValueError(f"{where}: unknown names for releases the table does not hold")
        return CpuTable(
            str(data["table"]), releases, models,
            bool(data.get("case_insensitive")),
            {k: f.pick(newest) for k, f in rules.items()},
            {k: tuple(v) for k, v in data.get("accel_registered", {}).items()},
            tuple(data.get("extra_names", ())), bool(data.get("kvm_default_x2apic")),
            {Version.parse(r): {m: tuple(f) for m, f in per.items()}
             for r, per in data.get("tcg_unavailable", {}).items()},
            messages, unknown, rules, message_rules)
    except (KeyError, TypeError, AttributeError, LookupError) as e:
        raise ValueError(f"{where}: malformed CPU table ({type(e).__name__}: {e})") from None
