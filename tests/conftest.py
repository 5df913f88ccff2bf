"""Shared fixtures.

Tests that need a real QEMU skip with a reason when it is missing, or fail under
CMDXLATE_REQUIRE_QEMU=1; tests over the large corpora in ../shared skip when it is not
beside the repository, or fail under CMDXLATE_REQUIRE_SHARED=1.  The core facts the
other tests need are in tests/data/.  Nothing here reads ../shared at import time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, settings

from cmdxlate.error import OracleUnavailable
from cmdxlate.oracle.qemu import QemuBinary, find_qemu

# A loaded CI machine must not turn slow example generation into a failure.
settings.register_profile("cmdxlate", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cmdxlate")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REQUIRE_QEMU = os.environ.get("CMDXLATE_REQUIRE_QEMU") == "1"
REQUIRE_SHARED = os.environ.get("CMDXLATE_REQUIRE_SHARED") == "1"


def qemu_missing(msg: str) -> NoReturn:
    """Skip the test, or fail it under CMDXLATE_REQUIRE_QEMU=1."""
    if REQUIRE_QEMU:
        pytest.fail(msg)
    pytest.skip(msg)


def _need(arch: str, version: str) -> QemuBinary:
    try:
        return find_qemu(arch, version)
    except OracleUnavailable as e:
        qemu_missing(f"QEMU {version} for {arch} not found: run scripts/install-qemu ({e.message})")


@pytest.fixture(scope="session")
def missing_qemu() -> Callable[[str], NoReturn]:
    """For tests that look for QEMU themselves: skip, or fail under CMDXLATE_REQUIRE_QEMU=1."""
    return qemu_missing


@pytest.fixture(scope="session")
def qemu10_x86() -> QemuBinary:
    return _need("x86_64", "10.0")


@pytest.fixture(scope="session")
def qemu72_x86() -> QemuBinary:
    return _need("x86_64", "7.2")


@pytest.fixture(scope="session")
def qemu10_for() -> Callable[[str], QemuBinary]:
    cache: dict[str, QemuBinary] = {}

    def get(arch: str) -> QemuBinary:
        if arch not in cache:
            cache[arch] = _need(arch, "10.0")
        return cache[arch]

    return get


@pytest.fixture(scope="session")
def qemu_release() -> Callable[[str, str], QemuBinary]:
    """Any installed release: 5.2 and 11.1 (chroot roots), 7.2 (prefix), 10.0 (system)."""
    cache: dict[tuple[str, str], QemuBinary] = {}

    def get(arch: str, release: str) -> QemuBinary:
        if (arch, release) not in cache:
            cache[arch, release] = _need(arch, release)
        return cache[arch, release]

    return get


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the repository (the libvirt corpus, the originals of tests/data)."""
    if not SHARED.is_dir():
        msg = f"../shared is not beside the repository ({SHARED})"
        if REQUIRE_SHARED:
            pytest.fail(msg + " and CMDXLATE_REQUIRE_SHARED=1")
        pytest.skip(msg)
    return SHARED


def qemu_text(e: Exception) -> str:
    """QEMU's text of an error without the location QEMU prints before some of them."""
    return str(getattr(e, "text", None) or getattr(e, "message", e))


@pytest.fixture(scope="session")
def libvirt_corpus(shared: Path) -> list[Path]:
    """The ~1040 libvirt .args files under ../shared/corpus/libvirt."""
    files = sorted((shared / "corpus" / "libvirt").rglob("*.args"))
    assert len(files) > 1000, f"{shared}/corpus/libvirt has {len(files)} .args files"
    return files


def lookup_machine(name: str | None, arch: str = "x86_64", target: str = "10.0"):  # type: ignore[no-untyped-def]
    """The machine type a name selects in a release of the built-in catalog."""
    from cmdxlate.catalog import Catalog

    catalog = Catalog.builtin()
    return catalog.machine(name, arch, catalog.release(target))


# Children of a test's cmdxlate subprocess carry this in their environment (QEMU and
# fake binaries inherit it), so tests find exactly their own processes: never by a
# machine-wide name match, as other QEMUs may run on this machine.
MARK = "CMDXLATE_TEST_MARKER"


def marked(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries ``marker``."""
    needle = f"{MARK}={marker}".encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            pids.append(int(name))
    return pids


@pytest.fixture
def marker() -> Iterator[str]:
    """A fresh marker; whatever still carries it at the end is killed."""
    m = uuid.uuid4().hex
    yield m
    for pid in marked(m):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def start(missing_qemu: Callable[[str], Any]) -> Iterator[Callable[..., Any]]:
    """Start paused QEMUs with QMP sockets (test_live.Vm); every one is killed when the
    test ends, whatever happens."""
    from test_live import Vm

    started: list[Vm] = []

    def make(release: str, arch: str, args: list[str], incoming: bool = False) -> Vm:
        try:
            vm = Vm(release, arch, args, incoming)
        except FileNotFoundError as e:
            missing_qemu(f"QEMU {release} for {arch} is not installed ({e})")
        started.append(vm)
        return vm

    yield make
    for vm in started:
        vm.kill()


# ---------------------------------------------------------------- the hostile suites

@pytest.fixture(scope="module", autouse=True)
def _fuzz_report() -> Iterator[None]:
    """With CMDXLATE_FUZZ_REPORT set, the hostile suites' outcome counts go to that file."""
    yield
    if os.environ.get("CMDXLATE_FUZZ_REPORT"):
        from hostile import write_stats

        write_stats()


@pytest.fixture
def slot_guard(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The hostile suites: record how many slots each layout builder is asked for; refuse
    absurd counts."""
    asked: list[int] = []
    limit = 1 << 16

    # Every board builds its slots in possible_cpus().
    from cmdxlate.boards import BOARDS, Board, board_class

    def guarded(fn: Any) -> Any:
        def method(self: Any, smp: Any, *a: Any, **kw: Any) -> Any:
            asked.append(smp.maxcpus)
            assert smp.maxcpus <= limit, f"asked to allocate {smp.maxcpus} CPU slots"
            return fn(self, smp, *a, **kw)
        return method

    for cls in {Board, *(board_class(name) for name in BOARDS)}:
        if "possible_cpus" in vars(cls):
            monkeypatch.setattr(cls, "possible_cpus", guarded(vars(cls)["possible_cpus"]))
    return asked


@pytest.fixture
def cfgfile() -> Any:
    return pytest.importorskip("cmdxlate.syntax.config",
                               reason="cmdxlate/syntax/config.py is not there yet")

@pytest.fixture(scope="session")
def machines_for(tmp_path_factory: Any) -> Callable[[str, str], list[str]]:
    """cmdxlate's options for a release: none when the catalog models it; else a machine
    database probed from the real binary (its rules borrowed from the nearest modelled
    release), until the catalog models the release itself."""
    from test_live import _WRAPPER, ROOTS, modelled

    cache: dict[tuple[str, str], list[str]] = {}

    def get(release: str, arch: str) -> list[str]:
        if modelled(release):
            return []
        if (release, arch) not in cache:
            root = ROOTS[release]
            d = tmp_path_factory.mktemp(f"probe-{release}")
            wrapper = d / f"qemu-system-{arch}"
            wrapper.write_text(_WRAPPER.format(release=release, root=root, arch=arch))
            wrapper.chmod(0o755)
            db = d / "machines.json"
            env = dict(os.environ, TMPDIR=f"{root}/tmp")
            subprocess.run([sys.executable, "-m", "cmdxlate", "probe", "--qemu", str(wrapper),
                            "-o", str(db)], env=env, check=True, timeout=300,
                           capture_output=True)
            cache[release, arch] = ["--machines", str(db)]
        return cache[release, arch]

    return get
