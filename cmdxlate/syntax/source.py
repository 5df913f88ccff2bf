"""Where a command's QEMU command line comes from: argv after ``--`` or a file."""

from __future__ import annotations

import errno
import os
import re

from cmdxlate.error import InputError, QemuRefusal, Where
from cmdxlate.syntax.argv import CommandLine, Option, parse_argv
from cmdxlate.syntax.options import canonical_name
from cmdxlate.syntax.shell import read_command_file, split_command

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release
    from cmdxlate.emit.readconfig import ConfigOption

# A QEMU program: qemu-system-ARCH, qemu, or any name ending in "kvm" (Proxmox's
# /usr/bin/kvm, RHEL's /usr/libexec/qemu-kvm), which QEMU runs with KVM preferred.
_QEMU_BINARY = re.compile(r"(^|/)(qemu(-system-[A-Za-z0-9_]+)?|[^/]*kvm)$")


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
    file and the section it came from (QEMU reports errors about them as
    ``FILE:LINE: ...``; which line depends on the release, see ``Where.section``).

    A file QEMU refuses while reading it (missing, a line its reader cannot parse, an
    unknown group) stays as the -readconfig option with its ``failure``: the words and
    the place QEMU gives differ between releases, and the model raises it where QEMU's
    option loop reads the file. A relative FILE is read from the current folder, as
    QEMU reads it: one rule for argv, --from-file and batch. ``args_dir``, the folder of
    the .args file the line came from, only serves a hint when FILE is there instead.
    """
    if not cl.find("readconfig"):
        return cl
    options: list[Option] = []
    for opt in cl.options:
        if opt.name != "readconfig" or opt.value is None:
            options.append(opt)
            continue
        try:
            found = read_options(opt.value)
        except ReaderFailure as failure:
            if failure.kind == "open":
                failure.note = _relative_hint(opt.value, args_dir)
            opt.failure = failure
            options.append(opt)
            continue
        except InputError as e:
            # cmdxlate's own words about the file: say which option named it.
            raise InputError(f"{' '.join(opt.args())}: {e.message}",
                             hint=e.hint or _relative_hint(opt.value, args_dir),
                             where=opt.where) from None
        for co in found:
            sec = co.section
            where = Where(opt.index, (co.option, co.value), opt.value, sec.line,
                          (sec.line, sec.end_line))
            new = Option(canonical_name(co.option), co.option, co.value, opt.index,
                         where=where)
            new.config_keys = tuple(k for k, _ in sec.entries)
            options.append(new)
    return CommandLine(options, cl.binary, cl.env, cl.warnings)


def read_options(path: str) -> list[ConfigOption]:
    """The options a -readconfig file holds; ReaderFailure where QEMU's reader refuses it,
    InputError where cmdxlate does (a file QEMU would read differently than it looks)."""
    from cmdxlate.emit.readconfig import UnknownGroup, sections_to_options
    from cmdxlate.syntax.config import ConfigSyntaxError, read_config_file

    try:
        os.stat(path)
    except OSError as e:
        if e.errno in _OPEN_ERRORS:
            raise ReaderFailure(path, "open", os.strerror(e.errno or 0)) from None
        raise InputError(f"cannot read {path!r}: {e.strerror or e}") from None
    except ValueError as e:
        raise InputError(f"cannot read {path!r}: {e}") from None
    try:
        found, _ = sections_to_options(read_config_file(path), path, smp_by_line=True)
    except ConfigSyntaxError as e:
        raise ReaderFailure(path, "syntax", e.text, e.line) from None
    except UnknownGroup as e:
        raise ReaderFailure(path, "group", e.text, e.section.line, e.section.end_line,
                            ) from None
    return found


_OPEN_ERRORS = frozenset({errno.ENOENT, errno.EACCES, errno.ENOTDIR, errno.ELOOP,
                          errno.ENAMETOOLONG})


class ReaderFailure(Exception):
    """QEMU refuses a -readconfig file while reading it: it cannot be opened (``open``),
    a line is not one its reader parses (``syntax``), or a section's group does not
    exist (``group``). The words and the place differ between releases."""

    def __init__(self, filename: str, kind: str, text: str, line: int | None = None,
                 end: int | None = None) -> None:
        super().__init__(text)
        self.filename = filename
        self.kind = kind
        self.text = text
        self.line = line
        self.end = end
        self.note: str | None = None  # cmdxlate's own advice

    def error(self, release: Release, option: Where) -> QemuRefusal:
        """What ``release`` prints, after its program name, for the -readconfig ``option``.

        5.2 adds a second error line naming the option; 5.2 and 6.0 report a group at
        its header, 6.1 to 7.2 at the section's last key line; from 8.0 every error of
        the reader itself is reported at the -readconfig option.
        """
        name = self.filename
        two_lines = release.has("readconfig-errors-two-lines")
        if self.kind == "open":
            text = (f"read config {name}: {self.text}" if two_lines
                    else f"Could not open '{name}': {self.text}")
            return QemuRefusal(text, where=option, located=True, note=self.note)
        more = (f"{option.qemu_location}: read config {name}: Invalid argument",
                ) if two_lines else ()
        if release.has("readconfig-reader-errors-at-option"):
            return QemuRefusal(self.text, where=option, located=True, more=more)
        line = self.line
        if self.kind == "group" and release.has("readconfig-line-is-section-end"):
            line = self.end
        at = Where(option.index, option.words, name, line)
        return QemuRefusal(self.text, where=at, located=True, more=more)


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
