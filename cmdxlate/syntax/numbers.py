"""Numbers (and booleans) as QEMU's C parsers read them (strtoll/strtoull,
qapi_bool_parse; sizes are :mod:`cmdxlate.syntax.sizes`).

Python's int() and float() are far more lenient ('1_0', Unicode digits,
surrounding blanks, '1e999'); QEMU is not, so neither is cmdxlate.
"""

from __future__ import annotations

import re

_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def c_int(text: str) -> int:
    """strtoll(text, &end, 0) that must consume everything; ValueError otherwise."""
    m = _INT.match(text)
    if not m:
        raise ValueError(text)
    sign, digits = m.groups()
    if digits[:2] in ("0x", "0X"):
        value = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)
    else:
        value = int(digits, 10)
    return -value if sign == "-" else value


def c_uint64(text: str) -> int:
    """strtoull(text, &end, 0) that must consume everything, as QemuOpts reads a number:
    a sign is allowed and a negative value wraps ('-1' is 2^64-1). ValueError if it is not
    a number, OverflowError if its magnitude needs more than 64 bits (ERANGE)."""
    m = _INT.match(text)
    if not m:
        raise ValueError(text)
    sign, digits = m.groups()
    if digits[:2] in ("0x", "0X"):
        body, base, limit = digits[2:].lstrip("0"), 16, 16
    elif digits.startswith("0"):
        body, base, limit = digits.lstrip("0"), 8, 22
    else:
        body, base, limit = digits, 10, 20
    # Checked before int(): a magnitude this long is ERANGE however it is spelt.
    if len(body) > limit or int(body or "0", base) >= 1 << 64:
        raise OverflowError(text)
    value = int(body or "0", base)
    return (-value if sign == "-" else value) % (1 << 64)


def parse_uint(text: str) -> int | None:
    """QEMU's parse_uint: c_uint64 without a minus sign; None if it is no such number,
    2^64 if it is one too large."""
    if text.lstrip(" \t\n\v\f\r").startswith("-"):
        return None
    try:
        return c_uint64(text)
    except OverflowError:
        return 1 << 64
    except ValueError:
        return None


def json_uint64(value: object) -> int | None:
    """A JSON value as QAPI's input visitor reads a uint64 (or a size): an integer, a
    negative one taken modulo 2^64; None for anything else (a bool, a float, a string)."""
    if isinstance(value, bool) or not isinstance(value, int) or not (
            -(1 << 63) <= value < 1 << 64):
        return None
    return value % (1 << 64)


def qemu_bool(value: str | None) -> bool | None:
    """A bool as QEMU's visitors read one: on/yes/true/y, off/no/false/n; case matters."""
    if value in ("on", "yes", "true", "y"):
        return True
    if value in ("off", "no", "false", "n"):
        return False
    return None
