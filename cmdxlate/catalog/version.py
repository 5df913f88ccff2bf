"""One version type for both axes: QEMU releases (``10.0``) and machine versions
(``pc-q35-2.12`` -> ``2.12``, ``4.0.1``, ``2.12-sxxm``), and the spans that gate facts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-([a-z0-9]+))?")


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """``major.minor[.micro][-suffix]``; a suffixed version sorts just after its base."""

    major: int
    minor: int
    micro: int = 0
    suffix: str = ""

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
        return Span(None if since is None else Version.parse(str(since)),
                    None if until is None else Version.parse(str(until)))

    def __str__(self) -> str:
        if self.since and self.until:
            return f"{self.since}–{self.until}"
        if self.since:
            return f"{self.since} and later"
        if self.until:
            return f"up to {self.until}"
        return "always"


ALWAYS = Span()
