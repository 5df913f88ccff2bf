"""QEMU option strings (``key=val,key2=val2``) in QEMU's two dialects.

The grammar (``grammar/optstring.lark``) splits a string into items while
respecting ``,,`` escapes; this module applies each dialect's rules to the
items' exact source text, so ``OptString.raw`` is always the original bytes.

* **qemuopts** (``-numa``, ``-device``, ``-drive``, ``-netdev`` ...): the first
  item is the implied key's value unless it has ``=`` before its first comma;
  a bare ``foo`` is ``foo=on`` and ``nofoo`` is ``foo=off``; ``id`` is special.
* **keyval** (``-smp``, ``-machine``, ``-object`` non-JSON): keys must be QAPI
  names (dotted for nesting); the implied value cannot contain a comma.

Every scan is a regular expression over the whole string, so time is linear
in the input and memory a small multiple of it, even for megabytes of ``,,``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cmdxlate.error import QemuRefusal
from cmdxlate.records import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

if TYPE_CHECKING:
    Dialect = Literal["qemuopts", "keyval"]

_QAPI_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_KEY_INDEX = re.compile(r"[0-9]+")
_ID = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
# The hint line QEMU prints after "Parameter 'id' expects an identifier".
ID_HINT = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter."


def id_wellformed(text: str) -> bool:
    """QEMU's id_wellformed(): a letter, then letters, digits, '-', '.' or '_'."""
    return _ID.fullmatch(text) is not None
_VALUE = re.compile(r"(?:[^,]|,,)*")  # a value: up to the first single comma
_NAME = re.compile(r"[^=,]*")  # a key: up to the first '=' or ','
_CACHE_LIMIT = 512  # longer strings are not kept in the parse caches


@dataclass(frozen=True, slots=True)
class OptPair:
    """One ``key=value`` item; ``raw`` is its exact source text."""

    key: str
    value: str
    raw: str
    implied: bool = False
    flag: bool = False


@dataclass(slots=True)
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
        """The option string exactly as written."""
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
    parts = [f"{k}={v.replace(',', ',,')}" for k, v in pairs]  # escape_value, inlined
    if implied is not None:
        parts.insert(0, escape_value(implied))
    return ",".join(parts)


# ---------------------------------------------------------------- the grammar's split

@dataclass(frozen=True, slots=True)
class Item:
    """One comma-separated item as the grammar sees it."""

    raw: str
    head: str
    value: str | None  # None: no '=' in the item


_parser: Any = None


def grammar_parser() -> Any:
    """The lark LALR parser for grammar/optstring.lark (built on first use)."""
    global _parser
    if _parser is None:
        from importlib import resources

        from lark import Lark

        text = (resources.files("cmdxlate.syntax") / "optstring.lark").read_text("utf-8")
        _parser = Lark(text, parser="lalr", maybe_placeholders=False)
    return _parser


def split_items(text: str) -> list[Item]:
    """Items as the grammar splits them; without ``,,`` that is a plain split."""
    if ",," not in text:
        out = []
        for raw in text.split(","):
            head, eq, value = raw.partition("=")
            out.append(Item(raw, head, value if eq else None))
        return out
    return grammar_items(text)


def grammar_items(text: str) -> list[Item]:
    """Items from the grammar's tree (the reference the plain split must equal)."""
    tree = grammar_parser().parse(text)
    out: list[Item] = []
    for node in tree.children:
        if getattr(node, "data", None) != "item":
            continue  # a SEP token
        head = "".join(str(t) for t in node.children[0].children)
        if len(node.children) > 1:
            value = "".join(str(t) for t in node.children[2].children)
            out.append(Item(f"{head}={value}", head, value))
        else:
            out.append(Item(head, head, None))
    return out


# ---------------------------------------------------------------- QemuOpts

def _unescape(text: str) -> str:
    return text.replace(",,", ",")


def _value_at(text: str, pos: int) -> tuple[str, int]:
    """The value starting at ``pos`` (``,,`` read as ``,``) and where it ends."""
    m = _VALUE.match(text, pos)
    assert m is not None  # the pattern matches the empty string
    return _unescape(m.group()), m.end()


def qemuopts_scan(text: str, implied_key: str | None) -> list[OptPair]:
    """QEMU's own left-to-right scan (get_opt_name_value): the reference for keys
    that hold ``,,``, which the grammar's items cannot place alone."""
    pairs: list[OptPair] = []
    pos = 0
    first = True
    n = len(text)
    while pos < n:
        name_end = _NAME.match(text, pos).end()  # type: ignore[union-attr]
        if name_end < n and text[name_end] == "=":
            value, nxt = _value_at(text, name_end + 1)
            pairs.append(OptPair(text[pos:name_end], value, text[pos:nxt]))
        elif first and implied_key is not None:
            value, nxt = _value_at(text, pos)
            pairs.append(OptPair(implied_key, value, text[pos:nxt], implied=True))
        else:
            name = text[pos:name_end]
            nxt = name_end
            if name.startswith("no"):
                pairs.append(OptPair(name[2:], "off", name, flag=True))
            else:
                pairs.append(OptPair(name, "on", name, flag=True))
        first = False
        pos = nxt + 1 if nxt < n else nxt
    return pairs


def _qemuopts_pairs(text: str, implied_key: str | None) -> list[OptPair]:
    if not text:
        return []
    items = split_items(text)
    if any(",," in it.head for it in items):
        return qemuopts_scan(text, implied_key)
    pairs: list[OptPair] = []
    last = len(items) - 1
    for i, it in enumerate(items):
        if i == last and not it.raw and i > 0:
            break  # a trailing comma ends the string
        if it.value is not None:
            pairs.append(OptPair(it.head, _unescape(it.value), it.raw))
        elif i == 0 and implied_key is not None:
            pairs.append(OptPair(implied_key, _unescape(it.raw), it.raw, implied=True))
        elif it.head.startswith("no"):
            pairs.append(OptPair(it.head[2:], "off", it.raw, flag=True))
        else:
            pairs.append(OptPair(it.head, "on", it.raw, flag=True))
    return pairs


def parse_qemuopts(text: str, implied_key: str | None = None) -> OptString:
    """Parse like QEMU's qemu_opts_parse(); the first ``id`` names the section."""
    if len(text) <= _CACHE_LIMIT:
        return _parse_qemuopts_cached(text, implied_key)
    return _parse_qemuopts(text, implied_key)


def _parse_qemuopts(text: str, implied_key: str | None) -> OptString:
    pairs = _qemuopts_pairs(text, implied_key)
    opt_id = next((p.value for p in pairs if p.key == "id" and not p.flag), None)
    if opt_id is not None and not id_wellformed(opt_id):
        raise QemuRefusal("Parameter 'id' expects an identifier", hint=ID_HINT)
    return OptString(pairs, text, "qemuopts", id=opt_id)


_parse_qemuopts_cached = lru_cache(maxsize=4096)(_parse_qemuopts)


# ---------------------------------------------------------------- keyval

def _check_keyval_key(key: str) -> None:
    for i, frag in enumerate(key.split(".")):
        if not (_QAPI_NAME.fullmatch(frag) or (i > 0 and _KEY_INDEX.fullmatch(frag))):
            raise QemuRefusal(f"Invalid parameter '{key}'")


def parse_keyval(text: str, implied_key: str | None = None,
                 help_allowed: bool = True) -> OptString:
    """Parse like QEMU's keyval_parse(): QAPI keys, implied value without commas."""
    if len(text) <= _CACHE_LIMIT:
        return _parse_keyval_cached(text, implied_key, help_allowed)
    return _parse_keyval(text, implied_key, help_allowed)


def _parse_keyval(text: str, implied_key: str | None, help_allowed: bool) -> OptString:
    pairs: list[OptPair] = []
    pos = 0
    first = True
    want_help = False
    n = len(text)
    while pos < n:
        end = _NAME.match(text, pos).end()  # type: ignore[union-attr]
        has_eq = end < n and text[end] == "="
        if end > pos and not has_eq:
            word = text[pos:end]
            if word in ("help", "?"):
                if not help_allowed:
                    raise QemuRefusal(f"Invalid parameter '{word}'")
                want_help = True
                pos = end + 1 if end < n else end
                first = False
                continue
            if first and implied_key is not None:
                pairs.append(OptPair(implied_key, word, word, implied=True))
                first = False
                pos = end + 1 if end < n else end
                continue
        key = text[pos:end]
        if not has_eq:
            if not key:
                raise QemuRefusal("Invalid parameter ''")
            _check_keyval_key(key)
            raise QemuRefusal(f"Expected '=' after parameter '{key}'")
        _check_keyval_key(key)
        value, nxt = _value_at(text, end + 1)
        pairs.append(OptPair(key, value, text[pos:nxt]))
        first = False
        pos = nxt + 1 if nxt < n else nxt
    _check_keyval_structure(pairs)
    return OptString(pairs, text, "keyval", help=want_help)


_parse_keyval_cached = lru_cache(maxsize=4096)(_parse_keyval)


def _check_keyval_structure(pairs: list[OptPair]) -> None:
    """A key cannot be both a leaf and a parent (``a.b=1,a=2``); QEMU's keyval_parse_put
    reports the first clash in the order the keys come, naming the parent."""
    kinds: dict[str, bool] = {}  # key -> True if it holds a value, False if it has members
    for p in pairs:
        parts = p.key.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if kinds.get(prefix, False):
                raise QemuRefusal(f"Parameters '{prefix}.*' used inconsistently")
            kinds[prefix] = False
        if kinds.get(p.key) is False:
            raise QemuRefusal(f"Parameters '{p.key}.*' used inconsistently")
        kinds[p.key] = True
