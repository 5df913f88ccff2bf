"""``cmdxlate verify``: real QEMU decides whether a conversion is equivalent.

Both lines run as *topology projections*: only the machine type, smp, numa,
memory size, memory backends (as plain RAM), the CPU model and CPU devices.
Nothing else of the user's line (disks, sockets, files, network) ever reaches
QEMU, and QEMU runs paused, under TCG, in an empty working directory.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cmdxlate.error import CmdxlateError, QemuRefusal
from cmdxlate.syntax.argv import CommandLine, Option, parse_argv

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


def _project_object(opt: Option) -> list[str] | None:
    """Memory backends become plain RAM of the same size; other objects go."""
    from cmdxlate.model.spec import memory_backend

    backend = memory_backend(opt)
    if backend is None:
        return None
    oid, size = backend.id, backend.size
    if size is None:
        return None
    if not isinstance(size, int):
        from cmdxlate.resolve.numa import parse_size

        size = parse_size(size, "size")
    return ["-object", json.dumps({"qom-type": "memory-backend-ram", "id": oid, "size": size})]


def _project_memory(opt: Option) -> list[str]:
    """-m with maxmem capped: TCG's address space is smaller than a KVM host's."""
    from cmdxlate.resolve.numa import parse_size

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


def project(cl: CommandLine, arch: str | None = None) -> CommandLine:
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
            part = _project_object(opt)
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
    return [{"cpu-index": e["cpu-index"], "props": e["props"]} for e in entries]


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


def verify_line(cl: CommandLine, qemu: str | None = None, target: str | None = None,
                arch: str | None = None, timeout: float = 30.0) -> VerifyReport:
    from cmdxlate.catalog import Catalog, normalise_arch
    from cmdxlate.emit.convert import convert
    from cmdxlate.model import build_spec
    from cmdxlate.oracle.qemu import find_qemu, run_topology_query
    from cmdxlate.resolve import resolve

    spec = build_spec(cl)
    mtype = spec.machine_type.text if spec.machine_type else None
    arch = normalise_arch(arch or cl.arch or Catalog.builtin().infer_arch(mtype) or "x86_64")
    target = target or str(Catalog.builtin().default_target)
    # The line as written must be one QEMU accepts (with its own accelerator).
    user_topo = resolve(cl, target, arch)
    proj = project(cl, arch)
    notes: list[str] = []
    if user_topo.machine.facts["x2apic_rules"] and any(
            s.arch_id >= 255 for s in user_topo.slots):
        proj = _with_x2apic(proj)
        notes.append("APIC IDs of 255 and up: both lines ran with x2apic=on in -cpu, as TCG "
                     "needs (KVM turns it on by itself; the topology does not depend on it)")
    try:
        topo = resolve(proj, target, arch)
    except CmdxlateError as e:
        raise type(e)(f"cannot verify this line under TCG: {e.message}") from None
    conv = convert(proj, topo)
    binary = find_qemu(arch, None if qemu else target, qemu)
    orig_argv = proj.to_argv()
    conv_argv = conv.argv()
    with ThreadPoolExecutor(max_workers=2) as pool:
        fa = pool.submit(run_topology_query, binary, orig_argv, timeout)
        fb = pool.submit(run_topology_query, binary, conv_argv, timeout)
        ans_a, ans_b = fa.result(), fb.result()
    label = binary.path
    if ans_a.startup_error:
        raise QemuRefusal(f"QEMU rejected the original line: {ans_a.startup_error}")
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
