"""QEMU's messages and their locations, release by release: machine lookup, -machine
properties, -cpu, -accel, -readconfig, options a release lacks, warnings, host-nodes.

The replay checks every line of tests/data/measured-messages (fresh lines run on real
QEMU 5.2.0, 7.2.22, 10.0.2 and 11.1.3) through the library and through the CLI: the
``error`` field and the text line are what QEMU printed after its program name, and
QEMU's hint lines come apart from cmdxlate's own hint. The focused tests pin each
release-dated behaviour at its boundary (the releases no binary here runs included).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cmdxlate.catalog import Catalog
from cmdxlate.cli.app import app
from cmdxlate.error import CmdxlateError, InputError, QemuRefusal
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv
from cmdxlate.syntax.source import expand_readconfig

DATA = Path(__file__).resolve().parent / "data" / "measured-messages"
RELEASES = sorted(p.name.split(".jsonl")[0] for p in DATA.glob("*.jsonl.gz"))
BOILERPLATE = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-qmp", "stdio"]
WARNINGS_OF_THIS_AREA = ("Machine type ", "short-form boolean", "invalid accelerator",
                         "falling back to")
# Lines whose first error belongs to another area not merged here yet (5.2's -smp is
# QemuOpts: rel-smp).
OTHER_AREAS = {("5.2", "mprop-0033"), ("5.2", "opt-0103"), ("5.2", "rc-0125"),
               ("5.2", "rc-0126"),
               # 5.2's arm virt slots carry only thread-id (rel-boards)
               ("5.2", "mprop-0039"), ("5.2", "cpu-0069"), ("5.2", "cpu-0070"),
               ("5.2", "depr-0141"), ("5.2", "vcpu-0146"),
               # 5.2 ignores a failed [device] header and refuses the next key line
               # ("no group defined"): not modelled, cmdxlate says Duplicate ID there
               ("5.2", "rc-0122")}
# What these lines depend on is not modelled: the host (KVM, dropping privileges), the
# values of a nested or enum property, accelerator properties.
NOT_MODELLED = {"accel-0088", "opt-0095", "opt-0099", "mprop-0026", "mprop-0030",
                "short-0112"}

runner = CliRunner()


def records(release: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / f"{release}.jsonl.gz", "rt", encoding="utf-8") as f:
        f.readline()
        return [json.loads(line) for line in f]


def _place(rec: dict[str, Any], tmp: Path) -> tuple[list[str], dict[str, Any]]:
    """The record's argv and expectations with its -readconfig files written under tmp."""
    text = json.dumps(rec)
    for path, content in rec.get("files", {}).items():
        (tmp / Path(path).name).write_text(content)
    text = text.replace("/tmp/relmsg/", f"{tmp}/")
    placed = json.loads(text)
    argv = placed["argv"] if placed.get("boiler", True) is False else BOILERPLATE + placed["argv"]
    return argv, placed


def _ours(argv: list[str], rec: dict[str, Any], release: str) -> tuple[str, Any]:
    try:
        topo = resolve(expand_readconfig(parse_argv(argv)), release, rec["arch"])
    except QemuRefusal as e:
        return "error", e
    except CmdxlateError as e:
        return "refused", e.message
    return "ok", topo


@pytest.mark.parametrize("release", RELEASES)
def test_measured_lines(release: str, tmp_path: Path) -> None:
    bad = []
    for rec in records(release):
        if (release, rec["id"]) in OTHER_AREAS or rec["id"] in NOT_MODELLED:
            continue
        argv, want = _place(rec, tmp_path)
        kind, ours = _ours(argv, want, release)
        if want["exit"] == 0 and want["cpus"] is None and want["slots"] is None:
            # QEMU printed a list and exited before QMP: cmdxlate says so
            if kind != "refused" or "prints help" not in str(ours):
                bad.append(f"{rec['id']} {rec['argv']}: QEMU prints help; ours {kind}")
            continue
        if want["exit"] != 0:
            if kind != "error":
                shown = "accepted" if kind == "ok" else ours
                bad.append(f"{rec['id']} {rec['argv']}: QEMU {want['errors']}; ours {shown}")
                continue
            assert isinstance(ours, QemuRefusal)
            got = ([ours.message, *ours.more], (ours.qemu_hint or "").splitlines())
            if got != (want["errors"], want["hints"]):
                bad.append(f"{rec['id']} {rec['argv']}: QEMU {want['errors']} {want['hints']};"
                           f" ours {got}")
            continue
        if kind != "ok":
            bad.append(f"{rec['id']} {rec['argv']}: QEMU accepts; ours {ours}")
            continue
        topo = ours
        mine = [w for w in topo.warnings if w.startswith(WARNINGS_OF_THIS_AREA)]
        # QEMU prints a failed accelerator as an error line and goes on
        theirs = [w for w in want["warnings"] + [e.split(": ", 1)[-1] if "accelerator" in e
                                                 else e for e in want["errors"]]
                  if w.startswith(WARNINGS_OF_THIS_AREA)]
        cpus = [[c["cpu-index"], c["props"]] for c in topo.present_cpus()]
        if mine != theirs or (want["cpus"] is not None and cpus != want["cpus"]):
            bad.append(f"{rec['id']} {rec['argv']}: QEMU {theirs} {want['cpus']}; "
                       f"ours {mine} {cpus}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("release", RELEASES)
def test_the_cli_prints_qemus_lines(release: str, tmp_path: Path) -> None:
    """JSON ``error`` and the text view's first lines are what QEMU printed after its
    program name (its hint lines as it prints them); cmdxlate's own pointer is apart."""
    for rec in records(release):
        if rec["exit"] == 0 or (release, rec["id"]) in OTHER_AREAS or rec["id"] in NOT_MODELLED:
            continue
        argv, want = _place(rec, tmp_path)
        res = runner.invoke(app, ["slots", "--format", "json", "--target", release,
                                  "--arch", rec["arch"], "--", *argv])
        assert res.exit_code == 2, (rec["id"], res.output)
        out = json.loads(res.stdout)
        assert out["error"] == want["errors"][0], rec["id"]
        assert out.get("more_errors", []) == want["errors"][1:], rec["id"]
        assert out.get("qemu_hint", "").splitlines() == want["hints"], rec["id"]
        res = runner.invoke(app, ["slots", "--target", release, "--arch", rec["arch"], "--",
                                  *argv])
        lines = res.stderr.splitlines()
        assert lines[0] == f"cmdxlate: error: {want['errors'][0]}", rec["id"]
        assert lines[1:1 + len(want["hints"])] == want["hints"], rec["id"]


# ---------------------------------------------------------------- focused, per behaviour

def _error(argv: list[str], release: str, arch: str = "x86_64") -> QemuRefusal:
    with pytest.raises(QemuRefusal) as ei:
        resolve(expand_readconfig(parse_argv(argv)), release, arch)
    return ei.value


def _ok(argv: list[str], release: str, arch: str = "x86_64") -> list[str]:
    return resolve(expand_readconfig(parse_argv(argv)), release, arch).warnings


@pytest.mark.parametrize(("release", "message"), [
    ("5.2", "-machine usb=off: unsupported machine type"),
    ("6.0", "-machine usb=off: unsupported machine type"),
    ("6.1", "unsupported machine type"),
    ("9.0", "unsupported machine type"),
    ("9.1", 'unsupported machine type: "foo"'),
    ("11.1", 'unsupported machine type: "foo"'),
])
def test_unknown_machine_type_per_release(release: str, message: str) -> None:
    e = _error(["-machine", "usb=off", "-M", "foo"], release)
    assert e.message == message
    assert e.qemu_hint == "Use -machine help to list supported machines"
    assert e.hint is None  # nothing of cmdxlate's own to add about "foo"


@pytest.mark.parametrize(("name", "target", "note"), [
    ("pc+pve0", "10.0", "downstream machine type"),
    ("pc-i440fx-5.1+pve0", "10.0", "downstream machine type"),
    ("pc-q35-8.2", "7.2", "QEMU 7.2 does not have it yet (it is newer); try --target 8.2"),
    ("pc-q35-4.2", "11.1", "QEMU 11.1 no longer has it; try --target 10.1"),
])
def test_cmdxlates_own_hint_is_apart_and_true(name: str, target: str, note: str) -> None:
    e = _error(["-M", name], target)
    assert e.message in (f'unsupported machine type: "{name}"', "unsupported machine type")
    assert e.qemu_hint == "Use -machine help to list supported machines"
    assert e.hint is not None and note in e.hint
    assert e.as_dict()["hint"] == e.hint and e.as_dict()["qemu_hint"] == e.qemu_hint


def test_machine_opts_location_on_5_2_is_the_first_option_that_made_them() -> None:
    for first, loc in [(["-nographic"], "-nographic"), (["-kernel", "/k"], "-kernel /k"),
                       (["-enable-kvm"], "-enable-kvm"), (["-M", "pc"], "-M pc")]:
        assert _error([*first, "-M", "foo"], "5.2").message == (
            f"{loc}: unsupported machine type")


@pytest.mark.parametrize(("argv", "release", "message"), [
    (["-M", "pc,foo=bar"], "7.2", "Property 'pc-i440fx-7.2-machine.foo' not found"),
    (["-M", "q35,foo_bar=1"], "6.1", "Property 'pc-q35-6.1-machine.foo-bar' not found"),
    (["-M", "pc,dump_guest_core=off"], "5.2",
     "Property 'pc-i440fx-5.2-machine.dump_guest_core' not found"),
    (["-M", "pc,highmem-redists=off"], "10.0",
     "Property 'pc-i440fx-10.0-machine.highmem-redists' not found"),
    (["-M", "pc,foo=1", "-cpu", "foo"], "11.1", "Property 'pc-i440fx-11.1-machine.foo' not found"),
])
def test_any_unknown_machine_property_is_not_found(argv: list[str], release: str,
                                                  message: str) -> None:
    assert _error(argv, release).message == message


@pytest.mark.parametrize(("argv", "release"), [
    (["-M", "pc,dump_guest_core=off"], "7.2"), (["-M", "pc,kernel_irqchip=split"], "5.2"),
    (["-M", "pc,nvdimm=on,pflash0=x"], "10.0"), (["-M", "pc,usb"], "5.2"),
    (["-M", "q35,sgx-epc.0.memdev=m0,sgx-epc.0.node=0"], "8.0"),
    (["-M", "pc,memory-backend=m", "-m", "128M", "-object",
      "memory-backend-ram,id=m,size=128M"], "6.0"),
])
def test_properties_qemu_takes(argv: list[str], release: str) -> None:
    if "pflash0=x" in argv[1]:
        # QEMU then fails on the drive named x, after the properties: not modelled
        argv = ["-M", "pc,nvdimm=on"]
    _ok(argv, release)


def test_unmeasured_release_judges_only_what_both_neighbours_agree_on() -> None:
    # x-south-bridge: absent in 7.2.22, present in 10.0.2 -> 8.0 to 9.2 do not judge it
    for release in ("8.0", "9.2"):
        _ok(["-M", "pc,x-south-bridge=piix3"], release)
    assert "not found" in _error(["-M", "pc,x-south-bridge=piix3"], "7.2").message


@pytest.mark.parametrize(("argv", "message"), [
    (["-cpu", ""], "-cpu option cannot be empty"),
    (["-cpu", ","], "unable to find CPU model ''"),
    (["-cpu", "qemu64,foo=on"],
     "can't apply global qemu64-x86_64-cpu.foo=on: Property 'qemu64-x86_64-cpu.foo' not found"),
    (["-cpu", "qemu64,foo_bar=on"], "can't apply global qemu64-x86_64-cpu.foo-bar=on: "
     "Property 'qemu64-x86_64-cpu.foo-bar' not found"),
    (["-cpu", "qemu64,+foo"], "Property 'qemu64-x86_64-cpu.foo' not found"),
    (["-global", "x86_64-cpu.foo=on"],
     "can't apply global x86_64-cpu.foo=on: Property 'qemu64-x86_64-cpu.foo' not found"),
    (["-cpu", "qemu64,host-cache-info=on"], "can't apply global "
     "qemu64-x86_64-cpu.host-cache-info=on: Property 'qemu64-x86_64-cpu.host-cache-info' "
     "not found"),
])
@pytest.mark.parametrize("release", ["5.2", "8.1", "11.1"])
def test_cpu_option_messages(argv: list[str], message: str, release: str) -> None:
    assert _error(argv, release).message == message


def test_cpu_host_wording_and_models_of_other_arches() -> None:
    assert _error(["-cpu", "host"], "5.2").message == "CPU model 'host' requires KVM"
    assert _error(["-cpu", "host"], "6.0").message == "CPU model 'host' requires KVM or HVF"
    for arch, model in [("aarch64", "foo"), ("aarch64", "host"), ("riscv64", "foo"),
                        ("loongarch64", "host")]:
        e = _error(["-M", "virt", "-cpu", model], "10.0", arch)
        assert e.message == f"unable to find CPU model '{model}'"
    _ok(["-M", "virt", "-cpu", "max"], "10.0", "aarch64")


@pytest.mark.parametrize(("argv", "release", "message", "warnings"), [
    (["-accel", "foo"], "5.2", "-accel foo: invalid accelerator foo", []),
    (["-machine", "accel=foo"], "11.1", "invalid accelerator foo", []),
    (["-accel", "hax"], "6.0", "-accel hax: invalid accelerator hax", []),
    (["-accel", "foo", "-accel", "tcg"], "10.0", None,
     ["invalid accelerator foo", "falling back to tcg"]),
    (["-machine", "accel=foo:tcg"], "7.2", None, ["invalid accelerator foo",
                                                  "falling back to tcg"]),
])
def test_accelerators(argv: list[str], release: str, message: str | None,
                      warnings: list[str]) -> None:
    if message is not None:
        assert _error(argv, release).message == message
    else:
        assert _ok(argv, release)[:len(warnings)] == warnings
    # hax, hvf, whpx and nvmm exist only in Windows, macOS and NetBSD builds
    assert "invalid accelerator" in _error(["-accel", "nvmm"], "8.1").message
    _ok(["-accel", "mshv"], "10.2")
    _ok(["-accel", "kvm"], "5.2")
    assert "invalid accelerator" in _error(["-accel", "mshv"], "10.1").message


def test_two_accelerators_that_fail_are_two_error_lines() -> None:
    e = _error(["-machine", "accel=foo:bar"], "10.0")
    assert [e.message, *e.more] == ["invalid accelerator foo", "invalid accelerator bar"]


@pytest.mark.parametrize(("option", "last", "first"), [
    (["-writeconfig", "/dev/null"], "7.0", None), (["-no-acpi"], "8.2", None),
    (["-compat", "deprecated-input=accept"], None, "6.0"), (["-runas", "root"], "9.2", None),
    (["-rotate", "90"], "9.1", None),
])
def test_options_a_release_lacks_are_invalid_in_the_first_pass(
        option: list[str], last: str | None, first: str | None) -> None:
    cat = Catalog.builtin()
    for v in cat.targets:
        has = (last is None or v <= cat.release(last).version) and (
            first is None or v >= cat.release(first).version)
        # -smp's error comes later than the first pass: an option a release lacks wins
        argv = ["-smp", "2,maxcpus=1", *option]
        e = _error(argv, str(v))
        if has:
            assert "Invalid CPU topology" in e.message or "maxcpus" in e.message, (v, e)
        else:
            assert e.message == f"{option[0]}: invalid option", v


def test_unknown_option_is_refused_as_qemu_does() -> None:
    assert _error(["-frobnicate"], "10.0").message == "-frobnicate: invalid option"


def test_short_form_boolean_warning_from_6_0() -> None:
    argv = ["-smp", "1,maxcpus=2", "-device",
            "qemu64-x86_64-cpu,socket-id=1,core-id=0,thread-id=0,x2apic"]
    assert "short-form boolean option 'x2apic' deprecated" not in _ok(argv, "5.2")
    assert "short-form boolean option 'x2apic' deprecated" in _ok(argv, "6.0")
    assert "short-form boolean option 'usb' deprecated" in _ok(["-M", "pc,usb"], "6.0")
    with pytest.raises(QemuRefusal, match="Expected '=' after parameter 'usb'"):
        _ok(["-M", "pc,usb"], "6.1")


def test_mon_is_deprecated_from_11_1_once() -> None:
    """Measured on 11.1.3: one warning at the first -mon, before the machine type's; none
    for -monitor or -qmp, and none on 10.0.2."""
    mon = "'-mon' is deprecated, use '-object' with 'monitor-hmp' or 'monitor-qmp' types instead"
    argv = ["-M", "pc-i440fx-5.2", "-chardev", "null,id=c", "-mon", "chardev=c",
            "-chardev", "null,id=d", "-mon", "chardev=d"]
    warnings = _ok(argv, "11.1")
    assert warnings.count(mon) == 1 and warnings.index(mon) == 0
    assert any("Machine type 'pc-i440fx-5.2' is deprecated" in w for w in warnings)
    assert mon not in _ok(argv, "10.0")
    assert mon not in _ok(["-monitor", "null", "-qmp", "null"], "11.1")


@pytest.mark.parametrize(("release", "warning"), [
    ("5.2", "Machine type 'pc-1.0' is deprecated: use a newer machine type instead"),
    ("7.0", "Machine type 'pc-i440fx-1.4' is deprecated: old and unattended - use a newer "
     "version instead"),
    ("9.0", "Machine type 'pseries-2.11' is deprecated: old and not maintained - use a 2.12+ "
     "version"),
    ("9.1", "Machine type 'pc-q35-6.1' is deprecated: machines more than 3 years old are "
     "subject to deletion after 6 years"),
])
def test_deprecated_machine_types(release: str, warning: str) -> None:
    name = warning.split("'")[1]
    arch = "ppc64" if name.startswith("pseries") else "x86_64"
    assert warning in _ok(["-M", name], release, arch)
    assert not [w for w in _ok(["-M", "pc-q35-6.2"], "9.1") if "deprecated" in w]


# ---------------------------------------------------------------- -readconfig

NUMA = ('[memory]\n  size = "256M"\n[object "m0"]\n  qom-type = "memory-backend-ram"\n'
        '  size = "256M"\n[numa]\n  type = "node"\n  memdev = "m0"\n  cpus = "9"\n\n# end\n')


@pytest.mark.parametrize(("release", "line"), [("5.2", 6), ("6.0", 6), ("6.1", 9), ("11.1", 9)])
def test_readconfig_section_header_then_last_key_line(tmp_path: Path, release: str,
                                                      line: int) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text(NUMA)
    e = _error(["-readconfig", str(cfg)], release)
    assert e.message == f"{cfg}:{line}: CPU index (9) should be smaller than maxcpus (1)"


@pytest.mark.parametrize(("release", "message"), [
    ("5.2", "{cfg}:1: Property 'memory-backend-ram.bar' not found"),
    ("7.2", "{cfg}:5: Parameter 'bar' is unexpected"),
    ("10.0", "{cfg}:5: Parameter 'bar' is unexpected"),
    ("11.1", "{cfg}:5: Parameter 'bar' is unexpected"),
])
def test_readconfig_object_member_its_type_lacks(tmp_path: Path, release: str,
                                                 message: str) -> None:
    """Measured (2026-11-30): 5.2 sets the properties when it makes the object (QDict
    order, the section's header); from 6.1 the keyval visitor says what JSON's does, at
    the section's last line, naming the first left in its hash table."""
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[object "m0"]\n  qom-type = "memory-backend-ram"\n  size = "64M"\n'
                   '  foo = "1"\n  bar = "2"\n\n[memory]\n  size = "64M"\n')
    assert _error(["-M", "none", "-readconfig", str(cfg)], release).message == message.format(
        cfg=cfg)


@pytest.mark.parametrize("release", ("7.2", "10.0", "11.1"))
@pytest.mark.parametrize(("line", "message"), [
    ('share = "maybe"', "Parameter 'share' expects 'on' or 'off'"),
    ('prealloc-threads = "x"', "Parameter 'prealloc-threads' expects integer"),
    ('prealloc-threads = "99999999999"', "Parameter 'prealloc-threads' expects uint32_t"),
    ('prealloc-threads = "-1"', "Parameter 'prealloc-threads' expects uint32_t"),
    ('prealloc-threads = "99999999999999999999999"',
     "Parameter 'prealloc-threads' expects integer"),
    ('align = "1x"', "Parameter 'align' expects size"),
    ('size = "1x"', "Parameter 'size' expects size"),
    ('prealloc-threads = "0x10"', None),
])
def test_readconfig_object_values_in_keyval_words(tmp_path: Path, release: str, line: str,
                                                  message: str | None) -> None:
    """Measured on 7.2.22, 10.0.2 and 11.1.3 (2026-11-30): the keyval visitor's words for
    a backend's values in a -readconfig [object] (the command line's: 'expects a uint64
    value', 'expects a size value'), at the section's last line."""
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[object "m0"]\n  qom-type = "memory-backend-file"\n'
                   f'  mem-path = "/dev/shm"\n  size = "64M"\n  {line}\n')
    argv = ["-M", "pc", "-m", "64M", "-readconfig", str(cfg)]
    if message is None:
        assert _ok(argv, release) == []
    else:
        assert _error(argv, release).message == f"{cfg}:5: {message}"


def test_readconfig_section_without_key_line_yet_has_no_location(tmp_path: Path) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[numa]\n[memory]\n  size = "64M"\n')
    assert _error(["-readconfig", str(cfg)], "10.0").message == "Parameter 'type' is missing"
    assert _error(["-readconfig", str(cfg)], "5.2").message == (
        f"{cfg}:1: Parameter 'type' is missing")


@pytest.mark.parametrize(("release", "errors"), [
    ("5.2", ["{f}:4: parse error", "-readconfig {f}: read config {f}: Invalid argument"]),
    ("7.2", ["{f}:4: parse error"]),
    ("8.0", ["-readconfig {f}: parse error"]),
])
def test_readconfig_parse_error_per_release(tmp_path: Path, release: str,
                                            errors: list[str]) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[machine]\n  type = "pc"\n\n   \n')
    e = _error(["-smp", "2", "-readconfig", str(cfg)], release)
    assert [e.message, *e.more] == [x.format(f=cfg) for x in errors]


@pytest.mark.parametrize(("release", "message"), [
    ("5.2", "{f}:3: There is no option group 'smp'"), ("6.0", "{f}:3: There is no option group "
                                                          "'smp'"),
    ("7.1", "{f}:5: There is no option group 'smp'"),
    ("8.0", "-readconfig {f}: There is no option group 'smp'"),
])
def test_readconfig_unknown_group_per_release(tmp_path: Path, release: str,
                                              message: str) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[machine]\n  type = "pc"\n[smp]\n  cpus = "4"\n  maxcpus = "4"\n')
    assert _error(["-readconfig", str(cfg)], release).message == message.format(f=cfg)


def test_readconfig_missing_file_per_release(tmp_path: Path) -> None:
    f = tmp_path / "missing.cfg"
    assert _error(["-readconfig", str(f)], "5.2").message == (
        f"-readconfig {f}: read config {f}: No such file or directory")
    assert _error(["-readconfig", str(f)], "6.0").message == (
        f"-readconfig {f}: Could not open '{f}': No such file or directory")


def test_readconfig_failure_comes_where_qemu_reads_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[smp-opts]\n  cpus = "4"\n   \n')
    # an option the release lacks is refused in QEMU's first pass, before any file
    assert _error(["-readconfig", str(cfg), "-writeconfig", "x"], "10.0").message == (
        "-writeconfig: invalid option")
    # a -machine syntax error before the file comes first
    assert "Expected '='" in _error(["-M", "pc,usb", "-readconfig", str(cfg)], "10.0").message


@pytest.mark.parametrize("release", ["5.2", "6.0", "6.1", "10.0", "11.1"])
def test_host_nodes_forms(tmp_path: Path, release: str) -> None:
    """The command line takes host-nodes=0; a -readconfig file host-nodes.0 from 6.1
    (keyval) and host-nodes before; host-nodes.0 on the command line is refused."""
    keyval = release not in ("5.2", "6.0")
    base = ["-m", "128M", "-numa", "node,memdev=m0"]
    obj = "memory-backend-ram,id=m0,size=128M,policy=bind"
    _ok(base + ["-object", f"{obj},host-nodes=0"], release)
    e = _error(base + ["-object", f"{obj},host-nodes.0=0"], release)
    assert e.message == (f"-object {obj},host-nodes.0=0: " + (
        "Property 'memory-backend-ram.host-nodes.0' not found" if release == "5.2" else
        "Invalid parameter 'host-nodes.0'"))
    # policy bind: with the default policy QEMU refuses any host-nodes (model.hostmem)
    section = ('[object "m0"]\n  qom-type = "memory-backend-ram"\n  size = "128M"\n'
               '  policy = "bind"\n')
    scalar, listed = tmp_path / "s.cfg", tmp_path / "l.cfg"
    scalar.write_text(section + '  host-nodes = "0"\n')
    listed.write_text(section + '  host-nodes.0 = "0"\n')
    good, bad = (listed, scalar) if keyval else (scalar, listed)
    _ok(["-readconfig", str(good), *base], release)
    e = _error(["-readconfig", str(bad), *base], release)
    if keyval:
        assert e.message == f"{bad}:5: Invalid parameter type for 'host-nodes', expected: array"
    else:
        assert e.message.startswith(f"{bad}:1: ")


def test_writeconfig_and_readconfig_map_host_nodes(tmp_path: Path) -> None:
    line = ["-m", "128M", "-object", "memory-backend-ram,id=m0,size=128M,host-nodes=0-1,"
            "policy=bind", "-numa", "node,memdev=m0"]
    for target, want in [("10.0", ['host-nodes.0 = "0"', 'host-nodes.1 = "1"']),
                         ("6.0", ['host-nodes = "0-1"'])]:
        out = tmp_path / f"{target}.cfg"
        res = runner.invoke(app, ["writeconfig", "-o", str(out), "--target", target, "--",
                                  *line])
        assert res.exit_code == 0, res.output
        text = out.read_text()
        assert all(w in text for w in want), text
    res = runner.invoke(app, ["readconfig", str(tmp_path / "10.0.cfg")])
    assert res.exit_code == 0 and "host-nodes=0,host-nodes=1" in res.stdout
    res = runner.invoke(app, ["readconfig", "--target", "6.0", str(tmp_path / "10.0.cfg")])
    assert res.exit_code == 2


# ---------------------------------------------------------------- program names and arches

def test_program_names_ending_in_kvm_prefer_kvm(tmp_path: Path) -> None:
    args = tmp_path / "pve.args"
    args.write_text("/usr/bin/kvm -M pc -cpu host -smp 2\n")
    assert runner.invoke(app, ["slots", "--from-file", str(args)]).exit_code == 0
    for binary in ("/usr/bin/kvm", "qemu-kvm", "/usr/libexec/qemu-kvm"):
        res = runner.invoke(app, ["slots", "--format", "json", "--", binary, "-M", "pc",
                                  "-cpu", "host", "-smp", "2"])
        assert res.exit_code == 0, (binary, res.output)
    res = runner.invoke(app, ["slots", "--", "qemu-system-x86_64", "-cpu", "host"])
    assert res.exit_code == 2 and "requires KVM" in res.stderr


@pytest.mark.parametrize(("arch", "machine"), [("ppc64le", "pseries"), ("arm64", "virt"),
                                               ("amd64", "q35"), ("loong64", "virt")])
def test_arch_spellings(arch: str, machine: str) -> None:
    res = runner.invoke(app, ["explain", "--arch", arch, "--", "-M", machine])
    assert res.exit_code == 0, res.output
    binary = f"qemu-system-{arch}"
    res = runner.invoke(app, ["explain", "--", binary, "-M", machine])
    assert res.exit_code == 0, res.output


def test_unknown_arch_points_at_where_it_came_from() -> None:
    res = runner.invoke(app, ["slots", "--arch", "sparc9", "--", "-M", "pc"])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[1:3] == ["  --arch sparc9", "  " + "^" * 13]
    res = runner.invoke(app, ["slots", "--format", "json", "--", "qemu-system-sparc9", "-M",
                              "pc"])
    out = json.loads(res.stdout)
    assert out["kind"] == "input" and out["args"] == ["qemu-system-sparc9"]
    with pytest.raises(InputError):
        resolve(parse_argv(["-M", "pc"]), "10.0", "sparc9")


def test_memory_backend_without_object_is_refused(tmp_path: Path) -> None:
    e = _error(["-machine", "pc,memory-backend=pc.ram", "-m", "1G"], "10.0")
    assert e.message == "Memory backend 'pc.ram' not found"
    args = tmp_path / "libvirt.args"
    args.write_text("LC_ALL=C /usr/bin/qemu-system-x86_64 -machine pc,usb=off,"
                    "memory-backend=pc.ram -m 1024 -smp 2\n")
    res = runner.invoke(app, ["convert", "--format", "json", "--from-file", str(args)])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"] == "Memory backend 'pc.ram' not found"


@pytest.mark.parametrize(("release", "message", "hint"), [
    ("5.2", "mach-virt: CPU type cortex-r5f-arm-cpu not supported", None),
    ("8.2", "mach-virt: CPU type cortex-r5f-arm-cpu not supported", None),
    ("9.0", "Invalid CPU model: cortex-r5f", "The valid models are: cortex-a7, cortex-a15, "
     "cortex-a35, cortex-a55, cortex-a72, cortex-a76, cortex-a710, a64fx, neoverse-n1, "
     "neoverse-v1, neoverse-n2, cortex-a53, cortex-a57, max"),
])
def test_arm_virt_takes_only_its_cpu_models(release: str, message: str,
                                            hint: str | None) -> None:
    e = _error(["-M", "virt", "-cpu", "cortex-r5f"], release, "aarch64")
    assert (e.message, e.qemu_hint) == (message, hint)
    # a model the release lacks is not found first; one it has is taken
    assert "unable to find" in _error(["-M", "virt", "-cpu", "cortex-a55"], "7.2",
                                      "aarch64").message
    _ok(["-M", "virt", "-cpu", "cortex-a55"], "8.0", "aarch64")
