"""QEMU's JSON, as its command line reads a ``-device {...}``, ``-object {...}``,
``-blockdev {...}`` and the like: what it accepts and the words it refuses the rest with.

QEMU's JSON is not Python's. It takes single-quoted strings and the escape ``\\'``;
it refuses duplicate keys, ``NaN``, noncharacters and lone surrogates; and its
error texts are its own (``JSON parse error, premature EOI``). Two readers exist:

* ``"tokens"`` (5.2 to 10.x; qobject/json-lexer.c, json-streamer.c, json-parser.c
  and qjson.c at the 5.2.0, 7.2.0, 10.0.2 and 10.2.2 tags): the lexer's tokens are
  queued until the brackets balance, then parsed by recursive descent. A lexer error
  ("stray") wins over a parse error earlier in the same value.
* ``"push"`` (11.x; measured on 11.1.3, ``tests/data/json-measured.json``): every
  token goes to a push parser at once, so the first bad token wins, and each message
  starts with the token's ``line:column``. Its words: ``premature end of input``,
  ``expecting key``, ``expecting ':'``, ``expected ',' or '}'``.

Both readers take exactly the same texts with the same values, so :func:`loads`
tries Python's C decoder first and only reads a text itself when that fails or
cannot be trusted (non-ASCII text, ``\\u`` escapes, a number such as ``0e5``, a
repeated key, ``NaN``). Values are Python's (``int`` for every integer token, ``float``
for the others), but U+0000 is kept as QEMU keeps it, the bytes C0 80.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

TOKENS, PUSH = "tokens", "push"
MAX_NESTING = 1024  # json-streamer.c: open brackets and braces, counted together

# Token types (json-parser-int.h); the lexer's states are negative.
(LCURLY, RCURLY, LSQUARE, RSQUARE, COLON, COMMA, INTEGER, FLOAT, KEYWORD, STRING,
 ERROR, END) = range(12)
(_START, _RECOVERY, _DQ, _DQ_ESC, _SQ, _SQ_ESC, _ZERO, _SIGN, _DIGITS, _MANTISSA,
 _MANTISSA_DIGITS, _EXP_E, _EXP_SIGN, _EXP_DIGITS, _KEYWORD) = range(-1, -16, -1)
_STRUCTURAL = {0x7B: LCURLY, 0x7D: RCURLY, 0x5B: LSQUARE, 0x5D: RSQUARE, 0x3A: COLON,
               0x2C: COMMA}
_DIGIT = range(0x30, 0x3A)


class JsonSyntaxError(ValueError):
    """QEMU refuses the text; ``message`` is its words (without the option's location)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Fallback(Exception):
    """Python's decoder took a text QEMU may read otherwise."""


# ---------------------------------------------------------------- the lexer

def _step(state: int, c: int) -> tuple[int, bool]:
    """json-lexer.c's table: (next state or token, whether ``c`` is left for the next)."""
    if state == _START:
        if c in _STRUCTURAL:
            return _STRUCTURAL[c], False
        if c in (0x20, 0x09, 0x0D, 0x0A):
            return _START, False
        if c == 0x22:
            return _DQ, False
        if c == 0x27:
            return _SQ, False
        if c == 0x30:
            return _ZERO, False
        if 0x31 <= c <= 0x39:
            return _DIGITS, False
        if c == 0x2D:
            return _SIGN, False
        if 0x61 <= c <= 0x7A:
            return _KEYWORD, False
        return ERROR, False
    if state == _RECOVERY:  # skip to a structural character or a control character
        if c in _STRUCTURAL or (c <= 0x1F and c != 0x09) or c >= 0xFE:
            return _START, True
        return _RECOVERY, False
    if state in (_DQ, _SQ):
        quote, escape = (0x22, _DQ_ESC) if state == _DQ else (0x27, _SQ_ESC)
        if c == quote:
            return STRING, False
        if c == 0x5C:
            return escape, False
        return (state, False) if 0x20 <= c <= 0xFD else (ERROR, False)
    if state in (_DQ_ESC, _SQ_ESC):
        return ((_DQ if state == _DQ_ESC else _SQ), False) if 0x20 <= c <= 0xFD else (
            ERROR, False)
    digit = c in _DIGIT
    if state == _ZERO:
        return (ERROR, False) if digit else (_MANTISSA, False) if c == 0x2E else (
            INTEGER, True)
    if state == _DIGITS:
        if digit:
            return _DIGITS, False
        return (_EXP_E, False) if c in (0x65, 0x45) else (_MANTISSA, False) if c == 0x2E \
            else (INTEGER, True)
    if state == _SIGN:
        return (_ZERO, False) if c == 0x30 else (_DIGITS, False) if digit else (ERROR, False)
    if state == _MANTISSA:
        return (_MANTISSA_DIGITS, False) if digit else (ERROR, False)
    if state == _MANTISSA_DIGITS:
        if digit:
            return _MANTISSA_DIGITS, False
        return (_EXP_E, False) if c in (0x65, 0x45) else (FLOAT, True)
    if state == _EXP_E:
        return (_EXP_SIGN, False) if c in (0x2B, 0x2D) else (_EXP_DIGITS, False) if digit \
            else (ERROR, False)
    if state == _EXP_SIGN:
        return (_EXP_DIGITS, False) if digit else (ERROR, False)
    if state == _EXP_DIGITS:
        return (_EXP_DIGITS, False) if digit else (FLOAT, True)
    assert state == _KEYWORD
    return (_KEYWORD, False) if 0x61 <= c <= 0x7A else (KEYWORD, True)


Token = tuple[int, bytes, int, int]  # type, text, line (from 1), column (from 1)


def tokens(data: bytes) -> list[Token]:
    """The lexer's tokens, ending with END. A token's place is where the lexer last
    emptied its buffer, plus one: one column late for a token right after a number or
    keyword (found one character late), which is what 11.1 prints."""
    out: list[Token] = []
    state, buf = _START, bytearray()
    x = y = 0
    start = (1, 1)
    for c in (*data, None):
        flush = c is None
        x += 1
        if c == 0x0A:
            x, y = 0, y + 1
        consumed = False
        while (state != _START) if flush else not consumed:
            new, lookahead = _step(state, 0 if c is None else c)
            consumed = not flush and not lookahead
            if consumed:
                buf.append(c)
            if new >= 0:  # a token, or ERROR
                out.append((new, bytes(buf), *start))
                new = _RECOVERY if new == ERROR else _START
            if new in (_START, _RECOVERY) or new >= 0:
                buf.clear()
                start = (y + 1, x + 1)
            state = new
    out.append((END, b"", *start))
    return out


# ---------------------------------------------------------------- strings and numbers

def _noncharacter(cp: int) -> bool:
    """util/unicode.c is_valid_codepoint, negated."""
    return (cp < 0 or cp > 0x10FFFF or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE
            or 0xD800 <= cp <= 0xDFFF)


def _hex4(s: bytes, i: int) -> int:
    """cvt4hex: four hex digits at ``i``, else -1 (it stops at the first that is not)."""
    cp = 0
    for k in range(4):
        ch = s[i + k] if i + k < len(s) else 0
        if not (0x30 <= ch <= 0x39 or 0x41 <= ch <= 0x46 or 0x61 <= ch <= 0x66):
            return -1
        cp = cp * 16 + int(chr(ch), 16)
    return cp


def _utf8(s: bytes, i: int) -> tuple[int, int]:
    """mod_utf8_codepoint: (code point or -1, index after the sequence)."""
    byte = s[i]
    if byte < 0x80:
        return byte, i + 1
    if byte >= 0xFE or not byte & 0x40:
        return -1, i + 1
    n, mask = 0, 0x80
    while byte & mask:
        n, mask = n + 1, mask >> 1
    cp, j = byte & (mask - 1), i + 1
    for _ in range(1, n):
        nxt = s[j] if j < len(s) else 0
        if nxt & 0xC0 != 0x80:
            return -1, j
        cp, j = (cp << 6) | (nxt & 0x3F), j + 1
    if _noncharacter(cp) or (cp < (0x80, 0x800, 0x10000, 0x200000, 0x4000000)[n - 2]
                             and not (cp == 0 and n == 2)):
        return -1, j
    return cp, j


_ESCAPES = {0x22: '"', 0x27: "'", 0x5C: "\\", 0x2F: "/", 0x62: "\b", 0x66: "\f",
            0x6E: "\n", 0x72: "\r", 0x74: "\t"}


def _char(cp: int) -> str:
    """U+0000 is stored as modified UTF-8, the bytes C0 80 (here surrogate-escaped, so
    they print as QEMU prints them)."""
    return "\udcc0\udc80" if cp == 0 else chr(cp)


def string_value(tok: bytes) -> str:
    """json-parser.c parse_string: the text of a string token, or QEMU's complaint."""
    quote, i, out = tok[0], 1, []
    while tok[i] != quote:
        if tok[i] == 0x5C:
            beg, esc = i, tok[i + 1]
            i += 2
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                continue
            if esc != 0x75:
                raise JsonSyntaxError("invalid escape sequence in string")
            cp = _hex4(tok, i)
            i += 4
            if 0xD800 <= cp <= 0xDBFF and tok[i:i + 2] == b"\\u":
                low = _hex4(tok, i + 2)
                if 0xDC00 <= low <= 0xDFFF:
                    cp, i = 0x10000 + ((cp & 0x3FF) << 10) + (low & 0x3FF), i + 6
                else:
                    cp = -1
            if _noncharacter(cp):
                shown = tok[beg:i].decode("utf-8", "surrogateescape")
                raise JsonSyntaxError(f"{shown} is not a valid Unicode character")
            out.append(_char(cp))
            continue
        cp, i = _utf8(tok, i)
        if cp < 0:
            raise JsonSyntaxError("invalid UTF-8 sequence in string")
        out.append(_char(cp))
    return "".join(out)


def _scalar(kind: int, text: bytes) -> Any:
    if kind == STRING:
        return string_value(text)
    if kind == INTEGER:
        try:
            return int(text)
        except ValueError:  # beyond Python's digit limit: QEMU makes it a double
            return float(text)
    if kind == FLOAT:
        return float(text)
    word = text.decode()
    if word in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[word]
    raise JsonSyntaxError(f"invalid keyword '{word}'")


def _stray(text: bytes) -> JsonSyntaxError:
    return JsonSyntaxError(f"stray '{text.decode('utf-8', 'surrogateescape')}'")


# ---------------------------------------------------------------- 5.2 to 10.x

class _Descent:
    """json-parser.c before 11.0: recursive descent over one balanced run of tokens;
    the first error is the one reported."""

    def __init__(self, queue: list[Token]) -> None:
        self.queue, self.i = queue, 0

    def peek(self) -> Token | None:
        return self.queue[self.i] if self.i < len(self.queue) else None

    def pop(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise JsonSyntaxError("premature EOI")
        self.i += 1
        return tok

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise JsonSyntaxError("premature EOI")
        if tok[0] == LCURLY:
            return self.object()
        if tok[0] == LSQUARE:
            return self.array()
        if tok[0] in (INTEGER, FLOAT, STRING, KEYWORD):
            self.i += 1
            return _scalar(tok[0], tok[1])
        raise JsonSyntaxError("expecting value")

    def object(self) -> dict[str, Any]:
        self.pop()
        out: dict[str, Any] = {}
        if self.peek() is None:
            raise JsonSyntaxError("premature EOI")
        if self.queue[self.i][0] == RCURLY:
            self.pop()
            return out
        self.pair(out)
        tok = self.pop()
        while tok[0] != RCURLY:
            if tok[0] != COMMA:
                raise JsonSyntaxError("expected separator in dict")
            self.pair(out)
            tok = self.pop()
        return out

    def pair(self, out: dict[str, Any]) -> None:
        if self.peek() is None:
            raise JsonSyntaxError("premature EOI")
        key = self.value()
        if not isinstance(key, str):
            raise JsonSyntaxError("key is not a string in object")
        if self.pop()[0] != COLON:
            raise JsonSyntaxError("missing : in object pair")
        value = self.value()
        if key in out:
            raise JsonSyntaxError("duplicate key")
        out[key] = value

    def array(self) -> list[Any]:
        self.pop()
        out: list[Any] = []
        if self.peek() is None:
            raise JsonSyntaxError("premature EOI")
        if self.queue[self.i][0] == RSQUARE:
            self.pop()
            return out
        out.append(self.value())
        tok = self.pop()
        while tok[0] != RSQUARE:
            if tok[0] != COMMA:
                raise JsonSyntaxError("expected separator in list")
            out.append(self.value())
            tok = self.pop()
        return out


def _read_tokens(data: bytes, emit: _Values) -> None:
    """json-streamer.c before 11.0: tokens wait until the brackets balance (or one
    closes too many), then the run is parsed; a lexer error is reported at once."""
    queue: list[Token] = []
    depth = {LCURLY: 0, LSQUARE: 0}
    closes = {RCURLY: LCURLY, RSQUARE: LSQUARE}
    for tok in tokens(data):
        kind = tok[0]
        if kind in depth:
            depth[kind] += 1
        elif kind in closes:
            depth[closes[kind]] -= 1
        elif kind == ERROR:
            emit.error(f"JSON parse error, {_stray(tok[1]).message}")
        elif kind == END:
            if queue:
                emit.parsed(queue)
            return
        if kind != ERROR and depth[LCURLY] + depth[LSQUARE] > MAX_NESTING:
            emit.error("JSON nesting depth limit exceeded")
        elif kind != ERROR:
            queue.append(tok)
            braces, brackets = depth[LCURLY], depth[LSQUARE]
            if (braces > 0 or brackets > 0) and braces >= 0 and brackets >= 0:
                continue
            emit.parsed(queue)
        queue = []
        depth[LCURLY] = depth[LSQUARE] = 0


# ---------------------------------------------------------------- 11.x

class _Push:
    """The 11.x push parser: one token at a time against a stack of open containers
    (each with a state), keys stacked above their object."""

    AFTER_LCURLY, AFTER_LSQUARE, BEFORE_KEY, BEFORE_VALUE, END_OF_KEY, END_OF_VALUE = range(6)

    def __init__(self) -> None:
        self.stack: list[list[Any]] = []  # [partial: dict | list | key str, state]

    def feed(self, tok: Token) -> tuple[bool, Any]:
        """(True, value) when the top-level value is complete, else (False, None)."""
        kind = tok[0]
        if kind == ERROR:
            raise _stray(tok[1])
        if kind == END:
            if self.stack:
                raise JsonSyntaxError("premature end of input")
            return False, None
        entry = self.stack[-1] if self.stack else None
        state = entry[1] if entry is not None else self.BEFORE_VALUE
        if state == self.AFTER_LCURLY:
            assert entry is not None
            if kind == RCURLY:
                return self._complete(tok, self.stack.pop()[0])
            entry[1] = state = self.BEFORE_KEY
        if state == self.BEFORE_KEY:
            if kind != STRING:
                raise JsonSyntaxError("expecting key")
            self.stack.append([string_value(tok[1]), self.END_OF_KEY])
            return False, None
        if state == self.END_OF_KEY:
            assert entry is not None
            if kind != COLON:
                raise JsonSyntaxError("expecting ':'")
            entry[1] = self.BEFORE_VALUE
            return False, None
        if state == self.AFTER_LSQUARE:
            assert entry is not None
            if kind == RSQUARE:
                return self._complete(tok, self.stack.pop()[0])
            entry[1] = state = self.BEFORE_VALUE
        if state == self.BEFORE_VALUE:
            if kind == LCURLY:
                self.stack.append([{}, self.AFTER_LCURLY])
                return False, None
            if kind == LSQUARE:
                self.stack.append([[], self.AFTER_LSQUARE])
                return False, None
            if kind not in (INTEGER, FLOAT, STRING, KEYWORD):
                raise JsonSyntaxError("expecting value")
            return self._complete(tok, _scalar(kind, tok[1]))
        assert entry is not None and state == self.END_OF_VALUE
        is_list = isinstance(entry[0], list)
        closer, after_comma = (RSQUARE, self.BEFORE_VALUE) if is_list else (RCURLY,
                                                                              self.BEFORE_KEY)
        if kind != closer:
            if kind != COMMA:
                raise JsonSyntaxError("expected ',' or ']'" if is_list
                                      else "expected ',' or '}'")
            entry[1] = after_comma
            return False, None
        return self._complete(tok, self.stack.pop()[0])

    def _complete(self, tok: Token, value: Any) -> tuple[bool, Any]:
        """A value is whole: the top-level one, or one for the container below."""
        if not self.stack:
            return True, value
        top: Any = self.stack[-1][0]
        if isinstance(top, str):
            key = self.stack.pop()[0]
            container: dict[str, Any] = self.stack[-1][0]
            if key in container:
                raise JsonSyntaxError("duplicate key")  # at the value's last token
            container[key] = value
        else:
            top.append(value)
        self.stack[-1][1] = self.END_OF_VALUE
        return False, None


def _read_push(data: bytes, emit: _Values) -> None:
    """The 11.x streamer: each token goes to the push parser as the lexer makes it;
    errors carry the bad token's line and column."""
    parser, depth = _Push(), 0
    for tok in tokens(data):
        kind = tok[0]
        depth += 1 if kind in (LCURLY, LSQUARE) else -1 if kind in (RCURLY, RSQUARE) else 0
        if depth > MAX_NESTING:
            emit.error("JSON nesting depth limit exceeded")
            parser, depth = _Push(), 0
            continue
        try:
            done, value = parser.feed(tok)
        except JsonSyntaxError as e:
            emit.error(f"{tok[2]}:{tok[3]}: JSON parse error, {e.message}")
            parser, depth = _Push(), 0
            continue
        if done:
            emit.value(value)
            depth = 0


# ---------------------------------------------------------------- the whole text

class _Values:
    """qjson.c consume_json: the first value or error counts; anything after a value
    makes the text "at most one JSON value" too many."""

    _NONE: Any = object()

    def __init__(self) -> None:
        self.result: Any = self._NONE
        self.err: str | None = None

    def value(self, value: Any) -> None:
        self._take(value, None)

    def error(self, message: str) -> None:
        self._take(None, message)

    def parsed(self, queue: list[Token]) -> None:
        try:
            self.value(_Descent(queue).value())
        except JsonSyntaxError as e:
            self.error(f"JSON parse error, {e.message}")

    def _take(self, value: Any, err: str | None) -> None:
        if self.result is not self._NONE:
            self.result, self.err = self._NONE, "Expecting at most one JSON value"
        if self.err is not None:
            return
        if err is not None:
            self.err = err
        else:
            self.result = value


def read(text: str, reader: str = PUSH) -> Any:
    """The value of ``text`` as QEMU's ``reader`` reads it; JsonSyntaxError with its
    words if it refuses it."""
    emit = _Values()
    data = text.encode("utf-8", "surrogateescape")
    (_read_tokens if reader == TOKENS else _read_push)(data, emit)
    if emit.err is not None:
        raise JsonSyntaxError(emit.err)
    if emit.result is _Values._NONE:
        raise JsonSyntaxError("Expecting a JSON value")
    return emit.result


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Fallback  # a repeated key: QEMU refuses it
    return out


def _constant(name: str) -> Any:
    raise _Fallback  # NaN, Infinity: not QEMU's JSON


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)
# Python reads "0e5" as a number; QEMU's lexer allows only "." after a leading 0.
_ZERO_EXPONENT = re.compile(r"[\[:,]\s*-?0[eE]")


def dumps(value: Any) -> str:
    """json.dumps of a value QEMU read (up to 1,024 levels deep)."""
    with _deep():
        return json.dumps(value)


class _deep:  # noqa: N801 - a context manager, named for how it reads in a with
    """Room on the stack for values as deep as QEMU's JSON allows."""

    def __enter__(self) -> None:
        import sys

        self.limit = sys.getrecursionlimit()
        if self.limit < 3 * MAX_NESTING + 200:
            sys.setrecursionlimit(3 * MAX_NESTING + 200)

    def __exit__(self, *_exc: object) -> None:
        import sys

        sys.setrecursionlimit(self.limit)


def loads(text: str, reader: str = PUSH) -> Any:
    """:func:`read`, through Python's decoder when it is sure to agree (ASCII text
    without ``\\u`` escapes, which it takes the way QEMU does)."""
    if text.isascii() and "\\u" not in text and not _ZERO_EXPONENT.search(text):
        try:
            return _DECODER.decode(text)
        except (ValueError, RecursionError, _Fallback):
            pass
    with _deep():  # _Descent recurses once per bracket (at most 1024)
        return read(text, reader)
