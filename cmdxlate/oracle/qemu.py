"""Ask a real QEMU about CPU topology over QMP (via the ``qemu.qmp`` library).

QEMU runs paused (``-S``), under TCG, with no defaults, no user config and
no shell, with a deadline on everything; it is always killed afterwards.
QMP runs over a socket pair whose other end QEMU inherits
(``-chardev socket,fd=N``), so nothing is created in the file system: a
chroot or a long ``TMPDIR`` does not matter.  QEMU's stderr goes to a pipe
of which a bounded head and tail are kept (:mod:`cmdxlate.procs`).

Binaries come in three layouts (:func:`find_qemu`): a system binary, a
Debian package unpacked into a prefix (``QEMU_MODULE_DIR`` and ``-L``), and a
whole root file system run through ``chroot ROOT``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import threading
from collections.abc import Sequence
from typing import Any

from cmdxlate.error import InputError, OracleCrash, OracleTimeout, OracleUnavailable
from cmdxlate.oracle.timeout import valid_timeout
from cmdxlate.procs import BoundedSink, kill, run_capture, spawn
from cmdxlate.records import dataclass, field
from cmdxlate.signals import check

logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)  # QEMU exiting early is an answer
# An Interrupted (signals.py) raised inside the QMP library's event loop is not news.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

DEFAULT_PREFIX_72 = "/opt/cmdxlate-qemu-7.2"
DEFAULT_RELEASE_DIR = "/opt/cmdxlate-qemu-{release}"
VERSION_OUTPUT_LIMIT = 64 * 1024
QMP_CHARDEV = "cmdxlate-qmp"
_VERSION = re.compile(rb"QEMU emulator version (\d+)\.(\d+)\.(\d+)")

# What to install, by architecture, for someone who got cmdxlate from pip.
DEBIAN_PACKAGES = {
    "x86_64": "qemu-system-x86", "i386": "qemu-system-x86", "ppc64": "qemu-system-ppc",
    "ppc": "qemu-system-ppc", "s390x": "qemu-system-s390x", "aarch64": "qemu-system-arm",
    "arm": "qemu-system-arm", "riscv64": "qemu-system-misc", "riscv32": "qemu-system-misc",
    "loongarch64": "qemu-system-misc",
}


def install_hint(arch: str = "x86_64", release: str | None = None) -> str:
    pkg = DEBIAN_PACKAGES.get(arch, "qemu-system")
    where = ""
    if release is not None:
        var = _env_name(release)
        where = (f"cmdxlate looks for QEMU {release} in ${var}_ROOT (a root file system, run "
                 f"with chroot), ${var}_PREFIX (an unpacked prefix), "
                 f"{DEFAULT_RELEASE_DIR.format(release=release)} and on PATH; ")
    return (f"{where}install QEMU (Debian/Ubuntu: apt install {pkg}; Fedora: dnf install "
            f"qemu-system-{'x86' if arch in ('x86_64', 'i386') else arch}) or pass "
            "--qemu /path/to/qemu-system-" + arch)


@dataclass(frozen=True)
class QemuBinary:
    """How to run one QEMU binary; ``path`` is inside ``root`` when there is one."""

    path: str
    env: tuple[tuple[str, str], ...] = ()
    extra_args: tuple[str, ...] = ()
    version: tuple[int, int, int] | None = None
    root: str | None = None

    def command(self) -> list[str]:
        if self.root is None:
            return [self.path, *self.extra_args]
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        return [chroot, self.root, self.path, *self.extra_args]

    @property
    def label(self) -> str:
        return self.path if self.root is None else f"chroot {self.root} {self.path}"

    @property
    def release(self) -> str | None:
        return None if self.version is None else f"{self.version[0]}.{self.version[1]}"

    def environ(self) -> dict[str, str]:
        return dict(os.environ, **dict(self.env))

    def with_version(self, timeout: float = 20.0) -> QemuBinary:
        return QemuBinary(self.path, self.env, self.extra_args,
                          qemu_version(self, timeout), self.root)


def _env_name(release: str) -> str:
    return "CMDXLATE_QEMU" + release.replace(".", "")


def _is_root(directory: str) -> bool:
    """A whole file system (it has a shell), as opposed to an unpacked package."""
    return directory not in ("", "/") and any(
        os.path.lexists(os.path.join(directory, p)) for p in ("bin/sh", "usr/bin/sh"))


def _in_root(root: str, name: str) -> QemuBinary:
    return QemuBinary("/usr/bin/" + name, root=root)


def _in_prefix(prefix: str, name: str) -> QemuBinary:
    """A QEMU unpacked into a prefix needs its module dir and firmware paths."""
    env: list[tuple[str, str]] = []
    extra: list[str] = []
    libdir = os.path.join(prefix, "usr", "lib")
    mods = sorted(os.path.join(libdir, d, "qemu") for d in
                  (os.listdir(libdir) if os.path.isdir(libdir) else [])
                  if os.path.isdir(os.path.join(libdir, d, "qemu")))
    if mods:
        env.append(("QEMU_MODULE_DIR", mods[0]))
    for d in ("/usr/share/seabios", os.path.join(prefix, "usr", "share", "qemu"),
              "/usr/share/qemu"):
        if os.path.isdir(d):
            extra += ["-L", d]
    return QemuBinary(os.path.join(prefix, "usr", "bin", name), tuple(env), tuple(extra))


def binary_at(path: str) -> QemuBinary:
    """The way to run the binary at ``path``: a root's or a prefix's by where it lies."""
    p = os.path.abspath(path)
    m = re.fullmatch(r"(.+)/usr/bin/([^/]+)", p)
    if m and m.group(1) != "/":
        top, name = m.group(1), m.group(2)
        return _in_root(top, name) if _is_root(top) else _in_prefix(top, name)
    return QemuBinary(p)


def _exists(b: QemuBinary) -> bool:
    full = b.path if b.root is None else os.path.join(b.root, b.path.lstrip("/"))
    return os.path.lexists(full)


def _candidates(name: str, release: str) -> list[tuple[str, QemuBinary]]:
    """Where QEMU ``release`` may be installed, in the order they are tried."""
    var = _env_name(release)
    out: list[tuple[str, QemuBinary]] = []
    if os.environ.get(var + "_ROOT"):
        out.append((f"${var}_ROOT", _in_root(os.environ[var + "_ROOT"], name)))
    if os.environ.get(var + "_PREFIX"):
        out.append((f"${var}_PREFIX", _in_prefix(os.environ[var + "_PREFIX"], name)))
    default = DEFAULT_RELEASE_DIR.format(release=release)
    if not out and os.path.isdir(default):
        b = _in_root(default, name) if _is_root(default) else _in_prefix(default, name)
        out.append((default, b))
    found = shutil.which(name)
    if found:
        out.append(("PATH", QemuBinary(found)))
    return out


def find_qemu(arch: str = "x86_64", version: str | None = None, path: str | None = None,
              timeout: float = 20.0) -> QemuBinary:
    """The binary for ``arch``: a given path, release ``version``'s, or the system one.

    The result carries its version, from a bounded ``--version`` run.
    """
    if path is not None:
        if os.sep not in path:
            found = shutil.which(path)
            if not found:
                raise OracleUnavailable(f"QEMU binary {path} not found on PATH",
                                        hint=install_hint(arch))
            path = found
        b = binary_at(path)
        if not _exists(b) or (b.root is None and not os.access(b.path, os.X_OK)):
            raise OracleUnavailable(f"QEMU binary {path} not found or not executable",
                                    hint=install_hint(arch))
        return b.with_version(timeout)
    name = f"qemu-system-{arch}"
    if version is None:
        found = shutil.which(name)
        if not found:
            raise OracleUnavailable(f"{name} not found on PATH", hint=install_hint(arch))
        return QemuBinary(found).with_version(timeout)
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", version.strip())
    if not m:
        raise InputError(f"unknown QEMU release '{version}'")
    release = f"{int(m.group(1))}.{int(m.group(2))}"
    seen: list[str] = []
    for where, cand in _candidates(name, release):
        if not _exists(cand):
            seen.append(f"{where}: no {name}")
            continue
        b = cand.with_version(timeout)
        if b.release == release:
            return b
        seen.append(f"{where}: {b.label} is QEMU {'.'.join(map(str, b.version or ()))}")
    raise OracleUnavailable(f"QEMU {release} ({name}) not found"
                            + (f" ({'; '.join(seen)})" if seen else ""),
                            hint=install_hint(arch, release))


_versions: dict[tuple[Any, ...], tuple[int, int, int]] = {}
_versions_lock = threading.Lock()


def qemu_version(binary: QemuBinary, timeout: float = 20.0) -> tuple[int, int, int]:
    """``BIN --version``, read up to 64 KiB within ``timeout``; cached per binary."""
    key = (binary.path, binary.root, binary.env, binary.extra_args)
    with _versions_lock:
        if key in _versions:
            return _versions[key]
    try:
        out, status, timed_out = run_capture([*binary.command(), "--version"],
                                             env=binary.environ(), timeout=timeout,
                                             max_bytes=VERSION_OUTPUT_LIMIT)
    except OSError as e:
        raise OracleUnavailable(f"cannot run {binary.label}: {e.strerror or e}",
                                hint=install_hint()) from None
    m = _VERSION.search(out)
    if m is None:
        text = out[:200].decode("utf-8", errors="replace").strip()
        if timed_out:
            why = f"did not print its version within {timeout:g} s"
        elif status not in (0, None):
            why = f"--version failed (exit {status}): {text or 'no output'}"
        else:
            why = "does not look like QEMU: --version printed " + (repr(text) if text
                                                                   else "nothing")
        raise OracleUnavailable(f"{binary.label}: {why}", hint=install_hint())
    ver = int(m.group(1)), int(m.group(2)), int(m.group(3))
    with _versions_lock:
        _versions[key] = ver
    return ver


@dataclass
class QemuAnswer:
    hotpluggable: list[dict[str, Any]] | None = None
    hotpluggable_error: str | None = None
    cpus_fast: list[dict[str, Any]] | None = None
    startup_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    returncode: int | None = None


def _split_stderr(text: str, binary: str) -> tuple[str | None, list[str]]:
    prefix = os.path.basename(binary) + ": "
    warnings: list[str] = []
    reports: list[str] = []
    others: list[str] = []
    for line in text.splitlines():
        if line.startswith(prefix):
            line = line[len(prefix):]
            # A report may carry the option's location: "-device ...: warning: ...".
            if line.startswith("warning: ") or ": warning: " in line:
                warnings.append(line.split("warning: ", 1)[1])
            else:
                reports.append(line)
        elif line.strip():
            others.append(line)  # hints, continuation lines of warnings
    # QEMU stops at its error: the last report; hints follow it, unprefixed.
    if reports:
        return reports[-1], warnings
    return (others[0] if others else None), warnings


class QemuSession:
    """One paused QEMU with a QMP connection; :meth:`close` always kills it.

    Start every session of a run from the same thread before talking to any
    (:func:`run_sessions`): the children then die with that thread, and
    QEMUs start in parallel.
    """

    def __init__(self, binary: QemuBinary, args: Sequence[str]) -> None:
        self.binary = binary
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [*binary.command(), "-S", "-display", "none", "-nodefaults",
                "-no-user-config", "-accel", "tcg",
                "-chardev", f"socket,id={QMP_CHARDEV},fd={theirs.fileno()}",
                "-qmp", f"chardev:{QMP_CHARDEV}", *args]
        r, w = os.pipe()
        try:
            self.proc = spawn(argv, env=binary.environ(), stderr=w, pass_fds=[theirs.fileno()])
        except OSError as e:
            os.close(r)
            self.sock.close()
            raise OracleUnavailable(f"cannot run {binary.label}: {e.strerror or e}",
                                    hint=install_hint()) from None
        finally:
            os.close(w)
            theirs.close()
        self._stderr_fd: int | None = r
        self.sink: BoundedSink | None = None
        self.expired = threading.Event()
        self.timer: threading.Timer | None = None
        self.timeout = 0.0
        self.qmp: Any = None

    def arm(self, timeout: float) -> None:
        """Start draining stderr and the watchdog that kills QEMU at the deadline."""
        fd, self._stderr_fd = self._stderr_fd, None  # the sink owns it now
        assert fd is not None
        self.sink = BoundedSink(fd)
        self.timeout = timeout
        self.timer = threading.Timer(timeout, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def _expire(self) -> None:
        self.expired.set()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def _stderr(self) -> str:
        self.proc.wait()
        return self.sink.text() if self.sink is not None else ""

    def _exit_answer(self) -> QemuAnswer:
        """QEMU ended before answering: its error, or a crash, or the deadline."""
        text = self._stderr()
        if self.expired.is_set():
            raise OracleTimeout(f"QEMU did not start within {self.timeout:g} s "
                                f"({self.binary.label})",
                                hint="a larger --timeout may help on a slow or busy host")
        rc = self.proc.returncode
        if rc is not None and rc < 0:
            raise OracleCrash(f"QEMU died from {signal.Signals(-rc).name}: "
                              f"{text.strip()[-500:]}")
        answer = QemuAnswer(returncode=rc)
        answer.startup_error, answer.warnings = _split_stderr(text, self.binary.path)
        answer.startup_error = answer.startup_error or f"QEMU exited ({rc})"
        return answer

    def talk(self, commands: Sequence[tuple[str, dict[str, Any] | None]]
             ) -> tuple[list[Any], QemuAnswer]:
        from qemu.qmp.legacy import QEMUMonitorProtocol
        from qemu.qmp.qmp_client import ExecuteError

        results: list[Any] = []
        self.qmp = QEMUMonitorProtocol(self.sock)
        try:
            self.qmp.connect()
        except Exception:  # noqa: BLE001 - QEMU closed the socket: it exited or was killed
            check()  # or a signal, which asyncio turned into a connection error
            return results, self._exit_answer()
        for name, arguments in commands:
            try:
                results.append(self.qmp.cmd_raw(name, arguments))
            except ExecuteError as e:
                results.append({"error": {"desc": str(e.error.error.desc)}})
            except Exception as e:  # noqa: BLE001 - EOF after the watchdog fired
                check()
                self.proc.wait()
                if self.expired.is_set():
                    raise OracleTimeout(
                        f"QEMU did not answer {name} within {self.timeout:g} s",
                        hint="a larger --timeout may help on a slow or busy host") from None
                self._exit_answer()  # raises OracleCrash when QEMU died from a signal
                raise OracleCrash(f"QEMU stopped answering during {name}: {e}") from None
        try:
            self.qmp.cmd_raw("quit")
        except Exception:  # noqa: BLE001 - QEMU may close the socket as it quits
            pass
        answer = QemuAnswer(returncode=self.proc.wait())
        _, answer.warnings = _split_stderr(self._stderr(), self.binary.path)
        return results, answer

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        kill(self.proc)
        if self.qmp is not None:
            try:
                self.qmp.close()
            except BaseException:  # noqa: BLE001 - QEMU is gone; nothing left to say to it
                pass
            self.qmp = None
        self.sock.close()
        if self._stderr_fd is not None:
            os.close(self._stderr_fd)
            self._stderr_fd = None
        if self.sink is not None:
            self.sink.text(wait=1.0)


def run_sessions(binary: QemuBinary, arg_lists: Sequence[Sequence[str]],
                 commands: Sequence[tuple[str, dict[str, Any] | None]],
                 timeout: float = 20.0) -> list[tuple[list[Any], QemuAnswer]]:
    """Start one QEMU per argument list (in parallel), run ``commands`` on each, quit.

    Each QEMU has ``timeout`` seconds from its start; a watchdog kills it then,
    which ends any blocking read with EOF, so nothing here can hang.
    """
    timeout = valid_timeout(timeout, 20.0)
    sessions: list[QemuSession] = []
    try:
        for args in arg_lists:
            sessions.append(QemuSession(binary, args))
        for s in sessions:
            s.arm(timeout)
        return [s.talk(commands) for s in sessions]
    finally:
        for s in sessions:
            s.close()


def run_qmp_commands(binary: QemuBinary, args: Sequence[str],
                     commands: Sequence[tuple[str, dict[str, Any] | None]],
                     timeout: float = 20.0) -> tuple[list[Any], QemuAnswer]:
    """Start QEMU, run ``commands`` over QMP, quit; a watchdog enforces ``timeout``."""
    return run_sessions(binary, [args], commands, timeout)[0]


def _ret(result: Any) -> tuple[Any, str | None]:
    if isinstance(result, dict) and "error" in result:
        return None, str(result["error"].get("desc"))
    if isinstance(result, dict) and "return" in result:
        return result["return"], None
    return result, None


TOPOLOGY_COMMANDS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("query-hotpluggable-cpus", None), ("query-cpus-fast", None))


def _topology_answer(results: list[Any], answer: QemuAnswer) -> QemuAnswer:
    if answer.startup_error is None and len(results) == 2:
        answer.hotpluggable, answer.hotpluggable_error = _ret(results[0])
        answer.cpus_fast, _ = _ret(results[1])
    return answer


def run_topology_query(binary: QemuBinary, args: Sequence[str], timeout: float = 20.0
                       ) -> QemuAnswer:
    return _topology_answer(*run_qmp_commands(binary, args, TOPOLOGY_COMMANDS, timeout))


def run_topology_queries(binary: QemuBinary, arg_lists: Sequence[Sequence[str]],
                         timeout: float = 20.0) -> list[QemuAnswer]:
    """Several lines at once, each in its own QEMU, all started from this thread."""
    return [_topology_answer(r, a)
            for r, a in run_sessions(binary, arg_lists, TOPOLOGY_COMMANDS, timeout)]


def machine_list(binary: QemuBinary, timeout: float = 20.0) -> list[dict[str, Any]]:
    results, answer = run_qmp_commands(binary, ["-machine", "none"],
                                       [("query-machines", None)], timeout)
    if answer.startup_error or not results:
        raise OracleUnavailable(f"query-machines failed: {answer.startup_error}")
    value, err = _ret(results[0])
    if err:
        raise OracleUnavailable(f"query-machines failed: {err}")
    return list(value)


def cpu_definitions(binary: QemuBinary, timeout: float = 20.0) -> list[dict[str, Any]]:
    results, answer = run_qmp_commands(binary, ["-machine", "none"],
                                       [("query-cpu-definitions", None)], timeout)
    value, err = _ret(results[0]) if results else (None, answer.startup_error)
    if err or value is None:
        raise OracleUnavailable(f"query-cpu-definitions failed: {err}")
    return list(value)
