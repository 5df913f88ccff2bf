"""Map command-line options to ``-readconfig`` sections and back.

Only options QEMU reads identically from a file are moved there: -machine,
-smp, -m, -numa, and -device/-object written as option strings.  JSON
options, -cpu (no group exists) and everything else stay on the command
line.  Values QEMU's reader cannot carry are refused, never truncated.
"""

from __future__ import annotations

import re

from cmdxlate.error import CmdxlateError, InputError, QemuRefusal, Where
from cmdxlate.records import dataclass
from cmdxlate.syntax.argv import Option, parse_argv
from cmdxlate.syntax.config import ConfigSection, check_writable
from cmdxlate.syntax.optstring import escape_value

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

# option name -> config group
GROUP_OF: dict[str, str] = {
    "machine": "machine",
    "smp": "smp-opts",
    "m": "memory",
    "numa": "numa",
    "device": "device",
    "object": "object",
}
OPTION_OF: dict[str, str] = {
    "machine": "-machine", "smp-opts": "-smp", "memory": "-m", "numa": "-numa",
    "device": "-device", "object": "-object", "boot-opts": "-boot", "accel": "-accel",
}
# Groups QEMU registers that cmdxlate reads back (QEMU 10.0 util/qemu-config + vl.c).
KNOWN_GROUPS = frozenset({
    "machine", "smp-opts", "memory", "numa", "device", "object", "boot-opts", "accel", "drive",
    "chardev", "netdev", "net", "nic", "global", "rtc", "name", "mon", "audiodev", "trace",
    "option-rom", "add-fd", "tpmdev", "overcommit", "msg", "icount", "semihosting-config",
    "fw_cfg", "action", "sandbox", "smbios", "acpi", "run-with", "spice", "fsdev", "virtfs",
    "iscsi",
})
ID_GROUPS = frozenset({"device", "object", "chardev", "netdev", "drive", "audiodev", "mon",
                       "tpmdev", "fsdev", "add-fd"})


@dataclass
class SplitResult:
    sections: list[ConfigSection]
    argv: list[list[str]]  # option groups that stay on the command line
    insert_at: int  # where -readconfig goes among ``argv``


# -object properties that are lists: the command line gives ``host-nodes=0-1`` (or the
# key repeated), a -readconfig file read as keyval (6.1 on) wants ``host-nodes.0``.
LIST_PROPERTIES = frozenset({"host-nodes"})
_LIST_ITEM = re.compile(r"(.+)\.(0|[1-9][0-9]{0,5})")


def _list_items(values: list[str]) -> list[str] | None:
    """``host-nodes`` values of the command line (``0``, ``2-3``) as single items."""
    out: list[str] = []
    for v in values:
        lo, dash, hi = v.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            return None
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first or last - first > 1024:
            return None
        out += [str(n) for n in range(first, last + 1)]
    return out


def _object_entries(pairs: list[tuple[str, str]], keyval: bool) -> list[tuple[str, str]] | None:
    """An -object's pairs as a file writes them; None if the file cannot say the same."""
    lists: dict[str, list[str]] = {}
    out: list[tuple[str, str]] = []
    for k, v in pairs:
        if k in LIST_PROPERTIES:
            if k not in lists:
                lists[k] = []
                out.append((k, ""))
            lists[k].append(v)
        elif _LIST_ITEM.fullmatch(k):
            return None  # QEMU refuses it on the command line; keep it there
        else:
            out.append((k, v))
    result: list[tuple[str, str]] = []
    for k, v in out:
        if k not in lists:
            result.append((k, v))
        elif keyval:
            items = _list_items(lists[k])
            if items is None:
                return None
            result += [(f"{k}.{i}", item) for i, item in enumerate(items)]
        elif len(lists[k]) == 1:
            result.append((k, lists[k][0]))
        else:
            return None  # a repeated key would overwrite in the file
    return result


def _section_for(opt: Option, release: Release | None = None) -> ConfigSection | None:
    """The section holding ``opt``, or None if it must stay on the command line."""
    if opt.name not in GROUP_OF or opt.value is None or opt.is_json:
        return None
    o = opt.opts
    if o is None:
        return None
    group = GROUP_OF[opt.name]
    entries: list[tuple[str, str]] = []
    sec_id: str | None = None
    seen: set[str] = set()
    if len(o.get_all("id")) > 1:
        return None  # which id wins differs between QemuOpts and keyval groups
    pairs = [(p.key, p.value) for p in o.pairs]
    if group == "object":
        keyval = release is None or release.has("readconfig-object-keyval")
        found = _object_entries(pairs, keyval)
        if found is None:
            return None
        pairs = found
    for key, value in pairs:
        if key == "id" and group in ID_GROUPS:
            sec_id = value
            continue
        if key in seen:
            return None  # a repeated key would overwrite in the file
        seen.add(key)
        entries.append((key, value))
    if group in ("device", "object") and sec_id is None:
        return None
    if group == "object" and "qom-type" not in seen:
        return None
    try:
        if sec_id is not None:
            check_writable(group, sec_id, "id", sec_id)
        for k, v in entries:
            check_writable(group, sec_id, k, v)
    except CmdxlateError:
        return None
    return ConfigSection(group, sec_id, entries, 0)


def split_for_config(argv_groups: list[list[str]], release: Release | None = None
                     ) -> SplitResult:
    """Decide, option by option, what goes into the file (read as ``release`` reads it;
    None: the newest).

    Options of one list (CPU devices, other devices, objects, NUMA) move all
    together or not at all, so their creation order never changes.
    """
    flat = [w for g in argv_groups for w in g]
    cl = parse_argv(flat)
    sections: list[ConfigSection | None] = [_section_for(o, release) for o in cl.options]
    kinds: dict[str, list[int]] = {}
    for i, o in enumerate(cl.options):
        if o.name in GROUP_OF:
            kind = o.name
            if o.name == "device":
                kind = "cpu-device" if _is_cpu_device(o) else "device"
            kinds.setdefault(kind, []).append(i)
    for idx in kinds.values():
        if any(sections[i] is None for i in idx):
            for i in idx:
                sections[i] = None
    out_secs: list[ConfigSection] = []
    rest: list[list[str]] = []
    insert_at = -1
    for opt, sec in zip(cl.options, sections, strict=True):
        if sec is None:
            rest.append(opt.args())
        else:
            if insert_at < 0:
                insert_at = len(rest)
            out_secs.append(sec)
    return SplitResult(out_secs, rest, insert_at if insert_at >= 0 else len(rest))


def _is_cpu_device(opt: Option) -> bool:
    drv = opt.get("driver") or ""
    return drv.endswith(("-cpu", "-cpu-core"))


@dataclass(frozen=True)
class ConfigOption:
    """The command-line option one -readconfig section stands for."""

    option: str  # "-machine", "-numa", ...
    value: str
    section: ConfigSection


class UnknownGroup(QemuRefusal):
    """A section of a group QEMU does not have; QEMU stops reading the file there."""

    def __init__(self, filename: str, section: ConfigSection) -> None:
        super().__init__(f"There is no option group '{section.group}'",
                         where=Where(file=filename, line=section.line,
                                     section=(section.line, section.end_line)),
                         located=True)
        self.section = section


def _cli_pairs(sec: ConfigSection, values: dict[str, str]) -> list[tuple[str, str]]:
    """The section's keys as the command line writes them: an -object's list items
    (``host-nodes.0``, ``host-nodes.1``) become the key repeated, as QEMU's command line
    takes a list; what a release makes of either form is checked when resolving."""
    pairs = list(values.items())
    if sec.group == "object":
        items = [(_LIST_ITEM.fullmatch(k), k, v) for k, v in pairs]
        lists = sorted((m.group(1), int(m.group(2)), v) for m, _, v in items if m)
        pairs = [(k, v) for m, k, v in items if not m]
        pairs += [(name, v) for name, _, v in lists]
    if sec.id is not None:
        pairs.insert(0, ("id", sec.id))
    return pairs


def sections_to_options(sections: list[ConfigSection], filename: str = "<config>",
                        smp_by_line: bool = False) -> tuple[list[ConfigOption], list[str]]:
    """The command-line options equivalent to the sections (each with its section, where
    QEMU locates errors about it); also warnings. An unknown group raises UnknownGroup.
    ``smp_by_line``: an [smp-opts] section read from a file becomes one -smp per line,
    at that line (for resolving: QEMU 5.2/6.0 report an -smp key's error at its line)."""
    out: list[ConfigOption] = []
    warnings: list[str] = []
    for sec in sections:
        where = Where(file=filename, line=sec.line)
        if sec.group not in KNOWN_GROUPS:
            raise UnknownGroup(filename, sec)
        values = sec.last_wins()
        if len(values) != len(sec.entries):
            keys = [k for k, _ in sec.entries]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            warnings.append(f"{filename}:{sec.line}: [{sec.group}] repeats {', '.join(dup)}; "
                            "QEMU keeps only the last value")
        for key in values:
            if "," in key or "=" in key:
                raise InputError(
                    f"{filename}:{sec.line}: key '{key}' cannot be given on a command line "
                    "(a ',' or '=' in a key changes the option's meaning)", where=where)
        if (smp_by_line and sec.group == "smp-opts"
                and len(sec.entry_lines) == len(sec.entries)):
            out.extend(_smp_opts_options(sec))
            continue
        value = ",".join(f"{k}={escape_value(v)}" for k, v in _cli_pairs(sec, values))
        out.append(ConfigOption(OPTION_OF.get(sec.group, "-" + sec.group), value, sec))
    return out, warnings


def _smp_opts_options(sec: ConfigSection) -> list[ConfigOption]:
    """An [smp-opts] section read from a file, as QEMU applies it: the header names the
    group (an id is checked there), then each line sets one key, and an error about that
    key is reported at its line (5.2/6.0). One -smp per line merges into the same values
    as the whole section (the group merges, as -smp options do), in every release."""
    head = [] if sec.id is None else [("id", sec.id)]
    out: list[ConfigOption] = []

    def at(line: int, entries: list[tuple[str, str]]) -> ConfigSection:
        return ConfigSection(sec.group, sec.id, entries, line, [line] * len(entries), line)

    if sec.id is not None:
        out.append(ConfigOption("-smp", f"id={escape_value(sec.id)}", at(sec.line, [])))
    for (k, v), line in zip(sec.entries, sec.entry_lines, strict=True):
        value = ",".join(f"{a}={escape_value(b)}" for a, b in [*head, (k, v)])
        out.append(ConfigOption("-smp", value, at(line, [(k, v)])))
    return out


def sections_to_argv(sections: list[ConfigSection], filename: str = "<config>"
                     ) -> tuple[list[str], list[str]]:
    """Command-line arguments equivalent to the sections; also the warnings."""
    options, warnings = sections_to_options(sections, filename)
    return [w for o in options for w in (o.option, o.value)], warnings
