"""Whether a release knows an ``-object``'s qom-type, and where it says it does not.

Measured on 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (the tables: :mod:`cmdxlate.catalog.object_types`):

* From 6.0 the QAPI visitor reads the qom-type first, while argv is read: a name its
  enum lacks is refused at the option, before a missing id (``Parameter 'qom-type' does
  not accept value 'foo'``; 6.0 and 6.1: ``Invalid parameter 'foo'``).
* A name in the enum that the binary cannot make (``s390-pv-guest`` on x86_64, a type of
  a build option Debian leaves out) is refused when the object is made, after its id is
  checked, without a location: ``invalid object type: s390-pv-guest``.
* 5.2 has no enum: a type the binary cannot make is refused when the object is made,
  after a missing id, at the option.

Objects are made in QEMU's order (:meth:`cmdxlate.model.objects.Objects.creation_refusals`):
the other objects in argv order, then the memory backends, each before its properties.
"""

from __future__ import annotations

from cmdxlate.catalog.object_types import enum_names, made_names
from cmdxlate.error import QemuRefusal, Where
from cmdxlate.model.backend_members import enum_error
from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release


@dataclass(frozen=True, slots=True)
class MadeObject:
    """An object other than a memory backend that QEMU goes on to make (its type is
    checked then, once the binary's architecture is known)."""

    qom_type: str
    where: Where


def visitor_refusal(qom_type: str, release: Release) -> QemuRefusal | None:
    """6.0+: the visitor's refusal of a qom-type its enum lacks (without a location)."""
    names = enum_names(release.version)
    if names is None or not names.lacks(qom_type):
        return None
    return enum_error("qom-type", qom_type, release)


def creation_refusal(qom_type: str, where: Where, release: Release, arch: str | None
                     ) -> QemuRefusal | None:
    """The refusal of a type the ``arch`` binary cannot make, when QEMU makes the object
    (at the option in 5.2); None when it can, or when cmdxlate does not know."""
    if arch is None:
        return None
    names = made_names(release.version, arch)
    if names is None or not names.lacks(qom_type):
        return None
    message = f"invalid object type: {qom_type}"
    if release.has("object-cli-visitor"):
        return QemuRefusal(message)
    return QemuRefusal(message, where=where, located=True)


__all__ = ["MadeObject", "creation_refusal", "visitor_refusal"]
