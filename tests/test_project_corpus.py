"""The project's own example lines (corpus/) do what corpus/README.md says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdxlate.cli.app import app
from cmdxlate.syntax.shell import read_command_file

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "corpus").glob("*.args"))
runner = CliRunner()


def test_corpus_readme_lists_every_file() -> None:
    readme = (ROOT / "corpus" / "README.md").read_text()
    for f in [*FILES, ROOT / "corpus" / "lines.jsonl"]:
        assert f"`{f.name}`" in readme


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_convert_and_slots(path: Path) -> None:
    res = runner.invoke(app, ["convert", "--format", "json", "--from-file", str(path)])
    if path.name.startswith("invalid-"):
        assert res.exit_code == 2
        assert "Invalid CPU topology" in json.loads(res.stdout)["error"]
        return
    assert res.exit_code == 0, res.output
    argv = json.loads(res.stdout)
    assert argv[0] == read_command_file(str(path)).binary
    slots_a = runner.invoke(app, ["slots", "--format", "json", "--from-file", str(path)])
    slots_b = runner.invoke(app, ["slots", "--format", "json", "--", *argv])
    assert slots_a.exit_code == 0 and json.loads(slots_a.stdout) == json.loads(slots_b.stdout)


@pytest.mark.qemu
@pytest.mark.parametrize("path", [p for p in FILES if not p.name.startswith("invalid-")],
                         ids=lambda p: p.name)
def test_verify_with_real_qemu(path: Path, qemu10_for) -> None:
    qemu10_for(read_command_file(str(path)).binary.rsplit("-", 1)[-1])
    res = runner.invoke(app, ["verify", "--format", "json", "--target", "10.0", "--from-file",
                              str(path)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["equal"] and report["prediction_matches"]


def test_batch_example() -> None:
    res = runner.invoke(app, ["batch", str(ROOT / "corpus" / "lines.jsonl"), "--op", "slots"])
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert [next(iter(o)) for o in out] == ["slots", "slots", "error", "error"]
    assert out[3]["error"] == "machine does not support hot-plugging CPUs"


EXAMPLE_CFG = ROOT / "corpus" / "readconfig-example.cfg"


def test_readconfig_example_reads_back() -> None:
    """Indented entries and a comment after a value, as in QEMU's docs/config examples."""
    res = runner.invoke(app, ["readconfig", "--format", "json", str(EXAMPLE_CFG)])
    assert res.exit_code == 0, res.output
    argv = json.loads(res.stdout)
    assert argv[:4] == ["-machine", "type=q35", "-m", "size=1024"]
    assert argv[-2:] == ["-device",
                         "id=cpu2,driver=qemu64-x86_64-cpu,socket-id=1,core-id=0,thread-id=0"]


@pytest.mark.qemu
def test_readconfig_example_matches_qemu_reading_it(qemu10_x86) -> None:
    """QEMU reading the file itself, QEMU reading cmdxlate's argv, and cmdxlate's
    prediction all agree."""
    from cmdxlate.oracle.qemu import run_topology_query
    from cmdxlate.oracle.verify import normalise_hotpluggable

    direct = run_topology_query(qemu10_x86, ["-readconfig", str(EXAMPLE_CFG)])
    argv = json.loads(runner.invoke(app, ["readconfig", "--format", "json",
                                          str(EXAMPLE_CFG)]).stdout)
    via_argv = run_topology_query(qemu10_x86, argv)
    predicted = json.loads(runner.invoke(
        app, ["slots", "--format", "json", "--", "-readconfig", str(EXAMPLE_CFG)]).stdout)
    assert direct.startup_error is None and direct.hotpluggable is not None
    assert via_argv.hotpluggable is not None
    assert normalise_hotpluggable(direct.hotpluggable) == predicted
    assert normalise_hotpluggable(via_argv.hotpluggable) == predicted
    assert sum(1 for s in predicted if s["plugged"]) == 3
