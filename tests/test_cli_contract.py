"""The command-line contract scripts rely on: QEMU arguments only after -- (or from
--from-file), cmdxlate's own typos refused, nothing written on refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdxlate.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("args", [
    # QEMU options before --: -object must not become "-o bject", -machine not "-h".
    ["convert", "-M", "pc", "-object", "memory-backend-ram,id=m0,size=1G", "-smp", "2"],
    ["convert", "-machine", "q35", "-smp", "4"],
    ["convert", "-boot", "strict=on"],
    ["convert", "-nodefaults"],
    ["slots", "-smp", "2"],
    ["explain", "pc"],
    ["writeconfig", "-o", "vm.cfg", "-smp", "2"],
])
def test_qemu_arguments_before_dashdash_are_refused(args: list[str], tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = runner.invoke(app, args)
    finally:
        os.chdir(cwd)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("cmdxlate: error:")
    assert "go after --" in res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written: no "bject", "ot", "vm.cfg"


@pytest.mark.parametrize(("args", "suggestion"), [
    (["convert", "--fromfile", "guest.args"], "--from-file"),
    (["convert", "--formt", "json", "--", "-smp", "2"], "--format"),
    (["batch", "lines.jsonl", "--opp", "slots", "--jobz", "3"], "--op"),
    (["probe", "--outptu", "x.json"], "--output"),
])
def test_own_option_typos_are_refused_with_a_suggestion(args: list[str], suggestion: str,
                                                        tmp_path: Path) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert f"did you mean {suggestion}?" in res.stderr
    assert res.stdout == ""


def test_options_must_be_written_whole() -> None:
    """-oFILE would be -o + FILE to click; cmdxlate wants -o FILE (or --output=FILE)."""
    res = runner.invoke(app, ["convert", "-ovm.args", "--", "-smp", "2"])
    assert res.exit_code == 2


def test_dashdash_and_from_file_still_work(tmp_path: Path) -> None:
    res = runner.invoke(app, ["convert", "--format=json", "--", "-M", "q35", "-smp", "2"])
    assert res.exit_code == 0, res.output
    f = tmp_path / "g.args"
    f.write_text("-M q35 \\\n-smp 2\n")
    res = runner.invoke(app, ["slots", "--from-file", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output


def test_json_error_points_at_the_option_without_changing_qemus_text() -> None:
    """`error` is what QEMU prints after its program name; the pointer is separate."""
    import json

    res = runner.invoke(app, ["slots", "--format", "json", "--", "-M", "pc", "-smp",
                              "2,maxcpus=1"])
    assert res.exit_code == 2
    err = json.loads(res.stdout)
    assert err["error"].startswith("Invalid CPU topology: maxcpus must be equal to or greater")
    assert (err["option"], err["index"], err["kind"]) == ("-smp", 2, "qemu")
    res = runner.invoke(app, ["slots", "--format", "json", "--", "-M", "pc", "-smp", "2",
                              "-numa", "node,cpus=7"])
    err = json.loads(res.stdout)
    # QEMU reports -numa errors with the option's location: so does the message.
    assert err["error"] == ("-numa node,cpus=7: CPU index (7) should be smaller than "
                            "maxcpus (2)")

