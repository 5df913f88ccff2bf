"""Map command-line options to ``-readconfig`` sections and back.

Only options QEMU reads identically from a file are moved there: -machine,
-smp, -m, -numa, and -device/-object written as option strings.  JSON
options, -cpu (no group exists) and everything else stay on the command
line.  Values QEMU's reader cannot carry are refused, never truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdxlate.cfgfile import ConfigSection, check_writable
from cmdxlate.cmdline import CommandLine, Option, parse_argv
from cmdxlate.errors import CmdxlateError
from cmdxlate.optstring import escape_value

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


def sections_to_argv(sections: list[ConfigSection]) -> tuple[list[str], list[str]]:
    """Command-line options equivalent to the sections; also the warnings."""
    argv: list[str] = []
    warnings: list[str] = []
    for sec in sections:
        if sec.group not in KNOWN_GROUPS:
            raise CmdxlateError(
                f"line {sec.line}: There is no option group '{sec.group}'", qemu=True
            )
        values = sec.last_wins()
        if len(values) != len(sec.entries):
            keys = [k for k, _ in sec.entries]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            warnings.append(
                f"line {sec.line}: [{sec.group}] repeats {', '.join(dup)}; QEMU keeps only the "
                "last value"
            )
        for key in values:
            if "," in key or "=" in key:
                raise CmdxlateError(
                    f"line {sec.line}: key '{key}' cannot be given on a command line "
                    "(a ',' or '=' in a key changes the option's meaning)")
        pairs = list(values.items())
        if sec.id is not None:
            if sec.group in ("numa", "smp-opts"):
                raise CmdxlateError(f"line {sec.line}: Invalid parameter 'id'", qemu=True)
            pairs.insert(0, ("id", sec.id))
        if sec.group == "numa" and "type" not in values:
            raise CmdxlateError(f"line {sec.line}: Parameter 'type' is missing", qemu=True)
        value = ",".join(f"{k}={escape_value(v)}" for k, v in pairs)
        option = OPTION_OF.get(sec.group, "-" + sec.group)
        argv += [option, value]
    return argv, warnings


def expand_readconfig(cl: CommandLine, args_dir: str | None = None) -> CommandLine:
    """Replace each -readconfig FILE by the options the file holds.

    A relative FILE is read from the current folder, as QEMU reads it: one rule
    for argv, --from-file and batch.  ``args_dir``, the folder of the .args
    file the line came from, only serves a hint when FILE is there instead.
    """
    if not cl.find("readconfig"):
        return cl
    from cmdxlate.cfgfile import read_config_file

    argv: list[str] = []
    for opt in cl.options:
        if opt.name == "readconfig" and opt.value is not None:
            try:
                secs = read_config_file(opt.value)
                extra, _ = sections_to_argv(secs)
            except CmdxlateError as e:
                raise CmdxlateError(f"-readconfig {opt.value}: {e.message}",
                                    option_index=opt.index,
                                    hint=_relative_hint(opt.value, args_dir)) from None
            argv += extra
        else:
            argv += opt.args()
    return parse_argv(argv, cl.binary, cl.env)


def _relative_hint(path: str, args_dir: str | None) -> str | None:
    import os

    if not args_dir or os.path.isabs(path) or os.path.exists(path):
        return None
    beside = os.path.join(args_dir, path)
    if not os.path.exists(beside):
        return None
    return (f"a relative -readconfig path is read from the current folder, as QEMU reads it; "
            f"{beside} exists: run from {args_dir}, or write the path in full")
