"""Shared fixtures; QEMU-backed tests skip visibly, or fail under CMDXLATE_REQUIRE_QEMU=1."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from cmdxlate.oracle import OracleUnavailable, QemuBinary, find_qemu

# A loaded CI machine must not turn slow example generation into a failure.
settings.register_profile("cmdxlate", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cmdxlate")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REQUIRE_QEMU = os.environ.get("CMDXLATE_REQUIRE_QEMU") == "1"


def _need(arch: str, version: str) -> QemuBinary:
    try:
        return find_qemu(arch, version)
    except OracleUnavailable as e:
        msg = f"QEMU {version} for {arch} not found: run scripts/install-qemu ({e.message})"
        if REQUIRE_QEMU:
            pytest.fail(msg)
        pytest.skip(msg)


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
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests need ../shared beside the repository")
    return SHARED


@pytest.fixture(autouse=True)
def _builtin_machine_database() -> Iterator[None]:
    """--machines is process-wide; every test starts and ends with the built-in data."""
    from cmdxlate.machine import use_machine_file

    use_machine_file(None)
    yield
    use_machine_file(None)


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
