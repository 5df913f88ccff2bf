"""A memory backend's members: which each type has, the values QEMU takes, and how each
release refuses the others.

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
* A member's value of the wrong type is refused in the same places (6.0+: in schema
  order, as the visitor reads them); :func:`value_error` has QEMU's words for the typed
  members (booleans, ``prealloc-threads``, sizes, ``rom``, strings).
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal
from cmdxlate.syntax.numbers import c_uint64, json_uint64, parse_uint
from cmdxlate.syntax.sizes import c_size, size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

_VISITED_FIRST = ("qom-type", "id")  # ObjectOptions' base, read before the type's members
# The QAPI types of the members value_error checks (qapi/qom.json); the others (size,
# mem-path, host-nodes, policy) have checks of their own in model.objects and hostmem.
_BOOLS = frozenset({"dump", "merge", "prealloc", "share", "reserve",
                    "x-use-canonical-path-for-ramblock-id", "discard-data", "pmem", "readonly",
                    "hugetlb", "seal"})
_UINT32 = frozenset({"prealloc-threads"})
_SIZES = frozenset({"align", "offset", "hugetlbsize"})
_STRINGS = frozenset({"prealloc-context"})
_ENUMS = {"rom": ("auto", "on", "off")}  # OnOffAuto
_TEXT_BOOLS = frozenset({"on", "yes", "true", "y", "off", "no", "false", "n"})
_U64 = 1 << 64


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


def value_error(key: str, value: object, release: Release, json: bool,
                keyval: bool = False) -> QemuRefusal | None:
    """What QEMU says of this member's value (an option string's text, or a JSON value),
    or None when it takes it (or cmdxlate does not check this member). ``keyval``: a
    -readconfig [object] from 6.1, whose text the keyval visitor reads (measured on
    7.2.22, 10.0.2, 11.1.3: ``expects integer``, ``expects size``)."""
    if json:
        return _json_value_error(key, value, release)
    assert isinstance(value, str)
    if keyval and key in _UINT32:
        try:
            wrapped = c_uint64(value)  # qemu_strtou64: a minus sign wraps
        except (ValueError, OverflowError):
            return QemuRefusal(f"Parameter '{key}' expects integer")
        return QemuRefusal(f"Parameter '{key}' expects uint32_t") if wrapped >= 1 << 32 else None
    if keyval and key in _SIZES:
        try:
            c_size(value, 0, size_syntax(release))
        except ValueError:
            return QemuRefusal(f"Parameter '{key}' expects size")
        return None
    if key in _BOOLS:
        ok = value in _TEXT_BOOLS
        return None if ok else QemuRefusal(f"Parameter '{key}' expects 'on' or 'off'")
    if key in _UINT32:
        number = parse_uint(value)
        if number is None or number >= _U64:
            return QemuRefusal(f"Parameter '{key}' expects a uint64 value")
        return QemuRefusal(f"Parameter '{key}' expects uint32_t") if number >= 1 << 32 else None
    if key in _SIZES:
        try:
            c_size(value, 0, size_syntax(release))
        except ValueError:
            return QemuRefusal(f"Parameter '{key}' expects a size value")
        return None
    if key in _ENUMS and value not in _ENUMS[key]:
        return enum_error(key, value, release)
    return None


def _json_value_error(key: str, value: object, release: Release) -> QemuRefusal | None:
    if key in _BOOLS and not isinstance(value, bool):
        return QemuRefusal(f"Invalid parameter type for '{key}', expected: boolean")
    if key in _UINT32 or key in _SIZES:
        number = json_uint64(value)
        if number is None:
            return QemuRefusal(f"Parameter '{key}' expects uint64")
        if key in _UINT32 and number >= 1 << 32:
            return QemuRefusal(f"Parameter '{key}' expects uint32_t")
        return None
    if (key in _STRINGS or key in _ENUMS) and not isinstance(value, str):
        return QemuRefusal(f"Invalid parameter type for '{key}', expected: string")
    if key in _ENUMS and value not in _ENUMS[key]:
        return enum_error(key, str(value), release)
    return None


def enum_error(key: str, value: str, release: Release) -> QemuRefusal:
    """What a QAPI visitor says of a value its enum lacks (6.2 names the parameter)."""
    if release.has("qapi-enum-error-names-parameter"):
        return QemuRefusal(f"Parameter '{key}' does not accept value '{value}'")
    return QemuRefusal(f"Invalid parameter '{value}'")


def creation_error(key: str, value: object, qom_type: str) -> QemuRefusal | None:
    """What setting the property refuses when QEMU creates the backend (after the
    visitor took its type): no preallocation with 0 threads."""
    if key == "prealloc-threads" and value is not None and _as_int(value) == 0:
        return QemuRefusal(f"property 'prealloc-threads' of {qom_type} doesn't take value '0'")
    return None


def _as_int(value: object) -> int | None:
    return parse_uint(value) if isinstance(value, str) else json_uint64(value)


def checked_members() -> frozenset[str]:
    """The members whose values value_error knows."""
    return _BOOLS | _UINT32 | _SIZES | _STRINGS | frozenset(_ENUMS)
