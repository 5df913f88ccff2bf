"""``cmdxlate probe``: build a machine database from a real QEMU binary.

The result has the same shape as the built-in files under
``cmdxlate/machines/`` (the families cmdxlate models, with this binary's
machine versions, CPU limits and default CPU models), so ``--machines FILE``
can stand in for the built-in data.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cmdxlate.errors import CmdxlateError
from cmdxlate.catalog.machines import ARCH_ALIASES, all_families, version_key

FORMAT = "cmdxlate-machines/1"


def _arch_of(path: str) -> str:
    m = re.search(r"qemu-system-([A-Za-z0-9_]+)$", path.rsplit("/", 1)[-1])
    if not m:
        raise CmdxlateError(f"cannot tell the architecture of {path}: expected qemu-system-ARCH")
    return ARCH_ALIASES.get(m.group(1), m.group(1))


def _rules(per_version: dict[str, Any]) -> list[dict[str, Any]]:
    """Collapse {version: value} into max_version rules, oldest first."""
    rules: list[dict[str, Any]] = []
    for v in sorted(per_version, key=version_key):
        value = per_version[v]
        if rules and rules[-1]["value"] == value:
            rules[-1]["max_version"] = v
        else:
            rules.append({"max_version": v, "value": value})
    if rules:
        rules[-1].pop("max_version", None)
    return rules


def build_database(arch: str, version: tuple[int, int, int], machines: list[dict[str, Any]],
                   slot_props: dict[str, list[str]] | None = None) -> dict[str, Any]:
    tkey = f"{version[0]}.{version[1]}"
    by_name = {m["name"]: m for m in machines}
    families: list[dict[str, Any]] = []
    claimed: set[str] = set()
    for fam in all_families():
        if arch not in fam.get("arches", []) or fam["family"] == "other":
            continue
        f = copy.deepcopy(fam)
        prefix = f.get("name_prefix")
        unv = f.get("unversioned_name")
        if prefix:
            vers = {n[len(prefix):]: m for n, m in by_name.items()
                    if n.startswith(prefix) and re.fullmatch(r"[0-9.]+(-[a-z]+)?", n[len(prefix):])}
            if not vers:
                continue
            f["versions"] = {tkey: sorted(vers, key=version_key)}
            f["max_cpus"] = _rules({v: m["cpu-max"] for v, m in vers.items()})
            f["hotpluggable_cpus"] = any(m.get("hotpluggable-cpus") for m in vers.values())
            suffix = next(iter(f["cpu_type_suffix"].values()))
            cpus = {v: m.get("default-cpu-type", "") for v, m in vers.items()}
            if all(c.endswith(suffix.replace("-spapr-cpu-core", "-powerpc64-cpu"))
                   for c in cpus.values() if c):
                models = {v: re.sub(r"-[a-z0-9_]+-cpu$", "", c) for v, c in cpus.items() if c}
                if models:
                    rules = _rules(models)
                    f["default_cpu"] = rules[-1]["value"]
                    f["default_cpu_by_version"] = rules[:-1]
            claimed.update(prefix + v for v in vers)
            claimed.update(m["alias"] for m in vers.values() if m.get("alias"))
        elif unv and unv in by_name and f.get("slot_layout") != "generic":
            m = by_name[unv]
            f["versions"] = {tkey: []}
            f["max_cpus"] = [{"value": m["cpu-max"]}]
            f["hotpluggable_cpus"] = bool(m.get("hotpluggable-cpus"))
            claimed.add(unv)
        else:
            continue
        if slot_props and f["family"] in slot_props:
            f["probed_slot_props"] = slot_props[f["family"]]
        f["sources"] = [f"probed from QEMU {'.'.join(map(str, version))}"]
        families.append(f)
    other = copy.deepcopy(next(f for f in all_families() if f["family"] == "other"))
    other["arches"] = [arch]
    other["machines"] = {arch: {}}
    for n, m in by_name.items():
        if n in claimed or m.get("hotpluggable-cpus"):
            continue
        entry = {"max_cpus": m["cpu-max"], "default_cpu_type": m.get("default-cpu-type", "")}
        other["machines"][arch][n] = entry
        if m.get("alias"):
            other["machines"][arch][m["alias"]] = dict(entry, alias_of=n)
    families.append(other)
    return {"format": FORMAT, "qemu_version": ".".join(map(str, version)), "arch": arch,
            "target": tkey, "families": families}


def probe_binary(path: str, timeout: float = 30.0) -> dict[str, Any]:
    from cmdxlate.oracle.qemu import find_qemu, machine_list, qemu_version, run_topology_query

    binary = find_qemu(path=path)
    arch = _arch_of(path)
    version = qemu_version(binary)
    machines = machine_list(binary)
    slot_props: dict[str, list[str]] = {}
    db = build_database(arch, version, machines)
    for fam in db["families"]:
        if not fam.get("hotpluggable_cpus") or fam["family"] == "other":
            continue
        vers = fam["versions"][db["target"]]
        name = (fam["name_prefix"] + vers[-1]) if vers else fam.get("unversioned_name")
        if not name:
            continue
        smp = "2,maxcpus=4" if fam["slot_layout"] != "spapr" else "2,maxcpus=4,threads=2"
        ans = run_topology_query(binary, ["-machine", name, "-smp", smp], timeout)
        if ans.hotpluggable:
            keys = sorted({k for e in ans.hotpluggable for k in e["props"]})
            slot_props[fam["family"]] = keys
            fam["probed_slot_props"] = keys
    cpu_family = next((f["cpu_models"][arch] for f in db["families"]
                       if arch in f.get("cpu_models", {})), None)
    if cpu_family is not None:
        db["cpu_models"] = {cpu_family: probe_cpu_models(binary, cpu_family, db["target"],
                                                         db["qemu_version"], timeout)}
    return db


def probe_cpu_models(binary: Any, family: str, target: str, version: str,
                     timeout: float) -> dict[str, Any]:
    """The binary's CPU models in the shape of ``cmdxlate/cpus/<family>.json``.

    The rules around the lists (messages, which accelerators a model needs) are
    cmdxlate's own and are kept; only what this binary lists is probed.
    """
    from cmdxlate.catalog.cpus import table
    from cmdxlate.oracle.qemu import cpu_definitions, run_qmp_commands

    defs = cpu_definitions(binary, timeout)
    names = sorted(d["name"] for d in defs)
    out = {k: v for k, v in table(family).items() if k not in ("models", "tcg_unavailable")}
    out["sources"] = [f"probed from QEMU {version} under TCG"]
    if "per_cpu_check_since_qemu" in out:  # x86: which models have x2apic by default
        cmds = [("query-cpu-model-expansion", {"type": "full", "model": {"name": n}})
                for n in names]
        results, _ = run_qmp_commands(binary, ["-machine", "none"], cmds, timeout)
        with_x2apic = {n for n, r in zip(names, results, strict=False)
                       if isinstance(r, dict) and r.get("return", {}).get("model", {})
                       .get("props", {}).get("x2apic")}
        out["models"] = {target: {
            "with_x2apic": [n for n in names if n in with_x2apic],
            "without_x2apic": [n for n in names if n not in with_x2apic]}}
    else:
        out["models"] = {target: {"names": names}}
    missing = {d["name"]: d["unavailable-features"] for d in defs
               if d.get("unavailable-features")}
    if missing and "unavailable_message" in out:
        out["tcg_unavailable"] = {target: dict(sorted(missing.items()))}
    return out
