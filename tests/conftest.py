"""Shared fixtures; QEMU-backed tests skip visibly, or fail under CMDXLATE_REQUIRE_QEMU=1."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests need ../shared beside the repository")
    return SHARED


def qemu_text(e: Exception) -> str:
    """QEMU's text of an error without the location QEMU prints before some of them."""
    return str(getattr(e, "text", None) or getattr(e, "message", e))


def lookup_machine(name: str | None, arch: str = "x86_64", target: str = "10.0"):  # type: ignore[no-untyped-def]
    """The machine type a name selects in a release of the built-in catalog."""
    from cmdxlate.catalog import Catalog

    catalog = Catalog.builtin()
    return catalog.machine(name, arch, catalog.release(target))
