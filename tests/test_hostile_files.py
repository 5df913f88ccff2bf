"""Hostile files: outputs, inputs that are not regular files, batch sources
(see hostile.py for the contract).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import HANG_GUARD_SECONDS, RUNNER, check, invoke

import cmdxlate.syntax.shell as shellwords
from cmdxlate.cli.app import app

# ---------------------------------------------------------------- 3. files

def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


TEXT_FORMAT = {"convert": "shell", "writeconfig": "shell", "batch": "text"}
OUTPUT_COMMANDS = {
    "convert": lambda out, *extra: ["convert", "-o", out, *extra, "--", "-smp", "2"],
    "writeconfig": lambda out, *extra: ["writeconfig", "-o", out, *extra, "--", "-smp", "2"],
}


@pytest.mark.parametrize("cmd", ["convert", "writeconfig"])
def test_output_not_written_when_command_fails(tmp_path: Path, cmd: str) -> None:
    out = tmp_path / "out"
    res = invoke([cmd, "-o", str(out), "--", "-smp", "99999999999999999999"])
    assert res.exit_code == 2
    assert _names(tmp_path) == []


def test_output_not_written_when_batch_target_fails(tmp_path: Path) -> None:
    res = invoke(["batch", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert _names(tmp_path) == []


def test_output_unchanged_when_write_fails_midway(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails after the temp file exists leaves the old file and no temp file."""
    out = tmp_path / "out.args"
    out.write_text("old\n")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    res = RUNNER.invoke(app, ["convert", "--force", "-o", str(out), "--", "-smp", "2"])
    assert res.exit_code != 0
    assert out.read_text() == "old\n"
    assert _names(tmp_path) == ["out.args"]


@pytest.mark.parametrize("cmd", ["convert", "writeconfig"])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o755])
def test_force_keeps_permission_bits(tmp_path: Path, cmd: str, mode: int) -> None:
    out = tmp_path / "out"
    out.write_text("old\n")
    out.chmod(mode)
    res = invoke(OUTPUT_COMMANDS[cmd](str(out), "--force"))
    assert res.exit_code == 0, res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert out.read_text() != "old\n"
    assert _names(tmp_path) == ["out"]


def test_new_output_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        res = invoke(["convert", "-o", str(tmp_path / "out"), "--", "-smp", "2"])
    finally:
        os.umask(old)
    assert res.exit_code == 0
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o640


@pytest.mark.parametrize("cmd", ["convert", "writeconfig", "batch"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_refuses_to_overwrite_without_force(tmp_path: Path, cmd: str, fmt: str) -> None:
    out = tmp_path / "out"
    out.write_text("precious\n")
    if cmd == "batch":
        src = tmp_path / "in.jsonl"
        src.write_text('["-smp", "2"]\n')
        args = ["batch", str(src), "-o", str(out)]
    else:
        args = OUTPUT_COMMANDS[cmd](str(out))
    args.insert(1, "--format=json" if fmt == "json" else "--format=" + TEXT_FORMAT[cmd])
    res = invoke(args)
    assert res.exit_code == 2
    msg = json.loads(res.stdout)["error"] if fmt == "json" else res.stderr
    assert "--force" in msg
    if fmt == "text":
        assert res.stderr.startswith("cmdxlate: error:")
    assert out.read_text() == "precious\n"
    assert "out" in _names(tmp_path) and not any(n.startswith(".") for n in _names(tmp_path))


@pytest.mark.parametrize("cmd", ["convert", "writeconfig", "batch"])
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("dangling", [False, True])
def test_refuses_to_write_through_symlink(tmp_path: Path, cmd: str, force: bool,
                                          dangling: bool) -> None:
    target = tmp_path / "target"
    if not dangling:
        target.write_text("precious\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    extra = ["--force"] if force else []
    if cmd == "batch":
        src = tmp_path / "in.jsonl"
        src.write_text('["-smp", "2"]\n')
        args = ["batch", "--format=text", str(src), "-o", str(link), *extra]
    else:
        args = OUTPUT_COMMANDS[cmd](str(link), *extra)
    res = invoke(args)
    assert res.exit_code == 2
    assert res.stderr.startswith("cmdxlate: error:")
    assert link.is_symlink()
    if dangling:
        assert not target.exists()
    else:
        assert target.read_text() == "precious\n"
    assert not [n for n in _names(tmp_path) if n.startswith(".")]


def test_refuses_directory_as_output(tmp_path: Path) -> None:
    res = invoke(["convert", "--force", "-o", str(tmp_path), "--", "-smp", "2"])
    assert res.exit_code == 2
    assert res.stderr.startswith("cmdxlate: error:")
    assert _names(tmp_path) == []


@pytest.mark.parametrize("size_delta", [0, 1])
def test_from_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              size_delta: int) -> None:
    monkeypatch.setattr(shellwords, "MAX_INPUT_BYTES", 64)
    line = b"-smp 2 -name " + b"x" * 64
    path = tmp_path / "guest.args"
    path.write_bytes(line[: 64 + size_delta])
    res = invoke(["convert", "--from-file", str(path)])
    if size_delta:
        assert res.exit_code == 2
        assert res.stderr.startswith("cmdxlate: error:")
        assert "larger than 64 bytes" in res.stderr
    else:
        assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b"-smp 2 -name a\0b", "NUL"),
    (b"-smp 2 -name \xff\xfe", "UTF-8"),
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "binary"),
    (b"-smp 2 -name 'unterminated", "unterminated single quote"),
    (b'-smp 2 -name "unterminated', "unterminated double quote"),
    (b"-smp 2 -name $(reboot)", "not supported"),
    (b"-smp 2 -name `reboot`", "not supported"),
    (b"-smp 2 ; reboot", "not supported"),
    (b"-smp 2 -name \\", "trailing backslash"),
], ids=["NUL", "not UTF-8", "ELF", "single quote", "double quote", "$()", "backquote", ";",
        "backslash"])
@pytest.mark.parametrize("cmd", ["convert", "slots", "parse", "explain"])
def test_from_file_refuses_binary_and_shell_syntax(tmp_path: Path, content: bytes, message: str,
                                                   cmd: str) -> None:
    path = tmp_path / "guest.args"
    path.write_bytes(content)
    res = invoke([cmd, "--from-file", str(path)])
    assert res.exit_code == 2
    assert res.stderr.startswith("cmdxlate: error:")
    assert message in res.stderr.split("\n")[0]


def test_from_file_missing_or_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path):
        res = invoke(["convert", "--from-file", str(path)])
        assert res.exit_code == 2
        assert res.stderr.startswith("cmdxlate: error:")
        assert str(path) in res.stderr



# ---------------------------------------------------------------- batch sources

def _hostile_args_dir(root: Path) -> list[str]:
    (root / "sub").mkdir()
    files = {"ok.args": b"-smp 2\n", "latin1.args": b"-smp 2 -name \xff\n",
             "nul.args": b"-smp 2\0\n", "shell.args": b"-smp $(reboot)\n",
             "elf.args": b"\x7fELF" + bytes(range(256)), "sub/deep.args": b"-smp 4,maxcpus=8\n",
             "empty.args": b"", "quote.args": b"-name 'open\n"}
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "dangling.args").symlink_to(root / "missing")
    (root / "sub" / "loop").symlink_to(root)
    return sorted(files) + ["dangling.args"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_over_a_hostile_folder(tmp_path: Path, jobs: str) -> None:
    names = _hostile_args_dir(tmp_path)
    res = invoke(["batch", str(tmp_path), "--jobs", jobs, "--op", "slots"])
    assert check(res, "json", "batch") == "ok"
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(lines) == len(names)
    assert sum("slots" in x for x in lines) == 3  # ok, sub/deep and empty (defaults)


def test_batch_folder_with_fifo(tmp_path: Path) -> None:
    """A FIFO named x.args in a batch folder is an error line, not a hang."""
    (tmp_path / "ok.args").write_text("-smp 2\n")
    os.mkfifo(tmp_path / "stuck.args")
    try:
        proc = subprocess.run([sys.executable, "-m", "cmdxlate", "batch", str(tmp_path)],
                              capture_output=True, timeout=HANG_GUARD_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("batch hung on a FIFO")
    assert proc.returncode == 2  # a line failed; every record is still written
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(lines) == 2 and sum("error" in x for x in lines) == 1


