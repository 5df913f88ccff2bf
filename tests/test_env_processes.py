"""cmdxlate among processes: QEMU children, signals, misbehaving binaries, releases.

Every test runs cmdxlate as a real subprocess and sends real signals.  Children
are found by a marker in their environment (``CMDXLATE_TEST_MARKER``, which
QEMU and the fake binaries inherit), never by a machine-wide name match: other
QEMUs may run on this machine.  Memory is the child's own ``ru_maxrss``
(``os.wait4`` in a small launcher, see ``LAUNCHER``).  Time limits are generous
and only tell "promptly" from "hangs" (a few seconds against a 300 s sleep);
each says so.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import MARK, marked

from cmdxlate.oracle.qemu import QemuBinary, find_qemu, run_topology_query

ROOT = Path(__file__).resolve().parents[1]
VERSION_10 = 'echo "QEMU emulator version 10.0.2 (fake)"'
# A cmdxlate process that held a flood in memory would be far above this.
RSS_BOUND_MB = 150


# ---------------------------------------------------------------- helpers

def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for(cond: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.05)


def no_survivors(marker: str, seconds: float = 15.0) -> None:
    """Every marked process is gone (a killed QEMU may take a moment to free its memory)."""
    deadline = time.monotonic() + seconds
    while (left := marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, [cmdline(p) for p in left]


def start(args: list[str], marker: str, env: dict[str, str] | None = None,
          stdin: Any = subprocess.DEVNULL, stdout: Any = subprocess.PIPE,
          stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """``python -m cmdxlate ARGS`` with the marker in its environment."""
    full = dict(os.environ, **{MARK: marker}, **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "cmdxlate", *args], env=full,
                            stdin=stdin, stdout=stdout, stderr=stderr)


def finish(proc: subprocess.Popen[bytes], seconds: float = 60) -> tuple[int, bytes, bytes]:
    """Exit code, stdout and stderr of a cmdxlate subprocess that should end soon."""
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"cmdxlate did not exit within {seconds} s")
    return proc.returncode, out, err


# Linux carries a process's peak RSS across fork and exec: a cmdxlate forked
# straight from pytest reports pytest's own size (310 MB late in a full run).
# So measured runs start from this launcher, a bare ``python -S`` that forks
# cmdxlate, passes SIGTERM/SIGINT on, and writes the child's ``ru_maxrss``.
LAUNCHER = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda n, _f: os.kill(pid, n))
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(ru.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def start_measured(args: list[str], marker: str, rss_file: Path,
                   env: dict[str, str] | None = None, **streams: Any) -> subprocess.Popen[bytes]:
    """``start`` through ``LAUNCHER``; ``peak_rss_mb(rss_file)`` after it ends."""
    full = dict(os.environ, **{MARK: marker}, **(env or {}))
    streams.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(rss_file),
                             sys.executable, "-m", "cmdxlate", *args], env=full, **streams)


def peak_rss_mb(rss_file: Path) -> float:
    return int(rss_file.read_text()) / 1024


def run_measured(args: list[str], marker: str, env: dict[str, str] | None = None,
                 seconds: float = 60) -> tuple[int, bytes, bytes, float]:
    """Exit code, stdout, stderr and cmdxlate's own peak RSS in MB (with its children)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        rss_file = Path(tmp) / "rss"
        proc = start_measured(args, marker, rss_file, env, stdout=out, stderr=err)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"cmdxlate did not exit within {seconds} s")
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), peak_rss_mb(rss_file)


def fake_qemu(folder: Path, run: str, version: str = VERSION_10) -> Path:
    """A shell script standing in for qemu-system-x86_64: ``version`` for --version."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "qemu-system-x86_64"
    path.write_text("#!/bin/sh\n"
                    f'for a; do if [ "$a" = --version ]; then {version}; exit 0; fi; done\n'
                    f"{run}\n")
    path.chmod(0o755)
    return path


def one_line(err: bytes) -> str:
    text = err.decode(errors="replace")
    assert "Traceback" not in text, text
    assert text.count("\n") == 1 and text.endswith("\n"), text
    return text.strip()


# ---------------------------------------------------------------- B: signals and children

SIGNALS = [(signal.SIGTERM, 143, "cmdxlate: terminated (SIGTERM)"),
           (signal.SIGINT, 130, "cmdxlate: interrupted"),
           (signal.SIGHUP, 129, "cmdxlate: hung up (SIGHUP)")]


@pytest.mark.parametrize(("sig", "code", "message"), SIGNALS)
def test_signal_during_verify_kills_its_qemus(tmp_path: Path, marker: str, sig: int, code: int,
                                              message: str) -> None:
    """The two (fake, sleeping) QEMUs die with cmdxlate; exit 128+n with one line.

    "Promptly" is under 10 s, against QEMUs that would sleep for 300 s.
    """
    qemu = fake_qemu(tmp_path / "bin", "exec sleep 300")
    proc = start(["verify", "--qemu", str(qemu), "--", "-M", "pc", "-smp", "2"], marker)
    wait_for(lambda: sum("sleep" in cmdline(p) for p in marked(marker)) == 2, 30,
             "both QEMUs started")
    t = time.monotonic()
    proc.send_signal(sig)
    rc, out, err = finish(proc, 10)
    assert time.monotonic() - t < 10
    assert rc == code
    assert one_line(err) == message
    no_survivors(marker)


def test_sigkill_of_cmdxlate_kills_its_qemus(tmp_path: Path, marker: str) -> None:
    """SIGKILL cannot be handled: PR_SET_PDEATHSIG kills the children (under 10 s)."""
    qemu = fake_qemu(tmp_path / "bin", "exec sleep 300")
    proc = start(["verify", "--qemu", str(qemu), "--", "-M", "pc", "-smp", "2"], marker)
    wait_for(lambda: sum("sleep" in cmdline(p) for p in marked(marker)) == 2, 30,
             "both QEMUs started")
    proc.kill()
    proc.wait()
    no_survivors(marker, 10)


@pytest.mark.qemu
def test_sigterm_during_real_verify_kills_qemu(qemu10_x86: QemuBinary, marker: str) -> None:
    """Real QEMU 10.0 with -smp 1024 (seconds to start): SIGTERM ends all within 10 s."""
    proc = start(["verify", "--qemu", qemu10_x86.path, "--", "-M", "q35", "-smp", "1024",
                  "-cpu", "qemu64,x2apic=on"], marker)
    # A QEMU session (not the --version probe, and not cmdxlate, whose own argv names
    # the binary) is running.
    wait_for(lambda: any(p != proc.pid and "qemu-system" in cmdline(p) and "-smp" in cmdline(p)
                         for p in marked(marker)), 60, "QEMU started")
    assert proc.poll() is None, "QEMU answered before the signal: the line is too small"
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc, 10)
    assert time.monotonic() - t < 10
    assert (rc, one_line(err)) == (143, "cmdxlate: terminated (SIGTERM)")
    no_survivors(marker)


@pytest.mark.qemu
def test_sigkill_kills_a_chroot_qemu(qemu_release: Callable[[str, str], QemuBinary],
                                     marker: str) -> None:
    """A QEMU run through chroot keeps the death signal across both execs."""
    binary = qemu_release("x86_64", "11.1")
    code = ("import sys\nfrom cmdxlate.oracle.qemu import find_qemu, run_topology_query\n"
            "run_topology_query(find_qemu('x86_64', '11.1'), ['-M', 'q35', '-smp', '1024', "
            "'-cpu', 'qemu64,x2apic=on'], timeout=600)\n")
    env = dict(os.environ, **{MARK: marker, "CMDXLATE_QEMU111_ROOT": binary.root or ""})
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    wait_for(lambda: any("qemu-system" in cmdline(p) for p in marked(marker)), 60,
             "QEMU started")
    proc.kill()
    proc.wait()
    no_survivors(marker)


def _pipe_bytes(f: object) -> int:
    buf = bytearray(4)
    fcntl.ioctl(f.fileno(), termios.FIONREAD, buf)  # type: ignore[attr-defined]
    return int.from_bytes(buf, sys.byteorder)


@pytest.mark.parametrize("cmd", [["convert"], ["slots", "--format", "json"]])
def test_ctrl_c_while_output_is_blocked(cmd: list[str], marker: str) -> None:
    """A reader that stopped reading (full pipe): Ctrl-C still ends at once, one line, 130."""
    proc = start([*cmd, "--", "-M", "q35", "-smp", "4096", "-cpu", "qemu64,x2apic=on"], marker)
    assert proc.stdout is not None
    wait_for(lambda: _pipe_bytes(proc.stdout) >= 60000, 60, "output pipe full")
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)  # under 10 s: it would otherwise wait for a reader forever
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C did not end cmdxlate while its output was blocked")
    assert proc.stderr is not None
    assert (proc.returncode, one_line(proc.stderr.read())) == (130, "cmdxlate: interrupted")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_while_computing(tmp_path: Path, marker: str) -> None:
    """Ctrl-C in the middle of work (a batch of 200,000 lines, output to a file): no
    traceback, one line, 130.  A single line is answered too fast to be interrupted."""
    src = tmp_path / "in.jsonl"
    with open(src, "w") as f:
        for i in range(200_000):
            f.write(json.dumps(["-M", "q35", "-smp", f"{i % 64 + 1},maxcpus=64"]) + "\n")
    proc = start(["batch", str(src), "--op", "convert", "-o", str(tmp_path / "out.jsonl")],
                 marker, stdout=subprocess.DEVNULL)
    wait_for(lambda: proc.poll() is not None or _cpu_seconds(proc.pid) > 0.5, 60, "working")
    if proc.poll() is not None:
        pytest.skip("the batch finished before it could be interrupted (a very fast machine)")
    proc.send_signal(signal.SIGINT)
    rc, _, err = finish(proc, 10)
    assert (rc, one_line(err)) == (130, "cmdxlate: interrupted")


# ---------------------------------------------------------------- C: misbehaving binaries

def test_version_flood_is_bounded(tmp_path: Path, marker: str) -> None:
    """--version printing forever: read 64 KiB, kill it, exit 4; memory stays small."""
    qemu = fake_qemu(tmp_path / "bin", "exit 1", version="exec yes 'not a version'")
    rc, out, err, rss = run_measured(["verify", "--qemu", str(qemu), "--", "-smp", "2"],
                                     marker, seconds=30)
    assert rc == 4, err
    assert b"does not look like QEMU" in err
    assert rss < RSS_BOUND_MB, rss
    no_survivors(marker)


def test_random_bytes_as_version(tmp_path: Path, marker: str) -> None:
    qemu = fake_qemu(tmp_path / "bin", "exit 1", version="head -c 4096 /dev/urandom")
    rc, out, err, _ = run_measured(["verify", "--qemu", str(qemu), "--", "-smp", "2"], marker)
    assert rc == 4, err
    text = err.decode(errors="replace")
    assert text.startswith("cmdxlate: error:") and "internal error" not in text


def test_version_probe_honours_timeout(tmp_path: Path, marker: str) -> None:
    """--version that never ends: --timeout 2 bounds it (under 20 s, against 300 s)."""
    qemu = fake_qemu(tmp_path / "bin", "exit 1", version="exec sleep 300")
    t = time.monotonic()
    rc, out, err, _ = run_measured(["verify", "--timeout", "2", "--qemu", str(qemu), "--",
                                    "-smp", "2"], marker, seconds=30)
    assert time.monotonic() - t < 20
    assert rc == 4 and b"within 2 s" in err, err
    no_survivors(marker)


def test_stderr_flood_is_bounded(tmp_path: Path, marker: str) -> None:
    """QEMU flooding stderr: nothing in TMPDIR, small memory, killed at --timeout (exit 4)."""
    qemu = fake_qemu(tmp_path / "bin", "exec yes 'flood flood flood' >&2")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    rc, out, err, rss = run_measured(["verify", "--timeout", "3", "--qemu", str(qemu), "--",
                                      "-smp", "2"], marker, {"TMPDIR": str(tmpdir)},
                                     seconds=60)
    assert rc == 4, err
    assert b"did not start within 3 s" in err
    assert rss < RSS_BOUND_MB, rss
    assert list(tmpdir.iterdir()) == []
    no_survivors(marker)


def test_huge_stderr_before_exit(tmp_path: Path, marker: str) -> None:
    """300 MB of stderr then an error: QEMU's last line is the answer; memory stays small."""
    run = ("head -c 300000000 /dev/zero | tr '\\0' x >&2; echo >&2; "
           "echo 'qemu-system-x86_64: fake refusal' >&2; exit 1")
    qemu = fake_qemu(tmp_path / "bin", run)
    rc, out, err, rss = run_measured(["verify", "--qemu", str(qemu), "--", "-smp", "2"],
                                     marker, seconds=120)
    assert rc == 1, err  # cmdxlate accepts the line: QEMU refusing it is a difference
    assert b"QEMU rejected the original line, which cmdxlate accepts: fake refusal" in out
    assert rss < RSS_BOUND_MB, rss


# ---------------------------------------------------------------- D: timeouts

@pytest.mark.parametrize("value", ["1e308", "nan", "-1", "0", "inf", "-inf", "86401"])
def test_timeout_is_validated(value: str, marker: str) -> None:
    rc, out, err, _ = run_measured(["verify", f"--timeout={value}", "--", "-smp", "2"], marker)
    assert rc == 2
    assert one_line(err).startswith("cmdxlate: error: --timeout")


def test_hung_qemu_is_killed_at_the_timeout(tmp_path: Path, marker: str) -> None:
    """A QEMU that never answers: killed after --timeout 1, exit 4 (under 20 s vs 300 s)."""
    qemu = fake_qemu(tmp_path / "bin", "exec sleep 300")
    t = time.monotonic()
    rc, out, err, _ = run_measured(["verify", "--timeout", "1", "--qemu", str(qemu), "--",
                                    "-smp", "2"], marker, seconds=30)
    assert time.monotonic() - t < 20
    assert rc == 4 and b"did not start within 1 s" in err, err
    no_survivors(marker)


def test_oracle_timeout_message_suggests_more_time(tmp_path: Path, marker: str) -> None:
    qemu = fake_qemu(tmp_path / "bin", "exec sleep 300")
    rc, out, err, _ = run_measured(["verify", "--format", "json", "--timeout", "1", "--qemu",
                                    str(qemu), "--", "-smp", "2"], marker, seconds=30)
    assert rc == 4
    assert "did not start within 1 s" in json.loads(out)["error"]


# ---------------------------------------------------------------- A: binaries and releases

@pytest.mark.parametrize("qemu", ["/nonexistent/qemu-system-x86_64", "qemu-system-nonesuch"])
def test_missing_qemu_is_exit_4_with_an_install_hint(qemu: str, marker: str) -> None:
    rc, out, err, _ = run_measured(["verify", "--qemu", qemu, "--", "-smp", "2"], marker)
    assert rc == 4
    text = err.decode()
    assert text.startswith("cmdxlate: error: QEMU binary")
    assert "apt install qemu-system-x86" in text and "--qemu" in text


def test_no_qemu_on_path_is_exit_4(tmp_path: Path, marker: str) -> None:
    """A pip user without QEMU: what to install (Debian names) or --qemu."""
    rc, out, err, _ = run_measured(["verify", "--", "-M", "pseries", "-smp", "2"], marker,
                                   {"PATH": str(tmp_path)})
    assert rc == 4, err
    assert b"qemu-system-ppc64 not found" in err and b"apt install qemu-system-ppc" in err


@pytest.mark.qemu
@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
def test_every_release_answers_over_a_socket_pair(
        release: str, qemu_release: Callable[[str, str], QemuBinary]) -> None:
    """QMP over an inherited socket (-chardev socket,fd=N -qmp chardev:ID) in every layout."""
    binary = qemu_release("x86_64", release)
    assert binary.release == release
    ans = run_topology_query(binary, ["-M", "pc", "-smp", "2,maxcpus=4"])
    assert ans.startup_error is None
    assert ans.hotpluggable is not None and len(ans.hotpluggable) == 4
    assert ans.warnings == []  # no deprecated monitor option (11.1 warns about -mon)


@pytest.mark.qemu
def test_release_roots_from_the_environment(qemu_release: Callable[[str, str], QemuBinary],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = qemu_release("x86_64", "11.1").root
    assert root is not None
    monkeypatch.setenv("CMDXLATE_QEMU111_ROOT", root)
    assert find_qemu("x86_64", "11.1").root == root
    # A root that holds another release is not taken for 5.2.
    monkeypatch.setenv("CMDXLATE_QEMU52_ROOT", root)
    from cmdxlate.error import OracleUnavailable

    with pytest.raises(OracleUnavailable, match=r"is QEMU 11\.1"):
        find_qemu("x86_64", "5.2")


@pytest.mark.qemu
def test_verify_with_a_long_tmpdir(tmp_path: Path, qemu10_x86: QemuBinary, marker: str) -> None:
    """No socket path: a 200-character TMPDIR does not matter (was exit 3, AF_UNIX)."""
    tmpdir = tmp_path / ("d" * 200)
    tmpdir.mkdir()
    rc, out, err, _ = run_measured(["verify", "--qemu", qemu10_x86.path, "--", "-M", "q35",
                                    "-smp", "2,maxcpus=4"], marker, {"TMPDIR": str(tmpdir)})
    assert rc == 0, err
    assert list(tmpdir.iterdir()) == []


@pytest.mark.qemu
def test_verify_takes_the_release_from_the_binary(qemu72_x86: QemuBinary, marker: str) -> None:
    """A 7.2 binary: the line converts for 7.2 (was: converted for 10.0, "different")."""
    rc, out, err, _ = run_measured(["verify", "--format", "json", "--qemu", qemu72_x86.path,
                                    "--", "-M", "pc-i440fx-6.1", "-smp", "4"], marker)
    assert rc == 0, err
    assert json.loads(out)["equal"] is True
    rc, out, err, _ = run_measured(["verify", "--target", "10.0", "--qemu", qemu72_x86.path,
                                    "--", "-M", "pc-i440fx-6.1", "-smp", "4"], marker)
    assert rc == 2
    assert b"--target 10.0 does not match" in err and b"QEMU 7.2" in err
    rc, out, err, _ = run_measured(["verify", "--format", "json", "--target", "7.2", "--",
                                    "-M", "pc-i440fx-6.1", "-smp", "4"], marker)
    assert rc == 0, err
    assert "7.2" in json.loads(out)["qemu"]


@pytest.mark.qemu
@pytest.mark.parametrize("release", ["5.2", "11.1"])
def test_verify_takes_the_release_from_any_installed_binary(
        release: str, qemu_release: Callable[[str, str], QemuBinary], marker: str) -> None:
    """5.2 and 11.1 run from chroot roots; verify needs no --target for them."""
    binary = qemu_release("x86_64", release)
    assert binary.root is not None
    path = os.path.join(binary.root, binary.path.lstrip("/"))
    rc, out, err, _ = run_measured(["verify", "--qemu", path, "--", "-M", "pc", "-smp",
                                    "2,maxcpus=4"], marker)
    assert rc == 0, err
    assert out.startswith(b"equal")


def test_verify_refuses_a_release_without_a_model(tmp_path: Path, marker: str) -> None:
    qemu = fake_qemu(tmp_path / "bin", "exit 1",
                     version="echo 'QEMU emulator version 4.2.1 (Debian 1:4.2-3)'")
    rc, out, err, _ = run_measured(["verify", "--qemu", str(qemu), "--", "-smp", "2"], marker)
    assert rc == 2
    assert b"cmdxlate has no model of QEMU 4.2 yet" in err


# ---------------------------------------------------------------- D: lines that need a big host

def _host_memory_gib() -> int:
    total = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(("MemTotal:", "SwapTotal:")):
                total += int(line.split()[1]) * 1024
    return -(-total // (1 << 30))


@pytest.mark.qemu
def test_verify_more_guest_ram_than_the_host_has(qemu10_x86: QemuBinary, marker: str) -> None:
    """-m of twice the host's RAM and swap: QEMU starts (reserve=off), the CPUs compare."""
    size = max(64, 2 * _host_memory_gib())
    if size > 512:
        pytest.skip("host too large for a -m that QEMU's TCG address space still takes")
    rc, out, err, _ = run_measured(["verify", "--qemu", qemu10_x86.path, "--", "-M", "pc",
                                    "-m", f"{size}G", "-smp", "2"], marker)
    assert rc == 0, err


@pytest.mark.qemu
def test_verify_1024_cpus_within_the_default_timeout(qemu10_x86: QemuBinary,
                                                     marker: str) -> None:
    """-smp 1024 (was: "did not start within 30 s"); the default timeout scales."""
    rc, out, err, _ = run_measured(["verify", "--qemu", qemu10_x86.path, "--", "-M", "q35",
                                    "-smp", "1024", "-cpu", "qemu64,x2apic=on"], marker,
                                   seconds=900)
    assert rc == 0, err
    no_survivors(marker)


# ---------------------------------------------------------------- F: file inputs

@pytest.mark.qemu
def test_verify_from_a_file_with_env_lines_and_readconfig(tmp_path: Path, marker: str,
                                                          qemu10_x86: QemuBinary) -> None:
    """An .args file with environment lines, the binary and a relative -readconfig (read
    from the current folder, as QEMU reads it)."""
    (tmp_path / "vm.cfg").write_text('[machine]\n  type = "q35"\n'
                                     '[smp-opts]\n  cpus = "2"\n  maxcpus = "4"\n')
    (tmp_path / "guest.args").write_text("LC_ALL=C \\\nPATH=/bin \\\n"
                                         "/usr/bin/qemu-system-x86_64 \\\n"
                                         "-readconfig vm.cfg \\\n-m 256\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc, out, err, _ = run_measured(["verify", "--format", "json", "--qemu",
                                        qemu10_x86.path, "--from-file", "guest.args"], marker)
    finally:
        os.chdir(cwd)
    assert rc == 0, err
    report = json.loads(out)
    assert report["equal"] is True and "-readconfig" not in report["original"]
