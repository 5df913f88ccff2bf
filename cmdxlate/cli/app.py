"""The ``cmdxlate`` command: argv read against ``cli.spec``, the command run.

A run imports neither typer nor click: ``cli.parser`` reads argv, the command's
function in ``cli.commands`` does the work. Only ``--help``, no arguments and
shell completion go to typer's app (``cli.help``), built from the same table.
``app`` (for typer's ``CliRunner``) is that app, made on first use.
"""

from __future__ import annotations

import os
import sys

from cmdxlate import __version__
from cmdxlate.cli.common import CommandExit, safe_streams, visible
from cmdxlate.error import EXIT_INPUT, CmdxlateError

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any, NoReturn

_CLICK_ONLY = ("--install-completion", "--show-completion")
# Commands that start no process and open no connection (without --qmp / --qemu) may end
# without tearing the interpreter down (see leave()).
_OFFLINE = frozenset({"parse", "slots", "convert", "explain", "writeconfig", "readconfig",
                      "plan"})
_offline_run = False


def completing(argv: list[str]) -> bool:
    """Shell completion and its installation are typer's."""
    return "_CMDXLATE_COMPLETE" in os.environ or bool(argv and argv[0] in _CLICK_ONLY)


def wants_click(argv: list[str]) -> bool:
    """Help pages and completion are typer's; everything else is a run."""
    from cmdxlate.cli.parser import parse_invocation

    if completing(argv):
        return True
    try:
        return parse_invocation(argv).help
    except CmdxlateError:
        return False


def dispatch(argv: list[str]) -> int:
    """Run one command; its exit code (usage errors: one line, exit 2)."""
    from cmdxlate.cli.parser import parse_invocation

    safe_streams()
    if argv and argv[0] == "--version":
        sys.stdout.write(f"cmdxlate {__version__}\n")
        return 0
    try:
        invocation = parse_invocation(argv)
        if invocation.command is None or invocation.help:
            try:
                build_app()(argv, prog_name="cmdxlate", standalone_mode=True)
            except SystemExit as e:  # click ends a help page this way (2: a bare "cmdxlate")
                return e.code if isinstance(e.code, int) else 0
            return 0
        global _offline_run
        values = invocation.values
        _offline_run = (invocation.command.name in _OFFLINE and values.get("qmp") is None
                        and values.get("qemu") is None)
        from cmdxlate.cli import commands  # not importlib: its import costs start-up time
        getattr(commands, invocation.command.handler)(**values)
    except CommandExit as e:
        return e.code
    except CmdxlateError as e:
        sys.stderr.write(f"cmdxlate: error: {visible(e.message)}\n")
        if e.hint:
            sys.stderr.write(f"  hint: {visible(e.hint)}\n")
        return e.exit_code
    return 0


def leave(code: int) -> NoReturn:
    """Exit with ``code``. When nothing is left to clean up (no child, no temporary file,
    no signal on its way), flush and end the process at once: tearing the interpreter
    down is an eighth of a command's time (issue 13) and changes nothing here."""
    from cmdxlate import procs, signals

    if (not _offline_run or procs.live_children() or procs.has_registered_files()
            or signals.received()):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        raise SystemExit(code) from None  # the usual path reports a closed stream
    os._exit(code)


def build_app() -> Any:
    from cmdxlate.cli.help import build_app as build

    return build()


def __getattr__(name: str) -> Any:
    if name == "app":
        return build_app()
    if name == "complete_qemu_args":
        from cmdxlate.cli.help import complete_qemu_args

        return complete_qemu_args
    raise AttributeError(name)


def run() -> None:
    """Console entry point: no traceback reaches the user."""
    argv = sys.argv[1:]
    try:
        if completing(argv):
            build_app()(argv, prog_name="cmdxlate", standalone_mode=True)
        leave(dispatch(argv))  # argv is read once, by dispatch; help goes to typer from there
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
