"""A memory backend's members that its type does not have, and how each release says so.

Measured on QEMU 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (``tests/data/memory-measured.json``);
the members of each type per release are the catalog's ``memory_backend_members`` fact:

* From 6.0 (``object-cli-visitor``) the QAPI visitor reads a backend's members while
  argv is read, in schema order, and then refuses what is left, at the option: an
  option string (QemuOpts' opts visitor) with ``Invalid parameter 'KEY'``, JSON with
  ``Parameter 'KEY' is unexpected``.  Of several, it names the one its hash table of
  unread keys lists first (:mod:`cmdxlate.resolver.qdict_order`).
* 5.2 sets each property as it creates the object, in QDict order: one its type lacks
  is ``Property 'TYPE.KEY' not found``; ``type``, every object's read-only property,
  ``Insufficient permission to perform this operation``.
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

_VISITED_FIRST = ("qom-type", "id")  # ObjectOptions' base, read before the type's members


def members(qom_type: str, release: Release) -> list[str] | None:
    """The members of ``qom_type`` in the order QEMU's visitor reads them (5.2: its
    properties); None for a type cmdxlate does not know in this release."""
    table: dict[str, list[str]] = release.fact("memory_backend_members")
    if qom_type == "base" or qom_type not in table:
        return None
    return table["base"] + table[qom_type]


def unexpected_member(qom_type: str, keys: list[str], release: Release, json: bool
                      ) -> QemuRefusal | None:
    """6.0+: what the visitor says of the members left unread, ``keys`` being the names
    as the option gives them; None when there are none (or the type is unknown)."""
    known = members(qom_type, release)
    if known is None:
        return None
    extra = [k for k in keys if k not in known and k not in _VISITED_FIRST]
    if not extra:
        return None
    if len(extra) > 1:
        # resolver imports model: imported here, and only for a second unknown member
        from cmdxlate.resolver.qdict_order import first_left, qdict_iteration_order

        if json:  # the visitor's table takes the keys in the QDict's order
            inserted = list(qdict_iteration_order(keys))
        else:  # the opts visitor's takes QemuOpts' order, then the id QemuOpts set apart
            names = list(dict.fromkeys(keys))
            inserted = [k for k in names if k != "id"] + (["id"] if "id" in names else [])
        read = [k for k in (*_VISITED_FIRST, *known) if k in inserted]
        extra = [first_left(inserted, read) or extra[0]]
    if json:
        return QemuRefusal(f"Parameter '{extra[0]}' is unexpected")
    return QemuRefusal(f"Invalid parameter '{extra[0]}'")


def property_errors(qom_type: str, keys: list[str], release: Release
                    ) -> dict[str, QemuRefusal]:
    """5.2: the refusal of each property ``qom_type`` cannot set, by key (QEMU meets
    them in QDict order, with the type's other properties)."""
    known = members(qom_type, release)
    if known is None:
        return {}
    out: dict[str, QemuRefusal] = {}
    for key in keys:
        if key == "type":
            out[key] = QemuRefusal("Insufficient permission to perform this operation")
        elif key not in known and key not in _VISITED_FIRST:
            out[key] = QemuRefusal(f"Property '{qom_type}.{key}' not found")
    return out
