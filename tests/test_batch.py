"""``cmdxlate batch``: streaming, records that name their input, exit codes, signals.

Memory is the subprocess's own peak RSS (``os.wait4``, which includes the
workers it waited for).  Time limits only tell "promptly" from "hangs" and say so.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MARK, marked
from test_env_processes import (
    cmdline,
    fake_qemu,
    no_survivors,
    one_line,
    peak_rss_mb,
    run_measured,
    start,
    start_measured,
    wait_for,
)
from typer.testing import CliRunner

from cmdxlate.cli import batch
from cmdxlate.cli.app import app

runner = CliRunner()


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                            for x in lines))
    return path


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# ---------------------------------------------------------------- records and exit codes

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_record_names_its_input(tmp_path: Path, jobs: str) -> None:
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"], "not json", ["-smp", "0"],
                                              {"argv": ["-M", "q35"]}])
    res = runner.invoke(app, ["batch", str(src), "--op", "slots", "--jobs", jobs])
    out = records(res.stdout)
    assert [r["input"] for r in out] == [f"{src}:{n}" for n in (1, 2, 3, 4)]
    assert [list(r)[1] for r in out] == ["slots", "error", "error", "slots"]
    assert res.exit_code == 2  # a line failed; every record was still written


def test_folder_records_name_their_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.args").write_text("-smp 2\n")
    (tmp_path / "b" / "c.args").write_text("-smp 4\n")
    (tmp_path / "notes.txt").write_text("ignored\n")
    res = runner.invoke(app, ["batch", str(tmp_path), "--op", "slots"])
    assert res.exit_code == 0, res.output
    assert [r["input"] for r in records(res.stdout)] == [
        str(tmp_path / "a.args"), str(tmp_path / "b" / "c.args")]


def test_relative_readconfig_in_an_args_file_is_read_from_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same rule as --from-file and as QEMU: a relative -readconfig is read from the
    current folder, not from the .args file's."""
    (tmp_path / "vms").mkdir()
    (tmp_path / "vms" / "vm.cfg").write_text('[smp-opts]\n  cpus = "3"\n')
    (tmp_path / "vms" / "vm.args").write_text("-M pc -readconfig vm.cfg\n")
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["batch", "vms", "--op", "slots"])
    assert res.exit_code == 2, res.output
    [rec] = records(res.stdout)
    assert "vm.cfg" in rec["error"]
    monkeypatch.chdir(tmp_path / "vms")
    res = runner.invoke(app, ["batch", ".", "--op", "slots"])
    assert res.exit_code == 0, res.output
    [rec] = records(res.stdout)
    assert len(rec["slots"]) == 3


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_standard_input(jobs: str, marker: str) -> None:
    data = "".join(json.dumps(["-smp", str(n)]) + "\n" for n in (1, 2, 3)).encode()
    proc = start(["batch", "-", "--op", "slots", "--jobs", jobs], marker,
                 stdin=subprocess.PIPE)
    out, err = proc.communicate(data, timeout=60)
    assert proc.returncode == 0, err
    assert [(r["input"], len(r["slots"])) for r in records(out.decode())] == [
        ("-:1", 1), ("-:2", 2), ("-:3", 3)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_records_stream_while_the_input_is_open(jobs: str, marker: str) -> None:
    """Each record comes out before the next line goes in (a pipe fed line by line).

    10 s per record tells "streams" from "waits for the end of the input" (forever here).
    """
    proc = start(["batch", "-", "--op", "slots", "--jobs", jobs], marker,
                 stdin=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    for n in range(1, 6):
        proc.stdin.write((json.dumps(["-smp", str(n)]) + "\n").encode())
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, f"no record for line {n} while the input is still open"
        rec = json.loads(proc.stdout.readline())
        assert (rec["input"], len(rec["slots"])) == (f"-:{n}", n)
    proc.stdin.close()
    assert proc.wait(30) == 0


def test_exit_code_rules() -> None:
    assert batch.exit_code({"ok": 3}) == 0
    assert batch.exit_code({"ok": 3, "different": 1}) == 1
    assert batch.exit_code({"ok": 3, "different": 1, "error": 1}) == 2
    assert batch.exit_code({"error": 1, "oracle": 1}) == 4
    assert batch.exit_code({"unavailable": 1}) == 4


def test_verify_difference_is_not_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """equal: false counts as a difference (exit 1), not as ok."""
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"], ["-smp", "4"]])

    def fake(item: Any, op: str, target: str, machines: str | None = None
             ) -> tuple[dict[str, Any], str]:
        assert item[0] == "json"  # the line's text: parsed where it is computed
        equal = json.loads(item[1]) == ["-smp", "2"]
        return ({"verify": {"equal": equal, "differences": [] if equal else ["cpus: x"]}},
                batch.OK if equal else batch.DIFFERENT)

    monkeypatch.setattr(batch, "process", fake)
    res = runner.invoke(app, ["batch", str(src), "--op", "verify"])
    assert res.exit_code == 1, res.output
    assert "1 ok, 1 different, 0 errors" in res.stderr
    res = runner.invoke(app, ["batch", str(src), "--op", "verify", "--format", "text"])
    assert res.stdout.splitlines() == [f"{src}:1: equal", f"{src}:2: different: cpus: x"]


def test_missing_qemu_stops_the_batch_with_exit_4(tmp_path: Path, marker: str) -> None:
    """Without QEMU every verify line would fail the same way: stop at the first."""
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"]] * 5)
    rc, out, err, _ = run_measured(["batch", str(src), "--op", "verify", "--target", "10.0"],
                                   marker,
                                   {"PATH": str(tmp_path), "CMDXLATE_QEMU100_PREFIX": "",
                                    "CMDXLATE_QEMU100_ROOT": ""})
    assert rc == 4, err
    [rec] = records(out.decode())
    assert rec["input"] == f"{src}:1" and "not found" in rec["error"]
    assert one_line(err).startswith("cmdxlate: error: QEMU is missing or failing, batch "
                                    f"stopped at {src}:1")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_text_format(tmp_path: Path, jobs: str) -> None:
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"], ["-name", "\x1b[2Jx", "-smp", "0"]])
    res = runner.invoke(app, ["batch", str(src), "--format", "text", "--jobs", jobs])
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"{src}:1: -smp cpus=1,maxcpus=2")
    assert lines[1].startswith(f"{src}:2: error: ")
    assert "\x1b" not in res.stdout
    res = runner.invoke(app, ["batch", str(src), "--format", "text", "--op", "slots"])
    assert res.stdout.splitlines()[0] == f"{src}:1: 2 slots, 2 plugged"


def test_output_file_is_written_at_the_end_only(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"]] * 3)
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["batch", str(src), "-o", str(out)])
    assert res.exit_code == 0 and res.stdout == ""
    assert len(records(out.read_text())) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


# ---------------------------------------------------------------- bounded memory

def _generated_lines(path: Path, n: int) -> Path:
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps(["-M", "pc", "-smp", f"{i % 8 + 1},maxcpus=8"]) + "\n")
    return path


# The whole run stays under this whatever the input size (measured: about 16 MB, also for
# 300,000 lines: README, Reliability), and grows by less than GROWTH_MB from 3,000 to
# 30,000 lines: nothing is kept per line.
BATCH_RSS_MB = 80
GROWTH_MB = 10


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_memory_does_not_grow_with_the_input(tmp_path: Path, jobs: str,
                                                   marker: str) -> None:
    """Peak RSS of cmdxlate and its workers, for 3,000 and 30,000 lines (batch --op slots)."""
    rss = {}
    for n in (3_000, 30_000):
        src = _generated_lines(tmp_path / f"in{n}.jsonl", n)
        out = tmp_path / f"out{n}.jsonl"
        rc, _, err, rss[n] = run_measured(["batch", str(src), "--op", "slots", "--jobs", jobs,
                                           "-o", str(out)], marker, seconds=600)
        assert rc == 0, err
        assert f"{n} lines, {n} ok".encode() in err
        with open(out) as f:
            assert sum(1 for _ in f) == n
    assert rss[30_000] < BATCH_RSS_MB, rss
    assert rss[30_000] - rss[3_000] < GROWTH_MB, rss


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_dev_urandom_streams_in_bounded_memory(tmp_path: Path, jobs: str, marker: str) -> None:
    """Endless garbage: error records stream out; memory stays flat; SIGTERM ends it."""
    rss_file = tmp_path / "rss"
    proc = start_measured(["batch", "/dev/urandom", "--op", "slots", "--jobs", jobs], marker,
                          rss_file, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    last = 0
    for _ in range(20000):
        line = proc.stdout.readline()
        assert line, "batch /dev/urandom stopped writing"
        rec = json.loads(line)
        name, _, number = rec["input"].rpartition(":")
        assert name == "/dev/urandom" and int(number) > last and "error" in rec
        last = int(number)  # blank lines are skipped, so numbers may jump
    proc.send_signal(signal.SIGTERM)
    proc.stdout.read()
    assert proc.wait() == 143
    assert peak_rss_mb(rss_file) < BATCH_RSS_MB


# ---------------------------------------------------------------- signals with --jobs

@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_workers_and_releases_stdout(tmp_path: Path, marker: str, sig: int,
                                                  code: int) -> None:
    """batch --jobs 2 verifying on QEMUs that hang: a signal ends everything, and a caller
    reading our stdout to EOF (as ``$(...)`` does) gets EOF.

    Under 10 s, against workers and QEMUs that would otherwise sleep for 300 s.
    """
    prefix = tmp_path / "qemu-10.0"
    fake_qemu(prefix / "usr" / "bin", "exec sleep 300")
    src = write_lines(tmp_path / "in.jsonl", [["-smp", str(n)] for n in range(1, 9)])
    proc = start(["batch", str(src), "--op", "verify", "--jobs", "2", "--target", "10.0"],
                 marker,
                 {"CMDXLATE_QEMU100_PREFIX": str(prefix)})
    wait_for(lambda: sum("sleep" in cmdline(p) for p in marked(marker)) >= 2, 60,
             "the workers' QEMUs started")
    t = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=10)  # reads stdout to EOF, like $(...)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("batch --jobs 2 did not end, or kept its stdout open")
    assert time.monotonic() - t < 10
    assert proc.returncode == code
    assert one_line(err).startswith("cmdxlate: ")
    no_survivors(marker)
    assert MARK  # the workers and QEMUs carry it in their environment


def test_signal_removes_the_partial_output_file(tmp_path: Path, marker: str) -> None:
    prefix = tmp_path / "qemu-10.0"
    fake_qemu(prefix / "usr" / "bin", "exec sleep 300")
    src = write_lines(tmp_path / "in.jsonl", [["-smp", "2"]] * 4)
    proc = start(["batch", str(src), "--op", "verify", "--target", "10.0",
                  "-o", str(tmp_path / "out.jsonl")], marker,
                 {"CMDXLATE_QEMU100_PREFIX": str(prefix)})
    wait_for(lambda: any("sleep" in cmdline(p) for p in marked(marker)), 60, "QEMU started")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode == 143
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "qemu-10.0"]
    no_survivors(marker)


@pytest.mark.qemu
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_verify_with_readconfig_and_env_lines(tmp_path: Path, jobs: str,
                                                    qemu10_x86: object) -> None:
    """-readconfig inputs and lines with environment assignments still verify."""
    cfg = tmp_path / "vm.cfg"
    cfg.write_text('[machine]\n  type = "q35"\n[smp-opts]\n  cpus = "2"\n  maxcpus = "4"\n')
    src = write_lines(tmp_path / "in.jsonl", [
        ["-readconfig", str(cfg)],
        ["LC_ALL=C", "/usr/bin/qemu-system-x86_64", "-M", "pc", "-smp", "2"]])
    res = runner.invoke(app, ["batch", str(src), "--op", "verify", "--jobs", jobs])
    assert res.exit_code == 0, res.output
    assert [r["verify"]["equal"] for r in records(res.stdout)] == [True, True]


def _workers_of(pid: int) -> list[int]:
    """The batch workers a process started (their parent is ``pid``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"cmdxlate.cli.batch_worker" in argv:
            found.append(int(entry.name))
    return found


def test_a_worker_that_dies_costs_only_its_lines(marker: str) -> None:
    """--jobs 2 with a worker killed midway: every line still gets its record, in order;
    the lines the dead worker held say so, and a new worker takes the rest."""
    proc = start(["batch", "-", "--op", "slots", "--jobs", "2"], marker, stdin=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    got: list[dict[str, Any]] = []

    def feed(n: int) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(["-smp", str(n)]) + "\n").encode())
        proc.stdin.flush()

    for n in (1, 2):
        feed(n)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, f"no record for line {n}"
        got.append(json.loads(proc.stdout.readline()))
    wait_for(lambda: len(_workers_of(proc.pid)) == 2, 30, "the batch's two workers")
    os.kill(_workers_of(proc.pid)[0], signal.SIGKILL)
    for n in range(3, 9):
        feed(n)
    proc.stdin.close()
    got += records(proc.stdout.read().decode())
    proc.wait(60)
    assert [r["input"] for r in got] == [f"-:{n}" for n in range(1, 9)]
    died = [r for r in got if r.get("error") == "internal error: batch worker died"]
    assert all("slots" in r for r in got if r not in died)
    assert len(died) <= 6 and proc.returncode == (2 if died else 0)
    no_survivors(marker)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_reader_going_away_stops_the_batch_quietly(tmp_path: Path, jobs: str,
                                                   marker: str) -> None:
    """``batch ... | head``: exit 141 (as if killed by SIGPIPE), no message, no workers left."""
    src = tmp_path / "in.jsonl"
    src.write_text((json.dumps(["-smp", "2"]) + "\n") * 50_000)
    proc = start(["batch", str(src), "--op", "slots", "--jobs", jobs], marker)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(60) == 141
    assert proc.stderr.read() == b""
    no_survivors(marker)


def test_words_no_argv_carries_are_errors_alike_in_every_mode(tmp_path: Path) -> None:
    """A lone surrogate or NUL from JSON is one error record, with --jobs 1 and 2 alike
    (text records once crashed --jobs 1 and lost a worker's whole chunk with --jobs 2)."""
    src = write_lines(tmp_path / "in.jsonl", [
        ["-M", "q35", "-name", "\udcff"], ["-M", "q35", "-name", "\ud83d"],
        ["-M", "q35", "-name", "a\udfff"], ["-M", "q35"], ["-smp", "2\u0000"]])
    outs = set()
    for jobs in ("1", "2"):
        res = runner.invoke(app, ["batch", str(src), "--op", "convert", "--format", "text",
                                  "--jobs", jobs])
        assert res.exit_code == 2, res.stderr
        outs.add(res.stdout)
    (out,) = outs
    lines = out.splitlines()
    assert len(lines) == 5 and "error" not in lines[0] + lines[3]
    assert all("no program's argv can carry" in lines[i] for i in (1, 2, 4))


def test_a_workers_answers_to_two_chunks_in_one_read_are_both_kept() -> None:
    """Found in review: answers to chunks of different sizes that arrive together were
    each checked against the first chunk, and a good second answer cost both chunks."""
    from collections import deque

    from cmdxlate.cli.batch_pool import _Worker

    r, w = os.pipe()
    worker = object.__new__(_Worker)
    worker.fd_out, worker.unread = r, bytearray()
    worker.chunks = deque([[(0, "a", ("json", "[]")), (1, "b", ("json", "[]"))],
                           [(2, "c", ("json", "[]"))]])
    answers = [[["ok", None, "0"], ["ok", None, "1"]], [["ok", None, "2"]]]
    os.write(w, b"".join(json.dumps({"results": a}).encode() + b"\n" for a in answers))
    assert worker.read() == (answers, True)
    os.write(w, b"not an answer\n")
    assert worker.read() == ([], False)
    os.close(w)
    os.close(r)
