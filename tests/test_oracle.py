"""QEMU as the oracle: verify, probe and the machinery that runs QEMU (a writeconfig
file QEMU reads the same, no user resource opened, probed databases, timeouts).
Marked ``qemu``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmdxlate import records
from cmdxlate.error import CmdxlateError
from cmdxlate.oracle.qemu import QemuBinary, find_qemu, run_topology_query
from cmdxlate.oracle.verify import normalise_cpus_fast, normalise_hotpluggable, verify_line
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv

pytestmark = pytest.mark.qemu


def test_writeconfig_file_is_equivalent(tmp_path: Path, qemu10_x86: QemuBinary) -> None:
    """QEMU reading the written -readconfig file answers like the original line."""
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    argv = ["-M", "pc", "-m", "256", "-smp", "2,sockets=2,cores=2,maxcpus=4",
            "-object", "memory-backend-ram,id=m0,size=128M",
            "-object", "memory-backend-ram,id=m1,size=128M",
            "-numa", "node,memdev=m0,cpus=0-1", "-numa", "node,memdev=m1,cpus=2-3"]
    cfg = tmp_path / "vm.cfg"
    res = CliRunner().invoke(app, ["writeconfig", "-o", str(cfg), "--format", "json", "--",
                                   *argv])
    assert res.exit_code == 0, res.output
    rest = json.loads(res.stdout.strip().splitlines()[-1])
    assert "-readconfig" in rest
    a = run_topology_query(qemu10_x86, argv)
    b = run_topology_query(qemu10_x86, rest)
    assert b.startup_error is None, b.startup_error
    assert a.hotpluggable is not None and b.hotpluggable is not None
    assert normalise_hotpluggable(b.hotpluggable) == normalise_hotpluggable(a.hotpluggable)
    assert normalise_cpus_fast(b.cpus_fast or []) == normalise_cpus_fast(a.cpus_fast or [])


def test_verify_runs_no_user_resources(tmp_path: Path, qemu10_x86: QemuBinary) -> None:
    """A line with disks and sockets verifies without touching them."""
    disk = tmp_path / "disk.img"
    sock = tmp_path / "mon.sock"
    argv = ["-M", "q35", "-smp", "2,maxcpus=4", "-drive", f"file={disk},format=raw,if=none",
            "-chardev", f"socket,id=c0,path={sock},server=on,wait=off",
            "-mon", "chardev=c0,mode=control"]
    report = verify_line(parse_argv(argv), target="10.0")
    assert report.equal
    assert not disk.exists() and not sock.exists()
    assert "-drive" not in report.original and "-chardev" not in report.original


def test_probe_agrees_with_builtin_database(qemu10_x86: QemuBinary) -> None:
    from cmdxlate.catalog import Catalog
    from cmdxlate.catalog.datafiles import read_json
    from cmdxlate.oracle.probe import probe_binary

    db = probe_binary(qemu10_x86.path)
    assert db["qemu_version"].startswith("10.0")
    probed = {f["family"]: f for f in db["families"]}
    builtin = Catalog.builtin()
    release = builtin.release("10.0")
    fams = {f.name: f for f in builtin.families}
    for fam in ("pc-i440fx", "pc-q35"):
        assert [e["version"] for e in probed[fam]["machine_versions"]] == [
            str(v) for v in fams[fam].versions_in(release.version)], fam
        assert probed[fam]["facts"]["hotpluggable_cpus"] is True
        assert probed[fam]["facts"]["default_cpu"] == read_json(
            "boards", fam.replace("-", "_") + ".json")["facts"]["default_cpu"]
        assert probed[fam]["probed_slot_props"] == ["core-id", "socket-id", "thread-id"]
    from cmdxlate.resolver import resolve
    from cmdxlate.syntax.argv import parse_argv

    # What the probe saw is what the data's slot_props rules predict for its -smp.
    for fam, name in (("pc-q35", "q35"), ("pc-i440fx", "pc")):
        topo = resolve(parse_argv(["-M", name, "-smp", "2,maxcpus=4"]), "10.0", "x86_64")
        assert sorted(topo.slot_keys) == probed[fam]["probed_slot_props"]

    # The probed database, read back, gives every machine the limit the built-in data does.
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(db, f)
        f.flush()
        probed_catalog = Catalog.from_file(f.name)
        for v in fams["pc-q35"].versions_in(release.version):
            name = f"pc-q35-{v}"
            want = builtin.machine(name, "x86_64", release).max_cpus
            got = probed_catalog.machine(name, "x86_64", probed_catalog.release("10.0"))
            assert got.max_cpus == want, v
        # CPU models: the same list as the built-in table of that release.
        table = probed_catalog.cpu_tables["x86"]
        assert table.names(release.version) == builtin.cpu_tables["x86"].names(release.version)
    assert probed["microvm"]["facts"]["hotpluggable_cpus"] is False


def test_probe_database_drives_cli(tmp_path: Path, qemu10_x86: QemuBinary) -> None:
    from typer.testing import CliRunner

    from cmdxlate.cli.app import app

    out = tmp_path / "m.json"
    res = CliRunner().invoke(app, ["probe", "--qemu", qemu10_x86.path, "-o", str(out)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["slots", "--machines", str(out), "--format", "json", "--",
                                   "-M", "pc", "-smp", "2,maxcpus=4"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == 4


def test_oracle_timeout_kills_qemu(qemu10_x86: QemuBinary) -> None:
    """The QEMU is found by a marker in its own environment, not by a machine-wide pgrep:
    other QEMUs may run on this machine."""
    import uuid

    from conftest import marked

    from cmdxlate.error import OracleTimeout

    marker = uuid.uuid4().hex
    binary = records.replace(
        qemu10_x86, env=(*qemu10_x86.env, ("CMDXLATE_TEST_MARKER", marker)))
    with pytest.raises(OracleTimeout):
        run_topology_query(binary, ["-M", "pc"], timeout=0.001)
    assert marked(marker) == []


def test_find_qemu_versions(qemu10_x86: QemuBinary, qemu72_x86: QemuBinary) -> None:
    assert qemu10_x86.version is not None and qemu10_x86.version[:2] == (10, 0)
    assert qemu72_x86.version is not None and qemu72_x86.version[:2] == (7, 2)
    assert find_qemu(path=qemu72_x86.path).version == qemu72_x86.version



def test_probed_database_checks_its_own_cpu_models(tmp_path: Path, qemu10_for) -> None:
    """--machines carries the binary's CPU models; a database without them checks none."""
    from cmdxlate.catalog import Catalog
    from cmdxlate.oracle.probe import probe_binary

    db = probe_binary(qemu10_for("s390x").path)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(db))
    argv = ["-M", "s390-ccw-virtio", "-cpu", "z14"]
    with pytest.raises(CmdxlateError, match="not available in the current configuration"):
        resolve(parse_argv(argv), "10.0", "s390x", Catalog.from_file(str(path)))
    del db["cpu_tables"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(db))
    resolve(parse_argv(["-M", "s390-ccw-virtio", "-cpu", "no-such-model"]), "10.0", "s390x",
            Catalog.from_file(str(bare)))


