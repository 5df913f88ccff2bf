"""``cmdxlate batch``: many command lines in, one JSON line out per line, in order.

One bad line never stops the batch; it becomes ``{"error": ...}``.  Work is
split over processes with ``--jobs``; a progress bar shows only on a
terminal, and a summary table ends the run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from cmdxlate.error import CmdxlateError, InputError

MAX_LINE_BYTES = 16 * 1024 * 1024


def iter_inputs(source: str) -> Iterator[tuple[str, Any]]:
    """(label, item) pairs; item is an argv list, a path, or an error string."""
    if os.path.isdir(source):
        for root, _dirs, files in sorted(os.walk(source)):
            for name in sorted(files):
                path = os.path.join(root, name)
                if not name.endswith(".args"):
                    continue
                if os.path.isfile(path):  # regular files only: a FIFO would block
                    yield path, ("file", path)
                else:
                    yield path, ("error", "not a regular file")
        return
    try:
        f = open(source, encoding="utf-8", errors="replace")  # noqa: SIM115
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {source!r}: {getattr(e, 'strerror', None) or e}"
                            ) from None
    with f:
        n = 0
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            n += 1
            label = f"{source}:{n}"
            if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
                # Skip the rest of an over-long line without holding it in memory,
                # but not forever: input with no line ends at all is not JSON Lines.
                for _ in range(4):
                    rest = f.readline(MAX_LINE_BYTES)
                    if not rest or rest.endswith("\n"):
                        break
                else:
                    raise InputError(f"{label}: no end of line within "
                                        f"{5 * MAX_LINE_BYTES} bytes; not JSON Lines")
                yield label, ("error", f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as e:
                yield label, ("error", f"invalid JSON: {e}")
                continue
            if isinstance(obj, dict):
                obj = obj.get("argv")
            if not isinstance(obj, list) or not all(isinstance(w, str) for w in obj):
                yield label, ("error", "expected a JSON array of strings or {\"argv\": [...]}")
                continue
            yield label, ("argv", obj)


def process(item: tuple[str, Any], op: str, target: str,
            machines: str | None = None) -> dict[str, Any]:
    """One line's result; never raises."""
    kind, payload = item
    if kind == "error":
        return {"error": payload}
    try:
        from cmdxlate.catalog import Catalog
        from cmdxlate.syntax.argv import parse_argv
        from cmdxlate.syntax.source import command_from_argv, expand_readconfig

        if kind == "file":
            from cmdxlate.syntax.shell import read_command_file

            sc = read_command_file(payload)
            cl = parse_argv(sc.args, sc.binary, sc.env)
        else:
            cl = command_from_argv(payload)
        cl = expand_readconfig(cl)
        from cmdxlate.resolve import resolve

        catalog = Catalog.from_file(machines) if machines else Catalog.builtin()

        if op == "verify":
            from cmdxlate.oracle.verify import verify_line

            report = verify_line(cl, target=target)
            return {"verify": report.as_dict()}
        topo = resolve(cl, target, None, catalog)
        if op == "slots":
            return {"slots": topo.hotpluggable_cpus()}
        from cmdxlate.emit.convert import convert

        conv = convert(cl, topo)
        argv = list(cl.env) + ([cl.binary] if cl.binary else []) + conv.argv()
        return {"argv": argv}
    except CmdxlateError as e:
        return {"error": e.message}
    except (RecursionError, MemoryError) as e:
        return {"error": f"input too large or too deep: {type(e).__name__}"}
    except Exception as e:  # noqa: BLE001 - one line must not stop the batch
        return {"error": f"internal error: {type(e).__name__}: {e}"}


def _worker(args: tuple[tuple[str, Any], str, str, str | None]) -> dict[str, Any]:
    item, op, target, machines = args
    return process(item, op, target, machines)


def run_batch(source: str, op: str, output: str | None, force: bool, target: str,
              jobs: int, machines: str | None = None) -> dict[str, int]:
    items = list(iter_inputs(source))
    if output is not None:
        from cmdxlate.files import check_output_target

        check_output_target(output, force)
    results: list[dict[str, Any]] = []
    show_progress = sys.stderr.isatty()
    progress: Any = None
    task: Any = None
    if show_progress:
        from rich.progress import Progress

        progress = Progress(transient=False)
        progress.start()
        task = progress.add_task(f"{op}", total=len(items))
    try:
        if jobs > 1 and len(items) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=jobs) as pool:
                chunk = max(1, len(items) // (jobs * 8))
                for res in pool.map(_worker, [(it, op, target, machines) for _, it in items],
                                    chunksize=chunk):
                    results.append(res)
                    if progress is not None:
                        progress.advance(task)
        else:
            for _, it in items:
                results.append(process(it, op, target, machines))
                if progress is not None:
                    progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()
    text = "".join(json.dumps(r) + "\n" for r in results)
    if output is None:
        sys.stdout.write(text)
    else:
        from cmdxlate.files import write_atomic

        write_atomic(output, text, force=force)
    counts = {"lines": len(results), "ok": sum(1 for r in results if "error" not in r),
              "errors": sum(1 for r in results if "error" in r)}
    _summary(counts, op, results)
    return counts


def _summary(counts: dict[str, int], op: str, results: list[dict[str, Any]]) -> None:
    from collections import Counter

    reasons = Counter(r["error"].split(":")[0][:60] for r in results if "error" in r)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from cmdxlate.termsafe import visible

        table = Table(title=f"cmdxlate batch --op {op}")
        table.add_column("result")
        table.add_column("lines", justify="right")
        table.add_row("ok", str(counts["ok"]))
        for reason, n in reasons.most_common(8):
            table.add_row(Text(visible(f"error: {reason}")), str(n))
        Console(stderr=True).print(table)
    else:
        sys.stderr.write(
            f"cmdxlate batch: {counts['lines']} lines, {counts['ok']} ok, "
            f"{counts['errors']} errors\n")
