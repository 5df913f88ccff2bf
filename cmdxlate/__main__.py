"""``python -m cmdxlate`` and the ``cmdxlate`` console script."""

from __future__ import annotations


def main() -> None:
    from cmdxlate.cli.app import run

    run()


if __name__ == "__main__":
    main()
