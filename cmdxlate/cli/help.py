"""typer's app, built from ``cli.spec``, for ``--help`` and shell completion only.

A run never comes here: ``cli.app`` reads argv with ``cli.parser`` and calls the
command. typer gives the help pages, ``--install-completion`` /
``--show-completion`` and the completion protocol, from the same table, so the
two cannot drift apart.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

from cmdxlate import __version__
from cmdxlate.cli.spec import COMMANDS, PROGRAM_HELP, Argument, Command, Option

_TYPES: dict[str, Any] = {"flag": bool, "str": str, "int": int, "float": float,
                          "choice": str}


def complete_qemu_args(incomplete: str) -> list[str]:
    """Shell completion after --: QEMU option names."""
    from cmdxlate.syntax.options import FLAGS, WITH_ARG

    names = sorted({"-" + n for n in FLAGS | WITH_ARG})
    return [n for n in names if n.startswith(incomplete)] if incomplete.startswith("-") else []


class HelpGroup(TyperGroup):
    """Runs go to ``cli.app.dispatch``; click only prints help and completes words."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        from cmdxlate.cli.app import dispatch, wants_click

        argv = list(sys.argv[1:] if args is None else args)
        if not wants_click(argv):
            code = dispatch(argv)
            if standalone_mode:
                sys.exit(code)
            return code
        return super().main(argv, prog_name, complete_var, standalone_mode,
                            windows_expand_args, **extra)


def _parameter(p: Option | Argument) -> inspect.Parameter:
    if isinstance(p, Argument):
        default: Any = typer.Argument(None if not p.required else ..., help=p.help,
                                      metavar=p.metavar, show_default=False,
                                      autocompletion=complete_qemu_args if p.qemu else None)
        kind: Any = list[str] if p.qemu else str
    else:
        extra: dict[str, Any] = {}
        if p.kind == "choice":
            extra["click_type"] = click.Choice(list(p.choices))
        if p.bounds is not None:
            extra["min"], extra["max"] = p.bounds
        default = typer.Option(... if p.required else p.default, *p.flags, help=p.help,
                               metavar=p.metavar, **extra)
        kind = _TYPES[p.kind]
    return inspect.Parameter(p.dest, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=kind)


def _callback(command: Command) -> Any:
    def never_runs(**_values: Any) -> None:
        """click parses only for --help and completion (see HelpGroup)."""

    params = [_parameter(p) for p in command.params]
    never_runs.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    never_runs.__annotations__ = {p.name: p.annotation for p in params}
    never_runs.__doc__ = command.summary
    never_runs.__name__ = command.name
    return never_runs


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"cmdxlate {__version__}\n")
        raise typer.Exit(0)


def build_app() -> typer.Typer:
    app = typer.Typer(name="cmdxlate", cls=HelpGroup, help=PROGRAM_HELP, add_completion=True,
                      no_args_is_help=True, rich_markup_mode=None,
                      pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]})

    @app.callback()
    def main_options(version: bool = typer.Option(False, "--version", callback=_version,
                                                  is_eager=True,
                                                  help="Print the version and exit.")) -> None:
        """cmdxlate: QEMU command-line topology translator."""

    for command in COMMANDS:
        app.command(command.name, epilog=command.epilog)(_callback(command))
    return app
