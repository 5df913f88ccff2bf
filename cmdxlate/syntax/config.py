"""QEMU's ``-readconfig`` file format, read and written exactly as QEMU reads it.

QEMU's reader (util/qemu-config.c) is line based and scanf driven: a header
``[group]`` or ``[group "id"]``, then ``key = "value"`` lines.  It has no
escaping, keeps only the last of a repeated key, silently turns an unquoted
value into an empty one, and cuts lines after 1,023 bytes, reading the rest
as a new line (cfgscan reproduces it).  All limits are in bytes.  Where QEMU
would read a line differently from how it looks, this reader raises instead,
saying what QEMU would read; the writer refuses anything QEMU could not read
back identically, so cfgmap keeps it on the command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.files import read_text_limited, write_atomic
from cmdxlate.records import dataclass, field
from cmdxlate.syntax.cfgscan import NAME_BYTES, PIECE_BYTES, VALUE_BYTES, qemu_reads, show

__all__ = ["ConfigFileError", "ConfigSection", "ConfigSyntaxError", "check_writable",
           "format_config", "parse_config", "read_config_file", "write_atomic",
           "write_config_atomic"]

MAX_LINE = PIECE_BYTES  # bytes before the newline; QEMU's fgets cuts a longer line
MAX_NAME = NAME_BYTES
MAX_VALUE = VALUE_BYTES
NEWLINE = b"\n"

# What a person reads, byte for byte (C-locale white space); anything else is refused.
_HEADER_ID = re.compile(rb'\[([^\s"\[\]]{1,63})[ \t]+"([^"]{1,63})"\][ \t\r]*(#.*)?')
_HEADER = re.compile(rb'\[([^\s"\[\]]{1,63})\][ \t\r]*(#.*)?')
_ENTRY = re.compile(rb'[ \t]*([^\s]{1,63})[ \t]+=[ \t]*"([^"]*)"[ \t\r]*(#.*)?')
_ENTRY_UNQUOTED = re.compile(rb'[ \t]*([^\s]{1,63})[ \t]+=[ \t]*[^\s"]')
_ENTRY_OPEN = re.compile(rb'[ \t]*([^\s]{1,63})[ \t]+=[ \t]*"[^"]*')
_ENTRY_TRAILING = re.compile(rb'[ \t]*([^\s]{1,63})[ \t]+=[ \t]*"[^"]*"')


class ConfigFileError(InputError):
    """A -readconfig file QEMU would reject, or read differently than written."""


class ConfigSyntaxError(ConfigFileError):
    """A line QEMU's reader refuses too, with ``text`` (``parse error``, ``no group
    defined``) at ``line``; where QEMU prints it depends on the release."""

    def __init__(self, filename: str, line: int, text: str) -> None:
        super().__init__(f"{filename}:{line}: {text}")
        self.filename = filename
        self.line = line
        self.text = text


@dataclass
class ConfigSection:
    """One ``[group]`` of a file. ``line`` is its header's line; ``end_line`` the last
    key line QEMU had read when the section ended (it may be a previous section's, or
    None when no key line came yet): QEMU 6.1 and later report errors about the
    section there, 5.2 and 6.0 at the header."""

    group: str
    id: str | None
    entries: list[tuple[str, str]]
    line: int = 0  # the header's line
    entry_lines: list[int] = field(default_factory=list)  # each entry's line, when read
    end_line: int | None = None

    def last_wins(self) -> dict[str, str]:
        """What QEMU keeps: a repeated key overwrites the earlier one."""
        out: dict[str, str] = {}
        for k, v in self.entries:
            out[k] = v
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigSection):
            return NotImplemented
        return (self.group, self.id, self.entries) == (other.group, other.id, other.entries)


def parse_config(text: str | bytes, filename: str = "<config>") -> list[ConfigSection]:
    """The sections of a -readconfig file, read as QEMU reads it, or an error.

    Every line must mean the same to QEMU as to a person reading the file:
    a line QEMU would cut (over 1,023 bytes), an unquoted or unterminated
    value, text after a value, and other lines QEMU reads differently from
    how they look are refused, with what QEMU would make of them.
    """
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    sections: list[ConfigSection] = []
    current: ConfigSection | None = None
    last_key_line: int | None = None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        where = f"{filename}:{n}"
        if len(raw) > MAX_LINE:
            newline = n < len(lines) or data.endswith(NEWLINE)
            raise ConfigFileError(_cut_message(where, raw, newline))
        if b"\0" in raw:
            raise ConfigFileError(f"{where}: NUL byte")
        if raw == b"" or raw.startswith(b"#"):
            continue
        if raw.startswith(b"["):
            m = _HEADER_ID.fullmatch(raw) or _HEADER.fullmatch(raw)
            if m is None:
                qemu = qemu_reads(raw + NEWLINE).describe()
                raise ConfigFileError(f"{where}: parse error: not a [group] or [group \"id\"] "
                                      f"header as QEMU reads it (QEMU would read {qemu})")
            if current is not None:
                current.end_line = last_key_line
            current = ConfigSection(_text(m.group(1), where),
                                    _text(m.group(2), where) if m.re is _HEADER_ID else None,
                                    [], n)
            sections.append(current)
            continue
        m = _ENTRY.fullmatch(raw)
        if m:
            if current is None:
                raise ConfigSyntaxError(filename, n, "no group defined")
            current.entries.append((_text(m.group(1), where), _text(m.group(2), where)))
            current.entry_lines.append(n)
            last_key_line = n
            continue
        message = _entry_message(where, raw, current is not None)
        if message in (f"{where}: parse error", f"{where}: no group defined"):
            raise ConfigSyntaxError(filename, n, message[len(where) + 2:])
        raise ConfigFileError(message)
    if current is not None:
        current.end_line = last_key_line
    return sections


def _text(b: bytes, where: str) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"{where}: not UTF-8 text") from None


def _cut_message(where: str, raw: bytes, newline: bool) -> str:
    rest = raw[MAX_LINE:MAX_LINE * 2]
    if len(raw) <= MAX_LINE * 2 and newline:
        rest += b"\n"
    return (f"{where}: line longer than {MAX_LINE} bytes ({len(raw)}); QEMU reads at most "
            f"{MAX_LINE} bytes of a line and the rest as a new line, here "
            f"'{show(rest[:40])}{'...' if len(rest) > 40 else ''}' as "
            f"{qemu_reads(rest).describe()}")


def _entry_message(where: str, raw: bytes, in_group: bool) -> str:
    """Why a line is not ``key = "value"``, and what QEMU would read instead."""
    if _ENTRY_UNQUOTED.match(raw) and in_group:
        return f"{where}: value must be double-quoted (QEMU would read it as empty)"
    if _ENTRY_TRAILING.match(raw):
        return (f"{where}: text after the closing double quote (QEMU ignores it); "
                "only a # comment may follow a value")
    if _ENTRY_OPEN.fullmatch(raw):
        return (f"{where}: no closing double quote (QEMU would read the value up to the end "
                "of the line, the newline included)")
    reading = qemu_reads(raw + NEWLINE)
    if reading.kind == "error":
        return f"{where}: parse error"
    if not in_group:
        return f"{where}: no group defined"
    return (f"{where}: parse error: not a key = \"value\" line as QEMU reads it (QEMU would "
            f"read {reading.describe()})")


def read_config_file(path: str | os.PathLike[str], max_bytes: int = 4 * 1024 * 1024
                     ) -> list[ConfigSection]:
    try:
        text = read_text_limited(path, max_bytes)
    except CmdxlateError as e:
        raise ConfigFileError(e.message) from None
    return parse_config(text, os.fspath(path))


def _bytes(s: str, what: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigFileError(
            f"{what}: bytes that are not UTF-8 cannot go into a -readconfig file") from None


def check_writable(group: str, id: str | None, key: str, value: str) -> None:
    """Refuse what QEMU's reader would not give back unchanged (limits in bytes)."""
    g = _bytes(group, f"group {group!r}")
    if not g or len(g) > MAX_NAME or re.search(r'[\s"\]\[]', group):
        raise ConfigFileError(f"group name {group!r} cannot be written to a -readconfig file")
    if id is not None:
        i = _bytes(id, f"[{group}] id")
        if not i or len(i) > MAX_NAME or re.search(r'["\]\n\r\0]', id):
            raise ConfigFileError(f"[{group}] id {id!r} cannot be written to a -readconfig file "
                                  f"(at most {MAX_NAME} bytes, no double quote or bracket)")
    k = _bytes(key, f"[{group}] key {key!r}")
    if (not k or len(k) > MAX_NAME or re.search(r'[\s"=\0]', key) or key.startswith("[")
            or key.startswith("#")):
        raise ConfigFileError(f"[{group}] key {key!r} cannot be written to a -readconfig file")
    v = _bytes(value, f"[{group}] {key}")
    if re.search(r'["\n\r\0]', value):
        raise ConfigFileError(
            f"[{group}] {key}: value {value[:40]!r} cannot be written to a -readconfig file "
            "(QEMU's reader allows no double quote or line break in a value)")
    line = len(f'  {key} = "'.encode()) + len(v) + 1
    if line > MAX_LINE:
        raise ConfigFileError(
            f"[{group}] {key}: the line would be {line} bytes; QEMU reads at most {MAX_LINE} "
            "bytes of a line and the rest as a new line")


def format_config(sections: Iterable[ConfigSection], header_comment: str | None = None) -> str:
    secs = list(sections)
    for s in secs:
        if s.id is not None:
            check_writable(s.group, s.id, "id", s.id)
        for k, v in s.entries:
            check_writable(s.group, s.id, k, v)
    out: list[str] = []
    if header_comment:
        out += ["# " + line for line in header_comment.splitlines()]
        if any(len(line.encode("utf-8", "surrogateescape")) > MAX_LINE or "\r" in line
               for line in out):
            raise ConfigFileError("header comment line too long for a -readconfig file")
    for i, s in enumerate(secs):
        if i or header_comment:
            out.append("")
        out.append(f'[{s.group} "{s.id}"]' if s.id is not None else f"[{s.group}]")
        out += [f'  {k} = "{v}"' for k, v in s.entries]
    return "\n".join(out) + "\n"


def write_config_atomic(path: str | os.PathLike[str], text: str, force: bool = False) -> None:
    write_atomic(path, text, force)
