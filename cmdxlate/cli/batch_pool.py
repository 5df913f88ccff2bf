"""``batch --jobs N``: N worker processes, results in input order, bounded memory.

Each worker is ``python -m cmdxlate.cli.batch_worker`` in its own session with
``PR_SET_PDEATHSIG`` (:func:`cmdxlate.procs.spawn`), talking JSON Lines over
its stdin and stdout; it never has the caller's stdout or stderr, so a caller
reading our output with ``$(...)`` sees EOF when we exit, whatever the
workers do.  A worker has up to ``DEPTH`` chunks at once, so it finds the next
one waiting when it finishes one; this process never blocks on a worker's pipe
(its writes are non-blocking, its reads follow ``select``), so neither side
can block the other on a full pipe.  At most ``WINDOW_PER_JOB * N`` chunks are
between "read" and "written": the reorder buffer is bounded, and so is memory.
A signal kills the workers (and through their death signal, their QEMUs)
before this generator is closed; closing it kills and reaps them in any case.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any

from cmdxlate.cli.batch import Item, Record, record
from cmdxlate.procs import kill, spawn

# A worker gets up to CHUNK lines at once (one for verify, whose lines are slow), and
# at most CHUNK_BYTES of their text (JSON's escapes can make a request longer: then the
# parent writes it in more than one go); it holds up to DEPTH chunks, and
# WINDOW_PER_JOB chunks per worker may be read ahead.
CHUNK = 64
CHUNK_BYTES = 1 << 20
DEPTH = 2
WINDOW_PER_JOB = 3


def _widen(fd: int) -> None:
    """Room in a pipe for a whole chunk's request or answer (Linux: up to 1 MiB without
    privileges), so neither side waits for the other to be scheduled midway."""
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        try:
            fcntl.fcntl(fd, setsize, CHUNK_BYTES)
        except OSError:
            pass  # a lower pipe-max-size: the default size still works, a little slower


class _Worker:
    def __init__(self, op: str, target: str, machines: str | None, fmt: str) -> None:
        import cmdxlate

        env = dict(os.environ)
        # The worker imports the same cmdxlate, installed or not.
        top = os.path.dirname(os.path.dirname(os.path.abspath(cmdxlate.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [top] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self.proc = spawn([sys.executable, "-m", "cmdxlate.cli.batch_worker", op, target,
                           machines or "", fmt], env=env, cwd=os.getcwd(),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.fd_in = self.proc.stdin.fileno()
        self.fd_out = self.proc.stdout.fileno()
        os.set_blocking(self.fd_in, False)
        _widen(self.fd_in)
        _widen(self.fd_out)
        self.chunks: deque[list[tuple[int, str, Item]]] = deque()  # held, in order
        self.unsent: deque[bytes] = deque()  # the requests of the last chunks, unwritten
        self.written = 0  # bytes of unsent[0] written
        self.finished = 0  # chunks it answered
        self.unread = bytearray()  # its output not yet a whole line

    def send(self, chunk: list[tuple[int, str, Item]]) -> None:
        request = {"items": [[label, *item] for _, label, item in chunk]}
        self.unsent.append(json.dumps(request).encode() + b"\n")
        self.chunks.append(chunk)

    def write(self) -> bool:
        """Write what its pipe takes now; False if the worker is gone."""
        head = self.unsent[0]
        try:
            n = os.write(self.fd_in, head[self.written:self.written + (1 << 16)])
        except BlockingIOError:
            return True
        except OSError:
            return False
        self.written += n
        if self.written == len(head):
            self.unsent.popleft()
            self.written = 0
        return True

    def undelivered(self) -> int:
        """How many of the last chunks it holds it never got a byte of."""
        return len(self.unsent) - (1 if self.written else 0)

    def read(self) -> tuple[list[list[Any]], bool]:
        """The answers to its oldest chunks, in order, that came since the last read
        (after ``select`` said its stdout is readable), and False if it then died or
        wrote something that is no answer to its next chunk."""
        try:
            data = os.read(self.fd_out, 1 << 20)
        except OSError:
            data = b""
        self.unread += data
        done: list[list[Any]] = []
        while True:
            end = self.unread.find(b"\n")
            if end < 0:
                return done, bool(data)
            line = bytes(self.unread[:end])
            del self.unread[:end + 1]
            if len(done) == len(self.chunks):
                return done, False  # an answer to no chunk
            try:
                msg = json.loads(line)
            except ValueError:
                return done, False
            results = msg.get("results") if isinstance(msg, dict) else None
            if not (isinstance(results, list) and len(results) == len(self.chunks[len(done)])
                    and all(isinstance(r, list) and len(r) == 3 for r in results)):
                return done, False
            done.append(results)

    def stop(self) -> None:
        kill(self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


class _Reader:
    """Reads the input in a thread into a bounded queue, so a slow producer (a pipe)
    never holds back records that are done; a byte on ``wake_fd`` says "look"."""

    END = object()

    def __init__(self, inputs: Iterator[tuple[str, Item]], size: int) -> None:
        self._inputs = inputs
        self._stop = False
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.wake_fd, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._run, name="cmdxlate-batch-input",
                                        daemon=True)
        self._thread.start()

    def _put(self, value: Any) -> None:
        self.queue.put(value)
        try:
            os.write(self._wake_w, b"x")
        except OSError:  # full (the reader is far ahead) or closed: a wake-up is pending
            pass

    def _run(self) -> None:
        try:
            for pair in self._inputs:
                if self._stop:
                    return
                self._put(pair)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self._put(e)
            return
        self._put(self.END)

    def get(self) -> Any:
        """The next input pair, END, an exception to raise, or None if none is ready."""
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            return None

    def drain(self) -> None:
        try:
            os.read(self.wake_fd, 65536)
        except OSError:
            pass

    def close(self) -> None:
        """Stop the thread where it can be stopped (not inside a blocking read)."""
        self._stop = True
        while self.get() is not None:  # unblock a put() waiting for room
            pass
        self._thread.join(0.1)
        os.close(self.wake_fd)
        if not self._thread.is_alive():  # else it may still write: the fd must stay ours
            os.close(self._wake_w)


def run_pool(inputs: Iterator[tuple[str, Item]], op: str, target: str, machines: str | None,
             jobs: int, fmt: str) -> Generator[tuple[str, Record], None, None]:
    """Yield (label, record) in input order, computing ``jobs`` chunks at a time."""
    chunk_max = 1 if op == "verify" else CHUNK
    window = WINDOW_PER_JOB * jobs * chunk_max
    workers: list[_Worker] = []
    reader: _Reader | None = None
    labels: dict[int, str] = {}
    done: dict[int, Record] = {}
    pending: deque[list[tuple[int, str, Item]]] = deque()  # chunks read, not yet sent
    filling: list[tuple[int, str, Item]] = []
    filling_bytes = 0
    next_in = 0
    next_out = 0
    exhausted = False

    def died(label: str) -> Record:
        return record(label, ("error", "internal error: batch worker died"), op, target,
                      machines, fmt)

    def replace(i: int) -> None:
        """Worker i died (or wrote nonsense): the lines it got say so, the chunks it never
        got a byte of go to the others, and a new worker starts."""
        w = workers[i]
        w.stop()
        held = list(w.chunks)
        # Only a worker that answered before hands chunks on: one that never does (it
        # cannot start, say) must use chunks up, or the batch would never end.
        kept = len(held) - w.undelivered() if w.finished else len(held)
        done.update((seq, died(label)) for chunk in held[:kept] for seq, label, _ in chunk)
        pending.extendleft(reversed(held[kept:]))
        workers[i] = _Worker(op, target, machines, fmt)

    try:
        workers = [_Worker(op, target, machines, fmt) for _ in range(jobs)]
        reader = _Reader(inputs, window)
        while True:
            # Take what has been read while the window has room; errors need no worker.
            while not exhausted and next_in - next_out < window and len(pending) < jobs:
                got = reader.get()
                if got is None:
                    break
                if got is _Reader.END:
                    exhausted = True
                    break
                if isinstance(got, BaseException):
                    raise got
                label, item = got
                labels[next_in] = label
                if item[0] == "error":
                    done[next_in] = record(label, item, op, target, machines, fmt)
                else:
                    filling.append((next_in, label, item))
                    filling_bytes += len(str(item[1]))
                    if len(filling) >= chunk_max or filling_bytes >= CHUNK_BYTES:
                        pending.append(filling)
                        filling, filling_bytes = [], 0
                next_in += 1
            idle = [w for w in workers if not w.chunks]
            if filling and len(idle) > len(pending):
                pending.append(filling)  # do not keep a worker waiting for a full chunk
                filling, filling_bytes = [], 0
            # Idle workers first, then a second chunk for each busy one.
            for w in sorted(workers, key=lambda w: len(w.chunks)):
                if pending and len(w.chunks) < DEPTH:
                    w.send(pending.popleft())
            while next_out in done:
                yield labels.pop(next_out), done.pop(next_out)
                next_out += 1
            busy = [w for w in workers if w.chunks]
            if exhausted and not busy and not pending and not filling and next_out == next_in:
                return
            wait_for: list[int] = [w.fd_out for w in busy]
            if not exhausted and next_in - next_out < window and len(pending) < jobs:
                wait_for.append(reader.wake_fd)
            writing = [w.fd_in for w in workers if w.unsent]
            if not wait_for and not writing:
                continue
            ready, can_write, _ = select.select(wait_for, writing, [])
            if reader.wake_fd in ready:
                reader.drain()
            for i, w in enumerate(workers):
                # Its answers first: a worker that died after answering keeps them.
                if w.chunks and w.fd_out in ready:
                    finished, alive = w.read()
                    for results in finished:
                        chunk = w.chunks.popleft()
                        w.finished += 1
                        done.update((seq, (r[0], r[1], r[2]))
                                    for (seq, _, _), r in zip(chunk, results, strict=True))
                    if not alive:
                        replace(i)
                        continue
                if w.unsent and w.fd_in in can_write and not w.write():
                    replace(i)
    finally:
        for w in workers:
            w.stop()
        if reader is not None:
            reader.close()
