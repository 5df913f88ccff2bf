"""Numbers (and booleans) as QEMU's C parsers read them (strtoll/strtoull, qemu_strtosz,
qapi_bool_parse).

Python's int() and float() are far more lenient ('1_0', Unicode digits,
surrounding blanks, '1e999'); QEMU is not, so neither is cmdxlate.
"""

from __future__ import annotations

import re

_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")
_SIZE = re.compile(r"[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]*)([bBkKmMgGtTpPeE]?)\Z")
_SHIFT = {"": None, "b": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


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


class SizeOutOfRange(ValueError):
    """A size written correctly whose value is 2^64 or more (qemu_strtosz's ERANGE)."""


def c_size(text: str, default_shift: int = 0) -> int:
    """qemu_strtosz(): blanks and '+' allowed before a number (hex without a suffix, or
    decimal with an optional fraction, even '.5'), then at most one suffix."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(text)
    number, suffix = m.groups()
    if not any(ch.isdigit() for ch in number) or (number[:2] in ("0x", "0X") and suffix):
        raise ValueError(text)  # QEMU 10.0 refuses hex with a suffix
    shift = _SHIFT[suffix.lower()]
    unit = 1 << (default_shift if shift is None else shift)
    if number[:2] in ("0x", "0X"):
        value = int(number, 16) * unit
    elif "." in number:
        whole, _, frac = number.partition(".")
        if unit == 1 and frac.strip("0"):
            raise ValueError(text)  # a fraction needs a scale: '1.5' bytes is refused
        # Exact arithmetic: no float rounding, no overflow to infinity.
        value = (int(whole or "0") * 10 ** len(frac) + int(frac or "0")) * unit // 10 ** len(frac)
    else:
        value = int(number) * unit
    if value >= 1 << 64:
        raise SizeOutOfRange(text)
    return value


def qemu_bool(value: str | None) -> bool | None:
    """A bool as QEMU's visitors read one: on/yes/true/y, off/no/false/n; case matters."""
    if value in ("on", "yes", "true", "y"):
        return True
    if value in ("off", "no", "false", "n"):
        return False
    return None
