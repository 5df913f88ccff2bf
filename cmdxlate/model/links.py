"""``prealloc-context``: the thread-context a memory backend names (7.2+), found as
QEMU's object_resolve_link finds it when the backend is created.

Measured on QEMU 7.2.22, 10.0.2 and 11.1.3 (``tests/data/prealloc-context-measured.json``):

* The link is resolved when the backend's properties are set, after its QAPI visitor
  took the value, and before any other property it sets (prealloc-context comes first
  in QDict order); the refusals have no location.
* A path naming a thread-context is taken: an id (``tc``), ``objects/tc`` or
  ``/objects/tc`` (empty components skipped). Every object but the late ones is made
  before the memory backends, so a thread-context given after the backend is found.
* A path naming something else that exists is ``Invalid parameter type for
  'prealloc-context', expected: thread-context``: an object made already (a backend
  before this one, any other early object), a chardev, or one of the containers QEMU
  makes before the backends (:data:`ALWAYS_THERE`, :data:`ROOT_CHILDREN`: before 10.0
  /objects is made with the first object, so ``objects`` is not found before one).
  Anything else is ``Device 'PATH' not found``: a backend given later, this backend
  itself, a late object given later, a typo. An empty value sets no link.
* What cmdxlate cannot see is said so (exit 2; QEMU refuses the line either way): the
  chardevs ``-monitor`` and ``-qmp`` make (``compat_monitorN``), children of objects
  (``NAME[0]``), other paths, and any other name on a board whose tree was not measured
  (:data:`BOARD_CHILDREN`).
"""

from __future__ import annotations

from cmdxlate.error import CmdxlateError, InputError, QemuRefusal
from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from cmdxlate.catalog.releases import Release
    from cmdxlate.syntax.argv import CommandLine

THREAD_CONTEXT = "thread-context"
LINK = "prealloc-context"  # the link property a backend has

# The children of the QOM root and of the machine (and the machine's system bus and
# memory regions) when the late backends are made: the same on x86_64 q35, pc, microvm
# and isapc, aarch64 virt and sbsa-ref, ppc64 pseries, s390x s390-ccw-virtio, riscv64
# virt and loongarch64 virt (10.0.2: every name of the paused VM's tree tried as a
# prealloc-context, tests/data/prealloc-context-measured.json "trees").
ALWAYS_THERE = frozenset({
    "unattached", "peripheral", "peripheral-anon", "sysbus", "system[0]", "io[0]",
})
# The root's own containers: made with the root from 10.0, on first use before.
ROOT_CHILDREN = frozenset({"machine", "objects", "chardevs", "backend"})
# What the boards whose trees were measured add by then (10.0.2, as above), by family.
BOARD_CHILDREN: dict[str, frozenset[str]] = {
    "pc-q35": frozenset(), "pc-i440fx": frozenset(), "microvm": frozenset(),
    "isapc": frozenset(), "s390-ccw-virtio": frozenset(),
    "virt": frozenset({"virt.flash0", "virt.flash1"}),
    "riscv-virt": frozenset({"virt.flash0", "virt.flash1"}),
    "pseries": frozenset({"dr-connector"}),
    "loongarch-virt": frozenset({"virt.flash0", "virt.flash1"}),
    "sbsa-ref": frozenset({"sbsa.flash0", "sbsa.flash1"}),
}


@dataclass(frozen=True, slots=True)
class Tree:
    """What QEMU's object tree holds when a backend is made, as far as cmdxlate follows
    it: /objects (id -> qom-type), the earlier backends whose prealloc-context link is
    set (a partial path goes through links), the line's -chardev ids, the board family
    (None: not known) and the release."""

    made: Mapping[str, str]
    linked: frozenset[str]
    chardevs: Callable[[], Collection[str]]
    board: str | None
    release: Release


def link_error(path: str, tree: Tree, backend: str) -> CmdxlateError | None:
    """What setting ``prealloc-context`` to ``path`` refuses (object_resolve_link): one
    thread-context found is taken, several are ambiguous; with none, a path naming
    anything is of the wrong type, else not found."""
    if path == "":
        return None
    parts = [p for p in path.split("/") if p]
    absolute = path.startswith("/")
    found = _contexts(parts, absolute, tree)
    if found == 1:
        return None
    if found > 1:
        return QemuRefusal(f"Path '{path}' does not uniquely identify an object")
    exists = _exists(parts, absolute, tree)
    if exists is None:
        return _cannot_tell(path, backend)
    if exists:
        return QemuRefusal("Invalid parameter type for 'prealloc-context', expected: "
                           f"{THREAD_CONTEXT}")
    return QemuRefusal(f"Device '{path}' not found")


def _contexts(parts: list[str], absolute: bool, tree: Tree) -> int:
    """How many thread-contexts the path reaches: /objects/ID, or an earlier backend's
    link (``m0/prealloc-context``; a bare ``prealloc-context`` reaches every one)."""
    if len(parts) == 2 and parts[0] == "objects":
        return int(tree.made.get(parts[1]) == THREAD_CONTEXT)
    if len(parts) == 1 and not absolute:
        return (int(tree.made.get(parts[0]) == THREAD_CONTEXT)
                + (len(tree.linked) if parts[0] == LINK else 0))
    owner = _link_owner(parts, absolute)
    return int(owner is not None and owner in tree.linked)


def _link_owner(parts: list[str], absolute: bool) -> str | None:
    """The object whose link a path follows: ``m0/prealloc-context``,
    ``objects/m0/prealloc-context`` or ``/objects/m0/prealloc-context``."""
    owner = parts[:-1] if parts[-1:] == [LINK] else []
    if (len(owner) == 1 and not absolute) or (len(owner) == 2 and owner[0] == "objects"):
        return owner[-1]
    return None


def _exists(parts: list[str], absolute: bool, tree: Tree) -> bool | None:
    """Whether the path names anything (None: cmdxlate cannot tell)."""
    if len(parts) == 2 and parts[0] == "objects":
        return parts[1] in tree.made
    if _link_owner(parts, absolute) is not None:
        return False  # a backend's link that is not set (or no backend): nothing
    if len(parts) == 2 and parts[0] == "chardevs":
        return True if parts[1] in tree.chardevs() else None
    if absolute:
        if not parts:
            return True  # the root
        if len(parts) == 1 and parts[0] in ROOT_CHILDREN:
            return _root_child(parts[0], tree)
        extra = BOARD_CHILDREN.get(tree.board or "")
        if len(parts) == 1 and extra is not None:  # the root has no other child
            return parts[0] in extra  # (pseries' /dr-connector is the root's)
        return None
    if len(parts) != 1:
        return None
    name = parts[0]
    extra = BOARD_CHILDREN.get(tree.board or "")
    if (name in tree.made or name in ALWAYS_THERE or name in tree.chardevs()
            or (extra is not None and name in extra)):
        return True
    if name in ROOT_CHILDREN:
        return _root_child(name, tree)
    if "[" in name or name.startswith("compat_monitor") or extra is None:
        return None
    return False


def _root_child(name: str, tree: Tree) -> bool | None:
    """Whether the root's container ``name`` exists when the backend is made: from 10.0
    always; before, /objects once an object is made and /chardevs once a chardev is (a
    monitor's among them, which cmdxlate does not follow), /backend on first use."""
    if name == "machine" or tree.release.has("qom-root-containers-at-start"):
        return True
    if name == "objects":
        return bool(tree.made)
    if name == "chardevs" and tree.chardevs():
        return True
    return None


def chardev_ids(line: CommandLine) -> set[str]:
    """The ids of the line's -chardev options, made before any object."""
    ids: set[str] = set()
    for opt in line.find("chardev"):
        try:
            oid = opt.get("id")
        except CmdxlateError:
            continue  # refused where QEMU reads it
        if oid is not None:
            ids.add(oid)
    return ids


def _cannot_tell(path: str, backend: str) -> InputError:
    return InputError(
        f"memory backend '{backend}': prealloc-context '{path}' names no thread-context, and "
        "QEMU's words for it depend on objects cmdxlate does not model",
        hint="QEMU refuses the line either way; name a -object thread-context by its id")


__all__ = ["ALWAYS_THERE", "BOARD_CHILDREN", "ROOT_CHILDREN", "THREAD_CONTEXT", "Tree",
           "chardev_ids", "link_error"]
