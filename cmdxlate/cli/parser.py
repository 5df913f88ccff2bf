"""Read a run's argv against the command table in ``cli.spec``.

The rules are the contract of issue 10: QEMU's arguments come only after ``--``
(or from ``--from-file``); before it, an option is the command's own, written
whole (``-o FILE``, ``--output=FILE``; never ``-ofile``, so ``-object`` is not
``-o bject``), or it is refused with exit 2 and a pointer to ``--``. Messages
for bad values follow click's wording, which ``--help`` users see elsewhere.
"""

from __future__ import annotations

from cmdxlate.cli.spec import BY_NAME, Command, Option
from cmdxlate.error import UsageError

HELP_FLAGS = ("-h", "--help")


class Invocation:
    """What to run: a command and its values, or help (``command`` None: the program's)."""

    __slots__ = ("command", "values", "help")

    def __init__(self, command: Command | None, values: dict[str, object],
                 help: bool = False) -> None:  # noqa: A002
        self.command, self.values, self.help = command, values, help


def _near(word: str, candidates: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.7)
    return found[0] if found else None


def _names(opt: Option) -> str:
    return " / ".join(f"'{f}'" for f in opt.flags)


def _convert(opt: Option, raw: str) -> object:
    """A value as click would take it, with click's words when it is wrong."""
    if opt.kind == "choice":
        if raw not in opt.choices:
            shown = ", ".join(f"'{c}'" for c in opt.choices)
            raise UsageError(f"Invalid value for '{opt.flags[0]}': '{raw}' is not one of "
                             f"{shown}.")
        return raw
    if opt.kind == "int":
        try:
            number = int(raw.strip())
        except ValueError:
            raise UsageError(f"Invalid value for {_names(opt)}: '{raw}' is not a valid "
                             "integer.") from None
        if opt.bounds is not None and not opt.bounds[0] <= number <= opt.bounds[1]:
            low, high = opt.bounds
            raise UsageError(f"Invalid value for {_names(opt)}: {number} is not in the range "
                             f"{low}<=x<={high}.")
        return number
    if opt.kind == "float":
        try:
            return float(raw.strip())
        except ValueError:
            raise UsageError(f"Invalid value for {_names(opt)}: '{raw}' is not a valid "
                             "float.") from None
    return raw


def parse_invocation(argv: list[str]) -> Invocation:
    """The command, its option values and its arguments; help requests are not errors."""
    if not argv or argv[0] in HELP_FLAGS:
        return Invocation(None, {}, help=True)
    name = argv[0]
    command = BY_NAME.get(name)
    if command is None:
        if name.startswith("-"):
            raise UsageError(f"No such option: {name}")
        near = _near(name, list(BY_NAME))
        raise UsageError(f"No such command '{name}'."
                         + (f" (did you mean '{near}'?)" if near else ""))
    return _parse_command(command, argv[1:])


def _parse_command(command: Command, tokens: list[str]) -> Invocation:
    by_flag = {f: o for o in command.options for f in o.flags}
    values: dict[str, object] = {o.dest: o.default for o in command.options}
    positional: list[str] = []
    after: list[str] | None = None
    where = f"'cmdxlate {command.name}'"
    takes_qemu = any(a.qemu for a in command.arguments)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t == "--":
            after = tokens[i:]
            break
        if t in HELP_FLAGS:
            return Invocation(command, {}, help=True)
        flag, eq, inline = t.partition("=") if t.startswith("--") else (t, "", "")
        opt = by_flag.get(flag)
        if opt is not None:
            if opt.kind == "flag":
                if eq:
                    raise UsageError(f"Option '{flag}' does not take a value.")
                values[opt.dest] = True
                continue
            if not eq:
                if i >= len(tokens) or tokens[i] == "--":
                    raise UsageError(f"Option '{flag}' requires an argument.")
                inline = tokens[i]
                i += 1
            values[opt.dest] = _convert(opt, inline)
            continue
        if t.startswith("--"):
            near = _near(flag, [f for f in by_flag if f.startswith("--")] + ["--help"])
            raise UsageError(f"unknown option '{flag}' for {where}"
                             + (f" (did you mean {near}?)" if near else "; see --help"))
        if t.startswith("-") and t != "-":
            if not takes_qemu:
                raise UsageError(f"unknown option '{t}' for {where}; see --help")
            raise UsageError(f"'{t}' is not an option of {where}: QEMU arguments go after --",
                             hint=f"cmdxlate {command.name} [OPTIONS] -- {t} ...")
        positional.append(t)
    _place_arguments(command, values, positional, after, where)
    for opt in command.options:
        if opt.required and values[opt.dest] is None:
            raise UsageError(f"Missing option {_names(opt)}.")
    return Invocation(command, values)


def _place_arguments(command: Command, values: dict[str, object], positional: list[str],
                     after: list[str] | None, where: str) -> None:
    """Positional arguments first (before or after ``--``), then the QEMU arguments."""
    plain = [a for a in command.arguments if not a.qemu]
    qemu = [a for a in command.arguments if a.qemu]
    words = list(positional)
    rest = list(after or [])
    if len(words) > len(plain):
        extra = words[len(plain)]
        raise UsageError(f"unexpected argument '{extra}' for {where}: "
                         + ("QEMU arguments go after --" if qemu else "see --help"))
    while len(words) < len(plain) and rest:
        words.append(rest.pop(0))
    for arg, word in zip(plain, words, strict=False):
        values[arg.dest] = word
    for arg in plain[len(words):]:
        if arg.required:
            raise UsageError(f"Missing argument '{arg.metavar}'.")
        values[arg.dest] = None
    if qemu:
        values[qemu[0].dest] = rest if after is not None else None
    elif rest:
        raise UsageError(f"unexpected argument '{rest[0]}' for {where}; see --help")
