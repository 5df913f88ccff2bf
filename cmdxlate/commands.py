"""Command bodies without typer, so the hot commands can skip its import.

``cmdxlate convert`` and ``cmdxlate slots`` are what scripts call in loops;
``__main__`` runs them straight from here when their flags are simple, and
falls back to the typer CLI (help, completion, anything unusual) otherwise.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from cmdxlate.errors import CmdxlateError

EXIT_INPUT = 2
EXIT_INTERNAL = 3


def safe_streams() -> None:
    """Arguments that were not UTF-8 come back out as the same bytes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


def _clean(text: str) -> str:
    """One line, control characters escaped: user text must not forge output."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class CommandExit(Exception):
    """Carries an exit code out of a command body."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code



_current_argv: list[str] = []


def _fail(err: CmdxlateError, fmt: str = "text") -> NoReturn:
    code = getattr(err, "exit_code", EXIT_INPUT)  # 4: QEMU itself (cmdxlate.oracle)
    if fmt == "json":
        sys.stdout.write(json.dumps({"error": err.message}) + "\n")
        raise CommandExit(code)
    msg = _clean(err.message)
    lines = [f"cmdxlate: error: {msg}"]
    idx = err.option_index
    if idx is not None and 0 <= idx < len(_current_argv):
        from cmdxlate.shellwords import quote

        start = max(0, idx - 2)
        words = [_clean(quote(w)) for w in _current_argv[start: idx + 2]]
        prefix = " ".join(words[: idx - start])
        target = " ".join(words[idx - start: idx - start + 2])
        pad = len(prefix) + (1 if prefix else 0)
        lines.append("  " + " ".join(words))
        lines.append("  " + " " * pad + "^" * max(1, len(target)))
    if err.hint:
        lines.append(f"  hint: {_clean(err.hint)}")
    sys.stderr.write("\n".join(lines) + "\n")
    raise CommandExit(code)


def _machine_db(path: str | None) -> None:
    """Each command uses the database it was given, or the built-in one."""
    from cmdxlate.machine import use_machine_file

    use_machine_file(path)


def _load(args: list[str] | None, from_file: str | None, fmt: str = "text") -> Any:
    from cmdxlate.inputs import load_command

    global _current_argv
    try:
        cl, base = load_command(args, from_file)
        _current_argv = cl.to_argv()
        if not cl.find("readconfig"):
            return cl
        from cmdxlate.cfgmap import expand_readconfig

        return expand_readconfig(cl, base)
    except CmdxlateError as e:
        _fail(e, fmt)


def _resolve(cl: Any, target: str, arch: str | None, fmt: str) -> Any:
    from cmdxlate.topology import resolve

    try:
        return resolve(cl, target, arch)
    except CmdxlateError as e:
        _fail(_named(e, cl), fmt)


def _named(e: CmdxlateError, cl: Any) -> CmdxlateError:
    """Prefix the message with the offending option, unless it already names it."""
    idx = e.option_index
    if idx is None:
        return e
    for opt in cl.options:
        if opt.index == idx and opt.spelling:
            head = f"{opt.spelling} {opt.value}" if opt.value is not None else opt.spelling
            if e.message.startswith(opt.spelling):
                return e
            return CmdxlateError(f"{head}: {e.message}", idx, e.qemu, e.hint)
    return e


def _warn(lines: list[str]) -> None:
    for w in lines:
        sys.stderr.write(f"cmdxlate: warning: {_clean(w)}\n")


def _write_output(text: str, out: str | None, force: bool, fmt: str = "text") -> None:
    if out is None:
        sys.stdout.write(text)
        return
    from cmdxlate.files import write_atomic

    try:
        write_atomic(out, text, force=force)
    except CmdxlateError as e:
        _fail(e, fmt)


def _format_argv(groups: list[list[str]], fmt: str, env: list[str] | None = None,
                 binary: str | None = None) -> str:
    if fmt == "json":
        argv = ([binary] if binary else []) + [w for g in groups for w in g]
        return json.dumps(argv) + "\n"
    from cmdxlate.shellwords import format_command

    return format_command(env or [], binary, groups)



def run_slots(args: list[str] | None, fmt: str, target: str, arch: str | None,
              from_file: str | None, machines: str | None) -> int:
    _machine_db(machines)
    cl = _load(args, from_file, fmt)
    topo = _resolve(cl, target, arch, fmt)
    try:
        answer = topo.hotpluggable_cpus()
    except CmdxlateError as e:
        _fail(e, fmt)
    _warn(topo.warnings)
    if fmt == "json":
        sys.stdout.write(json.dumps(answer) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{topo.machine.name}: {len(answer)} CPU slots (QEMU's order)"))
    for col in ("type", "vcpus", "props", "plugged"):
        table.add_column(col)
    for entry in answer:
        props = ", ".join(f"{k}={v}" for k, v in entry["props"].items())
        table.add_row(Text(entry["type"]), str(entry["vcpus-count"]), props,
                      "yes" if entry["plugged"] else "")
    Console().print(table)
    return 0


def run_convert(args: list[str] | None, fmt: str, target: str, arch: str | None,
                from_file: str | None, output: str | None, force: bool,
                machines: str | None) -> int:
    from cmdxlate.emit import convert as do_convert

    _machine_db(machines)
    cl = _load(args, from_file, fmt)
    topo = _resolve(cl, target, arch, fmt)
    try:
        result = do_convert(cl, topo)
    except CmdxlateError as e:
        _fail(e, fmt)
    _warn(topo.warnings)
    text = _format_argv(result.groups, fmt, cl.env, cl.binary)
    _write_output(text, output, force, fmt)
    return 0


_FAST_FLAGS = {"--format": "fmt", "--target": "target", "-t": "target", "--arch": "arch",
               "--from-file": "from_file", "-f": "from_file", "--output": "output",
               "-o": "output", "--machines": "machines"}
_FORMATS = {"convert": ("shell", "json"), "slots": ("text", "json")}


def fast_main(argv: list[str]) -> int | None:
    """Run convert/slots without typer; None means "let the full CLI handle it"."""
    if not argv or argv[0] not in _FORMATS:
        return None
    safe_streams()
    cmd = argv[0]
    opts: dict[str, Any] = {"fmt": _FORMATS[cmd][0], "target": "10.0", "arch": None,
                            "from_file": None, "output": None, "force": False, "machines": None}
    i = 1
    qemu_args: list[str] | None = None
    while i < len(argv):
        a = argv[i]
        if a == "--":
            qemu_args = argv[i + 1:]
            break
        if a == "--force" and cmd == "convert":
            opts["force"] = True
            i += 1
            continue
        key, eq, val = a.partition("=")
        name = _FAST_FLAGS.get(key if eq else a)
        if name is None or (name in ("output",) and cmd != "convert"):
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            val = argv[i + 1]
            i += 2
        else:
            i += 1
        opts[name] = val
    if opts["fmt"] not in _FORMATS[cmd]:
        return None
    try:
        if cmd == "convert":
            return run_convert(qemu_args, opts["fmt"], opts["target"], opts["arch"],
                               opts["from_file"], opts["output"], opts["force"],
                               opts["machines"])
        return run_slots(qemu_args, opts["fmt"], opts["target"], opts["arch"],
                         opts["from_file"], opts["machines"])
    except CommandExit as e:
        return e.code
