"""Which QEMU options each release has (data/options.json).

Options come and go (``-writeconfig`` left in 7.1, ``-compat`` came in 6.0); a
release refuses an option it lacks while reading argv: ``-writeconfig:
invalid option``. Options the file does not list are in every modelled release.
"""

from __future__ import annotations

from functools import lru_cache

from cmdxlate.catalog.version import Span, Version


@lru_cache(maxsize=1)
def _lifetimes() -> dict[str, Span]:
    from cmdxlate.catalog.datafiles import read_json

    data = read_json("options.json")
    return {e["option"]: Span.load(e.get("releases"), "options.json")
            for e in data["options"]}


def option_in_release(name: str, release: Version) -> bool:
    """Whether QEMU ``release`` has the option ``-name`` (one cmdxlate knows)."""
    answers = options_of(release)
    answer = answers.get(name)
    if answer is None:
        span = _lifetimes().get(name)
        answer = span is None or release in span
        if len(answers) < 4096:
            answers[name] = answer
    return answer


_OPTIONS_OF: dict[Version, dict[str, bool]] = {}


def options_of(release: Version) -> dict[str, bool]:
    """The answers of option_in_release for ``release`` so far (every line asks again
    about the same options: a caller may look here first)."""
    answers = _OPTIONS_OF.get(release)
    if answers is None:
        answers = _OPTIONS_OF[release] = {}
    return answers


def option_lifetime(name: str) -> Span | None:
    """The releases that have ``-name``; None when every modelled release has it."""
    return _lifetimes().get(name)
