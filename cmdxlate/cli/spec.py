"""The ``cmdxlate`` command line, defined once, as data.

Every command, option, help text and example lives here and nowhere else.
``cli.parser`` reads a run's argv against this table (strictly: anything before
``--`` that is not the command's own is refused); ``cli.help`` builds typer's
app from the same table for ``--help`` and shell completion only, so a run
never imports typer or click (issue 13: start-up is most of a single call).
"""

from __future__ import annotations


class Option:
    """One option of a command: ``kind`` is flag, str, int, float or choice."""

    __slots__ = ("dest", "flags", "kind", "help", "metavar", "default", "choices", "required",
                 "bounds")

    def __init__(self, dest: str, flags: tuple[str, ...], kind: str = "str", help: str = "",  # noqa: A002
                 metavar: str | None = None, default: object = None,
                 choices: tuple[str, ...] = (), required: bool = False,
                 bounds: tuple[int, int] | None = None) -> None:
        self.dest, self.flags, self.kind, self.help = dest, flags, kind, help
        self.metavar, self.default, self.choices = metavar, default, choices
        self.required, self.bounds = required, bounds

    def replace(self, **changes: object) -> Option:
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return Option(**values)


class Argument:
    """A positional argument; ``qemu`` marks the QEMU arguments after ``--``."""

    __slots__ = ("dest", "metavar", "help", "required", "qemu")

    def __init__(self, dest: str, metavar: str, help: str = "", required: bool = True,  # noqa: A002
                 qemu: bool = False) -> None:
        self.dest, self.metavar, self.help, self.required, self.qemu = (
            dest, metavar, help, required, qemu)

    def replace(self, **changes: object) -> Argument:
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return Argument(**values)


class Command:
    """A command: its help, its parameters, and its function in ``cli.commands``."""

    __slots__ = ("name", "summary", "epilog", "params", "handler", "options", "arguments")

    def __init__(self, name: str, summary: str, epilog: str,
                 params: tuple[Option | Argument, ...], handler: str) -> None:
        self.name, self.summary, self.epilog, self.params, self.handler = (
            name, summary, epilog, params, handler)
        self.options = tuple(p for p in params if isinstance(p, Option))
        self.arguments = tuple(p for p in params if isinstance(p, Argument))


PROGRAM_HELP = (
    "Make QEMU's CPU topology explicit: parse a QEMU command line, resolve -smp/-numa "
    "exactly as a QEMU release does for a machine type and version, and convert it to "
    "explicit -device CPUs.\n\nQEMU's arguments always come after --, for example:\n\n"
    "  cmdxlate convert -- -machine q35 -smp 4,maxcpus=8"
)

# ---------------------------------------------------------------- options shared by commands

QEMU_ARGS = Argument("args", "-- ARGS", "The QEMU command line, after --.", required=False,
                     qemu=True)
FROM_FILE = Option("from_file", ("--from-file", "-f"), metavar="FILE",
                   help="Read the command line from a shell-style file (libvirt .args).")
ARCH = Option("arch", ("--arch",), metavar="ARCH",
              help="Target architecture (default: from the binary in the line, else the "
              "machine type, else x86_64).")
TARGET = Option("target", ("--target", "-t"), metavar="RELEASE",
                help="QEMU release to behave like, e.g. 10.0, or auto: the release of --qemu "
                "BIN (default: the newest cmdxlate models).")
TARGET_ONLY = TARGET.replace(help="QEMU release to behave like, e.g. 10.0 (default: the newest "
                             "cmdxlate models).")
VERIFY_TARGET = TARGET.replace(help="Use the installed QEMU of this release, e.g. 7.2 (default: "
                               "--qemu BIN, else the system's QEMU).")
MACHINES = Option("machines", ("--machines",), metavar="FILE",
                  help="Machine database written by 'cmdxlate probe'.")
OUTPUT = Option("output", ("--output", "-o"), metavar="FILE",
                help="Write to FILE (atomically) instead of standard output.")
FORCE = Option("force", ("--force",), "flag", "Overwrite an existing output file.",
               default=False)
QMP = Option("qmp", ("--qmp",), metavar="SOCKET",
             help="Read the running QEMU on this QMP UNIX socket (read-only), check it against "
             "ARGS and answer for the VM as it is now; --target is its release.")
TIMEOUT = Option("timeout", ("--timeout",), "float", metavar="SECONDS",
                 help="Seconds to wait for QEMU (default: 10 for --qmp; for verify 30, more "
                 "for lines with many CPUs).")
QEMU_BIN = Option("qemu", ("--qemu",), metavar="BIN", help="QEMU binary to ask.")
RELEASE_OF = Option("qemu", ("--qemu",), metavar="BIN",
                    help="Answer for the release of this QEMU binary (BIN --version); the "
                    "same as --target auto.")


def fmt(*choices: str) -> Option:
    """``--format``, whose first choice is the default."""
    return Option("fmt", ("--format",), "choice", default=choices[0], choices=choices)


# ---------------------------------------------------------------- commands

COMMANDS: tuple[Command, ...] = (
    Command("parse", "Show how a QEMU command line splits into options and key=value pairs.",
            "Examples:\n\n  cmdxlate parse -- -smp 4,sockets=2 -numa node,cpus=0-1,cpus=4-5\n\n"
            "  cmdxlate parse --format json --from-file guest.args",
            (QEMU_ARGS, fmt("text", "json"), FROM_FILE), "parse"),
    Command("slots", "Predict QEMU's query-hotpluggable-cpus answer for a command line (or, "
            "with --qmp, read a running VM's and check it against the line).",
            "Examples:\n\n  cmdxlate slots -- -machine q35 -smp 2,maxcpus=4\n\n"
            "  cmdxlate slots --format json --target 7.2 -- -M pc-i440fx-6.1 -smp 4\n\n"
            "  cmdxlate slots --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8",
            (QEMU_ARGS, fmt("text", "json"), TARGET, ARCH, FROM_FILE, MACHINES, QMP, TIMEOUT,
             RELEASE_OF), "slots"),
    Command("convert", "Print an equivalent command line with every CPU an explicit -device.",
            "Examples:\n\n  cmdxlate convert -- -machine q35 -smp 4,maxcpus=8\n\n"
            "\b\n  cmdxlate convert --format json --from-file guest.args -o guest-explicit.args"
            "\n\n  cmdxlate convert --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8\n\n"
            "With --qmp it prints the migration destination line of the running VM: the line "
            "with every CPU plugged now (hot-plugged ones as -device, in the order the VM "
            "created them, with their ids).",
            (QEMU_ARGS, fmt("shell", "json"), TARGET, ARCH, FROM_FILE, OUTPUT, FORCE, MACHINES,
             QMP, TIMEOUT, RELEASE_OF), "convert"),
    Command("writeconfig", "Write the converted line as a -readconfig file plus the argv that "
            "must stay.",
            "Example:\n\n  cmdxlate writeconfig -o vm.cfg -- -machine q35 -smp 4,maxcpus=8 "
            "-cpu max\n\nprints the arguments that stay on the command line, with -readconfig "
            "vm.cfg in them.",
            (QEMU_ARGS, OUTPUT.replace(help="The -readconfig file to write.", required=True),
             FORCE, fmt("shell", "json"), TARGET, ARCH, FROM_FILE, MACHINES, RELEASE_OF),
            "writeconfig"),
    Command("readconfig", "Turn a -readconfig file back into command-line arguments.\n\n"
            "The file is read as the target release reads it: QEMU's own refusal (for example "
            "``host-nodes = \"0\"`` where 6.1 and later want ``host-nodes.0``) ends the command.",
            "Examples:\n\n  cmdxlate readconfig vm.cfg\n\n"
            "  cmdxlate readconfig vm.cfg --format json -- -cpu max -display none",
            (Argument("path", "FILE", "A QEMU -readconfig file."),
             QEMU_ARGS.replace(dest="extra", help="More QEMU arguments, after --."),
             fmt("shell", "json"), TARGET_ONLY), "readconfig"),
    Command("explain", "Draw the topology: NUMA nodes, sockets, cores, threads, and where "
            "defaults came from (with --qmp: of the running VM, hot-plugged CPUs included).",
            "Examples:\n\n\b\n  cmdxlate explain -- -machine q35 -smp 8,sockets=2 -m 1G "
            "-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,"
            "size=512M -numa node,memdev=m0 -numa node,memdev=m1\n\n"
            "  cmdxlate explain --qmp /run/vm1.qmp -- -machine q35 -smp 2,maxcpus=8",
            (QEMU_ARGS, TARGET, ARCH, FROM_FILE, fmt("text", "json"), MACHINES, QMP, TIMEOUT,
             RELEASE_OF), "explain"),
    Command("verify", "Run real QEMU on the original and the converted line and compare their "
            "CPUs.\n\nOnly a topology projection of each line runs (machine, accel, cpu, smp, "
            "numa, memory and CPU devices), paused, so no disk, socket or file of yours is "
            "opened. The release is the binary's own (BIN --version); --target picks the "
            "installed binary of that release. Exit 0 when equal, 1 when different, 2 on bad "
            "input, 4 when QEMU is missing or fails.",
            "Examples:\n\n  cmdxlate verify -- -machine q35 -smp 4,maxcpus=8\n\n"
            "  cmdxlate verify --qemu /usr/bin/qemu-system-x86_64 --from-file guest.args",
            (QEMU_ARGS, QEMU_BIN, VERIFY_TARGET, ARCH, FROM_FILE, fmt("text", "json"), TIMEOUT,
             MACHINES), "verify"),
    Command("plan", "Plan the hotplug route to the line's CPUs: start QEMU paused with one CPU "
            "(one core on pseries), device_add the others over QMP in the order QEMU creates "
            "them, then cont.",
            "Examples:\n\n  cmdxlate plan -- -machine q35 -smp 4,maxcpus=8\n\n"
            "  cmdxlate plan --format qmp --cpus 6 -- -machine q35 -smp 4,maxcpus=8\n\n"
            "--format json prints {\"argv\": [...], \"qmp\": [...]}; --format qmp prints only "
            "the commands, one JSON object a line, for a QMP client.",
            (QEMU_ARGS,
             Option("cpus", ("--cpus",), "int", metavar="N",
                    help="Reach N present CPUs instead of the line's, plugging slots in slot "
                    "order as -smp cpus=N does."),
             fmt("text", "json", "qmp"), TARGET, ARCH, FROM_FILE, MACHINES, RELEASE_OF),
            "plan"),
    Command("probe", "Ask a QEMU binary about its machines and CPU models; write a machine "
            "database file.",
            "Example:\n\n  cmdxlate probe --qemu /usr/bin/qemu-system-x86_64 -o machines.json"
            "\n\nthen: cmdxlate slots --machines machines.json -- -M pc -smp 4",
            (QEMU_BIN.replace(required=True), OUTPUT, FORCE, fmt("json", "text")), "probe"),
    Command("batch", "Run convert, slots or verify over many command lines; one record out per "
            "line in.\n\nIN is JSON Lines (- for standard input) or a folder of .args files. "
            "Records come out in input order as they are done, each naming its input. Exit 0 "
            "all ok, 1 only verify differences, 2 a line failed, 4 QEMU missing or failing "
            "(the batch stops).",
            "Examples:\n\n  cmdxlate batch lines.jsonl -o out.jsonl\n\n"
            "  cmdxlate batch ../shared/corpus/libvirt --op slots --jobs 2",
            (Argument("source", "IN", "JSON Lines (argv arrays or {\"argv\": [...]}), a folder "
                      "of .args files, or - for standard input."),
             Option("op", ("--op",), "choice", default="convert",
                    choices=("convert", "slots", "verify")),
             fmt("json", "text"), OUTPUT, FORCE, TARGET_ONLY,
             Option("jobs", ("--jobs", "-j"), "int", "Worker processes.", default=1,
                    bounds=(1, 64)),
             MACHINES), "batch"),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
