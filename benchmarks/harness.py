"""The benchmarks' machinery: a clean venv, timed child processes, and their spread.

Every figure is timed in a venv that holds only cmdxlate (installed with
``pip install .``, not editable) and its dependencies, because the interpreter
running the benchmarks may have a large site-packages that slows its own start-up
and would hide cmdxlate's cost. Children run from a scratch folder (so the
source tree is never on ``sys.path``) with no ``PYTHON*`` variables set.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".venv-bench"
DRIVER = BENCH / "invenv.py"
LIBVIRT_CORPUS = ROOT.parent / "shared" / "corpus" / "libvirt"

Log = Callable[[str], None]


def log(msg: str) -> None:
    """Progress goes to stderr, so stdout holds only the results."""
    sys.stderr.write(f"[bench] {msg}\n")
    sys.stderr.flush()


def clean_env() -> dict[str, str]:
    """The caller's environment without what changes how Python starts or what it imports."""
    drop = {"VIRTUAL_ENV", "CMDXLATE_DEBUG", "CMDXLATE_FUZZ_EXAMPLES", "COLUMNS", "LINES"}
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k not in drop}


# ---------------------------------------------------------------- the clean venv

def _source_files() -> list[Path]:
    """What ``pip install .`` builds from: the project file, the README, the package."""
    files = [ROOT / "pyproject.toml", ROOT / "README.md"]
    for path in sorted((ROOT / "cmdxlate").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def _digest(paths: Sequence[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Venv:
    """The clean venv and what it was built from."""

    path: Path
    deps_key: str
    source_key: str

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def script(self) -> str:
        return str(self.path / "bin" / "cmdxlate")


def _stage(dest: Path) -> None:
    """Copy the files pip needs, so the worktree never gets build/ or *.egg-info."""
    for src in _source_files():
        rel = src.relative_to(ROOT)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def _pip_install(venv: Path, extra: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="cmdxlate-stage-") as tmp:
        _stage(Path(tmp))
        cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *extra, tmp]
        res = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"pip install failed:\n{res.stdout}\n{res.stderr}")


def ensure_venv(rebuild: bool = False) -> Venv:
    """Build the venv, or reuse it: a new pyproject or Python rebuilds it; a changed
    source tree reinstalls cmdxlate alone (``--no-deps --force-reinstall``)."""
    base = getattr(sys, "_base_executable", sys.executable)
    deps = _digest([ROOT / "pyproject.toml"], extra=sys.version)
    source = _digest(_source_files())
    state_file = CACHE / "bench-key.json"
    CACHE.parent.mkdir(exist_ok=True)
    with open(BENCH / ".venv-bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        fresh = (not rebuild and state.get("deps") == deps
                 and (CACHE / "bin" / "python").exists())
        if not fresh:
            log(f"building the clean venv in {CACHE} (pyproject/python key {deps})")
            shutil.rmtree(CACHE, ignore_errors=True)
            subprocess.run([base, "-m", "venv", str(CACHE)], env=clean_env(), check=True)
            _pip_install(CACHE, [])
            # Python < 3.12 seeds venvs with setuptools, whose distutils-precedence.pth
            # runs at every start-up; it is no dependency of cmdxlate (builds are isolated).
            subprocess.run([str(CACHE / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y",
                            "setuptools"], env=clean_env(), capture_output=True, check=False)
        elif state.get("source") != source:
            log(f"source changed: reinstalling cmdxlate in {CACHE} (source key {source})")
            _pip_install(CACHE, ["--no-deps", "--force-reinstall"])
        state_file.write_text(json.dumps({"deps": deps, "source": source}) + "\n")
    return Venv(CACHE, deps, source)


def venv_facts(venv: Venv) -> dict[str, str]:
    """The venv's Python and packages, as recorded in RESULTS.md."""
    code = ("import sys, importlib.metadata as m; print(sys.version.split()[0]); "
            "print(' '.join(sorted(f\"{d.metadata['Name']}=={d.version}\" "
            "for d in m.distributions() if d.metadata['Name'] != 'pip')))")
    out = subprocess.run([venv.python, "-I", "-c", code], env=clean_env(), capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return {"python": out[0], "packages": out[1]}


# ---------------------------------------------------------------- timing children

@dataclass(frozen=True)
class Sample:
    """One child: wall time, CPU time (user + system) and exit code.

    No peak RSS here: a child forked from this (large) process inherits its
    high-water mark, so ``ru_maxrss`` would report ours; see ``peak_rss_mib``.
    """

    wall: float
    cpu: float
    rc: int


class ChildFailed(RuntimeError):
    pass


def run_child(argv: Sequence[str], *, cwd: str, stdin: bytes = b"", stdout: str | None = None,
              timeout: float = 300.0, expect_rc: int | None = 0) -> Sample:
    """Run one child and wait for it with wait4, so its own rusage is known."""
    with tempfile.TemporaryFile() as err, open(stdout or os.devnull, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=clean_env(), stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            if stdin and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if expect_rc is not None and proc.returncode != expect_rc:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            raise ChildFailed(f"{' '.join(argv)[:200]}: exit {proc.returncode}, "
                              f"expected {expect_rc}\n{tail}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, proc.returncode)


# A small Python (no site) forks the child and reports the child's ru_maxrss: the
# child's high-water mark starts from this helper's few MiB, not from ours.
_RSS_HELPER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mib(argv: Sequence[str], *, cwd: str, stdin: bytes = b"") -> float:
    """Peak resident memory of one run of ``argv`` (the floor is about 5 MiB, the helper's)."""
    res = subprocess.run([sys.executable, "-I", "-S", "-c", _RSS_HELPER, *argv], cwd=cwd,
                         env=clean_env(), input=stdin, capture_output=True, check=False)
    _rc, kib = res.stdout.decode().split()[-2:]
    return int(kib) / 1024


@dataclass(frozen=True)
class Cmd:
    """A command to time: its label, argv, standard input and expected exit code."""

    label: str
    argv: tuple[str, ...]
    stdin: bytes = b""
    expect_rc: int = 0


def interleaved(cmds: Sequence[Cmd], rounds: int, cwd: str, warmup: int = 1
                ) -> dict[str, list[Sample]]:
    """Each round runs every command once, in an order rotated by one each round, so
    baselines and subjects share the machine's load; ratios are taken per round."""
    for _ in range(warmup):
        for c in cmds:
            run_child(c.argv, cwd=cwd, stdin=c.stdin, expect_rc=c.expect_rc)
    out: dict[str, list[Sample]] = {c.label: [] for c in cmds}
    for i in range(rounds):
        k = i % len(cmds)
        for c in [*cmds[k:], *cmds[:k]]:
            out[c.label].append(run_child(c.argv, cwd=cwd, stdin=c.stdin,
                                          expect_rc=c.expect_rc))
    return out


# ---------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Spread:
    """Median and spread of repeated measurements."""

    median: float
    p10: float
    p90: float
    lo: float
    hi: float
    n: int

    def text(self, unit: str = "", digits: int = 2) -> str:
        f = f"{{:.{digits}f}}{unit}"
        if self.n < 5:
            return f"{f.format(self.median)} (min-max {f.format(self.lo)}-{f.format(self.hi)}, "\
                   f"N={self.n})"
        return (f"{f.format(self.median)} (p10-p90 {f.format(self.p10)}-{f.format(self.p90)}, "
                f"min-max {f.format(self.lo)}-{f.format(self.hi)}, N={self.n})")


def spread(xs: Sequence[float]) -> Spread:
    if not xs:
        raise ValueError("no measurements")
    if len(xs) >= 2:
        dec = statistics.quantiles(xs, n=10, method="inclusive")
        p10, p90 = dec[0], dec[-1]
    else:
        p10 = p90 = xs[0]
    return Spread(statistics.median(xs), p10, p90, min(xs), max(xs), len(xs))


def ratios(num: Sequence[Sample], den: Sequence[Sample], attr: str = "wall") -> list[float]:
    """Per-round ratios of two interleaved series."""
    return [getattr(a, attr) / getattr(b, attr) for a, b in zip(num, den, strict=True)]


def walls(samples: Sequence[Sample]) -> Spread:
    return spread([s.wall * 1000 for s in samples])


# ---------------------------------------------------------------- results

@dataclass
class Target:
    """One of issue 13's targets beside what was measured; ``met`` is decided on the median."""

    what: str
    target: str
    measured: str
    met: bool | None


@dataclass
class Part:
    """One benchmark's figures: a table of rows, the targets it decides, and notes."""

    name: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, measure: str, value: object) -> None:
        self.rows.append((measure, str(value)))


@dataclass
class Ctx:
    """What every benchmark needs: the venv, a scratch folder, and how hard to try."""

    venv: Venv
    scratch: str
    quick: bool
    rounds: int
    memo: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str) -> tuple[str, ...]:
        return (self.venv.script, *args)

    def py(self, *args: str) -> tuple[str, ...]:
        return (self.venv.python, *args)

    def driver(self, *args: str, timeout: float = 1800.0) -> object:
        """Run benchmarks/invenv.py in the venv (isolated: only the venv on sys.path)."""
        res = subprocess.run([self.venv.python, "-I", str(DRIVER), *args], cwd=self.scratch,
                             env=clean_env(), capture_output=True, text=True, timeout=timeout,
                             check=False)
        if res.returncode != 0:
            raise ChildFailed(f"invenv.py {' '.join(args)[:100]}: exit {res.returncode}\n"
                              f"{res.stderr[-3000:]}")
        return json.loads(res.stdout)

    def path(self, name: str) -> str:
        return os.path.join(self.scratch, name)


@contextmanager
def scratch_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="cmdxlate-bench-") as tmp:
        yield tmp


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT MET")
