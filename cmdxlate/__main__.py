"""Entry point; keeps start-up light by importing the CLI only when run."""

from __future__ import annotations


def main() -> None:
    from cmdxlate.cli import run

    run()


if __name__ == "__main__":
    main()
