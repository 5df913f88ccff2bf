"""The ``cmdxlate`` command: every command and option defined once, with typer.

QEMU's arguments come only after ``--`` (or from ``--from-file``); anything
before ``--`` that is not one of the command's own options is refused, so a
mistyped option never becomes a file name or a QEMU argument.
"""

from __future__ import annotations

import difflib
import json
import sys
from enum import Enum
from typing import Any

import click
import typer
from typer.core import TyperGroup

from cmdxlate import __version__
from cmdxlate.cli.common import (
    CommandExit,
    Session,
    dump,
    format_argv,
    safe_streams,
    visible,
    warn,
)
from cmdxlate.error import EXIT_INPUT, CmdxlateError, UsageError

QEMU_ARGS_HELP = "The QEMU command line, after --."


class _Group(TyperGroup):
    """Usage errors end like every other error: one ``cmdxlate: error:`` line, exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        safe_streams()
        try:
            check_before_dashdash(self, argv)
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False,
                              windows_expand_args=windows_expand_args, **extra)
            code = rv if isinstance(rv, int) else 0
        except CommandExit as e:
            code = e.code
        except CmdxlateError as e:
            _usage(e)
            code = e.exit_code
        except click.exceptions.NoArgsIsHelpError as e:
            if e.ctx is not None:
                sys.stdout.write(e.ctx.get_help() + "\n")
            code = 0
        except click.ClickException as e:
            sys.stderr.write(f"cmdxlate: error: {visible(e.format_message())}\n")
            if isinstance(e, click.UsageError) and e.ctx is not None:
                sys.stderr.write(f"  see: {e.ctx.command_path} --help\n")
            code = EXIT_INPUT
        except click.exceptions.Exit as e:
            code = e.exit_code
        except click.Abort:
            sys.stderr.write("cmdxlate: interrupted\n")
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


def _usage(e: CmdxlateError) -> None:
    sys.stderr.write(f"cmdxlate: error: {visible(e.message)}\n")
    if e.hint:
        sys.stderr.write(f"  hint: {visible(e.hint)}\n")


def check_before_dashdash(group: click.Group, argv: list[str]) -> None:
    """Refuse anything before ``--`` that is not the command's own: QEMU's arguments go after.

    Click would take ``-object`` as ``-o bject`` and ``-machine`` as ``-h``; cmdxlate does
    not: an option must be written whole (``-o FILE``, ``--output=FILE``).
    """
    if not argv or argv[0].startswith("-"):
        return
    command = group.commands.get(argv[0])
    if command is None:
        return
    takes_value: dict[str, bool] = {"--help": False, "-h": False}
    positionals = 0
    qemu_args = False
    for p in command.params:
        if isinstance(p, click.Option):
            for name in [*p.opts, *p.secondary_opts]:
                takes_value[name] = not (p.is_flag or p.count)
        elif isinstance(p, click.Argument):
            if p.nargs == -1:
                qemu_args = True
            else:
                positionals += 1
    tokens = argv[1:]
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "--":
            return
        name = t.split("=", 1)[0] if t.startswith("--") else t
        if name in takes_value:
            i += 1 + (takes_value[name] and "=" not in t)
            continue
        if t.startswith("--"):
            near = difflib.get_close_matches(name, [o for o in takes_value if len(o) > 2],
                                             n=1, cutoff=0.7)
            raise UsageError(f"unknown option '{name}' for 'cmdxlate {argv[0]}'"
                             + (f" (did you mean {near[0]}?)" if near else "; see --help"))
        if t.startswith("-") and t != "-":
            if not qemu_args:
                raise UsageError(f"unknown option '{t}' for 'cmdxlate {argv[0]}'; see --help")
            raise UsageError(f"'{t}' is not an option of 'cmdxlate {argv[0]}': QEMU arguments "
                             "go after --", hint=f"cmdxlate {argv[0]} [OPTIONS] -- {t} ...")
        if positionals:
            positionals -= 1
            i += 1
            continue
        raise UsageError(f"unexpected argument '{t}' for 'cmdxlate {argv[0]}': "
                         + ("QEMU arguments go after --" if qemu_args else "see --help"))


app = typer.Typer(
    name="cmdxlate",
    cls=_Group,
    help=(
        "Make QEMU's CPU topology explicit: parse a QEMU command line, resolve -smp/-numa "
        "exactly as a QEMU release does for a machine type and version, and convert it to "
        "explicit -device CPUs.\n\nQEMU's arguments always come after --, for example:\n\n"
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


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    qmp = "qmp"


class Op(str, Enum):
    convert = "convert"
    slots = "slots"
    verify = "verify"


def complete_qemu_args(incomplete: str) -> list[str]:
    """Shell completion after --: QEMU option names."""
    from cmdxlate.syntax.options import FLAGS, WITH_ARG

    names = sorted({"-" + n for n in FLAGS | WITH_ARG})
    return [n for n in names if n.startswith(incomplete)] if incomplete.startswith("-") else []


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"cmdxlate {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """cmdxlate: QEMU command-line topology translator."""


# ---------------------------------------------------------------- options, defined once

QemuArgs = typer.Argument(None, help=QEMU_ARGS_HELP, show_default=False, metavar="-- ARGS",
                          autocompletion=complete_qemu_args)
FromFile = typer.Option(None, "--from-file", "-f", metavar="FILE",
                        help="Read the command line from a shell-style file (libvirt .args).")
ArchOpt = typer.Option(None, "--arch", metavar="ARCH",
                       help="Target architecture (default: from the binary in the line, "
                       "else the machine type, else x86_64).")
TargetOpt = typer.Option(None, "--target", "-t", metavar="RELEASE",
                         help="QEMU release to behave like, e.g. 10.0 (default: the newest "
                         "cmdxlate models).")
MachinesOpt = typer.Option(None, "--machines", metavar="FILE",
                           help="Machine database written by 'cmdxlate probe'.")
OutputOpt = typer.Option(None, "--output", "-o", metavar="FILE",
                         help="Write to FILE (atomically) instead of standard output.")
ForceOpt = typer.Option(False, "--force", help="Overwrite an existing output file.")
QmpOpt = typer.Option(None, "--qmp", metavar="SOCKET",
                      help="Read the running QEMU on this QMP UNIX socket (read-only), check it "
                      "against ARGS and answer for the VM as it is now; --target is its release.")
TimeoutOpt = typer.Option(None, "--timeout", metavar="SECONDS",
                          help="Seconds to wait for QEMU (default: 10 for --qmp; for verify "
                          "30, more for lines with many CPUs).")


# ---------------------------------------------------------------- commands

@app.command(epilog=(
    "Examples:\n\n  cmdxlate parse -- -smp 4,sockets=2 -numa node,cpus=0-1,cpus=4-5\n\n"
    "  cmdxlate parse --format json --from-file guest.args"))
def parse(args: list[str] = QemuArgs,
          fmt: TextJson = typer.Option(TextJson.text, "--format"),
          from_file: str = FromFile) -> None:
    """Show how a QEMU command line splits into options and key=value pairs."""
    from cmdxlate.cli.render import parse_view

    s = Session(fmt.value)
    cl = s.load(args, from_file)
    try:
        options = [o.as_dict() for o in cl.options]
    except CmdxlateError as e:
        s.fail(e)
    if fmt == TextJson.json:
        sys.stdout.write(dump({"binary": cl.binary, "env": cl.env, "arch": cl.arch,
                               "options": options, "warnings": cl.warnings}))
        return
    parse_view(cl, options)
    warn(cl.warnings)


@app.command(epilog=(
    "Examples:\n\n  cmdxlate slots -- -machine q35 -smp 2,maxcpus=4\n\n"
    "  cmdxlate slots --format json --target 7.2 -- -M pc-i440fx-6.1 -smp 4\n\n"
    "  cmdxlate slots --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8"))
def slots(args: list[str] = QemuArgs,
          fmt: TextJson = typer.Option(TextJson.text, "--format"),
          target: str = TargetOpt, arch: str = ArchOpt, from_file: str = FromFile,
          machines: str = MachinesOpt, qmp: str = QmpOpt,
          timeout: float = TimeoutOpt) -> None:
    """Predict QEMU's query-hotpluggable-cpus answer for a command line (or, with --qmp,
    read a running VM's and check it against the line)."""
    from cmdxlate.cli.live import check_timeout, live_slots, live_state

    s = Session(fmt.value)
    wait = check_timeout(s, qmp, timeout)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    if qmp is not None and wait is not None:
        return live_slots(s, live_state(s, cl, qmp, wait, target, arch, catalog))
    topo = s.resolve(cl, target, arch, catalog)
    try:
        answer = topo.hotpluggable_cpus()
    except CmdxlateError as e:
        s.fail(e)
    warn(topo.warnings)
    if fmt == TextJson.json:
        sys.stdout.write(json.dumps(answer) + "\n")
        return
    from cmdxlate.cli.render import slots_table

    slots_table(topo.machine.name, answer)


@app.command(epilog=(
    "Examples:\n\n  cmdxlate convert -- -machine q35 -smp 4,maxcpus=8\n\n"
    "\b\n  cmdxlate convert --format json --from-file guest.args -o guest-explicit.args\n\n"
    "  cmdxlate convert --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8\n\n"
    "With --qmp it prints the migration destination line of the running VM: the line "
    "with every CPU plugged now (hot-plugged ones as -device, in the order the VM "
    "created them, with their ids)."))
def convert(args: list[str] = QemuArgs,
            fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
            target: str = TargetOpt, arch: str = ArchOpt, from_file: str = FromFile,
            output: str = OutputOpt, force: bool = ForceOpt,
            machines: str = MachinesOpt, qmp: str = QmpOpt,
            timeout: float = TimeoutOpt) -> None:
    """Print an equivalent command line with every CPU an explicit -device."""
    from cmdxlate.cli.live import check_timeout, live_convert, live_state
    from cmdxlate.emit.convert import convert as do_convert

    s = Session(fmt.value)
    wait = check_timeout(s, qmp, timeout)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    if qmp is not None and wait is not None:
        return live_convert(s, cl, live_state(s, cl, qmp, wait, target, arch, catalog),
                            output, force)
    topo = s.resolve(cl, target, arch, catalog)
    try:
        result = do_convert(cl, topo)
    except CmdxlateError as e:
        s.fail(e)
    warn(topo.warnings)
    s.write(format_argv(result.groups, fmt.value, cl.env, cl.binary), output, force)


@app.command(epilog=(
    "Example:\n\n  cmdxlate writeconfig -o vm.cfg -- -machine q35 -smp 4,maxcpus=8 -cpu max\n\n"
    "prints the arguments that stay on the command line, with -readconfig vm.cfg in them."))
def writeconfig(args: list[str] = QemuArgs,
                output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                                           help="The -readconfig file to write."),
                force: bool = ForceOpt,
                fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
                target: str = TargetOpt, arch: str = ArchOpt, from_file: str = FromFile,
                machines: str = MachinesOpt) -> None:
    """Write the converted line as a -readconfig file plus the argv that must stay."""
    from cmdxlate.emit.convert import convert as do_convert
    from cmdxlate.emit.readconfig import split_for_config
    from cmdxlate.syntax.config import format_config

    s = Session(fmt.value)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    topo = s.resolve(cl, target, arch, catalog)
    try:
        split = split_for_config(do_convert(cl, topo).groups, topo.machine.release)
        text = format_config(split.sections, header_comment=(
            f"written by cmdxlate {__version__} for {topo.machine.name}; "
            "read with: qemu -readconfig FILE"))
    except CmdxlateError as e:
        s.fail(e)
    s.write(text, output, force)
    rest = list(split.argv)
    rest.insert(split.insert_at, ["-readconfig", output])
    warn(topo.warnings)
    sys.stdout.write(format_argv(rest, fmt.value, cl.env, cl.binary))


@app.command(epilog=(
    "Examples:\n\n  cmdxlate readconfig vm.cfg\n\n"
    "  cmdxlate readconfig vm.cfg --format json -- -cpu max -display none"))
def readconfig(path: str = typer.Argument(..., metavar="FILE", help="A QEMU -readconfig file."),
               extra: list[str] = typer.Argument(None, help="More QEMU arguments, after --.",
                                                 show_default=False, metavar="-- ARGS"),
               fmt: ShellJson = typer.Option(ShellJson.shell, "--format"),
               target: str = TargetOpt) -> None:
    """Turn a -readconfig file back into command-line arguments.

    The file is read as the target release reads it: QEMU's own refusal (for example
    ``host-nodes = "0"`` where 6.1 and later want ``host-nodes.0``) ends the command.
    """
    from cmdxlate.catalog import Catalog
    from cmdxlate.emit.readconfig import sections_to_options
    from cmdxlate.model import build_spec
    from cmdxlate.syntax.argv import parse_argv
    from cmdxlate.syntax.config import read_config_file
    from cmdxlate.syntax.source import expand_readconfig

    s = Session(fmt.value)
    try:
        release = Catalog.builtin().release(target)
        cl = expand_readconfig(parse_argv(["-readconfig", path, *(extra or [])]))
        spec = build_spec(cl, release)
        for backend in spec.backends.values():
            if backend.error is not None:
                raise backend.error  # QEMU refuses it when it creates the object
        _, warnings = sections_to_options(read_config_file(path), path)
        groups = [o.args() for o in cl.options]
    except CmdxlateError as e:
        s.fail(e)
    warn(warnings)
    sys.stdout.write(format_argv(groups, fmt.value))


@app.command(epilog=(
    "Examples:\n\n\b\n  cmdxlate explain -- -machine q35 -smp 8,sockets=2 -m 1G "
    "-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M "
    "-numa node,memdev=m0 -numa node,memdev=m1\n\n"
    "  cmdxlate explain --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8"))
def explain(args: list[str] = QemuArgs, target: str = TargetOpt, arch: str = ArchOpt,
            from_file: str = FromFile,
            fmt: TextJson = typer.Option(TextJson.text, "--format"),
            machines: str = MachinesOpt, qmp: str = QmpOpt,
            timeout: float = TimeoutOpt) -> None:
    """Draw the topology: NUMA nodes, sockets, cores, threads, and where defaults came from
    (with --qmp: of the running VM, hot-plugged CPUs included)."""
    from cmdxlate.cli.live import check_timeout, live_explain, live_state
    from cmdxlate.emit.explain import explain_data

    s = Session(fmt.value)
    wait = check_timeout(s, qmp, timeout)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    if qmp is not None and wait is not None:
        return live_explain(s, live_state(s, cl, qmp, wait, target, arch, catalog))
    topo = s.resolve(cl, target, arch, catalog)
    if fmt == TextJson.json:
        sys.stdout.write(dump(explain_data(topo)))
        return
    from cmdxlate.cli.render import explain_tree

    explain_tree(topo)
    warn(topo.warnings)


@app.command(epilog=(
    "Examples:\n\n  cmdxlate verify -- -machine q35 -smp 4,maxcpus=8\n\n"
    "  cmdxlate verify --qemu /usr/bin/qemu-system-x86_64 --from-file guest.args"))
def verify(args: list[str] = QemuArgs,
           qemu: str = typer.Option(None, "--qemu", metavar="BIN", help="QEMU binary to ask."),
           target: str = TargetOpt, arch: str = ArchOpt, from_file: str = FromFile,
           fmt: TextJson = typer.Option(TextJson.text, "--format"),
           timeout: float = TimeoutOpt, machines: str = MachinesOpt) -> None:
    """Run real QEMU on the original and the converted line and compare their CPUs.

    Only a topology projection of each line runs (machine, accel, cpu, smp, numa,
    memory and CPU devices), paused, so no disk, socket or file of yours is opened.
    The release is the binary's own (BIN --version); --target picks the installed binary
    of that release. Exit 0 when equal, 1 when different, 2 on bad input, 4 when QEMU is
    missing or fails.
    """
    from cmdxlate.oracle.timeout import valid_timeout
    from cmdxlate.oracle.verify import verify_line

    s = Session(fmt.value)
    try:
        wait = None if timeout is None else valid_timeout(timeout, 0)
    except CmdxlateError as e:
        s.fail(e)
    s.catalog(machines)
    cl = s.load(args, from_file)
    try:
        report = verify_line(cl, qemu=qemu, target=target, arch=arch, timeout=wait)
    except CmdxlateError as e:
        s.fail(e)
    if fmt == TextJson.json:
        sys.stdout.write(dump(report.as_dict()))
    else:
        from cmdxlate.cli.render import verify_report

        verify_report(report)
    raise CommandExit(0 if report.equal else 1)


@app.command(epilog=(
    "Examples:\n\n  cmdxlate plan -- -machine q35 -smp 4,maxcpus=8\n\n"
    "  cmdxlate plan --format qmp --cpus 6 -- -machine q35 -smp 4,maxcpus=8\n\n"
    "--format json prints {\"argv\": [...], \"qmp\": [...]}; --format qmp prints only the "
    "commands, one JSON object a line, for a QMP client."))
def plan(args: list[str] = QemuArgs,
         cpus: int = typer.Option(None, "--cpus", metavar="N",
                                  help="Reach N present CPUs instead of the line's, plugging "
                                  "slots in slot order as -smp cpus=N does."),
         fmt: PlanFormat = typer.Option(PlanFormat.text, "--format"),
         target: str = TargetOpt, arch: str = ArchOpt, from_file: str = FromFile,
         machines: str = MachinesOpt) -> None:
    """Plan the hotplug route to the line's CPUs: start QEMU paused with one CPU (one core
    on pseries), device_add the others over QMP in the order QEMU creates them, then cont."""
    from cmdxlate.cli.live import plan_command

    s = Session(fmt.value)
    catalog = s.catalog(machines)
    plan_command(s, s.load(args, from_file), cpus, target, arch, catalog)


@app.command(epilog=(
    "Example:\n\n  cmdxlate probe --qemu /usr/bin/qemu-system-x86_64 -o machines.json\n\n"
    "then: cmdxlate slots --machines machines.json -- -M pc -smp 4"))
def probe(qemu: str = typer.Option(..., "--qemu", metavar="BIN", help="QEMU binary to ask."),
          output: str = OutputOpt, force: bool = ForceOpt,
          fmt: TextJson = typer.Option(TextJson.json, "--format")) -> None:
    """Ask a QEMU binary about its machines and CPU models; write a machine database file."""
    from cmdxlate.oracle.probe import probe_binary

    s = Session(fmt.value)
    try:
        db = probe_binary(qemu)
    except CmdxlateError as e:
        s.fail(e)
    if output is None and fmt == TextJson.text:
        sys.stdout.write(f"QEMU {db['qemu_version']}: {len(db['families'])} machine families\n")
        for fam in db["families"]:
            sys.stdout.write(f"  {fam['family']}: {len(fam['machine_versions'])} versions\n")
        return
    s.write(dump(db), output, force)


@app.command(epilog=(
    "Examples:\n\n  cmdxlate batch lines.jsonl -o out.jsonl\n\n"
    "  cmdxlate batch ../shared/corpus/libvirt --op slots --jobs 2"))
def batch(source: str = typer.Argument(..., metavar="IN",
                                       help="JSON Lines (argv arrays or {\"argv\": [...]}), "
                                       "a folder of .args files, or - for standard input."),
          op: Op = typer.Option(Op.convert, "--op"),
          fmt: TextJson = typer.Option(TextJson.json, "--format"),
          output: str = OutputOpt, force: bool = ForceOpt, target: str = TargetOpt,
          jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=64, help="Worker processes."),
          machines: str = MachinesOpt) -> None:
    """Run convert, slots or verify over many command lines; one record out per line in.

    IN is JSON Lines (- for standard input) or a folder of .args files. Records come out
    in input order as they are done, each naming its input. Exit 0 all ok, 1 only verify
    differences, 2 a line failed, 4 QEMU missing or failing (the batch stops).
    """
    from cmdxlate.cli.batch import run_batch

    s = Session(fmt.value)
    catalog = s.catalog(machines)
    try:
        target = str(catalog.release(target).version)
        code = run_batch(source, op.value, output, force, target, jobs, machines, fmt.value)
    except CmdxlateError as e:
        s.fail(e)
    raise CommandExit(code)


def run() -> None:
    """Console entry point: no traceback reaches the user."""
    import os

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
        sys.stderr.write(f"cmdxlate: error: {visible(e.message)}\n")
        raise SystemExit(e.exit_code) from None
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
            f"cmdxlate: internal error: {type(e).__name__}: {visible(str(e))} "
            "(set CMDXLATE_DEBUG=1 for details; please report it)\n")
        raise SystemExit(3) from None
