"""``-smp`` default filling and validation, as QEMU's machine_parse_smp_config().

QEMU's behaviour changed over time (see the spec's version history); this
module reproduces the generic parser of QEMU 6.2 and newer; the release's
behaviours say which variant applies (``smp-zero-is-error``: zeros are an
error rather than a warning; ``smp-level-greater-than-1-wording``: "dies > 1
not supported" and the new order of that check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cmdxlate.catalog.releases import Release
from cmdxlate.error import QemuRefusal

# Coarsest first; cpus/maxcpus are not levels.
LEVELS: tuple[str, ...] = (
    "drawers", "books", "sockets", "dies", "clusters", "modules", "cores", "threads"
)
OPTIONAL_LEVELS: tuple[str, ...] = ("drawers", "books", "dies", "clusters", "modules")
SMP_KEYS: tuple[str, ...] = ("cpus", "maxcpus") + LEVELS


@dataclass(frozen=True)
class SmpSupport:
    """What a machine type allows, as QEMU's MachineClass.smp_props says."""

    name: str
    levels: frozenset[str] = frozenset()
    prefer_sockets: bool = False
    min_cpus: int = 1
    max_cpus: int = 1
    release: Release | None = None  # None: the newest behaviour


@dataclass(frozen=True)
class SmpConfig:
    """The resolved topology, every level filled in."""

    cpus: int
    maxcpus: int
    drawers: int = 1
    books: int = 1
    sockets: int = 1
    dies: int = 1
    clusters: int = 1
    modules: int = 1
    cores: int = 1
    threads: int = 1
    origin: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    warnings: tuple[str, ...] = field(default=(), compare=False, hash=False)

    def level(self, name: str) -> int:
        return int(getattr(self, name))

    def as_dict(self) -> dict[str, int]:
        return {k: self.level(k) for k in SMP_KEYS}


def _hierarchy(support: SmpSupport, v: dict[str, int]) -> str:
    """QEMU's cpu_hierarchy_to_string(): supported levels, coarsest first."""
    parts: list[str] = []
    for lvl in LEVELS:
        if lvl in ("sockets", "cores", "threads") or lvl in support.levels:
            parts.append(f"{lvl} ({v[lvl]})")
    return " * ".join(parts)


def resolve_smp(given: dict[str, int], support: SmpSupport) -> SmpConfig:
    """Fill in omitted values and validate; raise QEMU's own error text.

    ``given`` holds only the keys the user wrote (after merging every -smp,
    ``-machine smp.*`` and ``[smp-opts]``), as integers.
    """
    release = support.release
    zero_is_error = release is None or release.has("smp-zero-is-error")
    new_wording = release is None or release.has("smp-level-greater-than-1-wording")
    warnings: list[str] = []
    origin: dict[str, str] = {k: "given" for k in given}
    provided = dict(given)
    if any(v == 0 for v in provided.values()):
        if zero_is_error:
            raise QemuRefusal(
                "Invalid CPU topology: CPU topology parameters must be greater than zero",
            )
        warnings.append(
            "Deprecated CPU topology (considered invalid): "
            "CPU topology parameters must be greater than zero"
        )
        provided = {k: v for k, v in provided.items() if v != 0}

    # Levels the machine lacks must be omitted or 1; those levels never get computed.
    order = ("modules", "clusters", "dies", "books", "drawers") if new_wording else (
        "dies", "clusters", "books", "drawers")
    vals: dict[str, int] = {}
    for lvl in order:
        if lvl not in support.levels and provided.get(lvl, 1) > 1:
            if new_wording:
                raise QemuRefusal(
                    f"{lvl} > 1 not supported by this machine's CPU topology"
                )
            raise QemuRefusal(f"{lvl} not supported by this machine's CPU topology")
    for lvl in OPTIONAL_LEVELS:
        vals[lvl] = provided.get(lvl, 1)
        origin.setdefault(lvl, "default 1")

    cpus = provided.get("cpus", 0)
    maxcpus = provided.get("maxcpus", 0)
    sockets = provided.get("sockets", 0)
    cores = provided.get("cores", 0)
    threads = provided.get("threads", 0)
    fixed = vals["drawers"] * vals["books"] * vals["dies"] * vals["clusters"] * vals["modules"]

    if not cpus and not maxcpus:
        for k, v in (("sockets", sockets), ("cores", cores), ("threads", threads)):
            if not v:
                origin[k] = "default 1 (no cpus/maxcpus given)"
        sockets = sockets or 1
        cores = cores or 1
        threads = threads or 1
    else:
        maxcpus = maxcpus or cpus
        basis = "maxcpus" if "maxcpus" in provided else "cpus"
        if support.prefer_sockets:
            if not sockets:
                if not cores:
                    origin["cores"] = "default 1"
                if not threads:
                    origin["threads"] = "default 1"
                cores = cores or 1
                threads = threads or 1
                sockets = maxcpus // (fixed * cores * threads)
                origin["sockets"] = f"computed from {basis}: {support.name} prefers sockets"
            elif not cores:
                if not threads:
                    origin["threads"] = "default 1"
                threads = threads or 1
                cores = maxcpus // (fixed * sockets * threads)
                origin["cores"] = f"computed from {basis}"
        else:
            if not cores:
                if not sockets:
                    origin["sockets"] = "default 1"
                if not threads:
                    origin["threads"] = "default 1"
                sockets = sockets or 1
                threads = threads or 1
                cores = maxcpus // (fixed * sockets * threads)
                origin["cores"] = f"computed from {basis}: {support.name} prefers cores"
            elif not sockets:
                if not threads:
                    origin["threads"] = "default 1"
                threads = threads or 1
                sockets = maxcpus // (fixed * cores * threads)
                origin["sockets"] = f"computed from {basis}"
        if not threads:
            threads = maxcpus // (fixed * sockets * cores)
            origin["threads"] = f"computed from {basis}"

    total = fixed * sockets * cores * threads
    if not maxcpus:
        origin["maxcpus"] = "product of the levels"
    maxcpus = maxcpus or total
    if not cpus:
        origin["cpus"] = "equal to maxcpus"
    cpus = cpus or maxcpus
    if "maxcpus" not in origin:
        origin["maxcpus"] = "equal to cpus"

    level_values = dict(vals, sockets=sockets, cores=cores, threads=threads)
    if total != maxcpus:
        raise QemuRefusal(
            "Invalid CPU topology: product of the hierarchy must match maxcpus: "
            f"{_hierarchy(support, level_values)} != maxcpus ({maxcpus})",
        )
    if maxcpus < cpus:
        raise QemuRefusal(
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
            f"{_hierarchy(support, level_values)} == maxcpus ({maxcpus}) < smp_cpus ({cpus})",
        )
    if cpus < support.min_cpus:
        raise QemuRefusal(
            f"Invalid SMP CPUs {cpus}. The min CPUs supported by machine "
            f"'{support.name}' is {support.min_cpus}",
        )
    if maxcpus > support.max_cpus:
        raise QemuRefusal(
            f"Invalid SMP CPUs {maxcpus}. The max CPUs supported by machine "
            f"'{support.name}' is {support.max_cpus}",
        )
    return SmpConfig(
        cpus=cpus, maxcpus=maxcpus, sockets=sockets, cores=cores, threads=threads,
        origin=origin, warnings=tuple(warnings), **vals,
    )
