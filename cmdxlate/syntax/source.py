"""Where a command's QEMU command line comes from: argv after ``--`` or a file."""

from __future__ import annotations

import os
import re

from cmdxlate.error import InputError, QemuRefusal, Where
from cmdxlate.syntax.argv import CommandLine, Option, parse_argv
from cmdxlate.syntax.options import canonical_name
from cmdxlate.syntax.shell import read_command_file, split_command

_QEMU_BINARY = re.compile(r"(^|/)qemu(-system-[A-Za-z0-9_]+|-kvm)?$")


def command_from_argv(argv: list[str]) -> CommandLine:
    """argv may start with ``KEY=VAL`` words and a QEMU binary, as a shell line would."""
    sc = split_command(argv)
    if sc.binary is not None and not _QEMU_BINARY.search(sc.binary):
        # Not a QEMU binary: the words are all QEMU arguments after all.
        return parse_argv(list(argv))
    if sc.env and sc.binary is None:
        return parse_argv(list(argv))
    return parse_argv(sc.args, sc.binary, sc.env)


def expand_readconfig(cl: CommandLine, args_dir: str | None = None) -> CommandLine:
    """Replace each -readconfig FILE by the options the file holds, each pointing at the
    file and line it came from (QEMU reports errors about them as ``FILE:LINE: ...``).

    A relative FILE is read from the current folder, as QEMU reads it: one rule for
    argv, --from-file and batch. ``args_dir``, the folder of the .args file the line
    came from, only serves a hint when FILE is there instead.
    """
    if not cl.find("readconfig"):
        return cl
    from cmdxlate.emit.readconfig import sections_to_options
    from cmdxlate.syntax.config import read_config_file

    options: list[Option] = []
    for opt in cl.options:
        if opt.name != "readconfig" or opt.value is None:
            options.append(opt)
            continue
        try:
            found, _ = sections_to_options(read_config_file(opt.value), opt.value,
                                           smp_by_line=True)
        except QemuRefusal as e:
            raise e.at(opt.where) from None
        except InputError as e:
            # cmdxlate's own words about the file: say which option named it.
            raise InputError(f"{' '.join(opt.args())}: {e.message}",
                             hint=e.hint or _relative_hint(opt.value, args_dir),
                             where=opt.where) from None
        for option, value, line in found:
            where = Where(opt.index, (option, value), opt.value, line)
            options.append(Option(canonical_name(option), option, value, opt.index,
                                  where=where))
    return CommandLine(options, cl.binary, cl.env, cl.warnings)


def _relative_hint(path: str, args_dir: str | None) -> str | None:
    if not args_dir or os.path.isabs(path) or os.path.exists(path):
        return None
    beside = os.path.join(args_dir, path)
    if not os.path.exists(beside):
        return None
    return (f"a relative -readconfig path is read from the current folder, as QEMU reads it; "
            f"{beside} exists: run from {args_dir}, or write the path in full")


def load_command(args: list[str] | None, from_file: str | None) -> tuple[CommandLine, str | None]:
    """The command line, and the folder of the file it came from (for hints only:
    relative -readconfig paths are read from the current folder, as QEMU does)."""
    if from_file is not None:
        if args:
            raise InputError("give the QEMU command line either after -- or with --from-file")
        sc = read_command_file(from_file)
        return parse_argv(sc.args, sc.binary, sc.env), os.path.dirname(os.path.abspath(from_file))
    if not args:
        raise InputError("no QEMU command line: give it after --, or use --from-file FILE")
    return command_from_argv(list(args)), None
