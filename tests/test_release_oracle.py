"""Every installed QEMU release against the catalog: machine lists and generated lines.

QEMU 10.0 and 7.2 have their own differential tests (test_qemu_diff.py); here
the same generated families run against QEMU 11.1 and 5.2 (chroot roots made by
scripts/install-qemu), and each release's ``-machine help`` is compared with
the machine types cmdxlate models for it.  Marked ``qemu``: they skip with a
reason when a binary is missing, and fail instead under CMDXLATE_REQUIRE_QEMU=1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from test_qemu_diff import check_line

from cmdxlate.catalog import Catalog
from cmdxlate.oracle.qemu import QemuBinary
from cmdxlate.testing.strategies import FAMILIES, topology_lines

pytestmark = pytest.mark.qemu

# What scripts/install-qemu installs for each release (QEMU 5.2 has no loongarch64
# emulator; 7.2 is x86 only).
INSTALLED = {
    "11.1": ("x86_64", "ppc64", "s390x", "aarch64", "riscv64", "loongarch64"),
    "10.0": ("x86_64", "ppc64", "s390x", "aarch64", "riscv64", "loongarch64"),
    "7.2": ("x86_64",),
    "5.2": ("x86_64", "ppc64", "s390x", "aarch64", "riscv64"),
}
# Built only with Xen support; Debian's x86 build has it, cmdxlate does not model Xen.
BUILD_DEPENDENT = {"xenfv", "xenpv"}

FEW = settings(max_examples=8, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


def machine_help(binary: QemuBinary) -> set[str]:
    out = subprocess.run([*binary.command(), "-machine", "help"], capture_output=True,
                         text=True, env=binary.environ(), timeout=60, check=True).stdout
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}


@pytest.mark.parametrize(("release", "arch"), [(r, a) for r, arches in INSTALLED.items()
                                                for a in arches])
def test_machine_list_is_the_binarys(release: str, arch: str,
                                     qemu_release: Callable[[str, str], QemuBinary]) -> None:
    """Every name (aliases too) ``-machine help`` lists is one cmdxlate knows, and no other."""
    listed = {n for n in machine_help(qemu_release(arch, release))
              if n.split("-")[0] not in BUILD_DEPENDENT}
    catalog = Catalog.builtin()
    ours = set(catalog.machine_names(arch, catalog.release(release)))
    assert (sorted(listed - ours), sorted(ours - listed)) == ([], [])


@pytest.mark.parametrize("valid", [True, False])
@pytest.mark.parametrize(("release", "family"), [
    (r, f) for r in ("11.1", "5.2") for f in FAMILIES
    if FAMILIES[f].get("target") is None and FAMILIES[f]["arch"] in INSTALLED[r]])
def test_generated_lines_match_release(release: str, family: str, valid: bool,
                                       qemu_release: Callable[[str, str], QemuBinary]) -> None:
    """The differential families of QEMU 10.0, answered by QEMU 11.1 and 5.2."""
    binary = qemu_release(FAMILIES[family]["arch"], release)

    @FEW
    @given(topology_lines(family, valid))
    def run(line: tuple[str, list[str]]) -> None:
        check_line(binary, line[0], line[1], release)

    run()


@pytest.mark.parametrize("release", ["10.0", "11.1", "5.2"])
def test_target_auto_takes_the_binarys_release(release: str,
                                               qemu_release: Callable[[str, str], QemuBinary]
                                               ) -> None:
    """--target auto --qemu BIN answers as --target X.Y for BIN's release; a --target that
    is not BIN's release, or auto without a binary, is exit 2."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    binary = qemu_release("x86_64", release)
    path = binary.path if binary.root is None else binary.root + binary.path
    line = ["--", "-M", "pc", "-smp", "4,maxcpus=8"]
    runner = CliRunner()
    auto = runner.invoke(app, ["slots", "--format", "json", "--target", "auto", "--qemu", path,
                               *line])
    named = runner.invoke(app, ["slots", "--format", "json", "--target", release, *line])
    assert (auto.exit_code, auto.stdout) == (0, named.stdout)
    other = "7.2" if release != "7.2" else "10.0"
    wrong = runner.invoke(app, ["slots", "--target", other, "--qemu", path, *line])
    assert wrong.exit_code == 2 and "does not match" in wrong.stderr
    alone = runner.invoke(app, ["slots", "--target", "auto", *line])
    assert alone.exit_code == 2 and "give --qemu BIN" in alone.stderr


@pytest.mark.parametrize("arch", ["ppc64", "loongarch64"])
def test_qemu_binary_names_the_architecture(arch: str,
                                            qemu_release: Callable[[str, str], QemuBinary]
                                            ) -> None:
    """--qemu BIN with a line that names no binary answers for BIN's architecture (it once
    answered for x86 and made verify refuse good lines); a line naming another
    architecture's binary is exit 2."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    binary = qemu_release(arch, "10.0")
    path = binary.root + binary.path if binary.root else binary.path
    line = ["-smp", "2,maxcpus=4"] + (["-M", "virt"] if arch == "loongarch64" else [])
    runner = CliRunner()
    by_qemu = runner.invoke(app, ["slots", "--format", "json", "--qemu", path, "--", *line])
    by_line = runner.invoke(app, ["slots", "--format", "json", "--target", "10.0", "--",
                                  f"qemu-system-{arch}", *line])
    assert (by_qemu.exit_code, by_qemu.stdout) == (0, by_line.stdout)
    checked = runner.invoke(app, ["verify", "--qemu", path, "--", *line])
    assert checked.exit_code == 0, checked.stderr
    other = runner.invoke(app, ["slots", "--qemu", path, "--", "qemu-system-x86_64", *line])
    assert other.exit_code == 2 and "--qemu is" in other.stderr


@pytest.mark.parametrize("release", ["5.2", "7.2", "10.0", "11.1"])
@pytest.mark.parametrize("line", [
    ["-M", "q35", "-smp", "2", "-m", "1G"],
    ["-M", "q35", "-smp", "2", "-m", "1G", "-object", "memory-backend-ram,id=m0,size=1G",
     "-numa", "node,memdev=m0"],
], ids=["ram", "memdev"])
def test_verify_runs_on_every_release(release: str, line: list[str],
                                      qemu_release: Callable[[str, str], QemuBinary]) -> None:
    """verify's own rewrite of memory must start on every release: 5.2 reads no JSON
    -object, and a chroot without /proc refuses reserve=off (both once made verify
    refuse good lines)."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    qemu_release("x86_64", release)  # skips (or fails under CMDXLATE_REQUIRE_QEMU) if absent
    res = CliRunner().invoke(app, ["verify", "--format", "json", "--target", release, "--",
                                   *line])
    assert res.exit_code == 0, (res.stdout, res.stderr)
