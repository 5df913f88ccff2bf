"""Ask a real QEMU about CPU topology over QMP (via the ``qemu.qmp`` library).

QEMU runs paused (``-S``), under TCG, with no defaults, no user config and
no shell, in a fresh empty working directory, with a timeout on everything;
the process is always killed and the directory removed afterwards.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cmdxlate.error import OracleCrash, OracleTimeout, OracleUnavailable

logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)  # QEMU exiting early is an answer

DEFAULT_PREFIX_72 = "/opt/cmdxlate-qemu-7.2"
_VERSION = re.compile(r"QEMU emulator version (\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class QemuBinary:
    path: str
    env: tuple[tuple[str, str], ...] = ()
    extra_args: tuple[str, ...] = ()
    version: tuple[int, int, int] | None = None


def _prefix_binary(path: str) -> QemuBinary:
    """A QEMU unpacked into a prefix needs its module dir and firmware paths."""
    real = os.path.realpath(path)
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(real)))  # <prefix>/usr/bin/x
    env: list[tuple[str, str]] = []
    extra: list[str] = []
    if not real.startswith("/usr/bin/"):
        moddir = os.path.join(prefix, "usr", "lib", "x86_64-linux-gnu", "qemu")
        if os.path.isdir(moddir):
            env.append(("QEMU_MODULE_DIR", moddir))
        for d in ("/usr/share/seabios", os.path.join(prefix, "usr", "share", "qemu"),
                  "/usr/share/qemu"):
            if os.path.isdir(d):
                extra += ["-L", d]
    return QemuBinary(path, tuple(env), tuple(extra))


def find_qemu(arch: str = "x86_64", version: str | None = None, path: str | None = None
              ) -> QemuBinary:
    """The binary for ``arch``: a given path, the 7.2 prefix, or the system one."""
    if path is not None:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            found = shutil.which(path)
            if not found:
                raise OracleUnavailable(f"QEMU binary {path} not found or not executable")
            path = found
        b = _prefix_binary(path)
        return QemuBinary(b.path, b.env, b.extra_args, qemu_version(b))
    name = f"qemu-system-{arch}"
    if version is not None and version.startswith("7.2"):
        prefix = os.environ.get("CMDXLATE_QEMU72_PREFIX", DEFAULT_PREFIX_72)
        cand = os.path.join(prefix, "usr", "bin", name)
        if not os.path.exists(cand):
            raise OracleUnavailable(
                f"QEMU 7.2 ({name}) not found in {prefix}: run scripts/install-qemu")
        b = _prefix_binary(cand)
        return QemuBinary(b.path, b.env, b.extra_args, qemu_version(b))
    found = shutil.which(name)
    if not found:
        raise OracleUnavailable(f"{name} not found: run scripts/install-qemu")
    b = QemuBinary(found)
    ver = qemu_version(b)
    if version is not None and f"{ver[0]}.{ver[1]}" != version:
        raise OracleUnavailable(
            f"{found} is QEMU {'.'.join(map(str, ver))}, not {version}: use --qemu BIN")
    return QemuBinary(found, (), (), ver)


@lru_cache(maxsize=32)
def qemu_version(binary: QemuBinary) -> tuple[int, int, int]:
    env = dict(os.environ, **dict(binary.env))
    try:
        out = subprocess.run([binary.path, *binary.extra_args, "--version"], capture_output=True,
                             text=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OracleUnavailable(f"cannot run {binary.path}: {e}") from None
    m = _VERSION.search(out.stdout)
    if not m:
        raise OracleUnavailable(f"{binary.path} does not look like QEMU")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


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


def _stderr_answer(proc: subprocess.Popen[bytes], errlog: str, binary: QemuBinary
                   ) -> QemuAnswer:
    answer = QemuAnswer(returncode=proc.returncode)
    with open(errlog, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if proc.returncode is not None and proc.returncode < 0:
        raise OracleCrash(
            f"QEMU died from {signal.Signals(-proc.returncode).name}: {text.strip()[-500:]}")
    answer.startup_error, answer.warnings = _split_stderr(text, binary.path)
    answer.startup_error = answer.startup_error or f"QEMU exited ({proc.returncode})"
    return answer


def run_qmp_commands(binary: QemuBinary, args: Sequence[str],
                     commands: Sequence[tuple[str, dict[str, Any] | None]],
                     timeout: float = 20.0) -> tuple[list[Any], QemuAnswer]:
    """Start QEMU, run ``commands`` over QMP, quit; a watchdog enforces ``timeout``.

    The watchdog kills QEMU's process group at the deadline, which ends any
    blocking read with EOF, so nothing here can hang.
    """
    import socket
    import threading

    from qemu.qmp.legacy import QEMUMonitorProtocol
    from qemu.qmp.qmp_client import ExecuteError

    workdir = tempfile.mkdtemp(prefix="cmdxlate-qemu-")
    sock_path = os.path.join(workdir, "qmp.sock")
    errlog = os.path.join(workdir, "stderr")
    argv = [binary.path, *binary.extra_args, "-S", "-display", "none", "-nodefaults",
            "-no-user-config", "-accel", "tcg", "-qmp", f"unix:{sock_path}", *args]
    env = dict(os.environ, **dict(binary.env))
    results: list[Any] = []
    proc: subprocess.Popen[bytes] | None = None
    qmp: Any = None
    conn: socket.socket | None = None
    expired = threading.Event()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    timer: threading.Timer | None = None

    def watchdog() -> None:
        expired.set()
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

    try:
        listener.bind(sock_path)
        listener.listen(1)
        listener.settimeout(0.02)
        with open(errlog, "wb") as err:
            proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, env=env,
                                    start_new_session=True)
        timer = threading.Timer(timeout, watchdog)
        timer.daemon = True
        timer.start()
        while conn is None and not expired.is_set() and proc.poll() is None:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
        if conn is None:
            if expired.is_set():
                raise OracleTimeout(f"QEMU did not start within {timeout:g} s")
            proc.wait()
            return results, _stderr_answer(proc, errlog, binary)
        conn.settimeout(None)
        qmp = QEMUMonitorProtocol(conn)
        try:
            qmp.connect()
        except Exception:  # noqa: BLE001 - QEMU closed the socket: it exited or was killed
            proc.wait()
            if expired.is_set():
                raise OracleTimeout(f"QEMU did not start within {timeout:g} s") from None
            return results, _stderr_answer(proc, errlog, binary)
        for name, arguments in commands:
            try:
                results.append(qmp.cmd_raw(name, arguments))
            except ExecuteError as e:
                results.append({"error": {"desc": str(e.error.error.desc)}})
            except Exception as e:  # noqa: BLE001 - EOF after the watchdog fired
                if expired.is_set():
                    raise OracleTimeout(
                        f"QEMU did not answer {name} within {timeout:g} s") from None
                proc.wait()
                if proc.returncode is not None and proc.returncode < 0:
                    _stderr_answer(proc, errlog, binary)  # raises OracleCrash
                raise OracleCrash(f"QEMU stopped answering during {name}: {e}") from None
        try:
            qmp.cmd_raw("quit")
        except Exception:  # noqa: BLE001 - QEMU may close the socket as it quits
            pass
        proc.wait()
        answer = QemuAnswer(returncode=proc.returncode)
        with open(errlog, encoding="utf-8", errors="replace") as f:
            _, answer.warnings = _split_stderr(f.read(), binary.path)
        return results, answer
    finally:
        if timer is not None:
            timer.cancel()
        if qmp is not None:
            try:
                qmp.close()
            except Exception:  # noqa: BLE001
                pass
        if conn is not None:
            conn.close()
        listener.close()
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _ret(result: Any) -> tuple[Any, str | None]:
    if isinstance(result, dict) and "error" in result:
        return None, str(result["error"].get("desc"))
    if isinstance(result, dict) and "return" in result:
        return result["return"], None
    return result, None


def run_topology_query(binary: QemuBinary, args: Sequence[str], timeout: float = 20.0
                       ) -> QemuAnswer:
    results, answer = run_qmp_commands(
        binary, args, [("query-hotpluggable-cpus", None), ("query-cpus-fast", None)], timeout)
    if answer.startup_error is None and len(results) == 2:
        answer.hotpluggable, answer.hotpluggable_error = _ret(results[0])
        answer.cpus_fast, _ = _ret(results[1])
    return answer


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
