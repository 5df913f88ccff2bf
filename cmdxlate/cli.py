"""The ``cmdxlate`` command: typer for options, rich only where people look.

QEMU's arguments always come after ``--``.  Every failure that is the
user's input ends as one ``cmdxlate: error: ...`` line and exit code 2;
anything else is reported as an internal error (exit 3), never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any

import typer
from typer.core import TyperGroup

from cmdxlate import __version__
from cmdxlate.commands import _clean as clean_text
from cmdxlate.errors import CmdxlateError

EXIT_INPUT = 2
EXIT_INTERNAL = 3

QEMU_ARGS_HELP = "The QEMU command line, after --."
_CTX = {"allow_extra_args": True, "ignore_unknown_options": True,
        "help_option_names": ["-h", "--help"]}

class _Group(TyperGroup):
    """Usage errors end like every other error: one ``cmdxlate: error:`` line, exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False,
                              windows_expand_args=windows_expand_args, **extra)
            code = rv if isinstance(rv, int) else 0
        except NoArgsIsHelpError as e:
            if e.ctx is not None:
                sys.stdout.write(e.ctx.get_help() + "\n")
            code = 0
        except ClickException as e:
            sys.stderr.write(f"cmdxlate: error: {clean_text(e.format_message())}\n")
            if isinstance(e, UsageError) and e.ctx is not None:
                sys.stderr.write(f"  see: {e.ctx.command_path} --help\n")
            code = EXIT_INPUT
        except typer.Abort:
            sys.stderr.write("cmdxlate: interrupted\n")
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="cmdxlate",
    cls=_Group,
    help=(
        "Make QEMU's CPU topology explicit: parse a QEMU command line, resolve -smp/-numa "
        "exactly as QEMU does for a machine type and version, and convert it to explicit "
        "-device CPUs.\n\nQEMU's arguments always come after --, for example:\n\n"
        "  cmdxlate convert -- -machine q35 -smp 4,maxcpus=8"
    ),
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class TextJson(str, Enum):
    text = "text"
    json = "json"


class ShellJson(str, Enum):
    shell = "shell"
    json = "json"


class Op(str, Enum):
    convert = "convert"
    slots = "slots"
    verify = "verify"


# ---------------------------------------------------------------- helpers

from cmdxlate.commands import (  # noqa: E402 - after the enums typer needs
    CommandExit,
    _fail,
    _format_argv,
    _load,
    _machine_db,
    _named,
    _resolve,
    _warn,
    _write_output,
    run_convert,
    run_slots,
    safe_streams,
)


def complete_qemu_args(incomplete: str) -> list[str]:
    """Shell completion after --: QEMU option names."""
    from cmdxlate.options import FLAGS, WITH_ARG

    names = sorted({"-" + n for n in FLAGS | WITH_ARG})
    return [n for n in names if n.startswith(incomplete)] if incomplete.startswith("-") else []


def _exits(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn a command body's CommandExit into typer's exit, keeping the signature."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        safe_streams()
        try:
            fn(*args, **kwargs)
        except CommandExit as e:
            raise typer.Exit(e.code) from None

    return wrapper


def version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"cmdxlate {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """cmdxlate: QEMU command-line topology translator."""


# ---------------------------------------------------------------- commands

FromFile = typer.Option(None, "--from-file", "-f", metavar="FILE",
                        help="Read the command line from a shell-style file (libvirt .args).")
ArchOpt = typer.Option(None, "--arch", help="Target architecture (default: from the binary "
                       "in the line, else x86_64).")
TargetOpt = typer.Option("10.0", "--target", "-t", help="QEMU version to behave like (7.2, 10.0).")
MachinesOpt = typer.Option(None, "--machines", metavar="FILE",
                           help="Machine database written by 'cmdxlate probe'.")


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate parse -- -smp 4,sockets=2 -numa node,cpus=0-1,cpus=4-5\n\n"
    "  cmdxlate parse --format json --from-file guest.args"))
@_exits
def parse(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    fmt: TextJson = typer.Option(TextJson.text, "--format"),
    from_file: str = FromFile,
) -> None:
    """Show how a QEMU command line splits into options and key=value pairs."""
    import cmdxlate.commands as cmds
    from cmdxlate.inputs import load_command

    try:
        cl, _ = load_command(args, from_file)
        cmds._current_argv = cl.to_argv()
        data: dict[str, Any] = {"binary": cl.binary, "env": cl.env, "arch": cl.arch,
                "options": [o.as_dict() for o in cl.options], "warnings": cl.warnings}
    except CmdxlateError as e:
        _fail(e, fmt.value)
    if fmt == TextJson.json:
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
        return
    rows: list[tuple[str, str, str]] = []
    for o in data["options"]:
        if "pairs" in o:
            desc = ", ".join(f"{k}={v}" for k, v in o["pairs"])
        elif "json" in o:
            desc = "JSON " + json.dumps(o["json"])
        else:
            desc = " ".join(o["args"][1:]) if o["option"] else o["args"][0]
        name = o["args"][0] if o["option"] else "(argument)"
        if o.get("known") is False:
            name += " (unknown)"
        rows.append((str(o["index"]), name, desc))
    if cl.binary:
        sys.stdout.write(f"binary: {clean_text(cl.binary)}  arch: {cl.arch}\n")
    if len(rows) > 500:
        # A table this long is for grep, not for eyes; rich would take seconds.
        for index, name, desc in rows:
            sys.stdout.write(f"{index}\t{clean_text(name)}\t{clean_text(desc)}\n")
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title="QEMU options", show_lines=False)
        table.add_column("#", justify="right")
        table.add_column("option")
        table.add_column("value / pairs")
        for index, name, desc in rows:
            table.add_row(index, Text(name), Text(desc))
        Console().print(table)
    _warn(cl.warnings)


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate slots -- -machine q35 -smp 2,maxcpus=4\n\n"
    "  cmdxlate slots --format json --target 7.2 -- -M pc-i440fx-6.1 -smp 4"))
@_exits
def slots(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    fmt: TextJson = typer.Option(TextJson.text, "--format"),
    target: str = TargetOpt,
    arch: str = ArchOpt,
    from_file: str = FromFile,
    machines: str = MachinesOpt,
) -> None:
    """Predict QEMU's query-hotpluggable-cpus answer for a command line."""
    raise typer.Exit(run_slots(args, fmt.value, target, arch, from_file, machines))


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate convert -- -machine q35 -smp 4,maxcpus=8\n\n"
    "  cmdxlate convert --format json --from-file guest.args -o guest-explicit.args"))
@_exits
def convert(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
    target: str = TargetOpt,
    arch: str = ArchOpt,
    from_file: str = FromFile,
    output: str = typer.Option(None, "--output", "-o", metavar="FILE",
                               help="Write to FILE (atomically) instead of standard output."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    machines: str = MachinesOpt,
) -> None:
    """Print an equivalent command line with every CPU an explicit -device."""
    raise typer.Exit(run_convert(args, fmt.value, target, arch, from_file, output, force,
                                 machines))


@app.command(context_settings=_CTX, epilog=(
    "Example:\n\n  cmdxlate writeconfig -o vm.cfg -- -machine q35 -smp 4,maxcpus=8 -cpu host\n\n"
    "prints the arguments that stay on the command line, ending in -readconfig vm.cfg."))
@_exits
def writeconfig(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                               help="The -readconfig file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
    target: str = TargetOpt,
    arch: str = ArchOpt,
    from_file: str = FromFile,
    machines: str = MachinesOpt,
) -> None:
    """Write the converted line as a -readconfig file plus the argv that must stay."""
    from cmdxlate.cfgfile import format_config
    from cmdxlate.cfgmap import split_for_config
    from cmdxlate.emit import convert as do_convert

    _machine_db(machines)
    cl = _load(args, from_file, fmt.value)
    topo = _resolve(cl, target, arch, fmt.value)
    try:
        result = do_convert(cl, topo)
        split = split_for_config(result.groups)
        text = format_config(split.sections, header_comment=(
            f"written by cmdxlate {__version__} for {topo.machine.name}; "
            "read with: qemu -readconfig FILE"))
    except CmdxlateError as e:
        _fail(e, fmt.value)
    _write_output(text, output, force, fmt.value)
    rest = list(split.argv)
    rest.insert(split.insert_at, ["-readconfig", output])
    _warn(topo.warnings)
    sys.stdout.write(_format_argv(rest, fmt.value, cl.env, cl.binary))


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate readconfig vm.cfg\n\n"
    "  cmdxlate readconfig vm.cfg --format json -- -cpu host -display none"))
@_exits
def readconfig(
    path: str = typer.Argument(..., metavar="FILE", help="A QEMU -readconfig file."),
    extra: list[str] = typer.Argument(None, help="More QEMU arguments, after --.",
                                      show_default=False),
    fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
) -> None:
    """Turn a -readconfig file back into command-line arguments."""
    from cmdxlate.cfgfile import read_config_file
    from cmdxlate.cfgmap import sections_to_argv

    try:
        argv, warnings = sections_to_argv(read_config_file(path))
    except CmdxlateError as e:
        _fail(e, fmt.value)
    _warn(warnings)
    groups = [argv[i:i + 2] for i in range(0, len(argv), 2)]
    if extra:
        from cmdxlate.cmdline import parse_argv

        try:
            groups += [o.args() for o in parse_argv(list(extra)).options]
        except CmdxlateError as e:
            _fail(e, fmt.value)
    sys.stdout.write(_format_argv(groups, fmt.value))


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate explain -- -machine q35 -smp 8,sockets=2 "
    "-m 1G -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M "
    "-numa node,memdev=m0 -numa node,memdev=m1"))
@_exits
def explain(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    target: str = TargetOpt,
    arch: str = ArchOpt,
    from_file: str = FromFile,
    fmt: TextJson = typer.Option(TextJson.text, "--format"),
    machines: str = MachinesOpt,
) -> None:
    """Draw the topology: NUMA nodes, sockets, cores, threads, and where defaults came from."""
    from cmdxlate.explain import explain_data, render_tree

    _machine_db(machines)
    cl = _load(args, from_file, fmt.value)
    topo = _resolve(cl, target, arch, fmt.value)
    if fmt == TextJson.json:
        sys.stdout.write(json.dumps(explain_data(topo), indent=1) + "\n")
        return
    render_tree(topo)
    _warn(topo.warnings)


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate verify -- -machine q35 -smp 4,maxcpus=8\n\n"
    "  cmdxlate verify --qemu /usr/bin/qemu-system-x86_64 --from-file guest.args"))
@_exits
def verify(
    args: list[str] = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False,
                                      autocompletion=complete_qemu_args),
    qemu: str = typer.Option(None, "--qemu", metavar="BIN", help="QEMU binary to ask."),
    target: str = typer.Option(None, "--target", "-t", help="QEMU release (7.2, 10.0): picks "
                               "the binary; with --qemu it must be that binary's release."),
    arch: str = ArchOpt,
    from_file: str = FromFile,
    fmt: TextJson = typer.Option(TextJson.text, "--format"),
    timeout: float = typer.Option(None, "--timeout", help="Seconds for each QEMU (default: "
                                  "30, more for lines with many CPUs)."),
    machines: str = MachinesOpt,
) -> None:
    """Run real QEMU on the original and the converted line and compare their CPUs.

    Only a topology projection of each line runs (machine, accel, cpu, smp, numa,
    memory and CPU devices), paused, so no disk, socket or file of yours is opened.
    The release is the binary's own (BIN --version).
    Exit 0 when equal, 1 when different, 2 on error, 4 when QEMU is missing or failing.
    """
    from cmdxlate.verify import verify_line

    _machine_db(machines)
    cl = _load(args, from_file, fmt.value)
    try:
        report = verify_line(cl, qemu=qemu, target=target, arch=arch, timeout=timeout)
    except CmdxlateError as e:
        _fail(_named(e, cl), fmt.value)
    if fmt == TextJson.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=1) + "\n")
    else:
        report.render()
    raise typer.Exit(0 if report.equal else 1)


@app.command(context_settings=_CTX, epilog=(
    "Example:\n\n  cmdxlate probe --qemu /usr/bin/qemu-system-x86_64 -o machines.json\n\n"
    "then: cmdxlate slots --machines machines.json -- -M pc -smp 4"))
@_exits
def probe(
    qemu: str = typer.Option(..., "--qemu", metavar="BIN", help="QEMU binary to ask."),
    output: str = typer.Option(None, "--output", "-o", metavar="FILE"),
    force: bool = typer.Option(False, "--force"),
    fmt: TextJson = typer.Option(TextJson.json, "--format"),
) -> None:
    """Ask a QEMU binary about its machines and CPU models; write a machine database file."""
    from cmdxlate.probe import probe_binary

    try:
        db = probe_binary(qemu)
    except CmdxlateError as e:
        _fail(e, fmt.value)
    text = json.dumps(db, indent=1) + "\n"
    if output is None and fmt == TextJson.text:
        fams = db.get("families", [])
        sys.stdout.write(f"QEMU {db.get('qemu_version')}: {len(fams)} machine families\n")
        for fam in fams:
            vers = next(iter(fam.get("versions", {}).values()), [])
            sys.stdout.write(f"  {fam['family']}: {len(vers)} versions\n")
        return
    _write_output(text, output, force, fmt.value)


@app.command(context_settings=_CTX, epilog=(
    "Examples:\n\n  cmdxlate batch lines.jsonl -o out.jsonl\n\n"
    "  cmdxlate batch ../shared/corpus/libvirt --op slots --jobs 2"))
@_exits
def batch(
    source: str = typer.Argument(..., metavar="IN",
                                 help="JSON Lines (argv arrays or {\"argv\": [...]}), - for "
                                 "standard input, or a folder of .args files."),
    op: Op = typer.Option(Op.convert, "--op"),
    fmt: TextJson = typer.Option(TextJson.json, "--format"),
    output: str = typer.Option(None, "--output", "-o", metavar="FILE"),
    force: bool = typer.Option(False, "--force"),
    target: str = TargetOpt,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes."),
    machines: str = MachinesOpt,
) -> None:
    """Run convert, slots or verify over many command lines; one record out per line in.

    IN is JSON Lines (- for standard input) or a folder of .args files.  Records come
    out in input order as they are done, each naming its input.  Exit 0 all ok, 1 only
    verify differences, 2 a line failed, 4 QEMU missing or failing (the batch stops).
    """
    from cmdxlate.batch import run_batch

    _machine_db(machines)
    try:
        code = run_batch(source, op.value, output, force, target, jobs, machines, fmt.value)
    except CmdxlateError as e:
        _fail(e, fmt.value)
    raise typer.Exit(code)


def run() -> None:
    """Console entry point: no traceback reaches the user."""
    from cmdxlate.commands import CommandExit

    try:
        app(prog_name="cmdxlate", standalone_mode=True)
    except SystemExit:
        raise
    except CommandExit as e:
        raise SystemExit(e.code) from None
    except KeyboardInterrupt:
        sys.stderr.write("cmdxlate: interrupted\n")
        raise SystemExit(130) from None
    except CmdxlateError as e:
        sys.stderr.write(f"cmdxlate: error: {clean_text(e.message)}\n")
        raise SystemExit(EXIT_INPUT) from None
    except RecursionError:
        sys.stderr.write("cmdxlate: error: input nested too deeply\n")
        raise SystemExit(EXIT_INPUT) from None
    except MemoryError:
        sys.stderr.write("cmdxlate: error: input too large\n")
        raise SystemExit(EXIT_INPUT) from None
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("CMDXLATE_DEBUG"):
            raise
        sys.stderr.write(
            f"cmdxlate: internal error: {type(e).__name__}: {clean_text(str(e))} "
            "(set CMDXLATE_DEBUG=1 for details; please report it)\n")
        raise SystemExit(EXIT_INTERNAL) from None
