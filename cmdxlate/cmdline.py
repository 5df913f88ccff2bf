"""The parsed form of a QEMU command line: an ordered list of options.

Each option keeps its exact argv spelling and value, so ``to_argv()`` gives
back the input byte for byte; the parsed view of a value (``opts``) is built
lazily and only for options someone asks about.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cmdxlate import options as optdb
from cmdxlate.errors import CmdxlateError
from cmdxlate.optstring import OptString, parse_keyval, parse_qemuopts

_ARCH = re.compile(r"qemu-system-([A-Za-z0-9_]+)$")

MAX_ARGS = 1_000_000


@dataclass
class Option:
    """One QEMU option with its value; ``name`` is None for a bare argument."""

    name: str | None
    spelling: str | None
    value: str | None
    index: int
    known: bool = True
    _opts: OptString | None = field(default=None, repr=False)
    _json: dict[str, Any] | None = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    def args(self) -> list[str]:
        out: list[str] = []
        if self.spelling is not None:
            out.append(self.spelling)
        if self.value is not None:
            out.append(self.value)
        return out

    @property
    def is_json(self) -> bool:
        """QEMU looks at the first character only: " {...}" is an option string."""
        return (
            self.name in optdb.JSON_CAPABLE
            and self.value is not None
            and self.value.startswith("{")
        )

    def _parse(self) -> None:
        if self._parsed:
            return
        self._parsed = True
        if self.value is None or self.name is None:
            return
        if self.is_json:
            try:
                obj = json.loads(self.value)
            except (ValueError, RecursionError) as e:
                raise CmdxlateError(
                    f"-{self.name}: invalid JSON: {e}", option_index=self.index
                ) from None
            if not isinstance(obj, dict):
                raise CmdxlateError(
                    f"-{self.name}: JSON value must be an object", option_index=self.index
                )
            self._json = obj
            return
        dialect, implied = optdb.OPTION_SYNTAX.get(self.name, optdb.VALUE_DIALECT)
        try:
            if dialect == "keyval":
                self._opts = parse_keyval(self.value, implied)
            elif dialect == "qemuopts":
                self._opts = parse_qemuopts(self.value, implied)
        except CmdxlateError as e:
            raise CmdxlateError(f"-{self.name} {self.value}: {e.message}",
                                option_index=self.index, qemu=e.qemu) from None

    @property
    def opts(self) -> OptString | None:
        """The option string's pairs (None for JSON or unparsed options)."""
        self._parse()
        return self._opts

    @property
    def json(self) -> dict[str, Any] | None:
        self._parse()
        return self._json

    def get(self, key: str) -> str | None:
        """A property's value whether the option was written as JSON or not."""
        self._parse()
        if self._json is not None:
            v = self._json.get(key)
            if v is None:
                return None
            if isinstance(v, bool):
                return "on" if v else "off"
            return v if isinstance(v, str) else json.dumps(v)
        if self._opts is not None:
            return self._opts.get(key)
        return None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"option": self.name, "index": self.index, "args": self.args()}
        if not self.known:
            d["known"] = False
        if self.json is not None:
            d["json"] = self.json
        elif self.opts is not None:
            d["pairs"] = [[p.key, p.value] for p in self.opts.pairs]
        return d


@dataclass
class CommandLine:
    """QEMU's argv (without the binary), with the binary and env it came with."""

    options: list[Option]
    binary: str | None = None
    env: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_argv(self) -> list[str]:
        out: list[str] = []
        for o in self.options:
            out.extend(o.args())
        return out

    @property
    def arch(self) -> str | None:
        if self.binary is None:
            return None
        m = _ARCH.search(self.binary.rsplit("/", 1)[-1])
        return m.group(1) if m else None

    def find(self, *names: str) -> list[Option]:
        """Options with these names, in argv order (an index built on first use)."""
        index = self.__dict__.get("_by_name")
        if index is None or self.__dict__.get("_indexed") != len(self.options):
            index = {}
            for o in self.options:
                index.setdefault(o.name, []).append(o)
            self.__dict__["_by_name"], self.__dict__["_indexed"] = index, len(self.options)
        if len(names) == 1:
            return list(index.get(names[0], ()))
        return [o for o in self.options if o.name in names]


def parse_argv(argv: list[str], binary: str | None = None, env: list[str] | None = None
               ) -> CommandLine:
    """Group argv into options; never changes a byte of it."""
    if len(argv) > MAX_ARGS:
        raise CmdxlateError(f"command line has {len(argv)} arguments; the limit is {MAX_ARGS}")
    options: list[Option] = []
    warnings: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        name = optdb.canonical_name(arg)
        if name is None:
            options.append(Option(None, None, arg, i))
            i += 1
            continue
        takes = optdb.takes_argument(name)
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
                raise CmdxlateError(f"{arg}: requires an argument", option_index=i, qemu=True)
            options.append(Option(name, arg, argv[i + 1], i))
            i += 2
        else:
            options.append(Option(name, arg, None, i))
            i += 1
    return CommandLine(options, binary, list(env or []), warnings)
