"""Which QEMU options take an argument, and how each option's value is parsed.

Measured on QEMU 10.0 (every option of ``-help`` for x86_64, ppc64, s390x and
aarch64 run without its argument), plus options older QEMUs had that libvirt
still wrote, and those of 5.2's ``-help`` (``-realtime``, ``-rotate``,
``-audio-help``); which release has which is catalog/data/options.json. An
option not listed here is unknown: the command line reader says so instead of
guessing silently, and resolving refuses it as QEMU does (``invalid option``).
"""

from __future__ import annotations

# Options taking no argument (QEMU 10.0 and removed/legacy ones).
FLAGS: frozenset[str] = frozenset(
    """
    S daemonize enable-kvm enable-sync-profile full-screen h help jitdump
    mem-prealloc no-fd-bootchk no-reboot no-shutdown no-user-config nodefaults
    nographic old-param only-migratable perfmap preconfig s semihosting snapshot
    usb version win2k-hack xen-attach xen-domid-restrict
    no-acpi no-hpet enable-fips no-kvm no-kvm-irqchip no-kvm-pit-reinjection
    no-kvm-pit nodefconfig no-frame alt-grab ctrl-grab no-quit curses portrait
    singlestep sdl localtime rtc-td-hack tdf std-vga enable-nesting show-cursor
    no-acpi-numa audio-help async-teardown
    """.split()
)

# Options taking one argument.
WITH_ARG: frozenset[str] = frozenset(
    """
    D L accel acpitable action add-fd append audio audiodev bios blockdev boot
    cdrom chardev compat cpu d debugcon device dfilter display drive dtb
    dump-vmstate echr fda fdb fsdev fw_cfg g gdb global hda hdb hdc hdd icount
    incoming initrd iscsi k kernel loadvm m machine M mem-path mon monitor msg
    mtdblock name net netdev nic numa object option-rom overcommit parallel
    pflash pidfile plugin prom-env qmp qmp-pretty readconfig rtc run-with
    sandbox sd seed semihosting-config serial set shim smbios smp spice tpmdev
    trace usbdevice uuid vga virtfs vnc watchdog-action xen-domid writeconfig
    watchdog soundhw pcidevice bt redir tb-size mem-merge clock chroot runas
    realtime rotate qtest qtest-log
    """.split()
)

# How an option's value is parsed: (dialect, implied key).  These are the options whose
# argument QEMU 10.0 (system/vl.c) parses as an option string, QemuOpts or keyval;
# every other option takes a plain value ("value"): a file name (-kernel, -hda,
# -pidfile, -readconfig), a chardev spec (-serial mon:stdio, -monitor, -qmp, -gdb), a
# UUID, a keymap (-k en-us), a number (-seed), a list that is not key=value (-d, -boot
# is an option string but -vga std is not), or an option no QEMU knows.
OPTION_SYNTAX: dict[str, tuple[str, str | None]] = {
    "smp": ("keyval", "cpus"),
    "machine": ("keyval", "type"),
    "M": ("keyval", "type"),
    "numa": ("qemuopts", "type"),
    "device": ("qemuopts", "driver"),
    "object": ("qemuopts", "qom-type"),  # object_option_parse: QemuOpts in every release
    "m": ("qemuopts", "size"),
    "accel": ("qemuopts", "accel"),
    "cpu": ("cpu", None),
    "drive": ("qemuopts", None),
    "netdev": ("qemuopts", "type"),
    "chardev": ("qemuopts", "backend"),
    "global": ("qemuopts", None),
    "boot": ("qemuopts", "order"),
    "rtc": ("qemuopts", None),
    "name": ("qemuopts", "guest"),
    "overcommit": ("qemuopts", None),
    "msg": ("qemuopts", None),
    "sandbox": ("qemuopts", "enable"),
    "mon": ("qemuopts", None),
    "audiodev": ("keyval", "driver"),
    "blockdev": ("keyval", None),
    "fsdev": ("qemuopts", "fsdriver"),
    "tpmdev": ("qemuopts", "type"),
    "smbios": ("qemuopts", "type"),
    "fw_cfg": ("qemuopts", None),
    "spice": ("qemuopts", None),
    "add-fd": ("qemuopts", None),
    "run-with": ("qemuopts", None),
    "icount": ("qemuopts", "shift"),
    "compat": ("keyval", None),
    "action": ("qemuopts", None),
    "acpitable": ("qemuopts", None),
    "net": ("qemuopts", "type"),
    "nic": ("qemuopts", "type"),
    "display": ("keyval", "type"),
    "vnc": ("qemuopts", "vnc"),
    "iscsi": ("qemuopts", None),
    "virtfs": ("qemuopts", "fsdriver"),
    "semihosting-config": ("qemuopts", "enable"),
    "trace": ("qemuopts", "enable"),
    "option-rom": ("qemuopts", "romfile"),
    "set": ("raw", None),
    "audio": ("keyval", "driver"),
    "plugin": ("qemuopts", "file"),
}
VALUE_DIALECT = ("value", None)

# Options whose value may be a JSON object instead of an option string.
JSON_CAPABLE: frozenset[str] = frozenset({"device", "object", "blockdev", "audiodev", "display",
                                          "compat", "netdev"})


def canonical_name(arg: str) -> str | None:
    """``-smp``/``--smp`` -> ``smp``; None if ``arg`` is not an option.  QEMU reads every
    word that starts with "-" as an option, so ``-`` and ``--`` are options named ""
    (which no release has: "invalid option")."""
    if arg[:1] != "-":
        return None
    name = arg[2:] if arg.startswith("--") else arg[1:]
    if name == "M":
        return "machine"
    return name


def takes_argument(name: str) -> bool | None:
    """True/False for known options; None for unknown ones."""
    if name in FLAGS:
        return False
    if name in WITH_ARG:
        return True
    return None
