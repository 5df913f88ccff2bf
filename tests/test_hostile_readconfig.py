"""Hostile -readconfig files: read exactly as QEMU's reader reads them, or refused
(see hostile.py for the contract).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hostile import FUZZ_SMALL, _readconfig, check, invoke
from hypothesis import assume, given
from hypothesis import strategies as st

from cmdxlate.syntax.argv import parse_argv

# ---------------------------------------------------------------- 4. readconfig safety




@pytest.mark.parametrize(("content", "message"), [
    (b'[numa "x"]\n  type = "node"\n', "vm.cfg:2: Invalid parameter 'id'"),
    (b'[memory]\n  size = "1G"\n[numa]\n', "vm.cfg:2: Parameter 'type' is missing"),
])
def test_config_sections_qemu_refuses_when_it_uses_them(tmp_path: Path, content: bytes,
                                                       message: str) -> None:
    """QEMU reads these files; it refuses the -numa they hold when it parses -numa (at the
    section's last key line): readconfig converts them, resolving refuses them."""
    path = tmp_path / "vm.cfg"
    path.write_bytes(content)
    assert invoke(["readconfig", str(path)]).exit_code == 0
    res = invoke(["slots", "--format", "json", "--", "-readconfig", str(path)])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"] == f"{path}:{message.split(':', 1)[1]}"



@pytest.mark.parametrize(("name", "content", "message"), [
    ("huge", b'[machine]\n  type = "q35"\n' + b"# " + b"x" * (4 * 1024 * 1024), "larger than"),
    ("NUL bytes", b'[machine]\n  type = "q\0"\n', "NUL"),
    ("invalid UTF-8", b'[machine]\n  type = "\xff"\n', "UTF-8"),
    ("ELF", b"\x7fELF\x02\x01\x01" + bytes(range(1, 256)), "UTF-8"),
    ("10k-level brackets", b"[" * 10_000 + b"\n", "longer than 1023"),
    ("10k-level brackets closed", b"[" * 10_000 + b"]" * 10_000 + b"\n", "longer than 1023"),
    ("1000-level brackets", b"[" * 1000 + b"\n", "parse error"),
    ("nested header", b"[[machine]]\n", "parse error"),
    ("line of 1024", b'[machine]\n  type = "' + b"q" * 1013 + b'"\n', "longer than 1023"),
    ("very long line", b"[machine]\n" + b"x" * 100_000 + b"\n", "longer than 1023"),
    ("key with quote", b'[device "n0"]\n  a"b = "1"\n', None),
    ("unquoted value", b"[machine]\n  type = q35\n", "double-quoted"),
    ("unterminated value", b'[machine]\n  type = "q35\n', "vm.cfg:2"),
    ("entry before group", b'  type = "q35"\n', "no group"),
    ("unknown group", b"[no-such-group]\n", "no option group"),
    ("header with space", b"[a b]\n", "parse error"),
    ("CR only", b'[machine]\r  type = "q35"\r', "parse error"),
])
def test_hostile_config_files(cfgfile: Any, tmp_path: Path, name: str, content: bytes,
                              message: str | None) -> None:
    path = tmp_path / "vm.cfg"
    path.write_bytes(content)
    res = _readconfig(path)
    if message is None:
        assert res.exit_code in (0, 2)
        check(res, "json", "readconfig")
        return
    assert res.exit_code == 2, res.stdout[:200]
    assert message in json.loads(res.stdout)["error"]
    res = invoke(["readconfig", str(path)])
    assert res.exit_code == 2 and res.stderr.startswith("cmdxlate: error:")
    res = invoke(["slots", "--", "-readconfig", str(path)])
    # cmdxlate's own refusals name the option; QEMU's messages carry QEMU's FILE:LINE.
    assert res.exit_code == 2 and res.stderr.startswith(
        ("cmdxlate: error: -readconfig", f"cmdxlate: error: {path}:"))


def test_readconfig_line_limit_is_exact(cfgfile: Any, tmp_path: Path) -> None:
    """QEMU reads 1023 bytes per fgets call: a 1023-byte line (its newline then comes
    alone and is skipped as an empty line) is read whole, a 1024-byte line is cut.
    Measured with QEMU 10.0.2: a 1023-byte `guest = "..."` line gives the full name."""
    ok = tmp_path / "ok.cfg"
    value = "q" * (1023 - len('  type = ""'))
    ok.write_text(f'[machine]\n  type = "{value}"\n')
    res = _readconfig(ok)
    assert res.exit_code == 0, res.stdout
    assert json.loads(res.stdout) == ["-machine", f"type={value}"]
    bad = tmp_path / "bad.cfg"
    bad.write_text(f'[machine]\n  type = "{value}q"\n')
    assert _readconfig(bad).exit_code == 2
    wide = tmp_path / "wide.cfg"  # 1023 characters, 1024 bytes
    wide.write_text(f'[machine]\n  type = "{value[1:]}\u00e9"\n')
    assert _readconfig(wide).exit_code == 2


@pytest.mark.parametrize("value", ['a"b', "a\nb", "a\rb", "x" * 1024, "x" * 1005])
def test_writeconfig_never_truncates(cfgfile: Any, tmp_path: Path, value: str) -> None:
    """A value QEMU's reader cannot carry stays on the command line (or is refused)."""
    out = tmp_path / "vm.cfg"
    dev = f"virtio-net-pci,id=n0,romfile={value}"
    res = invoke(["writeconfig", "-o", str(out), "--format", "json", "--", "-machine", "q35",
                  "-smp", "2,maxcpus=4", "-device", dev])
    if res.exit_code == 2:
        assert "error" in json.loads(res.stdout)
        assert not out.exists()
        return
    assert res.exit_code == 0, res.stderr
    rest = json.loads(res.stdout)
    text = out.read_text(encoding="utf-8")
    if dev in rest:
        assert "romfile" not in text
    else:
        sections = cfgfile.read_config_file(out)
        dev_secs = [s for s in sections if s.group == "device" and s.id == "n0"]
        assert [dict(s.entries)["romfile"] for s in dev_secs] == [value]


def test_writeconfig_keeps_uncarriable_devices_whole(cfgfile: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "vm.cfg"
    argv = ["-M", "pc", "-smp", "2", "-device", 'virtio-net-pci,id=n0,romfile=a"b',
            "-device", "e1000,id=n1,romfile=" + "x" * 2000]
    res = invoke(["writeconfig", "-o", str(cfg), "--format", "json", "--", *argv])
    assert res.exit_code == 0, res.output
    rest = json.loads(res.stdout)
    assert 'virtio-net-pci,id=n0,romfile=a"b' in rest
    assert "e1000,id=n1,romfile=" + "x" * 2000 in rest
    text = cfg.read_text()
    assert 'a"b' not in text and "romfile" not in text


def _meaning(argv: list[str]) -> dict[str, list[Any]]:
    """Per option name, the options in order, each as what QEMU would see.

    Repeated keys: the last wins, except QemuOpts' ``id``, where the first does.
    -smp options merge into one, as QEMU merges them (a -readconfig file's
    ``[smp-opts]`` is read as one -smp per line).
    """
    out: dict[str, list[Any]] = {}
    for o in parse_argv(argv).options:
        if o.name in ("machine", "smp", "m", "numa", "device", "object") and o.value:
            if o.is_json:
                what: Any = o.json
            else:
                opts = o.opts
                assert opts is not None
                what = {p.key: p.value for p in opts.pairs}
                if opts.dialect == "qemuopts" and opts.id is not None:
                    what["id"] = opts.id
        else:
            what = o.args()
        if o.name == "smp" and out.get("smp"):
            out["smp"][0].update(what)
            continue
        out.setdefault(o.name or "", []).append(what)
    return out


cfg_unsafe_value = st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]),
                           max_size=40)


@FUZZ_SMALL
@given(name=cfg_unsafe_value, romfile=cfg_unsafe_value, size=st.sampled_from(["1G", "512M"]),
       key=st.sampled_from(["romfile", "bootindex", "x-y", "a.b", "addr"]),
       extra=st.sampled_from(["", ",noromfile", ",romfile=x", ",id=n1", ",,"]))
def test_writeconfig_round_trip(cfgfile: Any, name: str, romfile: str, size: str, key: str,
                                extra: str) -> None:
    """What writeconfig moves to the file reads back as exactly what it moved."""
    argv = ["-machine", "q35", "-smp", "2,maxcpus=4", "-name", name, "-m", "2G",
            "-object", f"memory-backend-ram,id=m0,size={size}",
            "-device", f"virtio-net-pci,id=n0,{key}={romfile}{extra}",
            "-device", "e1000,id=n2"]
    ref = invoke(["convert", "--format", "json", "--", *argv])
    assume(ref.exit_code == 0)
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "vm.cfg")
        res = invoke(["writeconfig", "-o", cfg, "--format", "json", "--", *argv])
        assert res.exit_code == 0, res.stdout + res.stderr
        rest = json.loads(res.stdout)
        back = invoke(["readconfig", cfg, "--format", "json"])
        assert back.exit_code == 0, back.stdout
        from_file = json.loads(back.stdout)
        at = rest.index("-readconfig")
        assert rest[at + 1] == cfg
        expanded = rest[:at] + from_file + rest[at + 2:]
        assert _meaning(expanded) == _meaning(json.loads(ref.stdout))
        # And byte for byte: each value in the file is the value on the line.
        for sec in cfgfile.read_config_file(cfg):
            if sec.group == "device" and sec.id == "n0":
                assert dict(sec.entries)[key] == _meaning(argv)["device"][0][key]


