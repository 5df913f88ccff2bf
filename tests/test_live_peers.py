"""--qmp options and bad peers: a missing socket, not QMP, a hung or busy QEMU end with
one message and exit 4 within --timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest
from test_live import Vm, cli, fake_server

# ---------------------------------------------------------------- options

@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9"])
def test_timeout_is_validated(value: str, tmp_path: Any) -> None:
    res = cli("slots", "--qmp", str(tmp_path / "none"), "--timeout", value, "--", "-smp", "2")
    assert res.exit_code == 2
    assert "--timeout" in res.stderr and "expected seconds" in res.stderr


def test_timeout_needs_qmp() -> None:
    res = cli("convert", "--timeout", "3", "--", "-smp", "2")
    assert res.exit_code == 2 and "give it with --qmp" in res.stderr


@pytest.mark.qemu
def test_help_examples_work(start: Callable[..., Vm]) -> None:
    vm = start("10.0", "x86_64", ["-machine", "q35", "-smp", "2,maxcpus=8"])
    for command in ("convert", "slots", "explain", "plan"):
        text = cli(command, "--help").stdout
        examples = [line.strip() for line in text.splitlines()
                    if line.strip().startswith(f"cmdxlate {command} ")]
        assert examples, command
        for example in examples:
            words = example.split()[1:]
            if "--qmp" in words:
                words[words.index("--qmp") + 1] = vm.ro
            if "--from-file" in words or "-f" in words:
                continue
            res = cli(*words)
            assert res.exit_code == 0, (example, res.output)


# ---------------------------------------------------------------- bad peers







def bad_peer(path: str, out: str, timeout: float = 1.0) -> Any:
    """convert against a bad peer: exit 4, one line, nothing on stdout, no file, in time."""
    t0 = time.monotonic()
    res = cli("convert", "-o", out, "--qmp", path, "--timeout", str(timeout),
              "--", "-M", "q35", "-smp", "2,maxcpus=4")
    took = time.monotonic() - t0
    assert res.exit_code == 4, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0].startswith(f"cmdxlate: error: {path}: "), res.stderr
    assert len(lines) <= 2 and "Traceback" not in res.stderr
    assert not os.path.exists(out)
    assert took < timeout + 5
    return res


@pytest.mark.parametrize(("behaviour", "message"), [
    ("garbage", "not a QMP monitor (it sent b'SSH-2.0-OpenSSH_9.2"),
    ("json", "not a QMP monitor (its greeting has no 'QMP' member)"),
    ("close", "the peer closed the connection before a QMP greeting"),
    ("silent", "no QMP greeting within 1 s"),
    ("noaccept", "no QMP greeting within 1 s"),
    ("mute", "QEMU did not answer query-version within 1 s"),
    ("liar", "unexpected answer to query-version (TypeError"),
])
def test_a_socket_that_is_not_qmp(behaviour: str, message: str) -> None:
    d = tempfile.mkdtemp(prefix="lvbad-")
    try:
        path = f"{d}/s.sock"
        with fake_server(path, behaviour):
            res = bad_peer(path, f"{d}/out")
        assert message in res.stderr
    finally:
        shutil.rmtree(d)


def test_paths_that_are_not_sockets(tmp_path: Any) -> None:
    assert "no such QMP socket" in bad_peer(str(tmp_path / "nope"), str(tmp_path / "o")).stderr
    (tmp_path / "file").write_text("x")
    assert "a regular file, not a QMP socket" in bad_peer(
        str(tmp_path / "file"), str(tmp_path / "o")).stderr
    assert "a directory, not a QMP socket" in bad_peer(str(tmp_path), str(tmp_path / "o")).stderr


@pytest.mark.qemu
def test_busy_stopped_and_exited_qemu(start: Callable[..., Vm]) -> None:
    args = ["-M", "q35", "-smp", "2,maxcpus=4"]
    vm = start("10.0", "x86_64", args)
    out = f"{vm.dir}/out"
    before = vm.snapshot()
    # another client holds cmdxlate's socket: QEMU sends no greeting
    other = socket.socket(socket.AF_UNIX)
    other.connect(vm.ro)
    other.recv(4096)
    res = bad_peer(vm.ro, out)
    assert "no QMP greeting within 1 s" in res.stderr
    assert "another client holds this socket" in res.stderr
    # and with the listen backlog full as well, QEMU refuses at once
    waiting = []
    for _ in range(8):
        extra = socket.socket(socket.AF_UNIX)
        extra.settimeout(1)
        try:
            extra.connect(vm.ro)
        except OSError:
            extra.close()
            break
        waiting.append(extra)
    assert "another client holds this QMP socket and others are already waiting" in (
        bad_peer(vm.ro, out).stderr)
    for extra in [other, *waiting]:
        extra.close()
    time.sleep(0.2)
    assert cli("convert", "--qmp", vm.ro, "--", *args).exit_code == 0
    # QEMU stopped (SIGSTOP): the kernel takes the connection, nobody answers
    os.kill(vm.proc.pid, signal.SIGSTOP)
    try:
        assert "no QMP greeting within 1 s" in bad_peer(vm.ro, out).stderr
    finally:
        os.kill(vm.proc.pid, signal.SIGCONT)
    time.sleep(0.2)
    assert vm.snapshot() == before
    assert cli("slots", "--qmp", vm.ro, "--", *args).exit_code == 0
    # the socket file of a QEMU that has exited
    ro = vm.ro
    vm.proc.kill()
    vm.proc.wait(timeout=30)
    assert "nothing listens on this socket" in bad_peer(ro, out).stderr
