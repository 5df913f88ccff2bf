"""``cmdxlate verify``: real QEMU decides whether a conversion is equivalent.

Both lines run as *topology projections*: only the machine type, smp, numa,
memory size, memory backends (as plain RAM), the CPU model and CPU devices.
Nothing else of the user's line (disks, sockets, files, network) ever reaches
QEMU, and QEMU runs paused, under TCG, in an empty working directory.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cmdxlate.error import CmdxlateError, InputError
from cmdxlate.records import dataclass, field
from cmdxlate.syntax.argv import CommandLine, Option, parse_argv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cmdxlate.oracle.qemu import QemuBinary

# -machine properties that shape CPUs or memory and never open anything.
_MACHINE_KEEP = ("type", "hmat", "memory-backend", "gic-version", "highmem-redists", "nvdimm",
                 "maxmem", "slots")
# -cpu models that need KVM; under TCG the closest is "max".
_KVM_ONLY_MODELS = ("host", "passthrough")


def _escape(v: str) -> str:
    return v.replace(",", ",,")


def _project_machine(opt: Option) -> list[str] | None:
    o = opt.opts
    assert o is not None
    kept = [p for p in o.pairs if p.key in _MACHINE_KEEP or p.key.startswith("smp.")]
    if not kept:
        return None
    return ["-machine", ",".join(f"{p.key}={_escape(p.value)}" for p in kept)]


def _project_object(opt: Option, no_reserve: bool = False) -> list[str] | None:
    """Memory backends become plain RAM of the same size; other objects go.

    With ``no_reserve`` the RAM is mapped without reserving swap
    (``reserve=off``, QEMU 6.1 and later), so a paused QEMU starts with more
    guest RAM than the host has: it never touches it.
    """
    from cmdxlate.model.objects import stated_backend

    backend = stated_backend(opt)
    if backend is None:
        return None
    oid, size = backend
    # An option string, not JSON: QEMU 5.2 reads no JSON -object.
    return ["-object", f"memory-backend-ram,id={_escape(oid)},size={size}"
            + (",reserve=off" if no_reserve else "")]


def _project_memory(opt: Option) -> list[str]:
    """-m with maxmem capped: TCG's address space is smaller than a KVM host's."""
    from cmdxlate.resolver.numa import parse_size

    o = opt.opts
    assert o is not None
    size = o.get("size")
    slots = o.get("slots")
    maxmem = o.get("maxmem")
    parts = [f"size={size}"] if size is not None else []
    if slots is not None:
        parts.append(f"slots={slots}")
    if maxmem is not None:
        ram = parse_size(size, "size", 1 << 20) if size is not None else 128 << 20
        big = parse_size(maxmem, "maxmem", 1 << 20)
        if big > ram:
            big = ram + (1 << 30)
        parts.append(f"maxmem={big}")
    return ["-m", ",".join(parts)]


def _project_cpu(opt: Option, cpu_map: dict[str, str]) -> list[str]:
    assert opt.value is not None
    model = opt.value.partition(",")[0]
    if model in cpu_map:
        return ["-cpu", cpu_map[model]]
    return ["-cpu", opt.value]


_CPU_DEVICE_KEYS = ("driver", "id", "node-id", "drawer-id", "book-id", "socket-id", "die-id",
                    "cluster-id", "module-id", "core-id", "thread-id")


def _project_device(opt: Option, cpu_type_map: dict[str, str]) -> list[str] | None:
    drv = opt.get("driver") or ""
    if not drv.endswith(("-cpu", "-cpu-core")):
        return None
    for old, new in cpu_type_map.items():
        if drv.startswith(old + "-"):
            drv = new + drv[len(old):]
    pairs = [(k, opt.get(k)) for k in _CPU_DEVICE_KEYS if k != "driver"]
    text = ",".join([_escape(drv)] + [f"{k}={_escape(v)}" for k, v in pairs if v is not None])
    return ["-device", text]


def project(cl: CommandLine, arch: str | None = None, no_reserve: bool = False) -> CommandLine:
    """The part of ``cl`` that decides CPUs, safe to run anywhere (under TCG)."""
    out: list[str] = []
    cpu_map: dict[str, str] = {}
    s390x = (arch or cl.arch) == "s390x"
    for opt in cl.find("cpu"):
        assert opt.value is not None
        model = opt.value.partition(",")[0]
        if model in _KVM_ONLY_MODELS or (s390x and model not in ("qemu", "max")):
            cpu_map[model] = "max"
    for opt in cl.options:
        name = opt.name
        part: list[str] | None = None
        if name == "machine":
            part = _project_machine(opt)
        elif name == "m":
            part = _project_memory(opt)
        elif name in ("smp", "numa"):
            part = opt.args()
            if opt.spelling and opt.spelling.startswith("--"):
                part[0] = opt.spelling[1:]
        elif name == "object":
            part = _project_object(opt, no_reserve)
        elif name == "cpu":
            part = _project_cpu(opt, cpu_map)
        elif name == "device":
            part = _project_device(opt, cpu_map)
        if part:
            out.extend(part)
    return parse_argv(out, cl.binary, [])


def _with_x2apic(cl: CommandLine) -> CommandLine:
    """APIC ids above 254 need x2apic under TCG; KVM turns it on by itself."""
    argv = cl.to_argv()
    cpus = cl.find("cpu")
    if cpus:
        i = cpus[-1].index + 1
        argv[i] = argv[i] + ",x2apic=on"
    else:
        argv += ["-cpu", "qemu64,x2apic=on"]
    return parse_argv(argv, cl.binary, [])


def normalise_hotpluggable(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": e["type"], "vcpus-count": e["vcpus-count"], "props": e["props"],
             "plugged": "qom-path" in e} for e in entries]


def normalise_cpus_fast(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A machine without CPU hotplug gives its CPUs no props.
    return [{"cpu-index": e["cpu-index"], "props": e.get("props")} for e in entries]


@dataclass
class VerifyReport:
    original: list[str]
    converted: list[str]
    equal: bool
    qemu: str
    differences: list[str] = field(default_factory=list)
    prediction_matches: bool | None = None
    original_answer: dict[str, Any] = field(default_factory=dict)
    converted_answer: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"equal": self.equal, "qemu": self.qemu, "original": self.original,
                "converted": self.converted, "differences": self.differences,
                "prediction_matches": self.prediction_matches, "notes": self.notes}



def _answer_dict(ans: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if ans.hotpluggable is not None:
        d["hotpluggable"] = normalise_hotpluggable(ans.hotpluggable)
    else:
        d["hotpluggable_error"] = ans.hotpluggable_error
    d["cpus"] = normalise_cpus_fast(ans.cpus_fast or [])
    return d


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("hotpluggable", "hotpluggable_error", "cpus"):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if isinstance(va, list) and isinstance(vb, list):
            if len(va) != len(vb):
                out.append(f"{key}: {len(va)} entries in the original, {len(vb)} converted")
            for i, (x, y) in enumerate(zip(va, vb, strict=False)):
                if x != y:
                    out.append(f"{key}[{i}]: original {json.dumps(x)} != converted "
                               f"{json.dumps(y)}")
        else:
            out.append(f"{key}: original {va!r} != converted {vb!r}")
    return out


# The memory backend verify adds for -m when the line names none (see _host_extras).
RAM_BACKEND_ID = "cmdxlate-ram"
# QEMU 6.1 added reserve=off to memory backends.
RESERVE_SINCE = (6, 1)
DEFAULT_TIMEOUT = 30.0


def default_timeout(cpus: int) -> float:
    """Seconds for each QEMU to start and answer: 30, plus time for many CPUs.

    Under TCG, QEMU's start-up time grows with the square of the number of
    present CPUs (every new CPU's address spaces are rebuilt for all others).
    Measured with QEMU 10.0, q35, smm=off, one QEMU on a shared 2-core host:
    1024 CPUs 24 s of CPU time, 2048 86 s, 4096 407 s; CPUs that are only
    possible (maxcpus) cost nothing.  The allowance is about 2.5 times that.
    """
    return DEFAULT_TIMEOUT + SECONDS_PER_CPU_SQUARED * max(0, cpus) ** 2


SECONDS_PER_CPU_SQUARED = 6e-5


def reserve_off_works(binary: QemuBinary) -> bool:
    """``reserve=off`` (QEMU 6.1+) reads /proc/sys/vm/overcommit_memory: a chroot without
    /proc mounted refuses every backend that has it."""
    version = binary.version
    return (version is not None and version[:2] >= RESERVE_SINCE
            and os.access(os.path.join(binary.root or "/", "proc/sys/vm/overcommit_memory"),
                          os.R_OK))


def _host_extras(proj: CommandLine, arch: str, no_reserve: bool) -> list[str]:
    """Arguments both lines run with, that only make QEMU cheaper to start.

    * x86: ``smm=off``.  Under TCG every CPU gets its own view of q35's SMRAM:
      ``-smp 1024`` took 164 s and 18 GB with it, 31 s and 0.4 GB without
      (QEMU 10.0).  CPU slots do not depend on SMM.
    * ``-m`` without a memory backend: the RAM becomes a backend with
      ``reserve=off`` (QEMU 6.1+), so ``-m 64G`` starts on a smaller host.
    """
    extras: list[str] = []
    if arch in ("x86_64", "i386"):
        extras += ["-machine", "smm=off"]
    if not no_reserve:
        return extras
    from cmdxlate.resolver.numa import parse_size

    machine_backend = any(p.key == "memory-backend" for o in proj.find("machine")
                          if o.opts is not None for p in o.opts.pairs)
    memdev = any(o.opts is not None and o.opts.has("memdev") for o in proj.find("numa"))
    mems = [o for o in proj.find("m") if o.opts is not None and o.opts.get("size") is not None]
    if machine_backend or memdev or not mems:
        return extras
    opts = mems[-1].opts
    assert opts is not None
    try:
        size = parse_size(str(opts.get("size")), "size", 1 << 20)
    except CmdxlateError:
        return extras
    size = -(-size // 8192) * 8192  # QEMU aligns -m to 8 KiB
    if size <= 0:
        return extras
    extras += ["-machine", f"memory-backend={RAM_BACKEND_ID}", "-object",
               f"memory-backend-ram,id={RAM_BACKEND_ID},size={size},reserve=off"]
    return extras


def _release_of(target: str) -> str:
    from cmdxlate.catalog import Catalog

    return str(Catalog.builtin().release(target).version)


def verify_line(cl: CommandLine, qemu: str | None = None, target: str | None = None,
                arch: str | None = None, timeout: float | None = None) -> VerifyReport:
    """Run QEMU on the projection of ``cl`` and of its conversion, and compare.

    The release is the binary's (``--version``): ``target``, when given, picks
    the binary (without ``qemu``) or must agree with it.  ``timeout`` is per
    QEMU; None scales it with the number of CPUs.
    """
    from cmdxlate.catalog import Catalog, normalise_arch
    from cmdxlate.emit.convert import convert
    from cmdxlate.model import build_spec
    from cmdxlate.oracle.qemu import find_qemu, run_topology_queries
    from cmdxlate.oracle.timeout import valid_timeout
    from cmdxlate.resolver import resolve

    if timeout is not None:
        timeout = valid_timeout(timeout, DEFAULT_TIMEOUT)
    want = _release_of(target) if target is not None else None
    catalog = Catalog.builtin()
    spec = build_spec(cl)
    mtype = spec.machine_type.text if spec.machine_type else None
    arch = normalise_arch(arch or cl.arch or catalog.infer_arch(mtype) or "x86_64")
    binary = find_qemu(arch, None if qemu else want, qemu, timeout=timeout or DEFAULT_TIMEOUT)
    release = binary.release
    assert release is not None and binary.version is not None
    version_text = ".".join(map(str, binary.version))
    if want is not None and release != want:
        raise InputError(
            f"--target {target} does not match {binary.label}, which is QEMU {version_text}",
            hint="verify converts for the release of the QEMU it runs: drop --target, or "
                 f"give --qemu a QEMU {want} binary")
    known_targets = [str(t) for t in catalog.targets]
    if release not in known_targets:
        raise InputError(
            f"cmdxlate has no model of QEMU {release} yet ({binary.label} is QEMU "
            f"{version_text}; cmdxlate models {', '.join(known_targets)}), so it cannot "
            "convert a line for it",
            hint="give --qemu a binary of a modelled release, or describe this one with "
                 "'cmdxlate probe --qemu BIN -o m.json' and pass --machines m.json")
    # The line as written must be one QEMU accepts (with its own accelerator).
    user_topo = resolve(cl, release, arch)
    no_reserve = reserve_off_works(binary)
    proj = project(cl, arch, no_reserve=no_reserve)
    notes: list[str] = []
    if user_topo.machine.facts["x2apic_rules"] and any(
            s.arch_id >= 255 for s in user_topo.slots):
        proj = _with_x2apic(proj)
        notes.append("APIC IDs of 255 and up: both lines ran with x2apic=on in -cpu, as TCG "
                     "needs (KVM turns it on by itself; the topology does not depend on it)")
    try:
        topo = resolve(proj, release, arch)
    except CmdxlateError as e:
        raise type(e)(f"cannot verify this line under TCG: {e.message}") from None
    conv = convert(proj, topo)
    extras = _host_extras(proj, arch, no_reserve)
    orig_argv = proj.to_argv() + extras
    conv_argv = conv.argv() + extras
    if timeout is None:
        timeout = default_timeout(sum(s.vcpus_count for s in topo.slots if s.plugged))
    ans_a, ans_b = run_topology_queries(binary, [orig_argv, conv_argv], timeout)
    label = binary.label
    if ans_a.startup_error:
        # cmdxlate accepted the line, so this is a difference between cmdxlate and QEMU
        # (or in what verify ran), not bad input.
        return VerifyReport(orig_argv, conv_argv, False, label,
                            ["QEMU rejected the original line, which cmdxlate accepts: "
                             f"{ans_a.startup_error}"], False)
    if ans_b.startup_error:
        return VerifyReport(orig_argv, conv_argv, False, label,
                            [f"QEMU rejected the converted line: {ans_b.startup_error}"])
    da, db = _answer_dict(ans_a), _answer_dict(ans_b)
    diffs = _diff(da, db)
    predicted: bool | None = None
    try:
        predicted = topo.hotpluggable_cpus() == da.get("hotpluggable")
    except CmdxlateError as e:
        predicted = da.get("hotpluggable_error") == e.message
    return VerifyReport(orig_argv, conv_argv, not diffs, label, diffs, predicted, da, db,
                        notes)
