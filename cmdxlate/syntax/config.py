"""QEMU's ``-readconfig`` file format, read and written exactly as QEMU 10.0 reads it.

QEMU's reader (util/qemu-config.c) is line based and scanf driven: a header
``[group]`` or ``[group "id"]``, then ``key = "value"`` lines.  It has no
escaping, keeps only the last of a repeated key, and silently turns an
unquoted value into an empty one.  Where QEMU would silently do something the
user did not mean, this reader raises instead, and the writer refuses
anything QEMU could not read back identically.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.files import read_text_limited, write_atomic

__all__ = ["ConfigFileError", "ConfigSection", "check_writable", "format_config", "parse_config",
           "read_config_file", "write_atomic", "write_config_atomic"]

MAX_LINE = 1023  # QEMU reads with fgets into a 1024-byte buffer
MAX_NAME = 63
MAX_VALUE = 1023

_HEADER_ID = re.compile(r'\[(\S{1,63}) "([^"]{1,63})"\]')
_HEADER = re.compile(r"\[([^\]]{1,63})\]")
_ENTRY = re.compile(r'\s*(\S{1,63})\s+=\s*"([^"]{0,1023})"')
_ENTRY_UNQUOTED = re.compile(r"\s*(\S{1,63})\s+=")


class ConfigFileError(InputError):
    """A -readconfig file QEMU would reject, or read differently than written."""


@dataclass
class ConfigSection:
    group: str
    id: str | None
    entries: list[tuple[str, str]]
    line: int = 0  # the header's line
    entry_lines: list[int] = field(default_factory=list)  # each entry's line, when read

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


def parse_config(text: str, filename: str = "<config>") -> list[ConfigSection]:
    sections: list[ConfigSection] = []
    current: ConfigSection | None = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        where = f"{filename}:{n}"
        if len(raw) + 1 > MAX_LINE:
            raise ConfigFileError(f"{where}: line longer than {MAX_LINE} characters")
        if "\0" in raw:
            raise ConfigFileError(f"{where}: NUL byte")
        line = raw[:-1] if raw.endswith("\r") else raw
        if raw == "":
            continue
        if raw.startswith("#"):
            continue
        m = _HEADER_ID.fullmatch(line)
        if m:
            current = ConfigSection(m.group(1), m.group(2), [], n)
            sections.append(current)
            continue
        m = _HEADER.fullmatch(line)
        if m and not m.group(1).startswith('"'):
            group = m.group(1)
            if " " in group or "\t" in group:
                raise ConfigFileError(f"{where}: parse error")
            current = ConfigSection(group, None, [], n)
            sections.append(current)
            continue
        m = _ENTRY.match(line)
        if m:
            if current is None:
                raise ConfigFileError(f"{where}: no group defined")
            current.entries.append((m.group(1), m.group(2)))
            current.entry_lines.append(n)
            continue
        if _ENTRY_UNQUOTED.match(line) and current is not None:
            raise ConfigFileError(
                f"{where}: value must be double-quoted (QEMU would read it as empty)")
        raise ConfigFileError(f"{where}: parse error")
    return sections


def read_config_file(path: str | os.PathLike[str], max_bytes: int = 4 * 1024 * 1024
                     ) -> list[ConfigSection]:
    try:
        text = read_text_limited(path, max_bytes)
    except CmdxlateError as e:
        raise ConfigFileError(e.message) from None
    return parse_config(text, os.fspath(path))


def check_writable(group: str, id: str | None, key: str, value: str) -> None:
    """Refuse what QEMU's reader would not give back unchanged."""
    if not group or len(group) > MAX_NAME or re.search(r'[\s"\]\[]', group):
        raise ConfigFileError(f"group name {group!r} cannot be written to a -readconfig file")
    if id is not None and (not id or len(id) > MAX_NAME or re.search(r'["\]\n\r\0]', id)):
        raise ConfigFileError(f"[{group}] id {id!r} cannot be written to a -readconfig file")
    if (not key or len(key) > MAX_NAME or re.search(r'[\s"=\0]', key) or key.startswith("[")
            or key.startswith("#")):
        raise ConfigFileError(f"[{group}] key {key!r} cannot be written to a -readconfig file")
    try:
        (group + (id or "") + key + value).encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigFileError(
            f"[{group}] {key}: bytes that are not UTF-8 cannot go into a -readconfig file"
        ) from None
    if len(value) > MAX_VALUE or re.search(r'["\n\r\0]', value):
        raise ConfigFileError(
            f"[{group}] {key}: value {value[:40]!r} cannot be written to a -readconfig file "
            "(QEMU's reader allows no double quote, newline or more than 1023 characters)")
    if len(f'  {key} = "{value}"') + 1 > MAX_LINE:
        raise ConfigFileError(f"[{group}] {key}: line would exceed {MAX_LINE} characters")


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
    for i, s in enumerate(secs):
        if i or header_comment:
            out.append("")
        out.append(f'[{s.group} "{s.id}"]' if s.id is not None else f"[{s.group}]")
        out += [f'  {k} = "{v}"' for k, v in s.entries]
    return "\n".join(out) + "\n"


def write_config_atomic(path: str | os.PathLike[str], text: str, force: bool = False) -> None:
    write_atomic(path, text, force)
