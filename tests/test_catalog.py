"""The release catalog against what real QEMU binaries list, and its own consistency.

tests/data/machines/<release>-<arch>.json and tests/data/cpus/<release>-<arch>.json are
transcribed from query-machines and query-cpu-definitions of QEMU 5.2.0, 7.2.22, 10.0.2
and 11.1.3 (each file names its binary): for those releases the catalog must list exactly
the same machine types and CPU models. For every release, every fact of every family
must settle for every machine version, and every fact that depends on the release says
where it comes from.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from cmdxlate.catalog import FAMILY_FILES, Catalog
from cmdxlate.catalog.boards import NO_CPU_LIMIT
from cmdxlate.catalog.facts import Case
from cmdxlate.catalog.version import Version
from cmdxlate.error import CmdxlateError, InputError, QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

DATA = Path(__file__).resolve().parent / "data"
MACHINE_FILES = sorted((DATA / "machines").glob("*.json"))
CPU_FILES = sorted((DATA / "cpus").glob("*.json"))
CPU_TABLE_OF_ARCH = {"x86_64": "x86", "ppc64": "ppc64", "s390x": "s390x"}
RELEASES = ["5.2", "6.0", "6.1", "6.2", "7.0", "7.1", "7.2", "8.0", "8.1", "8.2", "9.0",
            "9.1", "9.2", "10.0", "10.1", "10.2", "11.0", "11.1"]
MEASURED = {"5.2": "5.2.0", "7.2": "7.2.22", "10.0": "10.0.2", "11.1": "11.1.3"}
CATALOG = Catalog.builtin()


def _name(path: Path) -> tuple[str, str]:
    release, arch = path.stem.split("-", 1)
    return release, arch


def _raw(*parts: str) -> Any:
    text = resources.files("cmdxlate.catalog").joinpath("data", *parts).read_text("utf-8")
    return json.loads(text)


# ------------------------------------------------------------------ releases

def test_every_release_is_a_target() -> None:
    assert [str(v) for v in CATALOG.targets] == RELEASES
    assert str(CATALOG.default_target) == "11.1"
    for r in CATALOG.releases.releases:
        want = "measured" if str(r.version) in MEASURED else ("read" if str(r.version) == "10.2"
                                                              else "inferred")
        assert r.checked == want, r
        assert r.evidence, r
        if str(r.version) in MEASURED:
            assert r.point == MEASURED[str(r.version)]
    assert CATALOG.release("9.0").point == "9.0.2"
    assert CATALOG.release("10.2").point == "10.2.2"
    with pytest.raises(InputError, match="unknown target"):
        CATALOG.release("4.2")


@pytest.mark.parametrize("release", RELEASES)
def test_smp_keys_of_every_release(release: str) -> None:
    keys = set(CATALOG.release(release).fact("smp_keys"))
    v = Version.parse(release)
    assert {"cpus", "sockets", "dies", "cores", "threads", "maxcpus"} <= keys
    assert ("clusters" in keys) == (v >= Version(7, 0))
    assert ("books" in keys) == ("drawers" in keys) == (v >= Version(8, 2))
    assert ("modules" in keys) == (v >= Version(9, 1))


# ------------------------------------------------------------------ against the binaries

@pytest.mark.parametrize("path", MACHINE_FILES, ids=lambda p: p.stem)
def test_machine_types_are_the_binarys(path: Path) -> None:
    """Names and aliases, CPU limits, hotplug and default CPU types: as query-machines says."""
    release_name, arch = _name(path)
    data = json.loads(path.read_text())
    build_only = set(data["build_only"])
    release = CATALOG.release(release_name)
    machines = [m for m in data["machines"] if m["name"] not in build_only]
    want = {m["name"] for m in machines} | {m["alias"] for m in machines if "alias" in m}
    assert sorted(CATALOG.machine_names(arch, release)) == sorted(want)
    for m in machines:
        got = CATALOG.machine(m["name"], arch, release)
        assert got.max_cpus == m["cpu-max"], m["name"]
        assert got.hotpluggable_cpus == m.get("hotpluggable-cpus", False), m["name"]
        if got.board == "no-cpu-hotplug":
            continue
        if "default-cpu-type" in m:
            cpu_type = got.default_cpu_model() + got.cpu_type_suffix
            if got.board == "spapr":  # query-machines names the thread type, not the core
                cpu_type = got.default_cpu_model() + "-powerpc64-cpu"
            assert cpu_type == m["default-cpu-type"], m["name"]
        if "alias" in m:
            assert CATALOG.machine(m["alias"], arch, release).name == m["name"]
    defaults = [m["name"] for m in machines if m.get("is-default")]
    modelled = [f for f in CATALOG.arch_families(arch) if f.board != "no-cpu-hotplug"]
    if any(arch in f.default_for(release.version) for f in modelled):
        assert [CATALOG.machine(None, arch, release).name] == defaults


@pytest.mark.parametrize("path", CPU_FILES, ids=lambda p: p.stem)
def test_cpu_models_are_the_binarys(path: Path) -> None:
    release_name, arch = _name(path)
    data = json.loads(path.read_text())
    table = CATALOG.cpu_tables[CPU_TABLE_OF_ARCH[arch]]
    v = Version.parse(release_name)
    listed = table.listed(v)
    assert listed is not None and sorted(listed) == data["names"]
    assert not table.unknown_names(v)


# ------------------------------------------------------------------ the whole catalog

def _cases(release: Version) -> list[tuple[Any, Version | None, str]]:
    out = []
    for fam in CATALOG.families:
        if not fam.present_in(release):
            continue
        versions: list[Version | None] = list(fam.versions_in(release))
        if fam.unversioned_in(release) or not versions:
            versions.append(None)
        out += [(fam, v, arch) for v in versions for arch in fam.arches]
    return out


@pytest.mark.parametrize("release", RELEASES)
def test_every_fact_settles_for_every_machine(release: str) -> None:
    """No fact of any family lacks a value for a machine version a release has."""
    r = CATALOG.release(release)
    for fam, v, arch in _cases(r.version):
        for accel in ("tcg", "kvm"):
            case = Case(r.version, v, arch, accel)
            for name, fact in fam.facts.items():
                try:
                    fact.pick(case)
                except LookupError:
                    pytest.fail(f"{fam.name} {v} ({arch}, {accel}) in {release}: no {name}")
    for arch in sorted({a for f in CATALOG.families for a in f.arches}):
        for name in CATALOG.machine_names(arch, r) if any(
                f.present_in(r.version) for f in CATALOG.arch_families(arch)) else []:
            m = CATALOG.machine(name, arch, r)
            assert 1 <= m.min_cpus <= m.max_cpus, (release, arch, name)
            assert m.max_cpus <= 4096 * 4 or m.max_cpus == NO_CPU_LIMIT, (release, arch, name)


def _gated(candidates: Any) -> list[dict[str, Any]]:
    if isinstance(candidates, list) and candidates and all(
            isinstance(c, dict) and "value" in c for c in candidates):
        return [c for c in candidates if {"releases", "machine", "arch", "accel"} & set(c)]
    return []


def test_every_gated_fact_names_its_evidence() -> None:
    missing = []
    for file in FAMILY_FILES:
        data = _raw("boards", f"{file}.json")
        facts = dict(data["facts"], **{k: data.get(k) for k in (
            "aliases", "default_for_arches", "unversioned_name")})
        for name, candidates in facts.items():
            missing += [f"{file}: {name} {c}" for c in _gated(candidates)
                        if not c.get("evidence")]
        missing += [f"{file}: version {e['version']}" for e in data.get("machine_versions", ())
                    if e.get("releases") and not e.get("evidence")]
        missing += [f"{file}: {m['arch']} {m['name']}" for m in data.get("machines", ())
                    if m.get("releases") and not m.get("evidence")]
    for table in ("x86", "ppc64", "s390x"):
        data = _raw("cpus", f"{table}.json")
        for m in data["models"]:
            if ({"releases", "accepted", "listed"} & set(m)) and not m.get("evidence"):
                missing.append(f"cpus/{table}: {m['name']}")
            for key in ("x2apic", "spapr_core"):
                missing += [f"cpus/{table}: {m['name']} {key}" for c in _gated(m.get(key))
                            if not c.get("evidence")]
        for key in ("accel_only",):
            for name, candidates in data.get(key, {}).items():
                missing += [f"cpus/{table}: {key} {name}" for c in _gated(candidates)
                            if not c.get("evidence")]
        missing += [f"cpus/{table}: messages" for c in _gated(data.get("messages"))
                    if not c.get("evidence")]
    releases = _raw("releases.json")
    for name, candidates in releases["facts"].items():
        missing += [f"releases: {name}" for c in _gated(candidates) if not c.get("evidence")]
    assert missing == []


# ------------------------------------------------------------------ facts the research pinned

def _machine(name: str | None, arch: str, release: str) -> Any:
    return CATALOG.machine(name, arch, CATALOG.release(release))


@pytest.mark.parametrize(("release", "limit"), [
    ("5.2", 1024), ("6.0", 1024), ("6.1", NO_CPU_LIMIT), ("7.1", NO_CPU_LIMIT), ("7.2", 4096),
    ("8.0", NO_CPU_LIMIT), ("8.2", NO_CPU_LIMIT), ("9.0", 4096), ("11.1", 4096)])
def test_pseries_cpu_limit_by_release(release: str, limit: int) -> None:
    """1024 up to 6.0, no limit of the machine's own 6.1-8.2 (7.2.11 backported 4096)."""
    assert _machine("pseries", "ppc64", release).max_cpus == limit


@pytest.mark.parametrize(("release", "machine", "model"), [
    ("5.2", "pseries-2.7", "power7_v2.3"), ("5.2", "pseries-3.1", "power8_v2.0"),
    ("5.2", "pseries", "power9_v2.0"), ("8.0", "pseries-4.0", "power9_v2.0"),
    ("8.1", "pseries", "power9_v2.2"), ("9.0", "pseries-4.0", "power10_v2.0"),
    ("9.2", "pseries-8.2", "power10_v2.0"), ("10.0", "pseries-8.2", "power9_v2.2"),
    ("10.0", "pseries", "power10_v2.0"), ("11.1", "pseries-11.0", "power10_v2.0"),
    ("11.1", "pseries", "power11_v2.0")])
def test_pseries_default_cpu(release: str, machine: str, model: str) -> None:
    assert _machine(machine, "ppc64", release).default_cpu_model() == model


@pytest.mark.parametrize(("release", "machine", "cpu", "core"), [
    ("5.2", "pseries", "max", "7400_v2.9"), ("7.1", "pseries-4.0", "max", "power9_v2.0"),
    ("10.0", "pseries-8.2", "max", "power9_v2.2"), ("11.1", "pseries", "MAX", "power11_v2.0"),
    ("8.0", "pseries", "POWER9", "power9_v2.0"), ("8.1", "pseries", "power9", "power9_v2.2"),
    ("6.1", "pseries", "power10", "power10_v1.0"), ("6.2", "pseries", "power10", "power10_v2.0"),
    ("8.2", "pseries", "power7+", "power7+_v2.1"), ("9.0", "pseries", "power7+", "power7p_v2.1"),
    ("10.0", "pseries", "970", "970_v2.2"), ("10.0", "pseries", "power5+", "power5p_v2.1")])
def test_pseries_cpu_aliases(release: str, machine: str, cpu: str, core: str) -> None:
    assert _machine(machine, "ppc64", release).cpu_type(cpu) == f"{core}-spapr-cpu-core"


def test_ppc64_names_that_are_listed_but_refused_or_unknown() -> None:
    table = CATALOG.cpu_tables["ppc64"]
    for release, accepted in (("8.2", True), ("9.0", False), ("11.1", False)):
        v = Version.parse(release)
        assert ("power5gs" in (table.names(v) or ())) is accepted
        assert "power5gs" in (table.listed(v) or ())
    v70 = Version(7, 0)
    assert "601" in table.unknown_names(v70)
    assert "601" in (table.names(v70) or ())  # not judged: QEMU decides
    assert "601" not in (table.listed(v70) or ())
    assert "max" in (table.listed(Version(7, 0)) or ())
    assert "max" not in (table.listed(Version(7, 1)) or ())
    assert "max" in (table.names(Version(7, 1)) or ())
    assert table.spapr_core("max", Version(7, 0)) is False
    assert table.spapr_core("MAX", Version(7, 1)) is True
    assert table.spapr_core("970fx", Version(10, 0)) is False


def test_x86_models_by_release() -> None:
    table = CATALOG.cpu_tables["x86"]
    assert "YongFeng-v2" in (table.names(Version(10, 0)) or ())  # 10.0 is 10.0.2
    assert "YongFeng-v2" not in (table.names(Version(9, 2)) or ())
    assert "Icelake-Client" in (table.names(Version(7, 0)) or ())
    assert "Icelake-Client" not in (table.names(Version(7, 1)) or ())
    assert table.x2apic("max", Version(8, 2)) is False
    assert table.x2apic("max", Version(9, 0)) is True
    pc = _machine("pc", "x86_64", "5.2")
    assert pc.cpus is not None and pc.cpus.accel_only["host"] == ("kvm",)
    pc = _machine("pc", "x86_64", "6.0")
    assert pc.cpus is not None and pc.cpus.accel_only["host"] == ("kvm", "hvf")


@pytest.mark.parametrize(("release", "too_new", "hint"), [
    ("5.2", "Maximum supported model in the configuration: 'z13.2'", ""),
    ("6.2", "Maximum supported model in the configuration: 'z14.2'", ""),
    ("8.2", "Maximum supported model in the configuration: 'gen15a'", ""),
    ("9.0", "Maximum supported model in the current configuration: 'gen15a'",
     'Consider a different accelerator, try "-accel help"')])
def test_s390x_messages_by_release(release: str, too_new: str, hint: str) -> None:
    m = _machine("s390-ccw-virtio", "s390x", release)
    assert m.cpus is not None
    assert m.cpus.messages["too_new_message"].endswith(too_new)
    assert m.cpus.messages["too_new_hint"] == hint


def test_s390x_too_new_on_5_2_is_qemus_text() -> None:
    with pytest.raises(QemuRefusal) as e:
        resolve(parse_argv(["-M", "s390-ccw-virtio", "-cpu", "z14"]), "5.2", "s390x")
    assert e.value.message == ("Selected CPU generation is too new. Maximum supported model "
                               "in the configuration: 'z13.2'")
    assert not e.value.hint
    # No binary measured 8.0: what TCG lacks there is not in the data, so nothing is judged.
    resolve(parse_argv(["-M", "s390-ccw-virtio", "-cpu", "z14"]), "8.0", "s390x")


def test_loongarch_by_release() -> None:
    with pytest.raises(InputError, match="QEMU 7.0 has no loongarch64 system emulator"):
        _machine("virt", "loongarch64", "7.0")
    m = _machine(None, "loongarch64", "7.1")
    assert (m.name, m.max_cpus, m.numa, m.default_ram_bytes >> 20) == ("virt", 4, False, 1024)
    m = _machine("virt", "loongarch64", "8.1")
    assert (m.max_cpus, m.numa, m.default_node, m.device_cpus) == (256, True, "block", False)
    m = _machine("virt", "loongarch64", "10.0")
    assert (m.default_node, m.default_ram_bytes >> 20, m.device_cpus) == ("socket", 128, True)
    assert _machine("virt", "loongarch64", "11.0").name == "virt"
    assert _machine("virt", "loongarch64", "11.1").name == "virt-11.1"
    assert _machine(None, "loongarch64", "11.1").name == "virt-11.1"
    assert CATALOG.machine_names("loongarch64", CATALOG.release("11.1")) == [
        "virt-11.1", "virt", "none"]


def test_arm_virt_by_release() -> None:
    m = _machine("virt", "aarch64", "7.0")
    assert [p.name for p in m.slot_props] == ["thread-id"] and m.default_node == "index"
    m = _machine("virt-2.12", "aarch64", "7.1")
    assert {p.name for p in m.slot_props} == {"socket-id", "cluster-id", "core-id", "thread-id"}
    assert m.default_node == "socket" and m.max_cpus == 255
    assert not m.facts["auto_numa_with_memory_slots"]
    assert _machine("virt-4.2", "aarch64", "10.0").facts["auto_numa_with_memory_slots"]
    assert _machine("virt", "aarch64", "10.1").default_cpu_model("kvm") == "cortex-a15"
    assert _machine("virt", "aarch64", "10.2").default_cpu_model("kvm") == "max"
    assert "highmem-redists" in _machine("virt", "aarch64", "7.2").facts["absent_props"]
    assert "highmem-redists" in _machine("virt", "aarch64", "8.0").facts["bool_props"]


def test_machine_versions_by_release() -> None:
    names = set(CATALOG.machine_names("x86_64", CATALOG.release("5.2")))
    assert {"pc-1.0", "pc-1.3", "pc-i440fx-1.4", "pc-q35-2.4"} <= names
    assert _machine("pc-1.0", "x86_64", "5.2").max_cpus == 255
    with pytest.raises(QemuRefusal, match="unsupported machine type"):
        _machine("pc-1.0", "x86_64", "6.0")
    for release, oldest in (("10.0", "2.4"), ("10.1", "4.2"), ("10.2", "5.0"), ("11.0", "5.1"),
                            ("11.1", "5.2")):
        versions = [str(v) for v in CATALOG.families[1].versions_in(Version.parse(release))]
        assert versions[0] == oldest and versions[-1] == release, release
    assert "pseries-2.1" in CATALOG.machine_names("ppc64", CATALOG.release("9.1"))
    assert "pseries-2.1" not in CATALOG.machine_names("ppc64", CATALOG.release("9.2"))
    with pytest.raises(QemuRefusal) as e:
        _machine("pc-q35-11.1", "x86_64", "10.0")
    assert "try --target 11.1" in (e.value.hint or "")


def test_nitro_and_named_machine_limits() -> None:
    nitro = _machine("nitro", "x86_64", "11.1")
    assert (nitro.max_cpus, nitro.hotpluggable_cpus, nitro.numa) == (4096, False, False)
    with pytest.raises(QemuRefusal, match="unsupported machine type"):
        _machine("nitro", "x86_64", "10.2")
    raspi = _machine("raspi3b", "aarch64", "10.0")
    assert (raspi.min_cpus, raspi.max_cpus, raspi.default_cpus) == (4, 4, 4)
    assert _machine("xlnx-versal-virt", "aarch64", "7.0").max_cpus == 2
    assert _machine("xlnx-versal-virt", "aarch64", "10.2").name == "amd-versal-virt"
    assert _machine("powernv", "ppc64", "5.2").name == "powernv9"
    assert _machine("powernv", "ppc64", "11.1").name == "powernv11"


def test_min_cpus_is_enforced_as_qemu_does() -> None:
    with pytest.raises(QemuRefusal) as e:
        resolve(parse_argv(["-M", "raspi3b", "-smp", "1"]), "10.0", "aarch64")
    assert e.value.message == "Invalid SMP CPUs 1. The min CPUs supported by machine 'raspi3b' is 4"
    with pytest.raises(CmdxlateError, match="hot-plugging"):
        resolve(parse_argv(["-M", "raspi3b", "-smp", "4"]), "10.0", "aarch64").hotpluggable_cpus()


def test_probe_database_of_each_measured_binary_lists_what_it_lists(tmp_path: Path) -> None:
    """A database probe writes from a binary's machine list reads back as that list."""
    from cmdxlate.oracle.probe import build_database

    for path in MACHINE_FILES:
        release, arch = _name(path)
        data = json.loads(path.read_text())
        version = tuple(int(x) for x in MEASURED[release].split("."))
        db = build_database(arch, version, data["machines"])  # type: ignore[arg-type]
        out = tmp_path / f"{path.stem}.json"
        out.write_text(json.dumps(db))
        probed = Catalog.from_file(str(out))
        build_only = set(data["build_only"])
        want = {m["name"] for m in data["machines"]} | {
            m["alias"] for m in data["machines"] if "alias" in m}
        got = set(probed.machine_names(arch, probed.release(release)))
        # Build-only machines with CPU hotplug (xenfv) fit no family cmdxlate models.
        assert want - build_only <= got <= want, path.stem


def test_pseries_without_a_cpu_limit_fails_where_qemu_does() -> None:
    """6.1-8.2 take any -smp; the 4097th CPU's IPI then collides (read:ml, the 9.0 fix)."""
    line = ["-M", "pseries", "-smp", "1,maxcpus=4097"]
    with pytest.raises(QemuRefusal) as e:
        resolve(parse_argv(line), "8.1", "ppc64")
    assert e.value.message == "IRQ 4096 is not free"
    with pytest.raises(QemuRefusal) as e:
        resolve(parse_argv(line), "7.2", "ppc64")  # 7.2.22 has the 4096 limit (7.2.11)
    assert e.value.message == ("Invalid SMP CPUs 4097. The max CPUs supported by machine "
                               "'pseries-7.2' is 4096")
    with pytest.raises(InputError, match="aborts"):
        resolve(parse_argv(["-M", "pseries", "-smp", "1,maxcpus=100000000"]), "7.1", "ppc64")


def test_family_index_matches_the_family_files() -> None:
    """The built-in catalog reads only an architecture's files, by FAMILY_INDEX: it must say
    what each file says, or a machine would be missing for its architecture."""
    from cmdxlate.catalog import FAMILY_INDEX
    from cmdxlate.catalog.boards import load_family
    from cmdxlate.catalog.datafiles import read_json

    for name, (board, arches) in FAMILY_INDEX.items():
        fam = load_family(read_json("boards", f"{name}.json"), name)
        assert (fam.board, fam.arches) == (board, arches), name
    lazy = Catalog.builtin()
    assert [f.name for f in lazy.arch_families("aarch64")] == [
        f.name for f in Catalog(lazy.releases, lazy.families, lazy.cpu_tables).arch_families(
            "aarch64")]


def test_every_board_name_has_its_class() -> None:
    """The catalog's board names and the classes boards/ imports on demand agree."""
    from cmdxlate.boards import BOARDS, Board, board_class
    from cmdxlate.catalog.boards import BOARDS as CATALOG_BOARDS

    assert set(CATALOG_BOARDS) == set(BOARDS)
    for name in BOARDS:
        cls = board_class(name)
        assert issubclass(cls, Board) and cls.name == name
