"""Version-dependent facts: a value, the gate under which it holds, and where it comes from.

Every fact in the catalog's data files is a list of candidates; the first whose
gate admits the case wins. A gate names up to four conditions, all optional:

* ``releases``: the QEMU releases (``{"since": "9.1", "until": null}``);
* ``machine``: the machine type's version (``pc-q35-6.1`` is 6.1);
* ``arch`` and ``accel``: the binary's architecture, the accelerator.

``evidence`` says how the fact was established (``note`` may say more; it is
for people and is not read): ``measured:<binary>`` on a real
QEMU, ``read:<release>:<file>`` in QEMU's source at a release, ``read:ml:...``
in the qemu-devel archive, or ``inferred:...``.
"""

from __future__ import annotations

from collections.abc import Callable

from cmdxlate.catalog.version import ALWAYS, Span, Version
from cmdxlate.records import Generic, TypeVar, dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

T = TypeVar("T")

_GATE_KEYS = frozenset({"value", "releases", "machine", "arch", "accel", "evidence", "note"})


@dataclass(frozen=True, slots=True)
class Case:
    """What a gate is asked about."""

    release: Version
    machine: Version | None = None
    arch: str | None = None
    accel: str | None = None


@dataclass(frozen=True, slots=True)
class Gated(Generic[T]):
    value: T
    releases: Span = ALWAYS
    machine: Span = ALWAYS
    arch: str | None = None
    accel: str | None = None
    evidence: tuple[str, ...] = ()

    def admits(self, case: Case) -> bool:
        if self.arch is not None and self.arch != case.arch:
            return False
        if self.accel is not None and self.accel != (case.accel or "tcg"):
            return False
        if self.releases is not ALWAYS and case.release not in self.releases:
            return False
        return self.machine is ALWAYS or case.machine in self.machine


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    """A named fact: candidates in priority order."""

    name: str
    candidates: tuple[Gated[T], ...]

    def pick(self, case: Case) -> T:
        for c in self.candidates:
            if c.admits(case):
                return c.value
        raise LookupError(f"no value of {self.name} for {case}")

    def evidence(self, case: Case) -> tuple[str, ...]:
        for c in self.candidates:
            if c.admits(case):
                return c.evidence
        return ()


def load_fact(name: str, data: Any, check: Callable[[Any], T], where: str) -> Fact[T]:
    """A fact from its JSON form: a bare value (always), or a list of gated candidates."""
    if not (isinstance(data, list) and data and all(isinstance(c, dict) and "value" in c
                                                    for c in data)):
        return Fact(name, (Gated(check(data)),))
    out: list[Gated[T]] = []
    for c in data:
        extra = set(c) - _GATE_KEYS
        if extra:
            raise ValueError(f"{where}: {name}: unknown gate keys {sorted(extra)}")
        ev = c.get("evidence", ())
        out.append(Gated(check(c["value"]), Span.load(c.get("releases"), where),
                         Span.load(c.get("machine"), where), c.get("arch"), c.get("accel"),
                         tuple(ev) if isinstance(ev, list) else (str(ev),)))
    return Fact(name, tuple(out))
