"""Sizes as each release's ``qemu_strtosz`` reads them (util/cutils.c do_strtosz).

Three generations, measured on 5.2.0, 7.2.22, 10.0.2 and 11.1.3
(``tests/data/memory-measured.json``):

* up to 5.2 (``strtod``): the number is a C double, so ``1e3``, ``0x1p6`` and
  ``0x10M`` are sizes; a negative one is out of range;
* from 6.0 (``size-fixed-point``): decimal digits, an optional fraction without an
  exponent, or hex; hex with a suffix is deprecated (a warning) until 8.0 refuses it
  (``size-hex-suffix-refused``);
* from 8.1 (``size-leading-fraction``): a fraction needs no digit before its point
  (``.5G``), and a fraction that rounds to 1 is carried into the integer part.

Then at most one suffix (B, K, M, G, T, P, E, either case); a fraction needs one, or a
default unit above bytes. A digit after the point is optional from 6.0 (``1.k``).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

STRTOD, FIXED, FIXED_NO_HEX_SUFFIX, NEWEST = "strtod", "fixed", "fixed-no-hex-suffix", "newest"
_WS = " \t\n\v\f\r"
_SHIFT = {"b": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
_U64 = 1 << 64
# What C's strtod takes from a string's start, after blanks: a hex or decimal float
# (an exponent only with digits), or inf/nan (not finite: refused by qemu_strtod_finite).
_STRTOD = re.compile(
    r"(?P<sign>[+-]?)(?:0[xX](?P<hex>[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?P<hexexp>[pP][+-]?[0-9]+)?"
    r"|(?P<dec>[0-9]+\.?[0-9]*|\.[0-9]+)(?P<decexp>[eE][+-]?[0-9]+)?"
    r"|(?P<special>(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)))")
# A hex size then a suffix: strtoull takes b, B, e and E as hex digits, so only these.
_HEX_WITH_SUFFIX = re.compile(r"[ \t\n\v\f\r]*\+?0[xX][0-9a-fA-F]+[kKmMgGtTpP]\Z")
_DIGITS = frozenset("0123456789")
_MIN_NORMAL = 2.2250738585072014e-308


class SizeOutOfRange(ValueError):
    """A size written correctly whose value is 2^64 or more (qemu_strtosz's ERANGE)."""


def size_syntax(release: Release | None) -> str:
    """The size parser of ``release`` (None: the newest)."""
    if release is None or release.has("size-leading-fraction"):
        return NEWEST
    if not release.has("size-fixed-point"):
        return STRTOD
    return FIXED_NO_HEX_SUFFIX if release.has("size-hex-suffix-refused") else FIXED


def hex_suffix_warning(text: str, syntax: str) -> str | None:
    """6.0 to 7.2's warning for a hex size with a suffix (the size is taken)."""
    if syntax != FIXED or not _HEX_WITH_SUFFIX.match(text):
        return None
    return f"Using a multiplier suffix on hex numbers is deprecated: {text}"


def c_size(text: str, default_shift: int = 0, syntax: str = NEWEST) -> int:
    """qemu_strtosz(text) with a default unit of 2^default_shift that must consume all of
    ``text``: ValueError (EINVAL) or SizeOutOfRange (ERANGE) when QEMU refuses it. An
    ERANGE met before the end of the text is EINVAL, as QEMU reports it."""
    try:
        if syntax == STRTOD:
            return _strtod_size(text, default_shift)
        return _fixed_size(text, default_shift, syntax)
    except _Range as e:
        if e.end == len(text):
            raise SizeOutOfRange(text) from None
        raise ValueError(text) from None


class _Range(Exception):
    def __init__(self, end: int) -> None:
        self.end = end


def _strtod(text: str, start: int) -> tuple[float, int, bool] | None:
    """strtod at ``start``: (value, end, ERANGE), or None when it reads no number (or
    one that is not finite, as qemu_strtod_finite refuses it)."""
    i = start
    while i < len(text) and text[i] in _WS:
        i += 1
    m = _STRTOD.match(text, i)
    if m is None or m.group("special") is not None:
        return None
    hex_digits, exponent = m.group("hex"), m.group("hexexp") or m.group("decexp") or ""
    mantissa = hex_digits if hex_digits is not None else m.group("dec")
    try:
        value = (float.fromhex("0x" + mantissa + exponent) if hex_digits is not None
                 else float(mantissa + exponent))
    except OverflowError:  # float.fromhex; C's strtod gives HUGE_VAL and ERANGE
        value = float("inf")
    if m.group("sign") == "-":
        value = -value
    nonzero = any(c not in "0." for c in mantissa)
    # glibc's ERANGE: the value overflowed, or underflowed (below the normal range).
    erange = abs(value) == float("inf") or (abs(value) < _MIN_NORMAL and nonzero)
    return value, m.end(), erange


def _suffix(text: str, i: int) -> int | None:
    return _SHIFT.get(text[i].lower()) if i < len(text) else None


def _strtod_size(text: str, default_shift: int) -> int:
    """5.2: the number is a double; a fraction needs a suffix; negative or 2^64 and
    more is out of range; the product is truncated to an integer."""
    read = _strtod(text, 0)
    if read is None:
        raise ValueError(text)
    value, end, erange = read
    if erange:
        raise _Range(end)
    shift = _suffix(text, end)
    if shift is not None:
        end += 1
    else:
        shift = default_shift
    if shift == 0 and value != int(value):
        raise ValueError(text)
    product = value * (1 << shift)  # a power of two: exact in binary floating point
    if product > 18446744073709549568.0 or value < 0:  # nextafter(0x1p64, 0)
        raise _Range(end)
    if end != len(text):
        raise ValueError(text)
    return int(product)


def _fixed_size(text: str, default_shift: int, syntax: str) -> int:
    """6.0 on: the integer part exactly, a fraction as a 64-bit binary fraction, their
    product with the unit rounded half up (a 128.64 fixed-point product)."""
    n = len(text)
    i = 0
    while i < n and text[i] in _WS:
        i += 1
    j = i + 1 if i < n and text[i] in "+-" else i
    k = j
    while k < n and text[k] in _DIGITS:
        k += 1
    val, valf, end = 0, 0, k
    digits = text[j:k].lstrip("0") or "0"
    if k == j:  # no integer part: a fraction only from 8.1 (strtod reads it from the start)
        if syntax != NEWEST or "." not in text:
            raise ValueError(text)
        end = 0
    elif len(digits) > 20 or int(digits) >= _U64:  # (no int() of thousands of digits)
        raise _Range(k)
    elif text[i] == "-":  # 6.0: refused; 8.1 (parse_uint): out of range
        if syntax == NEWEST:
            raise _Range(k)
        raise ValueError(text)
    else:
        val = int(digits)
    # Hex only after a lone 0: strtoull(base 16) reads "00x40" as 0, up to the x.
    if text[j:k] == "0" and end < n and text[end] in "xX":
        # Hex: no fraction; from 8.0 no suffix either.
        h = end + 1
        while h < n and text[h] in "0123456789abcdefABCDEF":
            h += 1
        if h > end + 1:
            hex_digits = text[end + 1:h].lstrip("0") or "0"
            if len(hex_digits) > 16:
                raise _Range(h)
            val, end = int(hex_digits, 16), h
        if end < n and (text[end] == "." or (syntax != FIXED and _suffix(text, end) is not None)):
            raise ValueError(text)
    elif k == j or (end < n and text[end] == "."):
        fraction, end, tiny = _fraction(text, end, syntax)
        if fraction >= 1.0 and syntax == NEWEST:  # 8.1 carries it into the integer
            if val == _U64 - 1:
                raise _Range(end)
            val += 1
        elif fraction >= 1.0:
            valf = 0  # 6.0 to 8.0: (uint64_t)(1.0 * 0x1p64), 0 on x86-64
        else:
            valf = int(fraction * 18446744073709551616.0)
            if syntax == NEWEST and valf == 0 and (fraction > 0.0 or tiny):
                valf = 1  # from 8.1 any fraction is one
    shift = _suffix(text, end)
    if shift is not None:
        end += 1
    else:
        shift = default_shift
    if shift == 0 and valf:
        raise ValueError(text)
    low = valf << shift
    value = (val << shift) + (low >> 64) + ((low & (_U64 - 1)) >> 63)
    if value >= _U64:
        raise _Range(end)
    if end != n:
        raise ValueError(text)
    return value


def _fraction(text: str, dot: int, syntax: str) -> tuple[float, int, bool]:
    """The fraction strtod reads from ``dot``, where it ends, and whether it underflowed.
    6.0 to 8.0 refuse an exponent in it; 8.1 ends it at an "e" (the exabyte suffix)."""
    if syntax == NEWEST:
        if dot > 0 and text[dot] == "." and text[dot - 1] in _DIGITS and (
                text[dot + 1:dot + 2] not in _DIGITS):
            return 0.0, dot + 1, False  # "1.k": no digit after the point
        cut = min([at for at in (text.find("e", dot), text.find("E", dot)) if at >= 0],
                  default=len(text))
        read = _strtod(text[:cut], dot)
        if read is None:
            raise ValueError(text)
        fraction, end, tiny = read
        if fraction < 0 or (fraction == 0.0 and text[dot:end].lstrip(_WS).startswith("-")):
            raise _Range(end)  # signbit: "-.5"
        return fraction, end, tiny
    read = _strtod(text, dot)
    if read is None:
        return 0.0, dot + 1, False  # QEMU skips the point and reads on ("1.k")
    fraction, end, erange = read
    if erange:
        return 0.0, end + 1, False  # QEMU skips one more than strtod read
    if "e" in text[dot:end] or "E" in text[dot:end]:
        raise ValueError(text)
    return fraction, end, False
