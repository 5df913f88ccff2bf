"""Every command the README shows runs, as a user would type it, and succeeds.

The examples run in order, in one scratch folder holding a copy of ``corpus/`` (the
README says they run from the repository root), through ``sh`` with a ``cmdxlate``
on PATH.  Examples that need QEMU run when it is installed (``verify``, ``probe``)
and those that read a running VM (``--qmp /run/vm1.qmp``) get a paused QEMU 10.0
started with the example's own line.  The two set-up commands (``pip install ...``)
are what CI and the fresh-clone check run; the --help pages' examples are checked
here too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_live import Vm

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LIVE_SOCKET = "/run/vm1.qmp"


def readme_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def readme_examples() -> list[str]:
    """Every ``cmdxlate ...`` line of the README's sh blocks, in order (a trailing
    ``# exit N`` is the exit code the README promises; 0 otherwise); sessions, blocks
    that start with ``# session:``, run whole (test_readme_session)."""
    return [line.strip() for block in readme_blocks() if not block.startswith("# session:")
            for line in block.splitlines() if line.strip().startswith("cmdxlate ")]


def expected_exit(command: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.*?)\s+# exit (\d+)", command)
    return (m.group(1), int(m.group(2))) if m else (command, 0)


def help_examples() -> list[str]:
    """The examples under each command's --help."""
    from cmdxlate.cli.spec import COMMANDS

    found = []
    for command in COMMANDS:
        for line in command.epilog.splitlines():
            line = line.replace("\b", "").strip()
            if line.startswith("cmdxlate "):
                found.append(line)
    return found


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the repository root: corpus/ and a cmdxlate on PATH."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "corpus", folder / "corpus")
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "cmdxlate"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m cmdxlate "$@"\n')
    wrapper.chmod(0o755)
    return folder


def run(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(ROOT))
    return subprocess.run(["sh", "-c", command], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600)


def needs_qemu(command: str) -> bool:
    return command.split()[1] in ("verify", "probe") or LIVE_SOCKET in command


def test_the_readme_has_exactly_two_setup_commands() -> None:
    setup = [b.strip() for b in readme_blocks() if b.lstrip().startswith("pip install")]
    assert setup == [
        "pip install . && cmdxlate convert -- -machine q35 -smp 4,maxcpus=8 -m 1G -object "
        "memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M "
        "-numa node,memdev=m0 -numa node,memdev=m1",
        "pip install -q -e '.[test]' && python -m pytest -q -p no:cacheprovider"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup[1] in ci, "CI runs the README's test command"


def test_readme_examples_offline(scratch: Path) -> None:
    """Offline examples: exit 0, and an answer (on stdout or in the file -o names)."""
    examples = [c for c in readme_examples() if not needs_qemu(c)]
    assert len(examples) >= 10
    for example in examples:
        command, code = expected_exit(example)
        res = run(scratch, command)
        assert res.returncode == code, (command, res.stderr)
        assert "Traceback" not in res.stderr
        out = re.search(r"-o (\S+)", command)
        assert res.stdout.strip() or (out and (scratch / out.group(1)).stat().st_size), command


@pytest.mark.qemu
def test_readme_examples_with_qemu(scratch: Path, start: Callable[..., Vm],
                                   qemu10_x86: Any) -> None:
    """verify and probe run against QEMU 10.0; --qmp examples read a VM of their line."""
    examples = [c for c in readme_examples() if needs_qemu(c)]
    assert examples
    for command in examples:
        if LIVE_SOCKET in command:
            args = shlex.split(command.split(" -- ", 1)[1])
            vm = start("10.0", "x86_64", args)
            command = command.replace(LIVE_SOCKET, vm.ro)
        res = run(scratch, command)
        assert res.returncode == 0, (command, res.stderr)
        assert "Traceback" not in res.stderr


def test_help_examples_run(scratch: Path) -> None:
    """Each command's --help examples that need neither QEMU nor a file of yours."""
    from cmdxlate.cli.spec import COMMANDS

    assert len(help_examples()) >= len(COMMANDS)
    (scratch / "guest.args").write_text("-machine q35 \\\n-smp 2,maxcpus=4\n")
    (scratch / "lines.jsonl").write_text('["-smp", "2"]\n')
    for command in help_examples():
        if needs_qemu(command) or "--qmp" in command or "../shared" in command:
            continue
        if command.startswith("cmdxlate readconfig vm.cfg"):
            run(scratch, "cmdxlate writeconfig --force -o vm.cfg -- -smp 2")
        if " -o " in command:  # an earlier example may have written the file
            name = command.split()[1]
            command = command.replace(f"cmdxlate {name} ", f"cmdxlate {name} --force ", 1)
        res = run(scratch, command)
        assert res.returncode == 0, (command, res.stderr)


@pytest.mark.qemu
def test_readme_session(scratch: Path, qemu10_x86: Any) -> None:
    """The running-VM session, as written, with its sockets in a scratch folder: the
    destination line names the hot-plugged CPU, and the QEMU it started is gone."""
    sessions = [b for b in readme_blocks() if b.startswith("# session:")]
    assert len(sessions) == 1
    if shutil.which("qmp-shell") is None:
        pytest.skip("qmp-shell (from qemu.qmp) is not on PATH")
    script = sessions[0].replace("/tmp/", f"{scratch}/")
    try:
        res = run(scratch, "set -e\n" + script)
    finally:  # a failing step must not leave the session's QEMU running
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if f"{scratch}/vm1".encode() in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), 9)
            except OSError:
                pass
    assert res.returncode == 0, res.stderr
    assert "-device qemu64-x86_64-cpu,id=cpu2,socket-id=0,core-id=2,thread-id=0\n" in res.stdout
    assert "/machine/peripheral/cpu2" in res.stdout  # slots --qmp: the qom-path


def test_paths_the_readme_names_exist() -> None:
    """Every file or folder of the repository the README names is there.

    Paths the repository ignores (.gitignore) are made by runs, so a fresh clone lacks them;
    they are checked to be ignored instead.
    """
    text = README.read_text()
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    named = set(re.findall(r"`((?:cmdxlate|tests|benchmarks|scripts|grammar|corpus)/[^`*\s]*)`",
                           text))
    assert len(named) >= 10
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists()
                     and "NAME" not in p and "X.Y" not in p and p.rstrip("/") not in ignored)
    assert missing == []
