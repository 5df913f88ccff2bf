"""``cmdxlate batch``: many command lines in, one record out per line, in order, streaming.

Input is JSON Lines (argv arrays or ``{"argv": [...]}``), read a line at a
time with a byte cap, ``-`` for standard input, or a folder of ``.args``
files, walked lazily.  Every record names its input (``{"input":
"lines.jsonl:12", ...}``) and is written as soon as the records before it
are: with ``--jobs N`` at most ``4 N`` lines are read ahead, so memory is
bounded whatever the size of the input.  One bad line never stops the batch;
it becomes ``{"error": ...}``.  A QEMU that is missing stops it (exit 4):
every later line would fail the same way.

Exit status: 0 all ok; 1 only ``verify`` differences; 2 a line failed;
4 QEMU missing or failing (see :func:`exit_code`); 141, silently, when the
reader of standard output went away (``batch ... | head``): the batch stops.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Generator, Iterator
from contextlib import closing
from typing import IO, Any

from cmdxlate.error import CmdxlateError, InputError

MAX_LINE_BYTES = 16 * 1024 * 1024
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE: the reader of standard output went away

# Outcome of one line; the worst decides the exit status.
OK, DIFFERENT, ERROR, ORACLE, UNAVAILABLE = "ok", "different", "error", "oracle", "unavailable"

# ("json", a JSON Lines line) | ("argv", [...]) | ("file", path) | ("error", message)
Item = tuple[str, Any]
# A line's outcome, its error message (None if it has none) and its record as written.
Record = tuple[str, "str | None", str]


def _walk(folder: str) -> Iterator[str]:
    """Paths under ``folder`` in sorted order, one directory listing in memory at a time."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    subdirs: list[str] = []
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
            else:
                yield e.path
        except OSError:
            continue
    for d in subdirs:
        yield from _walk(d)


def _json_item(text: str) -> Item:
    """One input line's argv, or the reason it has none (parsed where the line is computed:
    with ``--jobs`` in a worker, so the parent only moves text)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as e:
        return "error", f"invalid JSON: {e}"
    if isinstance(obj, dict):
        obj = obj.get("argv")
    if not isinstance(obj, list) or not all(isinstance(w, str) for w in obj):
        return "error", "expected a JSON array of strings or {\"argv\": [...]}"
    return "argv", obj


def _lines(stream: IO[bytes], name: str) -> Iterator[tuple[str, Item]]:
    n = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        n += 1
        label = f"{name}:{n}"
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            # Skip the rest of the over-long line, a bounded piece at a time, but not
            # forever: input with no line ends at all (/dev/zero) is not JSON Lines.
            for _ in range(4 * MAX_LINE_BYTES >> 20):
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            else:
                raise InputError(f"{label}: no end of line within "
                                    f"{5 * MAX_LINE_BYTES} bytes; not JSON Lines")
            yield label, ("error", f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield label, ("json", line.decode("utf-8"))
        except UnicodeDecodeError:
            yield label, ("error", "not UTF-8")


def iter_inputs(source: str) -> Iterator[tuple[str, Item]]:
    """(label, item) pairs, produced lazily: nothing is read ahead of its use."""
    if source == "-":
        yield from _lines(sys.stdin.buffer, "-")
        return
    if os.path.isdir(source):
        for path in _walk(source):
            if not path.endswith(".args"):
                continue
            if os.path.isfile(path):  # regular files only: a FIFO would block
                yield path, ("file", path)
            else:
                yield path, ("error", "not a regular file")
        return
    if os.path.exists(source) and not os.path.isfile(source) and not _is_stream(source):
        raise InputError(f"{source}: not a regular file, a folder or a stream")
    try:
        f = open(source, "rb")  # noqa: SIM115 - closed below
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {source!r}: {getattr(e, 'strerror', None) or e}"
                            ) from None
    with f:
        yield from _lines(f, source)


def _is_stream(path: str) -> bool:
    """A character device or FIFO read on purpose (/dev/stdin, <(...)): streamed with bounds."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def process(item: Item, op: str, target: str, machines: str | None = None
            ) -> tuple[dict[str, Any], str]:
    """One line's result and outcome; never raises (signals aside)."""
    kind, payload = item
    if kind == "json":
        kind, payload = _json_item(payload)
    if kind == "error":
        return {"error": payload}, ERROR
    try:
        from cmdxlate.catalog import Catalog
        from cmdxlate.syntax.argv import parse_argv
        from cmdxlate.syntax.source import command_from_argv, expand_readconfig

        if kind == "file":
            from cmdxlate.syntax.shell import read_command_file

            sc = read_command_file(payload)
            cl = parse_argv(sc.args, sc.binary, sc.env)
            args_dir: str | None = os.path.dirname(os.path.abspath(payload))
        else:
            cl = command_from_argv(payload)
            args_dir = None
        cl = expand_readconfig(cl, args_dir)
        catalog = Catalog.from_file(machines) if machines else Catalog.builtin()
        if op == "verify":
            from cmdxlate.oracle.verify import verify_line

            report = verify_line(cl, target=target)
            return {"verify": report.as_dict()}, OK if report.equal else DIFFERENT
        from cmdxlate.resolver import resolve

        topo = resolve(cl, target, None, catalog)
        if op == "slots":
            return {"slots": topo.hotpluggable_cpus()}, OK
        from cmdxlate.emit.convert import convert

        conv = convert(cl, topo)
        argv = list(cl.env) + ([cl.binary] if cl.binary else []) + conv.argv()
        return {"argv": argv}, OK
    except CmdxlateError as e:
        from cmdxlate.error import OracleError, OracleUnavailable

        if isinstance(e, OracleUnavailable):
            return {"error": e.message}, UNAVAILABLE
        return {"error": e.message}, ORACLE if isinstance(e, OracleError) else ERROR
    except (RecursionError, MemoryError) as e:
        return {"error": f"input too large or too deep: {type(e).__name__}"}, ERROR
    except Exception as e:  # noqa: BLE001 - one line must not stop the batch
        return {"error": f"internal error: {type(e).__name__}: {e}"}, ERROR


def record(label: str, item: Item, op: str, target: str, machines: str | None, fmt: str
           ) -> Record:
    """One line, computed and written as its record."""
    from cmdxlate.cli.batch_io import format_record

    result, outcome = process(item, op, target, machines)
    try:
        return outcome, result.get("error"), format_record(label, result, op, fmt)
    except Exception as e:  # noqa: BLE001 - one line must not stop the batch (or a worker)
        result = {"error": f"internal error: {type(e).__name__}: {e}"}
        return ERROR, result["error"], format_record(label, result, op, "json")


def exit_code(outcomes: dict[str, int]) -> int:
    """4 if QEMU failed, else 2 if a line failed, else 1 if verify found a difference."""
    if outcomes.get(UNAVAILABLE) or outcomes.get(ORACLE):
        return 4
    if outcomes.get(ERROR):
        return 2
    if outcomes.get(DIFFERENT):
        return 1
    return 0


def run_batch(source: str, op: str, output: str | None, force: bool, target: str,
              jobs: int, machines: str | None = None, fmt: str = "json") -> int:
    """Stream ``source`` through ``op``; returns the exit status."""
    from cmdxlate.cli.batch_io import Output, Progress, StdoutClosed, summary

    if jobs < 1:
        raise InputError("--jobs must be at least 1")
    inputs = iter_inputs(source)
    outcomes: dict[str, int] = {}
    reasons: dict[str, int] = {}  # the first words of each error, for the summary
    stopped: str | None = None
    results: Generator[tuple[str, Record], None, None]
    if jobs > 1:
        from cmdxlate.cli.batch_pool import run_pool

        results = run_pool(inputs, op, target, machines, jobs, fmt)
    else:
        results = ((label, record(label, item, op, target, machines, fmt))
                   for label, item in inputs)
    # A record is flushed at once when lines are slow to compute or to arrive (a pipe):
    # whoever feeds us line by line gets each answer before sending the next line.
    eager = op == "verify" or not (os.path.isfile(source) or os.path.isdir(source))
    try:
        with closing(results), Output(output, force) as out, Progress(op) as progress:
            for label, (outcome, error, text) in results:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == ERROR and error is not None and (
                        len(reasons) < 64 or error[:60] in reasons):
                    reason = error[:60]
                    reasons[reason] = reasons.get(reason, 0) + 1
                out.write(text, flush=eager)
                progress.advance(outcome)
                if outcome == UNAVAILABLE:
                    stopped = f"{label}: {error}"
                    break
            out.commit()
    except StdoutClosed:
        return EXIT_STDOUT_CLOSED  # like a shell's "killed by SIGPIPE", and as quiet
    summary(outcomes, op, stopped, reasons)
    return exit_code(outcomes)
