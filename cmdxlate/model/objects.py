"""``-object``: the memory backends a line defines, and when each release refuses them.

Measured on QEMU 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (``tests/data/memory-measured.json``):

* An option-string -object is a QemuOpts entry in every release: its *first* ``id=``
  names it (QemuOpts' opts_parse_id) and a repeated id is refused while argv is
  read, at the option (``Duplicate ID 'm0' for object``).
* From 6.0 (``object-cli-visitor``) QEMU visits the object's QAPI members while argv
  is read, also at the option: a missing ``id``, ``size`` or ``mem-path``, a size
  that is no size (``expects a size value``; JSON: ``expects uint64``).  5.2 finds
  the same mistakes when it creates the object (``can't create backend with size
  0``, ``mem-path property not set``), and reads ``-object {...}`` as an option
  string without an id (``object-json``: 6.0).
* A backend's ``host-nodes`` and ``policy`` are read with its other members and
  checked when it is created (``model.hostmem``); a member's value of the wrong type is
  refused from 6.0 while argv is read, in schema order, and in 5.2 among the properties
  set at creation, in QDict order; a member its type lacks comes after the others
  (``model.backend_members``).
* Creation comes later (qemu_create_late_backends): a size of 0 is refused there
  (at the option in 5.2, without a location from 6.0), and from 6.0 so is an id a
  JSON object repeats (``attempt to add duplicate property``), which QemuOpts
  never saw; the other objects are made before the memory backends.
"""

from __future__ import annotations

from cmdxlate.error import CmdxlateError, InputError, QemuRefusal, Where
from cmdxlate.model.backend_members import (
    checked_members,
    creation_error,
    members,
    property_errors,
    unexpected_member,
    value_error,
)
from cmdxlate.model.hostmem import (
    Binding,
    complete_error,
    first_in_qdict_order,
    read_json_members,
    read_text_member,
    set_error,
)
from cmdxlate.model.links import THREAD_CONTEXT, Tree, link_error
from cmdxlate.model.optloop import object_list_item_errors, reader_where
from cmdxlate.model.qom_types import MadeObject, creation_refusal, visitor_refusal
from cmdxlate.records import dataclass, field
from cmdxlate.syntax.argv import Option
from cmdxlate.syntax.numbers import json_uint64
from cmdxlate.syntax.optstring import ID_HINT, OptString, id_wellformed
from cmdxlate.syntax.sizes import c_size, hex_suffix_warning, size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from cmdxlate.catalog.releases import Release

MEMORY_BACKEND = "memory-backend-"
_BASE = frozenset({"qom-type", "id"})  # ObjectOptions' own members
# Objects QEMU 6.0+ creates with or after the memory backends (object_create_early
# says no): an id they repeat is not one a memory backend repeats.
_LATE_OBJECTS = frozenset({
    "rng-egd", "qtest", "cryptodev-vhost-user", "vhost-user-blk-server", "filter-buffer",
    "filter-dump", "filter-mirror", "filter-redirector", "colo-compare", "filter-rewriter",
    "filter-replay",
})


@dataclass(slots=True)
class Backend:
    """A memory backend ``-object``: its id, type and size in bytes (None: none given)."""

    id: str
    qom_type: str
    size: int | None
    where: Where
    error: CmdxlateError | None = None  # QEMU refuses it (or crashes) when it creates it
    # Its prealloc-context (7.2+), resolved when it is created, before what ``error`` says.
    link: str | None = None
    made: bool = True  # QEMU goes on to make it (no refusal of its id comes first)


@dataclass(slots=True)
class Objects:
    """What build_spec learns from the -object options, in argv order."""

    backends: dict[str, Backend] = field(default_factory=dict)  # by id: the first
    created: list[Backend] = field(default_factory=list)  # every backend, in order
    # The other objects in argv order, as QEMU goes on to make them (model.qom_types).
    others: list[MadeObject] = field(default_factory=list)
    qemuopts_ids: set[str] = field(default_factory=set)
    # Ids of the objects 6.0+ creates before any memory backend (all but the late ones).
    early_ids: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # QEMU's, as it reads the options
    # The other objects' types by id (the first), and the late ones with the number of
    # backends given before each: what a prealloc-context can name (model.links).
    types: dict[str, str] = field(default_factory=dict)
    late: list[tuple[int, str]] = field(default_factory=list)

    def refuse(self, refusal: QemuRefusal) -> None:
        """An object other than a memory backend that QEMU refuses before it looks at its
        type (5.2: no id; 6.0+: an id that is no identifier)."""
        self.others.append(MadeObject(None, None, refusal=refusal))

    def made_early(self, oid: str, qom_type: str | None, where: Where, bare: bool) -> None:
        """An object made before the memory backends (6.0+: every one but the late ones;
        qom_type None: 5.2 refused it already)."""
        self.others.append(MadeObject(qom_type, where, bare, oid))
        self.early_ids.add(oid)
        self.types.setdefault(oid, qom_type or "")

    def made_late(self, oid: str, qom_type: str) -> None:
        """An object other than a memory backend that is made with them, in argv order."""
        self.types.setdefault(oid, qom_type or "")
        self.late.append((len(self.created), oid))

    def pre_sandbox_refusals(self, release: Release, arch: str | None) -> list[CmdxlateError]:
        """7.2+: the thread-contexts, made before QEMU even selects the machine."""
        if not release.has("thread-context-pre-sandbox"):
            return []
        return _make([o for o in self.others if o.qom_type == THREAD_CONTEXT], release, arch)

    def early_refusals(self, release: Release, arch: str | None) -> list[CmdxlateError]:
        """The other objects' refusals as QEMU makes them, the thread-contexts first (7.2+):
        a type the ``arch`` binary cannot make, an id made already."""
        order = self.others
        if release.has("thread-context-pre-sandbox"):
            order = ([o for o in order if o.qom_type == THREAD_CONTEXT]
                     + [o for o in order if o.qom_type != THREAD_CONTEXT])
        return _make(order, release, arch)

    def creation_refusals(self, release: Release, arch: str | None = None,
                          chardevs: Callable[[], Collection[str]] = lambda: (),
                          board: str | None = None) -> list[CmdxlateError]:
        """What creating the memory backends refuses, in QEMU's order (the other objects
        were made before): each one's type, its prealloc-context (``chardevs``: the
        line's -chardev ids; ``board``: the machine's family), its own refusal or (6.0+)
        its repeated id, which only objects that QemuOpts did not hold can repeat."""
        out: list[CmdxlateError] = []
        made = set(self.early_ids) if release.has("object-json") else set()

        def add(oid: str) -> None:  # an id made already fails as the object is added
            if oid in made:
                out.append(_duplicate(oid))
            made.add(oid)

        late: dict[int, list[str]] = {}  # the late objects given before backend N
        for count, oid in self.late:
            late.setdefault(count, []).append(oid)
        for i, backend in enumerate(self.created):
            for oid in late.get(i, ()):
                add(oid)
            error = backend.error
            unmade = (creation_refusal(backend.qom_type, backend.where, release, arch,
                                       True) if backend.made else None)
            if unmade is not None:
                error = unmade
            elif backend.link is not None:
                tree = Tree(self._made_before(i),
                            frozenset(b.id for b in self.created[:i] if b.link), chardevs,
                            board, release)
                error = link_error(backend.link, tree, backend.id) or error
            if error is not None:
                out.append(error)
                made.add(backend.id)
            else:
                add(backend.id)
        for oid in late.get(len(self.created), ()):
            add(oid)
        return out

    def all_refusals(self, release: Release, arch: str | None = None,
                     chardevs: Callable[[], Collection[str]] = lambda: (),
                     board: str | None = None) -> list[CmdxlateError]:
        """Every refusal of object creation, in QEMU's order (without the machine's own
        checks between them)."""
        return (self.pre_sandbox_refusals(release, arch) + self.early_refusals(release, arch)
                + self.creation_refusals(release, arch, chardevs, board))

    def _made_before(self, index: int) -> dict[str, str]:
        """The objects that exist when the backend ``index`` is made (id -> qom-type)."""
        made = {oid: self.types[oid] for oid in self.early_ids}
        made.update((oid, self.types[oid]) for count, oid in self.late if count <= index)
        for backend in self.created[:index]:
            made.setdefault(backend.id, backend.qom_type)
        return made


def _make(order: list[MadeObject], release: Release, arch: str | None) -> list[CmdxlateError]:
    """Make the objects in ``order``: each one's refusal, its type, then its id (an id
    one of them repeats fails as it is added: JSON ones, QemuOpts refused the others)."""
    out: list[CmdxlateError] = []
    added: set[str] = set()
    for o in order:
        error: CmdxlateError | None = o.refusal
        if error is None and o.qom_type is not None and o.where is not None:
            error = creation_refusal(o.qom_type, o.where, release, arch, o.members_known)
        if error is None and o.oid is not None:
            if o.oid in added:
                error = _duplicate(o.oid)
            added.add(o.oid)
        if error is not None:
            out.append(error)
    return out


def _duplicate(oid: str) -> QemuRefusal:
    return QemuRefusal(f"attempt to add duplicate property '{oid}' to object (type 'container')")


def _refuse(message: str, opt: Option) -> QemuRefusal:
    return QemuRefusal(message, where=opt.where, located=True)


def read_object(opt: Option, release: Release | None, objects: Objects) -> None:
    """File one -object; raise what QEMU refuses while reading argv."""
    if opt.is_json and release is not None and not release.has("object-json"):
        # 5.2: "{...}" is an option string whose qom-type is the text up to the first
        # comma and which has no id=, refused when the object is created.
        objects.refuse(_refuse("Parameter 'id' is missing", opt))
        return
    j = opt.json
    if j is not None:
        _read_json(opt, j, release, objects)
        return
    o = opt.opts
    assert o is not None
    oid = next((p.value for p in o.pairs if p.key == "id"), None)
    if oid is not None and (not opt.from_file or release is None
                            or not release.has("readconfig-object-keyval")):
        if oid in objects.qemuopts_ids:
            raise QemuRefusal(f"Duplicate ID '{oid}' for object",
                              where=reader_where(opt, release), located=True)
        objects.qemuopts_ids.add(oid)
    qtype = o.get("qom-type")
    if qtype is not None and release is not None and release.has("object-cli-visitor"):
        unknown = visitor_refusal(qtype, release)  # the visitor reads it first
        if unknown is not None:
            raise _refuse(unknown.message, opt)
    if not qtype or not qtype.startswith(MEMORY_BACKEND):
        missing = ("qom-type" if qtype is None else "id" if oid is None else None)
        if missing is not None and release is not None:
            # user_creatable_add_opts (5.2, when objects are made) or the 6.0+ visitor
            refusal = _refuse(f"Parameter '{missing}' is missing", opt)
            if release.has("object-cli-visitor"):
                raise refusal
            objects.refuse(refusal)
        if oid is not None and qtype not in _LATE_OBJECTS:
            objects.made_early(oid, qtype, opt.where,
                               all(p.key in _BASE for p in o.pairs))
        elif oid is not None and qtype is not None:
            objects.made_late(oid, qtype)
        return
    visitor = release is not None and release.has("object-cli-visitor")
    keys = list(opt.config_keys) if opt.from_file else [p.key for p in o.pairs]
    text = o.get("size")
    has_file = o.get("mem-path") is not None or qtype != "memory-backend-file"
    binding = Binding()
    setters: dict[str, QemuRefusal | None] = {}  # each property's refusal, by key
    if release is not None:
        binding, setters = _text_binding(o, release)
    if visitor:
        assert release is not None
        _visit(opt, qtype, oid, release, o.has, o.get, setters, json=False)
    size = _size(text, opt, visitor, release)
    if text is not None and release is not None:
        warning = hex_suffix_warning(text, size_syntax(release))
        if warning is not None:  # 6.0 to 7.2 take it
            objects.warnings.append(warning)
    if visitor:
        assert release is not None
        # A -readconfig [object] is a QDict read by the keyval visitor from 6.1 (JSON's
        # words, at the section's last line), a QemuOpts entry before.
        keyval = _keyval(opt, release)
        given = list(dict.fromkeys(k.split(".", 1)[0] for k in keys)) if keyval else keys
        unexpected = unexpected_member(qtype, given, release, json=keyval)
        if unexpected is not None:
            raise _refuse(unexpected.message, opt)
    error: CmdxlateError | None = None
    link: str | None = None
    if release is not None and not visitor and oid is None:
        error = _refuse("Parameter 'id' is missing", opt)  # 5.2: before any property
    if error is None:
        error = object_list_item_errors(opt, qtype, keys, release)
    if error is None and release is not None and not visitor:
        # 5.2 finds at creation what 6.0's visitor refuses while reading argv.
        if oid is not None:
            if isinstance(size, QemuRefusal):
                setters["size"], size = size, None
            names = [k for k in dict.fromkeys(p.key for p in o.pairs)
                     if k not in ("qom-type", "id")]
            setters.update(property_errors(qtype, names, release))
            setters.update(_set_errors(qtype, names, o.get, release))
            error = _created(opt, qtype, size, has_file, binding, setters, names, located=True)
    elif error is None and release is not None:
        assert not isinstance(size, QemuRefusal)
        link = _link(qtype, o.get("prealloc-context"), release)
        error = _created(opt, qtype, size, True, binding, _set_errors(qtype, ["prealloc-threads"],
                                                                      o.get, release),
                         _members(o.has), located=False)
    if error is None and release is not None and oid is not None and isinstance(size, int):
        error = _crash(oid, size, release)
    if oid is None and error is None:
        return
    backend = Backend(oid or "", qtype, None if isinstance(size, QemuRefusal) else size,
                      opt.where, error, link, made=oid is not None)
    if oid is not None:
        objects.backends.setdefault(oid, backend)
    objects.created.append(backend)  # 5.2 refuses one without an id when it creates it


def _read_json(opt: Option, j: dict[str, object], release: Release | None,
               objects: Objects) -> None:
    """A JSON -object (6.0+): members visited while argv is read."""
    qtype, oid = j.get("qom-type"), j.get("id")
    if release is not None:  # ObjectOptions: the qom-type, then the id, of every object
        for key in ("qom-type", "id"):
            if key not in j:
                raise _refuse(f"Parameter '{key}' is missing", opt)
            value = j[key]
            if not isinstance(value, str):
                raise _refuse(f"Invalid parameter type for '{key}', expected: string", opt)
            unknown = visitor_refusal(value, release) if key == "qom-type" else None
            if unknown is not None:
                raise _refuse(unknown.message, opt)
    # user_creatable_add_type checks the id when it creates the object (no location).
    bad_id = (QemuRefusal("Parameter 'id' expects an identifier", hint=ID_HINT)
              if release is not None and isinstance(oid, str) and not id_wellformed(oid)
              else None)
    if not isinstance(qtype, str) or not qtype.startswith(MEMORY_BACKEND):
        if bad_id is not None:
            objects.refuse(bad_id)
        elif isinstance(oid, str) and qtype not in _LATE_OBJECTS:
            objects.made_early(oid, str(qtype), opt.where, set(j) <= _BASE)
        elif isinstance(oid, str):
            objects.made_late(oid, str(qtype))
        return
    raw = j.get("size")
    binding = Binding()
    if release is not None:
        # Each member read on its own: _visit refuses them in schema order.
        refusals: dict[str, QemuRefusal | None] = {}
        read: dict[str, Binding] = {}
        for key in ("host-nodes", "policy"):
            try:
                read[key] = read_json_members({key: j[key]} if key in j else {}, release)
            except QemuRefusal as e:
                refusals[key] = e
        _visit(opt, qtype, oid, release, j.__contains__, j.get, refusals, json=True)
        binding = Binding(read["host-nodes"].nodes, read["policy"].policy)
        unexpected = unexpected_member(qtype, list(j), release, json=True)
        if unexpected is not None:
            raise _refuse(unexpected.message, opt)
    if not isinstance(oid, str) or not isinstance(raw, int):
        return
    raw %= 1 << 64
    error: CmdxlateError | None = None
    link: str | None = None
    if release is not None:
        link = None if bad_id is not None else _link(qtype, j.get("prealloc-context"), release)
        # user_creatable_add_type checks the id before it makes the object.
        error = (bad_id or _created(opt, qtype, raw, True, binding,
                                    _set_errors(qtype, ["prealloc-threads"], j.get, release),
                                    _members(j.__contains__), located=False)
                 or _crash(oid, raw, release))
    backend = Backend(oid, qtype, raw, opt.where, error, link, made=bad_id is None)
    objects.backends.setdefault(oid, backend)
    objects.created.append(backend)


# Before 6.0 or for a type cmdxlate does not know in a release: the members it reads.
_OLD_ORDER = ["host-nodes", "policy", "size", "mem-path"]


def _visit(opt: Option, qtype: str, oid: object, release: Release, given: Callable[[str], bool],
           value: Callable[[str], object], refusals: dict[str, QemuRefusal | None],
           json: bool) -> None:
    """6.0+: what the QAPI visitor refuses at the option, the id first, then each member in
    schema order (``refusals``: host-nodes' and policy's, read already): one of the wrong
    type, a size or mem-path missing or malformed. What it leaves unread comes after."""
    if oid is None:
        raise _refuse("Parameter 'id' is missing", opt)
    checked = checked_members()
    for key in members(qtype, release) or _OLD_ORDER:
        refusal: QemuRefusal | None = None
        if key in ("host-nodes", "policy"):
            refusal = refusals.get(key)
        elif key == "size":
            raw = value("size")
            if not given("size"):
                refusal = QemuRefusal("Parameter 'size' is missing")
            elif json and json_uint64(raw) is None:
                refusal = QemuRefusal("Parameter 'size' expects uint64")
            elif not json:
                assert isinstance(raw, str)
                _size(raw, opt, True, release)  # raises what it refuses
        elif key == "mem-path":
            if qtype == "memory-backend-file" and not given("mem-path"):
                refusal = QemuRefusal("Parameter 'mem-path' is missing")
            elif json and given("mem-path") and not isinstance(value("mem-path"), str):
                refusal = QemuRefusal("Invalid parameter type for 'mem-path', expected: string")
        elif key in checked and given(key):
            refusal = value_error(key, value(key), release, json, keyval=_keyval(opt, release))
        if refusal is not None:
            raise _refuse(refusal.message, opt)


def _set_errors(qtype: str, names: list[str], value: Callable[[str], object],
                release: Release) -> dict[str, QemuRefusal | None]:
    """What setting each named property refuses when the backend is created: 5.2 parses
    the values then (each refusal in QDict order, with the others); from 6.0 only a
    prealloc-threads of 0 is left to refuse."""
    checked = checked_members() & set(members(qtype, release) or ())  # the type's own
    out: dict[str, QemuRefusal | None] = {}
    for key in names:
        v = value(key)
        if v is None:
            continue
        error = value_error(key, v, release, False) if (
            key in checked and not release.has("object-cli-visitor")) else None
        out[key] = error or creation_error(key, v, qtype)
    return {k: e for k, e in out.items() if e is not None}


def _text_binding(o: OptString, release: Release
                  ) -> tuple[Binding, dict[str, QemuRefusal | None]]:
    """host-nodes and policy of an option string, and each one's refusal (by key)."""
    nodes: tuple[int, ...] = ()
    policy = "default"
    refusals: dict[str, QemuRefusal | None] = {}
    for key in ("host-nodes", "policy"):
        values = [p.value for p in o.pairs if p.key == key]
        if not values:
            continue
        try:
            read = read_text_member(key, values, release)
        except QemuRefusal as e:
            refusals[key] = e
            continue
        nodes, policy = (read.nodes, policy) if key == "host-nodes" else (nodes, read.policy)
    return Binding(nodes, policy), refusals


def _members(given: Callable[[str], bool]) -> list[str]:
    """The members 6.0+ sets when it creates a backend that can fail there, as its QAPI
    visitor wrote them (in schema order)."""
    return [k for k in ("host-nodes", "policy", "prealloc-threads", "size") if given(k)]


def _keyval(opt: Option, release: Release | None) -> bool:
    """A -readconfig [object] from 6.1: the keyval visitor reads its text."""
    return bool(opt.from_file and release is not None
                and release.has("readconfig-object-keyval"))


def _size(text: str | None, opt: Option, visitor: bool, release: Release | None
          ) -> int | None | QemuRefusal:
    """The size in bytes; a size that is none is refused now (6.0+) or at creation."""
    if text is None:
        return None
    try:
        return c_size(text, 0, size_syntax(release))
    except ValueError:
        words = "size" if _keyval(opt, release) else "a size value"
        error = _refuse(f"Parameter 'size' expects {words}", opt)
    if visitor:
        raise error
    return error


def _created(opt: Option, qtype: str, size: int | None, path: bool, binding: Binding,
             setters: dict[str, QemuRefusal | None], names: list[str], located: bool
             ) -> QemuRefusal | None:
    """What creating the backend refuses: a property as QEMU sets it (in QDict order of
    ``names``: a size of 0, a host node of 128 or more, and in 5.2 what its visitor finds),
    then the memory (no size, or no file: 5.2), then the binding (hostmem.complete_error)."""
    if size == 0:
        setters["size"] = QemuRefusal(f"property 'size' of {qtype} doesn't take value '0'")
    if setters.get("host-nodes") is None:
        setters["host-nodes"] = set_error(binding.nodes)
    error = first_in_qdict_order(setters, names)
    if error is None:
        if size is None:
            error = QemuRefusal("can't create backend with size 0")
        elif not path:
            error = QemuRefusal("mem-path property not set")
        else:
            error = complete_error(binding)
    if error is None or not located or error.located:
        return error
    return _refuse(error.message, opt)


# RAM blocks are rounded up to the host page (4 KiB here): a size this close to 2^64
# wraps to 0, and QEMU aborts (find_ram_offset: Assertion `size != 0' failed).
_WRAPS_TO_ZERO = (1 << 64) - 4096


def _link(qtype: str, value: object, release: Release) -> str | None:
    """The prealloc-context to resolve when the backend is made (a member of its type in
    this release, and a string: the visitor refused any other value)."""
    if not isinstance(value, str) or "prealloc-context" not in (members(qtype, release) or ()):
        return None
    return value


def _crash(oid: str, size: int, release: Release) -> InputError | None:
    if size <= _WRAPS_TO_ZERO:
        return None
    return InputError(f"QEMU {release} crashes on this line (SIGABRT): memory backend "
                      f"'{oid}' has {size} bytes, which round up to 0 bytes",
                      hint="give it a size below 2^64 - 4096 (a negative JSON size counts "
                           "modulo 2^64)")


def stated_backend(opt: Option) -> tuple[str, int] | None:
    """A memory backend's id and size as a line states them, with no release's checks
    (verify rewrites backends as plain RAM of the same size)."""
    objects = Objects()
    try:
        read_object(opt, None, objects)
    except QemuRefusal:
        return None
    b = objects.created[0] if objects.created else None
    return None if b is None or b.size is None else (b.id, b.size)


def resolve_backend(path: str, ids: Collection[str]) -> str | None:
    """object_resolve_path_type(path, TYPE_MEMORY_BACKEND) when only -object backends
    exist (-numa memdev=, -machine memory-backend=): an id, ``objects/ID``,
    ``/objects/ID`` (empty components skipped), or "" for the only backend; None when
    none or several match (QEMU: "is ambiguous", "not found")."""
    parts = [p for p in path.split("/") if p]
    if path.startswith("/"):
        found = parts[1] if len(parts) == 2 and parts[0] == "objects" else None
    elif not parts:
        return next(iter(ids)) if len(ids) == 1 else None
    elif len(parts) == 1 or (len(parts) == 2 and parts[0] == "objects"):
        found = parts[-1]
    else:
        found = None
    return found if found in ids else None


__all__ = ["MEMORY_BACKEND", "Backend", "Objects", "read_object", "resolve_backend",
           "stated_backend"]
