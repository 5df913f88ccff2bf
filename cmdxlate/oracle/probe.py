"""``cmdxlate probe``: a machine database from a real QEMU binary.

The database has the catalog's own shape (``catalog/data/boards/*.json``): the
families cmdxlate models, with this binary's machine versions, CPU limits and
default CPU models, and the CPU models it lists; ``--machines FILE`` then stands
in for the built-in data. The rules around them (how -smp is filled, which
messages QEMU prints) stay cmdxlate's, for the release the binary reports.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cmdxlate.catalog import CPU_TABLES, DATABASE_FORMAT, FAMILY_FILES, normalise_arch
from cmdxlate.catalog.datafiles import read_json
from cmdxlate.catalog.version import Version
from cmdxlate.error import InputError

_VERSION_SUFFIX = re.compile(r"[0-9.]+(-[a-z]+)?")


def _arch_of(path: str) -> str:
    m = re.search(r"qemu-system-([A-Za-z0-9_]+)$", path.rsplit("/", 1)[-1])
    if not m:
        raise InputError(f"cannot tell the architecture of {path}: expected qemu-system-ARCH")
    return normalise_arch(m.group(1))


def _machine_rules(per_version: dict[str, Any]) -> Any:
    """{machine version: value} as gated candidates, oldest first (a bare value if one)."""
    rules: list[dict[str, Any]] = []
    for v in sorted(per_version, key=Version.parse):
        value = per_version[v]
        if rules and rules[-1]["value"] == value:
            rules[-1]["machine"] = {"until": v}
        else:
            rules.append({"value": value, "machine": {"until": v}})
    rules[-1].pop("machine", None)
    return rules if len(rules) > 1 else rules[0]["value"]


def _settled(value: Any, release: str, name: str) -> Any:
    """A family-level naming value (aliases, default arches) as one release sees it."""
    from cmdxlate.catalog.facts import Case, load_fact

    return load_fact(name, value, lambda v: v, name).pick(Case(Version.parse(release)))


def _keeps(fact: Any, release: str, arch: str, per_version: dict[str, Any]) -> bool:
    """Whether a family fact already gives what the binary reports for each machine version."""
    from cmdxlate.catalog.facts import Case, load_fact

    rule = load_fact("fact", fact, lambda v: v, "probe")
    return all(rule.pick(Case(Version.parse(release), Version.parse(v), arch)) == want
               for v, want in per_version.items())


def build_database(arch: str, version: tuple[int, int, int],
                   machines: list[dict[str, Any]]) -> dict[str, Any]:
    release = f"{version[0]}.{version[1]}"
    only = {"since": release, "until": release}
    by_name = {m["name"]: m for m in machines}
    families: list[dict[str, Any]] = []
    claimed: set[str] = set()
    other: dict[str, Any] | None = None
    for file in FAMILY_FILES:
        fam = copy.deepcopy(read_json("boards", f"{file}.json"))
        if arch not in fam["arches"]:
            continue
        if fam["board"] == "no-cpu-hotplug":
            other = fam
            continue
        # The binary has the family: its naming is this release's, its presence a given.
        fam.pop("releases", None)
        for key in ("aliases", "default_for_arches", "unversioned_name"):
            fam[key] = _settled(fam.get(key), release, key)
        facts = fam["facts"]
        prefix, unversioned = fam.get("name_prefix"), fam.get("unversioned_name")
        # Versions named otherwise (pc-1.0 for i440FX 1.0) keep their names.
        names = {e["version"]: e["name"] for e in fam.get("machine_versions", ())
                 if e.get("name") and e["name"] in by_name}
        vers = {n[len(prefix):]: m for n, m in by_name.items()
                if n.startswith(prefix) and _VERSION_SUFFIX.fullmatch(n[len(prefix):])
                } if prefix else {}
        vers.update({v: by_name[n] for v, n in names.items()})
        if vers:
            fam["machine_versions"] = []
            for v in sorted(vers, key=Version.parse):
                entry = {"version": v, "releases": only}
                if v in names:
                    entry["name"] = names[v]
                fam["machine_versions"].append(entry)
            fam["aliases"] = sorted({m["alias"] for m in vers.values() if m.get("alias")})
            fam["unversioned_name"] = None
            limits = {v: m["cpu-max"] for v, m in vers.items()}
            if not _keeps(facts["max_cpus"], release, arch, limits):
                facts["max_cpus"] = _machine_rules(limits)
            facts["hotpluggable_cpus"] = any(m.get("hotpluggable-cpus") for m in vers.values())
            suffix = re.compile(r"-[a-z0-9_]+-cpu$")
            models = {v: suffix.sub("", m["default-cpu-type"]) for v, m in vers.items()
                      if m.get("default-cpu-type")}
            if len(models) == len(vers) and not _keeps(facts["default_cpu"], release, arch,
                                                       models):
                kept = [c for c in facts["default_cpu"] if isinstance(c, dict)
                        and ("accel" in c or "arch" in c)] if isinstance(
                            facts["default_cpu"], list) else []
                rules = _machine_rules(models)
                facts["default_cpu"] = kept + (rules if isinstance(rules, list)
                                               else [{"value": rules}])
            claimed.update(m["name"] for m in vers.values())
            claimed.update(m["alias"] for m in vers.values() if m.get("alias"))
        elif unversioned and unversioned in by_name:
            m = by_name[unversioned]
            fam["machine_versions"] = []
            facts["max_cpus"] = m["cpu-max"]
            facts["hotpluggable_cpus"] = bool(m.get("hotpluggable-cpus"))
            claimed.add(unversioned)
        else:
            continue
        fam["evidence"] = [f"probed:{'.'.join(map(str, version))}"]
        families.append(fam)
    if other is not None:
        families.append(_other_machines(other, arch, release, by_name, claimed))
    return {"format": DATABASE_FORMAT, "qemu_version": ".".join(map(str, version)),
            "arch": arch, "target": release, "families": families}


def _other_machines(other: dict[str, Any], arch: str, release: str,
                    by_name: dict[str, dict[str, Any]], claimed: set[str]) -> dict[str, Any]:
    """The binary's machines without CPU hotplug; min/default CPUs from the built-in data
    (query-machines does not report them)."""
    from cmdxlate.catalog.version import Span

    v = Version.parse(release)
    known = {m["name"]: m for m in other.get("machines", ())
             if m["arch"] == arch and v in Span.load(m.get("releases"), "other")}
    other["arches"] = [arch]
    other["machines"] = []
    for n, m in sorted(by_name.items()):
        if n in claimed or m.get("hotpluggable-cpus") or m["cpu-max"] < 1:
            continue
        entry = {"arch": arch, "name": n, "max_cpus": m["cpu-max"],
                 "default_cpu_type": m.get("default-cpu-type", ""),
                 "releases": {"since": release, "until": release}}
        base = known.get(n, {})
        for key in ("min_cpus", "default_cpus"):
            if key in base and base[key] <= m["cpu-max"]:
                entry[key] = base[key]
        other["machines"].append(entry)
        if m.get("alias"):
            other["machines"].append(dict(entry, name=m["alias"], alias_of=n))
    return other


def probe_binary(path: str, timeout: float = 30.0) -> dict[str, Any]:
    from cmdxlate.oracle.qemu import find_qemu, machine_list, qemu_version, run_topology_query

    binary = find_qemu(path=path)
    arch = _arch_of(path)
    version = qemu_version(binary)
    db = build_database(arch, version, machine_list(binary))
    for fam in db["families"]:
        # The ids the binary's newest machine of the family reports, for the record.
        if not fam["facts"].get("hotpluggable_cpus") or fam["board"] == "no-cpu-hotplug":
            continue
        versions = fam["machine_versions"]
        name = (fam["name_prefix"] + versions[-1]["version"]) if versions else (
            fam.get("unversioned_name"))
        if not name:
            continue
        smp = "2,maxcpus=4,threads=2" if fam["board"] == "spapr" else "2,maxcpus=4"
        answer = run_topology_query(binary, ["-machine", name, "-smp", smp], timeout)
        if answer.hotpluggable:
            fam["probed_slot_props"] = sorted({k for e in answer.hotpluggable
                                               for k in e["props"]})
    tables = {t for fam in db["families"] for t in _tables_of(fam, arch)}
    db["cpu_tables"] = {t: probe_cpu_models(binary, t, db["target"], db["qemu_version"],
                                            timeout) for t in sorted(tables)}
    return db


def _tables_of(fam: dict[str, Any], arch: str) -> list[str]:
    value = fam["facts"].get("cpu_table")
    if isinstance(value, list):
        return [c["value"] for c in value if c.get("arch") == arch and c["value"]]
    return [value] if isinstance(value, str) else []


def probe_cpu_models(binary: Any, table: str, target: str, version: str,
                     timeout: float) -> dict[str, Any]:
    """The binary's CPU models in the shape of ``catalog/data/cpus/<table>.json``.

    The rules around the lists (messages, which accelerators a model needs) are
    cmdxlate's own and are kept; only what this binary lists is probed.
    """
    from cmdxlate.oracle.qemu import cpu_definitions, run_qmp_commands

    if table not in CPU_TABLES:
        raise InputError(f"unknown CPU table {table}")
    base = read_json("cpus", f"{table}.json")
    defs = cpu_definitions(binary, timeout)
    names = sorted(d["name"] for d in defs)
    out = {k: v for k, v in base.items()
           if k not in ("models", "tcg_unavailable", "releases", "unknown")}
    out["evidence"] = [f"probed:{version} under TCG"]
    out["releases"] = [target]
    # What the data knows about a listed name beyond its presence (ppc64 power5gs is listed
    # but refused; 'max' is taken but not listed) is kept.
    from cmdxlate.catalog.version import Span

    v = Version.parse(target)
    kept = ("accepted", "listed", "spapr_core")
    base_models = {m["name"]: m for m in base["models"]
                   if v in Span.load(m.get("releases"), table)}
    models: list[dict[str, Any]] = [
        {"name": n, **{k: base_models[n][k] for k in kept if k in base_models.get(n, {})}}
        for n in names]
    models += [dict({"name": n, "listed": False}, **{k: m[k] for k in ("spapr_core",) if k in m})
               for n, m in base_models.items()
               if n not in names and "listed" in m and v not in Span.load(m["listed"], table)]
    if base.get("kvm_default_x2apic") is not None and table == "x86":
        cmds = [("query-cpu-model-expansion", {"type": "full", "model": {"name": n}})
                for n in names]
        results, _ = run_qmp_commands(binary, ["-machine", "none"], cmds, timeout)
        for m, r in zip(models, results, strict=False):
            props = r.get("return", {}).get("model", {}).get("props", {}) if isinstance(
                r, dict) else {}
            m["x2apic"] = bool(props.get("x2apic"))
    out["models"] = models
    missing = {d["name"]: d["unavailable-features"] for d in defs
               if d.get("unavailable-features")}
    if missing and ("unavailable_message" in out or "messages" in out):
        out["tcg_unavailable"] = {target: dict(sorted(missing.items()))}
    return out
