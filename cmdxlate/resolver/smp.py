"""``-smp`` default filling and validation, as each QEMU release computes them.

Three algorithms, chosen by the release's behaviours:

* ``smp-legacy-parser`` (5.2, 6.0): smp_parse / pc_smp_parse over the QemuOpts
  group. Sockets are computed first on every machine, cores and threads from
  *cpus* (not maxcpus), a missing maxcpus is cpus; PC machines (the ones with
  dies) have their own texts, other machines ignore dies.
* ``smp-legacy-parser-6.1``: the same over the QAPI struct, and non-PC
  machines refuse dies other than 0 or 1.
* ``smp-generic-parser`` (6.2 and later): machine_parse_smp_config, maxcpus
  driven, with the zero and unsupported-level rules of the release.

QEMU keeps every value in an ``unsigned`` (32 bits) whatever was parsed
(QemuOpts: uint64, keyval: int64), multiplies without overflow checks and
divides by those products, so the same arithmetic is done here: ``-smp -1``
is 4294967295 CPUs, and a product that wraps to 0 kills QEMU with SIGFPE.
"""

from __future__ import annotations

from cmdxlate.catalog.releases import Release
from cmdxlate.error import InputError, QemuRefusal
from cmdxlate.records import dataclass, field

# Coarsest first; cpus/maxcpus are not levels.
LEVELS: tuple[str, ...] = (
    "drawers", "books", "sockets", "dies", "clusters", "modules", "cores", "threads"
)
OPTIONAL_LEVELS: tuple[str, ...] = ("drawers", "books", "dies", "clusters", "modules")
SMP_KEYS: tuple[str, ...] = ("cpus", "maxcpus") + LEVELS

_U32 = 0xFFFFFFFF


def _u32(v: int) -> int:
    """An integer stored into a C ``unsigned``."""
    return v & _U32


def _d(v: int) -> int:
    """An ``unsigned`` printed with ``%d``."""
    return v - (1 << 32) if v >= 1 << 31 else v


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


def _div(a: int, b: int, release: Release | None) -> int:
    """An unsigned C division; by zero, QEMU dies from SIGFPE and prints nothing."""
    if b == 0:
        where = f"QEMU {release}" if release is not None else "QEMU"
        raise InputError(
            f"{where} crashes on this line (SIGFPE, no message): its -smp arithmetic divides "
            "by zero, the product of the given levels being 0 in its 32-bit unsigned values",
            hint="give every -smp level as 1 or more, with products below 2^32")
    return a // b


def _min_max(cpus: int, maxcpus: int, support: SmpSupport) -> None:
    """The machine's limits, compared unsigned and printed signed (``-smp -1`` fails the
    maximum check and prints -1)."""
    if cpus < support.min_cpus:
        raise QemuRefusal(f"Invalid SMP CPUs {_d(cpus)}. The min CPUs supported by machine "
                          f"'{support.name}' is {support.min_cpus}")
    if maxcpus > support.max_cpus:
        raise QemuRefusal(f"Invalid SMP CPUs {_d(maxcpus)}. The max CPUs supported by machine "
                          f"'{support.name}' is {support.max_cpus}")


def resolve_smp(given: dict[str, int], support: SmpSupport) -> SmpConfig:
    """Fill in omitted values and validate; raise QEMU's own error text.

    ``given`` holds only the keys the user wrote (after merging every -smp,
    ``-machine smp.*`` and ``[smp-opts]``), as the numbers QEMU parsed them.
    """
    release = support.release
    if release is None or release.has("smp-generic-parser"):
        return _generic(given, support)
    if release.has("smp-legacy-parser-6.1"):
        return _legacy(given, support, qapi=True)
    assert release.has("smp-legacy-parser"), f"QEMU {release}: no -smp parser"
    return _legacy(given, support, qapi=False)


# ---------------------------------------------------------------- 5.2 to 6.1

def _legacy(given: dict[str, int], support: SmpSupport, qapi: bool) -> SmpConfig:
    """smp_parse / pc_smp_parse of QEMU 5.2-6.1 (hw/core/machine.c, hw/i386/pc.c)."""
    release = support.release
    pc = "dies" in support.levels  # pc_smp_parse: the machines with CPU dies
    if qapi and not pc and given.get("dies", 0) not in (0, 1):
        raise QemuRefusal("dies not supported by this machine's CPU topology")
    u = {k: _u32(v) for k, v in given.items()}
    origin = {k: "given" for k in given}
    cpus, sockets = u.get("cpus", 0), u.get("sockets", 0)
    cores, threads = u.get("cores", 0), u.get("threads", 0)
    dies = u.get("dies", 1) if pc else 1
    if not pc and "dies" in given:
        origin["dies"] = "ignored: this machine has no dies"

    def given_maxcpus(default: int) -> int:  # qemu_opt_get_number(opts, "maxcpus", cpus)
        return u.get("maxcpus", default)

    def default(key: str, value: int) -> int:
        if not value:
            origin[key] = "default 1"
        return value or 1

    if cpus == 0 or sockets == 0:
        cores, threads = default("cores", cores), default("threads", threads)
        if cpus == 0:
            sockets = default("sockets", sockets)
            cpus = _u32(cores * threads * dies * sockets)
            origin["cpus"] = "product of the levels"
        else:
            sockets = _div(given_maxcpus(cpus), _u32(cores * threads * dies), release)
            origin["sockets"] = f"computed from maxcpus: QEMU {release} prefers sockets"
    elif cores == 0:
        threads = default("threads", threads)
        cores = _div(cpus, _u32(sockets * dies * threads), release) or 1
        origin["cores"] = f"computed from cpus (not maxcpus), as QEMU {release} does"
    elif threads == 0:
        threads = _div(cpus, _u32(cores * dies * sockets), release) or 1
        origin["threads"] = f"computed from cpus (not maxcpus), as QEMU {release} does"
    elif _u32(sockets * dies * cores * threads) < cpus:
        dies_text = f"dies ({dies}) * " if pc else ""
        raise QemuRefusal(f"cpu topology: sockets ({sockets}) * {dies_text}cores ({cores}) * "
                          f"threads ({threads}) < smp_cpus ({cpus})")
    maxcpus = given_maxcpus(cpus)
    origin.setdefault("maxcpus", "equal to cpus")
    if maxcpus < cpus:
        raise QemuRefusal("maxcpus must be equal to or greater than smp")
    if _u32(sockets * dies * cores * threads) != maxcpus:
        if pc:
            raise QemuRefusal(
                f"Invalid CPU topology deprecated: sockets ({sockets}) * dies ({dies}) * "
                f"cores ({cores}) * threads ({threads}) != maxcpus ({maxcpus})")
        raise QemuRefusal(f"Invalid CPU topology: sockets ({sockets}) * cores ({cores}) * "
                          f"threads ({threads}) != maxcpus ({maxcpus})")
    _min_max(cpus, maxcpus, support)
    for lvl in OPTIONAL_LEVELS:
        origin.setdefault(lvl, "default 1")
    return SmpConfig(cpus=cpus, maxcpus=maxcpus, sockets=sockets, dies=dies, cores=cores,
                     threads=threads, origin=origin)


# ---------------------------------------------------------------- 6.2 and later

def _hierarchy(support: SmpSupport, v: dict[str, int]) -> str:
    """QEMU's cpu_hierarchy_to_string(): supported levels, coarsest first."""
    parts: list[str] = []
    for lvl in LEVELS:
        if lvl in ("sockets", "cores", "threads") or lvl in support.levels:
            parts.append(f"{lvl} ({v[lvl]})")
    return " * ".join(parts)


def _check_levels(given: dict[str, int], support: SmpSupport) -> None:
    """Levels the machine lacks: 9.0.2 and later refuse a value above 1 (compared as the
    int64 QEMU parsed); 6.2-8.2 compared the unsigned copy, in another order and words."""
    release = support.release
    if release is None or release.has("smp-unsupported-level-gt1"):
        for lvl in ("modules", "clusters", "dies", "books", "drawers"):
            if lvl not in support.levels and given.get(lvl, 0) > 1:
                raise QemuRefusal(f"{lvl} > 1 not supported by this machine's CPU topology")
        return
    assert release.has("smp-unsupported-level-not-supported")
    for lvl in ("dies", "clusters", "books", "drawers"):
        if lvl not in support.levels and _u32(given.get(lvl, 0)) > 1:
            raise QemuRefusal(f"{lvl} not supported by this machine's CPU topology")


def _generic(given: dict[str, int], support: SmpSupport) -> SmpConfig:
    """machine_parse_smp_config (hw/core/machine-smp.c; smp_parse in 6.2)."""
    release = support.release
    warnings: list[str] = []
    origin: dict[str, str] = {k: "given" for k in given}
    if any(v == 0 for v in given.values()):
        if release is None or release.has("smp-zero-is-error"):
            raise QemuRefusal(
                "Invalid CPU topology: CPU topology parameters must be greater than zero")
        assert release.has("smp-zero-warns")
        warnings.append("Deprecated CPU topology (considered invalid): "
                        "CPU topology parameters must be greater than zero")
    _check_levels(given, support)
    u = {k: _u32(v) for k, v in given.items()}
    vals: dict[str, int] = {}
    for lvl in OPTIONAL_LEVELS:
        vals[lvl] = u.get(lvl, 0) or 1
        if not u.get(lvl, 0):
            origin[lvl] = "default 1"

    cpus, maxcpus = u.get("cpus", 0), u.get("maxcpus", 0)
    sockets, cores, threads = u.get("sockets", 0), u.get("cores", 0), u.get("threads", 0)
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
        basis = "maxcpus" if u.get("maxcpus", 0) else "cpus"
        if support.prefer_sockets:
            if not sockets:
                if not cores:
                    origin["cores"] = "default 1"
                if not threads:
                    origin["threads"] = "default 1"
                cores = cores or 1
                threads = threads or 1
                sockets = _div(maxcpus, _u32(fixed * cores * threads), release)
                origin["sockets"] = f"computed from {basis}: {support.name} prefers sockets"
            elif not cores:
                if not threads:
                    origin["threads"] = "default 1"
                threads = threads or 1
                cores = _div(maxcpus, _u32(fixed * sockets * threads), release)
                origin["cores"] = f"computed from {basis}"
        else:
            if not cores:
                if not sockets:
                    origin["sockets"] = "default 1"
                if not threads:
                    origin["threads"] = "default 1"
                sockets = sockets or 1
                threads = threads or 1
                cores = _div(maxcpus, _u32(fixed * sockets * threads), release)
                origin["cores"] = f"computed from {basis}: {support.name} prefers cores"
            elif not sockets:
                if not threads:
                    origin["threads"] = "default 1"
                threads = threads or 1
                sockets = _div(maxcpus, _u32(fixed * cores * threads), release)
                origin["sockets"] = f"computed from {basis}"
        if not threads:
            threads = _div(maxcpus, _u32(fixed * sockets * cores), release)
            origin["threads"] = f"computed from {basis}"

    total = _u32(fixed * sockets * cores * threads)
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
    _min_max(cpus, maxcpus, support)
    return SmpConfig(
        cpus=cpus, maxcpus=maxcpus, sockets=sockets, cores=cores, threads=threads,
        origin=origin, warnings=tuple(warnings), **vals,
    )
