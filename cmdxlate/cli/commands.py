"""What each command does, as plain functions over the values ``cli.parser`` read.

The table in ``cli.spec`` names these functions; nothing here parses argv.
"""

from __future__ import annotations

import json
import sys

from cmdxlate import __version__
from cmdxlate.cli.common import CommandExit, Session, dump, format_argv, warn
from cmdxlate.error import CmdxlateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cmdxlate.catalog import Catalog
    from cmdxlate.resolver.live import LiveState
    from cmdxlate.syntax.argv import CommandLine


def parse(*, args: list[str] | None, fmt: str, from_file: str | None) -> None:
    """Show how a QEMU command line splits into options and key=value pairs."""
    from cmdxlate.cli.render import parse_view

    s = Session(fmt)
    cl = s.load(args, from_file)
    try:
        options = [o.as_dict() for o in cl.options]
    except CmdxlateError as e:
        s.fail(e)
    if fmt == "json":
        sys.stdout.write(dump({"binary": cl.binary, "env": cl.env, "arch": cl.arch,
                               "options": options, "warnings": cl.warnings}))
        return
    parse_view(cl, options)
    warn(cl.warnings)


def _line_or_vm(s: Session, args: list[str] | None, from_file: str | None,
                target: str | None, qemu: str | None, arch: str | None, machines: str | None,
                qmp: str | None, timeout: float | None
                ) -> tuple[CommandLine, Catalog, str | None, str | None, LiveState | None]:
    """The line, the catalog, the release and the architecture; with --qmp also the
    running VM, checked."""
    target = s.target(target, qemu)
    wait = None
    if qmp is not None or timeout is not None:  # the live-VM module only for a live VM
        from cmdxlate.cli.live import check_timeout

        wait = check_timeout(s, qmp, timeout)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    arch = s.arch(arch, qemu, cl)
    if qmp is not None and wait is not None:
        from cmdxlate.cli.live import live_state

        return cl, catalog, target, arch, live_state(s, cl, qmp, wait, target, arch, catalog)
    return cl, catalog, target, arch, None


def slots(*, args: list[str] | None, fmt: str, target: str | None, arch: str | None,
          from_file: str | None, machines: str | None, qmp: str | None,
          timeout: float | None, qemu: str | None = None) -> None:
    """Predict QEMU's query-hotpluggable-cpus answer for a command line (or, with --qmp,
    read a running VM's and check it against the line)."""

    s = Session(fmt)
    cl, catalog, target, arch, vm = _line_or_vm(s, args, from_file, target, qemu, arch, machines,
                                          qmp, timeout)
    if vm is not None:
        from cmdxlate.cli.live import live_slots

        return live_slots(s, vm)
    topo = s.resolve(cl, target, arch, catalog)
    try:
        answer = topo.hotpluggable_cpus()
    except CmdxlateError as e:
        s.fail(e)
    warn(topo.warnings)
    if fmt == "json":
        sys.stdout.write(json.dumps(answer) + "\n")
        return
    from cmdxlate.cli.render import slots_table

    slots_table(topo.machine.name, answer)


def convert(*, args: list[str] | None, fmt: str, target: str | None, arch: str | None,
            from_file: str | None, output: str | None, force: bool, machines: str | None,
            qmp: str | None, timeout: float | None, qemu: str | None = None) -> None:
    """Print an equivalent command line with every CPU an explicit -device."""
    from cmdxlate.emit.convert import convert as do_convert

    s = Session(fmt)
    cl, catalog, target, arch, vm = _line_or_vm(s, args, from_file, target, qemu, arch, machines,
                                          qmp, timeout)
    if vm is not None:
        from cmdxlate.cli.live import live_convert

        return live_convert(s, cl, vm, output, force)
    topo = s.resolve(cl, target, arch, catalog)
    try:
        result = do_convert(cl, topo)
    except CmdxlateError as e:
        s.fail(e)
    warn(topo.warnings)
    s.write(format_argv(result.groups, fmt, cl.env, cl.binary), output, force)


def writeconfig(*, args: list[str] | None, output: str, force: bool, fmt: str,
                target: str | None, arch: str | None, from_file: str | None,
                machines: str | None, qemu: str | None = None) -> None:
    """Write the converted line as a -readconfig file plus the argv that must stay."""
    from cmdxlate.emit.convert import convert as do_convert
    from cmdxlate.emit.readconfig import split_for_config
    from cmdxlate.syntax.config import format_config

    s = Session(fmt)
    target = s.target(target, qemu)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    topo = s.resolve(cl, target, s.arch(arch, qemu, cl), catalog)
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
    sys.stdout.write(format_argv(rest, fmt, cl.env, cl.binary))


def readconfig(*, path: str, extra: list[str] | None, fmt: str, target: str | None) -> None:
    """Turn a -readconfig file back into command-line arguments.

    The file is read as the target release reads it: QEMU's own refusal (for example
    ``host-nodes = "0"`` where 6.1 and later want ``host-nodes.0``) ends the command.
    """
    from cmdxlate.catalog import Catalog
    from cmdxlate.emit.readconfig import sections_to_options
    from cmdxlate.model import build_spec
    from cmdxlate.model.links import chardev_ids
    from cmdxlate.syntax.argv import parse_argv
    from cmdxlate.syntax.config import read_config_file
    from cmdxlate.syntax.source import expand_readconfig

    s = Session(fmt)
    try:
        release = Catalog.builtin().release(target)
        cl = expand_readconfig(parse_argv(["-readconfig", path, *(extra or [])]))
        spec = build_spec(cl, release)
        for refusal in spec.objects.all_refusals(release, cl.arch, lambda: chardev_ids(cl)):
            raise refusal  # QEMU refuses it when it creates the object
        _, warnings = sections_to_options(read_config_file(path), path)
        groups = [o.args() for o in cl.options]
    except CmdxlateError as e:
        s.fail(e)
    warn(warnings)
    sys.stdout.write(format_argv(groups, fmt))


def explain(*, args: list[str] | None, target: str | None, arch: str | None,
            from_file: str | None, fmt: str, machines: str | None, qmp: str | None,
            timeout: float | None, qemu: str | None = None) -> None:
    """Draw the topology: NUMA nodes, sockets, cores, threads, and where defaults came from
    (with --qmp: of the running VM, hot-plugged CPUs included)."""
    from cmdxlate.emit.explain import explain_data

    s = Session(fmt)
    cl, catalog, target, arch, vm = _line_or_vm(s, args, from_file, target, qemu, arch, machines,
                                          qmp, timeout)
    if vm is not None:
        from cmdxlate.cli.live import live_explain

        return live_explain(s, vm)
    topo = s.resolve(cl, target, arch, catalog)
    if fmt == "json":
        sys.stdout.write(dump(explain_data(topo)))
        return
    from cmdxlate.cli.render import explain_tree

    explain_tree(topo)
    warn(topo.warnings)


def verify(*, args: list[str] | None, qemu: str | None, target: str | None, arch: str | None,
           from_file: str | None, fmt: str, timeout: float | None, machines: str | None) -> None:
    """Run real QEMU on the original and the converted line and compare their CPUs.

    Only a topology projection of each line runs (machine, accel, cpu, smp, numa,
    memory and CPU devices), paused, so no disk, socket or file of yours is opened.
    The release is the binary's own (BIN --version); --target picks the installed binary
    of that release. Exit 0 when equal, 1 when different, 2 on bad input, 4 when QEMU is
    missing or fails.
    """
    from cmdxlate.oracle.timeout import valid_timeout
    from cmdxlate.oracle.verify import verify_line

    s = Session(fmt)
    try:
        wait = None if timeout is None else valid_timeout(timeout, 0)
    except CmdxlateError as e:
        s.fail(e)
    s.catalog(machines)
    cl = s.load(args, from_file)
    try:
        report = verify_line(cl, qemu=qemu, target=target, arch=s.arch(arch, qemu, cl),
                             timeout=wait)
    except CmdxlateError as e:
        s.fail(e)
    if fmt == "json":
        sys.stdout.write(dump(report.as_dict()))
    else:
        from cmdxlate.cli.render import verify_report

        verify_report(report)
    raise CommandExit(0 if report.equal else 1)


def plan(*, args: list[str] | None, cpus: int | None, fmt: str, target: str | None,
         arch: str | None, from_file: str | None, machines: str | None,
         qemu: str | None = None) -> None:
    """Plan the hotplug route to the line's CPUs: start QEMU paused with one CPU (one core
    on pseries), device_add the others over QMP in the order QEMU creates them, then cont."""
    from cmdxlate.cli.live import plan_command

    s = Session(fmt)
    target = s.target(target, qemu)
    catalog = s.catalog(machines)
    cl = s.load(args, from_file)
    plan_command(s, cl, cpus, target, s.arch(arch, qemu, cl), catalog)


def probe(*, qemu: str, output: str | None, force: bool, fmt: str) -> None:
    """Ask a QEMU binary about its machines and CPU models; write a machine database file."""
    from cmdxlate.oracle.probe import probe_binary

    s = Session(fmt)
    try:
        db = probe_binary(qemu)
    except CmdxlateError as e:
        s.fail(e)
    if output is None and fmt == "text":
        sys.stdout.write(f"QEMU {db['qemu_version']}: {len(db['families'])} machine families\n")
        for fam in db["families"]:
            sys.stdout.write(f"  {fam['family']}: {len(fam['machine_versions'])} versions\n")
        return
    s.write(dump(db), output, force)


def batch(*, source: str, op: str, fmt: str, output: str | None, force: bool, target: str | None,
          jobs: int, machines: str | None) -> None:
    """Run convert, slots or verify over many command lines; one record out per line in.

    IN is JSON Lines (- for standard input) or a folder of .args files. Records come out
    in input order as they are done, each naming its input. Exit 0 all ok, 1 only verify
    differences, 2 a line failed, 4 QEMU missing or failing (the batch stops).
    """
    from cmdxlate.cli.batch import run_batch

    s = Session(fmt)
    catalog = s.catalog(machines)
    try:
        target = str(catalog.release(target).version)
        code = run_batch(source, op, output, force, target, jobs, machines, fmt)
    except CmdxlateError as e:
        s.fail(e)
    raise CommandExit(code)
