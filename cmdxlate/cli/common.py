"""What every command does the same way: read the line, resolve it, report errors, write output.

Errors end as one ``cmdxlate: error: MESSAGE`` line (the message is QEMU's own
text where QEMU would refuse the line) and the hint lines QEMU prints after it,
as QEMU prints them; then, for a person, the option it points at with a caret
and cmdxlate's own hint; with ``--format json`` the same error is one
JSON object on standard output whose ``error`` is the message and whose other
fields point at the option.
"""

from __future__ import annotations

import json
import sys

from cmdxlate.error import CmdxlateError, QemuRefusal

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any, NoReturn

if TYPE_CHECKING:
    from cmdxlate.catalog import Catalog
    from cmdxlate.resolver.topology import Topology
    from cmdxlate.syntax.argv import CommandLine


class CommandExit(Exception):
    """Carries an exit code out of a command body."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def safe_streams() -> None:
    """Arguments that were not UTF-8 come back out as the same bytes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


def visible(text: str) -> str:
    """One line, control characters shown as escapes: input must not drive the terminal."""
    if text.isprintable():  # the common case: 4096 table cells must not cost an import each
        return text
    from cmdxlate.termsafe import visible as escaped

    return escaped(text)


class Session:
    """One command's state: its output format and the argv errors point into."""

    def __init__(self, fmt: str = "text") -> None:
        self.fmt = fmt
        self.argv: list[str] = []

    def fail(self, err: CmdxlateError) -> NoReturn:
        if self.fmt in ("json", "qmp"):
            sys.stdout.write(json.dumps(err.as_dict()) + "\n")
            raise CommandExit(err.exit_code)
        lines = [f"cmdxlate: error: {visible(err.message)}"]
        if isinstance(err, QemuRefusal):
            # QEMU's hint lines follow its message unprefixed, further errors prefixed.
            if err.qemu_hint:
                lines += [visible(h) for h in err.qemu_hint.splitlines()]
            lines += [f"cmdxlate: error: {visible(m)}" for m in err.more]
        where = err.where
        if where is not None and where.file is None and where.index is not None and (
                0 <= where.index < len(self.argv)):
            lines += self._caret(where.index, len(where.words) or 2)
        elif where is not None and where.file is not None:
            lines.append(f"  in {visible(where.file)}, line {where.line}")
        elif where is not None and where.words and where.index is None:
            # Not a QEMU argument: cmdxlate's own option (--arch foo) or the binary.
            shown = " ".join(visible(w) for w in where.words)
            lines += ["  " + shown, "  " + "^" * len(shown)]
        if err.hint:
            lines.append(f"  hint: {visible(err.hint)}")
        sys.stderr.write("\n".join(lines) + "\n")
        raise CommandExit(err.exit_code)

    def _caret(self, idx: int, count: int) -> list[str]:
        """The words around argv[idx], with the ``count`` words from there underlined."""
        from cmdxlate.syntax.shell import quote

        argv = self.argv
        start = max(0, idx - 2)
        words = [visible(quote(w)) for w in argv[start: idx + max(count, 2)]]
        prefix = " ".join(words[: idx - start])
        target = " ".join(words[idx - start: idx - start + count])
        pad = len(prefix) + (1 if prefix else 0)
        return ["  " + " ".join(words), "  " + " " * pad + "^" * max(1, len(target))]

    def target(self, target: str | None, qemu: str | None) -> str | None:
        """The release to answer for: ``--target``, or with ``--qemu BIN`` (``--target
        auto``) the binary's own, from a bounded ``BIN --version``."""
        from cmdxlate.error import UsageError

        auto = target is not None and target.strip() == "auto"
        if qemu is None:
            if auto:
                self.fail(UsageError("--target auto takes the release from a binary: "
                                     "give --qemu BIN"))
            return target
        from cmdxlate.oracle.qemu import find_qemu

        try:
            binary = find_qemu(path=qemu)
        except CmdxlateError as e:
            self.fail(e)
        release = binary.release
        assert release is not None and binary.version is not None
        if target is not None and not auto:
            wanted = target.strip().split(".")
            if wanted[:2] != release.split("."):
                version = ".".join(map(str, binary.version))
                self.fail(UsageError(f"--target {target} does not match {binary.label}, "
                                     f"which is QEMU {version}",
                                     hint="drop --target, or give --target auto"))
        return release

    def arch(self, arch: str | None, qemu: str | None, cl: CommandLine) -> str | None:
        """``--arch``; else, with ``--qemu BIN``, the architecture BIN's name says (the
        line may name the same binary, not another)."""
        if arch is not None or qemu is None:
            return arch
        import os

        from cmdxlate.catalog import normalise_arch
        from cmdxlate.error import UsageError
        from cmdxlate.syntax.argv import program_arch

        own = program_arch(qemu) or program_arch(os.path.realpath(qemu))
        if own is None or normalise_arch(own) not in self.catalog(None).arches:
            return None  # a name that says nothing cmdxlate models: the line decides
        if cl.arch is not None and normalise_arch(cl.arch) != normalise_arch(own):
            self.fail(UsageError(f"the line runs {cl.binary}, but --qemu is {qemu}",
                                 hint="name the same architecture in both, or drop the "
                                      "binary from the line"))
        return own

    def load(self, args: list[str] | None, from_file: str | None) -> CommandLine:
        """The QEMU command line, with -readconfig files expanded in place."""
        from cmdxlate.syntax.source import expand_readconfig, load_command

        try:
            cl, base = load_command(args, from_file)
            self.argv = cl.to_argv()
            return expand_readconfig(cl, base)
        except CmdxlateError as e:
            self.fail(e)

    def resolve(self, cl: CommandLine, target: str | None, arch: str | None,
                catalog: Catalog) -> Topology:
        from cmdxlate.resolver import resolve

        try:
            return resolve(cl, target, arch, catalog)
        except CmdxlateError as e:
            self.fail(e)

    def catalog(self, machines: str | None) -> Catalog:
        from cmdxlate.catalog import Catalog

        try:
            return Catalog.from_file(machines) if machines else Catalog.builtin()
        except CmdxlateError as e:
            self.fail(e)

    def write(self, text: str, out: str | None, force: bool) -> None:
        if out is None:
            sys.stdout.write(text)
            return
        from cmdxlate.files import write_atomic

        try:
            write_atomic(out, text, force=force)
        except CmdxlateError as e:
            self.fail(e)


def warn(lines: list[str]) -> None:
    for w in lines:
        sys.stderr.write(f"cmdxlate: warning: {visible(w)}\n")


def format_argv(groups: list[list[str]], fmt: str, env: list[str] | None = None,
                binary: str | None = None) -> str:
    """Shell words (one option per line, as libvirt writes them) or a JSON array."""
    if fmt == "json":
        # The same words as the shell format: env assignments, binary, arguments.
        argv = list(env or []) + ([binary] if binary else []) + [w for g in groups for w in g]
        return json.dumps(argv) + "\n"
    from cmdxlate.syntax.shell import format_command

    return format_command(env or [], binary, groups)


def dump(data: Any) -> str:
    """JSON for a person on a terminal (indented), else on one line: json's indenting
    encoder is pure Python, five times slower than the compact one on 4096 CPUs."""
    if sys.stdout.isatty():
        return json.dumps(data, indent=1) + "\n"
    return json.dumps(data) + "\n"
