"""Where a command's QEMU command line comes from: argv after ``--`` or a file."""

from __future__ import annotations

import os
import re

from cmdxlate.cmdline import CommandLine, parse_argv
from cmdxlate.errors import CmdxlateError
from cmdxlate.shellwords import read_command_file, split_command

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


def load_command(args: list[str] | None, from_file: str | None) -> tuple[CommandLine, str | None]:
    """The command line, and the folder of the file it came from (for hints only:
    relative -readconfig paths are read from the current folder, as QEMU does)."""
    if from_file is not None:
        if args:
            raise CmdxlateError("give the QEMU command line either after -- or with --from-file")
        sc = read_command_file(from_file)
        return parse_argv(sc.args, sc.binary, sc.env), os.path.dirname(os.path.abspath(from_file))
    if not args:
        raise CmdxlateError("no QEMU command line: give it after --, or use --from-file FILE")
    return command_from_argv(list(args)), None
