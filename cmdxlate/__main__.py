"""``python -m cmdxlate`` and the ``cmdxlate`` console script."""

from __future__ import annotations


def main() -> None:
    from cmdxlate.signals import run_guarded

    run_guarded(_main)  # SIGINT/SIGTERM/SIGHUP: children killed, one line, exit 128 + n


def _main() -> None:
    from cmdxlate.cli.app import run

    run()


if __name__ == "__main__":
    main()
