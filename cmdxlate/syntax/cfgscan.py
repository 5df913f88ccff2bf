"""What QEMU's ``-readconfig`` reader makes of a file's bytes, step by step.

QEMU (util/qemu-config.c, unchanged from 5.2 to 10.2) reads the file with
``fgets`` into a 1,024-byte buffer, so it gets at most 1,023 bytes per call:
a longer line is cut, and the rest comes back from the next call as a line
of its own.  Each piece is then scanned with ``sscanf``:

* a piece starting with a newline is skipped, one starting with ``#`` too;
* a piece starting with ``[`` is a header: ``[%63s "%63[^"]"]`` (group and
  id), else ``[%63[^]]]`` (group only); text after it is ignored;
* anything else is ``" %63s = \\"%1023[^\\"]\\""``, falling back to
  ``" %63s = \\"\\""``: the first word (at most 63 bytes) is the key, and the
  value is what follows ``= "`` up to a double quote, or empty if the piece
  does not go on like that.  Only a piece of nothing but white space is a
  "parse error".

All of this counts bytes, not characters.  This module reproduces it, to
tell people what QEMU would read where the file looks different; it does
not decide what cmdxlate accepts (cfgfile does).
"""

from __future__ import annotations

from collections.abc import Iterator

from cmdxlate.records import dataclass

FGETS_BUFFER = 1024
PIECE_BYTES = FGETS_BUFFER - 1  # one fgets call returns at most this many bytes
NAME_BYTES = 63  # %63s, %63[^"], %63[^]]
VALUE_BYTES = 1023  # %1023[^"]
_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale


@dataclass(frozen=True)
class Reading:
    """What QEMU makes of one piece: ``kind`` is blank, comment, header, entry or error."""

    kind: str
    group: bytes = b""
    id: bytes | None = None
    key: bytes = b""
    value: bytes = b""

    def describe(self) -> str:
        if self.kind == "blank":
            return "an empty line (skipped)"
        if self.kind == "comment":
            return "a comment (ignored)"
        if self.kind == "error":
            return "a parse error"
        if self.kind == "header":
            group = show(self.group)
            return (f"a section header [{group} \"{show(self.id)}\"]" if self.id is not None
                    else f"a section header [{group}]")
        return f"key '{show(self.key)}' with value '{show(self.value)}'"


def show(b: bytes) -> str:
    """Bytes for a message: UTF-8 where it is, escapes for the rest and for controls."""
    text = b.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def fgets_pieces(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number as people count, piece) in the order QEMU's fgets loop returns them."""
    start = 0
    n = 0
    while start < len(data):
        n += 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        for i in range(start, end, PIECE_BYTES):
            yield n, data[i:min(i + PIECE_BYTES, end)]
        start = end


def _skip_space(buf: bytes, i: int) -> int:
    while i < len(buf) and buf[i] in _SPACE:
        i += 1
    return i


def _word(buf: bytes, i: int, width: int) -> tuple[bytes, int] | None:
    """``%<width>s``: skip white space, then up to ``width`` non-space bytes."""
    i = _skip_space(buf, i)
    j = i
    while j < len(buf) and j - i < width and buf[j] not in _SPACE:
        j += 1
    return (buf[i:j], j) if j > i else None


def _not_in(buf: bytes, i: int, width: int, stop: int) -> tuple[bytes, int] | None:
    """``%<width>[^<stop>]``: one to ``width`` bytes other than ``stop``; no skipping."""
    j = i
    while j < len(buf) and j - i < width and buf[j] != stop:
        j += 1
    return (buf[i:j], j) if j > i else None


def _header(piece: bytes) -> Reading | None:
    word = _word(piece, 1, NAME_BYTES)
    if word is not None:
        i = _skip_space(piece, word[1])
        if piece[i:i + 1] == b'"':
            id_ = _not_in(piece, i + 1, NAME_BYTES, ord('"'))
            if id_ is not None:
                return Reading("header", group=word[0], id=id_[0])
    group = _not_in(piece, 1, NAME_BYTES, ord("]"))
    return Reading("header", group=group[0]) if group is not None else None


def qemu_reads(piece: bytes) -> Reading:
    """What QEMU 5.2-10.2 makes of one piece returned by fgets (newline included)."""
    if piece[:1] == b"\n":
        return Reading("blank")
    if piece[:1] == b"#":
        return Reading("comment")
    if piece[:1] == b"[":
        header = _header(piece)
        if header is not None:
            return header
    key = _word(piece, 0, NAME_BYTES)
    if key is None:
        return Reading("error")
    i = _skip_space(piece, key[1])
    value = b""
    if piece[i:i + 1] == b"=":
        i = _skip_space(piece, i + 1)
        if piece[i:i + 1] == b'"':
            found = _not_in(piece, i + 1, VALUE_BYTES, ord('"'))
            value = found[0] if found is not None else b""
    return Reading("entry", key=key[0], value=value)
