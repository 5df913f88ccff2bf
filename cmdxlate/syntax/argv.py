"""A QEMU command line as an ordered list of options, losslessly.

Each option keeps its exact argv spelling and value, so ``to_argv()`` gives
back the input byte for byte; the parsed view of a value (``opts``, ``json``)
is built on first use, and only for options someone asks about.
"""

from __future__ import annotations

import re

from cmdxlate.error import CmdxlateError, InputError, QemuRefusal, Where, locate_at
from cmdxlate.records import dataclass, field
from cmdxlate.syntax import options as optdb
from cmdxlate.syntax import qjson
from cmdxlate.syntax.optstring import OptString, parse_keyval, parse_qemuopts

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

_ARCH = re.compile(r"qemu-system-([A-Za-z0-9_]+)$")


def program_arch(program: str) -> str | None:
    """The architecture a QEMU binary's name says (``qemu-system-ARCH``), if it says one."""
    m = _ARCH.search(program)
    return m.group(1) if m else None

MAX_ARGS = 1_000_000
_UNPARSED: Any = object()


class Option:
    """One QEMU option with its value; ``name`` is None for a bare argument."""

    __slots__ = ("name", "spelling", "value", "index", "known", "_where", "_parsed",
                 "config_keys", "failure", "is_json", "from_file")

    def __init__(self, name: str | None, spelling: str | None, value: str | None, index: int,
                 known: bool = True, where: Where | None = None) -> None:
        self.name = name
        self.spelling = spelling
        self.value = value
        self.index = index
        self.known = known
        self._where = where
        self._parsed: Any = _UNPARSED
        # From a -readconfig section: its keys as the file wrote them (``host-nodes.0``).
        self.config_keys: tuple[str, ...] = ()
        # A -readconfig QEMU refuses while reading its file (syntax.source.ReaderFailure).
        self.failure: Any = None
        # QEMU looks at the first character only: " {...}" is an option string.
        self.is_json = (value is not None and value.startswith("{")
                        and name in optdb.JSON_CAPABLE)
        # Whether a -readconfig file gave this option (known without building a Where:
        # an option from argv has none until an error needs it).
        self.from_file = where is not None and where.file is not None

    @property
    def where(self) -> Where:
        """The argv words (or -readconfig file line) this option came from."""
        if self._where is None:
            self._where = Where(self.index, tuple(self.args()))
        return self._where

    def place_in_file(self, section_end: bool) -> None:
        """Report an option read from a -readconfig section at the line a release uses:
        the header (5.2, 6.0) or the last key line read (6.1 on)."""
        if self._where is not None:
            self._where = self._where.in_file_at(section_end)

    def __repr__(self) -> str:
        return f"Option({self.name!r}, {self.value!r}, index={self.index})"

    def args(self) -> list[str]:
        out: list[str] = []
        if self.spelling is not None:
            out.append(self.spelling)
        if self.value is not None:
            out.append(self.value)
        return out

    def _parse(self) -> Any:
        if self._parsed is not _UNPARSED:
            return self._parsed
        self._parsed = None
        if self.value is None or self.name is None:
            return None
        if self.is_json:
            # The newest QEMU's words; build_spec reads it first as the target release does.
            self._parsed = _UNPARSED  # a refusal is raised again on every question
            return self.read_json(qjson.PUSH)
        dialect, implied = optdb.OPTION_SYNTAX.get(self.name, optdb.VALUE_DIALECT)
        try:  # as ``with qemu_located(self.where)``, building the Where only for an error
            if dialect == "keyval":
                self._parsed = parse_keyval(self.value, implied)
            elif dialect == "qemuopts":
                self._parsed = parse_qemuopts(self.value, implied)
        except CmdxlateError as e:
            self._parsed = _UNPARSED  # refused again on every question, not taken as None
            locate_at(e, self.where)
            raise
        return self._parsed

    def read_json(self, reader: str) -> dict[str, Any]:
        """The JSON value as QEMU's ``reader`` reads it (kept for later questions), or
        the refusal QEMU prints at this option."""
        assert self.value is not None
        try:
            obj = qjson.loads(self.value, reader)
        except qjson.JsonSyntaxError as e:
            raise QemuRefusal(e.message, where=self.where, located=True) from None
        assert isinstance(obj, dict)  # the text starts with "{": one object, or an error
        self._parsed = obj
        return obj

    @property
    def opts(self) -> OptString | None:
        """The option string's pairs (None for JSON, plain values and flags)."""
        parsed = self._parse()
        return parsed if isinstance(parsed, OptString) else None

    @property
    def json(self) -> dict[str, Any] | None:
        parsed = self._parse()
        return parsed if isinstance(parsed, dict) else None

    def get(self, key: str) -> str | None:
        """A property's value whether the option was written as JSON or not."""
        parsed = self._parse()
        if isinstance(parsed, dict):
            v = parsed.get(key)
            if v is None:
                return None
            if isinstance(v, bool):
                return "on" if v else "off"
            return v if isinstance(v, str) else qjson.dumps(v)
        if isinstance(parsed, OptString):
            return parsed.get(key)
        return None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"option": self.name, "index": self.index, "args": self.args()}
        if not self.known:
            d["known"] = False
        if self.where.file is not None:
            d["file"], d["line"] = self.where.file, self.where.line
        parsed = self._parse()
        if isinstance(parsed, dict):
            d["json"] = parsed
        elif isinstance(parsed, OptString):
            d["pairs"] = [[p.key, p.value] for p in parsed.pairs]
        elif self.value is not None and self.name is not None:
            d["value"] = self.value
        return d


@dataclass
class CommandLine:
    """QEMU's argv (without the binary), with the binary and env it came with."""

    options: list[Option]
    binary: str | None = None
    env: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _by_name: dict[str | None, list[Option]] | None = field(default=None, repr=False)

    def to_argv(self) -> list[str]:
        out: list[str] = []
        for o in self.options:
            out.extend(o.args())
        return out

    @property
    def program(self) -> str | None:
        """The binary's file name (``qemu-system-x86_64``, ``kvm``, ``qemu-kvm``)."""
        return None if self.binary is None else self.binary.rsplit("/", 1)[-1]

    @property
    def arch(self) -> str | None:
        return None if self.program is None else program_arch(self.program)

    def find(self, *names: str) -> list[Option]:
        """Options with these names, in argv order."""
        if self._by_name is None:
            index: dict[str | None, list[Option]] = {}
            for o in self.options:
                index.setdefault(o.name, []).append(o)
            self._by_name = index
        if len(names) == 1:
            return list(self._by_name.get(names[0], ()))
        return [o for o in self.options if o.name in names]


def _check_carriable(words: list[str] | tuple[str, ...], located: bool) -> None:
    """Refuse a word no program's argv can carry: a NUL byte, or a lone surrogate that
    is not an undecodable byte (both can arrive from JSON: "\\u0000", "\\ud83d")."""
    joined = "".join(words)
    try:
        joined.encode("utf-8", "surrogateescape")  # one C-level pass in the common case
        if "\0" not in joined:
            return
    except UnicodeEncodeError:
        pass
    for i, word in enumerate(words):
        try:
            word.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as e:
            bad = f"U+{ord(word[e.start]):04X}"
        else:
            if "\0" not in word:
                continue
            bad = "a NUL byte"
        raise InputError(f"argument {i} holds {bad}, which no program's argv can carry",
                         where=Where(i, (word,)) if located else None)


# Option spellings repeat from line to line: each is looked up once.
_SPELLINGS: dict[str, tuple[str | None, bool | None]] = {}


def _spelling_kind(arg: str) -> tuple[str | None, bool | None]:
    """(canonical name, takes an argument) of one argv word; (None, None) for a value."""
    name = optdb.canonical_name(arg)
    kind = (name, None if name is None else optdb.takes_argument(name))
    if name is not None and len(_SPELLINGS) < 4096:
        _SPELLINGS[arg] = kind
    return kind


def parse_argv(argv: list[str], binary: str | None = None, env: list[str] | None = None
               ) -> CommandLine:
    """Group argv into options; never changes a byte of it."""
    if len(argv) > MAX_ARGS:
        raise InputError(f"command line has {len(argv)} arguments; the limit is {MAX_ARGS}")
    for words in (argv, env or (), (binary,) if binary else ()):
        _check_carriable(words, words is argv)
    options: list[Option] = []
    warnings: list[str] = []
    i = 0
    n = len(argv)
    kinds = _SPELLINGS
    while i < n:
        arg = argv[i]
        kind = kinds.get(arg)
        if kind is None:
            kind = _spelling_kind(arg)
        name, takes = kind
        if name is None:
            options.append(Option(None, None, arg, i))
            i += 1
            continue
        if takes is None:
            # Unknown: it keeps a following non-option word as its value.
            if i + 1 < n and not argv[i + 1].startswith("-"):
                options.append(Option(name, arg, argv[i + 1], i, known=False))
                i += 2
            else:
                options.append(Option(name, arg, None, i, known=False))
                i += 1
            warnings.append(f"unknown option {arg} passed through unchanged")
            continue
        if takes:
            if i + 1 >= n:
                raise QemuRefusal(f"{arg}: requires an argument", where=Where(i, (arg,)))
            options.append(Option(name, arg, argv[i + 1], i))
            i += 2
        else:
            options.append(Option(name, arg, None, i))
            i += 1
    return CommandLine(options, binary, list(env or []), warnings)
