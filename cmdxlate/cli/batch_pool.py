"""``batch --jobs N``: N worker processes, results in input order, bounded memory.

Each worker is ``python -m cmdxlate.cli.batch_worker`` in its own session with
``PR_SET_PDEATHSIG`` (:func:`cmdxlate.procs.spawn`), talking JSON Lines over
its stdin and stdout; it never has the caller's stdout or stderr, so a caller
reading our output with ``$(...)`` sees EOF when we exit, whatever the
workers do.  A worker gets one line at a time and only while it is idle
(reading its stdin), so neither side can block the other on a full pipe.
At most ``WINDOW_PER_JOB * N`` lines are between "read" and "written": the
reorder buffer is bounded, and so is memory.  A signal kills the workers
(and through their death signal, their QEMUs) before this generator is
closed; closing it kills and reaps them in any case.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from typing import IO, Any

from cmdxlate.cli.batch import Item, Record, record
from cmdxlate.procs import kill, spawn

# A worker gets up to CHUNK lines at once (one for verify, whose lines are slow),
# and at most CHUNK_BYTES of them; WINDOW_PER_JOB chunks per worker may be read ahead.
CHUNK = 64
CHUNK_BYTES = 1 << 20
WINDOW_PER_JOB = 3


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
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.seqs: list[int] = []  # the lines it works on

    def send(self, chunk: list[tuple[int, str, Item]]) -> bool:
        request = {"items": [[label, *item] for _, label, item in chunk]}
        try:
            self.stdin.write(json.dumps(request).encode() + b"\n")
            self.stdin.flush()
        except OSError:
            return False
        self.seqs = [seq for seq, _, _ in chunk]
        return True

    def receive(self, count: int) -> list[Any] | None:
        line = self.stdout.readline()
        try:
            msg = json.loads(line)
        except ValueError:
            return None
        results = msg.get("results") if isinstance(msg, dict) else None
        ok = isinstance(results, list) and len(results) == count and all(
            isinstance(r, list) and len(r) == 3 for r in results)
        return results if ok else None

    def stop(self) -> None:
        for f in (self.stdin, self.stdout):
            try:
                f.close()
            except OSError:
                pass
        kill(self.proc)


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
    pending: list[list[tuple[int, str, Item]]] = []  # chunks read, not yet sent
    filling: list[tuple[int, str, Item]] = []
    filling_bytes = 0
    next_in = 0
    next_out = 0
    exhausted = False

    def died(label: str) -> Record:
        return record(label, ("error", "internal error: batch worker died"), op, target,
                      machines, fmt)

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
            idle = [i for i, w in enumerate(workers) if not w.seqs]
            if filling and len(idle) > len(pending):
                pending.append(filling)  # do not keep a worker waiting for a full chunk
                filling, filling_bytes = [], 0
            for i in idle:
                if not pending:
                    break
                chunk = pending.pop(0)
                if not workers[i].send(chunk):
                    workers[i].stop()
                    done.update((seq, died(label)) for seq, label, _ in chunk)
                    workers[i] = _Worker(op, target, machines, fmt)
            while next_out in done:
                yield labels.pop(next_out), done.pop(next_out)
                next_out += 1
            busy = [w for w in workers if w.seqs]
            if exhausted and not busy and not pending and not filling and next_out == next_in:
                return
            wait_for: list[Any] = [w.stdout for w in busy]
            if not exhausted and next_in - next_out < window and len(pending) < jobs:
                wait_for.append(reader.wake_fd)
            if not wait_for:
                continue
            ready, _, _ = select.select(wait_for, [], [])
            if reader.wake_fd in ready:
                reader.drain()
            for i, w in enumerate(workers):
                if not w.seqs or w.stdout not in ready:
                    continue
                seqs, w.seqs = w.seqs, []
                results = w.receive(len(seqs))
                if results is None:
                    w.stop()
                    done.update((seq, died(labels[seq])) for seq in seqs)
                    workers[i] = _Worker(op, target, machines, fmt)
                else:
                    done.update((seq, (r[0], r[1], r[2]))
                                for seq, r in zip(seqs, results, strict=True))
    finally:
        for w in workers:
            w.stop()
        if reader is not None:
            reader.close()
