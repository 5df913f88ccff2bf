"""Entry point: the hot commands run without importing typer at all."""

from __future__ import annotations

import sys


def main() -> None:
    from cmdxlate.signals import run_guarded

    run_guarded(_main)  # SIGINT/SIGTERM/SIGHUP: children killed, one line, exit 128 + n


def _main() -> None:
    argv = sys.argv[1:]
    if argv[:1] in (["convert"], ["slots"]):
        from cmdxlate.commands import EXIT_INTERNAL, fast_main

        try:
            code = fast_main(argv)
        except Exception as e:  # noqa: BLE001 - never a traceback for the user
            import os

            if os.environ.get("CMDXLATE_DEBUG"):
                raise
            sys.stderr.write(f"cmdxlate: internal error: {type(e).__name__}: {e} "
                             "(set CMDXLATE_DEBUG=1 for details; please report it)\n")
            code = EXIT_INTERNAL
        if code is not None:
            sys.stdout.flush()
            raise SystemExit(code)
    from cmdxlate.cli import run

    run()


if __name__ == "__main__":
    main()
