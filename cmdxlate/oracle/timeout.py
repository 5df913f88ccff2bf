"""``--timeout``: seconds to wait for a QEMU, checked before anything is started."""

from __future__ import annotations

import math

from cmdxlate.error import UsageError

MAX_TIMEOUT = 86400.0  # a day: a larger number is a typo, and timers overflow on inf


def valid_timeout(value: float | None, default: float) -> float:
    """A finite, positive number of seconds up to a day; anything else is bad input."""
    if value is None:
        return default
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = math.nan
    if not (math.isfinite(t) and 0 < t <= MAX_TIMEOUT):
        raise UsageError(f"--timeout {value}: expected seconds, more than 0 and at most "
                         f"{MAX_TIMEOUT:g}")
    return t
