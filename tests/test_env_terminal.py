"""Terminal escapes (issue 15): text views show control characters as escapes, shell
output re-splits in real shells to exactly the JSON argv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_env_files import _words_in, invoke

# ---------------------------------------------------------------- terminal escapes

RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202e\udc80-\udcff]")
OSC_TITLE = "\x1b]0;PWNED\x07"  # sets the terminal title
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # writes the clipboard
HIDE_LINE = "x\x1b[1A\x1b[2K\r"  # moves up, erases the line, returns: hides the next one


@pytest.mark.parametrize(("args", "shown"), [
    (["parse", "--", "-name", OSC_TITLE, "-name", OSC52], "\\x1b]0;PWNED\\x07"),
    (["parse", "--", "-uuid", HIDE_LINE], "\\x1b[1A"),
    (["parse", "--", "-name", "a\u202eb\udcff"], "a\\u202eb\\xff"),
    (["slots", "--arch", "i386", "--", "-smp", "2", "-cpu", "x\x1b[2J"], "x\\x1b[2J"),
    (["explain", "--arch", "i386", "--", "-smp", "2", "-cpu", "x\x1b[2J"], "x\\x1b[2J"),
], ids=["parse OSC", "parse CSI", "parse bidi+byte", "slots", "explain"])
def test_text_views_show_control_characters(args: list[str], shown: str) -> None:
    """Before: ESC, BEL and CR went to the terminal raw from parse, slots and explain."""
    res = invoke(args)
    assert res.exit_code == 0, res.output
    out = res.stdout_bytes.decode("utf-8", "surrogateescape")
    assert not RAW_CONTROL.search(out), repr(out)
    assert shown in out


def _pty_run(args: list[str]) -> bytes:
    """Run the real CLI with stderr on a terminal (a pty); what the terminal received."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cmdxlate", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, close_fds=True)
    os.close(slave)
    got = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
    finally:
        proc.wait(60)
        os.close(master)
    return got


def test_batch_summary_on_a_terminal_shows_control_characters(tmp_path: Path) -> None:
    """The summary table (stderr on a terminal) quotes the first words of each error.

    Before: the title-setting sequence from the input line reached the terminal.
    """
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(["-cpu", OSC_TITLE + "x"]) + "\n"
                   + json.dumps(["-smp", "2"]) + "\n")
    screen = _pty_run(["batch", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert b"cmdxlate batch" in screen
    assert b"\x1b]0;PWNED" not in screen
    assert b"\\x1b]0;PWNED" in screen





SHELLS = [["sh"], ["dash"], ["bash"], ["bash", "--posix"], ["busybox", "sh"]]
SHELLS = [s for s in SHELLS if shutil.which(s[0])]
TRICKY_WORDS = [HIDE_LINE, OSC_TITLE, OSC52, "a\rb", "\x1b", "tab\there", "bell\x07",
                "del\x7f", "c1\x85\x9b", "bidi\u202eevil", "zw\u200bsp", "nb\u00a0sp",
                "ls\u2028ps\u2029", "byte\udcff\udc9b", "nl\nin", "nl at end\n", "\n\n",
                "\x1b\n", "mix\n\x1b\nend\n\n", "quote'\x1b'", "pct%\x1b%s", "bs\\\x1b\\0",
                "\u00e9\U0001f600\x1b"]


@pytest.mark.parametrize("shell", [s for s in SHELLS], ids=" ".join)
def test_shell_format_shows_what_the_shell_runs(shell: list[str]) -> None:
    """--format shell: only printable characters (and newlines) on screen, and every
    POSIX shell here (dash as sh, bash, bash --posix, busybox) re-splits it to the
    exact argv of --format json.

    Before: ESC and CR were printed raw, so ``-name $'x\\e[1A\\e[2K\\r'`` hid the
    following ``-drive file=/etc/shadow`` line on screen.
    """
    args = ["-M", "q35", "-smp", "2"]
    for i, w in enumerate(TRICKY_WORDS):
        args += ["-name", w, "-device", f"virtio-net-pci,id=n{i},romfile=" + w.replace(",", ",,")]
    args += ["-drive", "file=/etc/shadow"]
    sh = invoke(["convert", "--", *args])
    js = invoke(["convert", "--format", "json", "--", *args])
    assert sh.exit_code == 0 and js.exit_code == 0, sh.output
    out = sh.stdout_bytes.decode("utf-8", "surrogateescape")
    assert not RAW_CONTROL.search(out), repr(out)
    assert not re.search(r"[^\n\S ]|[\u0080-\u00a0\u2028\u2029\u200b]",
                         out.replace("\n", "")), "only printable characters"
    assert _words_in(shell, "\\\n" + out) == json.loads(js.stdout)


@pytest.mark.parametrize("cmd", ["readconfig", "writeconfig"])
def test_other_shell_outputs_quote_control_characters(tmp_path: Path, cmd: str) -> None:
    cfg = tmp_path / "vm.cfg"
    if cmd == "readconfig":
        cfg.write_text(f'[name]\n  guest = "{HIDE_LINE}"\n')
        args = ["readconfig", str(cfg)]
    else:
        args = ["writeconfig", "-o", str(cfg), "--", "-smp", "2", "-name", HIDE_LINE]
    res = invoke(args)
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert not RAW_CONTROL.search(out), repr(out)
    assert "printf '\\033'" in out
    words = _words_in(["sh"], "\\\n" + out)
    assert any(HIDE_LINE in w for w in words)


def test_json_output_is_ascii_with_control_characters_escaped() -> None:
    """JSON stays JSON: ensure_ascii escapes controls (\\u001b) and keeps bytes that were
    not UTF-8 as \\udcXX escapes (Python's surrogateescape), never raw bytes."""
    args = ["-smp", "2", "-name", OSC_TITLE + "\udcff\u202e"]
    for cmd in (["convert", "--format", "json"], ["parse", "--format", "json"]):
        res = invoke([*cmd, "--", *args])
        assert res.exit_code == 0
        assert res.stdout_bytes.isascii()
        assert "\\u001b]0;PWNED\\u0007" in res.stdout and "\\udcff" in res.stdout
        assert json.dumps(OSC_TITLE + "\udcff\u202e")[1:-1] in res.stdout


@pytest.mark.qemu
def test_verify_report_shows_control_characters(tmp_path: Path, qemu10_x86: object) -> None:
    """The verify report names the QEMU binary; a name with ESC/BEL is shown escaped."""
    from cmdxlate.oracle.qemu import QemuBinary

    assert isinstance(qemu10_x86, QemuBinary)
    link = tmp_path / ("q" + OSC_TITLE)
    link.symlink_to(os.path.realpath(qemu10_x86.path))
    res = invoke(["verify", "--qemu", str(link), "--", "-M", "q35", "-smp", "2"])
    assert res.exit_code == 0, res.output
    assert not RAW_CONTROL.search(res.stdout + res.stderr)
    assert "q\\x1b]0;PWNED\\x07" in res.stdout


