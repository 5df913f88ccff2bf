"""Whether a release knows an ``-object``'s qom-type, and where it says it does not.

Measured on 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (the tables: :mod:`cmdxlate.catalog.object_types`):

* From 6.0 the QAPI visitor reads the qom-type first, while argv is read: a name its
  enum lacks is refused at the option, before a missing id (``Parameter 'qom-type' does
  not accept value 'foo'``; 6.0 and 6.1: ``Invalid parameter 'foo'``).
* A name in the enum that the binary cannot make (``s390-pv-guest`` on x86_64, a type of
  a build option Debian leaves out) is refused when the object is made, after its id is
  checked, without a location: ``invalid object type: s390-pv-guest``.
* 5.2 has no enum: a type the binary cannot make is refused when the object is made,
  after a missing id, at the option (``object type 'rng-backend' is abstract`` for its
  abstract user-creatable types; a QOM type that is not user-creatable, which QEMU calls
  ``isn't supported by object-add``, is taken for an unknown one).

Objects are made in QEMU's order (:meth:`cmdxlate.model.objects.Objects.all_refusals`):
the thread-contexts before the machine is selected (7.2+), the other objects before the
machine options (5.2: after -smp), the memory backends after the accelerator, each in
argv order and each before its properties.
"""

from __future__ import annotations

from cmdxlate.catalog.object_types import (
    abstract_5_2,
    enum_names,
    made_names,
    with_required_members,
)
from cmdxlate.error import CmdxlateError, InputError, QemuRefusal, Where
from cmdxlate.model.backend_members import enum_error
from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release


@dataclass(frozen=True, slots=True)
class MadeObject:
    """An object other than a memory backend, as QEMU goes on to make it: what it refuses
    first (``refusal``), else its type (checked once the binary's architecture is known),
    then its id."""

    qom_type: str | None  # None: refused, or (5.2) with none
    where: Where | None
    bare: bool = False  # given with its qom-type and id alone
    oid: str | None = None
    refusal: QemuRefusal | None = None

    @property
    def members_known(self) -> bool:
        """Whether the visitor passes its members: none given, none needed."""
        return self.bare and self.qom_type not in with_required_members()


def visitor_refusal(qom_type: str, release: Release) -> QemuRefusal | None:
    """6.0+: the visitor's refusal of a qom-type its enum lacks (without a location)."""
    names = enum_names(release.version)
    if names is None or not names.lacks(qom_type):
        return None
    return enum_error("qom-type", qom_type, release)


def creation_refusal(qom_type: str, where: Where, release: Release, arch: str | None,
                     members_known: bool) -> CmdxlateError | None:
    """The refusal of a type the ``arch`` binary cannot make, when QEMU makes the object
    (at the option in 5.2); None when it can, or when cmdxlate does not know. From 6.0
    the visitor first checks the members: unless cmdxlate knows they pass
    (``members_known``: a memory backend, or a bare object whose type needs none), it
    cannot tell which refusal QEMU prints."""
    if arch is None:
        return None
    names = made_names(release.version, arch)
    if names is None or not names.lacks(qom_type):
        return None
    message = f"invalid object type: {qom_type}"
    if not release.has("object-cli-visitor"):
        if qom_type in abstract_5_2(arch):
            message = f"object type '{qom_type}' is abstract"
        return QemuRefusal(message, where=where, located=True)
    if members_known:
        return QemuRefusal(message)
    return InputError(
        f"the {arch} binary of QEMU {release} cannot make an object of type '{qom_type}' "
        "(invalid object type), and whether QEMU refuses its members first depends on "
        "members cmdxlate does not model",
        where=where, hint="QEMU refuses the line either way")


__all__ = ["MadeObject", "creation_refusal", "visitor_refusal"]
