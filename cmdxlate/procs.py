"""Child processes that cannot outlive cmdxlate, and reads from them that cannot grow.

Every child (QEMU, a ``--version`` probe, a batch worker) is started here:

* in its own session, so a terminal's Ctrl-C reaches cmdxlate only and
  cmdxlate decides what to kill;
* with ``PR_SET_PDEATHSIG`` = SIGKILL (Linux), so it dies with the thread that
  started it even when cmdxlate itself is SIGKILLed.  The signal fires when
  that *thread* ends, so children are started from the main thread (or from a
  thread that waits for them); the setting survives ``exec`` (``chroot`` then
  QEMU), as long as no set-user-ID binary is executed;
* in a registry, so a signal handler can kill every live child at once.

Reads are bounded: :class:`BoundedSink` keeps the head and tail of a stream and
counts the rest, :func:`run_capture` reads at most ``max_bytes`` within a
deadline.
"""

from __future__ import annotations

import _thread
import os
import time
from collections.abc import Mapping, Sequence

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    import signal
    from typing import Any
else:  # the C module: signal.py builds enums at import, start-up time every command pays
    import _signal as signal

if TYPE_CHECKING:
    import subprocess

# Imported by every command through cmdxlate.signals: only cheap modules at the top;
# subprocess, select and ctypes load on first use.
PR_SET_PDEATHSIG = 1
DEVNULL = -3  # subprocess.DEVNULL

_live: set[subprocess.Popen[bytes]] = set()
_live_lock = _thread.allocate_lock()
_prctl: Any = None
_prctl_loaded = False


def _load_prctl() -> Any:
    """libc's prctl, resolved in the parent before any fork: the child only calls it."""
    global _prctl, _prctl_loaded
    if not _prctl_loaded:
        _prctl_loaded = True
        try:
            import ctypes

            fn = ctypes.CDLL(None, use_errno=True).prctl
            fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
            fn.restype = ctypes.c_int
            _prctl = fn
        except (OSError, AttributeError, ImportError):
            _prctl = None
    return _prctl


def set_pdeathsig(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent thread ends."""
    prctl = _load_prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


_spawner = 0  # the pid that forks, for the child's check below


def _child_setup() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != _spawner:  # the parent died before the death signal was set
            os._exit(127)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def spawn(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str = "/",
          stdin: int | None = DEVNULL, stdout: int | None = DEVNULL,
          stderr: int | None = DEVNULL, pass_fds: Sequence[int] = ()
          ) -> subprocess.Popen[bytes]:
    """Start a child in its own session that dies with us; it is registered until reaped.

    SIGINT, SIGTERM and SIGHUP are held back while forking: a handler raising
    inside ``fork``'s own hooks would be lost; they arrive once the child is
    registered, so the handler can kill it.
    """
    import subprocess

    assert subprocess.DEVNULL == DEVNULL
    global _spawner
    _spawner = os.getpid()
    _load_prctl()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None,
                                cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                                pass_fds=tuple(pass_fds), start_new_session=True,
                                preexec_fn=_child_setup, close_fds=True)
        with _live_lock:
            _live.add(proc)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (it leads its own session) and reap it.

    The group is killed even when its leader has exited: a shell script's own
    children stay in it.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    if proc.returncode is None:
        try:
            proc.kill()
        except OSError:
            pass
    reap(proc)


def reap(proc: subprocess.Popen[bytes]) -> None:
    proc.wait()
    with _live_lock:
        _live.discard(proc)


def _snapshot() -> list[subprocess.Popen[bytes]]:
    # No lock here: a signal handler may run while the main thread holds it.
    for _ in range(10):
        try:
            return list(_live)
        except RuntimeError:  # another thread changed the set meanwhile
            continue
    return []


def kill_all_now() -> None:
    """From a signal handler: SIGKILL every live child; reaping is left to the callers."""
    for proc in _snapshot():
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass


_files: set[str] = set()


def register_file(path: str) -> None:
    """A temporary file to remove if a signal ends the process."""
    _files.add(path)


def unregister_file(path: str) -> None:
    _files.discard(path)


def remove_registered_files() -> None:
    for path in list(_files):
        try:
            os.unlink(path)
        except OSError:
            pass


def has_registered_files() -> bool:
    return bool(_files)


def live_children() -> int:
    return sum(1 for p in _live if p.returncode is None)


class BoundedSink:
    """Drains a pipe in a thread, keeping at most ``head + tail`` bytes of it.

    A child that floods its stderr costs CPU until its deadline, never memory
    or disk.
    """

    def __init__(self, fd: int, head: int = 32 * 1024, tail: int = 32 * 1024) -> None:
        self._fd = fd
        self._head_max = head
        self._tail_max = tail
        self._head = bytearray()
        self._tail = bytearray()
        self.skipped = 0
        import threading  # only when a child's stderr is read

        self._thread = threading.Thread(target=self._run, name="cmdxlate-stderr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                room = self._head_max - len(self._head)
                if room > 0:
                    self._head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self._tail += chunk
                    if len(self._tail) > self._tail_max:
                        cut = len(self._tail) - self._tail_max
                        self.skipped += cut
                        del self._tail[:cut]
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def text(self, wait: float = 5.0) -> str:
        """What was kept, decoded leniently; waits for EOF (the child is gone by then)."""
        self._thread.join(wait)
        data = bytes(self._head)
        if self.skipped:
            data += f"\n[... {self.skipped} bytes of output skipped ...]\n".encode()
        data += bytes(self._tail)
        return data.decode("utf-8", errors="replace")


def run_capture(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                timeout: float, max_bytes: int = 64 * 1024) -> tuple[bytes, int | None, bool]:
    """Run a child with stdout and stderr on one pipe; read at most ``max_bytes``.

    Returns (output, exit status or None if it was cut short, timed out).  The
    child is always gone when this returns.
    """
    import select

    r, w = os.pipe()
    try:
        proc = spawn(argv, env=env, stdout=w, stderr=w)
    except BaseException:
        os.close(r)
        os.close(w)
        raise
    os.close(w)
    out = bytearray()
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while len(out) < max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(r, min(65536, max_bytes - len(out)))
            if not chunk:
                break
            out += chunk
        if not timed_out and len(out) < max_bytes:
            # EOF: the child closed its output; give it the rest of the deadline to exit.
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            timed_out = proc.poll() is None
    finally:
        os.close(r)
        kill(proc)
    status = None if timed_out or len(out) >= max_bytes else proc.returncode
    return bytes(out), status, timed_out
