"""Text that reaches a terminal: control characters are shown, never obeyed.

Two rules, one per kind of output:

* ``visible`` is for views people read (tables, trees, reports, warnings,
  errors): a character ``str.isprintable`` rejects (C0 and C1 controls, DEL,
  bidi and other format characters, line separators, non-UTF-8 bytes kept
  as surrogates) is written as an escape: ESC as ``\\x1b``, a newline as
  ``\\n``, U+202E as ``\\u202e``, the byte 0xff as ``\\xff``.
* ``printf_word`` is for ``--format shell``: such characters become
  ``"$(printf '\\033')"``, octal escapes that POSIX shells (dash, bash) turn
  back into the same bytes, and that show on screen as exactly the text the
  shell reads.  ``$'...'`` would be shorter but dash
  does not know it.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return repr(ch)[1:-1]


def visible(text: str) -> str:
    """``text`` with every non-printable character as a visible escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _octal(chars: str) -> str:
    return "".join(f"\\{b:03o}" for b in chars.encode("utf-8", "surrogateescape"))


def _single(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def printf_word(word: str) -> str:
    """A shell word for ``word`` built only of printable characters and newlines.

    Printable runs are single-quoted; runs of other characters are written as
    ``"$(printf '\\ooo...')"``.  Command substitution drops trailing newlines,
    so a run ending in a newline takes the next character along; newlines
    that end the word stay literal inside single quotes.
    """
    body = word.rstrip("\n")
    tail = word[len(body):]
    parts: list[str] = []
    i = 0
    while i < len(body):
        j = i
        while j < len(body) and body[j].isprintable():
            j += 1
        if j > i:
            parts.append(_single(body[i:j]))
            i = j
            continue
        while j < len(body) and not body[j].isprintable():
            j += 1
        if body[j - 1] == "\n":
            j += 1  # not at the end (body has no trailing newline): keep it from being eaten
        parts.append(f"\"$(printf '{_octal(body[i:j])}')\"")
        i = j
    if tail:
        parts.append(_single(tail))
    return "".join(parts) or "''"
