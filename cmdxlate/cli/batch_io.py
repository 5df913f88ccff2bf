"""Where ``batch`` records go: standard output or a file, written as they come.

``-o FILE`` streams into a temporary file beside FILE and puts it in place
at the end (no-replace unless ``--force``), so FILE is never half written;
an interrupted or failed run leaves no temporary file behind.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import time
from types import TracebackType

from cmdxlate.error import InputError
from cmdxlate.procs import register_file, unregister_file

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import IO, Any

def _clean(text: str) -> str:
    from cmdxlate.termsafe import visible as clean

    return clean(text)


class StdoutClosed(Exception):
    """The reader of standard output went away (``batch ... | head``)."""


def _quiet_stdout() -> None:
    """Later flushes of the dead pipe (at exit too) go nowhere instead of failing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class Output:
    """Records to standard output (flushed in whole records) or to ``-o FILE``."""

    def __init__(self, path: str | None, force: bool) -> None:
        self.path = path
        self.force = force
        self.tmp: str | None = None
        self.stream: IO[str] = sys.stdout
        self._last_flush = time.monotonic()
        self._mode: int | None = None
        if path is None:
            return
        from cmdxlate.files import check_output_target

        st = check_output_target(path, force)  # the same rules as every other output
        if st is not None:
            self._mode = stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
        folder = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".cmdxlate-", dir=folder)
        except OSError as e:
            raise InputError(f"cannot write in {folder}: {e.strerror or e}") from None
        register_file(self.tmp)  # a signal that ends the run removes it
        self.stream = os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape")

    def __enter__(self) -> Output:
        return self

    def write(self, text: str, flush: bool = False) -> None:
        try:
            self.stream.write(text)
            now = time.monotonic()
            if self.tmp is None and (flush or now - self._last_flush > 0.2):
                self.stream.flush()
                self._last_flush = now
        except BrokenPipeError:
            if self.path is not None:
                raise InputError(f"cannot write {self.path}: broken pipe") from None
            _quiet_stdout()
            raise StdoutClosed from None
        except OSError as e:
            raise InputError(f"cannot write {self.path or 'standard output'}: "
                                f"{e.strerror or e}") from None

    def commit(self) -> None:
        """Everything was written: flush, and put the file in place."""
        try:
            try:
                self.stream.flush()
            except BrokenPipeError:
                if self.path is not None:
                    raise
                _quiet_stdout()
                raise StdoutClosed from None
            if self.tmp is None:
                return
            assert self.path is not None
            os.fsync(self.stream.fileno())
            self.stream.close()
            if self._mode is None:
                umask = os.umask(0)
                os.umask(umask)
                self._mode = 0o666 & ~umask
            os.chmod(self.tmp, self._mode)
            if self.force:
                os.replace(self.tmp, self.path)
            else:
                os.link(self.tmp, self.path)  # fails if someone else created it meanwhile
                os.unlink(self.tmp)
            unregister_file(self.tmp)
            self.tmp = None
        except FileExistsError:
            raise InputError(f"{self.path} exists; use --force to overwrite it") from None
        except OSError as e:
            raise InputError(f"cannot write {self.path or 'standard output'}: "
                                f"{e.strerror or e}") from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.tmp is not None:
            try:
                self.stream.close()
            except OSError:
                pass
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            unregister_file(self.tmp)
            self.tmp = None


class Progress:
    """A line counter on stderr, only when stderr is a terminal."""

    def __init__(self, op: str) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._op = op

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn

            self._progress = RichProgress(
                SpinnerColumn(), TextColumn("cmdxlate batch --op {task.description}:"),
                TextColumn("{task.completed} lines"), transient=True,
                redirect_stdout=False, redirect_stderr=False)
            self._progress.start()
            self._task = self._progress.add_task(self._op, total=None)
        return self

    def advance(self, outcome: str) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


def format_record(label: str, result: dict[str, Any], op: str, fmt: str) -> str:
    """One record: a JSON object naming its input, or one readable line."""
    if fmt == "json":
        return json.dumps({"input": label, **result}) + "\n"
    head = _clean(label)
    if "error" in result:
        return f"{head}: error: {_clean(str(result['error']))}\n"
    if "argv" in result:
        from cmdxlate.syntax.shell import quote

        return f"{head}: {_clean(' '.join(quote(w) for w in result['argv']))}\n"
    if "slots" in result:
        slots = result["slots"]
        plugged = sum(1 for s in slots if s.get("plugged"))
        return f"{head}: {len(slots)} slots, {plugged} plugged\n"
    report = result["verify"]
    if report.get("equal"):
        return f"{head}: equal\n"
    first = report.get("differences") or ["different"]
    return f"{head}: different: {_clean(str(first[0]))}\n"


def summary(outcomes: dict[str, int], op: str, stopped: str | None,
            reasons: dict[str, int] | None = None) -> None:
    lines = sum(outcomes.values())
    ok = outcomes.get("ok", 0)
    parts = [f"{lines} lines", f"{ok} ok"]
    if op == "verify":
        parts.append(f"{outcomes.get('different', 0)} different")
    errors = lines - ok - outcomes.get("different", 0)
    parts.append(f"{errors} errors")
    text = f"cmdxlate batch: {', '.join(parts)}\n"
    if stopped is not None:
        text = f"cmdxlate: error: QEMU is missing or failing, batch stopped at {_clean(stopped)}\n"
    elif reasons and sys.stderr.isatty():
        # For a person: the commonest errors, control characters shown, never obeyed.
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:8]:
            text += f"  {n:6} x error: {_clean(reason)}\n"
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:
        pass
