"""Which ``-object`` qom-types a release takes (data/object_types.json), measured on real
binaries: the QAPI enum the 6.0+ visitor reads, and the types each binary can make.

A release that was not measured takes what the measured releases around it share
(:func:`cmdxlate.catalog.properties.bracketed`); of the enum names only one of them has,
those whose first release was read in QEMU's source are decided by it, the others are
*unsure* and never refused. No list at all means nothing is refused.
"""

from __future__ import annotations

from functools import lru_cache

from cmdxlate.catalog.properties import Names, bracketed, lists_by_release
from cmdxlate.catalog.version import Version

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# The enum was made in 6.0 (the QAPI object visitor); 5.2 knows types only as QOM does.
FIRST_ENUM = Version.parse("6.0")


@lru_cache(maxsize=1)
def _data() -> Any:
    from cmdxlate.catalog.datafiles import read_json

    return read_json("object_types.json")


@lru_cache(maxsize=32)
def enum_names(release: Version) -> Names | None:
    """The qom-types the visitor takes in ``release`` (None before 6.0)."""
    if release < FIRST_ENUM:
        return None
    data = _data()
    measured = lists_by_release(data["enum_measured"])
    since = {k: Version.parse(v) for k, v in data["enum_since"].items()}
    first = min(measured)
    if release < first:  # 6.0 to 7.1: the first measured enum, less what came later
        names: Names | None = Names(frozenset(t for t in measured[first]
                                              if t not in since or since[t] <= release))
    else:
        names = bracketed(measured, release)
    if names is None:  # after the newest measured release: nothing is refused
        return None
    known = set(names.known) | {t for t in names.unsure if t in since and since[t] <= release}
    unsure = {t for t in names.unsure if t not in since}
    unsure |= {t for t, v in data["enum_build_option"].items() if Version.parse(v) <= release}
    return Names(frozenset(known), frozenset(unsure - known))


@lru_cache(maxsize=64)
def made_names(release: Version, arch: str) -> Names | None:
    """The types the ``arch`` binary of ``release`` can make (None: not known); those a
    build or host may have or lack are unsure."""
    data = _data()
    if release < FIRST_ENUM:
        found = data["qom_5_2"].get(arch)
        names = None if found is None else Names(frozenset(found))
    else:
        measured = {Version.parse(r): frozenset(by_arch[arch])
                    for r, by_arch in data["qom_measured"].items() if arch in by_arch}
        names = bracketed(measured, release) if measured else None
    if names is None:
        return None
    host = {t for t, w in data["made_depends_on_host"].items()
            if Version.parse(w["since"]) <= release and (w["arches"] is None
                                                         or arch in w["arches"])}
    return Names(names.known, (names.unsure | host) - names.known)


def abstract_5_2(arch: str) -> frozenset[str]:
    """5.2's abstract user-creatable types on the ``arch`` binary."""
    table = _data()["abstract_5_2"]
    return frozenset(table.get(arch, table["all"]))


@lru_cache(maxsize=1)
def with_required_members() -> frozenset[str]:
    """The types that cannot be given with a qom-type and an id alone."""
    return frozenset(_data()["with_required_members"])


__all__ = ["FIRST_ENUM", "abstract_5_2", "enum_names", "made_names", "with_required_members"]
