"""Hostile environments around cmdxlate's files (issue 15).

Real FIFOs, device nodes (``os.mknod``: these tests run as root, and skip
where they cannot), sockets and hard links in temp folders; real concurrent
processes; real ``sh`` (dash) and ``bash`` for shell output; and, where
marked, real QEMU reading ``-readconfig`` files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cmdxlate.cli.app import app

RUNNER = CliRunner()
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="mknod and chown need root")


def invoke(args: list[str]) -> Result:
    return RUNNER.invoke(app, args, catch_exceptions=False)


def run_cli(args: list[str], timeout: float = 20, **kw: object
            ) -> subprocess.CompletedProcess[bytes]:
    """The real entry point in a child process; a hang fails the test instead of the run."""
    try:
        return subprocess.run([sys.executable, "-m", "cmdxlate", *args], capture_output=True,
                              timeout=timeout, check=False, **kw)  # type: ignore[call-overload]
    except subprocess.TimeoutExpired:
        pytest.fail(f"cmdxlate {' '.join(args)} did not finish within {timeout} s")


# ---------------------------------------------------------------- special files

def _make_special(path: Path, kind: str) -> Callable[[], None]:
    """Create a special file; return a cleanup function (a socket needs closing)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chr-null":
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    elif kind == "chr-zero":
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # a copy of /dev/zero
    elif kind == "blk":
        os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(7, 0))  # a loop device node
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        return s.close
    elif kind == "dir":
        path.mkdir()
    else:
        raise AssertionError(kind)
    return lambda: None


SPECIAL_KINDS = ["fifo", "chr-null", "chr-zero", "blk", "socket", "dir"]
KIND_WORDS = {"fifo": "FIFO", "chr-null": "character device", "chr-zero": "character device",
              "blk": "block device", "socket": "socket", "dir": "directory"}


def _output_args(cmd: str, out: str, tmp: Path, force: bool) -> list[str]:
    extra = ["--force"] if force else []
    if cmd == "batch":
        src = tmp / "in.jsonl"
        src.write_text('["-smp", "2"]\n')
        return ["batch", str(src), "--format", "text", "-o", out, *extra]
    return [cmd, "-o", out, *extra, "--", "-smp", "2"]


@needs_root
@pytest.mark.parametrize("force", [True, False])
@pytest.mark.parametrize("cmd", ["convert", "writeconfig", "batch"])
@pytest.mark.parametrize("kind", SPECIAL_KINDS)
def test_output_onto_special_file_is_refused(tmp_path: Path, kind: str, cmd: str,
                                             force: bool) -> None:
    """-o onto a FIFO, device node, socket or directory: refused, even with --force.

    Before: ``--force`` renamed a regular file over the node (a root run with
    ``-o /dev/null --force`` would have replaced /dev/null), and without
    ``--force`` the message was "exists; use --force to overwrite it".
    """
    target = tmp_path / "target"
    cleanup = _make_special(target, kind)
    try:
        before = os.lstat(target)
        res = invoke(_output_args(cmd, str(target), tmp_path, force))
        after = os.lstat(target)
    finally:
        cleanup()
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("cmdxlate: error:")
    assert KIND_WORDS[kind] in res.stderr
    assert "--force" not in res.stderr  # never an invitation to replace a device
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino,
                                                          stat.S_IFMT(before.st_mode))
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


@needs_root
def test_output_onto_dev_null_copy_real_cli(tmp_path: Path) -> None:
    """The issue's reproducer, through the real entry point (the fast path)."""
    node = tmp_path / "devnull-copy"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    for extra in (["--force"], []):
        proc = run_cli(["convert", "-o", str(node), *extra, "--", "-smp", "2"])
        assert proc.returncode == 2
        assert b"is a character device, not a regular file" in proc.stderr
        assert stat.S_ISCHR(os.lstat(node).st_mode)


# ---------------------------------------------------------------- inputs never block

INPUT_ENTRIES = {
    "-readconfig": lambda p: ["slots", "--", "-readconfig", p],
    "readconfig": lambda p: ["readconfig", p],
    "--from-file": lambda p: ["convert", "--from-file", p],
    "--machines": lambda p: ["slots", "--machines", p, "--", "-M", "q35", "-smp", "2"],
    "explain -readconfig": lambda p: ["explain", "--", "-readconfig", p],
    "verify -readconfig": lambda p: ["verify", "--qemu", "/nonexistent/qemu", "--",
                                     "-readconfig", p],
}


@needs_root
@pytest.mark.parametrize("entry", list(INPUT_ENTRIES))
@pytest.mark.parametrize("kind", ["fifo", "chr-null", "chr-zero", "socket", "dir"])
def test_special_input_files_are_refused_without_blocking(tmp_path: Path, entry: str,
                                                          kind: str) -> None:
    """A FIFO (no writer), device, socket or directory as input: exit 2 at once.

    Before: a FIFO blocked forever in open(); a /dev/null copy read as an
    empty file and was accepted.
    """
    node = tmp_path / ("vm.cfg" if "readconfig" in entry else "in")
    cleanup = _make_special(node, kind)
    try:
        proc = run_cli(INPUT_ENTRIES[entry](str(node)), timeout=15)
    finally:
        cleanup()
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.startswith("cmdxlate: error:")
    assert KIND_WORDS[kind] in err


@pytest.mark.parametrize("entry", ["--from-file", "readconfig", "-readconfig", "--machines"])
def test_the_callers_own_pipe_is_read(tmp_path: Path, entry: str) -> None:
    """/dev/stdin as a pipe (a heredoc in bash 5.1+, ``cmd | cmdxlate``) is read; so is
    ``<(...)``: an anonymous pipe is the caller's stream, not a FIFO left in a folder."""
    data = {"--from-file": b"-smp 2\n", "readconfig": b'[smp-opts]\n  cpus = "2"\n',
            "-readconfig": b'[smp-opts]\n  cpus = "2"\n',
            "--machines": json.dumps({
                "format": "cmdxlate-machines/2", "qemu_version": "10.0.2",
                "families": [json.loads(Path(__file__).parents[1].joinpath(
                    "cmdxlate", "catalog", "data", "boards", "pc_q35.json").read_text())]}
            ).encode()}[entry]
    args = INPUT_ENTRIES[entry]("/dev/stdin")
    args.insert(1, "--format=json")
    proc = run_cli(args, input=data)
    assert proc.returncode == 0, proc.stderr
    script = f"exec {sys.executable} -m cmdxlate " + " ".join(
        a if a != "/dev/stdin" else "<(cat)" for a in args)
    proc = subprocess.run(["bash", "-c", script], input=data, capture_output=True, timeout=30,
                          check=False)
    assert proc.returncode == 0, proc.stderr


@needs_root
def test_fifo_with_a_silent_writer_is_refused(tmp_path: Path) -> None:
    """A FIFO whose writer never writes nor closes: still no hang."""
    fifo = tmp_path / "vm.cfg"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)  # a writer that keeps it open
    try:
        proc = run_cli(["readconfig", str(fifo)], timeout=15)
    finally:
        os.close(fd)
    assert proc.returncode == 2 and b"is a FIFO" in proc.stderr


@needs_root
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_folder_special_entries_are_error_records(tmp_path: Path, jobs: str) -> None:
    """.args entries that are FIFOs or devices each become one error record; the run goes
    on, in order."""
    (tmp_path / "a-ok.args").write_text("-smp 2\n")
    _make_special(tmp_path / "b-fifo.args", "fifo")
    _make_special(tmp_path / "c-null.args", "chr-null")
    (tmp_path / "d-ok.args").write_text("-smp 3\n")
    proc = run_cli(["batch", str(tmp_path), "--op", "slots", "--jobs", jobs], timeout=60)
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert ["slots" in x for x in lines] == [True, False, False, True], lines
    assert "error" in lines[1] and "error" in lines[2]


@needs_root
def test_batch_folder_entry_swapped_for_fifo_after_listing(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The listing says regular file, the open finds a FIFO: still an error record."""
    import cmdxlate.cli.batch as batch

    (tmp_path / "x.args").write_text("-smp 2\n")
    real = batch.iter_inputs

    def swapped(source: str) -> Iterator[tuple[str, object]]:
        for label, item in real(source):
            os.unlink(tmp_path / "x.args")
            os.mkfifo(tmp_path / "x.args")
            yield label, item

    monkeypatch.setattr(batch, "iter_inputs", swapped)
    res = invoke(["batch", str(tmp_path)])
    [line] = [json.loads(x) for x in res.stdout.splitlines()]
    assert "FIFO" in line["error"]


# ---------------------------------------------------------------- concurrent writers

def _racer(path: str, payload: str, barrier: multiprocessing.synchronize.Barrier,
           results: multiprocessing.Queue[tuple[str, str]]) -> None:
    from cmdxlate.error import CmdxlateError
    from cmdxlate.files import write_atomic

    def slow(real: Callable[..., None]) -> Callable[..., None]:
        def call(*args: object) -> None:
            time.sleep(0.3)  # a scheduler delay just before the last step of the write
            real(*args)
        return call

    os.replace = slow(os.replace)  # type: ignore[assignment]  # a forked child: local
    os.link = slow(os.link)  # type: ignore[assignment]
    barrier.wait()
    try:
        write_atomic(path, payload)
        results.put((payload[:8], "ok"))
    except CmdxlateError as e:
        results.put((payload[:8], e.message))


def test_concurrent_writers_one_wins(tmp_path: Path) -> None:
    """Eight processes write one new path at the same instant: exactly one succeeds.

    Each child is delayed just before its final rename or link, as a busy
    machine may delay it, so every one has passed any "does it exist?" check
    by then.  Before: all eight reported success and seven outputs were lost.
    """
    ctx = multiprocessing.get_context("fork")
    n = 8
    barrier = ctx.Barrier(n)
    results: multiprocessing.Queue[tuple[str, str]] = ctx.Queue()
    out = tmp_path / "out.args"
    payloads = [f"{i:08d}" + chr(ord("a") + i) * (1 << 20) for i in range(n)]
    procs = [ctx.Process(target=_racer, args=(str(out), p, barrier, results))
             for p in payloads]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    winners = [tag for tag, r in got if r == "ok"]
    assert len(winners) == 1, got
    assert all("exists; use --force" in r for _, r in got if r != "ok")
    assert out.read_text() == next(p for p in payloads if p[:8] == winners[0])
    assert os.listdir(tmp_path) == ["out.args"]


def test_concurrent_cli_writers_one_wins(tmp_path: Path) -> None:
    """The same race through the real CLI: one exit 0, the others exit 2 "exists"."""
    out = tmp_path / "out.args"
    procs = [subprocess.Popen([sys.executable, "-m", "cmdxlate", "convert", "-o", str(out),
                               "--", "-smp", str(i + 1)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(6)]
    outcomes = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        outcomes.append((p.returncode, err.decode()))
    assert sorted(code for code, _ in outcomes) == [0] + [2] * 5, outcomes
    assert all("exists; use --force" in err for code, err in outcomes if code)
    winner = [i for i, (code, _) in enumerate(outcomes) if code == 0][0]
    assert out.read_text().startswith(f"-smp cpus=1,maxcpus={winner + 1},")
    assert os.listdir(tmp_path) == ["out.args"]


# ---------------------------------------------------------------- --force: owner, mode, links

@needs_root
@pytest.mark.parametrize("cmd", ["convert", "writeconfig"])
def test_force_keeps_owner_and_group(tmp_path: Path, cmd: str) -> None:
    """Before: the replaced file belonged to root (the writer)."""
    out = tmp_path / "out"
    out.write_text("old\n")
    os.chown(out, 1234, 5678)
    res = invoke(_output_args(cmd, str(out), tmp_path, True))
    assert res.exit_code == 0, res.output
    st = out.stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert out.read_text() != "old\n"


@needs_root
@pytest.mark.parametrize(("mode", "kept"), [(0o4755, 0o755), (0o2750, 0o750),
                                            (0o6711, 0o711), (0o1644, 0o644), (0o640, 0o640)])
def test_force_drops_setuid_setgid_sticky(tmp_path: Path, mode: int, kept: int) -> None:
    """Before: a setuid bit carried over to the new content."""
    out = tmp_path / "out"
    out.write_text("old\n")
    os.chown(out, 1234, 5678)
    out.chmod(mode)
    assert stat.S_IMODE(out.stat().st_mode) == mode
    res = invoke(["convert", "-o", str(out), "--force", "--", "-smp", "2"])
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(out.stat().st_mode) == kept


@needs_root
def test_force_by_another_user_gives_the_writer_the_file(request: pytest.FixtureRequest
                                                          ) -> None:
    """Not root: the owner cannot be kept; the write still happens, mode kept."""
    from cmdxlate.files import write_atomic

    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # tmp_path's parents are root-only
    request.addfinalizer(lambda: shutil.rmtree(folder))
    folder.chmod(0o777)
    out = folder / "out"
    out.write_text("old\n")
    os.chown(out, 1234, 1234)
    out.chmod(0o664)
    pid = os.fork()
    if pid == 0:  # the child writes as nobody
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            write_atomic(out, "new\n", force=True)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    st = out.stat()
    assert out.read_text() == "new\n"
    assert st.st_uid == 65534 and stat.S_IMODE(st.st_mode) == 0o664


@pytest.mark.parametrize("force", [True, False])
def test_hard_linked_output_is_refused(tmp_path: Path, force: bool) -> None:
    """A file with two names is not replaced: the other name would keep the old content.

    Before: --force split the link silently.
    """
    out = tmp_path / "out"
    out.write_text("old\n")
    os.link(out, tmp_path / "other-name")
    res = invoke(["convert", "-o", str(out), *(["--force"] if force else []), "--",
                  "-smp", "2"])
    assert res.exit_code == 2
    assert ("hard links" in res.stderr) if force else ("use --force" in res.stderr)
    assert out.read_text() == (tmp_path / "other-name").read_text() == "old\n"
    assert out.stat().st_nlink == 2


# ---------------------------------------------------------------- .args files

LIBVIRT_STYLE = ("LC_ALL=C \\\nPATH=/usr/bin \\\nHOME='/var/lib/libvirt/qemu/domain-1 x' \\\n"
                 "/usr/bin/qemu-system-x86_64 \\\n-machine q35 \\\n-smp 2,maxcpus=4\n")


def test_json_keeps_env_assignments(tmp_path: Path) -> None:
    """convert --format json: the leading NAME=value words stay, as in --format shell.

    Before: JSON started at the binary; the shell format kept the assignments.
    """
    args = tmp_path / "guest.args"
    args.write_text(LIBVIRT_STYLE)
    env = ["LC_ALL=C", "PATH=/usr/bin", "HOME=/var/lib/libvirt/qemu/domain-1 x"]
    js = invoke(["convert", "--format", "json", "--from-file", str(args)])
    sh = invoke(["convert", "--from-file", str(args)])
    assert js.exit_code == 0 and sh.exit_code == 0
    argv = json.loads(js.stdout)
    assert argv[:4] == [*env, "/usr/bin/qemu-system-x86_64"]
    assert _words_in(["sh"], "\\\n" + sh.stdout) == argv
    # Given as argv after --, the same words come back.
    again = invoke(["convert", "--format", "json", "--", *argv])
    assert json.loads(again.stdout) == argv
    # writeconfig and batch records keep them too.
    wc = invoke(["writeconfig", "-o", str(tmp_path / "vm.cfg"), "--format", "json",
                 "--from-file", str(args)])
    assert json.loads(wc.stdout)[:4] == argv[:4]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "guest.args").write_text(LIBVIRT_STYLE)
    [rec] = [json.loads(x) for x in invoke(["batch", str(folder)]).stdout.splitlines()]
    assert rec["argv"] == argv


def _cpus(res: Result) -> int:
    assert res.exit_code == 0, res.output
    return sum(1 for s in json.loads(res.stdout) if s["plugged"])


def test_relative_readconfig_is_read_from_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One rule for argv, --from-file and batch: QEMU's, the current folder.

    Before: --from-file read vm.cfg next to the .args file (5 CPUs here) while
    batch and argv read it from the current folder (3 CPUs).
    """
    cwd, elsewhere = tmp_path / "cwd", tmp_path / "vms"
    cwd.mkdir()
    elsewhere.mkdir()
    (cwd / "vm.cfg").write_text('[smp-opts]\n  cpus = "3"\n')
    (elsewhere / "vm.cfg").write_text('[smp-opts]\n  cpus = "5"\n')
    (elsewhere / "guest.args").write_text("-M q35 \\\n-readconfig vm.cfg\n")
    monkeypatch.chdir(cwd)
    assert _cpus(invoke(["slots", "--format", "json", "--from-file",
                         str(elsewhere / "guest.args")])) == 3
    assert _cpus(invoke(["slots", "--format", "json", "--", "-M", "q35", "-readconfig",
                         "vm.cfg"])) == 3
    [rec] = [json.loads(x) for x in invoke(["batch", str(elsewhere), "--op", "slots"])
             .stdout.splitlines()]
    assert sum(1 for s in rec["slots"] if s["plugged"]) == 3
    # Without vm.cfg here: an error, and a hint that names the one next to the file.
    (cwd / "vm.cfg").unlink()
    res = invoke(["slots", "--from-file", str(elsewhere / "guest.args")])
    assert res.exit_code == 2
    assert "hint: a relative -readconfig path is read from the current folder" in res.stderr
    assert str(elsewhere / "vm.cfg") in res.stderr
    [rec] = [json.loads(x) for x in invoke(["batch", str(elsewhere), "--op", "slots"])
             .stdout.splitlines()]
    assert "error" in rec


@pytest.mark.parametrize("text", ["-smp 2\n-m 1G\n", "-M q35 \\\n-smp 2\n\n# next\n-m 1G\n",
                                  "-smp 2 # comment \\\n-m 1G\n"])
def test_second_command_in_an_args_file_is_refused(tmp_path: Path, text: str) -> None:
    """A newline without `` \\`` ends a command, as in a shell (a ``\\`` inside a comment
    does not continue the line either).  Before: the lines were merged into one command.
    """
    args = tmp_path / "guest.args"
    args.write_text(text)
    res = invoke(["convert", "--from-file", str(args)])
    assert res.exit_code == 2
    line = text[:text.index("-m 1G")].count("\n") + 1
    assert res.stderr.startswith(f"cmdxlate: error: line {line}: a second command ('-m')")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "guest.args").write_text(text)
    [rec] = [json.loads(x) for x in invoke(["batch", str(folder)]).stdout.splitlines()]
    assert rec["error"].startswith(f"line {line}: a second command")


@pytest.mark.parametrize("text", ["# a comment\n\n-smp 2 \\\n  -m 1G\n\n# end\n",
                                  "-smp 2 \\\n-name 'two\nlines' \\\n-m 1G",
                                  "\n\n-smp 2 -m 1G   \n   \n"])
def test_blank_and_comment_lines_are_not_commands(tmp_path: Path, text: str) -> None:
    args = tmp_path / "guest.args"
    args.write_text(text)
    res = invoke(["parse", "--format", "json", "--from-file", str(args)])
    assert res.exit_code == 0, res.output


def test_libvirt_corpus_still_reads(libvirt_corpus: list[Path]) -> None:
    """Every libvirt .args file in the shared corpus is one command (they end every line
    but the last with `` \\``)."""
    from cmdxlate.syntax.shell import read_command_file

    for f in libvirt_corpus:
        assert read_command_file(str(f)).args, f

def _words_in(shell: list[str], text: str) -> list[str]:
    """What ``shell`` makes of ``set -- <text>``: the argv it would run."""
    script = "set -- " + text + "\nprintf '%s\\0' \"$@\"\n"
    proc = subprocess.run([*shell, "-c", script.encode("utf-8", "surrogateescape")],
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
