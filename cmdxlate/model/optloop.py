"""What a QEMU release checks while it reads argv, besides each option's syntax.

QEMU reads argv twice. The first pass (looking for ``-no-user-config``)
already refuses an option the release does not have (``-writeconfig:
invalid option``), before anything else. The second pass parses each option
in order: a ``-readconfig`` file is read where it stands (and may be refused
there), QemuOpts options warn about short-form booleans (6.0 on), and from 6.0
``-object`` option strings meet the QAPI visitor right away. These checks
depend on the release; ``model.spec.build_spec`` calls them in QEMU's order.
"""

from __future__ import annotations

import re

from cmdxlate.catalog.options import option_in_release, options_of
from cmdxlate.error import QemuRefusal, Where, qemu_located
from cmdxlate.syntax.numbers import c_uint64
from cmdxlate.syntax.optstring import OptString, parse_qemuopts
from cmdxlate.syntax.qjson import PUSH, TOKENS
from cmdxlate.syntax.sizes import SizeOutOfRange, c_size, hex_suffix_warning, size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release
    from cmdxlate.syntax.argv import CommandLine, Option

# Options whose first appearance creates QEMU 5.2/6.0's machine QemuOpts, which keep
# that option's location: "unsupported machine type" is printed there (vl.c).
MACHINE_OPTS_OPTIONS = frozenset({
    "machine", "enable-kvm", "nographic", "usb", "usbdevice", "no-acpi", "no-hpet",
    "kernel", "initrd", "append", "dtb", "bios",
})
# QemuOpts options whose values cmdxlate reads (their short-form booleans warn).
_QEMUOPTS = frozenset({"device", "numa", "accel", "m", "object"})
_HELP = ("help", "?")
LIST_ITEM = re.compile(r"(.+)\.(0|[1-9][0-9]*)")


def first_pass(line: CommandLine, release: Release) -> None:
    """Refuse the first option ``release`` lacks, as QEMU's first pass over argv does."""
    version = release.version
    known = options_of(version)
    for opt in line.options:
        name = opt.name
        if name is None or opt.spelling is None or opt.from_file:
            continue
        if not opt.known or not (known.get(name) or option_in_release(name, version)):
            raise QemuRefusal("invalid option", where=Where(opt.index, (opt.spelling,)),
                              located=True)


def place_config_options(line: CommandLine, release: Release) -> None:
    """Options from -readconfig sections are reported at the line ``release`` uses."""
    section_end = release.has("readconfig-line-is-section-end")
    for opt in line.options:
        if opt.from_file and opt.where.section is not None:
            opt.place_in_file(section_end)


def read_config(opt: Option, release: Release) -> None:
    """A -readconfig whose file QEMU refuses while reading it, as ``release`` reports it;
    and, from 6.1, an [object] list property given as one value (QEMU reads [object]
    with the keyval visitor then: ``host-nodes.0 = "0"``, not ``host-nodes = "0"``)."""
    if opt.failure is not None:
        raise opt.failure.error(release, opt.where)
    if (opt.name == "object" and opt.from_file
            and release.has("readconfig-object-keyval")):
        from cmdxlate.emit.readconfig import LIST_PROPERTIES

        for key in opt.config_keys:
            if key in LIST_PROPERTIES:
                raise QemuRefusal(f"Invalid parameter type for '{key}', expected: array",
                                  where=opt.where.in_file_at(True), located=True)


# QEMU reads "{...}" as JSON in its option loop for every option of
# syntax.options.JSON_CAPABLE, in every modelled release that has the option, except
# these before the release that has the behaviour. cmdxlate reads all their JSON; what
# QEMU then says about the members it models for -device and -object only.
_JSON_SINCE = {"device": "device-json", "object": "object-json", "netdev": "netdev-json"}


def reads_json(opt: Option, release: Release | None) -> bool:
    """Whether ``release`` reads this option's value as JSON (None: the newest does)."""
    if not opt.is_json:
        return False
    behaviour = _JSON_SINCE.get(opt.name or "")
    return release is None or behaviour is None or release.has(behaviour)


def read_json_option(opt: Option, release: Release) -> None:
    """A JSON option as the release's reader takes it, or the refusal QEMU prints there."""
    if not opt.from_file and reads_json(opt, release):
        opt.read_json(PUSH if release.has("json-push-parser") else TOKENS)


# -m's QemuOpts (qemu_mem_opts): typed keys, each value checked as argv is read.
_MEMORY_KEYS = {"size": "size", "slots": "number", "maxmem": "size"}


def check_memory_option(opt: Option, o: OptString, release: Release) -> list[str]:
    """-m's keys and values as QemuOpts parses them, in order, at the option: an unknown
    key, a size that is none, a slots that is no number (a negative one wraps); the
    warnings of 6.0 to 7.2 for hex sizes with a suffix."""
    syntax = size_syntax(release)
    warnings: list[str] = []
    for p in o.pairs:
        kind = _MEMORY_KEYS.get(p.key)
        problem = None
        if kind is None:
            problem = f"Invalid parameter '{p.key}'"
        elif kind == "size":
            try:
                c_size(p.value, 0, syntax)
            except SizeOutOfRange:
                problem = f"Value '{p.value}' is out of range for parameter '{p.key}'"
            except ValueError:
                problem = f"Parameter '{p.key}' expects a non-negative number below 2^64"
        else:
            try:
                c_uint64(p.value)
            except OverflowError:
                problem = f"Value '{p.value}' is too large for parameter '{p.key}'"
            except ValueError:
                problem = f"Parameter '{p.key}' expects a number"
        if problem is not None:
            raise QemuRefusal(problem, where=opt.where, located=True)
        if kind == "size":
            warning = hex_suffix_warning(p.value, syntax)
            if warning is not None:
                warnings.append(warning)
    return warnings


def machine_options(opt: Option, release: Release | None) -> OptString:
    """-machine's pairs: keyval from 6.1, QemuOpts before (``-M pc,usb`` is usb=on)."""
    if release is None or release.has("machine-keyval-parse") or opt.value is None:
        o = opt.opts
        assert o is not None
        return o
    with qemu_located(opt.where):
        return parse_qemuopts(opt.value, "type")


def short_form_warnings(opt: Option, o: OptString, release: Release | None) -> list[str]:
    """QemuOpts' warning for ``x2apic`` meaning ``x2apic=on`` (6.0 on; its hint line,
    ``Please use x2apic=on instead``, is not kept with the warnings)."""
    if release is None or not release.has("short-form-boolean-warning"):
        return []
    if opt.name not in _QEMUOPTS and not (opt.name == "machine" and o.dialect == "qemuopts"):
        return []
    return [f"short-form boolean option '{p.raw}' deprecated"
            for p in o.pairs if p.flag and p.raw not in _HELP]


def object_list_item_errors(opt: Option, qom_type: str, keys: list[str],
                            release: Release | None) -> QemuRefusal | None:
    """A memory backend given ``host-nodes.0=0`` on the command line (QEMU takes
    ``host-nodes=0`` there). From 6.0 the visitor refuses it while argv is read (raised
    here); 5.2 refuses it when it creates the object (returned, for that phase). A
    -readconfig [object] before 6.1 was read the same way as the command line."""
    if release is None:
        return None
    from_file = opt.from_file
    if from_file and release.has("readconfig-object-keyval"):
        return None
    for key in keys:
        if LIST_ITEM.fullmatch(key):
            if release.has("object-cli-visitor"):
                err = QemuRefusal(f"Invalid parameter '{key}'", where=opt.where, located=True)
                if from_file:
                    return err
                raise err
            return QemuRefusal(f"Property '{qom_type}.{key}' not found", where=opt.where,
                               located=True)
    return None


def read_time_error(err: QemuRefusal, release: Release) -> QemuRefusal:
    """QEMU 5.2 follows an error about a -readconfig line, raised as it reads the file,
    with a second error line naming the option (``read config FILE: Invalid argument``)."""
    where = err.where
    if (where is not None and where.file is not None and err.located and not err.more
            and release.has("readconfig-errors-two-lines")):
        err.more = (f"-readconfig {where.file}: read config {where.file}: Invalid argument",)
    return err


def reader_where(opt: Option, release: Release | None) -> Where:
    """Where QEMU reports an error its -readconfig reader raises about this option's
    section (a repeated device id): from 8.0 at the -readconfig option itself."""
    where = opt.where
    if (where.file is not None and release is not None
            and release.has("readconfig-reader-errors-at-option")):
        return Where(where.index, ("-readconfig", where.file))
    return where
