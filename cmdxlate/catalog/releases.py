"""The QEMU releases cmdxlate models, and the behaviours that changed between them.

A behaviour is a name with the releases that have it (``smp-zero-is-error``:
9.0 and later). The resolver asks ``release.has(name)``; adding a release is
one entry in ``data/releases.json``, and a new behaviour one entry more.
"""

from __future__ import annotations

from cmdxlate.catalog.facts import Case, Fact, load_fact
from cmdxlate.catalog.version import Span, Version
from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# Every behaviour the code asks about; the data file must define exactly these.
BEHAVIOURS = frozenset({
    # how -smp and -machine smp.* are read (model.build_spec, resolve.machine)
    "smp-qemuopts-parse", "smp-qemuopts-id-rejected", "qemuopts-help-flag-only",
    "smp-keyval-parse", "machine-smp-property", "machine-smp-property-absent",
    "processing-order-6.1",
    # how the topology is computed and checked (resolve.smp)
    "smp-legacy-parser", "smp-legacy-parser-6.1", "smp-generic-parser",
    "smp-zero-warns", "smp-zero-is-error",
    "smp-unsupported-level-not-supported", "smp-unsupported-level-gt1",
    # messages and locations (resolve.machine, catalog.machine, syntax.source, model.spec)
    "machine-unsupported-located", "machine-unsupported-named",
    "readconfig-line-is-section-end", "readconfig-errors-two-lines",
    "readconfig-reader-errors-at-option", "readconfig-object-keyval",
    "object-cli-visitor", "object-json", "short-form-boolean-warning", "json-push-parser",
    # sizes (syntax.sizes)
    "size-fixed-point", "size-hex-suffix-refused", "size-leading-fraction",
    "netdev-json", "device-json-id-checked",
    "machine-keyval-parse", "x86-features-before-host-check", "cpu-model-not-valid-for-machine",
    # the QOM tree a memory backend's prealloc-context is looked up in (model.links)
    "qom-root-containers-at-start", "thread-context-pre-sandbox", "mon-deprecated-warning",
    # -numa and query-hotpluggable-cpus (resolve/numa.py, numa_init.py, hmat.py, topology.py)
    "qapi-enum-error-names-parameter",
    "numa-initiator-before-cpus",
    "numa-hmat-initiator-required",
    "numa-slot-label-die-comma-missing",
    "numa-mem-reparse-checked",
    "numa-riscv-nodes-exceed-cpus-checked",
    "numa-cluster-boundary-warning",
    "hotpluggable-cpus-feature-disabled-text",
    "memory-backend-size-checked-at-board-init",
    # -device (resolve/devices.py)
    "device-json",
    "device-expects-a-pluggable-type",
    # x86 CPUs and APIC IDs (boards/x86.py, boards/apic.py)
    "x86-cpu-module-id",
    "microvm-device-cpu",
    "x86-x2apic-5.2",
    "x86-x2apic-6.0",
    "x86-x2apic-7.1",
    "x86-x2apic-tcg-line-check",
    "x86-x2apic-userspace-limit",
    "x86-x2apic-per-cpu",
    "x86-x2apic-hint",
    "x86-x2apic-aborts",
    # pseries, s390x, arm virt
    "spapr-tcg-smt-8", "spapr-asymmetric-numa-refused-at-init",
    "s390x-max-is-qemu",
    "s390x-cpu-topology-props",
    "arm-virt-gic-auto-v3",
    "arm-virt-gicv3-redist-regions",
    "arm-virt-gicv4",
})


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    releases: Span
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Release:
    """One modelled QEMU release (``10.0``), checked against ``point`` (``10.0.2``)."""

    version: Version
    point: str
    checked: str  # "measured" on a real binary, or "read" from QEMU's source
    evidence: tuple[str, ...]
    behaviours: frozenset[str]
    facts: dict[str, Any]
    borrowed_from: Version | None = None  # a probed release without a model of its own

    def has(self, behaviour: str) -> bool:
        if behaviour not in BEHAVIOURS:
            raise KeyError(f"unknown behaviour {behaviour!r}")
        return behaviour in self.behaviours

    def fact(self, name: str) -> Any:
        return self.facts[name]

    def __str__(self) -> str:
        return str(self.version)


@dataclass(frozen=True, slots=True)
class ReleaseTable:
    releases: tuple[Release, ...]
    behaviours: tuple[Behaviour, ...]

    def get(self, version: Version) -> Release | None:
        for r in self.releases:
            if r.version == version:
                return r
        return None

    @property
    def newest(self) -> Release:
        return max(self.releases, key=lambda r: r.version)

    def nearest(self, version: Version) -> Release:
        """The modelled release closest to ``version`` (older wins a tie)."""
        def distance(r: Release) -> tuple[int, int]:
            a = r.version.major * 100 + r.version.minor
            b = version.major * 100 + version.minor
            return abs(a - b), -a if a < b else a
        return min(self.releases, key=distance)


def load_releases(data: Any, where: str = "releases.json") -> ReleaseTable:
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise ValueError(f"{where}: not a release table")
    behaviours = tuple(
        Behaviour(b["name"], Span.load(b.get("releases"), where), tuple(b.get("evidence", ())))
        for b in data.get("behaviours", ()))
    names = {b.name for b in behaviours}
    if names != BEHAVIOURS:
        raise ValueError(f"{where}: behaviours {sorted(names ^ BEHAVIOURS)} missing or unknown")
    facts: dict[str, Fact[Any]] = {
        name: load_fact(name, value, lambda v: v, where)
        for name, value in data.get("facts", {}).items()}
    releases = []
    for r in data["releases"]:
        v = Version.parse(r["version"])
        case = Case(v)
        releases.append(Release(
            v, str(r.get("point", r["version"])), str(r.get("checked", "read")),
            tuple(r.get("evidence", ())),
            frozenset(b.name for b in behaviours if v in b.releases),
            {name: fact.pick(case) for name, fact in facts.items()}))
    return ReleaseTable(tuple(releases), behaviours)
