"""The typed model of a command line: what a VM is asked to be, read in one pass.

``build_spec`` walks the options once, in order, as QEMU's option loop does:
every option string that QEMU parses while reading argv is parsed here (its
syntax errors carry the option's location, as QEMU's do), repeated ``-device``
ids are found, and each setting the resolver needs is filed under its name
with the option it came from. The resolver reads this model, never argv.
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal, Where, qemu_located
from cmdxlate.model.objects import Backend, Objects, read_object
from cmdxlate.model.optloop import (
    MACHINE_OPTS_OPTIONS,
    check_memory_option,
    first_pass,
    machine_options,
    place_config_options,
    read_config,
    read_json_option,
    read_time_error,
    reader_where,
    reads_json,
    short_form_warnings,
)
from cmdxlate.records import dataclass, field
from cmdxlate.syntax import qjson
from cmdxlate.syntax.argv import CommandLine, Option
from cmdxlate.syntax.optstring import OptString
from cmdxlate.syntax.sizes import c_size, size_syntax
from cmdxlate.syntax.smp_opts import parse_smp_opts

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

_HELP_WORDS = ("help", "?")
# The options _asks_for_help can answer True for (the others never print help).
_MAY_ASK_HELP = frozenset({"cpu", "h", "help", "version", "audio-help", "machine", "object",
                           "device", "accel"})
# The options _build files into the model or asks about help; it only reads the others.
_MODELLED = _MAY_ASK_HELP | {"smp", "m", "enable-kvm", "numa", "global"}

# QEMU's words when -mon first appears (11.1: the monitor-hmp and monitor-qmp objects).
MON_DEPRECATED = ("'-mon' is deprecated, use '-object' with 'monitor-hmp' or 'monitor-qmp' "
                  "types instead")


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``key=value`` a line sets, and where."""

    key: str
    text: str
    where: Where


class Device:
    """A ``-device``: its driver, properties as text, and whether it was JSON. The
    properties are read on first use: most devices on a line are never asked."""

    __slots__ = ("driver", "is_json", "option", "_props", "json_read", "driver_given")

    def __init__(self, driver: str, is_json: bool, option: Option, json_read: bool = True,
                 driver_given: bool = True) -> None:
        self.driver = driver
        self.driver_given = driver_given  # False: QEMU says "Parameter 'driver' is missing"
        self.is_json = is_json
        self.option = option
        self._props: dict[str, str] | None = None
        # False: "{...}" that the release reads as an option string (before 6.2).
        self.json_read = json_read

    def __repr__(self) -> str:
        return f"Device({self.driver!r}, is_json={self.is_json}, option={self.option!r})"

    @property
    def props(self) -> dict[str, str]:
        if self._props is None and not self.json_read:
            self._props = {}  # QEMU refuses it as a device (resolve.devices) before any use
        if self._props is None:
            j = self.option.json
            if j is not None:
                self._props = {k: _json_text(v) for k, v in j.items()}
            else:
                o = self.option.opts
                assert o is not None
                self._props = {p.key: p.value for p in o.pairs}
        return self._props

    @property
    def id(self) -> str | None:
        if not self.json_read:
            return None
        if self.is_json:  # qdict_get_try_str: an id that is no string is none
            v = (self.option.json or {}).get("id")
            return v if isinstance(v, str) else None
        if self._props is not None:
            return self._props.get("id")
        o = self.option.opts
        assert o is not None
        return o.get("id")

    @property
    def where(self) -> Where:
        return self.option.where


def _json_text(v: object) -> str:
    """A JSON property's value as QEMU's option-string text would be."""
    return v if isinstance(v, str) else ("on" if v is True else "off" if v is False
                                         else qjson.dumps(v))


@dataclass(slots=True)
class VmSpec:
    """Everything about a line that decides its CPUs, with where each part came from."""

    line: CommandLine
    release: Release | None = None  # the release whose option syntax was applied
    machine_type: Setting | None = None
    machine_props: dict[str, Setting] = field(default_factory=dict)
    machine_settings: list[Setting] = field(default_factory=list)  # every -machine key, in order
    smp: list[Setting] = field(default_factory=list)  # -smp keys and -machine smp.* keys
    smp_scalar: Setting | None = None  # "-machine smp=V": a value where QEMU wants a dict
    memory: dict[str, Setting] = field(default_factory=dict)  # -m size/slots/maxmem
    # The first -m: QemuOpts merge every -m into it, and 5.2 reports there.
    memory_where: Where | None = None
    accel_options: list[Option] = field(default_factory=list)
    enable_kvm: Option | None = None
    cpu: Option | None = None  # the last -cpu
    objects: Objects = field(default_factory=Objects)  # memory backends, -object refusals
    numa: list[Option] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    help_request: Option | None = None
    # The first option that creates 5.2/6.0's machine QemuOpts (where they locate errors).
    machine_opts_where: Where | None = None
    warnings: list[str] = field(default_factory=list)  # QEMU's, while it reads argv

    @property
    def cpu_model(self) -> str | None:
        return None if self.cpu is None or self.cpu.value is None else (
            self.cpu.value.split(",", 1)[0])

    @property
    def memory_size_given(self) -> bool:
        """Whether -m gives a size: parse_memory_options takes a size of 0 for none."""
        s = self.memory.get("size")
        if s is None:
            return False
        try:
            return c_size(s.text, 0, size_syntax(self.release)) != 0
        except ValueError:
            return True  # refused while argv is read (model.optloop)

    @property
    def machine_where(self) -> Where | None:
        return None if self.machine_type is None else self.machine_type.where

    @property
    def backends(self) -> dict[str, Backend]:
        """The memory backends by id (the first of a repeated id)."""
        return self.objects.backends


def _device(opt: Option, release: Release | None) -> Device:
    if opt.is_json and not reads_json(opt, release):
        # Before 6.2 "{...}" is an option string (resolve.devices refuses its driver).
        return Device("", True, opt, json_read=False)
    j = opt.json
    if j is not None:  # qdict_get_try_str: a driver that is no string is none
        driver = j.get("driver")
        return Device(driver if isinstance(driver, str) else "", True, opt,
                      driver_given=isinstance(driver, str))
    o = opt.opts
    assert o is not None
    given = o.get("driver")
    return Device(given or "", False, opt, driver_given=given is not None)


def _asks_for_help(opt: Option, parsed: OptString | None = None) -> bool:
    """Whether QEMU would print a list for this option and exit instead of starting
    (``parsed``: the option string as the release read it, if not the default way)."""
    name = opt.name
    if name == "cpu":
        return opt.value in _HELP_WORDS
    if name in ("h", "help", "version", "audio-help"):
        return True  # QEMU prints what they ask for and exits
    if name not in ("machine", "object", "device", "accel") or opt.is_json:
        return False
    o = parsed or opt.opts
    if o is None:
        return False
    if o.help:
        return True
    if name in ("device", "object"):  # both QemuOpts: "help" is a flag among the keys
        implied = "driver" if name == "device" else "qom-type"
        return o.get(implied) in _HELP_WORDS or any(p.flag and p.key in _HELP_WORDS
                                                    for p in o.pairs)
    if name == "machine" and o.dialect == "qemuopts":  # 5.2/6.0: -M help, -M pc,help
        return o.get("type") in _HELP_WORDS or any(p.flag and p.key in _HELP_WORDS
                                                   for p in o.pairs)
    # -accel without a name lists the accelerators too (vl.c QEMU_OPTION_accel)
    return name == "accel" and (o.get("accel") is None or o.get("accel") in _HELP_WORDS)


def _help_exits_at_once(name: str, release: Release | None) -> bool:
    """Whether QEMU prints this option's help as it reads it, ignoring the rest of argv
    (measured on 5.2.0, 7.2.22, 10.0.2, 11.1.3: -accel, -h, -version always; -machine
    from 6.1 and -object from 6.0, with their new parsers; -device and -cpu never)."""
    if name in ("h", "help", "version", "audio-help", "accel"):
        return True
    if name == "machine":
        return release is None or release.has("machine-keyval-parse")
    return name == "object" and (release is None or release.has("object-cli-visitor"))


_INCONSISTENT = "Parameters 'smp.*' used inconsistently"


def _machine_smp(spec: VmSpec, s: Setting) -> None:
    """``-machine smp=V`` / ``smp.K=V`` go into the machine dict's ``smp`` entry (6.1+): a
    string there and a dict there cannot meet (keyval_parse_put)."""
    if s.key == "smp":
        if spec.smp:
            raise QemuRefusal(_INCONSISTENT, where=s.where, located=True)
        spec.smp_scalar = s
        return
    if spec.smp_scalar is not None:
        raise QemuRefusal(_INCONSISTENT, where=s.where, located=True)
    spec.smp.append(Setting(s.key[4:], s.text, s.where))


def _smp_option(spec: VmSpec, opt: Option, release: Release | None) -> bool:
    """File one -smp option; True if QEMU prints the option's help and exits right away."""
    assert opt.value is not None
    if release is not None and release.has("smp-qemuopts-parse"):
        keys = tuple(release.fact("smp_keys"))
        with qemu_located(opt.where):
            o = parse_smp_opts(opt.value, keys,
                               id_rejected=release.has("smp-qemuopts-id-rejected"),
                               help_is_flag_only=release.has("qemuopts-help-flag-only"))
        if o.id is None:  # 5.2 files a named -smp apart, where nothing reads it
            spec.smp.extend(Setting(k, text, opt.where) for k, text, _ in o.pairs)
        return o.help
    ko = opt.opts
    assert ko is not None
    if spec.smp_scalar is not None:  # keyval_merge of a dict into "smp=V"
        raise QemuRefusal("Parameter 'smp' used inconsistently", where=opt.where, located=True)
    spec.smp.extend(Setting(p.key, p.value, opt.where) for p in ko.pairs)
    return ko.help


def build_spec(line: CommandLine, release: Release | None = None) -> VmSpec:
    """The model of ``line``, its options read as ``release`` reads them (None: the newest
    syntax, without the checks that depend on a release); raises QEMU's error for
    option syntax QEMU refuses."""
    try:
        return _build(line, release)
    except QemuRefusal as e:
        if release is not None:
            read_time_error(e, release)
        raise


def _build(line: CommandLine, release: Release | None) -> VmSpec:
    spec = VmSpec(line, release)
    device_ids: set[str] = set()
    smp_property = release is None or release.has("machine-smp-property")
    if release is not None:
        first_pass(line, release)
        place_config_options(line, release)
    mon_warning = release is not None and release.has("mon-deprecated-warning")
    for opt in line.options:
        name = opt.name
        if release is not None and (opt.from_file or opt.failure is not None):
            read_config(opt, release)
        if name is None or not opt.known:
            continue
        if release is not None and opt.is_json:
            read_json_option(opt, release)
        if spec.machine_opts_where is None and name in MACHINE_OPTS_OPTIONS:
            spec.machine_opts_where = opt.where
        # 11.1 warns in its option loop, once, at the first -mon; a -readconfig [mon]
        # never passes there (measured: no warning).
        if name == "mon" and mon_warning and not opt.from_file:
            spec.warnings.append(MON_DEPRECATED)
            mon_warning = False
        if name not in _MODELLED:
            continue  # read above as QEMU's option loop reads it; nothing to file
        if name == "machine":
            mo = machine_options(opt, release)
            spec.warnings += short_form_warnings(opt, mo, release)
            for p in mo.pairs:
                s = Setting(p.key, p.value, opt.where)
                spec.machine_settings.append(s)
                if p.key == "type":
                    spec.machine_type = s
                elif smp_property and (p.key == "smp" or p.key.startswith("smp.")):
                    _machine_smp(spec, s)
                else:
                    spec.machine_props[p.key] = s
        elif name == "smp":
            if opt.value is not None and _smp_option(spec, opt, release):
                spec.help_request = spec.help_request or opt
                break  # QEMU prints the -smp keys and exits while still reading argv
        elif name == "m":
            o = opt.opts
            assert o is not None
            spec.warnings += short_form_warnings(opt, o, release)
            if release is not None:
                spec.warnings += check_memory_option(opt, o, release)
            if spec.memory_where is None:
                spec.memory_where = opt.where
            for p in o.pairs:
                spec.memory[p.key] = Setting(p.key, p.value, opt.where)
        elif name == "accel":
            o = opt.opts  # parsed now: QEMU reads -accel in its option loop
            if o is not None:
                spec.warnings += short_form_warnings(opt, o, release)
            spec.accel_options.append(opt)
        elif name == "enable-kvm":
            spec.enable_kvm = opt
        elif name == "cpu":
            spec.cpu = opt
        elif name == "object":
            if not opt.is_json and opt.opts is not None and not opt.from_file:
                spec.warnings += short_form_warnings(opt, opt.opts, release)
            if not _asks_for_help(opt):  # QEMU lists the type's properties before it reads them
                read_object(opt, release, spec.objects)
                spec.warnings += spec.objects.warnings  # in argv order, with the others'
                spec.objects.warnings.clear()
        elif name == "numa":
            o = opt.opts  # parsed now, as QEMU's option loop does
            if o is not None:
                spec.warnings += short_form_warnings(opt, o, release)
            spec.numa.append(opt)
        elif name == "global" and opt.value is not None:
            spec.globals.append(opt.value)
        elif name == "device":
            dev = _device(opt, release)
            if not dev.is_json and opt.opts is not None:
                spec.warnings += short_form_warnings(opt, opt.opts, release)
            if not dev.is_json and dev.id is not None:
                # One QemuOpts list: a repeated id is refused while argv is read.
                if dev.id in device_ids:
                    raise QemuRefusal(f"Duplicate ID '{dev.id}' for device",
                                      where=reader_where(opt, release), located=True)
                device_ids.add(dev.id)
            spec.devices.append(dev)
        if spec.help_request is None and name in _MAY_ASK_HELP and _asks_for_help(
                opt, machine_options(opt, release) if name == "machine" else None):
            spec.help_request = opt
            if _help_exits_at_once(name, release):
                break  # QEMU prints it and exits in its option loop: later options unread
    return spec
