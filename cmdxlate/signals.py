"""SIGINT, SIGTERM and SIGHUP end cmdxlate promptly, with one line and 128 + n.

The first signal kills every child at once (:func:`cmdxlate.procs.kill_all_now`)
and raises :class:`Interrupted` in the main thread, so ``finally`` blocks reap
children and remove what they wrote; later signals are only remembered, so
they cannot cut that cleanup short.  A signal that lands inside an import is
delivered again 20 ms later (an exception there would leave a module half
initialised).  Library code may still swallow the exception (asyncio turns it
into a connection error, a weakref callback prints "Exception ignored"), so
three nets catch what slips through: :func:`check` re-raises where the oracle
catches broad exceptions, :func:`run_guarded` ends with 128 + n whenever a
signal arrived, however the command ended, and a fallback timer ends the
process two seconds after the signal if it is somehow still running.  The
exit skips interpreter finalisation (``os._exit``): nothing half-closed can
print a traceback after the one line.  A signal that arrives before
:func:`install` (during interpreter start-up) has its default effect.
"""

from __future__ import annotations

import _thread  # not threading: its import is start-up time every command pays
import os
import sys
import time
from collections.abc import Callable
from types import FrameType

from cmdxlate import procs  # imported now: the handler must not import anything
from cmdxlate.records import TypeVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from typing import Any, NoReturn
else:  # the C module: signal.py builds enums at import, start-up time every command pays
    import _signal as signal

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_NAMES: dict[int, str] = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)",
          signal.SIGHUP: "hung up (SIGHUP)"}
FALLBACK_SECONDS = 2.0

_T = TypeVar("_T")


class Interrupted(BaseException):
    """A handled signal arrived; not an Exception, so no ``except Exception`` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def message(self) -> str:
        return f"cmdxlate: {_NAMES.get(self.signum, 'signal')}"


_received: int | None = None
_raised = False
_installed = False
_finishing = _thread.allocate_lock()
_main_thread: int | None = None


def _after(seconds: float, fn: Callable[..., object], *args: object) -> None:
    """Call ``fn(*args)`` from a background thread in ``seconds`` (a daemon timer)."""
    def run() -> None:
        time.sleep(seconds)
        fn(*args)

    _thread.start_new_thread(run, ())


def received() -> int | None:
    """The signal that arrived, if one did."""
    return _received


def check() -> None:
    """Raise :class:`Interrupted` again if a signal arrived and its exception was lost."""
    if _received is not None:
        raise Interrupted(_received)


def _in_import(frame: FrameType | None) -> bool:
    """Is the main thread executing an import?  An exception there leaves a module half
    initialised, and the next import of it fails with an unrelated ImportError."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _redeliver(signum: int) -> None:
    main = _main_thread if _main_thread is not None else _thread.get_ident()
    _after(0.02, signal.pthread_kill, main, signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received, _raised
    procs.kill_all_now()
    if _received is None:
        _received = signum
        _after(FALLBACK_SECONDS, finish, Interrupted(signum))
    if _raised:
        return  # already on the way out: do not interrupt the cleanup
    if _in_import(frame):
        _redeliver(_received)  # raise once the import is done
        return
    _raised = True
    raise Interrupted(_received)


def _quiet_unraisable(previous: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return  # raised inside a finaliser or callback: the nets above end the process
        previous(unraisable)

    return hook


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP (main thread only); keep ignored ones ignored.

    An Interrupted raised where Python cannot propagate it (a weakref callback,
    a fork hook) is not printed as "Exception ignored"; asyncio's own report of
    it is silenced where the QMP library's event loop is started (``oracle``).
    """
    global _installed, _main_thread

    _main_thread = _thread.get_ident()  # install() runs in the main thread
    sys.unraisablehook = _quiet_unraisable(sys.unraisablehook)
    for sig in HANDLED:
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                continue  # nohup, or `cmd &` in a script: what the caller ignores stays ignored
            signal.signal(sig, _handler)
            _installed = True
        except (ValueError, OSError):
            pass


def installed() -> bool:
    return _installed


def finish(e: Interrupted) -> NoReturn:
    """Kill what is left, print one line, exit 128 + n without finalisation.

    Buffered standard output is dropped, not flushed: a reader that stopped
    reading must not keep us alive.  Commands that stream (``batch``) flush
    whole records, so what was delivered ends at a record boundary.
    """
    if not _finishing.acquire(blocking=False):
        while True:  # the other caller (main thread or fallback timer) is ending the process
            time.sleep(1)
    procs.kill_all_now()
    procs.remove_registered_files()
    try:
        os.write(2, (e.message + "\n").encode())
    except OSError:
        pass
    os._exit(e.exit_code)


def run_guarded(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` with the handlers installed; a signal ends the process via :func:`finish`."""
    install()
    try:
        return fn()
    except Interrupted as e:
        finish(e)
    finally:
        if _received is not None:  # the exception was swallowed somewhere on the way
            finish(Interrupted(_received))
