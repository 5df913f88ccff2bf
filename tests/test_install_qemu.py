"""scripts/install-qemu: the four QEMU releases it installs answer as themselves, and it
refuses to install a release cmdxlate does not model.

The release tests (marked qemu) run every binary the script installs with plain
``--version`` (``chroot ROOT ...`` for the debootstrap roots); they skip when a release is
missing, or fail under CMDXLATE_REQUIRE_QEMU=1, as in CI.  The script tests use a fake
Debian mirror (``file://``) and stop before anything is downloaded or built.
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-qemu"
HANG_GUARD_SECONDS = 120

ROOTS = {"11.1": os.environ.get("CMDXLATE_QEMU111_ROOT", "/opt/cmdxlate-qemu-11.1"),
         "5.2": os.environ.get("CMDXLATE_QEMU52_ROOT", "/opt/cmdxlate-qemu-5.2")}
PREFIX72 = os.environ.get("CMDXLATE_QEMU72_PREFIX", "/opt/cmdxlate-qemu-7.2")
# The system emulators each root must have (the boards cmdxlate models).
ROOT_BINARIES = {"11.1": ["x86_64", "ppc64", "s390x", "aarch64", "riscv64", "loongarch64"],
                 "5.2": ["x86_64", "ppc64", "s390x", "aarch64", "riscv64"]}


def _version_line(argv: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS,
                          env=env, check=False)
    assert proc.returncode == 0, (argv, proc.stderr[-300:])
    return proc.stdout.splitlines()[0]


def _root_binary(release: str, arch: str, missing: Callable[[str], NoReturn]) -> list[str]:
    root = ROOTS[release]
    if not os.path.isfile(os.path.join(root, "usr", "bin", f"qemu-system-{arch}")):
        missing(f"QEMU {release} qemu-system-{arch} not in {root}: run scripts/install-qemu")
    if os.geteuid() != 0:
        missing(f"QEMU {release} runs as 'chroot {root} ...', which needs root")
    return ["chroot", root, f"qemu-system-{arch}"]


@pytest.mark.qemu
@pytest.mark.parametrize("release", ["10.0", "7.2", "11.1", "5.2"])
def test_each_release_answers_as_itself(release: str,
                                        missing_qemu: Callable[[str], NoReturn]) -> None:
    env = None
    if release == "10.0":
        path = shutil.which("qemu-system-x86_64")
        if path is None:
            missing_qemu("qemu-system-x86_64 (QEMU 10.0) not on PATH: run scripts/install-qemu")
        argv = [path]
    elif release == "7.2":
        path = os.path.join(PREFIX72, "usr", "bin", "qemu-system-x86_64")
        if not os.path.isfile(path):
            missing_qemu(f"QEMU 7.2 not in {PREFIX72}: run scripts/install-qemu")
        argv = [path]
        env = dict(os.environ,
                   QEMU_MODULE_DIR=os.path.join(PREFIX72, "usr", "lib", "x86_64-linux-gnu", "qemu"))
    else:
        argv = _root_binary(release, "x86_64", missing_qemu)
    line = _version_line([*argv, "--version"], env)
    assert line.startswith(f"QEMU emulator version {release}."), line


@pytest.mark.qemu
@pytest.mark.parametrize(("release", "arch"),
                         [(r, a) for r, arches in ROOT_BINARIES.items() for a in arches[1:]])
def test_roots_have_every_modelled_board(release: str, arch: str,
                                         missing_qemu: Callable[[str], NoReturn]) -> None:
    line = _version_line([*_root_binary(release, arch, missing_qemu), "--version"])
    assert line.startswith(f"QEMU emulator version {release}."), line


# ------------------------------------------------------------------ the script, offline


def _fake_mirror(tmp_path: Path, suite: str, versions: dict[str, str]) -> str:
    arch = "amd64"
    if shutil.which("dpkg"):
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    index = tmp_path / "mirror" / "dists" / suite / "main" / f"binary-{arch}"
    index.mkdir(parents=True)
    stanzas = [f"Package: {p}\nVersion: {v}\nArchitecture: {arch}\n" for p, v in versions.items()]
    (index / "Packages.xz").write_bytes(lzma.compress("\n".join(stanzas).encode()))
    return f"file://{tmp_path / 'mirror'}"


def _run_script(tmp_path: Path, release: str, mirror: str) -> subprocess.CompletedProcess[str]:
    if not (shutil.which("curl") and shutil.which("xz")):
        pytest.skip("the script reads a Packages index with curl and xz")
    env = dict(os.environ, CMDXLATE_DEBIAN_MIRROR=mirror,
               CMDXLATE_QEMU111_ROOT=str(tmp_path / "root-11.1"),
               CMDXLATE_QEMU52_ROOT=str(tmp_path / "root-5.2"))
    return subprocess.run(["bash", str(SCRIPT), release], capture_output=True, text=True,
                          env=env, timeout=HANG_GUARD_SECONDS, check=False)


SID_PACKAGES = ["qemu-system-x86", "qemu-system-ppc", "qemu-system-s390x", "qemu-system-arm",
                "qemu-system-riscv", "qemu-system-misc"]


def test_script_refuses_a_suite_that_moved_on(tmp_path: Path) -> None:
    """sid offering QEMU 11.2: the script names both releases and builds nothing."""
    mirror = _fake_mirror(tmp_path, "sid", {p: "1:11.2.0+ds-1" for p in SID_PACKAGES})
    proc = _run_script(tmp_path, "11.1", mirror)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert ("install-qemu: QEMU 11.1: cmdxlate models QEMU 11.1, but Debian sid now offers "
            "QEMU 11.2 (qemu-system-x86 1:11.2.0+ds-1); not installing another release"
            ) in proc.stderr
    assert not (tmp_path / "root-11.1").exists()


def test_script_checks_the_suite_before_discarding_a_partial_root(tmp_path: Path) -> None:
    """An interrupted build is only removed once the suite is known to offer the release."""
    partial = tmp_path / "root-5.2"
    (partial / "debootstrap").mkdir(parents=True)
    mirror = _fake_mirror(tmp_path, "bullseye", {"qemu-system-x86": "1:5.2+dfsg-11+deb11u3",
                                                 "qemu-system-ppc": "1:5.2+dfsg-11+deb11u3"})
    proc = _run_script(tmp_path, "5.2", mirror)
    assert proc.returncode == 1
    assert "QEMU 5.2: Debian bullseye has no package qemu-system-arm" in proc.stderr
    assert (partial / "debootstrap").is_dir()


def test_script_leaves_foreign_directories_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "root-11.1"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    mirror = _fake_mirror(tmp_path, "sid", {p: "1:11.1.3+ds-1" for p in SID_PACKAGES})
    proc = _run_script(tmp_path, "11.1", mirror)
    assert proc.returncode == 1
    assert "exists but is not a Debian root" in proc.stderr
    assert (foreign / "notes.txt").read_text() == "mine\n"
