"""Map command-line options to ``-readconfig`` sections and back.

Only options QEMU reads identically from a file are moved there: -machine,
-smp, -m, -numa, and -device/-object written as option strings.  JSON
options, -cpu (no group exists) and everything else stay on the command
line.  Values QEMU's reader cannot carry are refused, never truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdxlate.error import CmdxlateError, InputError, QemuRefusal, Where
from cmdxlate.syntax.argv import Option, parse_argv
from cmdxlate.syntax.config import ConfigSection, check_writable
from cmdxlate.syntax.optstring import escape_value

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


def _section_for(opt: Option) -> ConfigSection | None:
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
    for p in o.pairs:
        if p.key == "id" and group in ID_GROUPS:
            sec_id = p.value
            continue
        if p.key in seen:
            return None  # a repeated key would overwrite in the file
        seen.add(p.key)
        entries.append((p.key, p.value))
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


def split_for_config(argv_groups: list[list[str]]) -> SplitResult:
    """Decide, option by option, what goes into the file.

    Options of one list (CPU devices, other devices, objects, NUMA) move all
    together or not at all, so their creation order never changes.
    """
    flat = [w for g in argv_groups for w in g]
    cl = parse_argv(flat)
    sections: list[ConfigSection | None] = [_section_for(o) for o in cl.options]
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


def sections_to_options(sections: list[ConfigSection], filename: str = "<config>",
                        smp_by_line: bool = False) -> tuple[list[tuple[str, str, int]], list[str]]:
    """The command-line options equivalent to the sections, each with its section's line
    (where QEMU locates errors about it); also warnings. ``smp_by_line``: an [smp-opts]
    section read from a file becomes one -smp per line, at that line (for resolving)."""
    out: list[tuple[str, str, int]] = []
    warnings: list[str] = []
    for sec in sections:
        where = Where(file=filename, line=sec.line)
        if sec.group not in KNOWN_GROUPS:
            raise QemuRefusal(f"There is no option group '{sec.group}'", where=where,
                              located=True)
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
        if smp_by_line and sec.group == "smp-opts" and len(sec.entry_lines) == len(sec.entries):
            out.extend(_smp_opts_options(sec))
            continue
        pairs = list(values.items())
        if sec.id is not None:
            if sec.group == "numa":
                raise QemuRefusal("Invalid parameter 'id'", where=where, located=True)
            pairs.insert(0, ("id", sec.id))
        if sec.group == "numa" and "type" not in values:
            raise QemuRefusal("Parameter 'type' is missing", where=where, located=True)
        value = ",".join(f"{k}={escape_value(v)}" for k, v in pairs)
        out.append((OPTION_OF.get(sec.group, "-" + sec.group), value, sec.line))
    return out, warnings


def _smp_opts_options(sec: ConfigSection) -> list[tuple[str, str, int]]:
    """An [smp-opts] section read from a file, as QEMU applies it: the header names the
    group (an id is checked there), then each line sets one key, and an error about that
    key is reported at its line (5.2/6.0). One -smp per line merges into the same values
    as the whole section (the group merges, as -smp options do), in every release."""
    head = [] if sec.id is None else [("id", sec.id)]
    out: list[tuple[str, str, int]] = []
    if sec.id is not None:
        out.append(("-smp", f"id={escape_value(sec.id)}", sec.line))
    for (k, v), line in zip(sec.entries, sec.entry_lines, strict=True):
        value = ",".join(f"{a}={escape_value(b)}" for a, b in [*head, (k, v)])
        out.append(("-smp", value, line))
    return out


def sections_to_argv(sections: list[ConfigSection], filename: str = "<config>"
                     ) -> tuple[list[str], list[str]]:
    """Command-line arguments equivalent to the sections; also the warnings."""
    options, warnings = sections_to_options(sections, filename)
    return [w for option, value, _ in options for w in (option, value)], warnings
