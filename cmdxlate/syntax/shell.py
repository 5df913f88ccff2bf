"""Read shell-style command lines (libvirt ``.args`` files) and write them back.

Only the part of POSIX shell syntax that command lines use is accepted:
words, single and double quotes, backslash escapes, ``\\<newline>``
continuations, and the ``"$(printf '\\033')"`` words quote() writes for
control characters.  Anything that would need a shell to evaluate (``$``
expansions, back-quotes, pipes, redirections, unbalanced quotes) is refused
rather than guessed at.
"""

from __future__ import annotations

import re

from cmdxlate.error import InputError
from cmdxlate.records import dataclass
from cmdxlate.termsafe import printf_word

MAX_INPUT_BYTES = 16 * 1024 * 1024

_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_SPECIAL_UNQUOTED = set("|&;<>()`")
_PRINTF = "$(printf '"
_OCTAL = re.compile(r"\\[0-3][0-7][0-7]")


def split(text: str) -> list[str]:
    """Split like a POSIX shell would, without any expansion (all commands' words)."""
    return [w for _, words in split_commands(text) for w in words]


def split_commands(text: str) -> list[tuple[int, list[str]]]:
    """Each command's first line number and words.

    As in a shell, a newline that is not escaped, quoted or inside a comment
    ends a command; blank and comment lines hold none.
    """
    commands: list[tuple[int, list[str]]] = []
    words: list[str] = []
    buf: list[str] = []
    in_word = False
    start = 0  # where the current command's first word starts
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if not in_word and not words:
            start = i
        if ch in " \t\n":
            if in_word:
                words.append("".join(buf))
                buf = []
                in_word = False
            if ch == "\n" and words:
                commands.append((text.count("\n", 0, start) + 1, words))
                words = []
            i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise InputError("trailing backslash at end of input")
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2  # line continuation
                continue
            buf.append(nxt)
            in_word = True
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise InputError(f"unterminated single quote at offset {i}")
            buf.append(text[i + 1 : end])
            in_word = True
            i = end + 1
        elif ch == '"':
            i += 1
            in_word = True
            while True:
                if i >= n:
                    raise InputError("unterminated double quote")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    if text[i + 1] != "\n":
                        buf.append(text[i + 1])
                    i += 2
                    continue
                if c == "$" and text.startswith(_PRINTF, i):
                    decoded, i = _printf_escapes(text, i)
                    buf.append(decoded)
                    continue
                if c in "$`":
                    raise InputError(
                        f"shell expansion '{c}' inside double quotes is not supported")
                buf.append(c)
                i += 1
        elif ch == "#" and not in_word:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch in "*?[" or (ch == "~" and not in_word):
            raise InputError(
                f"shell pattern '{ch}' at offset {i} would be expanded by a shell: quote it")
        elif ch in "$" or ch in _SPECIAL_UNQUOTED:
            raise InputError(
                f"shell syntax '{ch}' at offset {i} is not supported: quote it or remove it"
            )
        else:
            buf.append(ch)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(buf))
    if words:
        commands.append((text.count("\n", 0, start) + 1, words))
    return commands


def _printf_escapes(text: str, i: int) -> tuple[str, int]:
    """``$(printf '\\ooo...')`` at ``i`` (inside double quotes), as quote() writes it:
    the bytes it prints, trailing newlines dropped as the shell drops them."""
    j = i + len(_PRINTF)
    out = bytearray()
    while _OCTAL.fullmatch(text, j, j + 4):
        out.append(int(text[j + 1:j + 4], 8) & 0xFF)
        j += 4
    if not out or not text.startswith("')", j) or 0 in out:
        raise InputError(f"shell expansion '$' at offset {i} is not supported: only "
                            "$(printf '\\ooo') with octal escapes is read")
    return out.decode("utf-8", "surrogateescape").rstrip("\n"), j + 2


def quote(word: str) -> str:
    """Quote one word so that a POSIX shell reads it back unchanged.

    Control characters (and anything else not printable, newlines aside) are
    written as ``"$(printf '\\ooo')"`` so the terminal shows what the shell runs.
    """
    if word and _SAFE.fullmatch(word):
        return word
    if not word.replace("\n", "").isprintable():
        return printf_word(word)
    return "'" + word.replace("'", "'\\''") + "'"


def _quote_assignment(word: str) -> str:
    """``NAME=value`` stays an assignment: only the value is quoted."""
    name, eq, value = word.partition("=")
    if eq and _ASSIGNMENT.match(word):
        return f"{name}={quote(value)}" if value else f"{name}="
    return quote(word)


@dataclass
class ShellCommand:
    """A command line as written in a file: env assignments, binary, args."""

    env: list[str]
    binary: str | None
    args: list[str]

    def words(self) -> list[str]:
        out = list(self.env)
        if self.binary is not None:
            out.append(self.binary)
        out.extend(self.args)
        return out


def split_command(words: list[str]) -> ShellCommand:
    """Separate leading ``KEY=VAL`` words and the binary from QEMU's args."""
    env: list[str] = []
    i = 0
    while i < len(words) and _ASSIGNMENT.match(words[i]) and not words[i].startswith("-"):
        env.append(words[i])
        i += 1
    binary: str | None = None
    if i < len(words) and not words[i].startswith("-"):
        binary = words[i]
        i += 1
    return ShellCommand(env, binary, words[i:])


def parse_command_text(text: str) -> ShellCommand:
    """The one command in ``text``; a second one (a line not continued with `` \\``
    before it) is refused, since a shell would run it as a command of its own."""
    if "\0" in text:
        raise InputError("input contains a NUL byte")
    commands = split_commands(text)
    if len(commands) > 1:
        line, words = commands[1]
        raise InputError(
            f"line {line}: a second command ('{words[0][:40]}'): the line before it does not "
            "end with ' \\', so a shell would run the two separately; give one QEMU "
            "command line per file")
    return split_command(commands[0][1] if commands else [])


def read_command_file(path: str) -> ShellCommand:
    """Read a ``.args``-style file, refusing huge or binary input."""
    from cmdxlate.files import read_text_limited

    return parse_command_text(read_text_limited(path, MAX_INPUT_BYTES))


def format_command(env: list[str], binary: str | None, groups: list[list[str]]) -> str:
    """One option (with its value) per line, joined by `` \\``, like libvirt writes."""
    lines = [_quote_assignment(e) for e in env]
    if binary is not None:
        lines.append(quote(binary))
    lines.extend(" ".join(quote(w) for w in g) for g in groups)
    return " \\\n".join(lines) + "\n"
