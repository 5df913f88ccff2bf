"""Resolve a command line into its CPU topology, exactly as a QEMU release would.

``resolve`` runs the phases below in the order QEMU's ``qemu_init`` and
``machine_run_board_init`` do the same work, so the first error reported is
the one QEMU reports, with QEMU's location where QEMU prints one. Each phase
is a short function over a ``Resolution``, which collects what is known so far.
"""

from __future__ import annotations

from cmdxlate.catalog import Catalog, normalise_arch
from cmdxlate.error import InputError, QemuRefusal, Where, pointing_at, qemu_located
from cmdxlate.model import VmSpec, build_spec
from cmdxlate.model.links import chardev_ids
from cmdxlate.model.objects import resolve_backend
from cmdxlate.records import dataclass, field
from cmdxlate.resolver.cpu_model import (
    check_accel,
    check_cpu_globals,
    check_cpu_signed_features,
    check_empty,
    check_model,
    check_runnable,
    check_valid_for_board,
)
from cmdxlate.resolver.devices import plug_devices
from cmdxlate.resolver.machine import accelerator, apply_machine_options, deprecation_warning
from cmdxlate.resolver.numa import NumaContext, NumaState, apply_numa_option, parse_size
from cmdxlate.resolver.numa_init import (
    add_auto_node,
    cluster_boundary_warnings,
    complete,
    finish_cpu_init,
)
from cmdxlate.resolver.topology import CpuSlot, Topology
from cmdxlate.syntax.argv import CommandLine
from cmdxlate.syntax.numbers import c_uint64, qemu_bool
from cmdxlate.syntax.sizes import c_size, hex_suffix_warning, size_syntax

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from collections.abc import Callable

    from cmdxlate.boards.base import Board
    from cmdxlate.catalog import MachineType, Release
    from cmdxlate.resolver.smp import SmpConfig


@dataclass
class Resolution:
    """What the phases know so far about one line."""

    spec: VmSpec
    catalog: Catalog
    release: Release
    arch: str
    ram: int | None = None
    ram_slots: int = 0
    maxram: int = 0
    machine: MachineType | None = None
    board: Board | None = None
    smp: SmpConfig | None = None
    smp_given: dict[str, int] = field(default_factory=dict)
    accel: str | None = None
    cpu_model: str = ""
    memdevs: dict[str, int] = field(default_factory=dict)
    machine_memdev: str | None = None  # the backend -machine memory-backend= names
    numa: NumaState = field(default_factory=NumaState)
    numa_ctx: NumaContext | None = None
    slots: list[CpuSlot] = field(default_factory=list)
    slot_keys: frozenset[str] = frozenset()
    topology: Topology | None = None
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the phases

def act_on_help(r: Resolution) -> None:
    """qemu_process_help_options: a help request prints a list and exits."""
    opt = r.spec.help_request
    if opt is not None:
        raise InputError(f"{' '.join(opt.args())}: QEMU prints help for this and exits without "
                         "starting a machine, so there is no topology to resolve",
                         where=opt.where)


def parse_memory(r: Resolution) -> None:
    """parse_memory_options: -m size, slots and maxmem (later options win per key)."""
    mem = r.spec.memory
    for key in ("size", "slots", "maxmem"):
        s = mem.get(key)
        if s is None or (key == "size" and not r.spec.memory_size_given):
            continue  # -m 0 is the machine's default size
        if key == "size":
            r.ram = _ram_size(s.text, s.where, r)
            continue
        with qemu_located(s.where):
            if key == "slots":  # a number QemuOpts took (model.optloop): -1 is 2^64 - 1
                r.ram_slots = c_uint64(s.text)
            else:  # maxmem: a plain size (bytes)
                r.maxram = parse_size(s.text, key, 1, size_syntax(r.release))


def _ram_size(text: str, where: Where, r: Resolution) -> int:
    """-m's size, which QemuOpts took: one ending in a digit is MiB. Up to 6.0 QEMU
    multiplies it at the option (``too large 'size' option value``); from 6.1 the
    machine's ``memory`` property reads the text again with an "M" after it, without a
    location (``0x40M``: refused from 8.0, a warning before)."""
    syntax = size_syntax(r.release)
    if not text[-1:].isdigit() or not text[-1:].isascii():  # g_ascii_isdigit
        return c_size(text, 0, syntax)
    if not r.release.has("machine-keyval-parse"):
        value = c_size(text, 0, syntax) << 20
        if value >= 1 << 64:
            raise QemuRefusal("too large 'size' option value", where=where, located=True)
        return value
    try:
        value = c_size(text + "M", 0, syntax)
    except ValueError:
        raise QemuRefusal("Parameter 'memory.size' expects size",
                          hint=f"QEMU reads -m {text} again as {text}M, the size in MiB") from None
    warning = hex_suffix_warning(text + "M", syntax)
    if warning is not None:
        r.warnings.append(warning)
    return value


def select_machine(r: Resolution) -> None:
    """select_machine: the machine type for this release (or the architecture's default).
    5.2 and 6.0 print an unknown type at the first option that made the machine
    options (``-machine usb=off -M foo`` -> ``-machine usb=off: ...``)."""
    mtype = r.spec.machine_type
    located = r.release.has("machine-unsupported-located")
    with pointing_at(mtype.where if mtype else None), \
            qemu_located(r.spec.machine_opts_where if located else None):
        r.machine = r.catalog.machine(mtype.text if mtype else None, r.arch, r.release)
    from cmdxlate.boards import board_for  # boards import this package's topology

    r.board = board_for(r.machine)
    if r.ram is None:
        r.ram = r.machine.default_ram_bytes
    r.maxram = max(r.maxram, r.ram)


def create_pre_sandbox_objects(r: Resolution) -> None:
    """qemu_process_early_options: the thread-contexts (7.2+), before any machine."""
    for refusal in r.spec.objects.pre_sandbox_refusals(r.release, r.arch):
        raise refusal


def create_early_backends(r: Resolution) -> None:
    """qemu_create_early_backends: the objects other than memory backends and the late
    kinds. From 6.1 they come before the machine options; before, apply_options makes
    them between -smp and the machine's properties (measured on 5.2.0)."""
    if r.release.has("processing-order-6.1"):
        _make_early_objects(r)


def _make_early_objects(r: Resolution) -> None:
    for refusal in r.spec.objects.early_refusals(r.release, r.arch):
        raise refusal


def apply_options(r: Resolution) -> None:
    """qemu_apply_machine_options: machine properties and -smp, in QEMU's QDict order."""
    assert r.machine is not None and r.board is not None
    assert r.ram is not None
    early = None if r.release.has("processing-order-6.1") else (lambda: _make_early_objects(r))
    r.smp, r.smp_given = apply_machine_options(r.spec, r.machine, r.board, r.ram, early)
    r.warnings.extend(r.smp.warnings)


def configure_accelerator(r: Resolution) -> None:
    """configure_accelerators, then the warning for a deprecated machine type."""
    assert r.machine is not None
    r.accel = accelerator(r.spec, r.spec.line.program, r.release, r.warnings)
    warning = deprecation_warning(r.machine)
    if warning is not None:
        r.warnings.append(warning)


def create_backends(r: Resolution) -> None:
    """qemu_create_late_backends: memory backends and their sizes."""
    assert r.machine is not None
    line = r.spec.line
    for refusal in r.spec.objects.creation_refusals(r.release, r.arch,
                                                    lambda: chardev_ids(line),
                                                    r.machine.family.name):
        raise refusal
    for backend in r.spec.objects.created:
        if backend.size is not None:
            r.memdevs.setdefault(backend.id, backend.size)


def parse_cpu_option(r: Resolution) -> None:
    """parse_cpu_option: the -cpu model, or the machine's default."""
    assert r.machine is not None
    model = r.spec.cpu_model
    table = r.catalog.cpu_names_table(r.machine)
    with pointing_at(r.spec.cpu.where if r.spec.cpu else None):
        check_empty(r.spec.cpu.value if r.spec.cpu else None)
        if model is not None and table is not None:
            check_model(table, model, r.release, r.accel)
    r.cpu_model = model if model is not None else r.machine.default_cpu_model(r.accel)


def resolve_machine_memdev(r: Resolution) -> None:
    """qemu_resolve_machine_memdev: -machine memory-backend=ID names a backend."""
    prop = r.spec.machine_props.get("memory-backend")
    if prop is None:
        return
    name = resolve_backend(prop.text, r.spec.backends)
    if name is None:
        raise QemuRefusal(f"Memory backend '{prop.text}' not found", where=prop.where)
    r.machine_memdev = name
    size = r.memdevs.get(name)
    # "-m 0" gives no size (parse_memory_options) where the board checks the backend's
    # size (7.1+); before, the check counts any -m size (measured 5.2).
    given = (r.spec.memory_size_given
             if r.release.has("memory-backend-size-checked-at-board-init")
             else "size" in r.spec.memory)
    if not given and size is not None:
        r.ram = r.maxram = size
    elif (size is not None and size != r.ram
          and not r.release.has("memory-backend-size-checked-at-board-init")):
        raise QemuRefusal("Size specified by -m option must match size of explicitly "
                          "specified 'memory-backend' property")


def parse_numa(r: Resolution) -> None:
    """parse_numa_opts: each -numa in order, against the possible-CPU list."""
    assert r.machine is not None and r.board is not None and r.smp is not None
    smp, board, machine = r.smp, r.board, r.machine
    keys = frozenset(p.name for p in machine.slot_props
                     if p.only_if_above_1 is None or smp.level(p.only_if_above_1) > 1)
    r.slot_keys = keys
    r.slots = board.possible_cpus(smp, keys)
    by_ids: dict[tuple[tuple[str, int], ...], CpuSlot] = {}

    def slot_by_ids(ids: dict[str, int]) -> CpuSlot | None:
        if not by_ids:  # built on the first -numa cpu: most lines have none
            by_ids.update((tuple(sorted(s.props.items())), s) for s in r.slots)
        return by_ids.get(tuple(sorted(ids.items())))

    hmat = qemu_bool(getattr(r.spec.machine_props.get("hmat"), "text", None)) is True
    r.numa = NumaState(hmat=hmat)
    r.numa_ctx = ctx = NumaContext(
        r.slots, lambda i: board.slot_of_cpu_index(smp, i), smp.maxcpus, machine.numa_mem, hmat,
        keys, slot_by_ids, r.memdevs, r.release,
        numa_supported=machine.numa)
    for opt in r.spec.numa:
        o = opt.opts
        assert o is not None
        with qemu_located(opt.where):
            apply_numa_option(o, r.numa, ctx)


def init_board(r: Resolution) -> None:
    """machine_run_board_init, up to the boot CPUs: NUMA completion and board checks."""
    assert r.machine is not None and r.board is not None and r.smp is not None
    machine, board, smp, numa, release = r.machine, r.board, r.smp, r.numa, r.release
    assert r.ram is not None and r.numa_ctx is not None
    backend = r.machine_memdev
    if (backend is not None and release.has("memory-backend-size-checked-at-board-init")
            and r.memdevs.get(backend, r.ram) != r.ram):
        raise QemuRefusal("Machine memory size does not match the size of the memory backend")
    if not numa.nodes and machine.numa and (
            machine.facts["auto_enable_numa"]
            or (r.ram_slots and machine.facts["auto_numa_with_memory_slots"])
            or (r.maxram > r.ram and machine.facts["auto_numa_with_maxmem"])):
        add_auto_node(numa, r.numa_ctx, r.ram)
    with pointing_at(r.spec.numa[0].where if r.spec.numa else None):
        complete(numa, r.ram, "memory-backend" in r.spec.machine_props)
    if numa.nodes:
        finish_cpu_init(numa, r.slots, lambda: _default_nodes(r), release)
        numa.warnings.extend(cluster_boundary_warnings(numa, r.slots, release))
    # is_cpu_type_supported, just before the board's init function.
    with pointing_at(r.spec.cpu.where if r.spec.cpu else None):
        check_valid_for_board(machine, r.cpu_model, r.catalog.cpu_names_table(machine),
                              r.accel)
    r.warnings.extend(numa.warnings)
    # The board's init function: its own checks, then RAM and node sizes.
    props = {k: s.text for k, s in r.spec.machine_props.items()}
    board.check_early_memory(r.ram, numa)
    board.check_init(smp, r.accel, props, r.cpu_model)
    board.check_memory(r.ram, numa)
    board.check_numa_layout(smp, numa, r.slots)


def _default_nodes(r: Resolution) -> list[int]:
    """The board's default node of every slot (get_default_cpu_node_id)."""
    assert r.machine is not None and r.board is not None and r.smp is not None
    nodes = len(r.numa.nodes)
    if (r.machine.default_node == "riscv-block" and nodes > r.smp.cpus
            and not r.release.has("numa-riscv-nodes-exceed-cpus-checked")):
        # Before 8.1 riscv's default-node function divides by cpus / nodes, which is 0.
        raise InputError(f"QEMU {r.release} crashes on this line (SIGFPE): {nodes} NUMA nodes "
                         f"for {r.smp.cpus} CPUs, and riscv virt divides the CPUs evenly among "
                         "the nodes", hint="give at most as many nodes as -smp cpus")
    return r.board.default_nodes(r.smp, r.slots, nodes)


def create_cpus(r: Resolution) -> None:
    """The board creates the boot CPUs: the accelerator and x2APIC checks, then -smp cpus."""
    assert r.machine is not None and r.board is not None and r.smp is not None
    machine, board = r.machine, r.board
    table = machine.cpus
    cpu = r.spec.cpu
    if r.slots:
        with pointing_at(cpu.where if cpu else None):
            check_cpu_globals(machine, r.cpu_model, cpu.value if cpu else None, r.spec.globals)
    if table is not None and r.slots:
        value = cpu.value if cpu else None
        with pointing_at(cpu.where if cpu else None):
            # From 6.0 x86 realize sets +feature/-feature before it checks what 'host'
            # needs; 5.2 checks 'host' first.
            late = r.release.has("x86-features-before-host-check")
            if late:
                check_cpu_signed_features(machine, r.cpu_model, value)
            check_accel(table, r.cpu_model, r.accel)
            if not late:
                check_cpu_signed_features(machine, r.cpu_model, value)
            check_runnable(table, cpu.value or "" if cpu else r.cpu_model, r.accel, r.release)
    topo = Topology(machine, board, r.smp, r.smp_given, r.cpu_model,
                    machine.cpu_type(r.cpu_model), r.slots, r.numa, r.ram or 0, r.accel,
                    r.warnings, hmat=r.numa.hmat,
                    slot_keys=r.slot_keys)
    board.prepare_cpus(r.spec, topo)
    for i in range(min(board.boot_slots(r.smp), len(r.slots))):
        slot = r.slots[i]
        slot.plugged = slot.boot = True
        slot.created = i
        board.check_cpu(slot, None)
    # The board's init goes on with its RAM: device memory (pc_memory_init).
    board.check_device_memory(r.ram or 0, r.maxram, r.ram_slots)
    r.topology = topo


def create_cli_devices(r: Resolution) -> None:
    """qemu_create_cli_devices: -device CPUs, option strings first, then JSON."""
    assert r.topology is not None and r.board is not None
    plug_devices(r.spec, r.topology)
    r.board.finish_cpus(r.topology)


# QEMU's order: qemu_init, then machine_run_board_init, then the CLI devices.
PHASES: tuple[Callable[[Resolution], None], ...] = (
    create_pre_sandbox_objects, act_on_help, parse_memory, select_machine,
    create_early_backends, apply_options, configure_accelerator,
    create_backends, parse_cpu_option, resolve_machine_memdev, parse_numa, init_board,
    create_cpus, create_cli_devices,
)


def resolve(line: CommandLine | VmSpec, target: str | None = None, arch: str | None = None,
            catalog: Catalog | None = None) -> Topology:
    """Resolve ``line`` for a target release; raise QEMU's error where QEMU would fail."""
    catalog = catalog or Catalog.builtin()
    release = catalog.release(target)
    if isinstance(line, VmSpec):
        # Option syntax differs between releases: read the line again as this one does.
        spec = line if line.release is release else build_spec(line.line, release)
    else:
        spec = build_spec(line, release)
    mtype = spec.machine_type
    given = arch or spec.line.arch
    if given is not None and normalise_arch(given) not in catalog.arches:
        # Said about where the name came from: --arch, or the binary's name.
        where = (Where(words=("--arch", arch)) if arch else
                 Where(words=(spec.line.binary or given,)))
        raise InputError(f"unknown architecture '{given}': cmdxlate models "
                         f"{', '.join(sorted(catalog.arches))}", where=where)
    arch = normalise_arch(given or catalog.infer_arch(mtype.text if mtype else None)
                          or "x86_64")
    r = Resolution(spec, catalog, release, arch, warnings=list(spec.warnings))
    for phase in PHASES:
        phase(r)
    assert r.topology is not None
    return r.topology


__all__ = ["PHASES", "Resolution", "Topology", "resolve"]
