"""Every error cmdxlate raises, and the exit code each one ends with.

::

    CmdxlateError                 base: a message, where in the input, a hint
     ├── InputError          (2)  cmdxlate refuses the input: syntax, limits, files,
     │    │                       a machine type or release it does not model
     │    └── UsageError     (2)  cmdxlate's own options are wrong (before ``--``)
     ├── QemuRefusal         (2)  QEMU would refuse the line: ``message`` is exactly
     │    │                       what QEMU prints after its program name, with QEMU's
     │    │                       own location (``-smp 2,foo=1: ...``, ``vm.cfg:3: ...``)
     │    │                       where QEMU gives one; ``qemu_hint`` the lines QEMU
     │    │                       prints after it, ``more`` further error lines
     │    └── QueryRefusal   (2)  QEMU starts the line but answers the question with
     │                            this error (query-hotpluggable-cpus on a machine
     │                            without CPU hotplug; a hotplug plan there)
     └── OracleError         (4)  a real QEMU could not answer
          ├── OracleUnavailable   missing, not executable, not the release asked for
          ├── OracleTimeout       did not answer in time (it was killed)
          └── OracleCrash         died from a signal or stopped answering

An error may point at the offending option (``where``): the argv index, the
option as written, and the key inside it.  That pointer is cmdxlate's help for a
person (the caret under the option, JSON fields ``option``/``index``); it is
never part of ``message``.  Code attaches it where it knows the option, without
rebuilding the error: ``raise err.at(source)`` or ``with pointing_at(source): ...``.
``hint`` is cmdxlate's own advice (true for this line, never QEMU's words); the
hint lines QEMU itself prints after a message are ``QemuRefusal.qemu_hint``.

Exit code 3 is reserved for bugs (anything that is not a CmdxlateError);
1 is ``verify``'s "different", and signals end with 128 + the signal number.
"""

from __future__ import annotations

from cmdxlate.records import dataclass, replace

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_ORACLE = 4


@dataclass(frozen=True, slots=True)
class Where:
    """Where an option came from: argv words (with the index of the first), or a file line."""

    index: int | None = None
    words: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    # A -readconfig section: its header line, and the last key line read when it ended
    # (None: no key line yet). Which one QEMU prints depends on the release.
    section: tuple[int, int | None] | None = None

    @property
    def qemu_location(self) -> str:
        """The location QEMU prints before a message it reports for this option."""
        if self.file is not None:
            return f"{self.file}:{self.line}"
        return " ".join(self.words)

    @property
    def locatable(self) -> bool:
        """False for a -readconfig section QEMU saved no location for (no key line yet)."""
        return self.file is None or self.line is not None

    def in_file_at(self, section_end: bool) -> Where:
        """This option's place as a release reports it: the section's header line, or
        (``section_end``) the last key line read when the section ended."""
        if self.section is None:
            return self
        header, end = self.section
        line = end if section_end else header
        return self if line == self.line else replace(self, line=line)

    @property
    def option(self) -> str | None:
        return self.words[0] if self.words else None


class CmdxlateError(Exception):
    """Base of every error cmdxlate reports; see the module docstring for the tree."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, hint: str | None = None,
                 where: Where | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        return self.message

    def at(self, where: Where | None) -> CmdxlateError:
        """Point at ``where`` unless a more precise place is already known; returns self."""
        if self.where is None and where is not None:
            self.where = where
        return self

    def as_dict(self) -> dict[str, object]:
        """The JSON form: ``error`` is the message; the pointer goes in its own fields."""
        out: dict[str, object] = {"error": self.message, "kind": self.kind}
        if self.where is not None:
            if self.where.file is not None:
                out["file"], out["line"] = self.where.file, self.where.line
            if self.where.words:
                out["option"] = self.where.option
                out["args"] = list(self.where.words)
            if self.where.index is not None:
                out["index"] = self.where.index
        self._qemu_fields(out)
        if self.hint:
            out["hint"] = self.hint
        return out

    kind = "input"

    def _qemu_fields(self, out: dict[str, object]) -> None:
        """QEMU's own lines that follow the message (QemuRefusal)."""


class InputError(CmdxlateError):
    """Input cmdxlate refuses in its own words (not a QEMU message)."""


class UsageError(InputError):
    """cmdxlate's own command-line options are wrong."""

    kind = "usage"


class QemuRefusal(CmdxlateError):
    """QEMU would refuse the line with exactly ``message``.

    ``located`` says QEMU itself prints the option's location before the text
    (errors raised while QEMU reads an option, or replays it later); the
    location is then part of ``message``, as QEMU prints it.

    ``hint`` is QEMU's hint: the lines QEMU prints, without its program name,
    right after the message (``Use -machine help to list supported
    machines``); ``note`` is cmdxlate's own advice (``hint`` of the JSON form).
    ``more`` are further error lines QEMU prints after these, each after its
    program name (QEMU 5.2 reports a -readconfig problem twice).
    """

    kind = "qemu"

    def __init__(self, text: str, *, hint: str | None = None, where: Where | None = None,
                 located: bool = False, note: str | None = None,
                 more: tuple[str, ...] = ()) -> None:
        super().__init__(text, hint=note, where=where)
        self.text = text
        self.qemu_hint = hint
        self.more = more
        self.located = located
        if located and where is not None and where.locatable:
            self.message = f"{where.qemu_location}: {text}"

    def _qemu_fields(self, out: dict[str, object]) -> None:
        if self.qemu_hint:
            out["qemu_hint"] = self.qemu_hint
        if self.more:
            out["more_errors"] = list(self.more)

    def qemu_lines(self) -> list[str]:
        """What QEMU writes to stderr: the message, its hint lines, further errors
        (error lines without the program name)."""
        lines = [self.message]
        if self.qemu_hint:
            lines += self.qemu_hint.splitlines()
        return lines + list(self.more)

    def at(self, where: Where | None) -> CmdxlateError:
        super().at(where)
        return self

    def locate(self, where: Where) -> QemuRefusal:
        """QEMU reports this error with ``where``'s location (``-numa ...: text``)."""
        if not self.located:
            self.located = True
            self.where = self.where or where
            if where.locatable:
                self.message = f"{where.qemu_location}: {self.text}"
        return self


class QueryRefusal(QemuRefusal):
    """QEMU starts the line, but its answer to what was asked is this QMP error."""

    kind = "query"


class OracleError(CmdxlateError):
    """A real QEMU could not give an answer: it is missing, hung or crashed."""

    exit_code = EXIT_ORACLE
    kind = "oracle"


class OracleUnavailable(OracleError):
    """No usable QEMU binary for what was asked."""


class OracleTimeout(OracleError):
    """QEMU did not answer in time (it was killed)."""


class OracleCrash(OracleError):
    """QEMU died from a signal or stopped answering."""


class pointing_at:  # noqa: N801 - a context manager, named for how it reads in a with
    """Errors raised inside point at ``where`` (unless they already point somewhere).

    A class, not ``contextlib.contextmanager``: a line enters these thousands of times
    in a batch, and importing contextlib is start-up time every command pays."""

    __slots__ = ("where",)

    def __init__(self, where: Where | None) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: object) -> None:
        if isinstance(err, CmdxlateError):
            err.at(self.where)


class qemu_located(pointing_at):  # noqa: N801
    """QEMU prints ``where``'s location before errors raised inside (its ``loc`` is set)."""

    __slots__ = ()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: object) -> None:
        if isinstance(err, CmdxlateError):
            locate_at(err, self.where)


def locate_at(err: CmdxlateError, where: Where | None) -> None:
    """What ``qemu_located(where)`` does to an error raised inside it; for hot loops
    that build ``where`` only once something failed (``except CmdxlateError``)."""
    if isinstance(err, QemuRefusal):
        if where is not None:
            err.locate(where)
    else:
        err.at(where)
