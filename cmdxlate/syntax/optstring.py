"""QEMU option strings (``key=val,key2=val2``) in QEMU's two dialects.

The lark grammar (grammar/optstring.lark) splits a string into items while
respecting ``,,`` escapes; this module applies each dialect's rules to the
items' exact source text, so ``OptString.render()`` of an untouched string
gives back the original bytes.

* **qemuopts** (``-numa``, ``-device``, ``-drive``, ``-netdev`` ...): the first
  item is the implied key's value unless it has ``=`` before its first comma;
  a bare ``foo`` is ``foo=on`` and ``nofoo`` is ``foo=off``; ``id`` is special.
* **keyval** (``-smp``, ``-machine``, ``-object`` non-JSON): keys must be QAPI
  names (dotted for nesting); the implied value cannot contain a comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from cmdxlate.errors import CmdxlateError

Dialect = Literal["qemuopts", "keyval"]

_QAPI_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_KEY_INDEX = re.compile(r"[0-9]+")
_ID = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class OptPair:
    """One ``key=value`` item; ``raw`` is its exact source text."""

    key: str
    value: str
    raw: str
    implied: bool = False
    flag: bool = False


@dataclass
class OptString:
    """A parsed option string: pairs in source order, repeats kept."""

    pairs: list[OptPair]
    raw: str
    dialect: Dialect
    help: bool = False
    id: str | None = None
    _index: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for p in self.pairs:
            self._index.setdefault(p.key, []).append(p.value)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Last value wins, as in both of QEMU's dialects."""
        values = self._index.get(key)
        return values[-1] if values else default

    def get_all(self, key: str) -> list[str]:
        return list(self._index.get(key, ()))

    def has(self, key: str) -> bool:
        return key in self._index

    def keys(self) -> list[str]:
        return list(self._index)

    def render(self) -> str:
        return self.raw

    def as_dict(self) -> dict[str, Any]:
        """Plain view for JSON output: repeated keys become lists."""
        out: dict[str, Any] = {}
        for key, values in self._index.items():
            out[key] = values[0] if len(values) == 1 else list(values)
        return out


def escape_value(value: str) -> str:
    """Escape commas the way both dialects read them back."""
    return value.replace(",", ",,")


def render_pairs(pairs: list[tuple[str, str]], implied: str | None = None) -> str:
    """Build an option string; ``implied`` is written first without a key."""
    parts: list[str] = []
    if implied is not None:
        parts.append(escape_value(implied))
    parts.extend(f"{k}={escape_value(v)}" for k, v in pairs)
    return ",".join(parts)


_parser: Any = None


def _get_parser() -> Any:
    global _parser
    if _parser is None:
        from cmdxlate.syntax._optparser import Lark_StandAlone

        _parser = Lark_StandAlone()  # type: ignore[no-untyped-call]
    return _parser


@dataclass(frozen=True)
class _Item:
    raw: str
    head: str
    value: str | None  # None: no '=' in the item
    head_has_escape: bool


def _items(text: str) -> list[_Item]:
    """Items as the grammar splits them (single commas, ``,,`` kept inside).

    Without a ``,,`` every comma separates and the grammar's tree is exactly
    a split (tests/test_engine.py proves it on arbitrary text); the LALR
    parser runs for the strings where escapes make splitting ambiguous.
    """
    if ",," not in text:
        out = []
        for raw in text.split(","):
            head, eq, value = raw.partition("=")
            out.append(_Item(raw, head, value if eq else None, False))
        return out
    return _grammar_items(text)


def _grammar_items(text: str) -> list[_Item]:
    tree = _get_parser().parse(text)
    out: list[_Item] = []
    for item in tree.children:
        if getattr(item, "data", None) != "item":
            continue  # a SEP token
        head_tokens = item.children[0].children
        head = "".join(str(t) for t in head_tokens)
        has_escape = any(t.type == "ESC" for t in head_tokens)
        value: str | None = None
        if len(item.children) > 1:
            vtree = item.children[2]
            value = "".join(str(t) for t in vtree.children) if vtree is not None else ""
        raw = head if value is None else f"{head}={value}"
        out.append(_Item(raw, head, value, has_escape))
    return out


def _unescape(text: str) -> str:
    return text.replace(",,", ",")


def _qemuopts_items(text: str, implied_key: str | None) -> list[OptPair]:
    pairs: list[OptPair] = []
    pos = 0
    first = True
    while pos < len(text):
        # The key ends at the first '=' or ',' (a ",," is not special here).
        end = pos
        while end < len(text) and text[end] not in "=,":
            end += 1
        if end < len(text) and text[end] == "=":
            value, nxt = _value_until_single_comma(text, end + 1)
            pairs.append(OptPair(text[pos:end], value, text[pos:nxt]))
        elif first and implied_key is not None:
            value, nxt = _value_until_single_comma(text, pos)
            pairs.append(OptPair(implied_key, value, text[pos:nxt], implied=True))
        else:
            name = text[pos:end]
            nxt = end
            if name.startswith("no"):
                pairs.append(OptPair(name[2:], "off", text[pos:nxt], flag=True))
            else:
                pairs.append(OptPair(name, "on", text[pos:nxt], flag=True))
        first = False
        pos = nxt + 1 if nxt < len(text) else nxt
    return pairs


def _value_until_single_comma(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch == ",":
            if pos + 1 < len(text) and text[pos + 1] == ",":
                out.append(",")
                pos += 2
                continue
            break
        out.append(ch)
        pos += 1
    return "".join(out), pos


def _qemuopts_pairs(text: str, implied_key: str | None) -> list[OptPair]:
    """Pairs from the grammar's items; a ``,,`` inside a key needs QEMU's scan."""
    items = _items(text)
    if any(it.head_has_escape for it in items):
        return _qemuopts_items(text, implied_key)
    pairs: list[OptPair] = []
    for i, it in enumerate(items):
        if i == len(items) - 1 and not it.raw and i > 0:
            break  # a trailing comma ends the string
        if it.value is not None:
            pairs.append(OptPair(it.head, _unescape(it.value), it.raw))
        elif i == 0 and implied_key is not None:
            pairs.append(OptPair(implied_key, _unescape(it.raw), it.raw, implied=True))
        elif it.head.startswith("no"):
            pairs.append(OptPair(it.head[2:], "off", it.raw, flag=True))
        else:
            pairs.append(OptPair(it.head, "on", it.raw, flag=True))
    if not text:
        return []
    return pairs


@lru_cache(maxsize=4096)
def parse_qemuopts(text: str, implied_key: str | None = None) -> OptString:
    """Parse like QEMU's qemu_opts_parse(); the first ``id`` names the section."""
    pairs = _qemuopts_pairs(text, implied_key)
    opt_id: str | None = None
    for p in pairs:
        if p.key == "id" and not p.flag:
            opt_id = p.value
            break
    if opt_id is not None and not _ID.fullmatch(opt_id):
        raise CmdxlateError("Parameter 'id' expects an identifier", qemu=True)
    return OptString(pairs, text, "qemuopts", id=opt_id)


def _check_keyval_key(key: str, whole: str) -> None:
    frags = key.split(".")
    for i, frag in enumerate(frags):
        ok = _QAPI_NAME.fullmatch(frag) is not None or (
            i > 0 and _KEY_INDEX.fullmatch(frag) is not None
        )
        if not ok:
            raise CmdxlateError(f"Invalid parameter '{whole}'", qemu=True)


@lru_cache(maxsize=4096)
def parse_keyval(text: str, implied_key: str | None = None, help_allowed: bool = True) -> OptString:
    """Parse like QEMU's keyval_parse(): QAPI keys, implied value without commas."""
    pairs: list[OptPair] = []
    pos = 0
    first = True
    want_help = False
    while pos < len(text):
        end = pos
        while end < len(text) and text[end] not in "=,":
            end += 1
        length = end - pos
        is_implied = False
        if length and (end >= len(text) or text[end] != "="):
            word = text[pos:end]
            if word in ("help", "?"):
                if not help_allowed:
                    raise CmdxlateError(f"Invalid parameter '{word}'", qemu=True)
                want_help = True
                pos = end + 1 if end < len(text) else end
                first = False
                continue
            if first and implied_key is not None:
                is_implied = True
        if is_implied:
            assert implied_key is not None
            pairs.append(OptPair(implied_key, text[pos:end], text[pos:end], implied=True))
            nxt = end
        else:
            key = text[pos:end]
            if "=" not in text[end : end + 1]:
                if not key:
                    raise CmdxlateError("Invalid parameter ''", qemu=True)
                _check_keyval_key(key, key)
                raise CmdxlateError(f"Expected '=' after parameter '{key}'", qemu=True)
            _check_keyval_key(key, key)
            value, nxt = _value_until_single_comma(text, end + 1)
            pairs.append(OptPair(key, value, text[pos:nxt]))
        first = False
        pos = nxt + 1 if nxt < len(text) else nxt
    _check_keyval_structure(pairs)
    return OptString(pairs, text, "keyval", help=want_help)


def _check_keyval_structure(pairs: list[OptPair]) -> None:
    """A key cannot be both a leaf and a parent (``a.b=1,a=2``)."""
    leaves: set[str] = set()
    parents: set[str] = set()
    for p in pairs:
        parts = p.key.split(".")
        for i in range(1, len(parts)):
            parents.add(".".join(parts[:i]))
        leaves.add(p.key)
    clash = leaves & parents
    if clash:
        name = sorted(clash)[0]
        raise CmdxlateError(f"Parameter '{name}' used inconsistently", qemu=True)
