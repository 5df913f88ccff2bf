"""The one error type users see; the CLI turns it into a single line and exit code 2."""

from __future__ import annotations


class CmdxlateError(Exception):
    """Bad input or a line QEMU would reject.

    ``option_index`` points at the offending argv element (for the caret in
    text mode); ``qemu`` marks messages that are QEMU's own text.
    """

    def __init__(self, message: str, option_index: int | None = None, qemu: bool = False,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option_index = option_index
        self.qemu = qemu
        self.hint = hint

    def __str__(self) -> str:
        return self.message
