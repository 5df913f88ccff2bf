"""One version type for both axes: QEMU releases (``10.0``) and machine versions
(``pc-q35-2.12`` -> ``2.12``, ``4.0.1``, ``2.12-sxxm``), and the spans that gate facts."""

from __future__ import annotations

import re
from functools import lru_cache

from cmdxlate.records import dataclass

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-([a-z0-9]+))?")


class Version:
    """``major.minor[.micro][-suffix]``; a suffixed version sorts just after its base.

    Written out rather than a record: versions are compared thousands of times
    while the catalog loads, so comparison is one tuple comparison.
    """

    __slots__ = ("major", "minor", "micro", "suffix", "_key")
    __match_args__ = ("major", "minor", "micro", "suffix")

    major: int
    minor: int
    micro: int
    suffix: str
    _key: tuple[int, int, int, str]

    def __init__(self, major: int, minor: int, micro: int = 0, suffix: str = "") -> None:
        init = object.__setattr__
        init(self, "major", major)
        init(self, "minor", minor)
        init(self, "micro", micro)
        init(self, "suffix", suffix)
        init(self, "_key", (major, minor, micro, suffix))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field '{name}'")

    def __reduce__(self) -> tuple[type[Version], tuple[int, int, int, str]]:
        return (Version, self._key)

    def __repr__(self) -> str:
        return (f"Version(major={self.major!r}, minor={self.minor!r}, micro={self.micro!r}, "
                f"suffix={self.suffix!r})")

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key == other._key

    def __lt__(self, other: Version) -> bool:
        return self._key < other._key

    def __le__(self, other: Version) -> bool:
        return self._key <= other._key

    def __gt__(self, other: Version) -> bool:
        return self._key > other._key

    def __ge__(self, other: Version) -> bool:
        return self._key >= other._key

    @staticmethod
    def parse(text: str) -> Version:
        return _parse(text)

    @staticmethod
    def try_parse(text: str) -> Version | None:
        try:
            return _parse(text)
        except ValueError:
            return None

    @property
    def release(self) -> Version:
        """The ``major.minor`` release this version belongs to."""
        return Version(self.major, self.minor)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}"
        if self.micro:
            text += f".{self.micro}"
        if self.suffix:
            text += f"-{self.suffix}"
        return text


@lru_cache(maxsize=2048)
def _parse(text: str) -> Version:
    m = _VERSION.fullmatch(text)
    if not m:
        raise ValueError(f"not a version: {text!r}")
    major, minor, micro, suffix = m.groups()
    return Version(int(major), int(minor), int(micro or 0), suffix or "")


@dataclass(frozen=True, slots=True)
class Span:
    """Versions from ``since`` to ``until``, both included; None is open."""

    since: Version | None = None
    until: Version | None = None

    def __contains__(self, v: Version | None) -> bool:
        if v is None:
            # An unversioned machine (``microvm``) is as new as it gets.
            return self.until is None
        return (self.since is None or v >= self.since) and (self.until is None or v <= self.until)

    @staticmethod
    def load(data: Any, what: str) -> Span:
        if data is None:
            return ALWAYS
        if not isinstance(data, dict) or set(data) - {"since", "until"}:
            raise ValueError(f"{what}: a span is {{\"since\": V, \"until\": V}}")
        since, until = data.get("since"), data.get("until")
        return _span(None if since is None else str(since), None if until is None else str(until))

    def __str__(self) -> str:
        if self.since and self.until:
            return f"{self.since}–{self.until}"
        if self.since:
            return f"{self.since} and later"
        if self.until:
            return f"up to {self.until}"
        return "always"


ALWAYS = Span()


@lru_cache(maxsize=1024)
def _span(since: str | None, until: str | None) -> Span:
    """Spans repeat across the catalog's files: one object each."""
    return Span(None if since is None else Version.parse(since),
                None if until is None else Version.parse(until))
