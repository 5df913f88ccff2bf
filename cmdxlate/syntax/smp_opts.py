"""``-smp`` as QEMU 5.2 and 6.0 read it: the QemuOpts group ``smp-opts``.

Before 6.1 ``-smp`` was not keyval: QemuOpts parsed it while reading argv
(``cpus`` implied, every key a number, all -smp options merged into one
group), so each syntax error carries the option's location. This module
applies that parser's rules, in its order, to one option string; the caller
locates the errors. From 6.1 ``-smp`` is keyval (``optstring.parse_keyval``).
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal
from cmdxlate.records import dataclass
from cmdxlate.syntax.numbers import c_uint64
from cmdxlate.syntax.optstring import ID_HINT, id_wellformed, qemuopts_scan

_HELP = ("help", "?")


@dataclass(frozen=True, slots=True)
class SmpOpts:
    """One -smp option string as the QemuOpts group keeps it."""

    pairs: tuple[tuple[str, str, int], ...]  # key, value as written, the number QEMU read
    id: str | None = None  # a named group: 5.2 keeps it apart and never reads it
    help: bool = False  # QEMU prints the group's keys and exits (status 1)


def parse_smp_opts(text: str, keys: tuple[str, ...], *, id_rejected: bool,
                   help_is_flag_only: bool) -> SmpOpts:
    """QEMU's opts_parse() for smp-opts: the id first (qemu_opts_create), then each item in
    order (get_opt_name_value, opt_validate): an unknown key, or a value strtoull cannot
    read whole, stops the parse.

    ``id_rejected``: 6.0 refuses an id on a merge-lists group. ``help_is_flag_only``:
    6.0 asks for help only with a bare ``help``/``?`` item, 5.2 with any unknown key
    spelt so (``help=1``, ``nohelp``).
    """
    # opts_parse_id: every item read as a flag or key=value, the first "id" wins.
    opt_id = next((p.value for p in qemuopts_scan(text, None) if p.key == "id"), None)
    if opt_id is not None:
        if id_rejected:
            raise QemuRefusal("Invalid parameter 'id'")
        if not id_wellformed(opt_id):
            raise QemuRefusal("Parameter 'id' expects an identifier", hint=ID_HINT)
    pairs: list[tuple[str, str, int]] = []
    for p in qemuopts_scan(text, "cpus"):
        if help_is_flag_only and p.flag and p.value == "on" and p.key in _HELP:
            return SmpOpts(tuple(pairs), opt_id, help=True)
        if p.key == "id":
            continue
        if p.key not in keys:
            if not help_is_flag_only and p.key in _HELP:
                return SmpOpts(tuple(pairs), opt_id, help=True)
            raise QemuRefusal(f"Invalid parameter '{p.key}'")
        try:
            number = c_uint64(p.value)
        except OverflowError:
            raise QemuRefusal(f"Value '{p.value}' is too large for parameter '{p.key}'"
                              ) from None
        except ValueError:
            raise QemuRefusal(f"Parameter '{p.key}' expects a number") from None
        pairs.append((p.key, p.value, number))
    return SmpOpts(tuple(pairs), opt_id)
