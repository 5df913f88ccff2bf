"""Convert, readconfig round trips and the command-line interface (no QEMU needed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from cmdxlate.catalog import Catalog
from cmdxlate.catalog.options import option_lifetime
from cmdxlate.cli.app import app
from cmdxlate.emit.convert import convert
from cmdxlate.emit.readconfig import sections_to_argv, split_for_config
from cmdxlate.error import CmdxlateError
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv
from cmdxlate.syntax.config import ConfigFileError, ConfigSection, format_config, parse_config
from cmdxlate.syntax.shell import read_command_file, split
from cmdxlate.syntax.source import expand_readconfig
from cmdxlate.testing.strategies import FAMILIES, topology_lines

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
runner = CliRunner()


def _conv(argv: list[str], arch: str | None = None, target: str = "10.0") -> list[str]:
    cl = parse_argv(argv)
    return convert(cl, resolve(cl, target, arch)).argv()


def _same_cpus(a: list[str], b: list[str], arch: str | None, target: str = "10.0") -> None:
    ta, tb = resolve(parse_argv(a), target, arch), resolve(parse_argv(b), target, arch)
    assert ta.hotpluggable_cpus() == tb.hotpluggable_cpus()
    assert ta.present_cpus() == tb.present_cpus()


# ------------------------------------------------------------------ convert

def test_convert_q35_example() -> None:
    out = _conv(["-machine", "q35", "-smp", "4,maxcpus=8", "-name", "g"])
    assert out == [
        "-machine", "q35", "-smp", "cpus=1,maxcpus=8,sockets=1,dies=1,modules=1,cores=8,threads=1",
        "-device", "qemu64-x86_64-cpu,id=vcpu1,socket-id=0,core-id=1,thread-id=0",
        "-device", "qemu64-x86_64-cpu,id=vcpu2,socket-id=0,core-id=2,thread-id=0",
        "-device", "qemu64-x86_64-cpu,id=vcpu3,socket-id=0,core-id=3,thread-id=0",
        "-name", "g"]


def test_convert_pseries_keeps_one_core_and_pins_numa() -> None:
    argv = ["-M", "pseries", "-m", "512M", "-smp", "4,maxcpus=8,threads=2,sockets=2",
            "-object", "memory-backend-ram,id=m0,size=256M",
            "-object", "memory-backend-ram,id=m1,size=256M",
            "-numa", "node,memdev=m0", "-numa", "node,memdev=m1"]
    out = _conv(argv, "ppc64")
    assert "cpus=2,maxcpus=8,sockets=2,cores=2,threads=2" in out
    assert "power10_v2.0-spapr-cpu-core,id=vcpu1,core-id=2,node-id=0" in out
    assert [a for a in out if a.startswith("cpu,")] == [
        "cpu,node-id=0,core-id=0", "cpu,node-id=0,core-id=2", "cpu,node-id=1,core-id=4",
        "cpu,node-id=1,core-id=6"]
    _same_cpus(argv, out, "ppc64")


def test_convert_keeps_existing_device_cpus_and_ids() -> None:
    argv = ["-M", "pc", "-smp", "2,sockets=2,cores=2,maxcpus=4", "-device",
            "qemu64-x86_64-cpu,id=vcpu1,socket-id=1,core-id=1,thread-id=0"]
    out = _conv(argv)
    assert out.count("-device") == 2
    assert "qemu64-x86_64-cpu,id=vcpu1-1,socket-id=0,core-id=1,thread-id=0" in out
    _same_cpus(argv, out, None)


def test_machine_without_cpu_hotplug_passes_through() -> None:
    """QEMU starts these lines and creates every CPU itself: the conversion is the line,
    with a warning saying so (it once failed as if QEMU refused the line)."""
    for argv, arch in ((["-M", "virt", "-smp", "2", "-name", "a,,b"], "aarch64"),
                       (["-M", "microvm", "-smp", "2"], "x86_64")):
        cl = parse_argv(argv)
        topo = resolve(cl, "10.0", arch)
        assert convert(cl, topo).argv() == argv
        assert any("no hot-pluggable CPUs" in w for w in topo.warnings)
        with pytest.raises(CmdxlateError, match="machine does not support hot-plugging CPUs"):
            topo.hotpluggable_cpus()


NON_TOPOLOGY = ["-name", "guest=a,debug-threads=on", "-device",
                '{"driver":"virtio-blk-pci","id":"d0"}', "-drive", "file=/x,,y.img,if=none",
                "-S", "-nodefaults"]


@pytest.mark.parametrize("family", [f for f in FAMILIES])
def test_convert_properties(family: str) -> None:
    target = FAMILIES[family].get("target", "10.0")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(topology_lines(family, True))
    def run(line: tuple[str, list[str]]) -> None:
        arch, argv = line
        argv = argv + NON_TOPOLOGY
        try:
            once = _conv(argv, arch, target)
        except CmdxlateError as e:
            assert "hot-plugging" not in e.message
            return
        if family in ("arm-virt", "riscv"):  # no CPU hotplug: the line is its conversion
            assert once == argv
            return
        twice = _conv(once, arch, target)
        assert twice == once, "convert is not idempotent"
        _same_cpus(argv, once, arch, target)
        assert _others(once) == _others(argv), "non-topology arguments changed or moved"
        # readconfig(writeconfig(x)) gives back the same CPUs
        split_ = split_for_config(_groups(once))
        text = format_config(split_.sections)
        back, _ = sections_to_argv(parse_config(text))
        rest = [w for g in split_.argv for w in g]
        _same_cpus(argv, rest[:0] + back + rest, arch, target)

    run()


def _others(argv: list[str]) -> list[list[str]]:
    """Options that are not topology: not -machine/-smp/-numa, not CPU devices."""
    out = []
    for o in parse_argv(argv).options:
        if o.name in ("machine", "smp", "numa"):
            continue
        if o.name == "device" and (o.get("driver") or "").endswith(("-cpu", "-cpu-core")):
            continue
        out.append(o.args())
    return out


def _groups(argv: list[str]) -> list[list[str]]:
    return [o.args() for o in parse_argv(argv).options]


# Boards that bound -m in their init functions (g3beige, mac99, powernv): QEMU's words.
BOARD_RAM = ("Too much memory for this machine: ", "RAM size more than 2 GiB",
             "Invalid RAM size, should be bigger than ")


def _check_corpus_file(path: Path) -> None:
    sc = read_command_file(str(path))
    cl = parse_argv(sc.args, sc.binary, sc.env)
    if cl.arch not in ("x86_64", "ppc64", "s390x"):
        # aarch64, riscv64, arm, ppc, i686, sparc, loongarch64 lines in this corpus:
        # either convert, or are refused with QEMU's reason or an honest "unknown".
        try:
            topo = resolve(cl, "10.0")
            out = convert(cl, topo)
            assert out.argv() if topo.machine.hotpluggable_cpus else (
                out.argv() == cl.to_argv())
        except CmdxlateError as e:
            rejected_by_qemu = ("Number of SMP CPUs requested (16) exceeds max CPUs supported",)
            assert (
                e.message.startswith(rejected_by_qemu + BOARD_RAM) or
                e.message.startswith('unsupported machine type: "')
                or e.message.endswith(": invalid option")
                or e.message.startswith("unknown architecture")), e.message
        return
    if "hvf" in [o.value for o in cl.find("accel")]:
        # A macOS line: a Linux QEMU has no hvf, and refuses it as cmdxlate does.
        with pytest.raises(CmdxlateError, match="invalid (accelerator hvf|option)"):
            resolve(cl, "10.0")
        return
    try:
        topo = resolve(cl, "10.0")
    except CmdxlateError as e:
        if e.message.startswith("unsupported machine type"):
            topo = resolve(cl, "7.2")  # the machine version left QEMU 10.0
        elif e.message.endswith(": invalid option"):
            # An option QEMU 10.0 no longer has (-no-acpi): the newest release with it.
            span = option_lifetime(e.message.split(":")[0].lstrip("-"))
            if span is None:
                return  # no release has it ("-unknown parameter"): QEMU refuses the line
            having = [v for v in Catalog.builtin().targets if v in span]
            if not having:
                return  # every modelled release refuses it, as QEMU does
            topo = resolve(cl, str(max(having)))
        elif e.message.startswith(BOARD_RAM):
            return  # the board's own RAM bound, as QEMU refuses it (test_qemu_rules.py)
        elif path.name == "migrate-numa-unaligned.x86_64-latest.args":
            assert e.message == ("total memory for NUMA nodes (0x5e27f9000) should equal RAM "
                                 "size (0x380200000)")
            return
        else:
            raise
    if not topo.machine.hotpluggable_cpus:
        assert topo.machine.board == "no-cpu-hotplug"  # powernv, mac99, ...
        return
    out = convert(cl, topo)
    cl2 = parse_argv(out.argv(), cl.binary)
    t2 = resolve(cl2, str(topo.machine.target))
    assert t2.hotpluggable_cpus() == topo.hotpluggable_cpus()
    assert t2.present_cpus() == topo.present_cpus()


@pytest.mark.shared
def test_corpus_converts(libvirt_corpus: list[Path]) -> None:
    """Every libvirt .args file of ../shared converts to a line with the same CPUs, or is
    refused for QEMU's own reason."""
    problems = {}
    for path in libvirt_corpus:
        try:
            _check_corpus_file(path)
        except (AssertionError, CmdxlateError) as e:
            problems[path.name] = f"{type(e).__name__}: {e}"[:300]
    assert problems == {}


# ------------------------------------------------------------------ readconfig files

def test_live_readconfig_files_parse() -> None:
    cfg = (DATA / "live-10.0.2" / "readconfig-numa-disjoint.cfg").read_text()
    secs = parse_config(cfg)
    numa = [s for s in secs if s.group == "numa"]
    assert numa[0].entries[-2:] == [("cpus", "0"), ("cpus", "2")]
    assert numa[0].last_wins()["cpus"] == "2"
    argv, warnings = sections_to_argv(secs)
    assert "type=node,nodeid=0,memdev=m0,cpus=2" in argv
    assert any("repeats cpus" in w for w in warnings)


@pytest.mark.parametrize("text,message", [
    ('[smp-opts]\n  cpus = 2\n', "value must be double-quoted"),
    ('  cpus = "2"\n', "no group defined"),
    ('[smp-opts]\n   \n', "parse error"),
    ("[machine]\n" + "  type = \"" + "x" * 1100 + "\"\n", "longer than 1023"),
])
def test_readconfig_rejects(text: str, message: str) -> None:
    with pytest.raises(ConfigFileError, match=message):
        parse_config(text)


def test_writer_refuses_what_qemu_cannot_read() -> None:
    for value in ('a"b', "a\nb", "x" * 1024):
        with pytest.raises(ConfigFileError):
            format_config([ConfigSection("device", "d0", [("romfile", value)])])


def test_expand_readconfig_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path is read from the current folder, as QEMU reads it (issue 15)."""
    (tmp_path / "a.cfg").write_text('[smp-opts]\n  cpus = "2"\n  maxcpus = "4"\n')
    monkeypatch.chdir(tmp_path)
    cl = expand_readconfig(parse_argv(["-M", "pc", "-readconfig", "a.cfg"]), "/elsewhere")
    assert resolve(cl).smp.maxcpus == 4


# ------------------------------------------------------------------ CLI

def test_version_and_help_examples() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.startswith("cmdxlate ")
    for cmd in ("parse", "slots", "convert", "writeconfig", "readconfig", "verify", "probe",
                "explain", "batch", "plan"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, cmd
        assert "Example" in res.stdout, cmd


def test_error_is_one_line_with_caret_and_exit_2() -> None:
    res = runner.invoke(app, ["slots", "--", "-M", "pc", "-smp", "8,sockets=3"])
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    # QEMU prints no location for this error, so neither does the message; the caret
    # below it points at the option for a person.
    assert lines[0].startswith("cmdxlate: error: Invalid CPU topology")
    assert lines[2].strip().startswith("^")
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["slots", "--format", "json", "--", "-smp", "8,sockets=3"])
    assert res.exit_code == 2 and "error" in json.loads(res.stdout)


def test_shell_output_resplits_to_the_json_argv() -> None:
    args = ["-M", "q35", "-smp", "2,maxcpus=4", "-name", "it's a \"test\" $HOME `x`"]
    sh = runner.invoke(app, ["convert", "--", *args])
    js = runner.invoke(app, ["convert", "--format", "json", "--", *args])
    assert sh.exit_code == 0 and js.exit_code == 0
    assert split(sh.stdout) == json.loads(js.stdout)
    script = "set -- " + sh.stdout.replace("\n", "\n") + "\nprintf '%s\\0' \"$@\""
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[:-1] == json.loads(js.stdout)


def test_output_file_is_atomic_and_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "o.args"
    res = runner.invoke(app, ["convert", "-o", str(out), "--", "-smp", "2,maxcpus=4"])
    assert res.exit_code == 0 and out.read_text().startswith("-smp")
    os.chmod(out, 0o640)
    res = runner.invoke(app, ["convert", "-o", str(out), "--", "-smp", "2"])
    assert res.exit_code == 2 and "--force" in res.stderr
    res = runner.invoke(app, ["convert", "-o", str(out), "--force", "--", "-smp", "2"])
    assert res.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.args"]
    link = tmp_path / "link"
    link.symlink_to(out)
    res = runner.invoke(app, ["convert", "-o", str(link), "--force", "--", "-smp", "2"])
    assert res.exit_code == 2 and "symbolic link" in res.stderr


def test_writeconfig_then_readconfig(tmp_path: Path) -> None:
    cfg = tmp_path / "vm.cfg"
    argv = ["-M", "pc", "-smp", "2,maxcpus=4", "-cpu", "qemu64", "-name", "n"]
    res = runner.invoke(app, ["writeconfig", "-o", str(cfg), "--format", "json", "--", *argv])
    assert res.exit_code == 0, res.output
    rest = json.loads(res.stdout)
    assert rest == ["-readconfig", str(cfg), "-cpu", "qemu64", "-name", "n"]
    res = runner.invoke(app, ["readconfig", str(cfg), "--format", "json", "--", "-cpu", "qemu64"])
    assert res.exit_code == 0, res.output
    back = json.loads(res.stdout)
    _same_cpus(argv, back, None)
    res = runner.invoke(app, ["writeconfig", "-o", str(cfg), "--", *argv])
    assert res.exit_code == 2


def test_batch_jsonl_keeps_order_and_survives_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([json.dumps(["-smp", "2,maxcpus=4"]), "not json",
                              json.dumps({"argv": ["-smp", "8,sockets=3"]}),
                              json.dumps({"argv": ["-M", "q35"]})]) + "\n")
    res = runner.invoke(app, ["batch", str(src), "--op", "slots"])
    assert res.exit_code == 2, res.output  # some lines failed; every record is written
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [list(o)[1] for o in out] == ["slots", "error", "error", "slots"]
    assert [o["input"] for o in out] == [f"{src}:{n}" for n in (1, 2, 3, 4)]
    assert len(out[0]["slots"]) == 4
    res = runner.invoke(app, ["batch", str(src), "--jobs", "2"])
    assert [list(json.loads(x))[1] for x in res.stdout.splitlines()] == [
        "argv", "error", "error", "argv"]


def test_explain_draws_the_tree() -> None:
    res = runner.invoke(app, ["explain", "--", "-M", "pc-q35-6.1", "-smp", "4,maxcpus=8"])
    assert res.exit_code == 0
    assert "pc-q35-6.1 prefers sockets" in res.stdout
    assert "socket 7" in res.stdout and "empty slot" in res.stdout
    res = runner.invoke(app, ["explain", "--format", "json", "--", "-smp", "2"])
    data = json.loads(res.stdout)
    assert data["smp"]["cores"]["value"] == 2
    assert [s["state"] for s in data["slots"]] == ["boot", "boot"]


def test_explain_shows_memory_only_nodes() -> None:
    res = runner.invoke(app, ["explain", "--", "-M", "q35", "-smp", "2", "-m", "1G",
                              "-object", "memory-backend-ram,id=a,size=512M",
                              "-object", "memory-backend-ram,id=b,size=512M",
                              "-numa", "node,memdev=a,cpus=0-1", "-numa", "node,memdev=b"])
    assert res.exit_code == 0, res.output
    assert "NUMA node 1 (512 MiB): no CPUs" in res.stdout


def test_explain_shows_cpu_indexes_and_device_ids() -> None:
    """pseries threads take cpu-index core-id and up (as query-cpus-fast reports)."""
    res = runner.invoke(app, ["explain", "--format", "json", "--target", "10.0", "--", "-M",
                              "pseries", "-smp", "2,threads=2,maxcpus=6", "-device",
                              "power10_v2.0-spapr-cpu-core,core-id=4,id=c4"])
    assert res.exit_code == 0, res.output
    slots = json.loads(res.stdout)["slots"]
    assert [s["cpu-index"] for s in slots] == [[0, 1], [2, 3], [4, 5]]
    assert [s.get("device-id") for s in slots] == [None, None, "c4"]
    res = runner.invoke(app, ["explain", "--target", "10.0", "--", "-M", "pseries", "-smp",
                              "2,threads=2,maxcpus=6",
                              "-device", "power10_v2.0-spapr-cpu-core,core-id=4,id=c4"])
    assert "core 4 (2 threads): -device CPU id=c4 cpu-index 4-5" in res.stdout


def test_console_entry_point() -> None:
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-m", "cmdxlate", "slots", "--format", "json", "--",
                          "-smp", "2"], capture_output=True, text=True, env=env)
    assert res.returncode == 0 and len(json.loads(res.stdout)) == 2
    res = subprocess.run([sys.executable, "-m", "cmdxlate", "convert", "--", "-smp", "x"],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2
    assert res.stderr.startswith("cmdxlate: error: Parameter 'smp.cpus' expects integer")


def test_completion_offers_qemu_options_after_dashdash() -> None:
    from cmdxlate.cli.app import complete_qemu_args

    assert complete_qemu_args("-sm") == ["-smbios", "-smp"]
    assert "-numa" in complete_qemu_args("-nu")
    assert complete_qemu_args("disk") == []
    env = dict(os.environ, _CMDXLATE_COMPLETE="complete_bash",
               COMP_WORDS="cmdxlate convert -- -smp 4 -nu", COMP_CWORD="5")
    res = subprocess.run([sys.executable, "-m", "cmdxlate"], env=env, capture_output=True,
                         text=True)
    assert "-numa" in res.stdout.split()


# ------------------------------------------------------------------ plain-value options

@pytest.mark.parametrize(("args", "shown"), [
    (["-uuid", "c0ffee00-0000-4000-8000-000000000001"], "c0ffee00-0000-4000-8000-000000000001"),
    (["-pidfile", "/run/qemu/vm.pid"], "/run/qemu/vm.pid"),
    (["-k", "en-us"], "en-us"),
    (["-serial", "mon:stdio"], "mon:stdio"),
    (["-monitor", "unix:/tmp/m,server=on,wait=off"], "unix:/tmp/m,server=on,wait=off"),
    (["-kernel", "vmlinuz"], "vmlinuz"),
    (["-hda", "a,b.img"], "a,b.img"),
    (["-d", "in_asm,cpu"], "in_asm,cpu"),
    (["-prom-env", "auto-boot?=false"], "auto-boot?=false"),
    (["--no-such-option", "x=1"], "x=1"),
])
def test_parse_shows_plain_string_options_as_values(args: list[str], shown: str) -> None:
    """Only options QEMU 10.0 parses as option strings get key=value pairs (issue 10).

    Before: every option not in OPTION_SYNTAX was read as QemuOpts, so -uuid X showed
    as the pair X=on.
    """
    res = runner.invoke(app, ["parse", "--format", "json", "--", *args])
    assert res.exit_code == 0, res.output
    [opt] = json.loads(res.stdout)["options"]
    assert "pairs" not in opt and opt["args"][1] == shown
    res = runner.invoke(app, ["parse", "--", *args])
    assert shown in res.stdout and f"{shown}=on" not in res.stdout


@pytest.mark.parametrize(("args", "pairs"), [
    (["-name", "vm1"], [["guest", "vm1"]]),
    (["-audio", "pa,model=hda"], [["driver", "pa"], ["model", "hda"]]),
    (["-plugin", "libhowvec.so,inline=on"], [["file", "libhowvec.so"], ["inline", "on"]]),
    (["-boot", "menu=on"], [["menu", "on"]]),
    (["-drive", "file=a.img,if=none"], [["file", "a.img"], ["if", "none"]]),
])
def test_parse_shows_option_strings_as_pairs(args: list[str], pairs: list[list[str]]) -> None:
    res = runner.invoke(app, ["parse", "--format", "json", "--", *args])
    [opt] = json.loads(res.stdout)["options"]
    assert opt["pairs"] == pairs
